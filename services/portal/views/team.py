"""The team area of the portal: what supervisors and branch managers do for their branch's staff
besides complaints.

- ``/team/approvals``: everything waiting for this person, in sections with counts: praise to
  review, external activities, awards waiting for approval (beside the branch fund's balance),
  sanction appeals and score appeals. Each decision is a small form that htmx replaces in place
  with the new state; without script it is a plain post that comes back to the page.
- ``/team/evaluations``: the supervisor ratings due from me (a form over the rubric's dimensions),
  each open cycle's progress, and my branch's results once published.
- ``/team/training``: the branch's and the network's sessions, a session page with enrolments,
  the waiting list and attendance, and assigning a course to staff of the branch.

Every figure comes from the services' APIs with the user's own token; their access rules decide
what comes back (a supervisor sees no awards or appeals: those are the branch manager's). People
are shown by name (the directory), courses by title, cycles and fund periods by their period.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from babel.dates import format_skeleton
from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from services.portal import i18n, labels, web
from services.portal.api_client import ApiError, ServiceUnavailable
from shared.timeutil import local_today, parse_rfc3339, utcnow

bp = Blueprint("team", __name__, url_prefix="/team")

LEADS = ("supervisor", "branch_manager")
#: Decisions the services leave to the branch manager (awards, sanction and score appeals).
MANAGERS = ("branch_manager",)
#: Who may require a course of staff (``POST /courses/{id}/assignments``): supervisors and branch
#: managers of their own branch's staff, network_admin of anyone's.
ASSIGNERS = ("supervisor", "branch_manager")
#: Praise stays "to review" for this many days after it was received (the feedback service has
#: no review state: praise counts once received, and a rejection undoes it).
PRAISE_REVIEW_DAYS = 30
LIST_SIZE = 100

web.add_nav("team.approvals", _l("Approvals"), roles=LEADS, order=30)
web.add_nav("team.evaluations", _l("Staff evaluations"), roles=LEADS, order=32)
web.add_nav("team.training", _l("Staff training"), roles=LEADS, order=34)

#: Codes the APIs send that ``labels.py`` does not name yet (kept here, translated in the team
#: catalogue, until they move there).
TEAM_LABELS: dict[str, dict] = {
    "praise_status": {"received": _l("Counted"), "rejected": _l("Rejected")},
    "external_status": {"submitted": _l("Waiting for approval"), "approved": _l("Approved"),
                        "rejected": _l("Rejected")},
    "award_status": {"pending": _l("Waiting for approval"), "granted": _l("Granted"), "rejected": _l("Rejected"),
                     "revoked": _l("Revoked")},
    "award_waiting_for": {"branch_manager_approval": _l("Above the amount paid without approval"),
                          "fund_short": _l("The fund does not cover it")},
    "award_tier": {"A": _l("Tier A award"), "B": _l("Tier B award"), "points_credit": _l("Points converted to an award")},
    "sanction_status": {"issued": _l("Issued"), "acknowledged": _l("Acknowledged by the staff member"), "appealed": _l("Under appeal"),
                        "upheld": _l("Appeal refused, sanction upheld"), "overturned": _l("Overturned on appeal"),
                        "revoked": _l("Revoked")},
    "sanction_decision": {"upheld": _l("Uphold the sanction"), "overturned": _l("Overturn the sanction")},
    "score_appeal_status": {"pending": _l("Waiting for a decision"), "upheld": _l("Result upheld"),
                            "revised": _l("Result revised")},
    "score_decision": {"uphold": _l("Uphold the result"), "revise": _l("Revise the score")},
    "session_status": {"scheduled": _l("Scheduled"), "cancelled": _l("Cancelled")},
    "rating_kind": {"self": _l("Self-evaluations"), "peer": _l("Peer ratings"), "supervisor": _l("Supervisor ratings")},
    "violation_category": {
        "attitude": _l("Service attitude"), "absence": _l("Absence from duty"), "punctuality": _l("Lateness"),
        "negligence": _l("Negligence"), "misconduct": _l("Misconduct"), "dress_code": _l("Dress code"),
        "confidentiality": _l("Breach of confidentiality"), "other": _l("Other"),
    },
    "competency_area": {
        "information_retrieval": _l("Information retrieval"), "reader_service": _l("Reader service"),
        "cultural_exchange": _l("Cultural exchange"), "regulations_policy": _l("Regulations and policy"),
        "emergency_handling": _l("Emergency handling"), "communication_complaints": _l("Communication and complaints"),
        "digital_services": _l("Digital resources and services"),
    },
}


def tlabel(kind: str, code) -> str:
    """The word for ``code`` of ``kind``: the team's own labels first, then the portal's."""
    found = TEAM_LABELS.get(kind, {}).get(str(code)) if code not in (None, "") else None
    return str(found) if found is not None else labels.label(kind, code)


def tchoices(kind: str) -> list[tuple[str, str]]:
    source = TEAM_LABELS.get(kind) or labels.LABELS[kind]
    return [(code, str(text)) for code, text in source.items()]


def period_label(code: str | None) -> str:
    """``2026-Q4`` → 2026年第4季度 / Q4 2026; ``2026-H1``, ``2026-05``, ``2026``; others as given."""
    found = re.fullmatch(r"(\d{4})(?:-(Q[1-4]|H[12]|0[1-9]|1[0-2]))?", code or "")
    if not found:
        return code or ""
    year, part = found.groups()
    if part is None:
        return _("Year %(year)s", year=year)
    if part.startswith("Q"):
        return _("Q%(n)s %(year)s", n=part[1], year=year)
    if part == "H1":
        return _("First half of %(year)s", year=year)
    if part == "H2":
        return _("Second half of %(year)s", year=year)
    return format_skeleton("yMMMM", date(int(year), int(part), 1), locale=get_locale())


def _moment(value) -> datetime | None:
    try:
        return parse_rfc3339(value) if isinstance(value, str) else value
    except ValueError:
        return None


# -- why an award or a sanction was given, in words ---------------------------------------------------
#: The incentive service's reasons are audit texts naming event ids, codes and rule ids
#: ("Verbal warning: violation <id> recorded (punctuality), rule recorded-violation"); a person
#: reads what they mean. Patterns of its English reason, after the level or tier it starts with.
_ID = r"[0-9A-Za-z-]+"
_REASONS = (
    ("evaluation", re.compile(r"evaluation (?P<period>\S+) graded (?P<grade>\w+) \(score (?P<score>[\d.]+)\)")),
    ("complaint", re.compile(rf"complaint {_ID} \((?P<category>\w+), (?P<severity>\w+)\) found (?P<outcome>\w+)")),
    ("sla", re.compile(rf"complaint {_ID}: (?P<target>acknowledge|resolve) deadline missed")),
    ("overdue_again", re.compile(r"required training still overdue after (?P<days>\d+) days: (?P<title>.+)$")),
    ("overdue", re.compile(r"required training overdue since (?P<day>[\d-]+): (?P<title>.+)$")),
    ("violation", re.compile(rf"violation (?P<violation>{_ID}) recorded \((?P<category>\w+)\)")),
    ("praise", re.compile(r"reader praise ")),
    ("training", re.compile(r"training completed: (?P<title>.+) \((?P<hours>[\d.]+) credit hours\)")),
    ("points", re.compile(r"(?P<points>\d+) recognition points of (?P<period>\S+) at")),
)


def _violation(staff_id: str, violation_id: str) -> dict | None:
    cache = g.setdefault("team_violations", {})
    if staff_id not in cache:
        try:
            cache[staff_id] = {v["id"]: v for v in web.api("incentive", "GET", "/violations", params={
                "staff_id": staff_id, "page_size": 500})["items"]}
        except ApiError:
            cache[staff_id] = {}
    return cache[staff_id].get(violation_id)


def reason_of(item: dict) -> str:
    """Why an award or a sanction was given, as a person says it (no ids, no rule codes)."""
    text = item.get("reason_en") or ""
    body = text.split(": ", 1)[1] if re.match(r"^(Award \w+|[A-Z][a-z ]+): ", text) else text
    for kind, pattern in _REASONS:
        found = pattern.search(body)
        if not found:
            continue
        d = found.groupdict()
        if kind == "evaluation":
            return _("Evaluation result (%(period)s): %(grade)s, %(score)s points", period=period_label(d["period"]),
                     grade=labels.label("grade", d["grade"]), score=d["score"])
        if kind == "complaint":
            return _("A complaint about %(category)s (%(severity)s) was found %(outcome)s",
                     category=labels.label("category", d["category"]), severity=labels.label("severity", d["severity"]),
                     outcome=labels.label("outcome", d["outcome"]))
        if kind == "sla":
            return (_("A complaint was not acknowledged in time") if d["target"] == "acknowledge"
                    else _("A complaint was not resolved in time"))
        if kind == "overdue_again":
            return _("Required training still not done %(days)s days after its deadline: %(title)s", **d)
        if kind == "overdue":
            return _("Required training overdue since %(day)s: %(title)s", day=_day(d["day"]), title=d["title"])
        if kind == "violation":
            found = _violation(item.get("staff_id"), d["violation"])
            category = tlabel("violation_category", d["category"])
            if found:
                return _("Recorded violation (%(category)s): %(description)s", category=category,
                         description=found["description"])
            return _("Recorded violation (%(category)s)", category=category)
        if kind == "praise":
            return _("Praise from a reader")
        if kind == "training":
            return _("Training completed: %(title)s", title=d["title"])
        if kind == "points":
            return _("%(points)s recognition points of %(period)s", points=d["points"], period=period_label(d["period"]))
    # unknown wording: the service's own text without ids and rule codes
    plain = i18n.pick(item.get("reason_zh"), text)
    plain = re.sub(r"[,，]\s*(?:rule|规则)\s+\S+$", "", plain)
    return re.sub(r"\s*[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\s*", " ", plain).strip()


def _day(text: str) -> str:
    from services.portal.pages import day
    return day(text)


# -- whose team: the user's branch (network_admin chooses one) -------------------------------------
@dataclass
class Team:
    branch_id: str | None
    name: str
    branches: list = field(default_factory=list)  # network_admin: the branches to choose from
    param: str | None = None                      # network_admin: ?branch= on every link and form

    @property
    def chooses(self) -> bool:
        return bool(self.branches)


def team() -> Team:
    if "team" in g:
        return g.team
    user = web.current_user()
    if user["role"] == "network_admin":
        branches = web.api("directory", "GET", "/branches", params={"page_size": 500})["items"]
        chosen = request.args.get("branch") or request.form.get("branch")
        branch = next((b for b in branches if b["id"] == chosen), branches[0] if branches else None)
        found = Team(branch["id"] if branch else None, i18n.pick(branch["name_zh"], branch["name_en"]) if branch else "",
                     branches=[(b["id"], i18n.pick(b["name_zh"], b["name_en"])) for b in branches],
                     param=branch["id"] if branch else None)
    else:
        found = Team(user.get("branch_id"), i18n.pick(user.get("branch_name_zh"), user.get("branch_name_en")))
    g.team = found
    return found


def link(endpoint: str, **values) -> str:
    """A URL of this area that keeps the network admin's chosen branch."""
    return url_for(endpoint, branch=team().param, **values)


class People:
    """Names of staff, from the directory: the branch's list once a page, one look-up for others."""

    def __init__(self, branch_id: str | None):
        self.branch_id = branch_id
        self._members: list | None = None
        self._names: dict[str, str] = {}

    def members(self) -> list[dict]:
        if self._members is None:
            self._members = []
            if self.branch_id:
                self._members = web.api("directory", "GET", "/staff",
                                        params={"branch_id": self.branch_id, "page_size": 500})["items"]
            self._names.update({m["id"]: m["name"] for m in self._members})
        return self._members

    def name(self, staff_id: str | None) -> str:
        if not staff_id:
            return ""
        self.members()
        if staff_id not in self._names:
            found = web.api_or_none("directory", "GET", f"/staff/{staff_id}")
            self._names[staff_id] = found["name"] if found else _("a staff member of another branch")
        return self._names[staff_id]

    def choosable(self) -> list[dict]:
        """Staff who can still be given work: not those who have left; by name."""
        return sorted((m for m in self.members() if m.get("status") != "left"), key=lambda m: m["name"])


def people() -> People:
    if "team_people" not in g:
        g.team_people = People(team().branch_id)
    return g.team_people


# -- form state per item (several forms on one page: only the one sent shows what was typed) ------
def state_for(key: str):
    kept = g.get("team_state")
    return kept[1] if kept and kept[0] == key else None


def keep(key: str, typed: dict, errors: dict | None = None, message: str | None = None) -> None:
    g.team_state = (key, web.FormState(dict(typed), dict(errors or {}), message))


def translated(error: ApiError) -> dict:
    """An API error's field errors in the page's language."""
    return i18n.field_errors(error)


def api_errors(error: ApiError, fields: tuple = (), errors: dict | None = None) -> tuple[dict, str | None]:
    """(errors of the form's own fields, a message for the form or None) of an API error."""
    errors = translated(error) if errors is None else errors
    shown = {k: v for k, v in errors.items() if k in fields}
    rest = [m for k, v in errors.items() if k not in fields for m in v]
    if shown and not rest:
        return shown, None
    message = i18n.api_message(error)
    extra = [m for m in rest if m != message]
    return shown, " ".join([message] + extra) if extra else message


@bp.context_processor
def _helpers():
    return {"tlabel": tlabel, "tchoices": tchoices, "period_label": period_label, "team": team, "link": link,
            "state_for": state_for, "name_of": lambda staff_id: people().name(staff_id), "reason_of": reason_of,
            "is_manager": web.has_role(*MANAGERS)}


def _htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


def _done(message: str, anchor: str, endpoint: str = "team.approvals", **values):
    flash(message, "ok")
    return redirect(link(endpoint, **values) + f"#{anchor}", code=303)


# ================================================================================================
# 1. Approvals
# ================================================================================================
@dataclass
class Section:
    kind: str
    title: str
    items: list = field(default_factory=list)
    count: int = 0
    unavailable: bool = False
    hint: str = ""


def _praise_items() -> list[dict]:
    found = web.api("feedback", "GET", "/praise", params={
        "branch_id": team().branch_id, "status": "received", "page_size": LIST_SIZE})["items"]
    since = utcnow() - timedelta(days=PRAISE_REVIEW_DAYS)
    return [p for p in found if (_moment(p["received_at"]) or since) >= since]


def _desks() -> dict:
    if "team_desks" not in g:
        found = web.api("directory", "GET", "/service-points", params={"branch_id": team().branch_id,
                                                                       "page_size": 500})["items"]
        g.team_desks = {d["id"]: i18n.pick(d["name_zh"], d["name_en"]) for d in found}
    return g.team_desks


def _praise_view(item: dict) -> dict:
    desk = _desks().get(item.get("service_point_id")) if item.get("service_point_id") else None
    return {**item, "who": people().name(item["staff_id"]) if item.get("staff_id") else "", "desk": desk}


def _external_items() -> list[dict]:
    return web.api("training", "GET", "/external-activities", params={
        "branch_id": team().branch_id, "status": "submitted", "page_size": LIST_SIZE})["items"]


def _fund(period: str) -> dict | None:
    cache = g.setdefault("team_funds", {})
    if period not in cache:
        found = web.api("incentive", "GET", "/funds", params={"branch_id": team().branch_id, "period": period})["items"]
        cache[period] = found[0] if found else None
    return cache[period]


def _award_view(item: dict) -> dict:
    return {**item, "fund": _fund(item["period"])}


def _award_items() -> list[dict]:
    return web.api("incentive", "GET", "/awards", params={
        "branch_id": team().branch_id, "status": "pending", "page_size": LIST_SIZE})["items"]


def _sanction_items() -> list[dict]:
    return web.api("incentive", "GET", "/appeals", params={
        "branch_id": team().branch_id, "status": "open", "page_size": LIST_SIZE})["items"]


def _cycle(cycle_id: str) -> dict | None:
    cache = g.setdefault("team_cycles", {})
    if cycle_id not in cache:
        cache[cycle_id] = web.api_or_none("evaluation", "GET", f"/cycles/{cycle_id}")
    return cache[cycle_id]


def _score_view(item: dict) -> dict:
    result = web.api_or_none("evaluation", "GET", f"/evaluations/{item['evaluation_id']}") or {}
    cycle = _cycle(item["cycle_id"]) or {}
    return {**item, "result": result, "period": cycle.get("period") or result.get("period")}


def _score_items() -> list[dict]:
    return web.api("evaluation", "GET", "/appeals", params={
        "branch_id": team().branch_id, "status": "pending", "page_size": LIST_SIZE})["items"]


#: kind → (title, service, who may decide, list, view of one item, the text under the heading)
SECTIONS = {
    "praise": (_l("Praise to review"), "feedback", LEADS, _praise_items, _praise_view,
               _l("Praise of your branch received in the last 30 days. It counts for the person at once; "
                  "reject any that is spam, abusive or a duplicate.")),
    "external": (_l("External activities to approve"), "training", LEADS, _external_items, lambda x: x,
                 _l("Seminars, forums, conferences and teaching your staff reported. Approved hours count "
                    "as continuing education.")),
    "award": (_l("Awards waiting for approval"), "incentive", MANAGERS, _award_items, _award_view,
              _l("Approved awards are paid from the branch's service-quality fund for their period, which "
                 "never goes below zero.")),
    "sanction": (_l("Sanction appeals"), "incentive", MANAGERS, _sanction_items, lambda x: x,
                 _l("Staff who appealed a sanction. Overturning it revokes the sanction.")),
    "score": (_l("Score appeals"), "evaluation", MANAGERS, _score_items, _score_view,
              _l("Staff who appealed their evaluation result.")),
}


def _section(kind: str) -> Section:
    title, service, roles, items, view, hint = SECTIONS[kind]
    section = Section(kind, str(title), hint=str(hint))
    try:
        section.items = [view(x) for x in items()]
    except ServiceUnavailable:
        section.unavailable = True
    section.count = len(section.items)
    return section


def _count(kind: str) -> int | None:
    try:
        return len(SECTIONS[kind][3]())
    except ServiceUnavailable:
        return None


def _approvals_page(status: int = 200):
    t = team()
    sections = [] if t.branch_id is None else [
        _section(kind) for kind, spec in SECTIONS.items() if web.has_role(*spec[2])]
    return render_template("team/approvals.html", sections=sections), status


@bp.get("/approvals")
@web.signed_in(*LEADS)
def approvals():
    return _approvals_page()


def _decided(kind: str, item: dict, message: str, key: str):
    """After a decision: the item's new state in place (htmx, with the section's new count), or
    back to the page."""
    if _htmx():
        view = SECTIONS[kind][4]
        return render_template(f"team/fragments/{kind}.html", item=view(item), oob_count=_count(kind),
                               kind=kind, just_decided=message)
    return _done(message, key)


def _refused(kind: str, key: str, typed: dict, error: ApiError, fields: tuple, fetch):
    """An API refusal shown next to the form that was sent, keeping what was typed."""
    if error.status == 404:
        abort(404)  # gone, or of another branch
    errors, message = api_errors(error, fields)
    keep(key, typed, errors, message)
    return _invalid(kind, key, fetch, error.status)


def _invalid(kind: str, key: str, fetch, status: int):
    """The form again with what was typed and the errors (htmx: that item only)."""
    kept = state_for(key)
    if _htmx():
        item = fetch()
        if item is None:  # decided meanwhile (by someone else, or in another tab)
            return render_template("team/fragments/gone.html", key=key, message=kept.message if kept else None), status
        return render_template(f"team/fragments/{kind}.html", item=SECTIONS[kind][4](item), kind=kind), status
    if status == 409 and kept and kept.message and fetch() is None:
        flash(kept.message, "error")  # decided meanwhile: it is no longer on the page
    return _approvals_page(status)


def _typed(*names: str) -> dict:
    return {n: (request.form.get(n) or "").strip() for n in names}


def _one(kind: str, item_id: str):
    """The pending item of a section again (to re-render its form)."""
    return lambda: next((x for x in SECTIONS[kind][3]() if x["id"] == item_id), None)


def _required(typed: dict, name: str, message: str, errors: dict) -> None:
    if not typed.get(name):
        errors[name] = [message]


def _guard(kind: str) -> None:
    if not web.has_role(*SECTIONS[kind][2]) or team().branch_id is None:
        abort(404)


def _at_most(typed: dict, name: str, n: int, errors: dict) -> None:
    if len(typed[name]) > n:
        errors[name] = [_("At most %(n)s characters.", n=n)]


def _submit(kind: str, item_id: str, typed: dict, errors: dict, fields: tuple, call):
    """Send a decision unless the page's own checks refused it: ``(item, None)``, or ``(None, the
    page to answer with)`` showing the errors (the page's or the API's) next to the form."""
    key = f"{kind}-{item_id}"
    if errors:
        keep(key, typed, errors)
        return None, _invalid(kind, key, _one(kind, item_id), 422)
    try:
        return call(), None
    except ApiError as error:
        return None, _refused(kind, key, typed, error, fields, _one(kind, item_id))


@bp.post("/approvals/praise/<praise_id>")
@web.signed_in(*LEADS)
def decide_praise(praise_id: str):
    _guard("praise")
    key, typed = f"praise-{praise_id}", _typed("reason", "note")
    errors = {}
    if typed["reason"] not in dict(tchoices("praise_reject_reason")):
        errors["reason"] = [_("Choose why you reject this praise.")]
    _at_most(typed, "note", 2000, errors)
    item, refused = _submit("praise", praise_id, typed, errors, ("reason", "note"),
                            lambda: web.api("feedback", "POST", f"/praise/{praise_id}/reject",
                                            json={"reason": typed["reason"], "note": typed["note"] or None}))
    if refused is not None:
        return refused
    return _decided("praise", item, _("The praise was rejected: it no longer counts."), key)


@bp.post("/approvals/external/<activity_id>")
@web.signed_in(*LEADS)
def decide_external(activity_id: str):
    _guard("external")
    key, typed = f"external-{activity_id}", _typed("decision", "note")
    errors = {}
    if typed["decision"] not in ("approve", "reject"):
        errors["decision"] = [_("Choose approve or reject.")]
    if typed["decision"] == "reject":
        _required(typed, "note", _("Say why you reject it: the staff member reads this."), errors)
    _at_most(typed, "note", 500, errors)
    item, refused = _submit("external", activity_id, typed, errors, ("note",),
                            lambda: web.api("training", "POST",
                                            f"/external-activities/{activity_id}/{typed['decision']}",
                                            json={"note": typed["note"] or None}))
    if refused is not None:
        return refused
    message = (_("Approved: the hours are credited.") if typed["decision"] == "approve"
               else _("Rejected: the staff member sees your reason."))
    return _decided("external", item, message, key)


@bp.post("/approvals/awards/<award_id>")
@web.signed_in(*LEADS)
def decide_award(award_id: str):
    _guard("award")
    key, typed = f"award-{award_id}", _typed("decision", "note")
    errors = {}
    if typed["decision"] not in ("approve", "reject"):
        errors["decision"] = [_("Choose approve or reject.")]
    _at_most(typed, "note", 2000, errors)
    item, refused = _submit("award", award_id, typed, errors, ("note",),
                            lambda: web.api("incentive", "POST", f"/awards/{award_id}/{typed['decision']}",
                                            json={"note": typed["note"] or None}))
    if refused is not None:
        return refused
    g.pop("team_funds", None)  # the fund has changed
    message = (_("Award approved: paid from the fund.") if typed["decision"] == "approve"
               else _("Award rejected: its reservation went back to the fund."))
    return _decided("award", item, message, key)


@bp.post("/approvals/sanction-appeals/<sanction_id>")
@web.signed_in(*LEADS)
def decide_sanction_appeal(sanction_id: str):
    _guard("sanction")
    key, typed = f"sanction-{sanction_id}", _typed("decision", "note")
    errors = {}
    if typed["decision"] not in ("upheld", "overturned"):
        errors["decision"] = [_("Choose whether the sanction stands.")]
    _required(typed, "note", _("Write the grounds of your decision."), errors)
    _at_most(typed, "note", 2000, errors)
    item, refused = _submit("sanction", sanction_id, typed, errors, ("decision", "note"),
                            lambda: web.api("incentive", "POST", f"/sanctions/{sanction_id}/appeal/decision",
                                            json={"decision": typed["decision"], "note": typed["note"]}))
    if refused is not None:
        return refused
    message = (_("The sanction is overturned and revoked.") if typed["decision"] == "overturned"
               else _("The sanction is upheld."))
    return _decided("sanction", item, message, key)


@bp.post("/approvals/score-appeals/<appeal_id>")
@web.signed_in(*LEADS)
def decide_score_appeal(appeal_id: str):
    _guard("score")
    key, typed = f"score-{appeal_id}", _typed("decision", "reason", "score")
    errors, score = {}, None
    if typed["decision"] not in ("uphold", "revise"):
        errors["decision"] = [_("Choose whether the result stands.")]
    _required(typed, "reason", _("Write the grounds of your decision."), errors)
    if typed["decision"] == "revise":
        try:
            score = float(typed["score"].replace(",", "."))
            if not 0 <= score <= 100:
                raise ValueError
        except ValueError:
            errors["score"] = [_("Enter the new score, from 0 to 100.")]
    body = {"decision": typed["decision"], "reason": typed["reason"]}
    if score is not None:
        body["score"] = score
    item, refused = _submit("score", appeal_id, typed, errors, ("decision", "reason", "score"),
                            lambda: web.api("evaluation", "POST", f"/appeals/{appeal_id}/decision", json=body))
    if refused is not None:
        return refused
    message = _("The score is revised.") if typed["decision"] == "revise" else _("The result is upheld.")
    return _decided("score", item, message, key)


# ================================================================================================
# 2. Evaluations
# ================================================================================================
def _rubric(rubric_id: str) -> dict:
    cache = g.setdefault("team_rubrics", {})
    if rubric_id not in cache:
        cache[rubric_id] = web.api("evaluation", "GET", f"/rubrics/{rubric_id}")
    return cache[rubric_id]


def _progress(cycle_id: str) -> dict:
    """How many ratings of each kind are in for the branch's participants."""
    found = web.api("evaluation", "GET", f"/cycles/{cycle_id}/participants",
                    params={"branch_id": team().branch_id, "page_size": 500})["items"]
    kinds = {}
    for kind in ("self", "peer", "supervisor"):
        counts = [(p.get("ratings_received") or {}).get(kind, 0) for p in found]
        kinds[kind] = {"ratings": sum(counts), "people": sum(1 for c in counts if c)}
    return {"participants": len(found), "kinds": kinds}


def _tasks(cycle: dict) -> list[dict]:
    """The supervisor ratings due from me in a cycle, by name, with what I gave before."""
    mine = {s["staff_id"]: s for s in web.api("evaluation", "GET", f"/cycles/{cycle['id']}/evaluations")
            if s["rater_type"] == "supervisor"}
    if web.current_user()["role"] == "network_admin":
        found = web.api("evaluation", "GET", f"/cycles/{cycle['id']}/participants",
                        params={"branch_id": team().branch_id, "page_size": 500})["items"]
        due = [{"staff_id": p["staff_id"], "name": p.get("name"), "submitted": p["staff_id"] in mine} for p in found]
    else:
        due = web.api("evaluation", "GET", f"/cycles/{cycle['id']}/assignments")["supervisor"]
    tasks = [{**d, "name": people().name(d["staff_id"]) or d.get("name"), "given": mine.get(d["staff_id"]),
              "cycle": cycle} for d in due]
    return sorted(tasks, key=lambda t: (t["submitted"], t["name"] or ""))


def _open_cycles() -> list[dict]:
    t = team()
    cycles = web.api("evaluation", "GET", "/cycles", params={"status": "open", "page_size": 50})["items"]
    out = []
    for cycle in cycles:
        if t.branch_id not in (cycle.get("branch_ids") or []):
            continue
        out.append({**cycle, "rubric": _rubric(cycle["rubric_id"]), "tasks": _tasks(cycle),
                    "progress": _progress(cycle["id"])})
    return out


def _published_cycles() -> list[dict]:
    t = team()
    cycles = web.api("evaluation", "GET", "/cycles", params={"status": "published", "page_size": 5})["items"]
    out = []
    for cycle in cycles:
        if t.branch_id not in (cycle.get("branch_ids") or []):
            continue
        results = None
        if web.has_role(*MANAGERS):
            results = web.api("evaluation", "GET", f"/cycles/{cycle['id']}/scores",
                              params={"branch_id": t.branch_id, "page_size": 500})["items"]
            results = [{**r, "name": people().name(r["staff_id"])} for r in results]
        out.append({**cycle, "results": results})
    return out


def _evaluations_page(status: int = 200):
    t = team()
    open_cycles = _open_cycles() if t.branch_id else []
    published = _published_cycles() if t.branch_id else []
    return render_template("team/evaluations.html", cycles=open_cycles, published=published), status


@bp.get("/evaluations")
@web.signed_in(*LEADS)
def evaluations():
    return _evaluations_page()


@bp.post("/evaluations/<cycle_id>/<staff_id>")
@web.signed_in(*LEADS)
def rate(cycle_id: str, staff_id: str):
    if team().branch_id is None:
        abort(404)
    cycle = web.api_or_none("evaluation", "GET", f"/cycles/{cycle_id}")
    if cycle is None or team().branch_id not in (cycle.get("branch_ids") or []):
        abort(404)
    rubric = _rubric(cycle["rubric_id"])
    codes = [d["code"] for d in rubric["dimensions"]]
    key = f"rate-{cycle_id}-{staff_id}"
    typed = {f"scores.{c}": (request.form.get(f"scores.{c}") or "").strip() for c in codes}
    typed["comment"] = (request.form.get("comment") or "").strip()
    errors, scores = {}, {}
    for code in codes:
        value = typed[f"scores.{code}"]
        if value not in ("1", "2", "3", "4", "5"):
            errors[f"scores.{code}"] = [_("Choose a rating from 1 to 5.")]
        else:
            scores[code] = int(value)
    if len(typed["comment"]) > 4000:
        errors["comment"] = [_("At most %(n)s characters.", n=4000)]

    def again(status):
        if _htmx():
            task = next((x for x in _tasks(cycle) if x["staff_id"] == staff_id), None)
            if task is None:
                abort(404)
            return render_template("team/fragments/rating.html", task=task, rubric=rubric), status
        return _evaluations_page(status)

    if errors:
        keep(key, typed, errors)
        return again(422)
    try:
        web.api("evaluation", "POST", f"/cycles/{cycle_id}/evaluations", json={
            "staff_id": staff_id, "rater_type": "supervisor", "scores": scores, "comment": typed["comment"] or None})
    except ApiError as error:
        if error.status == 404:
            abort(404)
        shown, message = api_errors(error, tuple(typed))
        keep(key, typed, shown, message)
        return again(error.status)
    name = people().name(staff_id)
    if _htmx():
        task = next((x for x in _tasks(cycle) if x["staff_id"] == staff_id), None)
        return render_template("team/fragments/rating.html", task=task, rubric=rubric,
                               just_decided=_("Your rating of %(name)s is saved.", name=name))
    return _done(_("Your rating of %(name)s is saved.", name=name), key, "team.evaluations")


# ================================================================================================
# 3. Training
# ================================================================================================
def _host(session: dict) -> str:
    if not session.get("branch_id"):
        return _("Network-wide")
    if session["branch_id"] == team().branch_id:
        return team().name
    return dict(team().branches).get(session["branch_id"]) or _("another branch")


def _sessions(**params) -> tuple[list, int]:
    found = web.api("training", "GET", "/sessions", params={"branch_id": team().branch_id, **params})
    return found["items"], found["total"]


def _past_sessions(today: date, size: int = 20) -> list[dict]:
    """The latest sessions before today, latest first (the API lists earliest first)."""
    _, total = _sessions(to_date=today.isoformat(), page_size=1)
    if not total:
        return []
    last = math.ceil(total / size)
    items = []
    for page in range(max(1, last - 1), last + 1):
        items += _sessions(to_date=today.isoformat(), page_size=size, page=page)[0]
    return list(reversed(items))[:size]


def _training_page(status: int = 200):
    t = team()
    today = local_today()
    upcoming, past, courses = [], [], []
    if t.branch_id:
        upcoming = _sessions(from_date=today.isoformat(), page_size=50)[0]
        past = _past_sessions(today)
        if web.has_role(*ASSIGNERS):
            courses = web.api("training", "GET", "/courses", params={"active": "true", "page_size": 500})["items"]
            courses = sorted(((c["id"], i18n.pick(c["title_zh"], c["title_en"])) for c in courses),
                             key=lambda c: c[1])
    may_assign = web.has_role(*ASSIGNERS) and bool(t.branch_id)
    return render_template("team/training.html", upcoming=upcoming, past=past, courses=courses,
                           may_assign=may_assign, host=_host, people_list=people().choosable() if may_assign else [],
                           default_due=(today + timedelta(days=30)).isoformat(), today=today.isoformat()), status


@bp.get("/training")
@web.signed_in(*LEADS)
def training():
    return _training_page()


@bp.post("/training/assign")
@web.signed_in(*LEADS)
def assign():
    if team().branch_id is None:
        abort(404)
    key = "assign"
    typed = _typed("course_id", "due_on", "reason")
    chosen = request.form.getlist("staff_ids")
    typed["staff_ids"] = chosen
    branch = {m["id"] for m in people().choosable()}
    errors = {}
    _required(typed, "course_id", _("Choose a course."), errors)
    if not chosen:
        errors["staff_ids"] = [_("Choose at least one person.")]
    elif any(c not in branch for c in chosen):
        errors["staff_ids"] = [_("Choose people of your branch.")]
    try:
        due = date.fromisoformat(typed["due_on"])
        if due < local_today():
            errors["due_on"] = [_("The due date cannot be in the past.")]
    except ValueError:
        errors["due_on"] = [_("Enter the due date.")]
    _required(typed, "reason", _("Say why the course is required: the staff member reads this."), errors)
    if len(typed["reason"]) > 400:
        errors["reason"] = [_("At most %(n)s characters.", n=400)]
    if errors:
        keep(key, typed, errors)
        return _training_page(422)
    try:
        answer = web.api("training", "POST", f"/courses/{typed['course_id']}/assignments", json={
            "staff_ids": chosen, "due_on": typed["due_on"], "reason": typed["reason"],
            "reason_zh": typed["reason"] if i18n.is_chinese() else None})
    except ApiError as error:
        found = {("staff_ids" if k.startswith("staff_ids") else k): v for k, v in translated(error).items()}
        shown, message = api_errors(error, ("course_id", "due_on", "reason", "staff_ids"), found)
        keep(key, typed, shown, message)
        return _training_page(error.status)
    assigned = answer.get("assigned", 0)
    if assigned < len(chosen):
        message = _("The course is now required of %(n)s of the %(m)s people chosen; the others already have it "
                    "open.", n=assigned, m=len(chosen))
    else:
        message = _("The course is now required of %(n)s people.", n=assigned)
    return _done(message, "assign", "team.training")


def _session_or_404(session_id: str) -> dict:
    found = web.api_or_none("training", "GET", f"/sessions/{session_id}")
    if found is None:
        abort(404)
    user = web.current_user()
    # another branch's session is not this team's (network-wide ones are everybody's)
    if user["role"] != "network_admin" and found.get("branch_id") not in (None, user.get("branch_id")):
        abort(404)
    return found


def _session_page(session_id: str, status: int = 200):
    session = _session_or_404(session_id)
    enrolments = web.api("training", "GET", f"/sessions/{session_id}/enrolments", params={"page_size": 500})["items"]
    enrolments = [{**e, "name": people().name(e["staff_id"])} for e in enrolments]
    course = web.api_or_none("training", "GET", f"/courses/{session['course_id']}") or {}
    started = (_moment(session["starts_at"]) or utcnow()) <= utcnow()
    seated = sorted((e for e in enrolments if e["status"] not in ("waitlisted", "cancelled")), key=lambda e: e["name"])
    waiting = sorted((e for e in enrolments if e["status"] == "waitlisted"), key=lambda e: e.get("waitlist_position") or 0)
    cancelled = [e for e in enrolments if e["status"] == "cancelled"]
    to_record = [e for e in seated if e["status"] == "enrolled"]
    holding = {e["staff_id"] for e in enrolments if e["status"] != "cancelled"}
    may_enrol = session["status"] == "scheduled" and not started and bool(team().branch_id)
    candidates = [(m["id"], m["name"]) for m in people().choosable()
                  if m["id"] not in holding and m.get("status") == "active"] if may_enrol else []
    return render_template("team/session.html", session=session, course=course, seated=seated, waiting=waiting,
                           cancelled=cancelled, to_record=to_record, started=started, host=_host(session),
                           is_network=web.current_user()["role"] == "network_admin", may_enrol=may_enrol,
                           candidates=candidates), status


@bp.get("/training/sessions/<session_id>")
@web.signed_in(*LEADS)
def session_page(session_id: str):
    return _session_page(session_id)


@bp.post("/training/sessions/<session_id>/attendance")
@web.signed_in(*LEADS)
def attendance(session_id: str):
    session = _session_or_404(session_id)
    course = web.api_or_none("training", "GET", f"/courses/{session['course_id']}") or {}
    staff = [s for s in request.form.getlist("staff") if s]
    key = "attendance"
    typed, errors, records = {}, {}, []
    for staff_id in staff:
        attended = request.form.get(f"attended.{staff_id}") == "1"
        score_text = (request.form.get(f"score.{staff_id}") or "").strip()
        typed[f"attended.{staff_id}"] = "1" if attended else ""
        typed[f"score.{staff_id}"] = score_text
        score = None
        if score_text:
            try:
                score = float(score_text.replace(",", "."))
                if not 0 <= score <= 100:
                    raise ValueError
            except ValueError:
                errors[f"score.{staff_id}"] = [_("Enter a score from 0 to 100.")]
        elif attended and course.get("pass_mark") is not None:
            errors[f"score.{staff_id}"] = [_("This course has a pass mark: enter the assessment score.")]
        records.append({"staff_id": staff_id, "attended": attended, "score": score})
    if not records:
        keep(key, typed, {}, _("There is nobody to record."))
        return _session_page(session_id, 422)
    if errors:
        keep(key, typed, errors)
        return _session_page(session_id, 422)
    try:
        web.api("training", "POST", f"/sessions/{session_id}/attendance", json={"records": records})
    except ApiError as error:
        if error.status == 404:
            abort(404)
        mapped = {}
        for name, messages in translated(error).items():  # records.N.score → score.<staff id of row N>
            found = re.fullmatch(r"records\.(\d+)\.(\w+)", name)
            if found and int(found.group(1)) < len(staff):
                name = f"{'score' if found.group(2) == 'score' else 'attended'}.{staff[int(found.group(1))]}"
            mapped[name] = messages
        shown, message = api_errors(error, tuple(typed), mapped)
        keep(key, typed, shown, message)
        return _session_page(session_id, error.status)
    return _done(_("Attendance is recorded for %(n)s people.", n=len(records)), "enrolments", "team.session_page",
                 session_id=session_id)


@bp.post("/training/sessions/<session_id>/enrolments")
@web.signed_in(*LEADS)
def enrol(session_id: str):
    """Enrol someone of the branch (a full session puts them on the waiting list)."""
    _session_or_404(session_id)
    key, typed = "enrol", _typed("staff_id")
    if typed["staff_id"] not in {m["id"] for m in people().choosable()}:
        keep(key, typed, {"staff_id": [_("Choose someone of your branch.")]})
        return _session_page(session_id, 422)
    try:
        found = web.api("training", "POST", f"/sessions/{session_id}/enrolments", json={"staff_id": typed["staff_id"]})
    except ApiError as error:
        if error.status == 404:
            abort(404)
        shown, message = api_errors(error, ("staff_id",))
        keep(key, typed, shown, message)
        return _session_page(session_id, error.status)
    name = people().name(typed["staff_id"])
    message = (_("%(name)s is on the waiting list.", name=name) if found.get("status") == "waitlisted"
               else _("%(name)s is enrolled.", name=name))
    return _done(message, "enrolments", "team.session_page", session_id=session_id)
