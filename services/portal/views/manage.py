"""The complaint desk (manage area): the work queue of a branch's complaints and each complaint's page,
with the actions the feedback API allows for its status, for supervisors and branch managers.

Everything comes from the feedback API with the user's own token (it decides what they may see);
names of staff, desks and branches come from the directory API, looked up once per request
(``Names``).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from services.portal import i18n, labels, web
from services.portal.api_client import ApiError
from shared.timeutil import parse_rfc3339, utcnow

bp = Blueprint("manage", __name__)

ROLES = ("supervisor", "branch_manager")
web.add_nav("manage.queue", _l("Complaints"), roles=ROLES, order=20)

#: Rows a page of the queue shows.
PAGE_SIZE = 20
OPEN_STATUSES = ("new", "acknowledged", "investigating", "waiting_on_reader")
#: action → the statuses the feedback API allows it from (its lifecycle; the API still decides).
ACTIONS = {
    "acknowledge": ("new",),
    "assign": OPEN_STATUSES,
    "investigate": ("acknowledged", "waiting_on_reader"),
    "wait": ("investigating",),
    "resolve": ("acknowledged", "investigating", "waiting_on_reader"),
    "close": ("resolved",),
    "reopen": ("resolved", "closed"),
    "erase-contact": OPEN_STATUSES + ("resolved", "closed"),
}
DONE_MESSAGES = {
    "acknowledge": _l("The complaint is acknowledged."), "assign": _l("The handler is assigned."),
    "investigate": _l("The investigation has started."), "wait": _l("The complaint now waits on the reader."),
    "resolve": _l("The complaint is resolved."), "close": _l("The complaint is closed."),
    "reopen": _l("The complaint is reopened."), "erase-contact": _l("The reader's contact details are erased."),
}
HISTORY_ACTIONS = {
    "file": _l("Complaint filed"), "acknowledge": _l("Acknowledged"), "assign": _l("Handler assigned"),
    "investigate": _l("Investigation started"), "wait": _l("Waiting on the reader"), "resolve": _l("Resolved"),
    "close": _l("Closed"), "reopen": _l("Reopened"), "rate": _l("Rated by the reader"),
    "erase_contact": _l("Contact details erased"), "escalate": _l("SLA target missed, escalated"),
}


# -- names: staff, desks and branches through the directory, once per request --------------------
class Names:
    """Staff, desk and branch names for this request (each branch's staff and desks read once)."""

    def __init__(self):
        self._staff: dict[str, dict | None] = {}
        self._branch_staff: dict[str, list[dict]] = {}
        self._desks: dict[str, dict[str, dict]] = {}
        self._branches: dict[str, dict | None] = {}

    def branch_staff(self, branch_id: str) -> list[dict]:
        """Everyone on the branch's roll (also those who left: old complaints name them)."""
        if branch_id not in self._branch_staff:
            people, page = [], 1
            while True:
                answer = web.api_or_none("directory", "GET", "/staff",
                                         params={"branch_id": branch_id, "page": page, "page_size": 500}) or {}
                people += answer.get("items") or []
                if len(people) >= answer.get("total", 0) or not answer.get("items"):
                    break
                page += 1
            self._branch_staff[branch_id] = people
            for person in people:
                self._staff[person["id"]] = person
        return self._branch_staff[branch_id]

    def person(self, staff_id: str | None, branch_id: str | None = None) -> dict | None:
        if not staff_id:
            return None
        if staff_id not in self._staff and branch_id:
            self.branch_staff(branch_id)
        if staff_id not in self._staff:
            self._staff[staff_id] = web.api_or_none("directory", "GET", f"/staff/{staff_id}")
        return self._staff[staff_id]

    def staff(self, staff_id: str | None, branch_id: str | None = None) -> str:
        """A staff member's name; words, never the id, when the directory does not show them."""
        if not staff_id:
            return ""
        found = self.person(staff_id, branch_id)
        return found["name"] if found and found.get("name") else _("someone at another branch")

    def branch(self, branch_id: str | None) -> str:
        if not branch_id:
            return ""
        if branch_id not in self._branches:
            self._branches[branch_id] = web.api_or_none("directory", "GET", f"/branches/{branch_id}")
        found = self._branches[branch_id]
        return i18n.pick(found.get("name_zh"), found.get("name_en")) if found else _("another branch")

    def desk(self, desk_id: str | None, branch_id: str) -> str:
        if not desk_id:
            return ""
        if branch_id not in self._desks:
            answer = web.api_or_none("directory", "GET", "/service-points",
                                     params={"branch_id": branch_id, "page_size": 500}) or {}
            self._desks[branch_id] = {d["id"]: d for d in answer.get("items") or []}
        found = self._desks[branch_id].get(desk_id)
        return i18n.pick(found.get("name_zh"), found.get("name_en")) if found else _("a desk no longer listed")

    def handlers(self, branch_id: str) -> list[tuple[str, str]]:
        """(id, name) of those who may handle a complaint of the branch: not left, by name."""
        people = [p for p in self.branch_staff(branch_id) if p.get("status") != "left"]
        people.sort(key=lambda p: (p.get("name") or ""))
        return [(p["id"], p["name"] + (f" ({labels.label('staff_status', 'on_leave')})"
                                       if p.get("status") == "on_leave" else "")) for p in people]


def names() -> Names:
    """This request's name lookups."""
    if "manage_names" not in g:
        g.manage_names = Names()
    return g.manage_names


# -- SLA in words ----------------------------------------------------------------------------------
def _moment(value):
    if not value:
        return None
    try:
        return parse_rfc3339(value) if isinstance(value, str) else value
    except ValueError:
        return None


def duration(span: timedelta) -> str:
    """``2 d 3 h`` / ``2天3小时``, ``3 h 20 min``, ``20 min``: a span as a person reads it."""
    minutes = max(0, int(span.total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("%(days)s d %(hours)s h", days=days, hours=hours) if hours else _("%(days)s d", days=days)
    if hours:
        return _("%(hours)s h %(minutes)s min", hours=hours, minutes=minutes) if minutes else _("%(hours)s h", hours=hours)
    return _("%(minutes)s min", minutes=max(minutes, 1))


def sla_badges(complaint: dict, now: datetime | None = None) -> list[tuple[str, str]]:
    """(css class, words) badges of a complaint's SLA now: the next target, and a missed earlier one."""
    now = now or utcnow()
    status = complaint.get("status")
    ack_missed = bool(complaint.get("acknowledge_breached_at"))
    res_missed = bool(complaint.get("resolve_breached_at"))
    if status in ("resolved", "closed"):
        if ack_missed or res_missed:
            return [("bad", _("Breached"))]
        return [("ok", _("Met"))]
    if status == "waiting_on_reader":
        badges = [("muted", _("Paused while waiting on the reader"))]
    else:
        target = "acknowledge" if status == "new" else "resolve"
        due = _moment(complaint.get(f"{target}_due_at"))
        at_risk = _moment(complaint.get(f"{target}_at_risk_at"))
        if due is None:
            badges = [("muted", _("No target"))]
        elif now >= due:
            text = (_("Breached: acknowledgement %(late)s overdue", late=duration(now - due)) if target == "acknowledge"
                    else _("Breached: resolution %(late)s overdue", late=duration(now - due)))
            badges = [("bad", text)]
        else:
            left = duration(due - now)
            text = (_("%(left)s left to acknowledge", left=left) if target == "acknowledge"
                    else _("%(left)s left to resolve", left=left))
            if at_risk is not None and now >= at_risk:
                badges = [("warn", _("At risk: %(text)s", text=text))]
            else:
                badges = [("ok", text)]
    if ack_missed and status != "new":
        badges.append(("bad", _("Acknowledged late")))
    return badges


def sla_targets(complaint: dict, now: datetime | None = None) -> list[dict]:
    """The two targets with their times and state, for the complaint page."""
    now = now or utcnow()
    status = complaint.get("status")
    rows = []
    for target, title, met_at, runs in (
            ("acknowledge", _("Acknowledge by"), complaint.get("acknowledged_at"), status == "new"),
            ("resolve", _("Resolve by"), complaint.get("resolved_at") if status in ("resolved", "closed") else None,
             status in ("new", "acknowledged", "investigating"))):
        due = _moment(complaint.get(f"{target}_due_at"))
        missed = complaint.get(f"{target}_breached_at")
        if met_at:
            state = ("bad", _("Met late")) if missed or (due and _moment(met_at) > due) else ("ok", _("Met"))
        elif target == "resolve" and status == "waiting_on_reader":
            state = ("muted", _("Paused while waiting on the reader"))
        elif runs and due and now >= due:
            state = ("bad", _("Breached"))
        elif runs and _moment(complaint.get(f"{target}_at_risk_at")) and now >= _moment(complaint[f"{target}_at_risk_at"]):
            state = ("warn", _("At risk"))
        elif runs and due:
            state = ("ok", _("%(left)s left", left=duration(due - now)))
        else:
            state = ("muted", _("Not running"))
        rows.append({"target": target, "title": title, "due_at": complaint.get(f"{target}_due_at"),
                     "met_at": met_at, "breached_at": missed, "state": state})
    return rows


# -- the queue -------------------------------------------------------------------------------------
FLAGS = ("at_risk", "breached", "escalated", "mine")


def _day(text: str | None) -> str | None:
    """A filter's day as the API takes it; anything else is passed on for the API to refuse."""
    return (text or "").strip() or None


def queue_params(args) -> dict:
    """The feedback API's query for the queue's filters (a blank filter is no filter)."""
    status = args.get("status") or "open"
    params = {"page": max(1, _int(args.get("page"), 1)), "page_size": PAGE_SIZE,
              "severity": args.get("severity") or None,
              "filed_from": _day(args.get("filed_from")), "filed_to": _day(args.get("filed_to"))}
    if status == "open":
        params["status"] = list(OPEN_STATUSES)
    elif status != "all":
        params["status"] = status
    for flag in FLAGS:
        if args.get(flag):
            params[flag] = "true"
    return params


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def status_choices() -> list[tuple[str, str]]:
    return [("open", _("All open complaints")), ("all", _("All, including resolved and closed"))] + labels.choices(
        "complaint_status")


def _page_url(args, page: int) -> str:
    kept = {k: v for k, v in args.items() if k != "page" and v}
    return url_for("manage.queue", **kept, page=page)


def _row(item: dict, now: datetime) -> dict:
    who = names()
    return {"id": item["id"], "filed_at": item["filed_at"], "category": item["category"],
            "severity": item["severity"], "status": item["status"],
            "desk": who.desk(item.get("service_point_id"), item["branch_id"]),
            "branch": who.branch(item["branch_id"]), "handler": who.staff(item.get("handler_id"), item["branch_id"]),
            "concerned": who.staff(item.get("staff_id"), item["branch_id"]),
            "escalated": bool(item.get("escalated_at")), "badges": sla_badges(item, now)}


@bp.get("/complaints")
@web.signed_in(*ROLES)
def queue():
    """The work queue: filters (combinable, kept in the URL), the table, pages; htmx swaps the table."""
    args = request.args.to_dict()
    status = 200
    answer, message = {"items": [], "total": 0, "page": 1}, None
    try:
        answer = web.api("feedback", "GET", "/complaints", params=queue_params(args))
    except ApiError as error:
        status = error.status
        message = i18n.api_message(error)
        web.keep_form(args, i18n.field_errors(error), message)
    now = utcnow()
    rows = [_row(item, now) for item in answer.get("items") or []]
    page = answer.get("page", 1)
    pages = max(1, -(-answer.get("total", 0) // PAGE_SIZE))
    context = dict(rows=rows, total=answer.get("total", 0), page=page, pages=pages, args=args,
                   previous_url=_page_url(args, page - 1) if page > 1 else None,
                   next_url=_page_url(args, page + 1) if page < pages else None,
                   filtered=any(args.get(k) for k in ("severity", "filed_from", "filed_to") + FLAGS)
                   or args.get("status") not in (None, "", "open"),
                   status_options=status_choices(), severity_options=labels.choices("severity"))
    if _fragment_wanted():  # the address changes (hx-push-url): the language switch gets it too
        return render_template("manage/fragments/queue_table.html", **context, language_link_oob=True), status
    return render_template("manage/queue.html", **context), status


# -- one complaint ---------------------------------------------------------------------------------
def _complaint_or_404(complaint_id: str) -> dict:
    complaint = web.api_or_none("feedback", "GET", f"/complaints/{complaint_id}")
    if complaint is None:
        abort(404)  # of another branch or missing: the same page
    return complaint


_ESCALATION = re.compile(r"^(acknowledge|resolve) SLA breached \(due ([^)]+)\); escalated to branch manager (.+)$")
_RECORDED = re.compile(r"^recorded by staff at (.+)$")
_PURGED = re.compile(r"^purged (\d+) days after closure$")
_RATING = re.compile(r"^rating (\d)$")
_HANDLER = re.compile(r"^handler (\S+)$")


def history_note(entry: dict, branch_id: str) -> str:
    """The note of a history step as a person reads it: the words the system wrote are translated
    and the staff ids in them become names; what a person wrote is shown as written."""
    note = entry.get("note") or ""
    action = entry.get("action")
    who = names()
    if action == "escalate" and (found := _ESCALATION.match(note)):
        target, due, manager = found.groups()
        manager_name = who.staff(manager, branch_id) if manager != "(none known)" else _("nobody (no branch manager known)")
        what = _("acknowledgement") if target == "acknowledge" else _("resolution")
        return _("The %(target)s target (due %(due)s) was missed; escalated to the branch manager, %(name)s.",
                 target=what, due=_when(due), name=manager_name)
    if action == "file" and (found := _RECORDED.match(note)):
        return _("Recorded by staff on %(time)s; counted from when the library received it.", time=_when(found.group(1)))
    if action == "assign" and (found := _HANDLER.match(note)):
        return _("Handler: %(name)s", name=who.staff(found.group(1), branch_id))
    if action == "rate" and (found := _RATING.match(note)):
        return _("Rating: %(stars)s of 5", stars=found.group(1))
    if action == "erase_contact" or (action == "close" and entry.get("actor_role") == "system"):
        known = {"erasure request received by staff": _("At the reader's request, received by staff."),
                 "erasure request by the reader": _("At the reader's request, with the tracking code."),
                 "closed automatically after the reopening window": _("Closed automatically after the 14 days in "
                                                                      "which the reader could reopen it.")}
        if note in known:
            return known[note]
        if found := _PURGED.match(note):
            return _("Deleted %(days)s days after closure, as the rules require.", days=found.group(1))
    return note


def _when(text: str) -> str:
    from services.portal.pages import when
    return when(text, "short") or text


def actor_name(entry: dict, branch_id: str) -> str:
    role = entry.get("actor_role")
    if entry.get("actor_id"):
        return names().staff(entry["actor_id"], branch_id)
    if role in (None, "reader"):
        return _("The reader")
    if role == "system":
        return _("The system")
    return labels.label("role", role)


def allowed_actions(complaint: dict) -> list[str]:
    """The actions the API allows for the complaint's status (and this role: all of them are the
    handlers'); reopening only within 14 days of the resolution."""
    if not web.has_role(*ROLES):
        return []
    status = complaint.get("status")
    found = [action for action, statuses in ACTIONS.items() if status in statuses]
    resolved = _moment(complaint.get("resolved_at"))
    if "reopen" in found and (resolved is None or utcnow() - resolved > timedelta(days=14)):
        found.remove("reopen")
    if "erase-contact" in found and not complaint.get("has_contact"):
        found.remove("erase-contact")
    return found


def _complaint_context(complaint: dict) -> dict:
    branch_id = complaint["branch_id"]
    who = names()
    history = web.api("feedback", "GET", f"/complaints/{complaint['id']}/history")
    steps = [{"at": h.get("at"), "action": HISTORY_ACTIONS.get(h.get("action"), h.get("action")),
              "who": actor_name(h, branch_id), "from_status": h.get("from_status"), "to_status": h.get("to_status"),
              "note": history_note(h, branch_id)} for h in history]
    actions = allowed_actions(complaint)
    return dict(
        complaint=complaint, steps=steps, actions=actions, targets=sla_targets(complaint),
        badges=sla_badges(complaint), failed=g.get("manage_failed_action"),
        branch_name=who.branch(branch_id), desk_name=who.desk(complaint.get("service_point_id"), branch_id),
        concerned=who.staff(complaint.get("staff_id"), branch_id),
        handler=who.staff(complaint.get("handler_id"), branch_id),
        escalated_to=who.staff(complaint.get("escalated_to"), branch_id),
        handler_options=who.handlers(branch_id) if {"acknowledge", "assign"} & set(actions) else [],
        outcome_options=labels.choices("outcome"), done=g.get("manage_done"))


def _fragment_wanted() -> bool:
    """An htmx request for a part of the page (not htmx restoring a whole page from history)."""
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _render_complaint(complaint: dict, status: int = 200):
    context = _complaint_context(complaint)
    if _fragment_wanted():
        return render_template("manage/fragments/complaint_body.html", **context), status
    return render_template("manage/complaint.html", **context), status


@bp.get("/complaints/<complaint_id>")
@web.signed_in(*ROLES)
def complaint(complaint_id: str):
    """Everything staff may see of one complaint, its history, SLA and the actions allowed now."""
    return _render_complaint(_complaint_or_404(complaint_id))


#: What each action's form sends to the API, and the fields the portal itself requires.
def _body(action: str, form) -> tuple[dict, dict]:
    text = {k: (form.get(k) or "").strip() for k in ("note", "handler_id", "outcome", "response")}
    errors: dict = {}
    body: dict = {}
    if action in ("acknowledge", "assign"):
        if text["handler_id"]:
            body["handler_id"] = text["handler_id"]
        elif action == "assign":
            errors["handler_id"] = [_("Choose the staff member who will handle it.")]
    if action == "wait" and not text["note"]:
        errors["note"] = [_("Write what you asked the reader.")]
    if action == "resolve":
        if not text["outcome"]:
            errors["outcome"] = [_("Choose the outcome.")]
        if not text["response"]:
            errors["response"] = [_("Write the answer given to the reader.")]
        body.update(outcome=text["outcome"], response=text["response"])
    elif action != "erase-contact" and text["note"]:
        body["note"] = text["note"]
    return body, errors


@bp.post("/complaints/<complaint_id>/<action>")
@web.signed_in(*ROLES)
def act(complaint_id: str, action: str):
    """One action on a complaint (a plain form post, or htmx in place); the API's answer decides."""
    if action not in ACTIONS:
        abort(404)
    body, errors = _body(action, request.form)
    if errors:
        return _failed(complaint_id, action, errors, None, 422)
    try:
        answer = web.api("feedback", "POST", f"/complaints/{complaint_id}/{action}", json=body)
    except ApiError as error:
        if error.status == 404:
            abort(404)
        return _failed(complaint_id, action, i18n.field_errors(error), i18n.api_message(error), error.status)
    if request.headers.get("HX-Request"):
        g.manage_done = str(DONE_MESSAGES[action])
        return _render_complaint(answer)
    flash(str(DONE_MESSAGES[action]), "ok")
    return redirect(url_for("manage.complaint", complaint_id=complaint_id))


def _failed(complaint_id: str, action: str, errors: dict, message: str | None, status: int):
    """The page again, with what was typed and the error next to the form of ``action``."""
    web.keep_form(request.form, errors, message)
    g.manage_failed_action = action
    return _render_complaint(_complaint_or_404(complaint_id), status)

