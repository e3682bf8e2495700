"""The inbox area: the messages notify keeps for the signed-in staff member (unread count in the
header of every page, mark read in place, mark all read), their notification settings, and for
network administrators the messages that could not be sent (with a retry) and the rules.

Every call goes to the notify service with the user's own token; its access rules are the ones
that count. Notify being down never breaks another page: the header then shows no count, and
these pages show a notice in place of the list.
"""
from __future__ import annotations

import re
import time

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from services.portal import i18n, web
from services.portal.api_client import ApiError, ServiceUnavailable

bp = Blueprint("inbox", __name__, url_prefix="/inbox")

#: Who has an inbox: notify keeps one per staff member (network_admin passes too).
STAFF = ("staff", "supervisor", "branch_manager")
PAGE_SIZE = 20
#: The header's count is kept this long in the session, so that a page costs no extra call.
COUNT_SECONDS = 20
#: How long the header waits for notify at most (a slow notify must not slow every page).
COUNT_TIMEOUT = 0.8
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_CLOCK = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")

web.add_nav("inbox.failed", _l("Notifications"), roles=("network_admin",), order=95)

LOCAL_LABELS = {
    "recipient_kind": {
        "reader": _l("The reader"), "staff": _l("The staff member concerned"), "handler": _l("The complaint's handler"),
        "branch_manager": _l("The branch manager"), "approver": _l("The approver"),
        "network_office": _l("The network office"), "duty_group": _l("The branch's duty group"),
    },
    "channel": {"email": _l("E-mail"), "inbox": _l("Portal inbox"), "chat": _l("Work chat")},
    "message_status": {"pending": _l("Waiting to be sent"), "sent": _l("Sent"), "failed": _l("Failed"),
                       "skipped": _l("Not sent")},
    "language": {"zh-CN": _l("Chinese"), "en": _l("English")},
}


def local_label(kind: str, code) -> str:
    found = LOCAL_LABELS.get(kind, {}).get(str(code))
    return str(found) if found is not None else str(code or "")


def _my_id() -> str | None:
    return (web.current_user() or {}).get("staff_id")


# -- the header's count ---------------------------------------------------------------------------
def unread_count() -> int | None:
    """The signed-in staff member's unread messages, or None (no inbox, or notify did not answer).

    Kept in the session for ``COUNT_SECONDS``, so a page costs a call to notify only now and then,
    and an outage is remembered as long: pages never wait for a notify that is down."""
    user = web.current_user()
    if not user or not user.get("staff_id"):
        return None
    cached = session.get("inbox_unread")
    if cached and cached.get("staff_id") == user["staff_id"] and time.time() - cached.get("at", 0) < COUNT_SECONDS:
        return cached.get("n")
    try:
        n = int(web.api("notify", "GET", "/inbox/unread-count", timeout=COUNT_TIMEOUT).get("unread", 0))
    except (ServiceUnavailable, ApiError, ValueError, TypeError):
        n = None
    session["inbox_unread"] = {"staff_id": user["staff_id"], "n": n, "at": time.time()}
    return n


def _remember_count(n: int | None) -> None:
    if _my_id():
        session["inbox_unread"] = {"staff_id": _my_id(), "n": n, "at": time.time()}


@bp.app_context_processor
def _header():
    return {"inbox_unread": unread_count, "has_inbox": lambda: bool(_my_id())}


@bp.context_processor
def _helpers():
    return {"local_label": local_label, "event_label": event_label}


# -- names and words ------------------------------------------------------------------------------
def event_types() -> dict:
    """Event type → its entry of notify's ``/event-types`` (labels in both languages), once a page."""
    def load():
        try:
            return {t["event_type"]: t for t in web.api("notify", "GET", "/event-types")}
        except (ApiError, ServiceUnavailable):
            return {}
    return i18n.cached("inbox_event_types", load)


def event_label(event_type: str) -> str:
    found = event_types().get(event_type)
    return i18n.pick(found["label_zh"], found["label_en"]) if found else _("Other notice")


def _staff_name(staff_id: str) -> str:
    names = i18n.cached("inbox_staff_names", dict)
    if staff_id not in names:
        try:
            person = web.api_or_none("directory", "GET", f"/staff/{staff_id}")
        except ServiceUnavailable:
            person = None
        names[staff_id] = person["name"] if person else _("Unknown staff member")
    return names[staff_id]


def _group_names() -> dict:
    def load():
        try:
            return {g["id"]: g["name"] for g in web.api("notify", "GET", "/chat-groups")}
        except (ApiError, ServiceUnavailable):
            return {}
    return i18n.cached("inbox_groups", load)


def recipient_of(message: dict) -> str:
    """Whom a message of the outbox was for, in words (the reader stays anonymous here too)."""
    recipient = str(message.get("recipient") or "")
    if recipient.startswith("reader:"):
        return _("The reader who filed the complaint")
    if recipient.startswith("group:"):
        return _group_names().get(recipient[6:]) or _("A duty group that was removed")
    return _staff_name(recipient) if recipient else ""


def without_ids(text: str | None) -> str:
    """An error text for a person: the ids it may name replaced by "(this record)"."""
    return _UUID.sub(_("(this record)"), text or "")


def _down_page(template: str, **context):
    return render_template(template, notify_down=True, **context), 503


# -- the inbox ------------------------------------------------------------------------------------
def _page_number() -> int:
    try:
        return max(1, int(request.args.get("page", "1")))
    except ValueError:
        return 1


@bp.get("")
@web.signed_in(*STAFF)
def inbox():
    """My messages, newest first; ``?unread=1`` for the unread ones only."""
    if not _my_id():
        return render_template("inbox/no_inbox.html")
    only_unread = request.args.get("unread") in ("1", "true", "on")
    page = _page_number()
    fragment = "inbox/fragments/list.html" if request.headers.get("HX-Request") else "inbox/list.html"
    try:
        answer = web.api("notify", "GET", "/inbox", params={"page": page, "page_size": PAGE_SIZE,
                                                            "unread": "true" if only_unread else None})
        count = web.api("notify", "GET", "/inbox/unread-count")["unread"]
    except ServiceUnavailable:
        return _down_page(fragment, only_unread=only_unread, items=[], page=page, pages=1, total=0, unread=None)
    except ApiError as error:
        if error.status == 422:  # a page number out of range: the first page
            return redirect(url_for("inbox.inbox", unread="1" if only_unread else None))
        raise
    _remember_count(count)
    total = answer.get("total", 0)
    pages = max(1, -(-total // PAGE_SIZE))
    return render_template(fragment, items=answer.get("items", []), only_unread=only_unread, page=page,
                           pages=pages, total=total, unread=count)


@bp.post("/<message_id>/read")
@web.signed_in(*STAFF)
def mark_read(message_id: str):
    """Mark one message read: in place with htmx (the row and the header's count), else back to the list."""
    try:
        message = web.api("notify", "POST", f"/inbox/{message_id}/read")
        count = web.api("notify", "GET", "/inbox/unread-count")["unread"]
    except ApiError as error:
        if error.status in (403, 404):
            abort(404)
        raise
    _remember_count(count)
    if request.headers.get("HX-Request"):
        return render_template("inbox/fragments/read.html", item=message, unread=count)
    return redirect(_back())


@bp.post("/read-all")
@web.signed_in(*STAFF)
def mark_all_read():
    """Mark every message read."""
    answer = web.api("notify", "POST", "/inbox/read-all")
    _remember_count(0)
    marked = answer.get("marked", 0)
    flash(_("%(n)s messages marked as read.", n=marked) if marked else _("Nothing was unread."), "ok")
    return redirect(_back())


def _back() -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/inbox") and not target.startswith("//") else url_for("inbox.inbox")


# -- my notification settings ---------------------------------------------------------------------
def _prefs_from_form(form) -> tuple[dict, dict]:
    """The API's body from the form, and the errors the view can tell at once (bilingual)."""
    errors: dict = {}
    body = {
        "channels": ["inbox"] + (["email"] if form.get("email_channel") else []),
        "muted_event_types": [t for t in form.getlist("muted") if t][:50],
        "digest": bool(form.get("digest")),
        "language": form.get("language") or "zh-CN",
        "email": (form.get("email") or "").strip() or None,
        "chat_id": (form.get("chat_id") or "").strip() or None,
        "quiet_start": (form.get("quiet_start") or "").strip() or None,
        "quiet_end": (form.get("quiet_end") or "").strip() or None,
    }
    for name in ("quiet_start", "quiet_end"):
        if body[name] and not _CLOCK.match(body[name]):
            errors[name] = [_("Give a time of day as HH:MM, for example 22:00.")]
    if body["email"] and len(body["email"]) > 200:
        errors["email"] = [_("At most 200 characters.")]
    return body, errors


@bp.route("/settings", methods=["GET", "POST"])
@web.signed_in(*STAFF)
def settings():
    """My notification settings: channels, muted kinds, quiet hours, digest, language, e-mail."""
    me = _my_id()
    if not me:
        return render_template("inbox/no_inbox.html")
    try:
        kinds = web.api("notify", "GET", "/event-types")
        if request.method == "POST":
            body, errors = _prefs_from_form(request.form)
            typed = {k: v for k, v in request.form.items() if k != "csrf_token"}
            if errors:
                web.keep_form(typed, errors, _("Please correct the fields marked below."))
                return render_template("inbox/settings.html", prefs=body, kinds=kinds), 422
            try:
                web.api("notify", "PUT", f"/preferences/{me}", json=body)
            except ApiError as error:
                web.keep_form(typed, {k: [without_ids(m) for m in v] for k, v in i18n.field_errors(error).items()},
                              without_ids(i18n.api_message(error)))
                return render_template("inbox/settings.html", prefs=body, kinds=kinds), error.status
            flash(_("Your notification settings are saved."), "ok")
            return redirect(url_for("inbox.settings"))
        prefs = web.api("notify", "GET", f"/preferences/{me}")
    except ServiceUnavailable:
        return _down_page("inbox/settings.html", prefs={}, kinds=[])
    return render_template("inbox/settings.html", prefs=prefs, kinds=kinds)


# -- network administrators: failed messages and rules --------------------------------------------
@bp.get("/admin/failed")
@web.signed_in("network_admin")
def failed():
    """Messages notify gave up on, with their error, newest first, and a retry button each."""
    page = _page_number()
    try:
        answer = web.api("notify", "GET", "/messages", params={"status": "failed", "page": page,
                                                               "page_size": PAGE_SIZE})
    except ServiceUnavailable:
        return _down_page("inbox/failed.html", items=[], page=page, pages=1, total=0)
    except ApiError as error:
        if error.status == 422:
            return redirect(url_for("inbox.failed"))
        raise
    items = [{**m, "who": recipient_of(m), "error": without_ids(m.get("last_error"))} for m in answer.get("items", [])]
    total = answer.get("total", 0)
    return render_template("inbox/failed.html", items=items, page=page, pages=max(1, -(-total // PAGE_SIZE)),
                           total=total)


@bp.post("/admin/messages/<message_id>/retry")
@web.signed_in("network_admin")
def retry(message_id: str):
    """Send a failed message again (after the cause, e.g. the mail server, was fixed)."""
    try:
        web.api("notify", "POST", f"/messages/{message_id}/retry")
    except ApiError as error:
        if error.status == 404:
            abort(404)
        flash(without_ids(i18n.api_message(error)), "error")
        return redirect(url_for("inbox.failed"))
    flash(_("The message will be sent again within a minute."), "ok")
    return redirect(url_for("inbox.failed"))


@bp.get("/admin/rules")
@web.signed_in("network_admin")
def rules():
    """Every rule: which event tells whom, on which channels, enabled or not."""
    try:
        found = web.api("notify", "GET", "/rules")
    except ServiceUnavailable:
        return _down_page("inbox/rules.html", rules=[])
    found.sort(key=lambda r: (event_label(r["event_type"]), local_label("recipient_kind", r["recipient_kind"])))
    return render_template("inbox/rules.html", rules=found)


@bp.post("/admin/rules/<rule_id>/enabled")
@web.signed_in("network_admin")
def toggle_rule(rule_id: str):
    """Turn a rule on or off (``enabled=1`` or ``0``)."""
    enabled = request.form.get("enabled") == "1"
    try:
        rule = web.api("notify", "PATCH", f"/rules/{rule_id}", json={"enabled": enabled})
    except ApiError as error:
        if error.status == 404:
            abort(404)
        flash(without_ids(i18n.api_message(error)), "error")
        return redirect(url_for("inbox.rules"))
    if request.headers.get("HX-Request"):
        return render_template("inbox/fragments/rule_row.html", rule=rule)
    flash(_("The rule is on.") if enabled else _("The rule is off."), "ok")
    return redirect(url_for("inbox.rules"))


TEMPLATE_FIELDS = ("subject_zh", "body_zh", "subject_en", "body_en")


@bp.route("/admin/rules/<rule_id>", methods=["GET", "POST"])
@web.signed_in("network_admin")
def edit_rule(rule_id: str):
    """Edit a rule's message texts; a template notify cannot render is shown beside its field."""
    try:
        found = {r["id"]: r for r in web.api("notify", "GET", "/rules")}
    except ServiceUnavailable:
        return _down_page("inbox/rule_form.html", rule=None, variables=[])
    rule = found.get(rule_id) or abort(404)
    variables = (event_types().get(rule["event_type"]) or {}).get("variables", [])
    if request.method == "POST":
        body = {name: request.form.get(name, "") for name in TEMPLATE_FIELDS}
        errors = {name: [_("Write this text.")] for name, text in body.items() if not text.strip()}
        if not errors:
            try:
                web.api("notify", "PATCH", f"/rules/{rule_id}", json=body)
            except ApiError as error:
                errors = {k: [without_ids(m) for m in v] for k, v in i18n.field_errors(error).items()}
                web.keep_form(body, errors, without_ids(i18n.api_message(error)))
                return render_template("inbox/rule_form.html", rule=rule, variables=variables), error.status
            flash(_("The message texts are saved."), "ok")
            return redirect(url_for("inbox.rules"))
        web.keep_form(body, errors, _("Please correct the fields marked below."))
        return render_template("inbox/rule_form.html", rule=rule, variables=variables), 422
    web.keep_form({name: rule[name] for name in TEMPLATE_FIELDS})  # the texts as they are now
    return render_template("inbox/rule_form.html", rule=rule, variables=variables)
