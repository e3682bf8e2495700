"""The staff area of the portal, "my page" (``/me``): a staff member's own evaluations, training and
standing, and what they do about them (rate themselves and their peers, acknowledge or appeal a
result or a sanction, enrol in a session, report an external activity).

Every URL is about the signed-in person: none takes a staff id, so nobody can ask for another's
page; the services' own rules decide what comes back. Supervisors and branch managers are staff
too and have the same pages.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_skeleton
from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import format_time, get_locale, gettext as _, lazy_gettext as _l, to_user_timezone

from services.portal import i18n, labels, web
from services.portal.api_client import ApiError, ServiceUnavailable
from shared.timeutil import UTC, local_today, parse_rfc3339, utcnow

bp = Blueprint("staff", __name__, url_prefix="/me")

#: Who has a "my page": every role a staff member's own token may have (network_admin passes too).
ROLES = ("staff", "supervisor", "branch_manager")
#: Roles the incentive API lets acknowledge and appeal their own sanctions (network_admin always passes).
SANCTION_ACTION_ROLES = ("staff", "supervisor", "branch_manager")

web.add_nav("staff.overview", _l("My page"), roles=ROLES, order=10)
web.add_nav("staff.evaluations", _l("My evaluations"), roles=ROLES, order=11)
web.add_nav("staff.training", _l("My training"), roles=ROLES, order=12)
web.add_nav("staff.standing", _l("Awards and sanctions"), roles=ROLES, order=13)

#: The 1–5 scale of every rubric dimension, as a rater reads it.
SCALE = ((1, _l("Poor")), (2, _l("Below expectations")), (3, _l("Meets expectations")),
         (4, _l("Good")), (5, _l("Excellent")))

#: Codes the APIs send that ``labels.py`` does not name yet (see the report to the lead): this
#: area's words for them, Chinese in the staff catalogue. ``slabel`` falls back to ``labels.label``.
STAFF_LABELS: dict[str, dict] = {
    "competency_area": {
        "information_retrieval": _l("Information retrieval"), "reader_service": _l("Reader service"),
        "cultural_exchange": _l("Cultural exchange"), "regulations_policy": _l("Regulations and policy"),
        "emergency_handling": _l("Emergency handling"),
        "communication_complaints": _l("Communication and complaint handling"),
        "digital_services": _l("Digital library services"),
    },
    "result_status": {
        "computed": _l("Not published yet"), "published": _l("Published"), "acknowledged": _l("Acknowledged by you"),
        "appealed": _l("Under appeal"), "upheld": _l("Appeal decided: result kept"),
        "revised": _l("Appeal decided: result revised"),
    },
    "evaluation_appeal_status": {"pending": _l("Waiting for a decision"), "upheld": _l("Result kept"),
                                 "revised": _l("Result revised")},
    "sanction_status": {
        "issued": _l("Not yet acknowledged"), "acknowledged": _l("Acknowledged by you"), "appealed": _l("Under appeal"),
        "upheld": _l("Appeal rejected"), "overturned": _l("Overturned on appeal"), "revoked": _l("Withdrawn"),
    },
    "award_status": {"pending": _l("Waiting"), "granted": _l("Granted"), "rejected": _l("Not granted"),
                     "revoked": _l("Withdrawn")},
    "award_tier": {"A": _l("Tier A award"), "B": _l("Tier B award"), "points_credit": _l("Points converted")},
    "waiting_for": {"branch_manager_approval": _l("waiting for the branch manager's approval"),
                    "fund_short": _l("waiting until the branch fund can pay it")},
    "violation_category": {
        "attitude": _l("service attitude"), "absence": _l("absence"), "punctuality": _l("punctuality"),
        "negligence": _l("negligence"), "misconduct": _l("misconduct"), "dress_code": _l("dress code"),
        "confidentiality": _l("confidentiality"), "other": _l("other"),
    },
    "completion_kind": {"course": _l("Course")},
    "session_status": {"scheduled": _l("Scheduled"), "cancelled": _l("Cancelled")},
}


def slabel(kind: str, code) -> str:
    """The word for ``code`` of ``kind``: this area's, else the portal's (``labels.label``)."""
    found = STAFF_LABELS.get(kind, {}).get(str(code)) if code not in (None, "") else None
    if found is not None:
        return str(found)
    if kind == "completion_kind":
        return labels.label("external_kind", code)
    return labels.label(kind, code)


# -- the state of one form among several on a page ---------------------------------------------
def form_for(key: str) -> web.FormState:
    """What the form ``key`` shows: the typed values and errors when it was the one sent."""
    state = web.form_state()
    return state if state.typed.get("_form") == key else web.FormState({}, {})


_UUID = re.compile(r"\s*\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I)


def _scrub(text: str) -> str:
    """An API message without the ids some of them carry ("未找到评价结果 01a2…")."""
    return _UUID.sub("", text or "").strip()


def _keep(key: str, typed: dict, error: ApiError | None = None, errors: dict | None = None,
          message: str | None = None) -> None:
    """Keep what was typed into form ``key`` and the errors to show next to its fields."""
    if error is not None:
        errors = {name: [_scrub(m) for m in messages] for name, messages in i18n.field_errors(error).items()}
        if error.status in (403, 404):
            message = _("This is not on your page: it belongs to someone else or no longer exists.")
        elif any(name in typed for name in errors):
            # Fields of this form in error: each message next to its field; a rule of the service
            # broken by one field gets the service's own message (in Chinese too) there, where its
            # English would otherwise stand on a Chinese page.
            errors = {name: [_scrub(i18n.api_message(error)) if m == error.message else m for m in messages]
                      for name, messages in errors.items()}
            message = _("Some fields need your attention.")
        else:
            message = _scrub(i18n.api_message(error))
    web.keep_form({**typed, "_form": key}, errors or {}, message)


def _claim(keys) -> None:
    """Say the message of the form just sent at the top of the page when that form is not on it
    (another person's item, a session already left): otherwise it would not be seen at all."""
    state = web.form_state()
    key = state.typed.get("_form")
    if key and key not in set(keys) and state.message:
        g.staff_notice = state.message


@bp.context_processor
def _helpers():
    return {"slabel": slabel, "form_for": form_for, "period_label": period_label, "due_text": due_text, "when": when,
            "percent": percent, "SCALE": SCALE, "reason_text": reason_text, "time_range": time_range, "requirement_title": requirement_title,
            "sep": lambda: "" if i18n.is_chinese() else " "}


# -- words for periods, due days, percentages, reasons -----------------------------------------
def period_label(period: str | None) -> str:
    """``2026-Q4`` → "2026年第4季度" / "Q4 2026"; any other label as given."""
    text = period or ""
    if m := re.fullmatch(r"(\d{4})", text):
        return _("%(year)s (whole year)", year=m[1])
    if m := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        return _("Q%(quarter)s %(year)s", quarter=m[2], year=m[1])
    if m := re.fullmatch(r"(\d{4})-H([12])", text):
        return _("H1 %(year)s", year=m[1]) if m[2] == "1" else _("H2 %(year)s", year=m[1])
    if (m := re.fullmatch(r"(\d{4})-(\d{2})", text)) and 1 <= int(m[2]) <= 12:
        return format_skeleton("yMMMM", date(int(m[1]), int(m[2]), 1), locale=get_locale())
    return text


def when(value, style: str | None = None) -> str:
    """``pages.when`` to the minute: "2026年12月31日 23:30" / "Dec 31, 2026, 11:30 PM" (its
    medium style shows seconds, which nobody needs on these pages)."""
    from services.portal import pages
    return pages.when(value, style or ("y年M月d日 HH:mm" if i18n.is_chinese() else "MMM d, y, h:mm a"))


def time_range(starts, ends) -> str:
    """"3 Dec 2026, 21:30 – 23:30" in the page's language and the network's time zone."""
    begin, end = parse_rfc3339(starts), parse_rfc3339(ends)
    if to_user_timezone(begin).date() == to_user_timezone(end).date():
        return f"{when(begin)} – {format_time(end, 'HH:mm' if i18n.is_chinese() else 'h:mm a')}"
    return f"{when(begin)} – {when(end)}"


def requirement_title(r: dict) -> str:
    """What a requirement asks, in words (the service's own title of an hours requirement names
    the competency area by its code)."""
    year = r.get("period") or ""
    hours = r.get("required_hours")
    if r.get("kind") == "annual_hours" and hours is not None:
        return _("%(hours)s continuing-education hours in %(year)s", hours="%g" % hours, year=year)
    if r.get("kind") == "area_hours" and hours is not None:
        return _("%(hours)s hours of %(area)s in %(year)s", hours="%g" % hours, year=year,
                 area=slabel("competency_area", r.get("area")))
    return i18n.pick(r.get("title_zh"), r.get("title"))


def _day(value) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def due_text(due_on) -> tuple[str, str]:
    """(words, badge class) for a deadline day: "due in 5 days" / "12 days overdue"."""
    due = _day(due_on)
    if due is None:
        return "", "muted"
    days = (due - local_today()).days
    if days < 0:
        late = -days
        return (_("1 day overdue") if late == 1 else _("%(days)s days overdue", days=late)), "bad"
    if days == 0:
        return _("due today"), "warn"
    if days == 1:
        return _("due tomorrow"), "warn"
    return _("due in %(days)s days", days=days), ("warn" if days <= 7 else "muted")


def percent(share) -> str:
    """0.4444 → "44.4 %"."""
    if share is None:
        return "—"
    value = ("%.1f" % (float(share) * 100)).rstrip("0").rstrip(".")
    return _("%(value)s %%", value=value)


_ID = r"[0-9A-Za-z][0-9A-Za-z-]*"


def reason_text(reason_en: str | None, reason_zh: str | None = None) -> str:
    """A sanction's or award's reason in words, without the ids and codes the ledger writes
    ("Verbal warning: violation 4a80… recorded (attitude), rule recorded-violation")."""
    text = (reason_en or "").strip()
    prefix = re.match(r"^(Award \w+|[A-Z][a-z ]+|[+-]?\d+ points): ", text)
    body = text[prefix.end():] if prefix else text
    paid = re.search(r" \(paid ([\d.]+) of ([\d.]+): fund short, pro rata\)$", body)
    if paid:
        body = body[:paid.start()]
    body = re.sub(r",? rule [\w-]+$", "", body)
    words = None
    if m := re.fullmatch(rf"complaint {_ID} \((\w+), (\w+)\) found (\w+)", body):
        words = _("A reader's complaint (%(category)s, %(severity)s priority) was found %(outcome)s.",
                  category=labels.label("category", m[1]), severity=labels.label("severity", m[2]),
                  outcome=labels.label("outcome", m[3]).lower() if not i18n.is_chinese()
                  else labels.label("outcome", m[3]))
    elif m := re.fullmatch(rf"complaint {_ID}: (\w+) deadline missed", body):
        words = (_("A complaint you handled was not acknowledged in time.") if m[1] == "acknowledge"
                 else _("A complaint you handled was not resolved in time."))
    elif m := re.fullmatch(rf"violation {_ID} recorded \((\w+)\)", body):
        words = _("A violation was recorded by your supervisor (%(category)s).",
                  category=slabel("violation_category", m[1]))
    elif m := re.fullmatch(r"required training overdue since (\S+): (.+)", body):
        words = _("Required training overdue since %(day)s: %(title)s.", day=_format_day(m[1]), title=m[2])
    elif m := re.fullmatch(r"required training still overdue after (\d+) days: (.+)", body):
        words = _("Required training still overdue after %(days)s days: %(title)s.", days=m[1], title=m[2])
    elif m := re.fullmatch(r"evaluation (.+) graded (\w+) \(score ([\d.]+)\)", body):
        words = _("Evaluation of %(period)s graded %(grade)s (score %(score)s).", period=period_label(m[1]),
                  grade=labels.label("grade", m[2]), score=m[3])
    elif m := re.fullmatch(r"(\d+) recognition points of (\S+) at ([\d.]+) CNY each", body):
        words = _("%(points)s recognition points of %(period)s at %(rate)s each.", points=m[1],
                  period=period_label(m[2]), rate=_money(m[3]))
    elif m := re.fullmatch(r"overturned on appeal: (.*)", body, re.S):
        words = _("Overturned on appeal: %(note)s", note=m[1])
    if words is None:  # a reason written some other way: the service's own words, without ids
        own = reason_zh if i18n.is_chinese() and reason_zh else text
        words = re.sub(r"\s*[（(]?\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b[）)]?", "",
                       own or "")
        words = re.sub(r"[，,]\s*(规则|rule) [\w-]+", "", words)
    if paid:
        words += ("" if i18n.is_chinese() else " ") + _("Paid %(paid)s of %(requested)s: the fund was short.", paid=_money(paid[1]),
                         requested=_money(paid[2]))
    return words


def _format_day(text: str) -> str:
    from services.portal.pages import day
    return day(text)


def _money(text) -> str:
    from services.portal.pages import money
    return money(text)


# -- who is signed in ---------------------------------------------------------------------------
def _me() -> str | None:
    user = web.current_user() or {}
    return user.get("staff_id")


def _no_record():
    return render_template("staff/no_record.html"), 200


def _part(service: str, method: str, path: str, **kwargs):
    """``web.api`` for a box of a page that can do without it: (answer, None) or (None, "down")."""
    try:
        return web.api(service, method, path, **kwargs), None
    except ServiceUnavailable:
        return None, "down"
    except ApiError as error:
        if error.status in (403, 404):
            return None, "refused"
        raise


# -- /me: the overview ------------------------------------------------------------------------------
@bp.get("")
@web.signed_in(*ROLES)
def overview():
    me = _me()
    if not me:
        return _no_record()
    user = web.current_user()
    person, _down = _part("directory", "GET", f"/staff/{me}")
    person = person or {"name": user.get("name"), "role": user.get("role"), "branch_id": user.get("branch_id")}
    branch, _down = _part("directory", "GET", f"/branches/{person.get('branch_id')}") if person.get("branch_id") \
        else (None, None)
    branch_name = (i18n.pick(branch.get("name_zh"), branch.get("name_en")) if branch
                   else i18n.pick(user.get("branch_name_zh"), user.get("branch_name_en")))

    results, evaluation_state = _part("evaluation", "GET", f"/staff/{me}/evaluations")
    latest = (results or [None])[0]
    to_rate = None
    if evaluation_state is None:
        try:
            to_rate = sum(t["open"] for c in _open_cycles(me) for t in c["tasks"])
        except ServiceUnavailable:
            evaluation_state = "down"

    transcript, training_state = _part("training", "GET", f"/staff/{me}/transcript")
    standing, incentive_state = _part("incentive", "GET", f"/staff/{me}/standing")
    return render_template("staff/overview.html", person=person, branch_name=branch_name, latest=latest,
                           to_rate=to_rate, evaluation_state=evaluation_state, transcript=transcript,
                           training_state=training_state, standing=standing, incentive_state=incentive_state)


# -- /me/evaluations ---------------------------------------------------------------------------------
@dataclass
class Cached:
    """Cycles and rubrics read once per page."""

    cycles: dict
    rubrics: dict

    def cycle(self, cycle_id: str) -> dict | None:
        if cycle_id not in self.cycles:
            self.cycles[cycle_id] = web.api_or_none("evaluation", "GET", f"/cycles/{cycle_id}")
        return self.cycles[cycle_id]

    def rubric(self, rubric_id: str | None) -> dict:
        key = rubric_id or "current"
        if key not in self.rubrics:
            self.rubrics[key] = web.api_or_none("evaluation", "GET", f"/rubrics/{key}") or {"dimensions": []}
        return self.rubrics[key]


def _cache() -> Cached:
    return i18n.cached("staff_cache", lambda: Cached({}, {}))


def _appeal_deadline(result: dict, cycle: dict | None) -> datetime | None:
    """The last moment of the appeal window: ``appeal_days`` calendar days after publication, at the
    same local time in the cycle's time zone (as the evaluation service decides it)."""
    if not result.get("published_at") or not cycle:
        return None
    settings = cycle.get("settings") or {}
    days = int(settings.get("appeal_days") or 14)
    try:
        zone = ZoneInfo(settings.get("timezone") or "Asia/Shanghai")
    except (KeyError, ValueError):
        zone = ZoneInfo("Asia/Shanghai")
    published = parse_rfc3339(result["published_at"]).astimezone(zone)
    return (published + timedelta(days=days)).astimezone(UTC)


def _source_reason(code: str, entry: dict, settings: dict) -> str:
    """Why a source did not count, in words (the API's reason is in English only)."""
    if entry.get("used"):
        return ""
    if not float(entry.get("weight") or 0):
        return _("its weight is 0 in this cycle")
    answers = int(entry.get("answers") or 0)
    if code == "reader":
        needed = (settings.get("reader") or {}).get("min_ratings", 5)
        return _("%(answers)s desk ratings, at least %(needed)s needed", answers=answers, needed=needed)
    if code == "peer":
        needed = settings.get("min_peer_answers", 3)
        return _("%(answers)s colleagues answered, at least %(needed)s needed", answers=answers, needed=needed)
    if code == "self":
        return _("no self-evaluation was given")
    return _("no rating was given")


def _result_view(result: dict) -> dict:
    cache = _cache()
    detail = web.api_or_none("evaluation", "GET", f"/evaluations/{result['id']}") or result
    cycle = cache.cycle(result["cycle_id"]) or {}
    settings = cycle.get("settings") or {}
    rubric = cache.rubric(cycle.get("rubric_id"))
    deadline = _appeal_deadline(result, cycle)
    status = detail.get("status")
    sources = []
    for code in ("reader", "supervisor", "peer", "self"):
        entry = (detail.get("components") or {}).get(code)
        if entry is None:
            continue
        sources.append({"code": code, **entry, "why": _source_reason(code, entry, settings)})
    dimensions = [{"label": i18n.pick(d.get("label_zh"), d.get("label_en")), "weight": d.get("weight"),
                   "score": (detail.get("dimension_scores") or {}).get(d["code"])}
                  for d in rubric.get("dimensions") or [] if d["code"] in (detail.get("dimension_scores") or {})]
    return {**detail, "period": detail.get("period") or cycle.get("period"), "sources": sources,
            "dimensions": dimensions, "appeal_deadline": deadline,
            "may_appeal": status == "published" and detail.get("score") is not None and deadline is not None
            and utcnow() <= deadline,
            "window_closed": status == "published" and deadline is not None and utcnow() > deadline,
            "may_acknowledge": status in ("published", "upheld", "revised")}


def _open_cycles(me: str) -> list[dict]:
    """The open cycles with what I am asked to rate in each (myself, my peers)."""
    answer = web.api("evaluation", "GET", "/cycles", params={"status": "open", "page_size": 100})
    out = []
    for cycle in answer.get("items") or []:
        tasks_of = web.api_or_none("evaluation", "GET", f"/cycles/{cycle['id']}/assignments")
        if not tasks_of:
            continue
        tasks = []
        if (tasks_of.get("self") or {}).get("required"):
            tasks.append({"rater_type": "self", "staff_id": me, "name": None,
                          "submitted": bool(tasks_of["self"].get("submitted"))})
        for peer in tasks_of.get("peers") or []:
            tasks.append({"rater_type": "peer", "staff_id": peer["staff_id"], "name": peer.get("name"),
                          "submitted": bool(peer.get("submitted"))})
        if not tasks:
            continue
        deadline = tasks_of.get("submission_deadline") or cycle.get("submission_deadline")
        passed = deadline is not None and utcnow() > parse_rfc3339(deadline)
        for task in tasks:
            task["open"] = not task["submitted"] and not passed
        out.append({"cycle": cycle, "deadline": deadline, "passed": passed, "tasks": tasks})
    return out


def _rating_forms(me: str) -> list[dict]:
    cache = _cache()
    cycles = _open_cycles(me)
    for entry in cycles:
        cycle = entry["cycle"]
        cache.cycles.setdefault(cycle["id"], cycle)
        entry["dimensions"] = [{"code": d["code"], "label": i18n.pick(d.get("label_zh"), d.get("label_en"))}
                               for d in cache.rubric(cycle.get("rubric_id")).get("dimensions") or []]
        given = {(s["staff_id"], s["rater_type"]): s for s in
                 web.api_or_none("evaluation", "GET", f"/cycles/{cycle['id']}/evaluations") or []}
        for task in entry["tasks"]:
            task["key"] = f"rate-{cycle['id']}-{task['rater_type']}-{task['staff_id']}"
            task["given"] = given.get((task["staff_id"], task["rater_type"]))
            if task["rater_type"] == "peer" and not task["name"]:
                task["name"] = _("a colleague")
    return cycles


def _evaluations_page(status: int = 200):
    me = _me()
    results = web.api("evaluation", "GET", f"/staff/{me}/evaluations")
    views = [_result_view(r) for r in results]
    cycles = _rating_forms(me)
    _claim([f"{kind}-{r['id']}" for r in views for kind in ("ack", "appeal")]
           + [t["key"] for c in cycles if not c["passed"] for t in c["tasks"]]
           + [t["key"] for c in cycles if c["passed"] for t in c["tasks"]])
    return render_template("staff/evaluations.html", results=views, cycles=cycles), status


@bp.get("/evaluations")
@web.signed_in(*ROLES)
def evaluations():
    if not _me():
        return _no_record()
    return _evaluations_page()


@bp.post("/evaluations/<evaluation_id>/acknowledge")
@web.signed_in(*ROLES)
def acknowledge_result(evaluation_id: str):
    if not _me():
        return _no_record()
    try:
        web.api("evaluation", "POST", f"/evaluations/{evaluation_id}/acknowledge")
    except ApiError as error:
        _keep(f"ack-{evaluation_id}", {}, error)
        return _evaluations_page(error.status)
    flash(_("You have acknowledged the result."), "ok")
    return redirect(url_for("staff.evaluations", _anchor="main"))  # the message at the top


@bp.post("/evaluations/<evaluation_id>/appeal")
@web.signed_in(*ROLES)
def appeal_result(evaluation_id: str):
    if not _me():
        return _no_record()
    key = f"appeal-{evaluation_id}"
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        _keep(key, {"reason": reason}, errors={"reason": [_("Say why you appeal the result.")]})
        return _evaluations_page(422)
    try:
        web.api("evaluation", "POST", f"/evaluations/{evaluation_id}/appeal", json={"reason": reason})
    except ApiError as error:
        _keep(key, {"reason": reason}, error)
        return _evaluations_page(error.status)
    flash(_("Your appeal has been sent. The branch manager will decide on it."), "ok")
    return redirect(url_for("staff.evaluations", _anchor="main"))  # the message at the top


@bp.post("/evaluations/rate")
@web.signed_in(*ROLES)
def rate():
    me = _me()
    if not me:
        return _no_record()
    form = request.form
    cycle_id, rater_type, staff_id = form.get("cycle_id", ""), form.get("rater_type", ""), form.get("staff_id", "")
    if rater_type == "self":
        staff_id = me
    key = f"rate-{cycle_id}-{rater_type}-{staff_id}"
    rubric = _cache().rubric((web.api_or_none("evaluation", "GET", f"/cycles/{cycle_id}") or {}).get("rubric_id"))
    codes = [d["code"] for d in rubric.get("dimensions") or []]
    typed = {f"scores.{c}": form.get(f"scores.{c}", "") for c in codes}
    typed["comment"] = form.get("comment", "")
    scores, errors = {}, {}
    for code in codes:
        value = typed[f"scores.{code}"]
        if value not in ("1", "2", "3", "4", "5"):
            errors[f"scores.{code}"] = [_("Choose a rating from 1 to 5.")]
        else:
            scores[code] = int(value)
    if errors:
        _keep(key, typed, errors=errors, message=_("Rate every part of the form."))
        return _evaluations_page(422)
    body = {"staff_id": staff_id, "rater_type": rater_type, "scores": scores,
            "comment": typed["comment"].strip() or None}
    try:
        web.api("evaluation", "POST", f"/cycles/{cycle_id}/evaluations", json=body)
    except ApiError as error:
        _keep(key, typed, error)
        return _evaluations_page(error.status)
    flash(_("Your self-evaluation has been saved.") if rater_type == "self"
          else _("Your evaluation of your colleague has been saved."), "ok")
    return redirect(url_for("staff.evaluations", _anchor="main"))  # the message at the top


# -- /me/training --------------------------------------------------------------------------------------
EXTERNAL_FIELDS = ("kind", "title", "organiser", "activity_date", "end_date", "hours", "competency_area",
                   "evidence_note")


def _training_page(status: int = 200):
    me = _me()
    today = local_today()
    transcript = web.api("training", "GET", f"/staff/{me}/transcript", params={"year": today.year})
    mine = {s["session_id"]: s for s in transcript["upcoming"]["sessions"]}
    for item in transcript["upcoming"]["sessions"]:
        if item["status"] == "waitlisted":
            answer = web.api_or_none("training", "GET", f"/sessions/{item['session_id']}/enrolments")
            found = [e for e in (answer or {}).get("items") or [] if e["id"] == item["enrolment_id"]]
            item["waitlist_position"] = found[0].get("waitlist_position") if found else None
    user = web.current_user() or {}
    branch_id = transcript.get("branch_id") or user.get("branch_id")
    sessions = web.api("training", "GET", "/sessions", params={
        "branch_id": branch_id, "status": "scheduled", "from_date": today.isoformat(), "page_size": 100})
    now = utcnow()
    open_sessions = [s for s in sessions.get("items") or []
                     if s["id"] not in mine and parse_rfc3339(s["starts_at"]) > now]
    for s in open_sessions:
        s["full"] = s.get("enrolled", 0) >= s.get("capacity", 0)
    submissions = web.api("training", "GET", "/external-activities",
                          params={"staff_id": me, "page_size": 100}).get("items") or []
    certificates = [c for c in transcript["completed"] if c.get("certificate_code")]
    for c in certificates:
        expires = _day(c.get("expires_on"))
        c["valid"] = expires is None or expires >= today
    requirements = sorted(transcript["overdue"] + transcript["upcoming"]["requirements"],
                          key=lambda r: r.get("due_on") or "")
    _claim(["activity"] + [f"cancel-{s['enrolment_id']}" for s in transcript["upcoming"]["sessions"]]
           + [f"enrol-{s['id']}" for s in open_sessions])
    return render_template("staff/training.html", transcript=transcript, hours=transcript["hours"],
                           requirements=requirements, booked=transcript["upcoming"]["sessions"],
                           open_sessions=open_sessions, submissions=submissions, certificates=certificates,
                           kinds=labels.choices("external_kind"),
                           areas=[(c, str(t)) for c, t in STAFF_LABELS["competency_area"].items()],
                           today=today.isoformat()), status


@bp.get("/training")
@web.signed_in(*ROLES)
def training():
    if not _me():
        return _no_record()
    return _training_page()


@bp.post("/training/sessions/<session_id>/enrol")
@web.signed_in(*ROLES)
def enrol(session_id: str):
    if not _me():
        return _no_record()
    try:
        answer = web.api("training", "POST", f"/sessions/{session_id}/enrolments", json={})
    except ApiError as error:
        _keep(f"enrol-{session_id}", {}, error)
        return _training_page(error.status)
    if answer.get("status") == "waitlisted":
        flash(_("The session is full: you are number %(position)s on the waiting list.",
                position=answer.get("waitlist_position") or "?"), "ok")
    else:
        flash(_("You are enrolled in the session."), "ok")
    return redirect(url_for("staff.training", _anchor="main"))  # the message at the top


@bp.post("/training/enrolments/<enrolment_id>/cancel")
@web.signed_in(*ROLES)
def cancel_enrolment(enrolment_id: str):
    if not _me():
        return _no_record()
    try:
        web.api("training", "POST", f"/enrolments/{enrolment_id}/cancel", json={"reason": "cancelled in the portal"})
    except ApiError as error:
        _keep(f"cancel-{enrolment_id}", {}, error)
        return _training_page(error.status)
    flash(_("Your place has been cancelled."), "ok")
    return redirect(url_for("staff.training", _anchor="main"))  # the message at the top


@bp.post("/training/activities")
@web.signed_in(*ROLES)
def report_activity():
    if not _me():
        return _no_record()
    key = "activity"
    typed = {name: (request.form.get(name) or "") for name in EXTERNAL_FIELDS}
    errors = {}
    for name, message in (("kind", _("Choose the kind of activity.")), ("title", _("Enter the title.")),
                          ("organiser", _("Enter who organised it.")),
                          ("activity_date", _("Enter the day it took place.")),
                          ("hours", _("Enter the hours you attended."))):
        if not typed[name].strip():
            errors[name] = [message]
    hours = None
    if typed["hours"].strip() and "hours" not in errors:
        try:
            hours = float(typed["hours"].strip().replace(",", "."))
            if hours != hours or hours in (float("inf"), float("-inf")):
                raise ValueError
        except ValueError:
            errors["hours"] = [_("Enter the hours as a number, for example 3 or 1.5.")]
        else:
            if hours <= 0:
                errors["hours"] = [_("Enter more than 0 hours.")]
    for name in ("activity_date", "end_date"):
        if typed[name].strip() and name not in errors and _day(typed[name].strip()) is None:
            errors[name] = [_("Enter a day such as 2026-11-28.")]
    if errors:
        _keep(key, typed, errors=errors, message=_("Some fields need your attention."))
        return _training_page(422)
    body = {"kind": typed["kind"], "title": typed["title"].strip(), "organiser": typed["organiser"].strip(),
            "activity_date": typed["activity_date"].strip(), "hours": hours,
            "end_date": typed["end_date"].strip() or None,
            "competency_area": typed["competency_area"] or None,
            "evidence_note": typed["evidence_note"].strip() or None}
    try:
        web.api("training", "POST", "/external-activities", json=body)
    except ApiError as error:
        _keep(key, typed, error)
        return _training_page(error.status)
    flash(_("Your activity has been sent to your supervisor for approval."), "ok")
    return redirect(url_for("staff.training", _anchor="main"))  # the message at the top


# -- /me/standing ----------------------------------------------------------------------------------------
def _points_rules() -> list[dict]:
    """What earns points and the monthly caps, from the incentive policy in force."""
    policy, _state = _part("incentive", "GET", "/policy")
    out = []
    for rule in ((policy or {}).get("document") or {}).get("rules") or []:
        points = rule.get("points")
        if not points:
            continue
        if rule.get("on") == "lsq.praise.received.v1":
            what = _("each praise from a reader")
        elif rule.get("on") == "lsq.training.completed.v1":
            what = _("each credited training hour")
        else:
            continue
        out.append({"what": what, "points": points.get("points"), "cap": points.get("monthly_cap")})
    return out


def _standing_page(status: int = 200):
    me = _me()
    standing = web.api("incentive", "GET", f"/staff/{me}/standing")
    every = web.api("incentive", "GET", "/sanctions", params={"staff_id": me, "page_size": 200}).get("items") or []
    in_force = {s["id"] for s in standing["active_sanctions"] + standing["notices"]}
    earlier = [s for s in reversed(every) if s["id"] not in in_force]
    now = utcnow()
    acts = web.has_role(*SANCTION_ACTION_ROLES)
    for s in standing["active_sanctions"] + standing["notices"] + earlier:
        deadline = parse_rfc3339(s["appeal_deadline"]) if s.get("appeal_deadline") else None
        s["may_acknowledge"] = acts and s["status"] == "issued"
        s["may_appeal"] = (acts and s["level"] != "notice" and s["status"] in ("issued", "acknowledged")
                           and deadline is not None and now <= deadline)
        s["window_closed"] = (s["level"] != "notice" and s["status"] in ("issued", "acknowledged")
                              and deadline is not None and now > deadline)
    _claim([f"{kind}-{s['id']}" for s in standing["active_sanctions"] + standing["notices"]
            for kind in ("sack", "sappeal")])
    return render_template("staff/standing.html", standing=standing, earlier=earlier, rules=_points_rules(),
                           acts=acts), status


@bp.get("/standing")
@web.signed_in(*ROLES)
def standing():
    if not _me():
        return _no_record()
    return _standing_page()


@bp.post("/standing/sanctions/<sanction_id>/acknowledge")
@web.signed_in(*ROLES)
def acknowledge_sanction(sanction_id: str):
    if not _me():
        return _no_record()
    try:
        web.api("incentive", "POST", f"/sanctions/{sanction_id}/acknowledge")
    except ApiError as error:
        _keep(f"sack-{sanction_id}", {}, error)
        return _standing_page(error.status)
    flash(_("You have acknowledged it."), "ok")
    return redirect(url_for("staff.standing", _anchor="main"))  # the message at the top


@bp.post("/standing/sanctions/<sanction_id>/appeal")
@web.signed_in(*ROLES)
def appeal_sanction(sanction_id: str):
    if not _me():
        return _no_record()
    key = f"sappeal-{sanction_id}"
    reason = (request.form.get("reason") or "").strip()
    if not reason:
        _keep(key, {"reason": reason}, errors={"reason": [_("Say why you appeal the sanction.")]})
        return _standing_page(422)
    try:
        web.api("incentive", "POST", f"/sanctions/{sanction_id}/appeal", json={"reason": reason})
    except ApiError as error:
        _keep(key, {"reason": reason}, error)
        return _standing_page(error.status)
    flash(_("Your appeal has been sent. The branch manager will decide on it."), "ok")
    return redirect(url_for("staff.standing", _anchor="main"))  # the message at the top
