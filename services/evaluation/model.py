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
from shared.numbers import round_half_up
from shared.timeutil import UTC, as_utc, local_date, local_midnight, network_zone

COMPONENTS = ("reader", "supervisor", "peer", "self")
RATER_TYPES = ("self", "peer", "supervisor")  # the reader component comes from feedback events
GRADES = ("excellent", "good", "satisfactory", "unsatisfactory")
GRADE_LABELS_ZH = {"excellent": "优秀", "good": "良好", "satisfactory": "合格", "unsatisfactory": "不合格"}
CYCLE_STATES = ("draft", "open", "closed", "published")
CYCLE_STATE_LABELS_ZH = {"draft": "草稿", "open": "开放评价", "closed": "已关闭", "published": "已公布"}
#: What each cycle action is called in a Chinese text.
ACTION_LABELS_ZH = {"open": "开放", "close": "关闭", "publish": "公布", "edit": "修改", "delete": "删除",
                    "extend": "延长截止时间"}
RATER_TYPE_LABELS_ZH = {"self": "自评", "peer": "同事评价", "supervisor": "主管评价", "reader": "读者评价"}
#: Appeal states in this service, with the words the incentive service uses for its appeals
#: (``open`` / ``decided``) accepted as filters: open = pending, decided = upheld or revised.
APPEAL_STATES = ("pending", "upheld", "revised")
APPEAL_STATE_LABELS_ZH = {"pending": "待处理", "upheld": "维持原结果", "revised": "已改分"}
APPEAL_FILTERS = {"pending": ("pending",), "upheld": ("upheld",), "revised": ("revised",),
                  "open": ("pending",), "decided": ("upheld", "revised")}
SEVERITIES = ("low", "normal", "high", "urgent")
COUNTED_OUTCOMES = ("substantiated", "partially_substantiated")
#: Roles that are evaluated (network_admin and auditor accounts are not library-floor staff).
EVALUATED_ROLES = ("staff", "supervisor", "branch_manager")
#: Roles that give the supervisor rating of the staff of their branch.
SUPERVISOR_ROLES = ("supervisor", "branch_manager")
SCALE_MIN, SCALE_MAX = 1, 5

_CODE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CTX = Context(prec=28, rounding=ROUND_HALF_UP)


def dec(value) -> Decimal:
    """A Decimal from a number or its text (floats go through ``str`` so 0.1 stays 0.1)."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, float):
        value = repr(value)
    return Decimal(str(value))


def q2(value: Decimal) -> Decimal:
    """Round half up to two places (``shared.numbers.round_half_up``): the one rounding step of
    every published figure."""
    return round_half_up(value, 2)


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
        for label, label_zh in (("label_en", "英文名称"), ("label_zh", "中文名称")):
            if not (d.get(label) or "").strip():
                raise Invalid(f"dimension {code} needs {label}", f"维度 {code} 缺少{label_zh}",
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


SETTING_LABELS_ZH = {
    "rater_weights": "评价来源权重", "peers_per_person": "每人同事评价人数", "min_peer_answers": "最少同事评价数",
    "reader": "读者评价参数", "reader.min_ratings": "读者评价最少条数", "reader.praise_bonus": "每条表扬加分",
    "reader.praise_bonus_cap": "表扬加分上限", "reader.penalties": "投诉扣分", "grade_bands": "等级分数线",
    "appeal_days": "申诉天数", "timezone": "时区"}
_WORDS_ZH = {**RATER_TYPE_LABELS_ZH, **GRADE_LABELS_ZH, "substantiated": "投诉属实", "partially_substantiated": "部分属实",
             "low": "低", "normal": "一般", "high": "高", "urgent": "紧急"}


def setting_label_zh(field: str) -> str:
    """A setting's name in a Chinese text: "reader.penalties.substantiated.high" → 投诉扣分（投诉属实，高）,
    not its English key."""
    parts = field.split(".")
    for n in range(len(parts), 0, -1):
        head = ".".join(parts[:n])
        if head in SETTING_LABELS_ZH:
            rest = [_WORDS_ZH.get(p, p) for p in parts[n:]]
            return SETTING_LABELS_ZH[head] + (f"（{'，'.join(rest)}）" if rest else "")
    return field


def _number(value, field: str, low: Decimal, high: Decimal) -> Decimal:
    try:
        number = dec(value)
        if not number.is_finite():
            raise InvalidOperation
    except (InvalidOperation, ValueError, TypeError):
        raise Invalid(f"{field} must be a number", f"{setting_label_zh(field)}必须是数字", field=field) from None
    if not (low <= number <= high):
        raise Invalid(f"{field} must be between {low} and {high}", f"{setting_label_zh(field)}须在 {low} 与 {high} 之间",
                      field=field)
    return number


def _integer(value, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise Invalid(f"{field} must be a whole number", f"{setting_label_zh(field)}必须是整数", field=field)
    if not (low <= value <= high):
        raise Invalid(f"{field} must be between {low} and {high}", f"{setting_label_zh(field)}须在 {low} 与 {high} 之间",
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
        raise Invalid("rater_weights must be an object", "评价来源权重必须是对象", field="rater_weights")
    out = {"rater_weights": check_rater_weights(s["rater_weights"])}
    out["peers_per_person"] = _integer(s.get("peers_per_person"), "peers_per_person", 3, 10)
    out["min_peer_answers"] = _integer(s.get("min_peer_answers"), "min_peer_answers", 3, 10)
    if out["min_peer_answers"] > out["peers_per_person"]:
        raise Invalid("min_peer_answers cannot exceed peers_per_person", "最少同事评价数不能超过每人分配的同事数",
                      field="min_peer_answers")
    r = s.get("reader")
    if not isinstance(r, dict):
        raise Invalid("reader must be an object", "读者评价参数必须是对象", field="reader")
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
        raise Invalid("reader.penalties must be an object", "投诉扣分必须是对象", field="reader.penalties")
    for outcome in COUNTED_OUTCOMES:
        table = penalties.get(outcome)
        if not isinstance(table, dict):
            raise Invalid(f"reader.penalties.{outcome} must be an object", f"{setting_label_zh('reader.penalties.' + outcome)}必须是对象",
                          field=f"reader.penalties.{outcome}")
        reader["penalties"][outcome] = {
            sev: str(_number(table.get(sev), f"reader.penalties.{outcome}.{sev}", Decimal(0), Decimal(4)))
            for sev in SEVERITIES}
    out["reader"] = reader
    bands = s.get("grade_bands")
    if not isinstance(bands, dict):
        raise Invalid("grade_bands must be an object", "等级分数线必须是对象", field="grade_bands")
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


def check_deadline_ahead(deadline: datetime, now: datetime) -> None:
    """A new deadline lies ahead: a cycle whose deadline has passed could never take a rating
    (nor be opened). 422 naming ``submission_deadline``."""
    if as_utc(deadline) <= as_utc(now):
        raise Invalid("submission_deadline is in the past: give one still ahead",
                      "提交截止时间已过，请给出尚未到来的截止时间", field="submission_deadline",
                      code="deadline_in_past")


def check_extension(current: datetime, new: datetime, now: datetime) -> None:
    """An open cycle's deadline may only move later, and to a moment still ahead (422 otherwise)."""
    check_deadline_ahead(new, now)
    if as_utc(new) <= as_utc(current):
        raise Invalid("an open cycle's deadline can only be extended (later than the current one)",
                      "开放中的周期只能延长截止时间，不能提前", field="submission_deadline",
                      code="deadline_not_extended")


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


# -- who runs a cycle, who sees it -------------------------------------------------------------
def cycle_scope(role: str, branch_id: str | None, scope: str | None, branch_ids: list[str] | None
                ) -> tuple[str, list[str], str | None]:
    """``(scope, branch_ids, owner_branch_id)`` of a cycle created (or edited) by ``role``.

    The network office (network_admin) creates network cycles (the default) and cycles of any
    branches, which it alone runs (owner None). A branch manager creates a cycle of their own
    branch only (the default scope for them), which they run (owner = their branch); a network
    scope or another branch is refused (403).
    """
    ids = sorted(set(branch_ids or []))
    if role != "branch_manager":
        return scope or "network", ids, None
    if scope == "network":
        raise Forbidden("network-wide cycles are created by the network office (network_admin)",
                        "全馆评价周期由总馆（网络管理员）创建，馆长只能创建本分馆的评价周期")
    others = [b for b in ids if b != branch_id]
    if others:
        raise Forbidden(f"a branch manager creates cycles of their own branch only ({others[0]} is another)",
                        "馆长只能创建本分馆的评价周期")
    return "branches", [branch_id], branch_id


def cycle_visible(network_wide: bool, branch_id: str | None, scope: str, cycle_branch_ids: list[str]) -> bool:
    """Network roles see every cycle; the others the network's cycles and those of their branch."""
    return network_wide or scope == "network" or (branch_id is not None and branch_id in cycle_branch_ids)


def check_may_run(role: str, branch_id: str | None, owner_branch_id: str | None) -> None:
    """network_admin runs every cycle; a branch manager only their own branch's (403 otherwise)."""
    if role == "network_admin":
        return
    if role == "branch_manager" and owner_branch_id is not None and owner_branch_id == branch_id:
        return
    raise Forbidden("this cycle is run by the network office: a branch manager runs only the cycles of their "
                    "own branch", "该评价周期由总馆管理，馆长只能管理本分馆的评价周期")


# -- cycle states ------------------------------------------------------------------------------
TRANSITIONS = {"open": ("draft", "open"), "close": ("open", "closed"), "publish": ("closed", "published")}


def check_transition(status: str, action: str) -> str:
    """The state after ``action``; 409 if the cycle is not in the state the action needs."""
    before, after = TRANSITIONS[action]
    check_state(status, action, before)
    return after


def check_state(status: str, action: str, *allowed: str) -> None:
    """409 ``cycle_state`` unless the cycle is in one of the ``allowed`` states for ``action``."""
    if status not in allowed:
        zh = "或".join(CYCLE_STATE_LABELS_ZH[a] for a in allowed)
        raise Conflict(f"cannot {action} a cycle that is {status} (it must be {' or '.join(allowed)})",
                       f"周期当前为“{CYCLE_STATE_LABELS_ZH.get(status, status)}”状态，无法{ACTION_LABELS_ZH[action]}"
                       f"（需为“{zh}”）", code="cycle_state")


def check_submission_window(status: str, deadline: datetime, now: datetime) -> None:
    """Ratings are taken while the cycle is open and until its deadline (409 otherwise)."""
    if status != "open":
        raise Conflict(f"the cycle is {status}: ratings are taken only while it is open",
                       f"周期当前为“{CYCLE_STATE_LABELS_ZH.get(status, status)}”状态，仅在开放期间可提交评价",
                       code="cycle_not_open")
    if now > deadline:
        raise Conflict("the submission deadline has passed", "评价提交截止时间已过", code="deadline_passed")


# -- peers -------------------------------------------------------------------------------------
def _order_key(cycle_id: str, staff_id: str) -> str:
    return hashlib.sha256(f"{cycle_id}:{staff_id}".encode()).hexdigest()


#: Levels of the evaluated roles: someone of a higher level in the branch supervises the person
#: (a supervisor the staff, the branch manager everybody), so is never their peer.
LEVELS = {"staff": 0, "supervisor": 1, "branch_manager": 2}


def peer_group(branch_id: str, role: str) -> tuple[str, str]:
    """The colleagues a participant's peers are drawn from: the same role in the same branch;
    branch managers (one per branch) are colleagues of the other branches' managers."""
    return ("*", role) if role == "branch_manager" else (branch_id, role)


def assign_peers(cycle_id: str, members: list[tuple[str, str, str]], per_person: int) -> dict[str, list[str]]:
    """Peers for each ``(staff_id, branch_id, role)``: colleagues of the same level, never
    themselves and never someone who supervises them.

    Staff are peers of the staff of their branch, supervisors of its supervisors, and branch
    managers of the other branches' managers in the cycle (``peer_group``): a supervisor who
    gives a staff member the supervisor rating is never also one of their peers. Within a group,
    people are put in a ring in an order drawn from the cycle id (so it differs from cycle to
    cycle but is reproducible) and each rates the next ``k`` people of the ring,
    ``k = min(per_person, group size - 1)``: everybody gets ``k`` peers and rates ``k`` people.
    """
    by_group: dict[tuple[str, str], list[str]] = {}
    for staff_id, branch_id, role in members:
        by_group.setdefault(peer_group(branch_id, role), []).append(staff_id)
    peers: dict[str, list[str]] = {}
    for group in sorted(by_group):
        ring = sorted(set(by_group[group]), key=lambda s: (_order_key(cycle_id, s), s))
        n = len(ring)
        k = min(per_person, n - 1)
        for i, staff_id in enumerate(ring):
            # i rates i+1..i+k, so the peers of i are i-1..i-k
            peers[staff_id] = sorted(ring[(i - j) % n] for j in range(1, k + 1))
    return peers


def supervises(rater: tuple[str, str], person: tuple[str, str]) -> bool:
    """Does a participant ``(branch_id, role)`` supervise another: same branch, higher level."""
    return rater[0] == person[0] and LEVELS.get(rater[1], 0) > LEVELS.get(person[1], 0)


def check_peer_change(staff_id: str, peer_ids: list[str], participants) -> list[str]:
    """A manual peer list: cycle participants only, not the person themselves, no repeats, and
    nobody who supervises the person (``participants``: staff id → (branch_id, role), or a set
    of ids when roles are not known)."""
    if len(peer_ids) > 10:
        raise Invalid("at most 10 peers", "最多 10 名同事评价人", field="peer_ids")
    if len(set(peer_ids)) != len(peer_ids):
        raise Invalid("a peer is listed twice", "同事评价人重复", field="peer_ids")
    if staff_id in peer_ids:
        raise Invalid("nobody is their own peer", "不能指定本人为同事评价人", field="peer_ids")
    strangers = sorted(set(peer_ids) - set(participants))
    if strangers:
        raise Invalid(f"{strangers[0]} is not a participant of this cycle", f"{strangers[0]} 不是本周期的参评人员",
                      field="peer_ids")
    if isinstance(participants, dict) and staff_id in participants:
        bosses = sorted(p for p in peer_ids if supervises(participants[p], participants[staff_id]))
        if bosses:
            raise Invalid(f"{bosses[0]} supervises this staff member: a supervisor or the branch manager is "
                          "never a peer", "主管或馆长不能作为其下属的同事评价人", field="peer_ids",
                          code="supervisor_as_peer")
    return sorted(peer_ids)


# -- ratings -----------------------------------------------------------------------------------
def check_ratings(rubric: Rubric, scores: dict) -> dict[str, int]:
    """One whole number 1-5 for every dimension of the rubric, and nothing else."""
    unknown = sorted(set(scores) - set(rubric.codes))
    if unknown:
        raise Invalid(f"{unknown[0]} is not a dimension of rubric version {rubric.version}",
                      f"{unknown[0]} 不是第 {rubric.version} 版评价量表的维度", field=f"scores.{unknown[0]}")
    out = {}
    for d in rubric.dimensions:
        code = d.code
        if code not in scores:
            raise Invalid(f"a rating for {code} is required", f"缺少维度“{d.label_zh}”的评分", field=f"scores.{code}")
        value = scores[code]
        if isinstance(value, bool) or not isinstance(value, int) or not (SCALE_MIN <= value <= SCALE_MAX):
            raise Invalid(f"rating of {code} must be a whole number from 1 to 5",
                          f"维度“{d.label_zh}”的评分须为 1–5 的整数", field=f"scores.{code}")
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
        if rater_id in assigned_peers:
            # one person, one voice: a colleague rates as a peer, not also as a supervisor
            raise Forbidden("you rate this person as a peer: a peer does not also give the supervisor rating",
                            "您是该员工的同事评价人，不能再提交主管评价")


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
                  "weight": q2(e["weight"]), "effective_weight": round_half_up(e["effective_weight"], 4),
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
                pct = Decimal(100) if n == 1 else round_half_up(Decimal(100) * (n - rank) / (n - 1), 1)
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


# -- telling raters what they have to do -------------------------------------------------------
#: The deadline reminder goes this many days before a cycle's submission deadline.
DEADLINE_REMINDER_DAYS = 3


def peer_requests(assigned: dict[str, list[str]]) -> dict[str, int]:
    """Rater → how many colleagues they rate, from ``assigned`` (ratee → their peer raters)."""
    counts: dict[str, int] = {}
    for raters in assigned.values():
        for rater in raters:
            counts[rater] = counts.get(rater, 0) + 1
    return dict(sorted(counts.items()))


def reminder_due(deadline: datetime, now: datetime, days: int = DEADLINE_REMINDER_DAYS) -> bool:
    """True from ``days`` days before the deadline until it passes (a reminder after it is no use)."""
    return deadline - timedelta(days=days) <= now < deadline


def unfinished_raters(members: dict[str, tuple[str, str]], peer_pairs: set[tuple[str, str]],
                      submitted: set[tuple[str, str, str]]) -> dict[str, dict]:
    """Participants who still have ratings to give → what is missing.

    ``members``: staff → (branch, role); ``peer_pairs``: (ratee, rater); ``submitted``: (ratee,
    rater_type, rater). Everyone owes their self-rating and their assigned peer ratings; a supervisor
    or branch manager also owes a supervisor rating of each colleague of their branch they do not
    already rate as a peer (the same rule as the rater's own assignments list)."""
    rated_as_peer: dict[str, set[str]] = {}
    for ratee, rater in peer_pairs:
        rated_as_peer.setdefault(rater, set()).add(ratee)
    out = {}
    for staff_id, (branch_id, role) in sorted(members.items()):
        self_pending = (staff_id, "self", staff_id) not in submitted
        peers = rated_as_peer.get(staff_id, set())
        peers_pending = sum(1 for ratee in peers if (ratee, "peer", staff_id) not in submitted)
        supervisor_pending = 0
        if role in SUPERVISOR_ROLES:
            supervisor_pending = sum(
                1 for other, (other_branch, _) in members.items()
                if other != staff_id and other_branch == branch_id and other not in peers
                and (other, "supervisor", staff_id) not in submitted)
        if self_pending or peers_pending or supervisor_pending:
            out[staff_id] = {"branch_id": branch_id, "self_pending": self_pending, "peers_pending": peers_pending,
                             "supervisor_pending": supervisor_pending}
    return out
