"""Report figures in plain Python: periods, medians and percentiles, rates, changes, sentences.

No Flask, Kafka or SQL here. The store hands over rollup rows (one per branch and day, or per
complaint) and these functions turn any subset of them into figures, so the overview, the branch
comparison, the trends and the review all compute a figure the same way.
"""
from __future__ import annotations

import calendar
import math
import re
from dataclasses import dataclass
from datetime import date, timedelta

from shared.errors import Invalid  # noqa: F401 - used by the API too
from shared.suppression import complementary_suppression

MIN_GROUP_SIZE = 5  # survey groups under 5 answers are suppressed (as in the feedback service)
MAX_TREND_MONTHS = 36
MAX_RANGE_DAYS = 3 * 366 + 1
ANNUAL_TRAINING_HOURS = 40.0  # continuing-education hours a year per person (the regulation's default)
SEVERITIES = ("urgent", "high", "normal", "low")
SANCTION_LEVELS = ("notice", "verbal_warning", "written_warning", "improvement_plan", "referral")
GRADES = ("excellent", "good", "satisfactory", "unsatisfactory")


# -- periods ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Period:
    """A span of whole days in the network's calendar, both ends included."""

    kind: str  # month | quarter | year | range
    start: date
    end: date

    @property
    def label(self) -> str:
        if self.kind == "year":
            return f"{self.start.year}"
        if self.kind == "quarter":
            return f"{self.start.year}-Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == "month":
            return f"{self.start.year}-{self.start.month:02d}"
        return f"{self.start.isoformat()}..{self.end.isoformat()}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        """The period just before: the previous month, quarter or year, or as many days before."""
        if self.kind == "range":
            return Period("range", self.start - timedelta(days=self.days), self.start - timedelta(days=1))
        return _calendar_period(self.kind, self.start - timedelta(days=1))

    def year_before(self) -> "Period":
        """The same period a year earlier (29 February becomes 28 February)."""
        return Period(self.kind, _minus_year(self.start), _minus_year(self.end))

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end


def _minus_year(day: date) -> date:
    if day.month == 2 and day.day == 29:
        return date(day.year - 1, 2, 28)
    return day.replace(year=day.year - 1)


def _calendar_period(kind: str, day: date) -> Period:
    if kind == "year":
        return Period("year", date(day.year, 1, 1), date(day.year, 12, 31))
    if kind == "quarter":
        first = 3 * ((day.month - 1) // 3) + 1
        return Period("quarter", date(day.year, first, 1),
                      date(day.year, first + 2, calendar.monthrange(day.year, first + 2)[1]))
    return Period("month", date(day.year, day.month, 1),
                  date(day.year, day.month, calendar.monthrange(day.year, day.month)[1]))


_LABEL = re.compile(r"^(?P<year>\d{4})(?:-(?:Q(?P<quarter>[1-4])|(?P<month>0[1-9]|1[0-2])))?$")


def parse_period(label: str | None, start: date | None, end: date | None, today: date,
                 field: str = "period") -> Period:
    """The period a query asks for: ``2026`` | ``2026-Q4`` | ``2026-11`` | ``from``/``to`` dates |
    nothing (the current quarter). Anything else is a 422 naming the field."""
    if start is not None or end is not None:
        if label:
            raise Invalid("give either period or from/to, not both", "请只填写统计期间或起止日期之一", field=field)
        if start is None or end is None:
            missing = "from" if start is None else "to"
            raise Invalid(f"{missing} is required with a date range", "起止日期须同时填写", field=missing)
        if end < start:
            raise Invalid("to is before from", "结束日期早于开始日期", field="to")
        if (end - start).days + 1 > MAX_RANGE_DAYS:
            raise Invalid("a date range spans at most three years", "日期范围最长三年", field="to")
        return Period("range", start, end)
    if not label:
        return _calendar_period("quarter", today)
    match = _LABEL.match(label.strip())
    if not match:
        raise Invalid(f"period {label!r} is not YYYY, YYYY-Qn or YYYY-MM",
                      f"统计期间 {label!r} 格式无效，应为 年、年-季度（如 2026-Q4）或 年-月", field=field)
    year = int(match["year"])
    if not 2000 <= year <= 2100:
        raise Invalid("the year must be between 2000 and 2100", "年份须在 2000 到 2100 之间", field=field)
    if match["quarter"]:
        return _calendar_period("quarter", date(year, 3 * int(match["quarter"]) - 2, 1))
    if match["month"]:
        return _calendar_period("month", date(year, int(match["month"]), 1))
    return _calendar_period("year", date(year, 1, 1))


def months_of(start_month: date, end_month: date) -> list[Period]:
    """Every calendar month from the month of ``start_month`` to that of ``end_month``."""
    months, day = [], date(start_month.year, start_month.month, 1)
    while day <= end_month:
        months.append(_calendar_period("month", day))
        day = months[-1].end + timedelta(days=1)
    return months


def parse_month(text: str, field: str) -> date:
    """``2026-11`` → 1 November 2026, or a 422 naming ``field``."""
    match = re.match(r"^(\d{4})-(0[1-9]|1[0-2])$", text or "")
    if not match:
        raise Invalid(f"{field} must be YYYY-MM", f"{field} 须为 年-月（如 2026-11）", field=field)
    return date(int(match[1]), int(match[2]), 1)


# -- statistics --------------------------------------------------------------------------------
def median(values) -> float | None:
    """The median (mean of the middle two for an even count), None when empty."""
    ordered = sorted(values)
    n = len(ordered)
    if not n:
        return None
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def percentile_of_histogram(histogram: dict, fraction: float) -> float | None:
    """Nearest-rank percentile of a {value: count} histogram: the smallest value with at least
    ``ceil(fraction × n)`` values at or below it."""
    n = sum(histogram.values())
    if not n:
        return None
    rank = max(1, math.ceil(fraction * n))
    seen = 0
    for value in sorted(histogram):
        seen += histogram[value]
        if seen >= rank:
            return float(value)
    return None  # unreachable


def rate(part: int, whole: int) -> float | None:
    """part / whole, None when there is nothing to divide by."""
    return None if not whole else part / whole


def mean(total: float, count: int) -> float | None:
    return None if not count else total / count


def rounded(value, places: int = 4):
    """A figure for the wire: counts stay whole numbers, the others get ``places`` decimals."""
    if value is None or isinstance(value, int):
        return value
    return round(float(value), places)


# -- the figures -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Figure:
    """One headline figure: its label in both languages, its unit and which way is better."""

    key: str
    zh: str
    en: str
    unit: str  # rate | count | hours | minutes | stars | score | cny | gap
    better: str  # higher | lower | neutral


FIGURES = [
    Figure("complaints_filed", "投诉受理数", "Complaints filed", "count", "lower"),
    Figure("acknowledged_on_time_rate", "投诉按时响应率", "Complaints acknowledged on time", "rate", "higher"),
    Figure("resolved_on_time_rate", "投诉按时办结率", "Complaints resolved on time", "rate", "higher"),
    Figure("complaints_breached", "投诉超时数", "Complaints past an SLA target", "count", "lower"),
    Figure("median_hours_to_acknowledge", "投诉响应时长中位数（小时）", "Median time to acknowledge (hours)", "hours",
           "lower"),
    Figure("median_hours_to_resolve", "投诉办结时长中位数（小时）", "Median time to resolve (hours)", "hours", "lower"),
    Figure("substantiated_share", "投诉属实比例", "Share of complaints substantiated", "rate", "lower"),
    Figure("resolution_rating_mean", "读者对投诉处理的评分", "Readers' rating of resolutions", "stars", "higher"),
    Figure("desk_ratings", "服务台评价数", "Desk ratings", "count", "neutral"),
    Figure("desk_stars_mean", "服务台平均星级", "Desk ratings, mean stars", "stars", "higher"),
    Figure("wait_mean_minutes", "平均等候时间（分钟）", "Mean wait (minutes)", "minutes", "lower"),
    Figure("wait_p90_minutes", "等候时间第90百分位（分钟）", "90th-percentile wait (minutes)", "minutes", "lower"),
    Figure("praise", "表扬数", "Praise received", "count", "higher"),
    Figure("training_hours_per_person", "人均继续教育学时", "Training hours per person", "hours", "higher"),
    Figure("training_compliance_share", "培训达标比例", "Share of staff with no training overdue", "rate", "higher"),
    Figure("evaluation_score_mean", "考核平均分", "Mean evaluation score", "score", "higher"),
    Figure("excellent_share", "考核优秀比例", "Share graded excellent", "rate", "higher"),
    Figure("awards_granted", "奖励发放数", "Awards granted", "count", "neutral"),
    Figure("awards_amount", "奖励金额（元）", "Awards paid (CNY)", "cny", "neutral"),
    Figure("sanctions_issued", "处理（含提醒）数", "Sanctions and notices issued", "count", "lower"),
    Figure("appeals_filed", "申诉数", "Appeals filed", "count", "neutral"),
    Figure("appeals_overturned", "申诉改判数", "Appeals overturned", "count", "neutral"),
]
FIGURE = {f.key: f for f in FIGURES}


def complaint_figures(complaints: list[dict]) -> dict:
    """The complaint figures of the complaints filed in a period (one dict per complaint).

    On time = met without an SLA breach event; the rate's base is the complaints whose target was
    met or missed (still-open complaints within their time count in neither).
    """
    acked = [c for c in complaints if c["acknowledged_at"] is not None]
    resolved = [c for c in complaints if c["resolved_at"] is not None and c["outcome"] is not None]
    ack_on_time = sum(1 for c in acked if not c["ack_breached"])
    ack_settled = len(acked) + sum(1 for c in complaints if c["acknowledged_at"] is None and c["ack_breached"])
    res_on_time = sum(1 for c in resolved if not c["resolve_breached"])
    res_settled = len(resolved) + sum(1 for c in complaints if c["resolved_at"] is None and c["resolve_breached"])
    judged = [c for c in resolved if c["outcome"] != "withdrawn"]
    ratings = [c["rating"] for c in complaints if c["rating"] is not None]
    return {
        "complaints_filed": len(complaints),
        "acknowledged_on_time": ack_on_time,
        "acknowledged_on_time_rate": rate(ack_on_time, ack_settled),
        "resolved_on_time": res_on_time,
        "resolved_on_time_rate": rate(res_on_time, res_settled),
        "complaints_breached": sum(1 for c in complaints if c["ack_breached"] or c["resolve_breached"]),
        "median_hours_to_acknowledge": median(
            (c["acknowledged_at"] - c["filed_at"]).total_seconds() / 3600 for c in acked),
        "median_hours_to_resolve": median(
            (c["resolved_at"] - c["filed_at"]).total_seconds() / 3600 for c in resolved),
        "substantiated_share": rate(sum(1 for c in judged if c["outcome"] == "substantiated"), len(judged)),
        "resolution_rating_mean": mean(sum(ratings), len(ratings)),
    }


def complaint_figures_from_sums(rows: list[dict], medians: dict | None = None) -> dict:
    """``complaint_figures`` from counts summed per group (``store.complaint_sums`` rows, any number
    of them for one scope) and the scope's medians ``{"ack": hours, "res": hours}``."""
    total = {k: sum(r[k] for r in rows) for k in ("filed", "acked", "ack_on_time", "ack_missed_open", "resolved",
                                                  "res_on_time", "res_missed_open", "breached", "judged",
                                                  "substantiated", "ratings", "rating_sum")}
    medians = medians or {}
    return {
        "complaints_filed": total["filed"],
        "acknowledged_on_time": total["ack_on_time"],
        "acknowledged_on_time_rate": rate(total["ack_on_time"], total["acked"] + total["ack_missed_open"]),
        "resolved_on_time": total["res_on_time"],
        "resolved_on_time_rate": rate(total["res_on_time"], total["resolved"] + total["res_missed_open"]),
        "complaints_breached": total["breached"],
        "median_hours_to_acknowledge": medians.get("ack"),
        "median_hours_to_resolve": medians.get("res"),
        "substantiated_share": rate(total["substantiated"], total["judged"]),
        "resolution_rating_mean": mean(total["rating_sum"], total["ratings"]),
    }


def desk_figures(rows: list[dict], wait_rows: list[dict] = ()) -> dict:
    """Desk ratings from rollups: counts, star sums, wait sums; the p90 from the wait histogram rows
    (``minutes``, ``waits``) of the same scope and period."""
    ratings = sum(r["ratings"] for r in rows)
    waits = sum(r["waits"] for r in rows)
    histogram: dict[int, int] = {}
    for row in wait_rows:
        histogram[row["minutes"]] = histogram.get(row["minutes"], 0) + row["waits"]
    return {"desk_ratings": ratings, "desk_stars_mean": mean(sum(r["stars_sum"] for r in rows), ratings),
            "wait_mean_minutes": mean(sum(r["wait_sum"] for r in rows), waits),
            "wait_p90_minutes": percentile_of_histogram(histogram, 0.9)}


def training_figures(rows: list[dict], overdue_staff: set, staff_count: int, period_days: int) -> dict:
    """Hours per person against the pro-rated yearly requirement; compliance = no requirement
    overdue in the period. ``staff_count`` is the active staff of the branches in scope."""
    credit = sum(r["credit_hours"] for r in rows)
    return {"training_hours_per_person": mean(credit, staff_count),
            "training_hours_target_per_person": round(ANNUAL_TRAINING_HOURS * period_days / 365, 2),
            "training_compliance_share": rate(staff_count - min(len(overdue_staff), staff_count), staff_count)}


def evaluation_figures(results: list[dict]) -> dict:
    """Grade distribution and mean score of the results published in the period (latest revision):
    one row per result (``grade``, ``score``) or per group of them (``grade``, ``n``, ``score_sum``)."""
    grades = {g: sum(r.get("n", 1) for r in results if r["grade"] == g) for g in GRADES}
    evaluated = sum(r.get("n", 1) for r in results)
    return {"evaluation_score_mean": mean(sum(r["score_sum"] if "n" in r else r["score"] for r in results), evaluated),
            "excellent_share": rate(grades["excellent"], evaluated), "grades": grades, "evaluated": evaluated}


def ledger_figures(awards: list[dict], sanctions: list[dict], appeals: list[dict]) -> dict:
    """Awards granted (net of revocations), sanctions by level, appeals and their outcomes."""
    by_level = {level: sum(r["issued"] for r in sanctions if r["level"] == level) for level in SANCTION_LEVELS}
    revoked = sum(r["revoked"] for r in sanctions)
    outcomes = {kind: {"filed": sum(r["filed"] for r in appeals if r["kind"] == kind),
                       "upheld": sum(r["upheld"] for r in appeals if r["kind"] == kind),
                       "overturned": sum(r["overturned"] for r in appeals if r["kind"] == kind)}
                for kind in ("sanction", "evaluation")}
    return {"awards_granted": sum(r["granted"] for r in awards) - sum(r["revoked"] for r in awards),
            "awards_amount": round(sum(r["granted_amount"] for r in awards)
                                   - sum(r["revoked_amount"] for r in awards), 2),
            "awards_pending": sum(r["pending"] for r in awards),
            "sanctions_issued": sum(by_level.values()), "sanctions_by_level": by_level,
            "sanctions_revoked": revoked,
            "appeals_filed": sum(o["filed"] for o in outcomes.values()),
            "appeals_overturned": sum(o["overturned"] for o in outcomes.values()), "appeals": outcomes}


def survey_dimension_figures(rows: list[dict]) -> list[dict]:
    """Per dimension: answers, mean minimum/desired/perceived and the LibQUAL+ gaps (adequacy =
    perceived − minimum, superiority = perceived − desired); dimensions under 5 answers hidden."""
    cells: dict[str, list] = {}
    for row in rows:
        cell = cells.setdefault(row["dimension"], [0, 0, 0, 0])
        for index, key in enumerate(("n", "s_min", "s_des", "s_per")):
            cell[index] += row[key]
    return [triad_cell({"dimension": d}, *cells[d]) for d in sorted(cells)]


def triad_cell(base: dict, n: int, s_min: float, s_des: float, s_per: float) -> dict:
    """One survey cell's means and gaps, or its figures blanked when under MIN_GROUP_SIZE answers."""
    if n < MIN_GROUP_SIZE:
        return {**base, "n": None, "suppressed": True, "minimum": None, "desired": None, "perceived": None,
                "adequacy_gap": None, "superiority_gap": None}
    minimum, desired, perceived = s_min / n, s_des / n, s_per / n
    return {**base, "n": n, "suppressed": False, "minimum": round(minimum, 4), "desired": round(desired, 4),
            "perceived": round(perceived, 4), "adequacy_gap": round(perceived - minimum, 4),
            "superiority_gap": round(perceived - desired, 4)}


def suppress_breakdown(cells: list[dict], group_key: str) -> list[dict]:
    """Apply complementary suppression to the cells of one breakdown (same figure, one per group)."""
    hide = complementary_suppression([(c[group_key], c["n"], c["suppressed"]) for c in cells])
    out = []
    for cell in cells:
        if cell[group_key] in hide and not cell["suppressed"]:
            cell = {**cell, "n": None, "suppressed": True, "minimum": None, "desired": None, "perceived": None,
                    "adequacy_gap": None, "superiority_gap": None}
        out.append(cell)
    return out


# -- changes and sentences -----------------------------------------------------------------------
def change(key: str, current, previous) -> dict:
    """How a figure moved: the difference (percentage points for rates), its direction and whether
    that is better or worse for the network (None when either value is missing)."""
    figure = FIGURE[key]
    if current is None or previous is None:
        return {"delta": None, "direction": None, "assessment": None}
    delta = (current - previous) * (100 if figure.unit == "rate" else 1)
    delta = round(delta, 2)
    direction = "up" if delta > 0 else "down" if delta < 0 else "same"
    if direction == "same" or figure.better == "neutral":
        assessment = "same" if direction == "same" else "neutral"
    else:
        assessment = "better" if (direction == "up") == (figure.better == "higher") else "worse"
    return {"delta": delta, "direction": direction, "assessment": assessment}


_AGAINST = {
    "previous": {"month": ("较上月", "on the previous month"), "quarter": ("较上季度", "on the previous quarter"),
                 "year": ("较上年", "on the previous year"), "range": ("较上一期间", "on the previous period")},
    "year_before": {"month": ("较去年同月", "on the same month a year before"),
                    "quarter": ("较去年同季度", "on the same quarter a year before"),
                    "year": ("较上年", "on the year before"),
                    "range": ("较去年同期", "on the same period a year before")},
}


def format_value(key: str, value) -> tuple[str, str]:
    """A figure's value as a person reads it, in Chinese and English."""
    unit = FIGURE[key].unit
    if value is None:
        return "无数据", "no data"
    if unit == "rate":
        text = f"{value * 100:.0f}%"
        return text, text
    if unit == "count":
        return f"{value:.0f}", f"{value:.0f}"
    if unit == "cny":
        return f"{value:,.2f} 元", f"CNY {value:,.2f}"
    return f"{value:.1f}", f"{value:.1f}"


def _delta_words(key: str, delta: float) -> tuple[str, str]:
    unit = FIGURE[key].unit
    size = abs(delta)
    if unit == "rate":
        return f"{size:.0f} 个百分点", f"{size:.0f} point{'' if round(size) == 1 else 's'}"
    if unit == "count":
        return f"{size:.0f}", f"{size:.0f}"
    if unit == "cny":
        return f"{size:,.2f} 元", f"CNY {size:,.2f}"
    return f"{size:.1f}", f"{size:.1f}"


def sentence(key: str, current, previous, period_kind: str, against: str = "previous") -> dict:
    """A plain-language line: "投诉按时办结率 92%，较上季度提高 6 个百分点" /
    "Complaints resolved on time: 92%, up 6 points on the previous quarter"."""
    figure = FIGURE[key]
    value_zh, value_en = format_value(key, current)
    against_zh, against_en = _AGAINST[against][period_kind]
    moved = change(key, current, previous)
    if moved["delta"] is None:
        tail_zh, tail_en = f"{against_zh}无可比数据", f"nothing to compare {against_en}"
    elif moved["direction"] == "same":
        tail_zh, tail_en = f"{against_zh}持平", f"unchanged {against_en}"
    else:
        size_zh, size_en = _delta_words(key, moved["delta"])
        tail_zh = f"{against_zh}{'提高' if moved['direction'] == 'up' else '下降'} {size_zh}"
        tail_en = f"{'up' if moved['direction'] == 'up' else 'down'} {size_en} {against_en}"
    return {"zh": f"{figure.zh} {value_zh}，{tail_zh}", "en": f"{figure.en}: {value_en}, {tail_en}"}


def review_lines(current: dict, previous: dict, year_before: dict, period_kind: str) -> list[dict]:
    """Every headline figure with its changes and sentences; worse areas first, then the rest."""
    lines = []
    for figure in FIGURES:
        now = current.get(figure.key)
        vs_prev = change(figure.key, now, previous.get(figure.key))
        vs_year = change(figure.key, now, year_before.get(figure.key))
        lines.append({"figure": figure.key, "label_zh": figure.zh, "label_en": figure.en, "unit": figure.unit,
                      "value": now, "previous": previous.get(figure.key),
                      "year_before": year_before.get(figure.key),
                      "change_previous": vs_prev, "change_year_before": vs_year,
                      "sentence_previous": sentence(figure.key, now, previous.get(figure.key), period_kind),
                      "sentence_year_before": sentence(figure.key, now, year_before.get(figure.key), period_kind,
                                                       "year_before")})

    def order(line):
        worse = "worse" in (line["change_previous"]["assessment"], line["change_year_before"]["assessment"])
        return (0 if worse else 1, FIGURES.index(FIGURE[line["figure"]]))
    return sorted(lines, key=order)


def network_median(values) -> float | None:
    """The median of the branches' values of a figure (branches without a value left out)."""
    return median(v for v in values if v is not None)


# -- bundles of rollup rows -------------------------------------------------------------------------
#: Each kind of row a report reads, with the column holding its day.
DAY_OF = {"complaints": "filed_day", "desk": "day", "praise": "day", "training": "day", "overdue": "day",
          "evaluations": "day", "awards": "day", "sanctions": "day", "appeals": "day", "surveys": "day"}


def subset(bundle: dict, branch_id: str | None = None, period: Period | None = None) -> dict:
    """The rows of a bundle for one branch and/or a shorter period."""
    out = {}
    for kind, rows in bundle.items():
        day = DAY_OF[kind]
        out[kind] = [r for r in rows if (branch_id is None or r["branch_id"] == branch_id)
                     and (period is None or period.start <= r[day] <= period.end)]
    return out


def by_branch(bundle: dict) -> dict[str, dict]:
    """The rows of a bundle split per branch in one pass (a comparison of many branches must not
    filter the whole bundle once per branch)."""
    out: dict[str, dict] = {}
    for kind, rows in bundle.items():
        for row in rows:
            out.setdefault(row["branch_id"], {k: [] for k in bundle})[kind].append(row)
    return out


def by_month(bundle: dict) -> dict[tuple, dict]:
    """The rows of a bundle split per calendar month (year, month) of their day, in one pass."""
    out: dict[tuple, dict] = {}
    for kind, rows in bundle.items():
        day = DAY_OF[kind]
        for row in rows:
            out.setdefault((row[day].year, row[day].month), {k: [] for k in bundle})[kind].append(row)
    return out


def empty_like(bundle: dict) -> dict:
    return {k: [] for k in bundle}


def headline(bundle: dict, staff_count: int, period_days: int) -> dict:
    """Every figure of one scope (a branch or the network) and period from its rows."""
    figures = {}
    if "medians" in bundle:  # grouped rows (store.complaint_sums) and the scope's medians
        figures.update(complaint_figures_from_sums(bundle["complaints"], bundle["medians"]))
    else:
        figures.update(complaint_figures(bundle["complaints"]))
    figures.update(desk_figures(bundle["desk"], bundle.get("waits", ())))
    figures["praise"] = sum(r["praise"] for r in bundle["praise"])
    figures.update(training_figures(bundle["training"], {r["staff_id"] for r in bundle["overdue"]}, staff_count,
                                    period_days))
    figures.update(evaluation_figures(bundle["evaluations"]))
    figures.update(ledger_figures(bundle["awards"], bundle["sanctions"], bundle["appeals"]))
    figures["survey_dimensions"] = survey_dimension_figures(bundle["surveys"])
    return figures


def flat(figures: dict) -> dict:
    """Only the headline figures (numbers) of ``headline``'s result, rounded for the wire."""
    return {f.key: rounded(figures.get(f.key)) for f in FIGURES}
