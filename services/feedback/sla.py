"""SLA arithmetic: targets counted in calendar time or in a branch's opening hours, with pauses.

Plain Python, no I/O. All instants are aware UTC datetimes; opening hours are local wall-clock
times in the branch's time zone (default Asia/Shanghai). A complaint's clock runs only inside
*working intervals*: the branch's open hours (or all the time, 24x7) minus the pauses while the
complaint waits on the reader.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.errors import Invalid
from shared.timeutil import UTC

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: How Chinese messages name the weekdays (never the codes above).
WEEKDAYS_ZH = dict(zip(WEEKDAYS, ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")))
DEFAULT_TIMEZONE = "Asia/Shanghai"
#: How far ahead a due time is searched (a calendar open a few hours a year still ends).
HORIZON_DAYS = 3 * 366
#: 24x7 is represented by a single interval this long.
_FOREVER = timedelta(days=HORIZON_DAYS)
MAX_CLOSED_DATES = 400

Pause = tuple[datetime, "datetime | None"]


def _minutes(text: str, field_name: str) -> int:
    """``"09:30"`` → 570; ``"24:00"`` is the end of the day (1440)."""
    try:
        hours, minutes = text.split(":")
        value = int(hours) * 60 + int(minutes)
        if len(minutes) != 2 or not 0 <= int(minutes) < 60 or not 0 <= value <= 1440:
            raise ValueError
    except (ValueError, AttributeError):
        raise Invalid(f"{text!r} is not a time of day HH:MM (00:00-24:00)",
                      f"{text!r} 不是有效的时间（HH:MM，00:00-24:00）", field=field_name) from None
    return value


def _text(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True)
class OpeningHours:
    """A branch's weekly opening hours (local time) and the dates it is closed."""

    timezone: str = DEFAULT_TIMEZONE
    #: weekday (mon..sun) → sorted, non-overlapping (start, end) minutes after local midnight
    week: dict = field(default_factory=dict)
    closed_dates: frozenset = frozenset()

    @classmethod
    def from_dict(cls, data: dict) -> "OpeningHours":
        """Parse ``{"timezone": ..., "week": {"mon": [["09:00", "21:00"]], ...}, "closed_dates": [...]}``.

        Raises ``Invalid`` naming the field when anything is wrong (unknown weekday, bad time,
        overlapping or empty intervals, a week with no open time at all).
        """
        tz = data.get("timezone") or DEFAULT_TIMEZONE
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise Invalid(f"unknown time zone {tz!r}", f"未知时区 {tz!r}", field="timezone") from None
        week_in = data.get("week") or {}
        unknown = [d for d in week_in if d not in WEEKDAYS]
        if unknown:
            raise Invalid(f"unknown weekday {unknown[0]!r}; use {', '.join(WEEKDAYS)}",
                          f"未知星期 {unknown[0]!r}", field=f"week.{unknown[0]}")
        week = {}
        for day in WEEKDAYS:
            intervals = []
            for index, pair in enumerate(week_in.get(day) or []):
                name = f"week.{day}.{index}"
                if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                    raise Invalid("an opening interval is [\"HH:MM\", \"HH:MM\"]",
                                  "开放时段格式应为 [\"HH:MM\", \"HH:MM\"]", field=name)
                start, end = _minutes(pair[0], name), _minutes(pair[1], name)
                if start >= end:
                    raise Invalid("an opening interval must end after it starts", "开放时段结束时间必须晚于开始时间",
                                  field=name)
                intervals.append((start, end))
            intervals.sort()
            for (_, end1), (start2, _) in zip(intervals, intervals[1:]):
                if start2 < end1:
                    raise Invalid(f"opening intervals of {day} overlap", f"{WEEKDAYS_ZH[day]}的开放时段重叠",
                                  field=f"week.{day}")
            week[day] = tuple(intervals)
        if not any(week.values()):
            raise Invalid("the branch must be open at some time in the week", "每周至少需要一个开放时段",
                          field="week")
        closed = data.get("closed_dates") or []
        if len(closed) > MAX_CLOSED_DATES:
            raise Invalid(f"at most {MAX_CLOSED_DATES} closed dates", f"闭馆日期最多 {MAX_CLOSED_DATES} 个",
                          field="closed_dates")
        dates = set()
        for index, value in enumerate(closed):
            try:
                dates.add(value if isinstance(value, date) else date.fromisoformat(value))
            except (TypeError, ValueError):
                raise Invalid(f"{value!r} is not a date YYYY-MM-DD", f"{value!r} 不是有效日期",
                              field=f"closed_dates.{index}") from None
        return cls(timezone=tz, week=week, closed_dates=frozenset(dates))

    def to_dict(self) -> dict:
        """The JSON form accepted by ``from_dict``."""
        return {"timezone": self.timezone,
                "week": {d: [[_text(a), _text(b)] for a, b in self.week.get(d, ())] for d in WEEKDAYS},
                "closed_dates": sorted(d.isoformat() for d in self.closed_dates)}

    def open_intervals(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals (UTC) from ``start`` onwards, in order, up to the horizon."""
        zone = ZoneInfo(self.timezone)
        day = start.astimezone(zone).date() - timedelta(days=1)  # an interval may straddle midnight UTC
        for _ in range(HORIZON_DAYS + 2):
            if day not in self.closed_dates:
                for a, b in self.week.get(WEEKDAYS[day.weekday()], ()):
                    begin = _local(day, a, zone)
                    end = _local(day, b, zone)
                    if end <= start:
                        continue
                    yield max(begin, start), end
            day += timedelta(days=1)


def _local(day: date, minutes: int, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on ``day`` (1440 = next midnight) as an aware UTC datetime."""
    # Aware + timedelta is wall-clock arithmetic in Python, which is what opening hours mean.
    return (datetime.combine(day, time(0), tzinfo=zone) + timedelta(minutes=minutes)).astimezone(UTC)


def _always_open(start: datetime) -> Iterator[tuple[datetime, datetime]]:
    yield start, start + _FOREVER


def _merged(pauses: Iterable[Pause]) -> list[Pause]:
    """Pauses sorted and merged; an open pause (end None) swallows everything after it."""
    result: list[list] = []
    for begin, end in sorted(pauses, key=lambda p: p[0]):
        if result and (result[-1][1] is None or begin <= result[-1][1]):
            if result[-1][1] is not None:
                result[-1][1] = None if end is None else max(result[-1][1], end)
            continue
        result.append([begin, end])
    return [(b, e) for b, e in result]


def working_intervals(start: datetime, hours: OpeningHours | None,
                      pauses: Iterable[Pause] = ()) -> Iterator[tuple[datetime, datetime]]:
    """Intervals from ``start`` in which the SLA clock runs: open hours minus pauses.

    Stops for good at a pause that has not ended (the clock is stopped until it ends).
    """
    merged = _merged(pauses)
    source = _always_open(start) if hours is None else hours.open_intervals(start)
    index = 0
    for begin, end in source:
        while begin < end:
            while index < len(merged) and merged[index][1] is not None and merged[index][1] <= begin:
                index += 1  # pauses wholly behind us
            if index == len(merged):
                yield begin, end
                break
            pause_start, pause_end = merged[index]
            if pause_start >= end:
                yield begin, end
                break
            if pause_start > begin:
                yield begin, pause_start
            if pause_end is None:
                return
            begin = max(begin, pause_end)


def due_at(start: datetime, duration: timedelta, hours: OpeningHours | None = None,
           pauses: Iterable[Pause] = ()) -> datetime | None:
    """When ``duration`` of working time after ``start`` is used up; None while the clock is stopped."""
    remaining = duration
    if remaining <= timedelta(0):
        return start
    if hours is None and not pauses and duration < _FOREVER:
        return start + duration  # round the clock, never paused: every complaint filed takes this
    for begin, end in working_intervals(start, hours, pauses):
        span = end - begin
        if span >= remaining:
            return begin + remaining
        remaining -= span
    return None


def elapsed(start: datetime, end: datetime, hours: OpeningHours | None = None,
            pauses: Iterable[Pause] = ()) -> timedelta:
    """Working time between ``start`` and ``end``."""
    total = timedelta(0)
    if end <= start:
        return total
    for begin, stop in working_intervals(start, hours, pauses):
        if begin >= end:
            break
        total += min(stop, end) - begin
    return total
