"""Feedback domain rules: complaint lifecycle and SLAs, praise, desk ratings, surveys, forums.

Plain Python: no Flask, Kafka or SQL. Raises the shared domain errors (409 for a transition the
lifecycle does not allow, 422 naming the field for inconsistent input).
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.feedback import sla
from shared.errors import Conflict, Forbidden, Invalid
from shared.events.complaint import CATEGORIES, CHANNELS, OUTCOMES, SEVERITIES  # noqa: F401 - re-exported

# -- complaints ----------------------------------------------------------------------------------
STATUSES = ("new", "acknowledged", "investigating", "waiting_on_reader", "resolved", "closed")
OPEN_STATUSES = ("new", "acknowledged", "investigating", "waiting_on_reader")
DONE_STATUSES = ("resolved", "closed")
DESCRIPTION_MAX = 4000
RESPONSE_MAX = 4000

#: action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "acknowledge": (("new",), "acknowledged"),
    "investigate": (("acknowledged", "waiting_on_reader"), "investigating"),
    "wait": (("investigating",), "waiting_on_reader"),
    "resolve": (("acknowledged", "investigating", "waiting_on_reader"), "resolved"),
    "close": (("resolved",), "closed"),
    "reopen": (("resolved", "closed"), "investigating"),
}
#: A reader may reopen a complaint this long after it was resolved.
REOPEN_WINDOW = timedelta(days=14)
#: How far back staff may date a complaint they record after the fact (received by phone, letter
#: or at the desk): the SLA clocks start when the library received it, not when it was typed in.
MAX_RECEIVED_AGO = timedelta(days=30)
#: An SLA target is "at risk" once this share of its time is used up.
AT_RISK_FRACTION = 0.8
#: Contact details are purged this many days after closure (LSQ_FEEDBACK_CONTACT_RETENTION_DAYS).
DEFAULT_CONTACT_RETENTION_DAYS = 90


#: How the error messages name statuses and actions (English, Chinese): people read them, so no codes.
STATUS_WORDS = {
    "new": ("new", "新投诉"), "acknowledged": ("acknowledged", "已受理"), "investigating": ("under investigation", "调查中"),
    "waiting_on_reader": ("waiting on the reader", "等待读者答复"), "resolved": ("resolved", "已处理"),
    "closed": ("closed", "已关闭"),
}
ACTION_WORDS = {
    "acknowledge": ("acknowledged", "受理"), "investigate": ("investigated", "调查"),
    "wait": ("put to wait on the reader", "转为等待读者答复"), "resolve": ("resolved", "办结"),
    "close": ("closed", "关闭"), "reopen": ("reopened", "重新开启"), "assign": ("assigned", "指派处理人"),
}


#: The Chinese label of every enumeration feedback sends or writes: the ``*_zh`` fields of its
#: responses and every Chinese message take them from here (the portal's words, so both agree).
LABELS_ZH: dict[str, dict[str, str]] = {
    "status": {code: words[1] for code, words in STATUS_WORDS.items()},
    "category": {"attitude": "服务态度", "waiting": "等候与效率", "competence": "专业能力",
                 "environment": "环境与设施", "policy": "规章制度", "other": "其他"},
    "severity": {"low": "低", "normal": "一般", "high": "高", "urgent": "紧急"},
    "channel": {"desk": "服务台现场", "phone": "电话", "web": "线上", "email": "电子邮件", "wechat": "微信",
                "forum": "读者论坛"},
    "outcome": {"substantiated": "属实", "partially_substantiated": "部分属实", "unsubstantiated": "不属实",
                "withdrawn": "已撤回"},
    "sla_target": {"acknowledge": "受理", "resolve": "解决"},
    "praise_status": {"received": "有效", "rejected": "已驳回"},
    "reject_reason": {"spam": "垃圾信息", "abuse": "辱骂或不当内容", "duplicate": "重复", "other": "其他原因"},
    "suggestion_status": {"raised": "已提出", "accepted": "已采纳", "in_progress": "落实中", "done": "已落实",
                          "declined": "未采纳"},
}


def label_zh(kind: str, code: str | None) -> str | None:
    """The Chinese label of ``code`` in the enumeration ``kind`` (None for None)."""
    if code is None:
        return None
    return LABELS_ZH[kind].get(code, code)


def _words(codes, language: int) -> str:
    words = [STATUS_WORDS.get(code, (code, code))[language] for code in codes]
    if language:
        return "、".join(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " or " + words[-1]


def next_status(status: str, action: str) -> str:
    """The status ``action`` leads to from ``status``, or 409 when the lifecycle forbids it."""
    allowed_from, target = TRANSITIONS[action]
    if status not in allowed_from:
        done_en, done_zh = ACTION_WORDS[action]
        raise Conflict(f"A complaint that is {_words([status], 0)} cannot be {done_en} "
                       f"(only one that is {_words(allowed_from, 0)}).",
                       f"投诉当前状态为“{_words([status], 1)}”，不能{done_zh}（仅限状态：{_words(allowed_from, 1)}）",
                       code="invalid_transition",
                       details={"status": status, "action": action, "allowed_from": list(allowed_from)})
    return target


def check_assign(status: str) -> None:
    """A handler can be (re)assigned while the complaint is open."""
    if status not in OPEN_STATUSES:
        raise Conflict(f"A complaint that is {_words([status], 0)} cannot be assigned (only an open one).",
                       f"投诉当前状态为“{_words([status], 1)}”，不能指派处理人（仅限未办结的投诉）",
                       code="invalid_transition", details={"status": status, "action": "assign"})


def check_reopen(status: str, resolved_at: datetime | None, now: datetime) -> None:
    """Reopening is for resolved or closed complaints, within 14 days of the resolution."""
    next_status(status, "reopen")
    if resolved_at is None or now - resolved_at > REOPEN_WINDOW:
        raise Conflict("the 14-day window to reopen this complaint has passed", "投诉解决已超过 14 天，不能重新开启",
                       code="reopen_window_passed")


def check_rating(status: str, already_rated: bool) -> None:
    """A reader rates a resolution once, after it is resolved."""
    if status not in DONE_STATUSES:
        raise Conflict("the complaint can be rated once it is resolved", "投诉解决后才能评价", code="not_resolved")
    if already_rated:
        raise Conflict("this resolution has already been rated", "该处理结果已评价过", code="already_rated")


def visibility(role: str | None, staff_id: str | None, branch_id: str | None, complaint: dict) -> str | None:
    """What a principal may see of a complaint: "full" (with contact details), "no_contact", or None.

    Supervisors and branch managers see their own branch; network_admin everything; auditors and
    services read without contact details; a staff member sees a complaint about them only once it
    is resolved, never the contact details.
    """
    if role == "network_admin":
        return "full"
    if role in ("supervisor", "branch_manager"):
        return "full" if branch_id is not None and complaint["branch_id"] == branch_id else None
    if role in ("auditor", "service"):
        return "no_contact"
    if role == "staff":
        if staff_id and complaint.get("staff_id") == staff_id and complaint["status"] in DONE_STATUSES:
            return "no_contact"
    return None


# -- tracking codes ------------------------------------------------------------------------------
_CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: codes are read out on the phone


def new_tracking_code() -> str:
    """A random code like ``K7QM-2XHD-9TFA`` (60 bits): the reader's key to their complaint."""
    # One read of the system's randomness, cut into twelve 5-bit letters (32-letter alphabet),
    # rather than twelve reads (secrets.choice) on the busiest reader endpoint.
    bits = secrets.randbits(60)
    raw = "".join(_CODE_ALPHABET[(bits >> (5 * i)) & 31] for i in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def normalise_code(code: str) -> str:
    """Codes are accepted in any case, with or without dashes and spaces."""
    return "".join(ch for ch in code.upper() if ch.isalnum())


def hash_secret(code: str) -> str:
    """Only the hash of a tracking code or invitation token is stored."""
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


# -- SLA policy ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class SlaTarget:
    """The targets of one severity."""

    acknowledge: timedelta
    resolve: timedelta
    business_hours: bool = False


DEFAULT_SLA: dict[str, SlaTarget] = {
    "urgent": SlaTarget(timedelta(hours=2), timedelta(hours=24)),
    "high": SlaTarget(timedelta(hours=8), timedelta(days=3)),
    "normal": SlaTarget(timedelta(hours=24), timedelta(days=7)),
    "low": SlaTarget(timedelta(hours=48), timedelta(days=14)),
}


def check_sla_targets(items: list[dict]) -> None:
    """Targets to set (network or branch): each severity once, acknowledgement no later than
    resolution; 422 naming the item's field otherwise."""
    seen = set()
    for index, item in enumerate(items):
        if item["severity"] in seen:
            raise Invalid(f"severity {item['severity']} is given twice",
                          f"严重程度“{label_zh('severity', item['severity'])}”重复", field=f"{index}.severity")
        seen.add(item["severity"])
        if item["acknowledge_hours"] > item["resolve_hours"]:
            raise Invalid("the acknowledgement target must not be later than the resolution target",
                          "受理时限不能长于解决时限", field=f"{index}.acknowledge_hours")


def effective_sla(network: dict[str, SlaTarget], branch: dict[str, SlaTarget]) -> dict[str, SlaTarget]:
    """A branch's targets: its own for the severities it set, the network's for the others.

    Whether a target counts the branch's opening hours is part of the target, so a branch may
    count business hours where the network counts round the clock, and the other way round.
    """
    return {**network, **{s: t for s, t in branch.items() if s in network}}


@dataclass(frozen=True)
class SlaTimes:
    """Due and at-risk times of both targets (None while the clock is stopped)."""

    acknowledge_due_at: datetime | None
    acknowledge_at_risk_at: datetime | None
    resolve_due_at: datetime | None
    resolve_at_risk_at: datetime | None


def sla_times(target: SlaTarget, filed_at: datetime, resolve_clock_start: datetime,
              hours: sla.OpeningHours | None, pauses: list = ()) -> SlaTimes:
    """When each target is due and at risk.

    The acknowledgement clock starts at filing; the resolution clock at filing (or at the last
    reopening) and stops while the complaint waits on the reader. With ``business_hours`` off,
    the branch's opening hours are ignored (24x7).
    """
    calendar = hours if target.business_hours else None
    resolve_pauses = [p for p in pauses if p[1] is None or p[1] > resolve_clock_start]
    return SlaTimes(
        acknowledge_due_at=sla.due_at(filed_at, target.acknowledge, calendar),
        acknowledge_at_risk_at=sla.due_at(filed_at, target.acknowledge * AT_RISK_FRACTION, calendar),
        resolve_due_at=sla.due_at(resolve_clock_start, target.resolve, calendar, resolve_pauses),
        resolve_at_risk_at=sla.due_at(resolve_clock_start, target.resolve * AT_RISK_FRACTION, calendar,
                                      resolve_pauses),
    )


@dataclass(frozen=True)
class SlaSignal:
    """Something the sweep must announce: an at-risk warning or a breach of one target."""

    target: str   # acknowledge | resolve
    kind: str     # at_risk | breached
    due_at: datetime


def sla_signals(complaint: dict, now: datetime) -> list[SlaSignal]:
    """The SLA events a complaint is owed at ``now`` and has not had yet (once per target and kind).

    The acknowledgement target runs while the complaint is new; the resolution target while it is
    open and not waiting on the reader (its due time is then None).
    """
    signals = []
    running = {"acknowledge": complaint["status"] == "new",
               "resolve": complaint["status"] in ("new", "acknowledged", "investigating")}
    for target in ("acknowledge", "resolve"):
        if not running[target]:
            continue
        due = complaint[f"{target}_due_at"]
        at_risk = complaint[f"{target}_at_risk_at"]
        if due is not None and now >= due and complaint[f"{target}_breached_at"] is None:
            signals.append(SlaSignal(target, "breached", due))
        elif (at_risk is not None and now >= at_risk and complaint[f"{target}_at_risk_sent_at"] is None
              and complaint[f"{target}_breached_at"] is None):
            signals.append(SlaSignal(target, "at_risk", due))
    return signals


def late_breach(complaint: dict, target: str, now: datetime) -> SlaSignal | None:
    """A breach the sweep missed (worker down) found when the target is met late: still announced.

    A target is breached from its due instant on, as the sweep counts it (``sla_signals``): met at
    that very instant, it is late whether or not the sweep happened to run first.
    """
    due = complaint[f"{target}_due_at"]
    if due is not None and now >= due and complaint[f"{target}_breached_at"] is None:
        return SlaSignal(target, "breached", due)
    return None


# -- praise and ratings --------------------------------------------------------------------------
PRAISE_REJECT_REASONS = ("spam", "abuse", "duplicate", "other")
MESSAGE_MAX = 2000
MAX_WAIT_MINUTES = 24 * 60


def check_praise_target(staff_id: str | None, service_point_id: str | None) -> None:
    """Praise names a staff member, a service point, or both."""
    if not staff_id and not service_point_id:
        raise Invalid("praise must name a staff member or a service point", "表扬需指明员工或服务点",
                      field="staff_id")


def check_praise_rejectable(status: str) -> None:
    if status == "rejected":
        raise Conflict("this praise has already been rejected", "该表扬已被驳回", code="already_rejected")


# -- surveys -------------------------------------------------------------------------------------
ITEM_TYPES = ("triad", "likert", "nps", "choice", "multi_choice", "text")
RATED_TYPES = ("triad", "likert", "nps")
DIMENSIONS = ("affect", "information_control", "place", "general")
TRIAD_RANGE = (1, 9)
LIKERT_RANGE = (1, 5)
NPS_RANGE = (0, 10)
TEXT_MAX = 2000
#: Groups with fewer answers than this are not reported (respondents must not be identifiable).
MIN_GROUP_SIZE = 5


def check_instrument(items: list[dict]) -> None:
    """An instrument: unique item codes, a dimension for every rated item, options for choices,
    at most one user-group item (a single choice)."""
    if not items:
        raise Invalid("an instrument needs at least one item", "问卷至少需要一个题目", field="items")
    seen = set()
    user_group_items = 0
    for index, item in enumerate(items):
        name = f"items.{index}"
        if item["code"] in seen:
            raise Invalid(f"item code {item['code']} is used twice", f"题目代码 {item['code']} 重复",
                          field=f"{name}.code")
        seen.add(item["code"])
        if item["type"] in RATED_TYPES and item.get("dimension") not in DIMENSIONS:
            raise Invalid(f"rated item {item['code']} needs a dimension ({', '.join(DIMENSIONS)})",
                          f"评分题 {item['code']} 需要指定维度", field=f"{name}.dimension")
        if item["type"] in ("choice", "multi_choice"):
            values = [o["value"] for o in item.get("options") or []]
            if len(values) < 2 or len(set(values)) != len(values):
                raise Invalid(f"choice item {item['code']} needs at least two distinct options",
                              f"选择题 {item['code']} 至少需要两个不同的选项", field=f"{name}.options")
        if item.get("user_group"):
            user_group_items += 1
            if item["type"] != "choice":
                raise Invalid("the user-group item must be a single choice", "读者类型题必须是单选题",
                              field=f"{name}.user_group")
    if user_group_items > 1:
        raise Invalid("at most one item gives the user group", "最多只能有一个读者类型题", field="items")


def _in_range(value, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def validate_answers(items: list[dict], answers: dict) -> list[dict]:
    """Check a response against its instrument; return one normalised row per answered item.

    Errors name the item (``answers.<code>``): an unknown item, a value out of range, a triad with
    minimum above desired, a missing required item. A triad may be ``{"na": true}``.
    """
    by_code = {item["code"]: item for item in items}
    for code in answers:
        if code not in by_code:
            raise Invalid(f"unknown item {code}", f"问卷中没有题目 {code}", field=f"answers.{code}")
    rows = []
    for item in items:
        code, kind = item["code"], item["type"]
        field_name = f"answers.{code}"
        value = answers.get(code)
        if value is None or value == "" or value == []:
            if item.get("required"):
                raise Invalid(f"item {code} is required", f"题目 {code} 为必答题", field=field_name)
            continue
        row = {"item_code": code, "item_type": kind, "dimension": item.get("dimension"), "minimum": None,
               "desired": None, "perceived": None, "na": False, "value": None, "choice": None, "text": None}
        if kind == "triad":
            if not isinstance(value, dict):
                raise Invalid(f"item {code} takes {{minimum, desired, perceived}} on 1-9 or {{na: true}}",
                              f"题目 {code} 需填写最低、期望、感知三项（1-9）或选择不适用", field=field_name)
            if value.get("na") is True:
                row["na"] = True
                rows.append(row)
                continue
            for part in ("minimum", "desired", "perceived"):
                if not _in_range(value.get(part), *TRIAD_RANGE):
                    raise Invalid(f"item {code}: {part} must be a whole number from 1 to 9",
                                  f"题目 {code}：{part} 须为 1 到 9 的整数", field=field_name)
                row[part] = value[part]
            if row["minimum"] > row["desired"]:
                raise Invalid(f"item {code}: the minimum is above the desired level",
                              f"题目 {code}：最低可接受水平高于期望水平", field=field_name)
        elif kind in ("likert", "nps"):
            low, high = LIKERT_RANGE if kind == "likert" else NPS_RANGE
            if not _in_range(value, low, high):
                raise Invalid(f"item {code} takes a whole number from {low} to {high}",
                              f"题目 {code} 须为 {low} 到 {high} 的整数", field=field_name)
            row["value"] = value
        elif kind == "choice":
            options = [o["value"] for o in item["options"]]
            if value not in options:
                raise Invalid(f"item {code}: {value!r} is not one of {', '.join(options)}",
                              f"题目 {code}：{value!r} 不是有效选项", field=field_name)
            row["choice"] = value
        elif kind == "multi_choice":
            options = [o["value"] for o in item["options"]]
            if (not isinstance(value, list) or not all(isinstance(v, str) for v in value)
                    or any(v not in options for v in value) or len(set(value)) != len(value)):
                raise Invalid(f"item {code} takes a list of distinct options out of {', '.join(options)}",
                              f"题目 {code} 须为不重复的有效选项列表", field=field_name)
            for choice in value:
                rows.append({**row, "choice": choice})
            continue
        else:  # text
            if not isinstance(value, str) or len(value) > TEXT_MAX:
                raise Invalid(f"item {code} takes text of at most {TEXT_MAX} characters",
                              f"题目 {code} 须为不超过 {TEXT_MAX} 字的文本", field=field_name)
            row["text"] = value.strip()
        rows.append(row)
    return rows


def user_group_of(items: list[dict], answers: dict) -> str | None:
    """The respondent's user group: the answer to the instrument's user-group item, if any."""
    for item in items:
        if item.get("user_group"):
            return answers.get(item["code"])
    return None


def gaps(minimum: float | None, desired: float | None, perceived: float | None) -> dict:
    """LibQUAL+ gap scores: adequacy = perceived − minimum, superiority = perceived − desired."""
    if perceived is None:
        return {"adequacy_gap": None, "superiority_gap": None}
    return {"adequacy_gap": None if minimum is None else perceived - minimum,
            "superiority_gap": None if desired is None else perceived - desired}


def nps(promoters: int, detractors: int, n: int) -> float | None:
    """Net promoter score: % of 9-10 answers minus % of 0-6 answers."""
    if n <= 0:
        return None
    return 100.0 * (promoters - detractors) / n


def survey_state(opens_at: datetime, closes_at: datetime, closed_at: datetime | None, now: datetime) -> str:
    """scheduled, open or closed."""
    if closed_at is not None or now >= closes_at:
        return "closed"
    return "open" if now >= opens_at else "scheduled"


def check_accepting(state: str) -> None:
    """Answers are taken only while the campaign is open."""
    if state != "open":
        raise Conflict(f"the survey is {state} and takes no answers", "问卷当前不接受作答",
                       code=f"survey_{state}")


# -- reader forums -------------------------------------------------------------------------------
SUGGESTION_STATUSES = ("raised", "accepted", "in_progress", "done", "declined")
SUGGESTION_TRANSITIONS = {
    "raised": ("accepted", "declined", "in_progress", "done"),
    "accepted": ("in_progress", "done", "declined"),
    "in_progress": ("done", "declined"),
    "done": (),
    "declined": (),
}


def check_suggestion_move(current: str, target: str) -> None:
    """Suggestions move forward to an outcome; done and declined are final."""
    if target == current:
        return
    if target not in SUGGESTION_TRANSITIONS[current]:
        raise Conflict(f"a suggestion that is {current} cannot become {target}",
                       f"建议当前状态为“{label_zh('suggestion_status', current)}”，"
                       f"不能改为“{label_zh('suggestion_status', target)}”", code="invalid_transition",
                       details={"status": current, "to": target})


def check_received_at(received_at: datetime | None, now: datetime, recorded_by_staff: bool) -> datetime:
    """When the SLA clocks of a new complaint start: ``received_at`` if staff give it, else now.

    Readers filing themselves cannot set it (403); it may not lie in the future or more than
    ``MAX_RECEIVED_AGO`` back (422 naming ``received_at``).
    """
    if received_at is None:
        return now
    if not recorded_by_staff:
        raise Forbidden("only staff recording a complaint received earlier may set received_at",
                        "只有代为登记投诉的工作人员可以填写受理时间 received_at")
    if received_at > now:
        raise Invalid("received_at lies in the future", "受理时间不能晚于当前时间", field="received_at")
    if now - received_at > MAX_RECEIVED_AGO:
        raise Invalid(f"received_at may be at most {MAX_RECEIVED_AGO.days} days back",
                      f"受理时间最多只能早于当前 {MAX_RECEIVED_AGO.days} 天", field="received_at")
    return received_at
