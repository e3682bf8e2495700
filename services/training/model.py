"""Training domain rules: plain Python, no Flask, Kafka or SQL.

Courses and sessions, the waiting list, attendance outcomes, credit factors and caps for external
activities, continuing-education requirements and the dates they fall due or overdue.
"""
from __future__ import annotations

import calendar
import math
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

from shared.errors import Conflict, Invalid
from shared.events.requirement import REQUIREMENT_KINDS
from shared.events.staff import PROFESSIONAL_TITLE_LABELS, PROFESSIONAL_TITLES
from shared.events.training import COMPETENCY_AREAS

DELIVERY_MODES = ("in_person", "online")
EXTERNAL_KINDS = ("seminar", "academic_forum", "conference", "networking", "teaching")
EXTERNAL_STATUSES = ("submitted", "approved", "rejected")
#: enrolled/waitlisted hold or wait for a seat; the others are settled.
ENROLMENT_STATUSES = ("enrolled", "waitlisted", "cancelled", "completed", "failed", "absent")
ACTIVE_ENROLMENT = ("enrolled", "waitlisted")
REQUIREMENT_STATUSES = ("open", "completed", "cancelled", "waived")
#: ``recurrent`` is the renewal of a mandatory course before its certificate expires; ``assigned`` a
#: course someone required of chosen staff, a branch or everyone (ad hoc).
COURSE_REQUIREMENT_KINDS = ("onboarding", "regulation", "recurrent", "remedial", "assigned")
HOURS_REQUIREMENT_KINDS = ("annual_hours", "area_hours")
STAFF_ROLES = ("staff", "supervisor", "branch_manager", "network_admin", "auditor")
#: Evaluation rubric dimensions a remedial course can answer (``dimension_scores`` keys).
REMEDIAL_DIMENSIONS = ("service_attitude", "professional_competence")
MAX_HOURS_PER_DAY = 24
MAX_COURSE_HOURS = 500
assert set(REQUIREMENT_KINDS) == set(COURSE_REQUIREMENT_KINDS + HOURS_REQUIREMENT_KINDS)

# -- Chinese labels ------------------------------------------------------------------------------
#: The Chinese label of every enumeration training sends or writes: the ``*_zh`` fields of its
#: responses, its CSV export and every Chinese message take them from here (the portal's words).
LABELS_ZH: dict[str, dict[str, str]] = {
    "requirement_kind": {"onboarding": "入职培训", "regulation": "管理办法课程", "recurrent": "复训",
                         "remedial": "补训", "assigned": "指派培训", "annual_hours": "年度学时",
                         "area_hours": "能力领域学时"},
    "requirement_status": {"open": "未完成", "completed": "已完成", "cancelled": "已取消", "waived": "已豁免"},
    "enrolment_status": {"enrolled": "已报名", "waitlisted": "候补中", "cancelled": "已取消", "completed": "已完成",
                         "failed": "未通过", "absent": "缺席"},
    "external_kind": {"seminar": "研讨会", "academic_forum": "学术论坛", "conference": "学术会议",
                      "networking": "交流活动", "teaching": "授课"},
    "external_status": {"submitted": "待审批", "approved": "已批准", "rejected": "已驳回"},
    "competency_area": {"information_retrieval": "信息检索", "reader_service": "读者服务",
                        "cultural_exchange": "文化交流", "regulations_policy": "法规政策",
                        "emergency_handling": "应急处置", "communication_complaints": "沟通与投诉处理",
                        "digital_services": "数字服务"},
    "role": {"staff": "馆员", "supervisor": "主管", "branch_manager": "分馆馆长", "network_admin": "总馆管理员",
             "auditor": "审计员"},
    "title": {code: words[1] for code, words in PROFESSIONAL_TITLE_LABELS.items()},
    "delivery": {"in_person": "线下", "online": "线上"},
    "dimension": {"service_attitude": "服务态度", "professional_competence": "专业能力"},
}


def label_zh(kind: str, code: str | None) -> str | None:
    """The Chinese label of ``code`` in the enumeration ``kind`` (None for None)."""
    if code is None:
        return None
    return LABELS_ZH[kind].get(code, code)


# -- policy --------------------------------------------------------------------------------------
@dataclass
class Policy:
    """The network's continuing-education policy; every figure is a default network_admin can change.

    ``annual_hours`` and ``area_minima`` are per staff role with a ``default`` entry for roles not
    listed; ``title_annual_hours`` and ``title_area_minima`` per professional title (职称), for the
    titles listed only. Someone owes whichever asks more of their role's and their title's figure
    (per area for the minima): meeting the larger meets both rules. Credit factors multiply the
    hours of an approved external activity.
    """

    annual_hours: dict = field(default_factory=lambda: {"default": 40.0})
    area_minima: dict = field(default_factory=lambda: {"default": {}})
    title_annual_hours: dict = field(default_factory=dict)
    title_area_minima: dict = field(default_factory=dict)
    credit_factors: dict = field(default_factory=lambda: {
        "seminar": 1.0, "academic_forum": 1.0, "conference": 1.0, "networking": 0.5, "teaching": 1.0})
    teaching_cap_hours: float = 12.0
    remedial_threshold: float = 3.0
    remedial_due_days: int = 60
    onboarding_due_days: int = 30
    regulation_due_days: int = 30
    due_soon_days: int = 7

    def annual_hours_for(self, role: str | None, title: str | None = None) -> float:
        """Hours a year required of ``role`` (the default entry when the role has none), or of the
        professional ``title`` when the policy asks more of that title."""
        by_role = float(self.annual_hours.get(role or "default", self.annual_hours.get("default", 0.0)))
        by_title = self.title_annual_hours.get(title) if title else None
        return by_role if by_title is None else max(by_role, float(by_title))

    def area_minima_for(self, role: str | None, title: str | None = None) -> dict:
        """Minimum hours per competency area required each year of ``role`` and ``title``: for each
        area the larger of the two."""
        minima = dict(self.area_minima.get(role or "default", self.area_minima.get("default", {})))
        for area, hours in (self.title_area_minima.get(title, {}) if title else {}).items():
            minima[area] = max(float(hours), float(minima.get(area, 0.0)))
        return minima

    def factor(self, kind: str) -> float:
        return float(self.credit_factors.get(kind, 1.0))

    def to_dict(self) -> dict:
        return {"annual_hours": self.annual_hours, "area_minima": self.area_minima,
                "title_annual_hours": self.title_annual_hours, "title_area_minima": self.title_area_minima,
                "credit_factors": self.credit_factors, "teaching_cap_hours": self.teaching_cap_hours,
                "remedial_threshold": self.remedial_threshold, "remedial_due_days": self.remedial_due_days,
                "onboarding_due_days": self.onboarding_due_days,
                "regulation_due_days": self.regulation_due_days, "due_soon_days": self.due_soon_days}

    @classmethod
    def from_dict(cls, data: dict) -> "Policy":
        known = {k: v for k, v in data.items() if k in cls().to_dict()}
        policy = cls(**known)
        check_policy(policy)
        return policy


_DAYS_ZH = {"remedial_due_days": "补训期限天数", "onboarding_due_days": "入职培训期限天数",
            "regulation_due_days": "管理办法课程期限天数"}


def _check_key(key: str, known, what: str, name: str) -> None:
    """A policy entry names a known role (or ``default``) or a known professional title."""
    if key not in known:
        words = ("role", "角色") if what == "role" else ("professional title", "职称")
        raise Invalid(f"unknown {words[0]} {key}", f"未知{words[1]}“{key}”", field=name)


def check_policy(policy: Policy) -> None:
    """A policy must be complete and sane: a default entry, known roles, areas and kinds."""
    if "default" not in policy.annual_hours:
        raise Invalid("annual_hours needs a 'default' entry", "annual_hours 必须包含 default 项",
                      field="annual_hours")
    for name, keys, what in (("annual_hours", STAFF_ROLES + ("default",), "role"),
                             ("title_annual_hours", PROFESSIONAL_TITLES, "title")):
        for key, hours in getattr(policy, name).items():
            _check_key(key, keys, what, name)
            if not 0 <= float(hours) <= 1000:
                raise Invalid("annual hours must be between 0 and 1000", "年度学时须在 0 到 1000 之间",
                              field=name)
    for name, keys, what in (("area_minima", STAFF_ROLES + ("default",), "role"),
                             ("title_area_minima", PROFESSIONAL_TITLES, "title")):
        for key, minima in getattr(policy, name).items():
            _check_key(key, keys, what, name)
            for area, hours in minima.items():
                if area not in COMPETENCY_AREAS:
                    raise Invalid(f"unknown competency area {area}", f"未知能力领域“{area}”",
                                  field=name)
                if not 0 < float(hours) <= 1000:
                    raise Invalid("area minimum hours must be above 0 and at most 1000",
                                  "领域最低学时须大于 0 且不超过 1000", field=name)
    for kind, factor in policy.credit_factors.items():
        if kind not in EXTERNAL_KINDS:
            raise Invalid(f"unknown activity kind {kind}", f"未知活动类型“{kind}”", field="credit_factors")
        if not 0 <= float(factor) <= 2:
            raise Invalid("credit factors must be between 0 and 2", "学分系数须在 0 到 2 之间",
                          field="credit_factors")
    if not 1 <= policy.remedial_threshold <= 5:
        raise Invalid("remedial threshold is on the 1-5 scale", "补训阈值须在 1 到 5 之间",
                      field="remedial_threshold")
    for name in ("remedial_due_days", "onboarding_due_days", "regulation_due_days"):
        if not 1 <= int(getattr(policy, name)) <= 365:
            raise Invalid(f"{name} must be 1-365 days", f"{_DAYS_ZH[name]}须为 1 到 365 天", field=name)
    if not 1 <= int(policy.due_soon_days) <= 60:
        raise Invalid("due_soon_days must be 1-60", "到期提醒天数须为 1 到 60", field="due_soon_days")
    if not 0 <= float(policy.teaching_cap_hours) <= 1000:
        raise Invalid("teaching cap must be 0-1000 hours", "授课学时上限须为 0 到 1000",
                      field="teaching_cap_hours")


# -- hours ---------------------------------------------------------------------------------------
def round_hours(hours: float) -> float:
    """Hours are kept to two decimals (quarter hours and the like are common)."""
    return round(float(hours) + 0.0, 2)


def check_hours(hours: float, days: int = 1, field: str = "hours") -> float:
    """Hours must be above 0 and at most 24 a day over ``days`` days; else 422 naming ``field``."""
    if hours is None or not math.isfinite(hours) or hours <= 0:
        raise Invalid("hours must be greater than 0", "学时必须大于 0", field=field)
    if hours > MAX_HOURS_PER_DAY * max(days, 1):
        raise Invalid(f"{hours} hours over {days} day(s) is more than 24 hours a day",
                      f"{days} 天内 {hours} 学时超过每天 24 小时", field=field)
    return round_hours(hours)


def check_course_hours(hours: float) -> float:
    """A course lasts more than 0 and at most ``MAX_COURSE_HOURS`` hours."""
    if hours is None or not math.isfinite(hours) or hours <= 0:
        raise Invalid("hours must be greater than 0", "学时必须大于 0", field="hours")
    if hours > MAX_COURSE_HOURS:
        raise Invalid(f"a course of more than {MAX_COURSE_HOURS} hours is not plausible",
                      f"课程学时不能超过 {MAX_COURSE_HOURS}", field="hours")
    return round_hours(hours)


def span_days(first: date, last: date | None) -> int:
    """Calendar days from ``first`` to ``last`` inclusive (1 when there is no ``last``)."""
    return 1 if last is None else (last - first).days + 1


def external_credit(kind: str, hours: float, policy: Policy, teaching_credited_this_year: float = 0.0) -> float:
    """Continuing-education hours credited for an approved external activity.

    hours × the kind's factor; teaching is capped at ``teaching_cap_hours`` of credit a year, so
    only what is left under the cap (after teaching already credited this year) counts.
    """
    credit = hours * policy.factor(kind)
    if kind == "teaching":
        left = max(0.0, policy.teaching_cap_hours - teaching_credited_this_year)
        credit = min(credit, left)
    return round_hours(max(credit, 0.0))


#: Someone who joins with fewer days than this left in the year owes no hours for it: the year's
#: requirement is due on 31 December, and a December joiner would start overdue or nearly so.
MIN_DAYS_TO_EARN_HOURS = 30


def prorated_annual_hours(annual: float, hire_date: date | None, year: int,
                          min_days: int = MIN_DAYS_TO_EARN_HOURS) -> float:
    """Hours required in ``year`` of someone hired on ``hire_date``.

    Full hours when hired before the year; for a hire during the year, the share of months left
    (the month of hiring counts), rounded up to the half hour; nothing for a hire after the year
    or with fewer than ``min_days`` days left in it (hired 2 December or later).
    """
    if hire_date is None or hire_date.year < year:
        return round_hours(annual)
    if hire_date.year > year or (date(year, 12, 31) - hire_date).days < min_days:
        return 0.0
    months = 12 - hire_date.month + 1
    return math.ceil(annual * months / 12 * 2) / 2


def hours_met(required: float, credited: float) -> bool:
    """Met when the credited hours reach the requirement (1/100 h tolerance for float sums)."""
    return credited + 0.005 >= required


# -- dates ---------------------------------------------------------------------------------------
def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the month's last day (31 Jan + 1 → 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def onboarding_due(hire_date: date, registered_on: date, days: int = 30, min_notice_days: int = 7) -> date:
    """Onboarding is due ``days`` after joining, with at least ``min_notice_days`` to do it when the
    registration came late in that window; staff registered after the window (existing staff entered
    into the system) get ``days`` from registration, so nobody starts overdue."""
    if registered_on <= hire_date + timedelta(days=days):
        return max(hire_date + timedelta(days=days), registered_on + timedelta(days=min_notice_days))
    return registered_on + timedelta(days=days)


def notice_for(due_on: date, today: date, due_soon_days: int = 7) -> str | None:
    """Which notice an open requirement calls for today: ``overdue`` (the deadline has passed),
    ``due_soon`` (within ``due_soon_days`` of it, deadline day included), or None."""
    if today > due_on:
        return "overdue"
    if (due_on - today).days <= due_soon_days:
        return "due_soon"
    return None


def notices_due(open_requirements, sent: set, today: date, due_soon_days: int = 7) -> list:
    """The notices a sweep on ``today`` must send: ``(requirement, notice)`` for each open requirement
    whose notice is due and was not sent before for its period. ``open_requirements`` have ``id``,
    ``due_on`` and ``period``; ``sent`` holds ``(id, notice, period)`` of notices already sent."""
    due = []
    for requirement in open_requirements:
        notice = notice_for(requirement.due_on, today, due_soon_days)
        if notice is not None and (requirement.id, notice, requirement.period) not in sent:
            due.append((requirement, notice))
    return due


def period_of(due_on: date) -> str:
    """The period a requirement counts in: the calendar year of its deadline.

    Notices (due soon, overdue) are sent once per requirement and period, and the compliance
    report of that year counts it. One assigned in an earlier year is also shown in the report of
    the year it was assigned (``compliance_note``), so it is never out of sight in December.
    """
    return str(due_on.year)


def compliance_note(report_year: int, due_year: int, assigned_earlier: int) -> tuple[str, str]:
    """What a line of the compliance report of ``report_year`` says about the year its requirements
    belong to: due in a later year (assigned this year: they count there), or, for the year's own
    line, how many were assigned in an earlier year. Empty when neither applies."""
    if due_year > report_year:
        return (f"assigned in {report_year}, due in {due_year}: counted in {due_year}'s compliance",
                f"{report_year} 年分配、{due_year} 年到期，计入 {due_year} 年度达标情况")
    if assigned_earlier:
        return (f"{assigned_earlier} of them assigned in an earlier year",
                f"其中 {assigned_earlier} 人的要求于以前年度分配")
    return ("", "")


# -- sessions and the waiting list ---------------------------------------------------------------
def seat_for(capacity: int, seats_taken: int) -> str:
    """A new enrolment gets a seat while one is free, else a place on the waiting list."""
    return "enrolled" if seats_taken < capacity else "waitlisted"


def promotions(capacity: int, seats_taken: int, waiting: list) -> list:
    """Who on the waiting list (first come, first served) moves up into the free seats."""
    free = max(0, capacity - seats_taken)
    return list(waiting[:free])


def check_session_times(starts_at, ends_at, now=None) -> None:
    """A session ends after it starts, lasts at most a year, and is planned at most two years ahead."""
    if now is not None and starts_at > now + timedelta(days=2 * 366):
        raise Invalid("a session is scheduled at most two years ahead", "培训场次最多提前两年安排",
                      field="starts_at")
    if ends_at <= starts_at:
        raise Invalid("a session must end after it starts", "培训场次结束时间必须晚于开始时间", field="ends_at")
    if (ends_at - starts_at).days > 366:
        raise Invalid("a session cannot last more than a year", "培训场次不能超过一年", field="ends_at")


def check_session_hours(course_hours: float, starts_at, ends_at) -> None:
    """The course's hours must fit in the session at 24 hours a day at most."""
    days = span_days(starts_at.date(), ends_at.date())
    if course_hours > MAX_HOURS_PER_DAY * days:
        raise Invalid(f"the course's {course_hours} hours do not fit in {days} day(s)",
                      f"课程 {course_hours} 学时无法在 {days} 天内完成", field="ends_at")


def check_delivery(delivery: str, place: str | None, link: str | None) -> None:
    """In-person sessions need a place, online ones a link."""
    if delivery == "in_person" and not place:
        raise Invalid("an in-person session needs a place", "线下培训需填写地点", field="place")
    if delivery == "online" and not link:
        raise Invalid("an online session needs a link", "线上培训需填写链接", field="link")


def attendance_outcome(attended: bool, score: float | None, pass_mark: float | None) -> str:
    """``completed`` (attended and passed), ``failed`` (attended, below the pass mark) or ``absent``.

    A course with a pass mark needs the assessment score of everyone who attended.
    """
    if score is not None and not 0 <= score <= 100:
        raise Invalid("score must be between 0 and 100", "考核成绩须在 0 到 100 之间", field="score")
    if not attended:
        return "absent"
    if pass_mark is None:
        return "completed"
    if score is None:
        raise Invalid("this course has a pass mark: the assessment score is required",
                      "该课程设有及格线，必须填写考核成绩", field="score")
    return "completed" if score >= pass_mark else "failed"


def check_attendance_allowed(status: str) -> None:
    """Attendance is recorded once, for someone holding a seat."""
    if status == "waitlisted":
        raise Conflict("this person is on the waiting list, not in the session",
                       "该员工在候补名单中，未获得名额", code="not_enrolled")
    if status == "cancelled":
        raise Conflict("this enrolment was cancelled", "该报名已取消", code="enrolment_cancelled")
    if status != "enrolled":
        raise Conflict("attendance was already recorded", "出勤已登记", code="attendance_recorded")


# -- certificates --------------------------------------------------------------------------------
#: No 0/O or 1/I/L: codes are read aloud and typed from paper.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


def certificate_code(rng=None) -> str:
    """A verification code like ``LSQ-7KQ2-M9XD-4HTP`` (31^12 ≈ 8·10^17 codes: not guessable)."""
    pick = (rng or secrets.SystemRandom()).choice
    groups = ["".join(pick(CODE_ALPHABET) for _ in range(4)) for _ in range(3)]
    return "LSQ-" + "-".join(groups)


def normalise_code(text: str) -> str:
    """Accept codes typed in lower case, with spaces, or without dashes."""
    raw = "".join(ch for ch in text.upper() if ch.isalnum())
    if raw.startswith("LSQ"):
        raw = raw[3:]
    return "LSQ-" + "-".join(raw[i:i + 4] for i in range(0, len(raw), 4)) if raw else ""


def certificate_status(expires_on: date | None, today: date) -> str:
    return "expired" if expires_on is not None and today > expires_on else "valid"


# -- remedial training ---------------------------------------------------------------------------
def low_dimensions(dimension_scores: dict, threshold: float, dimensions=REMEDIAL_DIMENSIONS) -> dict:
    """The remedial dimensions scored below ``threshold`` (a missing dimension is not low)."""
    return {d: float(dimension_scores[d]) for d in dimensions
            if dimension_scores.get(d) is not None and float(dimension_scores[d]) < threshold}


def remedial_reason(dimension: str, score: float, threshold: float) -> tuple[str, str]:
    """The reason written on a remedial requirement, English and Chinese."""
    names = {"service_attitude": ("service attitude", "服务态度"),
             "professional_competence": ("professional competence", "专业能力")}
    en, zh = names.get(dimension, (dimension, dimension))
    return (f"evaluation score on {en} {score:.2f} is below {threshold:.2f} of 5",
            f"{zh}评分 {score:.2f} 低于 {threshold:.2f}（满分 5 分）")


def compliance_share(met: int, total: int) -> float | None:
    """Share of staff meeting a requirement, 0-1 to three decimals (None when nobody has it)."""
    return None if total == 0 else round(met / total, 3)
