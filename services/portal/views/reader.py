"""The reader area of the portal (no account): desk pages from a QR code, tracking, surveys.

Readers arrive on a phone from the QR code at a desk (``/desk/<service point>``): they rate the
desk, praise a librarian by name or make a complaint. With the complaint's tracking code they
follow it (``/track``), rate its resolution, reopen it or erase their contact details. They answer
surveys from a link (``/survey/<id>``) and anyone may check a training certificate (``/verify``).
Branch managers print their desks' QR codes (``/desks``, ``/desk/<id>/qr``).

Reader pages call the services anonymously, even when a staff member is signed in on the same
browser (a complaint filed here is a reader's, not one recorded by staff), and pass the reader's
address on (``X-Forwarded-For``) for the services' per-client limits.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime
from urllib.parse import quote

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import force_locale, gettext as _, lazy_gettext as _l
from markupsafe import Markup

from services.portal import i18n, labels, web
from services.portal.api_client import ApiError
from shared.timeutil import parse_rfc3339

bp = Blueprint("reader", __name__)
web.add_nav("reader.desks", _l("Desk QR codes"), roles=("branch_manager",), order=80)

#: Limits the feedback API applies (services/feedback/model.py); the API's check is the one that counts.
DESCRIPTION_MAX, MESSAGE_MAX, NOTE_MAX, MAX_WAIT_MINUTES, TEXT_MAX = 4000, 2000, 2000, 24 * 60, 2000
#: How long the page after filing a complaint shows its tracking code on this device.
FILED_SHOWN_SECONDS = 3600
#: Complaint statuses in which the reader can rate the resolution or reopen it.
DONE = ("resolved", "closed")

#: Words for codes the reader pages show that ``labels.py`` does not name (yet).
SURVEY_STATES = {"scheduled": _l("Not open yet"), "closed": _l("Survey closed")}
CERTIFICATE_STATES = {"valid": _l("Valid"), "expired": _l("Expired")}
DIMENSIONS = {"affect": _l("Staff and service"), "information_control": _l("Finding information"),
              "place": _l("The library as a place"), "general": _l("Overall")}
TRIAD_LEVELS = (("minimum", _l("Minimum acceptable level")), ("desired", _l("Desired level")),
                ("perceived", _l("Level you receive now")))


# -- calling the services as a reader -----------------------------------------------------------
def _public(service: str, method: str, path: str, **kwargs):
    """Call ``service`` anonymously, on behalf of the reader at ``request.remote_addr``."""
    headers = {"X-Forwarded-For": request.remote_addr} if request.remote_addr else None
    return web.services().call(service, method, path, token=None, headers=headers, **kwargs)


def _segment(value: str) -> str:
    """A path segment as typed (codes, ids), safe inside a URL."""
    return quote(value, safe="")


def _desk(point_id: str) -> dict:
    """The desk, its branch and the branch's active staff (directory's public look-up), or 404."""
    try:
        return _public("directory", "GET", f"/public/service-points/{_segment(point_id)}")
    except ApiError as error:
        abort(429 if error.status == 429 else 404)


def _desk_or_none(point_id: str | None) -> dict | None:
    if not point_id:
        return None
    try:
        return _public("directory", "GET", f"/public/service-points/{_segment(point_id)}")
    except ApiError:
        return None


def _number(text: str | None):
    """A whole number as typed, for the API to check: an int when it is one, else the text; None if blank."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        return text


def _whole(text, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, else None."""
    value = _number(text) if not isinstance(text, int) else text
    return value if isinstance(value, int) and low <= value <= high else None


def _field_errors(error: ApiError) -> dict:
    """The API's errors per field in the page's language."""
    return i18n.field_errors(error)


def _keep_error(typed: dict, error: ApiError, fields: tuple, renames: dict | None = None) -> None:
    """Keep what was typed and show the API's errors next to the fields of this form; an error
    about anything else (a desk the feedback service does not know yet, too many requests) on top."""
    errors = {(renames or {}).get(name, name): messages for name, messages in _field_errors(error).items()}
    message = None
    if error.code in ("unknown_branch", "unknown_service_point"):
        message = _("This desk cannot take feedback online yet. Please try again later, or speak to the "
                    "staff at the desk.")
        errors = {k: v for k, v in errors.items() if k in fields}
    elif error.status == 429:
        message = _("Too many requests from your device in a short time. Please wait a minute and send again.")
    elif errors and all(name in fields for name in errors):
        message = _("Please correct the fields marked below.")
    else:
        message = i18n.api_message(error)
    web.keep_form(typed, errors, message)


def _problem(errors: dict):
    """The local check found something: show it, with a line on top."""
    return _("Please correct the fields marked below.") if errors else None


def _staff_choices(point: dict) -> list[tuple[str, str]]:
    """(staff id, name) of the desk's branch's active staff; a name two people share gets their role."""
    people = point.get("staff") or []
    names = [p["name"] for p in people]
    return [(p["staff_id"], p["name"] if names.count(p["name"]) == 1
             else f"{p['name']} ({labels.label('role', p['role'])})") for p in people]


def _moment(value):
    try:
        return parse_rfc3339(value) if value else None
    except (TypeError, ValueError):
        return None


# -- the desk page: rate, praise, complain ------------------------------------------------------
def _render_desk(template: str, point: dict, status: int = 200, **context):
    return render_template(template, point=point, staff_choices=_staff_choices(point), **context), status


@bp.route("/desk/<point_id>", methods=["GET", "POST"])
def desk(point_id: str):
    """Rate the desk: 1-5 stars, the wait in minutes, who served (optional), a comment."""
    point = _desk(point_id)
    if request.method == "GET":
        return _render_desk("reader/desk.html", point, tab="rate")
    typed = request.form.to_dict()
    typed.pop("csrf_token", None)
    staff_ids = {p["staff_id"] for p in point.get("staff") or []}
    errors = {}
    if not typed.get("stars"):
        errors["stars"] = [_("Choose from 1 to 5 stars.")]
    elif _whole(typed["stars"], 1, 5) is None:
        errors["stars"] = [_("Choose from 1 to 5 stars.")]
    if typed.get("staff_id") and typed["staff_id"] not in staff_ids:
        errors["staff_id"] = [_("Choose a name from the list.")]
    if errors:
        web.keep_form(typed, errors, _problem(errors))
        return _render_desk("reader/desk.html", point, 422, tab="rate")
    body = {"service_point_id": point["id"], "stars": _number(typed.get("stars")),
            "wait_minutes": _number(typed.get("wait_minutes")), "staff_id": typed.get("staff_id") or None,
            "comment": (typed.get("comment") or "").strip() or None}
    try:
        _public("feedback", "POST", "/ratings", json=body)
    except ApiError as error:
        _keep_error(typed, error, ("stars", "wait_minutes", "staff_id", "comment"))
        return _render_desk("reader/desk.html", point, error.status, tab="rate")
    return redirect(url_for("reader.thanks", point_id=point["id"], kind="rating"))


@bp.route("/desk/<point_id>/praise", methods=["GET", "POST"])
def praise(point_id: str):
    """Praise a librarian of the desk's branch by name, with a message."""
    point = _desk(point_id)
    if request.method == "GET":
        return _render_desk("reader/praise.html", point, tab="praise")
    typed = request.form.to_dict()
    typed.pop("csrf_token", None)
    staff_ids = {p["staff_id"] for p in point.get("staff") or []}
    errors = {}
    if staff_ids and not typed.get("staff_id"):
        errors["staff_id"] = [_("Choose whom you would like to praise.")]
    elif typed.get("staff_id") and typed["staff_id"] not in staff_ids:
        errors["staff_id"] = [_("Choose a name from the list.")]
    if errors:
        web.keep_form(typed, errors, _problem(errors))
        return _render_desk("reader/praise.html", point, 422, tab="praise")
    body = {"branch_id": point["branch"]["id"], "service_point_id": point["id"],
            "staff_id": typed.get("staff_id") or None, "message": (typed.get("message") or "").strip() or None}
    try:
        _public("feedback", "POST", "/praise", json=body)
    except ApiError as error:
        _keep_error(typed, error, ("staff_id", "message"))
        return _render_desk("reader/praise.html", point, error.status, tab="praise")
    return redirect(url_for("reader.thanks", point_id=point["id"], kind="praise"))


@bp.route("/desk/<point_id>/complaint", methods=["GET", "POST"])
def complaint(point_id: str):
    """Make a complaint about this desk: category, severity, description, optional contact."""
    point = _desk(point_id)
    if request.method == "GET":
        return _render_desk("reader/complaint.html", point, tab="complaint")
    typed = request.form.to_dict()
    typed.pop("csrf_token", None)
    staff_ids = {p["staff_id"] for p in point.get("staff") or []}
    errors = {}
    if not typed.get("category"):
        errors["category"] = [_("Choose what the complaint is about.")]
    if not (typed.get("description") or "").strip():
        errors["description"] = [_("Describe what happened.")]
    if typed.get("staff_id") and typed["staff_id"] not in staff_ids:
        errors["staff_id"] = [_("Choose a name from the list.")]
    if errors:
        web.keep_form(typed, errors, _problem(errors))
        return _render_desk("reader/complaint.html", point, 422, tab="complaint")
    contact = {key: (typed.get(f"contact.{key}") or "").strip() or None for key in ("name", "phone", "email")}
    body = {"branch_id": point["branch"]["id"], "service_point_id": point["id"],
            "staff_id": typed.get("staff_id") or None, "category": typed.get("category"),
            "severity": typed.get("severity") or "normal", "channel": "web",
            "description": typed.get("description").strip(),
            "contact": contact if any(contact.values()) else None}
    try:
        filed = _public("feedback", "POST", "/complaints", json=body)
    except ApiError as error:
        _keep_error(typed, error, ("category", "severity", "description", "staff_id", "contact.name",
                                   "contact.phone", "contact.email"))
        return _render_desk("reader/complaint.html", point, error.status, tab="complaint")
    session["reader_filed"] = {"code": filed["tracking_code"], "point_id": point["id"], "at": time.time(),
                               "category": filed.get("category"), "severity": filed.get("severity"),
                               "filed_at": filed.get("filed_at"), "has_contact": bool(filed.get("has_contact")),
                               "acknowledge_due_at": filed.get("acknowledge_due_at"),
                               "resolve_due_at": filed.get("resolve_due_at")}
    return redirect(url_for("reader.complaint_filed", point_id=point["id"]))


@bp.get("/desk/<point_id>/complaint/filed")
def complaint_filed(point_id: str):
    """The complaint's tracking code, shown prominently (for an hour, on this device only)."""
    filed = session.get("reader_filed")
    if not filed or filed.get("point_id") != point_id or time.time() - filed.get("at", 0) > FILED_SHOWN_SECONDS:
        return redirect(url_for("reader.track"))
    return render_template("reader/complaint_filed.html", point=_desk(point_id), filed=filed)


@bp.get("/desk/<point_id>/thanks/<kind>")
def thanks(point_id: str, kind: str):
    """After a rating or praise."""
    if kind not in ("rating", "praise"):
        abort(404)
    return render_template("reader/thanks.html", point=_desk(point_id), kind=kind)


# -- desk QR codes for branch managers ----------------------------------------------------------
def _desk_url(point_id: str) -> str:
    """The address in a desk's QR code: the portal's public address (``LSQ_PORTAL_PUBLIC_URL``),
    else the address this page was asked at."""
    base = current_app.extensions["portal"].settings.public_url or request.host_url
    return base.rstrip("/") + url_for("reader.desk", point_id=point_id)


def _qr_svg(url: str, title: str) -> Markup:
    """The QR code of ``url`` as inline SVG markup (no image file; scales with its box)."""
    import segno
    svg = segno.make(url, error="m").svg_inline(scale=8, border=4, omitsize=True, light="#fff", title=title,
                                                desc=url, svgclass="qr-code")
    return Markup(svg.replace("<svg ", '<svg role="img" ', 1))  # noqa: S704 - segno escapes title and desc


def _everything(service: str, path: str, params: dict | None = None) -> list[dict]:
    """Every item of a paginated list, as the signed-in user."""
    items, page = [], 1
    while True:
        answer = web.api(service, "GET", path, params={**(params or {}), "page": page, "page_size": 500})
        items += answer.get("items") or []
        if not answer.get("items") or len(items) >= answer.get("total", 0):
            return items
        page += 1


@bp.get("/desks")
@web.signed_in("branch_manager")
def desks():
    """The desks of a branch manager's branch (every branch's for network_admin), grouped by branch."""
    user = web.current_user()
    if user["role"] == "network_admin":
        branches = _everything("directory", "/branches")
        points = _everything("directory", "/service-points")
    elif user.get("branch_id"):
        branch = web.api_or_none("directory", "GET", f"/branches/{_segment(user['branch_id'])}")
        branches = [branch] if branch else []
        points = _everything("directory", "/service-points", {"branch_id": user["branch_id"]}) if branch else []
    else:
        branches, points = [], []
    groups = []
    for branch in sorted(branches, key=lambda b: (b.get("code") or "")):
        mine = sorted((p for p in points if p["branch_id"] == branch["id"]),
                      key=lambda p: i18n.pick(p.get("name_zh"), p.get("name_en")))
        groups.append({"branch": branch, "points": mine})
    return render_template("reader/desks.html", groups=groups)


@bp.get("/desk/<point_id>/qr")
@web.signed_in("branch_manager")
def desk_qr(point_id: str):
    """A printable sheet with the desk's QR code, its names in both languages and its address."""
    point = _desk(point_id)
    user = web.current_user()
    if user["role"] != "network_admin" and point["branch"]["id"] != user.get("branch_id"):
        abort(404)  # another branch's desk looks like one that does not exist
    url = _desk_url(point["id"])
    title = f"{point['name_zh']} · {point['branch']['name_zh']} / {point['name_en']} · {point['branch']['name_en']}"
    calls = {}
    for code in ("zh_CN", "en"):  # the sheet speaks both languages, whatever the page's
        with force_locale(code):
            calls[code] = _("Scan to rate the service, praise a librarian or make a complaint")
    return render_template("reader/qr.html", point=point, url=url, svg=_qr_svg(url, title),
                           call_zh=calls["zh_CN"], call_en=calls["en"])


# -- tracking a complaint by its code -----------------------------------------------------------
def _track_call(method: str, suffix: str = "", **kwargs) -> dict:
    code = session.get("track_code") or ""
    return _public("feedback", method, f"/complaints/track/{_segment(code)}{suffix}", **kwargs)


@bp.route("/track", methods=["GET", "POST"])
def track():
    """The form: a tracking code → the complaint's progress."""
    if request.method == "GET":
        return render_template("reader/track.html")
    code = (request.form.get("code") or "").strip()
    if not code:
        web.keep_form({"code": code}, {"code": [_("Enter the tracking code you were given.")]})
        return render_template("reader/track.html"), 422
    if len(code) > 40:
        web.keep_form({"code": code}, {"code": [_("No complaint has this tracking code. Check it and try again.")]})
        return render_template("reader/track.html"), 404
    try:
        _public("feedback", "GET", f"/complaints/track/{_segment(code)}")
    except ApiError as error:
        if error.status == 404:
            web.keep_form({"code": code},
                          {"code": [_("No complaint has this tracking code. Check it and try again.")]})
        else:
            _keep_error({"code": code}, error, ("code",))
        return render_template("reader/track.html"), error.status
    session["track_code"] = code  # kept in the session, not in addresses (history, logs)
    return redirect(url_for("reader.tracked"))


def _render_tracked(complaint: dict, status: int = 200):
    now = datetime.now(UTC)
    reopen_until = _moment(complaint.get("reopen_until"))
    steps = [(complaint.get("filed_at"), _("We received your complaint."))]
    if complaint.get("acknowledged_at"):
        steps.append((complaint["acknowledged_at"], _("The library acknowledged it and is looking into it.")))
    if complaint.get("resolved_at"):
        steps.append((complaint["resolved_at"], _("It was resolved.") if complaint["status"] in DONE
                      else _("It was resolved, then reopened.")))
    if complaint.get("rated_at"):
        steps.append((complaint["rated_at"], _("You rated the resolution.")))
    if complaint.get("closed_at"):
        steps.append((complaint["closed_at"], _("It was closed.")))
    steps.sort(key=lambda step: _moment(step[0]) or now)
    return render_template(
        "reader/tracked.html", complaint=complaint, steps=steps,
        point=_desk_or_none(complaint.get("service_point_id")),
        may_rate=complaint["status"] in DONE and complaint.get("rating") is None,
        may_reopen=complaint["status"] in DONE and reopen_until is not None and now < reopen_until,
        reopen_until=complaint.get("reopen_until")), status


@bp.get("/track/complaint")
def tracked():
    """The complaint of the code given on this device: status, what was done, outcome, actions."""
    if not session.get("track_code"):
        return redirect(url_for("reader.track"))
    try:
        complaint = _track_call("GET")
    except ApiError as error:
        if error.status == 429:
            abort(429)
        session.pop("track_code", None)
        return redirect(url_for("reader.track"))
    return _render_tracked(complaint)


def _tracked_again(status: int):
    """The tracked complaint's page again (with the form state kept), or the code form if it is gone."""
    if not session.get("track_code"):
        return redirect(url_for("reader.track"))
    try:
        return _render_tracked(_track_call("GET"), status)
    except ApiError:
        session.pop("track_code", None)
        return redirect(url_for("reader.track"))


def _act(method: str, suffix: str, body: dict | None, typed: dict, fields: tuple, done: str, renames=None):
    """Do one reader action on the tracked complaint; back to its page with a message."""
    if not session.get("track_code"):
        return redirect(url_for("reader.track"))
    try:
        _track_call(method, suffix, json=body)
    except ApiError as error:
        if error.status == 404:
            session.pop("track_code", None)
            return redirect(url_for("reader.track"))
        if error.status == 409:
            flash(i18n.api_message(error), "error")
            return redirect(url_for("reader.tracked"))
        _keep_error(typed, error, fields, renames)
        return _tracked_again(error.status)
    flash(done, "ok")
    return redirect(url_for("reader.tracked"))


@bp.post("/track/rating")
def rate_resolution():
    """Rate how the complaint was resolved (1-5) and say why."""
    typed = {"rating": request.form.get("rating") or "", "rating_comment": request.form.get("rating_comment") or ""}
    if _whole(typed["rating"], 1, 5) is None:
        web.keep_form(typed, {"rating": [_("Choose from 1 to 5 stars.")]}, _problem({"rating": 1}))
        return _tracked_again(422)
    return _act("POST", "/rating", {"rating": int(typed["rating"]),
                                    "comment": typed["rating_comment"].strip() or None},
                typed, ("rating", "rating_comment"), _("Thank you for rating how your complaint was handled."),
                renames={"comment": "rating_comment"})


@bp.post("/track/reopen")
def reopen():
    """Reopen a resolved complaint, with the reason."""
    typed = {"reopen_note": request.form.get("reopen_note") or ""}
    if not typed["reopen_note"].strip():
        web.keep_form(typed, {"reopen_note": [_("Say why you want the complaint reopened.")]},
                      _problem({"reopen_note": 1}))
        return _tracked_again(422)
    return _act("POST", "/reopen", {"note": typed["reopen_note"].strip()}, typed, ("reopen_note",),
                _("Your complaint is open again. The library will look into it once more."),
                renames={"note": "reopen_note"})


@bp.post("/track/contact/erase")
def erase_contact():
    """Delete the contact details given with the complaint, now."""
    return _act("DELETE", "/contact", None, {}, (), _("Your contact details have been deleted."))


@bp.post("/track/forget")
def forget():
    """Stop showing the complaint on this device (a shared phone or computer)."""
    session.pop("track_code", None)
    session.pop("reader_filed", None)
    flash(_("This device no longer shows your complaint. Your tracking code still works."), "ok")
    return redirect(url_for("reader.track"))


# -- surveys -------------------------------------------------------------------------------------
def _survey_answers(items: list[dict], form) -> tuple[dict, dict, dict]:
    """(answers for the API, what was typed, errors per item) from the posted form."""
    answers, typed, errors = {}, {}, {}
    for item in items:
        code, kind, name = item["code"], item["type"], f"a.{item['code']}"
        missing = False
        if kind == "triad":
            parts = {part: (form.get(f"{name}.{part}") or "").strip() for part, _text in TRIAD_LEVELS}
            not_applicable = bool(form.get(f"{name}.na"))
            typed.update({f"{name}.{part}": value for part, value in parts.items()})
            typed[f"{name}.na"] = "1" if not_applicable else ""
            if not_applicable:
                answers[code] = {"na": True}
            elif any(parts.values()):
                values = {part: _whole(value, 1, 9) for part, value in parts.items()}
                if any(v is None for v in values.values()):
                    errors[name] = [_('Give all three levels from 1 to 9, or tick "not applicable".')]
                elif values["minimum"] > values["desired"]:
                    errors[name] = [_("Your minimum acceptable level is above your desired level.")]
                answers[code] = {part: _number(value) for part, value in parts.items()}
            else:
                missing = True
        elif kind == "multi_choice":
            chosen = [v for v in form.getlist(name) if v]
            typed[name] = chosen
            options = {o["value"] for o in item.get("options") or []}
            if chosen:
                if any(v not in options for v in chosen):
                    errors[name] = [_("Choose from the options given.")]
                answers[code] = chosen
            else:
                missing = True
        else:
            value = form.get(name) or ""
            typed[name] = value
            if kind == "text":
                value = value.strip()
                if value:
                    if len(value) > TEXT_MAX:
                        errors[name] = [_("At most %(n)s characters, please.", n=TEXT_MAX)]
                    answers[code] = value
                else:
                    missing = True
            elif value == "":
                missing = True
            elif kind in ("likert", "nps"):
                low, high = (1, 5) if kind == "likert" else (0, 10)
                if _whole(value, low, high) is None:
                    errors[name] = [_("Choose one of the numbers given.")]
                answers[code] = _number(value)
            else:  # choice
                if value not in {o["value"] for o in item.get("options") or []}:
                    errors[name] = [_("Choose from the options given.")]
                answers[code] = value
        if missing and item.get("required"):
            errors[name] = [_("This question needs an answer.")]
    return answers, typed, errors


def _survey_context(form: dict) -> dict:
    """Which branch the answers are about: the only one, a desk's (``?desk=``) or ``?branch=``."""
    branch_ids = form.get("branch_ids") or []
    desk_id = request.values.get("desk") or ""
    branch_id = request.values.get("branch") or ""
    point = _desk_or_none(desk_id) if desk_id else None
    if point is not None:
        branch_id = point["branch"]["id"]
    if branch_id not in branch_ids:
        branch_id = branch_ids[0] if len(branch_ids) == 1 else ""
    return {"point": point if point is not None and point["branch"]["id"] == branch_id else None,
            "branch_id": branch_id, "desk": desk_id if point is not None else "",
            # kept in the form's address only when the survey has several branches to choose from
            "branch": branch_id if len(branch_ids) > 1 and point is None else "",
            "token": (request.values.get("token") or "").strip()}


@bp.route("/survey/<survey_id>", methods=["GET", "POST"])
def survey(survey_id: str):
    """Answer a survey: every item kind, per-item errors next to the items, answers kept on error."""
    try:
        form = _public("feedback", "GET", f"/surveys/{_segment(survey_id)}/form")
    except ApiError as error:
        abort(429 if error.status == 429 else 404)
    items = (form.get("instrument") or {}).get("items") or []
    where = _survey_context(form)
    render = lambda status=200, **extra: (render_template(  # noqa: E731
        "reader/survey.html", survey=form, items=items, where=where, dimensions=DIMENSIONS,
        triad_levels=TRIAD_LEVELS, states=SURVEY_STATES, **extra), status)
    if request.method == "GET" or form.get("state") != "open" or not where["branch_id"]:
        return render(409 if request.method == "POST" else 200)
    answers, typed, errors = _survey_answers(items, request.form)
    typed["token"] = where["token"]
    if not form.get("open_link") and not where["token"]:
        errors["token"] = [_("Enter the invitation code you were given.")]
    if errors:
        web.keep_form(typed, errors, _("Some answers need another look: see the questions marked below."))
        return render(422)
    body = {"answers": answers, "branch_id": where["branch_id"], "token": where["token"] or None}
    try:
        _public("feedback", "POST", f"/surveys/{_segment(survey_id)}/responses", json=body)
    except ApiError as error:
        api_errors = {name.replace("answers.", "a.", 1): messages for name, messages in _field_errors(error).items()}
        if error.status == 409 and error.code.startswith("survey_"):
            form = {**form, "state": error.code.removeprefix("survey_")}
            return render(409)
        message = (_("Some answers need another look: see the questions marked below.")
                   if api_errors and all(n.startswith("a.") or n == "token" for n in api_errors)
                   else i18n.api_message(error))
        web.keep_form(typed, api_errors, message)
        return render(error.status)
    return redirect(url_for("reader.survey_thanks", survey_id=survey_id))


@bp.get("/survey/<survey_id>/thanks")
def survey_thanks(survey_id: str):
    return render_template("reader/survey_thanks.html")


# -- certificates ----------------------------------------------------------------------------------
@bp.get("/verify")
def verify():
    """Check a training certificate by its code (a plain GET: the address can be shared)."""
    code = (request.args.get("code") or "").strip()
    certificate = None
    status = 200
    if "code" in request.args:
        if not code:
            web.keep_form({"code": code}, {"code": [_("Enter the certificate's code.")]})
            status = 422
        elif len(code) > 40:
            web.keep_form({"code": code}, {"code": [_("No certificate has this code. Check it and try again.")]})
            status = 404
        else:
            try:
                certificate = _public("training", "GET", f"/certificates/{_segment(code)}")
            except ApiError as error:
                if error.status == 429:
                    abort(429)
                web.keep_form({"code": code}, {"code": [_("No certificate has this code. Check it and try again.")]})
                status = 404
    issuer = (certificate or {}).get("issuer") or ""
    issuer_en, _sep, issuer_zh = issuer.partition(" / ")
    return render_template("reader/verify.html", certificate=certificate, code=code, states=CERTIFICATE_STATES,
                           issuer=i18n.pick(issuer_zh or issuer_en, issuer_en)), status
