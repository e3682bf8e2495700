"""Incentive domain rules in plain Python: the policy language, the ladder, money and periods.

Nothing here does I/O. Every decision is a function of event data, event times and the policy
version in force at the cause event's time, never of the wall clock, so that replaying the topics
reproduces the same ledger.

Calendar rules follow the network's calendar (``calendar_zone()``: ``LSQ_INCENTIVE_TIMEZONE``, else
``LSQ_TIMEZONE``, default Asia/Shanghai), not UTC: the month of a points cap, the fund's month,
quarter or year, the lapse of a sanction, the appeal deadline and the start of a day-dated fact.
Times stay aware UTC everywhere else.
"""
from __future__ import annotations

import calendar
import copy
import functools
import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import NamedTuple
from zoneinfo import ZoneInfo

from marshmallow import validate as mm_validate
from marshmallow import fields as mm_fields

from shared.errors import Conflict, Invalid
from shared.ids import uuid_text
from shared.timeutil import UTC, as_utc, local_date, local_midnight, network_zone

LEVELS = ("notice", "verbal_warning", "written_warning", "improvement_plan", "referral")
#: The progressive ladder, lowest first (a notice is not a step).
LADDER = ("verbal_warning", "written_warning", "improvement_plan", "referral")
LADDER_ZH = {"notice": "提醒通知", "verbal_warning": "口头警告", "written_warning": "书面警告",
             "improvement_plan": "限期改进计划", "referral": "提交纪律委员会"}
LEVEL_EN = {"notice": "notice", "verbal_warning": "verbal warning", "written_warning": "written warning",
            "improvement_plan": "improvement plan", "referral": "referral to the disciplinary committee"}
SANCTION_LEVEL_CHOICES = ("next_step",) + LEVELS
FUND_PERIODS = ("month", "quarter", "year")
SHORTFALL_MODES = ("wait", "pro_rata")
CENT = Decimal("0.01")
#: Namespace of the deterministic ids of ledger entries (uuid5): a replay gives the same ids.
LEDGER_NAMESPACE = uuid.UUID("6f1c8a52-33a4-4d5e-9a47-1c2f0e8b7d10")

#: The event types a policy rule may name: each has a meaning in the incentive service.
RULE_EVENT_TYPES = (
    "lsq.evaluation.scored.v1",
    "lsq.praise.received.v1",
    "lsq.complaint.resolved.v1",
    "lsq.complaint.sla_breached.v1",
    "lsq.requirement.overdue.v1",
    "lsq.training.completed.v1",
    "lsq.sanction.violation_recorded.v1",
)

#: The default policy: the regulation's rules (see docs/services/incentive.md).
DEFAULT_POLICY: dict = {
    "currency": "CNY",
    "fund": {"period": "quarter", "shortfall": "wait", "approval_threshold": "2000.00"},
    "ladder": {"lapse_months": 12, "appeal_days": 14},
    "points_credit": {"rate": "10.00", "tier": "points_credit"},
    "rules": [
        {"id": "evaluation-excellent", "on": "lsq.evaluation.scored.v1", "when": {"grade": ["excellent"]},
         "award": {"tier": "A", "amount": "2000.00"}},
        {"id": "evaluation-good", "on": "lsq.evaluation.scored.v1", "when": {"grade": ["good"]},
         "award": {"tier": "B", "amount": "800.00"}},
        {"id": "evaluation-unsatisfactory", "on": "lsq.evaluation.scored.v1",
         "when": {"grade": ["unsatisfactory"]}, "sanction": {"level": "improvement_plan"}},
        {"id": "reader-praise", "on": "lsq.praise.received.v1", "when": {},
         "points": {"points": 5, "monthly_cap": 30}},
        {"id": "complaint-substantiated", "on": "lsq.complaint.resolved.v1",
         "when": {"outcome": ["substantiated"]},
         "sanction": {"level": "next_step", "one_step_higher_when": {"severity": ["high", "urgent"]}}},
        {"id": "complaint-partially-substantiated", "on": "lsq.complaint.resolved.v1",
         "when": {"outcome": ["partially_substantiated"]}, "sanction": {"level": "notice"}},
        {"id": "complaint-sla-breached", "on": "lsq.complaint.sla_breached.v1", "when": {},
         "sanction": {"level": "notice", "target": "handler_id", "repeat_climbs_after": 1}},
        {"id": "training-overdue", "on": "lsq.requirement.overdue.v1", "when": {},
         "sanction": {"level": "notice", "escalate_after_days": 30, "escalate_to": "written_warning"}},
        {"id": "training-hours", "on": "lsq.training.completed.v1", "when": {},
         "points": {"points": 2, "per": "credit_hours", "monthly_cap": 20}},
        {"id": "recorded-violation", "on": "lsq.sanction.violation_recorded.v1", "when": {},
         "sanction": {"level": "next_step"}},
    ],
}


# -- money, periods, times ----------------------------------------------------------------------
def money(value, field_name: str = "amount") -> Decimal:
    """A positive-or-zero CNY amount with two places, or 422 naming the field."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{field_name} must be a decimal amount", f"{field_name} 必须是金额", field=field_name) from None
    if not amount.is_finite() or amount < 0 or amount > Decimal("100000000"):
        raise Invalid(f"{field_name} must be between 0 and 100000000", f"{field_name} 必须在 0 到 1 亿之间",
                      field=field_name)
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


@functools.lru_cache(maxsize=1)  # once a process: reading the environment cost the ladder 1.5 µs a fact
def calendar_zone() -> ZoneInfo:
    """The time zone of the network's calendar, in which months, quarters and years begin
    (``LSQ_INCENTIVE_TIMEZONE``, else ``LSQ_TIMEZONE``, default Asia/Shanghai).

    A setting of the deployment: a replay must run with the same one to rebuild the same ledger.
    Tests that change it call ``calendar_zone.cache_clear()``.
    """
    return network_zone("incentive")


def fund_period(moment: datetime, kind: str = "quarter") -> str:
    """The fund period containing ``moment`` in the network's calendar: ``2026-11``, ``2026-Q4`` or ``2026``.

    An award at 00:30 on 1 January in Shanghai belongs to January, the first quarter and the new
    year, although it is still 31 December in UTC.
    """
    day = local_date(moment, calendar_zone())
    if kind == "month":
        return f"{day.year}-{day.month:02d}"
    if kind == "year":
        return str(day.year)
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}"


def month_of(moment: datetime) -> str:
    """The calendar month of ``moment`` in the network's calendar, the unit of the monthly points caps."""
    day = local_date(moment, calendar_zone())
    return f"{day.year}-{day.month:02d}"


def year_of(moment: datetime) -> int:
    """The calendar year of ``moment`` in the network's calendar (a standing's "this year")."""
    return local_date(moment, calendar_zone()).year


def valid_period(text: str) -> bool:
    """``2026``, ``2026-Q1``..``Q4`` or ``2026-01``..``12``."""
    import re
    return bool(re.fullmatch(r"(19|20|21)\d\d(-Q[1-4]|-(0[1-9]|1[0-2]))?", text or ""))


def period_kind(label: str) -> str:
    """``year``, ``quarter`` or ``month``: the kind of a valid period label."""
    if len(label) == 4:
        return "year"
    return "quarter" if "Q" in label else "month"


def period_bounds(period: str) -> tuple[datetime, datetime]:
    """[start, end) of a period label (``2026``, ``2026-Q4``, ``2026-11``): local midnights of the
    network's calendar, as aware UTC (``fund_period`` of every instant in it is ``period``)."""
    year = int(period[:4])
    if len(period) == 4:
        first, months = date(year, 1, 1), 12
    elif "Q" in period:
        first, months = date(year, 3 * int(period[-1]) - 2, 1), 3
    else:
        first, months = date(year, int(period[5:7]), 1), 1
    following = (first.year * 12 + first.month - 1) + months
    zone = calendar_zone()
    return local_midnight(first, zone), local_midnight(date(following // 12, following % 12 + 1, 1), zone)


def add_months(moment: datetime, months: int) -> datetime:
    """The same local day and time ``months`` later in the network's calendar (the month's last day
    when it has fewer days), as aware UTC: a warning of 29 February 2028 lapses on 28 February 2029."""
    return _add_months(as_utc(moment), months, calendar_zone())


@functools.lru_cache(maxsize=1 << 16)  # the ladder asks it for every fact at every recompute
def _add_months(moment: datetime, months: int, zone: ZoneInfo) -> datetime:
    local = moment.astimezone(zone)  # in the local calendar: in UTC, 00:30 on 1 March is still February
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


def add_days(moment: datetime, days: int) -> datetime:
    """The same local time ``days`` calendar days later in the network's calendar, as aware UTC
    (the appeal deadline; a day is 24 hours only where the zone keeps no summer time)."""
    return (as_utc(moment).astimezone(calendar_zone()) + timedelta(days=days)).astimezone(UTC)


def appeal_deadline(issued_at: datetime, appeal_days: int) -> datetime:
    """Until when a sanction issued at ``issued_at`` may be appealed: ``appeal_days`` calendar days
    later, at the same local time (check_appeal allows the deadline itself)."""
    return add_days(issued_at, appeal_days)


def start_of_day(day: date) -> datetime:
    """Midnight at the start of ``day`` in the network's calendar, as aware UTC: the time of facts
    dated by a day only (a training completion, a requirement overdue since a day). The training
    service dates them by the local day; UTC midnight would put 1 January of a zone west of UTC
    into December."""
    return local_midnight(day, calendar_zone())


def entry_id(*parts, at: datetime | None = None) -> str:
    """A deterministic ledger id from its cause: the same on every replay.

    Given ``at`` (the time of the cause event, itself part of the cause), the id is a UUIDv8
    (RFC 9562) that starts with that time in milliseconds, followed by the name-based hash of
    ``parts`` that a UUIDv5 holds: the ledger's id index and the cause rows keyed by it then grow
    at one end as events arrive, instead of touching a random page of a large index for every
    entry. Without ``at`` it is the plain UUIDv5.
    """
    name = "|".join(str(p) for p in parts)
    if at is None:
        return str(uuid.uuid5(LEDGER_NAMESPACE, name))
    digest = int.from_bytes(hashlib.sha1(LEDGER_NAMESPACE.bytes + name.encode()).digest()[:10], "big")  # 80 bits
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    value = (millis << 80) | (0x8 << 76) | ((digest >> 68) << 64) | (0b10 << 62) | (digest & ((1 << 62) - 1))
    return uuid_text(value)


# -- the policy language --------------------------------------------------------------------------
@dataclass(frozen=True)
class Rule:
    """One rule: when an event of type ``on`` matches ``when``, do one action."""

    id: str
    on: str
    when: dict
    award: dict | None = None
    points: dict | None = None
    sanction: dict | None = None

    def matches(self, data: dict) -> bool:
        """Every ``when`` field's value is one of the listed values."""
        return all(data.get(name) in values for name, values in self.when.items())


@dataclass(frozen=True)
class Policy:
    """A validated policy version."""

    version: int
    document: dict
    rules: tuple[Rule, ...] = field(default_factory=tuple)

    @property
    def fund_period_kind(self) -> str:
        return self.document["fund"]["period"]

    @property
    def shortfall(self) -> str:
        return self.document["fund"]["shortfall"]

    @property
    def approval_threshold(self) -> Decimal:
        return Decimal(self.document["fund"]["approval_threshold"])

    @property
    def lapse_months(self) -> int:
        return int(self.document["ladder"]["lapse_months"])

    @property
    def appeal_days(self) -> int:
        return int(self.document["ladder"]["appeal_days"])

    @property
    def points_rate(self) -> Decimal:
        return Decimal(self.document["points_credit"]["rate"])

    @property
    def points_tier(self) -> str:
        return self.document["points_credit"]["tier"]

    def rules_for(self, event_type: str) -> list[Rule]:
        return [r for r in self.rules if r.on == event_type]


def _bad(path: str, message: str, message_zh: str) -> Invalid:
    return Invalid(f"policy {path}: {message}", f"策略 {path}：{message_zh}", field=path, code="invalid_policy")


def _schema_fields(event_type: str) -> dict:
    from shared import events
    return events.get(event_type).schema().fields


def _choices(schema_field) -> list | None:
    for validator in getattr(schema_field, "validators", []) or []:
        if isinstance(validator, mm_validate.OneOf):
            return list(validator.choices)
    return None


def _positive_int(value, path: str, minimum: int = 1, maximum: int = 100000) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= maximum:
        raise _bad(path, f"must be an integer from {minimum} to {maximum}", f"必须是 {minimum} 到 {maximum} 的整数")
    return value


def _amount_text(value, path: str, allow_zero: bool = False) -> str:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise _bad(path, "must be a decimal amount such as \"2000.00\"", "必须是金额，如 \"2000.00\"") from None
    if not amount.is_finite() or amount < 0 or (amount == 0 and not allow_zero) or amount > Decimal("10000000"):
        raise _bad(path, "must be a positive amount of at most 10000000", "必须是不超过 1000 万的正数金额")
    return str(amount.quantize(CENT))


def _check_keys(obj, allowed: set, path: str, required: set = frozenset()) -> None:
    if not isinstance(obj, dict):
        raise _bad(path, "must be an object", "必须是对象")
    unknown = sorted(set(obj) - allowed)
    if unknown:
        raise _bad(f"{path}.{unknown[0]}", "unknown field", "未知字段")
    missing = sorted(required - set(obj))
    if missing:
        raise _bad(f"{path}.{missing[0]}", "is required", "必填")


def _check_when(when, event_type: str, path: str, fields_of: dict) -> dict:
    if not isinstance(when, dict):
        raise _bad(path, "must be an object of field → list of values", "必须是“字段 → 取值列表”的对象")
    normalised = {}
    for name, values in when.items():
        if name not in fields_of or name == "caused_by":
            raise _bad(f"{path}.{name}", f"{event_type} has no field {name}", f"{event_type} 没有字段 {name}")
        if isinstance(values, (str, int, float, bool)):
            values = [values]
        if not isinstance(values, list) or not values:
            raise _bad(f"{path}.{name}", "must be a non-empty list of values", "必须是非空取值列表")
        choices = _choices(fields_of[name])
        if choices is not None:
            for value in values:
                if value not in choices:
                    raise _bad(f"{path}.{name}", f"{value!r} is not one of {', '.join(map(str, choices))}",
                               f"{value!r} 不是有效取值（{', '.join(map(str, choices))}）")
        normalised[name] = list(values)
    return normalised


def validate_policy(document) -> dict:
    """Check a policy document and return it normalised; 422 naming the path of the first error.

    A rule naming an unknown (or unusable) event type, or a field the type does not have, is refused.
    """
    from shared import events

    _check_keys(document, {"currency", "fund", "ladder", "points_credit", "rules"}, "policy",
                {"fund", "ladder", "points_credit", "rules"})
    doc = copy.deepcopy(document)
    doc.setdefault("currency", "CNY")
    if doc["currency"] != "CNY":
        raise _bad("currency", "only CNY is supported", "仅支持人民币（CNY）")
    fund = doc["fund"]
    _check_keys(fund, {"period", "shortfall", "approval_threshold"}, "fund", {"period", "shortfall",
                                                                              "approval_threshold"})
    if fund["period"] not in FUND_PERIODS:
        raise _bad("fund.period", f"must be one of {', '.join(FUND_PERIODS)}", f"必须是 {', '.join(FUND_PERIODS)} 之一")
    if fund["shortfall"] not in SHORTFALL_MODES:
        raise _bad("fund.shortfall", "must be wait or pro_rata", "必须是 wait 或 pro_rata")
    fund["approval_threshold"] = _amount_text(fund["approval_threshold"], "fund.approval_threshold", True)
    ladder = doc["ladder"]
    _check_keys(ladder, {"lapse_months", "appeal_days"}, "ladder", {"lapse_months", "appeal_days"})
    _positive_int(ladder["lapse_months"], "ladder.lapse_months", 1, 120)
    _positive_int(ladder["appeal_days"], "ladder.appeal_days", 1, 365)
    credit = doc["points_credit"]
    _check_keys(credit, {"rate", "tier"}, "points_credit", {"rate", "tier"})
    credit["rate"] = _amount_text(credit["rate"], "points_credit.rate", True)
    if not isinstance(credit["tier"], str) or not 1 <= len(credit["tier"]) <= 30:
        raise _bad("points_credit.tier", "must be a name of 1 to 30 characters", "必须是 1 到 30 个字符的名称")
    rules = doc["rules"]
    if not isinstance(rules, list) or len(rules) > 200:
        raise _bad("rules", "must be a list of at most 200 rules", "必须是不超过 200 条规则的列表")
    seen = set()
    for index, rule in enumerate(rules):
        path = f"rules[{index}]"
        _check_keys(rule, {"id", "on", "when", "award", "points", "sanction", "description"}, path, {"id", "on"})
        if not isinstance(rule["id"], str) or not rule["id"] or len(rule["id"]) > 60 or rule["id"] in seen:
            raise _bad(f"{path}.id", "must be a unique name of 1 to 60 characters", "必须是唯一的 1 到 60 个字符的名称")
        seen.add(rule["id"])
        event_type = rule["on"]
        if event_type not in events.REGISTRY:
            raise _bad(f"{path}.on", f"unknown event type {event_type}", f"未知事件类型 {event_type}")
        if event_type not in RULE_EVENT_TYPES:
            raise _bad(f"{path}.on", f"{event_type} cannot drive incentive rules; one of "
                       f"{', '.join(RULE_EVENT_TYPES)}", f"事件类型 {event_type} 不能用于激励规则")
        fields_of = _schema_fields(event_type)
        rule["when"] = _check_when(rule.get("when", {}), event_type, f"{path}.when", fields_of)
        actions = [a for a in ("award", "points", "sanction") if a in rule]
        if len(actions) != 1:
            raise _bad(path, "needs exactly one action: award, points or sanction", "需要且只能有一个动作：award、points 或 sanction")
        action = actions[0]
        spec = rule[action]
        apath = f"{path}.{action}"
        if action == "award":
            _check_keys(spec, {"tier", "amount"}, apath, {"tier", "amount"})
            if not isinstance(spec["tier"], str) or not 1 <= len(spec["tier"]) <= 30:
                raise _bad(f"{apath}.tier", "must be a name of 1 to 30 characters", "必须是 1 到 30 个字符的名称")
            spec["amount"] = _amount_text(spec["amount"], f"{apath}.amount")
            if "staff_id" not in fields_of or "branch_id" not in fields_of:
                raise _bad(f"{path}.on", f"{event_type} names no staff member and branch", f"{event_type} 未指明员工和分馆")
        elif action == "points":
            _check_keys(spec, {"points", "per", "monthly_cap"}, apath, {"points"})
            _positive_int(spec["points"], f"{apath}.points", 1, 1000)
            if "per" in spec:
                per = spec["per"]
                if per not in fields_of or not isinstance(fields_of[per], (mm_fields.Float, mm_fields.Integer)):
                    raise _bad(f"{apath}.per", f"{event_type} has no numeric field {per}", f"{event_type} 没有数值字段 {per}")
            if "monthly_cap" in spec:
                _positive_int(spec["monthly_cap"], f"{apath}.monthly_cap", 1, 100000)
        else:
            _check_keys(spec, {"level", "one_step_higher_when", "target", "repeat_climbs_after",
                               "escalate_after_days", "escalate_to"}, apath, {"level"})
            if spec["level"] not in SANCTION_LEVEL_CHOICES:
                raise _bad(f"{apath}.level", f"must be one of {', '.join(SANCTION_LEVEL_CHOICES)}",
                           f"必须是 {', '.join(SANCTION_LEVEL_CHOICES)} 之一")
            if "one_step_higher_when" in spec:
                if spec["level"] != "next_step":
                    raise _bad(f"{apath}.one_step_higher_when", "only applies to level next_step", "仅适用于 next_step")
                spec["one_step_higher_when"] = _check_when(spec["one_step_higher_when"], event_type,
                                                           f"{apath}.one_step_higher_when", fields_of)
            target = spec.setdefault("target", "staff_id")
            if target not in fields_of or not target.endswith("_id") or target in ("branch_id",):
                raise _bad(f"{apath}.target", f"{event_type} has no staff field {target}", f"{event_type} 没有员工字段 {target}")
            if "branch_id" not in fields_of:
                raise _bad(f"{path}.on", f"{event_type} names no branch", f"{event_type} 未指明分馆")
            if "repeat_climbs_after" in spec:
                if spec["level"] != "notice":
                    raise _bad(f"{apath}.repeat_climbs_after", "only applies to level notice", "仅适用于 notice")
                _positive_int(spec["repeat_climbs_after"], f"{apath}.repeat_climbs_after", 1, 100)
            if ("escalate_after_days" in spec) != ("escalate_to" in spec):
                raise _bad(f"{apath}.escalate_to", "escalate_after_days and escalate_to go together",
                           "escalate_after_days 与 escalate_to 必须同时设置")
            if "escalate_to" in spec:
                if event_type != "lsq.requirement.overdue.v1":
                    raise _bad(f"{apath}.escalate_to", "escalation applies to lsq.requirement.overdue.v1 only",
                               "升级仅适用于 lsq.requirement.overdue.v1")
                _positive_int(spec["escalate_after_days"], f"{apath}.escalate_after_days", 1, 365)
                if spec["escalate_to"] not in LADDER:
                    raise _bad(f"{apath}.escalate_to", f"must be one of {', '.join(LADDER)}", f"必须是 {', '.join(LADDER)} 之一")
    return doc


def build_policy(version: int, document: dict) -> Policy:
    """A Policy from a stored (already validated) document."""
    rules = tuple(Rule(id=r["id"], on=r["on"], when=r.get("when", {}), award=r.get("award"),
                       points=r.get("points"), sanction=r.get("sanction")) for r in document["rules"])
    return Policy(version=version, document=document, rules=rules)


def points_for(rule: Rule, data: dict) -> int:
    """Points a matching points rule gives for one event (before the monthly cap)."""
    spec = rule.points
    if "per" in spec:
        value = data.get(spec["per"]) or 0
        return int((Decimal(str(value)) * spec["points"]).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return spec["points"]


def capped(points: int, already: int, cap: int | None) -> int:
    """What may still be credited this month under ``cap`` (never negative)."""
    if cap is None:
        return points
    return max(0, min(points, cap - already))


# -- the progressive ladder ----------------------------------------------------------------------
class Fact(NamedTuple):
    """Something that may put a staff member on the ladder.

    kind: ``next_step`` (climbs), ``fixed`` (a given level), ``notice``, or ``repeatable_notice``
    (a notice until ``free_notices`` of the same ``group`` lie within the lapse window, then a step).
    A named tuple: the ladder is recomputed from all of a person's facts for every new one.
    """

    key: str
    at: datetime
    kind: str
    bump: int = 0
    level: str | None = None
    group: str | None = None
    free_notices: int = 0
    excluded: bool = False
    lapse_months: int = 12


def ladder_decisions(facts: list[Fact]) -> dict[str, str]:
    """The level each fact leads to, deciding facts in time order (ties by key).

    The step a fact takes counts the staff member's active ladder sanctions at the fact's time
    (those whose ``lapse_months``, from their fact's policy, have not passed, and not excluded by
    an appeal): the next level is one above
    both their number and the highest of them, plus ``bump`` (severity), capped at referral.
    Excluded facts (sanction overturned) take no level and do not count.
    """
    decisions: dict[str, str] = {}
    # (lapse time, ladder index) of the steps taken that are still live. Facts come in time order,
    # so a step that has lapsed at one fact's time has lapsed for every later fact: dropped.
    active: list[tuple[datetime, int]] = []
    notices: dict[str, list[datetime]] = {}  # group -> lapse times of its live repeatable notices
    for fact in sorted(facts, key=lambda f: (f.at, f.key)):
        if fact.excluded:
            continue
        active = [(until, idx) for until, idx in active if until > fact.at]
        window = ()
        if fact.kind == "repeatable_notice":
            window = notices[fact.group] = [u for u in notices.get(fact.group, ()) if u > fact.at]
        level = _decide(fact, active, window)
        decisions[fact.key] = level
        until = add_months(fact.at, fact.lapse_months)
        if fact.kind == "repeatable_notice":
            window.append(until)
        if level != "notice":
            active.append((until, LADDER.index(level)))
    return decisions


def decide_latest(fact: Fact, steps_in_force: list[tuple[datetime, str]],
                  repeatable_notices: dict[str, list[datetime]]) -> str:
    """The level of a fact later than every other fact of the person, as ``ladder_decisions``
    would give it, from what the earlier facts left: the (lapse time, level) of the person's
    sanctions in force, and the lapse times of their repeatable notices by group. Spares
    replaying a whole history for the usual new fact, the latest.
    """
    active = [(until, LADDER.index(level)) for until, level in steps_in_force if level in LADDER and until > fact.at]
    window = [u for u in repeatable_notices.get(fact.group, ()) if u > fact.at] \
        if fact.kind == "repeatable_notice" else ()
    return _decide(fact, active, window)


def _decide(fact: Fact, active: list[tuple[datetime, int]], window) -> str:
    """The one rule of the ladder: the level of ``fact`` given the steps live at its time
    ((lapse time, ladder index)) and, for a repeatable notice, its group's live notices."""
    kind = fact.kind
    if kind == "repeatable_notice":
        kind = "notice" if len(window) < fact.free_notices else "next_step"
    if kind == "notice":
        return "notice"
    if kind == "fixed":
        return fact.level
    step = max(len(active), max((idx + 1 for _, idx in active), default=0))
    return LADDER[min(step + fact.bump, len(LADDER) - 1)]


def ladder_step(sanctions: list[tuple[str, datetime, datetime]], as_of: datetime) -> dict:
    """The standing on the ladder at ``as_of`` from (level, issued_at, expires_at) of sanctions in force."""
    live = [(lvl, at) for lvl, at, until in sanctions if lvl in LADDER and at <= as_of and until > as_of]
    step = max(len(live), max((LADDER.index(lvl) + 1 for lvl, _ in live), default=0))
    return {"step": step, "next_level": LADDER[min(step, len(LADDER) - 1)],
            "current_level": max((lvl for lvl, _ in live), key=LADDER.index, default=None)}


# -- funds ---------------------------------------------------------------------------------------
def fund_decision(amount: Decimal, available: Decimal, threshold: Decimal, shortfall: str) -> tuple[str, Decimal, str | None]:
    """What to do with an award of ``amount`` given the fund's ``available`` balance.

    Returns (status, amount to reserve, waiting_for): ``granted``; ``pending`` for approval (the
    amount is reserved so that approval cannot overdraw the fund); ``pending`` with nothing reserved
    when the fund is short and the policy says wait; or ``granted`` pro rata with what is left.
    The fund never goes negative and an award is never dropped.
    """
    if amount <= available:
        if amount > threshold:
            return "pending", amount, "branch_manager_approval"
        return "granted", amount, None
    if shortfall == "pro_rata" and available > 0:
        paid = available.quantize(CENT)
        if paid > threshold:
            return "pending", paid, "branch_manager_approval"
        return "granted", paid, None
    return "pending", Decimal("0.00"), "fund_short"


def check_appeal(status: str, level: str, now: datetime, deadline: datetime) -> None:
    """A sanction may be appealed once, before its deadline; a notice is not appealable."""
    if level == "notice":
        raise Conflict("a notice is not a sanction and cannot be appealed", "提醒通知不是处分，不能申诉",
                       code="not_appealable")
    if status in ("appealed", "upheld", "overturned", "revoked"):
        raise Conflict(f"this sanction is {status}; it cannot be appealed", f"该处分状态为 {status}，不能申诉",
                       code="not_appealable")
    if now > deadline:
        raise Conflict("the appeal window has closed", "申诉期限已过", code="appeal_window_closed")
