"""Evaluation domain rules: rubrics, settings, periods, cycle states, peers, scores. No I/O.

Every number that ends up in a score is a ``Decimal`` computed in a local context and rounded
once at the end (ROUND_HALF_UP), and every collection is sorted before it is folded, so the same
inputs give the same scores byte for byte, whatever order the rows came from the database in.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation, localcontext
from zoneinfo import ZoneInfo

from shared.errors import Conflict, Forbidden, Invalid
from shared.timeutil import UTC, as_utc, local_date, local_midnight, network_zone

COMPONENTS = ("reader", "supervisor", "peer", "self")
RATER_TYPES = ("self", "peer", "supervisor")  # the reader component comes from feedback events
GRADES = ("excellent", "good", "satisfactory", "unsatisfactory")
GRADE_LABELS_ZH = {"excellent": "优秀", "good": "良好", "satisfactory": "合格", "unsatisfactory": "不合格"}
CYCLE_STATES = ("draft", "open", "closed", "published")
SEVERITIES = ("low", "normal", "high", "urgent")
COUNTED_OUTCOMES = ("substantiated", "partially_substantiated")
#: Roles that are evaluated (network_admin and auditor accounts are not library-floor staff).
EVALUATED_ROLES = ("staff", "supervisor", "branch_manager")
#: Roles that give the supervisor rating of the staff of their branch.
SUPERVISOR_ROLES = ("supervisor", "branch_manager")
SCALE_MIN, SCALE_MAX = 1, 5

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CTX = Context(prec=28, rounding=ROUND_HALF_UP)
TWO_PLACES = Decimal("0.01")
ONE_PLACE = Decimal("0.1")


def dec(value) -> Decimal:
    """A Decimal from a number or its text (floats go through ``str`` so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value))


def q2(value: Decimal) -> Decimal:
    """Round half up to two places: the one rounding step of every published figure."""
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


# -- rubric ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Dimension:
    code: str
    label_en: str
    label_zh: str
    weight: Decimal


@dataclass(frozen=True)
class Rubric:
    """A versioned rubric: weighted dimensions, each rated on the 1-5 scale."""

    version: int
    dimensions: tuple[Dimension, ...]

    @property
    def codes(self) -> list[str]:
        return [d.code for d in self.dimensions]


DEFAULT_DIMENSIONS = (
    {"code": "service_attitude", "label_en": "Service attitude", "label_zh": "服务态度", "weight": "0.30"},
    {"code": "professional_competence", "label_en": "Professional competence", "label_zh": "专业能力",
     "weight": "0.30"},
    {"code": "efficiency", "label_en": "Service efficiency", "label_zh": "服务效率", "weight": "0.20"},
    {"code": "compliance", "label_en": "Compliance with rules", "label_zh": "遵章守纪", "weight": "0.20"},
)


def check_dimensions(dimensions: list[dict]) -> list[dict]:
    """Validate a rubric's dimensions: unique codes, bilingual labels, weights in (0, 1] summing to 1.

    Returns them in a canonical form (weights as decimal strings). Raises ``Invalid`` (422).
    """
    if not dimensions:
        raise Invalid("a rubric needs at least one dimension", "评价量表至少需要一个维度", field="dimensions")
    if len(dimensions) > 12:
        raise Invalid("a rubric has at most 12 dimensions", "评价量表最多 12 个维度", field="dimensions")
    seen, total, out = set(), Decimal(0), []
    for i, d in enumerate(dimensions):
        code = d.get("code", "")
        if not _CODE.match(code or ""):
            raise Invalid(f"dimension code {code!r} must be lower-case letters, digits and _ (2-40)",
                          f"维度代码 {code!r} 只能包含小写字母、数字和下划线", field=f"dimensions.{i}.code")
        if code in seen:
            raise Invalid(f"dimension code {code} appears twice", f"维度代码 {code} 重复",
                          field=f"dimensions.{i}.code")
        seen.add(code)
        for label in ("label_en", "label_zh"):
            if not (d.get(label) or "").strip():
                raise Invalid(f"dimension {code} needs {label}", f"维度 {code} 缺少 {label}",
                              field=f"dimensions.{i}.{label}")
        try:
            weight = dec(d.get("weight"))
        except (InvalidOperation, ValueError):
            raise Invalid("weight must be a number", "权重必须是数字", field=f"dimensions.{i}.weight") from None
        if not (Decimal(0) < weight <= Decimal(1)):
            raise Invalid(f"weight of {code} must be above 0 and at most 1", f"维度 {code} 的权重须在 0 与 1 之间",
                          field=f"dimensions.{i}.weight")
        total += weight
        out.append({"code": code, "label_en": d["label_en"].strip(), "label_zh": d["label_zh"].strip(),
                    "weight": str(weight)})
    if total != Decimal(1):
        raise Invalid(f"dimension weights must sum to 1 (they sum to {total})",
                      f"各维度权重之和必须为 1（当前为 {total}）", field="dimensions", code="weights_do_not_sum_to_1")
    return out


def rubric_from(version: int, dimensions: list[dict]) -> Rubric:
    """A Rubric from its stored dimensions (weights as decimal text)."""
    return Rubric(version, tuple(Dimension(d["code"], d["label_en"], d["label_zh"], dec(d["weight"]))
                                 for d in dimensions))


# -- settings ----------------------------------------------------------------------------------
DEFAULT_SETTINGS: dict = {
    "rater_weights": {"reader": "0.4", "supervisor": "0.3", "peer": "0.2", "self": "0.1"},
    "peers_per_person": 5,
    "min_peer_answers": 3,
    "reader": {
        "min_ratings": 5,
        "praise_bonus": "0.1",
        "praise_bonus_cap": "0.5",
        "penalties": {
            "substantiated": {"low": "0.5", "normal": "0.5", "high": "1.0", "urgent": "1.0"},
            "partially_substantiated": {"low": "0.25", "normal": "0.25", "high": "0.5", "urgent": "0.5"},
        },
    },
    "grade_bands": {"excellent": 90, "good": 80, "satisfactory": 60},
    "appeal_days": 14,
    "timezone": "Asia/Shanghai",
}


def default_settings() -> dict:
    """The settings before network_admin changes any: ``DEFAULT_SETTINGS`` in the network's time
    zone (``LSQ_EVALUATION_TIMEZONE``, else ``LSQ_TIMEZONE``, else Asia/Shanghai), so that a
    period's days are the same local days as the other services' months, quarters and years."""
    return check_settings({**DEFAULT_SETTINGS, "timezone": network_zone("evaluation").key})


def _number(value, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = dec(value)
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        raise Invalid(f"{field} must be a number", f"{field} 必须是数字", field=field) from None
    if not (low <= number <= high):
        raise Invalid(f"{field} must be between {low} and {high}", f"{field} 须在 {low} 与 {high} 之间",
                      field=field)
    return number


def _integer(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number", f"{field} 必须是整数", field=field)
    if not (low <= value <= high):
        raise Invalid(f"{field} must be between {low} and {high}", f"{field} 须在 {low} 与 {high} 之间",
                      field=field)
    return value


def check_rater_weights(weights: dict, field: str = "rater_weights") -> dict:
    """Weights of the four sources: each in [0, 1], summing to exactly 1."""
    unknown = sorted(set(weights) - set(COMPONENTS))
    if unknown:
        raise Invalid(f"unknown rater type {unknown[0]}", f"未知的评价来源 {unknown[0]}", field=f"{field}.{unknown[0]}")
    out = {c: _number(weights.get(c, 0), f"{field}.{c}", Decimal(0), Decimal(1)) for c in COMPONENTS}
    if sum(out.values()) != Decimal(1):
        raise Invalid(f"rater weights must sum to 1 (they sum to {sum(out.values())})",
                      f"各评价来源权重之和必须为 1（当前为 {sum(out.values())}）", field=field,
                      code="weights_do_not_sum_to_1")
    return {c: str(v) for c, v in out.items()}


def merge_settings(current: dict, changes: dict) -> dict:
    """Apply a partial change to the settings and validate the result (422 naming the field)."""
    merged = json.loads(json.dumps(current))
    for key, value in changes.items():
        if key not in DEFAULT_SETTINGS:
            raise Invalid(f"unknown setting {key}", f"未知的设置项 {key}", field=key)
        if key == "reader" and isinstance(value, dict):
            reader = merged["reader"]
            for k, v in value.items():
                if k == "penalties" and isinstance(v, dict):
                    for outcome, table in v.items():
                        if outcome not in COUNTED_OUTCOMES or not isinstance(table, dict):
                            raise Invalid(f"unknown complaint outcome {outcome} (or not an object)",
                                          f"未知的投诉结论 {outcome}", field=f"reader.penalties.{outcome}")
                        unknown = sorted(set(table) - set(SEVERITIES))
                        if unknown:
                            raise Invalid(f"unknown severity {unknown[0]}", f"未知的严重程度 {unknown[0]}",
                                          field=f"reader.penalties.{outcome}.{unknown[0]}")
                        reader["penalties"][outcome].update(table)
                else:
                    reader[k] = v
        elif key in ("rater_weights", "grade_bands") and isinstance(value, dict):
            merged[key] = {**merged[key], **value} if key == "grade_bands" else dict(value)
        else:
            merged[key] = value
    return check_settings(merged)


def check_settings(s: dict) -> dict:
    """Validate complete settings; returns them canonical (decimals as strings)."""
    if not isinstance(s.get("rater_weights"), dict):
        raise Invalid("rater_weights must be an object", "rater_weights 必须是对象", field="rater_weights")
    out = {"rater_weights": check_rater_weights(s["rater_weights"])}
    out["peers_per_person"] = _integer(s.get("peers_per_person"), "peers_per_person", 3, 10)
    out["min_peer_answers"] = _integer(s.get("min_peer_answers"), "min_peer_answers", 3, 10)
    if out["min_peer_answers"] > out["peers_per_person"]:
        raise Invalid("min_peer_answers cannot exceed peers_per_person", "最少同事评价数不能超过每人分配的同事数",
                      field="min_peer_answers")
    r = s.get("reader")
    if not isinstance(r, dict):
        raise Invalid("reader must be an object", "reader 必须是对象", field="reader")
    reader = {
        "min_ratings": _integer(r.get("min_ratings"), "reader.min_ratings", 1, 1000),
        "praise_bonus": str(_number(r.get("praise_bonus"), "reader.praise_bonus", Decimal(0), Decimal(1))),
        "praise_bonus_cap": str(_number(r.get("praise_bonus_cap"), "reader.praise_bonus_cap", Decimal(0),
                                        Decimal(4))),
        "penalties": {},
    }
    unknown = sorted(set(r) - {"min_ratings", "praise_bonus", "praise_bonus_cap", "penalties"})
    if unknown:
        raise Invalid(f"unknown setting reader.{unknown[0]}", f"未知的设置项 reader.{unknown[0]}",
                      field=f"reader.{unknown[0]}")
    penalties = r.get("penalties")
    if not isinstance(penalties, dict):
        raise Invalid("reader.penalties must be an object", "reader.penalties 必须是对象", field="reader.penalties")
    for outcome in COUNTED_OUTCOMES:
        table = penalties.get(outcome)
        if not isinstance(table, dict):
            raise Invalid(f"reader.penalties.{outcome} must be an object", f"reader.penalties.{outcome} 必须是对象",
                          field=f"reader.penalties.{outcome}")
        reader["penalties"][outcome] = {
            sev: str(_number(table.get(sev), f"reader.penalties.{outcome}.{sev}", Decimal(0), Decimal(4)))
            for sev in SEVERITIES}
    out["reader"] = reader
    bands = s.get("grade_bands")
    if not isinstance(bands, dict):
        raise Invalid("grade_bands must be an object", "grade_bands 必须是对象", field="grade_bands")
    out["grade_bands"] = {g: _integer(bands.get(g), f"grade_bands.{g}", 0, 100)
                          for g in ("excellent", "good", "satisfactory")}
    b = out["grade_bands"]
    if not (b["excellent"] > b["good"] > b["satisfactory"]):
        raise Invalid("grade bands must fall: excellent > good > satisfactory", "等级分数线须依次递减：优秀 > 良好 > 合格",
                      field="grade_bands")
    out["appeal_days"] = _integer(s.get("appeal_days"), "appeal_days", 1, 90)
    out["timezone"] = check_timezone(s.get("timezone"), "timezone")
    return out


def check_timezone(name, field: str = "timezone") -> str:
    """An IANA zone name: the days of a period are the library's local days."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
    try:
        if not isinstance(name, str) or not name:
            raise ValueError
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r}", f"未知的时区 {name!r}", field=field) from None
    return name


# -- periods and deadlines ---------------------------------------------------------------------
_PERIOD = re.compile(r"(?P<year>\d{4})(?:-(?:(?P<q>Q[1-4])|(?P<h>H[12])|(?P<m>0[1-9]|1[0-2])))?")


def parse_period(label: str) -> tuple[date, date]:
    """``2026`` → the year; ``2026-Q4`` → a quarter; ``2026-H1`` → a half; ``2026-05`` → a month.

    The first and last day of the period, calendar days (``2028-02`` ends on the 29th).
    """
    # the whole label: with match() and $ a trailing newline ("2026-Q4\n") would pass
    m = _PERIOD.fullmatch(label or "")
    if not m:
        raise Invalid(f"period {label!r} is not YYYY, YYYY-Qn, YYYY-Hn or YYYY-MM (or give period_start "
                      "and period_end)", f"周期 {label!r} 格式应为 YYYY、YYYY-Qn、YYYY-Hn 或 YYYY-MM",
                      field="period")
    year = int(m["year"])
    if not (2000 <= year <= 2100):
        raise Invalid("the period's year must be between 2000 and 2100", "周期年份须在 2000 与 2100 之间",
                      field="period")
    if m["q"]:
        first = (int(m["q"][1]) - 1) * 3 + 1
        last = first + 2
    elif m["h"]:
        first, last = (1, 6) if m["h"] == "H1" else (7, 12)
    elif m["m"]:
        first = last = int(m["m"])
    else:
        first, last = 1, 12
    return date(year, first, 1), date(year, last, calendar.monthrange(year, last)[1])


def _a_year_after(day: date) -> date:
    """The same calendar day a year later; 29 February is followed by 1 March."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return date(day.year + 1, 3, 1)


def check_period(period_start: date, period_end: date) -> None:
    """The period lies between 2000 and 2100, runs forward and lasts at most a calendar year:
    it ends before the same day a year after it starts (2026-01-01 → 2026-12-31 at the latest)."""
    for name, day in (("period_start", period_start), ("period_end", period_end)):
        if not (date(2000, 1, 1) <= day <= date(2100, 12, 31)):
            raise Invalid(f"{name} must be between 2000 and 2100", f"{name} 须在 2000 与 2100 年之间", field=name)
    if period_end < period_start:
        raise Invalid("period_end is before period_start", "周期结束日期早于开始日期", field="period_end")
    # a count of days (366) let a period of 367 days through, a year and two days
    if period_end >= _a_year_after(period_start):
        raise Invalid("a period lasts at most one year", "评价周期最长一年", field="period_end")


def _zone(tz: str | None) -> ZoneInfo:
    """The cycle's time zone (its frozen ``timezone`` setting), else the network's."""
    return ZoneInfo(tz) if tz else network_zone("evaluation")


def check_deadline(period_start: date, deadline: datetime, tz: str | None = None) -> None:
    """The rating deadline falls on or after the first local day of the period (and at most in
    2101, as the period lies in 2000-2100)."""
    if deadline.year > 2101:  # before converting: year 9999 in another zone overflows
        raise Invalid("submission_deadline is too far ahead", "提交截止时间过远", field="submission_deadline")
    # the local day in the cycle's zone, not the day in whatever offset the client wrote:
    # 2026-09-30T16:30Z is 00:30 on 1 October in Shanghai, inside a period starting that day
    if deadline.year < 1999 or local_date(deadline, _zone(tz)) < period_start:
        raise Invalid("submission_deadline is before the period starts", "提交截止时间早于周期开始",
                      field="submission_deadline")


def period_bounds(period_start: date, period_end: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of the period in UTC: local midnight of the first day to that after the last.

    A desk rating at 23:30 on 31 December in Shanghai is in 2026-Q4, one at 00:30 on 1 January
    in 2027-Q1, although both are 31 December in UTC.
    """
    zone = _zone(tz)
    return local_midnight(period_start, zone), local_midnight(period_end + timedelta(days=1), zone)


def default_deadline(period_end: date, tz: str) -> datetime:
    """Two weeks after the period, at the end of that local day (its last microsecond), in UTC."""
    day = period_end + timedelta(days=14)
    # not 23:59:59: a rating at 23:59:59.4 is still on the deadline day
    return datetime.combine(day, time.max, tzinfo=_zone(tz)).astimezone(UTC)


# -- cycle states ------------------------------------------------------------------------------
TRANSITIONS = {"open": ("draft", "open"), "close": ("open", "closed"), "publish": ("closed", "published")}


def check_transition(status: str, action: str) -> str:
    """The state after ``action``; 409 if the cycle is not in the state the action needs."""
    before, after = TRANSITIONS[action]
    if status != before:
        raise Conflict(f"cannot {action} a cycle that is {status} (it must be {before})",
                       f"周期当前为 {status} 状态，无法执行 {action}（需为 {before}）", code="cycle_state")
    return after


def check_submission_window(status: str, deadline: datetime, now: datetime) -> None:
    """Ratings are taken while the cycle is open and until its deadline (409 otherwise)."""
    if status != "open":
        raise Conflict(f"the cycle is {status}: ratings are taken only while it is open",
                       f"周期当前为 {status} 状态，仅在开放期间可提交评价", code="cycle_not_open")
    if now > deadline:
        raise Conflict("the submission deadline has passed", "评价提交截止时间已过", code="deadline_passed")


# -- peers -------------------------------------------------------------------------------------
def _order_key(cycle_id: str, staff_id: str) -> str:
    return hashlib.sha256(f"{cycle_id}:{staff_id}".encode()).hexdigest()


def assign_peers(cycle_id: str, members: list[tuple[str, str]], per_person: int) -> dict[str, list[str]]:
    """Peers for each ``(staff_id, branch_id)``: colleagues of the same branch, never themselves.

    Within a branch, staff are put in a ring in an order drawn from the cycle id (so it differs
    from cycle to cycle but is reproducible) and each rates the next ``k`` people of the ring,
    ``k = min(per_person, branch size - 1)``: everybody gets ``k`` peers and rates ``k`` people.
    """
    by_branch: dict[str, list[str]] = {}
    for staff_id, branch_id in members:
        by_branch.setdefault(branch_id, []).append(staff_id)
    peers: dict[str, list[str]] = {}
    for branch_id in sorted(by_branch):
        ring = sorted(set(by_branch[branch_id]), key=lambda s: (_order_key(cycle_id, s), s))
        n = len(ring)
        k = min(per_person, n - 1)
        for i, staff_id in enumerate(ring):
            # i rates i+1..i+k, so the peers of i are i-1..i-k
            peers[staff_id] = sorted(ring[(i - j) % n] for j in range(1, k + 1))
    return peers


def check_peer_change(staff_id: str, peer_ids: list[str], participants: set[str]) -> list[str]:
    """A manual peer list: cycle participants only, not the person themselves, no repeats."""
    if len(peer_ids) > 10:
        raise Invalid("at most 10 peers", "最多 10 名同事评价人", field="peer_ids")
    if len(set(peer_ids)) != len(peer_ids):
        raise Invalid("a peer is listed twice", "同事评价人重复", field="peer_ids")
    if staff_id in peer_ids:
        raise Invalid("nobody is their own peer", "不能指定本人为同事评价人", field="peer_ids")
    strangers = sorted(set(peer_ids) - participants)
    if strangers:
        raise Invalid(f"{strangers[0]} is not a participant of this cycle", f"{strangers[0]} 不是本周期的参评人员",
                      field="peer_ids")
    return sorted(peer_ids)


# -- ratings -----------------------------------------------------------------------------------
def check_ratings(rubric: Rubric, scores: dict) -> dict[str, int]:
    """One whole number 1-5 for every dimension of the rubric, and nothing else."""
    unknown = sorted(set(scores) - set(rubric.codes))
    if unknown:
        raise Invalid(f"{unknown[0]} is not a dimension of rubric version {rubric.version}",
                      f"{unknown[0]} 不是第 {rubric.version} 版评价量表的维度", field=f"scores.{unknown[0]}")
    out = {}
    for code in rubric.codes:
        if code not in scores:
            raise Invalid(f"a rating for {code} is required", f"缺少维度 {code} 的评分", field=f"scores.{code}")
        value = scores[code]
        if isinstance(value, bool) or not isinstance(value, int) or not (SCALE_MIN <= value <= SCALE_MAX):
            raise Invalid(f"rating of {code} must be a whole number from 1 to 5", f"维度 {code} 的评分须为 1–5 的整数",
                          field=f"scores.{code}")
        out[code] = value
    return out


def check_rater(rater_type: str, *, rater_id: str | None, rater_role: str | None, rater_branch: str | None,
                staff_id: str, staff_branch: str, assigned_peers: list[str]) -> None:
    """May this principal give this kind of rating of ``staff_id``? 403 if not."""
    if rater_id is None:
        raise Forbidden("ratings need a token that identifies a staff member", "提交评价需要员工身份令牌")
    if rater_type == "self":
        if rater_id != staff_id:
            raise Forbidden("a self-evaluation is given by the person evaluated", "自我评价只能由本人提交")
    elif rater_type == "peer":
        if rater_id not in assigned_peers:
            raise Forbidden("you are not an assigned peer rater of this staff member", "您不是该员工的指定同事评价人")
    elif rater_type == "supervisor":
        if rater_id == staff_id:
            raise Forbidden("nobody gives their own supervisor rating", "不能为本人提交主管评价")
        if rater_role != "network_admin" and (rater_role not in SUPERVISOR_ROLES or rater_branch != staff_branch):
            raise Forbidden("supervisor ratings are given by supervisors of the staff member's branch",
                            "主管评价只能由该员工所在分馆的主管提交")


# -- the reader component --------------------------------------------------------------------
@dataclass(frozen=True)
class ReaderInputs:
    """What the feedback of the period says about one staff member (frozen at close)."""

    rating_count: int = 0
    rating_sum: int = 0
    praise_count: int = 0
    #: ``"<outcome>:<severity>"`` → count, for substantiated and partially substantiated complaints
    complaints: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"rating_count": self.rating_count, "rating_sum": self.rating_sum,
                "praise_count": self.praise_count, "complaints": dict(sorted(self.complaints.items()))}

    @classmethod
    def from_dict(cls, d: dict) -> "ReaderInputs":
        return cls(d.get("rating_count", 0), d.get("rating_sum", 0), d.get("praise_count", 0),
                   dict(d.get("complaints") or {}))


def reader_value(inputs: ReaderInputs, settings: dict) -> tuple[Decimal | None, str | None]:
    """The reader component on the 1-5 scale, or (None, why) when there are too few ratings.

    value = clamp(mean stars + min(praise × bonus, cap) − Σ complaint penalties, 1, 5)
    """
    r = settings["reader"]
    if inputs.rating_count < r["min_ratings"]:
        return None, f"fewer than {r['min_ratings']} desk ratings ({inputs.rating_count})"
    with localcontext(_CTX):
        value = Decimal(inputs.rating_sum) / Decimal(inputs.rating_count)
        value += min(dec(r["praise_bonus"]) * inputs.praise_count, dec(r["praise_bonus_cap"]))
        for key in sorted(inputs.complaints):
            outcome, _, severity = key.partition(":")
            value -= dec(r["penalties"][outcome][severity]) * inputs.complaints[key]
        return min(max(value, Decimal(SCALE_MIN)), Decimal(SCALE_MAX)), None


# -- the score ---------------------------------------------------------------------------------
@dataclass
class Result:
    """One participant's computed result."""

    score: Decimal | None
    grade: str | None
    dimension_scores: dict[str, Decimal]
    components: dict[str, dict]
    used: list[str]
    missing: list[str]


def grade_of(score: Decimal, bands: dict) -> str:
    """优秀 excellent ≥ 90, 良好 good ≥ 80, 合格 satisfactory ≥ 60, else 不合格 (defaults)."""
    for grade in ("excellent", "good", "satisfactory"):
        if score >= bands[grade]:
            return grade
    return "unsatisfactory"


def effective_weights(weights: dict, used: list[str]) -> dict[str, Decimal]:
    """Spread the weight of missing components over the used ones in proportion to their weights."""
    with localcontext(_CTX):
        total = sum((dec(weights[c]) for c in used), Decimal(0))
        if total == 0:
            return {c: Decimal(1) / len(used) for c in used} if used else {}
        return {c: dec(weights[c]) / total for c in used}


def compute(rubric: Rubric, settings: dict, reader: ReaderInputs,
            ratings: dict[str, list[dict[str, int]]]) -> Result:
    """The score of one participant.

    ``ratings`` maps self/peer/supervisor to the rating sets that count (each: code → 1..5).
    A component counts when it has enough answers (peer: ``min_peer_answers``, others: 1) and a
    non-zero weight; the weight of the others is spread over it in proportion. Per dimension, the
    components' means are combined with those weights; the rubric weights combine the dimensions
    into a 1-5 mean, and the 0-100 score is 20 × that mean.
    """
    weights = settings["rater_weights"]
    components: dict[str, dict] = {}
    per_dimension: dict[str, dict[str, Decimal]] = {}
    with localcontext(_CTX):
        value, why = reader_value(reader, settings)
        components["reader"] = {"answers": reader.rating_count, "value": value, "reason": why}
        if value is not None:
            per_dimension["reader"] = {code: value for code in rubric.codes}
        for rater_type in ("supervisor", "peer", "self"):
            sets = ratings.get(rater_type) or []
            needed = settings["min_peer_answers"] if rater_type == "peer" else 1
            entry = {"answers": len(sets), "value": None, "reason": None}
            if len(sets) < needed:
                entry["reason"] = f"{len(sets)} answer(s), {needed} needed"
            else:
                means = {code: Decimal(sum(s[code] for s in sets)) / Decimal(len(sets)) for code in rubric.codes}
                per_dimension[rater_type] = means
                entry["value"] = sum((d.weight * means[d.code] for d in rubric.dimensions), Decimal(0))
            components[rater_type] = entry
        for c in COMPONENTS:
            if components[c]["value"] is not None and dec(weights[c]) == 0:
                per_dimension.pop(c, None)
                components[c]["value"], components[c]["reason"] = None, "weight is 0"
        used = [c for c in COMPONENTS if c in per_dimension]
        missing = [c for c in COMPONENTS if c not in per_dimension]
        eff = effective_weights(weights, used)
        for c in COMPONENTS:
            components[c]["weight"] = dec(weights[c])
            components[c]["effective_weight"] = eff.get(c, Decimal(0))
        if not used:
            return Result(None, None, {}, _round_components(components), used, missing)
        dims = {d.code: sum((eff[c] * per_dimension[c][d.code] for c in used), Decimal(0))
                for d in rubric.dimensions}
        mean = sum((d.weight * dims[d.code] for d in rubric.dimensions), Decimal(0))
        score = q2(mean * 20)
    return Result(score, grade_of(score, settings["grade_bands"]), {k: q2(v) for k, v in dims.items()},
                  _round_components(components), used, missing)


def _round_components(components: dict) -> dict:
    out = {}
    for c in COMPONENTS:
        e = components[c]
        out[c] = {"used": e["value"] is not None, "answers": e["answers"],
                  "value": None if e["value"] is None else q2(e["value"]),
                  "weight": q2(e["weight"]), "effective_weight": e["effective_weight"].quantize(
                      Decimal("0.0001"), rounding=ROUND_HALF_UP),
                  "reason": e["reason"]}
    return out


def rank_within_branches(results: dict[str, tuple[str, Decimal | None]]) -> dict[str, tuple[int, int, Decimal]]:
    """staff_id → (branch, score) gives staff_id → (rank, branch size, percentile).

    Rank 1 is the best score; equal scores share a rank (1, 2, 2, 4). Percentile =
    100 × (n − rank) / (n − 1), 100 for a branch of one. Unscored staff are left out.
    """
    by_branch: dict[str, list[tuple[Decimal, str]]] = {}
    for staff_id, (branch_id, score) in results.items():
        if score is not None:
            by_branch.setdefault(branch_id, []).append((score, staff_id))
    out = {}
    for branch_id in sorted(by_branch):
        scores = sorted(by_branch[branch_id], key=lambda t: (-t[0], t[1]))
        n = len(scores)
        for score, staff_id in scores:
            rank = 1 + sum(1 for s, _ in scores if s > score)
            with localcontext(_CTX):
                pct = Decimal(100) if n == 1 else (Decimal(100) * (n - rank) / (n - 1)).quantize(
                    ONE_PLACE, rounding=ROUND_HALF_UP)
            out[staff_id] = (rank, n, pct)
    return out


def canonical(value) -> str:
    """Canonical JSON (sorted keys, decimals as text): the basis of the scores digest."""
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                      default=lambda v: str(v) if isinstance(v, Decimal) else v.isoformat())


def digest(rows: list[dict]) -> str:
    """SHA-256 over the canonical rows sorted by staff id."""
    text = canonical(sorted(rows, key=lambda r: r["staff_id"]))
    return hashlib.sha256(text.encode()).hexdigest()


# -- appeals -----------------------------------------------------------------------------------
def appeal_deadline(published_at: datetime, days: int, tz: str | None = None) -> datetime:
    """The last instant of the appeal window: ``days`` calendar days after publication at the same
    local time in the cycle's zone (as the incentive service's sanctions), in UTC."""
    # local arithmetic: where the zone keeps summer time, 14 days are not always 14 × 24 hours
    return (as_utc(published_at).astimezone(_zone(tz)) + timedelta(days=days)).astimezone(UTC)


def check_appeal(status: str, published_at: datetime, now: datetime, days: int, tz: str | None = None) -> None:
    """Appeal once, until ``appeal_deadline`` (inclusive), if not already acknowledged."""
    if status in ("appealed", "upheld", "revised"):
        raise Conflict("this result has already been appealed", "该结果已提出过申诉", code="already_appealed")
    if status == "acknowledged":
        raise Conflict("this result was acknowledged: it can no longer be appealed", "该结果已确认，不能再申诉",
                       code="already_acknowledged")
    if now > appeal_deadline(published_at, days, tz):
        raise Conflict(f"the {days}-day appeal window has closed", f"{days} 天申诉期已过", code="appeal_window_closed")


def check_acknowledge(status: str) -> None:
    """A published result is acknowledged once, and not while an appeal is pending."""
    if status == "acknowledged":
        raise Conflict("already acknowledged", "已确认", code="already_acknowledged")
    if status == "appealed":
        raise Conflict("an appeal is pending", "申诉处理中", code="appeal_pending")
