"""SLA arithmetic: opening hours, pauses, due and elapsed times (property-based)."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings, strategies as st

from services.feedback import sla
from shared.errors import Invalid

UTC = timezone.utc
CST = timezone(timedelta(hours=8))  # Asia/Shanghai has had no DST since 1991
WEEKDAY_HOURS = sla.OpeningHours.from_dict({
    "timezone": "Asia/Shanghai",
    "week": {d: [["09:00", "12:00"], ["13:00", "21:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
    | {"sat": [["09:00", "17:00"]], "sun": []},
    "closed_dates": ["2026-10-01"],
})

instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)).map(
    lambda d: d.replace(tzinfo=UTC))
durations = st.integers(min_value=0, max_value=30 * 24 * 60).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from([None, WEEKDAY_HOURS])


def _is_open(hours: sla.OpeningHours, moment: datetime) -> bool:
    local = moment.astimezone(CST)
    if local.date() in hours.closed_dates:
        return False
    minutes = local.hour * 60 + local.minute + local.second / 60 + local.microsecond / 6e7
    return any(a <= minutes < b for a, b in hours.week[sla.WEEKDAYS[local.weekday()]])


def test_due_in_opening_hours_skips_nights_lunch_and_sundays():
    friday_evening = datetime(2026, 11, 27, 20, 0, tzinfo=CST)  # one hour before closing
    # 1 h on Friday evening, then Saturday 09:00 + 2 h.
    assert sla.due_at(friday_evening, timedelta(hours=3), WEEKDAY_HOURS) == datetime(2026, 11, 28, 11, 0, tzinfo=CST)
    # Saturday has 8 h; Sunday is closed; Monday morning 3 h then lunch.
    assert sla.due_at(friday_evening, timedelta(hours=13), WEEKDAY_HOURS) == datetime(2026, 11, 30, 14, 0, tzinfo=CST)


def test_closed_dates_are_skipped():
    evening = datetime(2026, 9, 30, 20, 30, tzinfo=CST)  # Wednesday; Thursday 1 October is closed
    assert sla.due_at(evening, timedelta(hours=1), WEEKDAY_HOURS) == datetime(2026, 10, 2, 9, 30, tzinfo=CST)


def test_filed_while_closed_starts_counting_at_opening():
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=CST)
    assert sla.due_at(sunday, timedelta(minutes=30), WEEKDAY_HOURS) == datetime(2026, 11, 30, 9, 30, tzinfo=CST)


def test_a_pause_pushes_the_due_time_by_its_length_in_24x7():
    start = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)
    pause = (start + timedelta(hours=1), start + timedelta(hours=4))
    assert sla.due_at(start, timedelta(hours=5), None, [pause]) == start + timedelta(hours=8)


def test_an_open_pause_stops_the_clock():
    start = datetime(2026, 11, 2, tzinfo=UTC)
    assert sla.due_at(start, timedelta(hours=5), None, [(start + timedelta(hours=1), None)]) is None
    assert sla.due_at(start, timedelta(minutes=30), None, [(start + timedelta(hours=1), None)]) == \
        start + timedelta(minutes=30)


@pytest.mark.parametrize("data, field", [
    ({"week": {"mon": [["09:00", "08:00"]]}}, "week.mon.0"),
    ({"week": {"mon": [["09:00", "12:00"], ["11:00", "13:00"]]}}, "week.mon"),
    ({"week": {"monday": [["09:00", "12:00"]]}}, "week.monday"),
    ({"week": {"mon": [["9h", "12:00"]]}}, "week.mon.0"),
    ({"week": {"mon": [["09:00", "24:30"]]}}, "week.mon.0"),
    ({"week": {}}, "week"),
    ({"timezone": "Mars/Olympus", "week": {"mon": [["09:00", "12:00"]]}}, "timezone"),
    ({"week": {"mon": [["09:00", "12:00"]]}, "closed_dates": ["2026-13-01"]}, "closed_dates.0"),
])
def test_bad_opening_hours_name_the_field(data, field):
    with pytest.raises(Invalid) as error:
        sla.OpeningHours.from_dict(data)
    assert error.value.field == field


def test_opening_hours_round_trip():
    assert sla.OpeningHours.from_dict(WEEKDAY_HOURS.to_dict()) == WEEKDAY_HOURS


@settings(max_examples=150, deadline=None)
@given(instants, durations)
def test_24x7_due_is_plain_addition(start, duration):
    assert sla.due_at(start, duration) == start + duration


@settings(max_examples=150, deadline=None)
@given(instants, durations, calendars)
def test_elapsed_until_due_is_the_duration(start, duration, hours):
    due = sla.due_at(start, duration, hours)
    assert due is not None and due >= start
    assert sla.elapsed(start, due, hours) == duration


@settings(max_examples=150, deadline=None)
@given(instants, durations, durations, calendars)
def test_due_is_monotonic_in_the_duration(start, d1, d2, hours):
    short, long_ = sorted((d1, d2))
    assert sla.due_at(start, short, hours) <= sla.due_at(start, long_, hours)


@settings(max_examples=150, deadline=None)
@given(instants, durations.filter(lambda d: d > timedelta(0)))
def test_business_due_falls_in_opening_hours(start, duration):
    due = sla.due_at(start, duration, WEEKDAY_HOURS)
    # The clock ends at an instant just after open time was used: the minute before it was open.
    assert _is_open(WEEKDAY_HOURS, due - timedelta(microseconds=1))


pauses = st.lists(st.tuples(st.integers(0, 20 * 24 * 60), st.integers(1, 3 * 24 * 60)), max_size=4)


@settings(max_examples=150, deadline=None)
@given(instants, durations, pauses, calendars)
def test_pauses_only_delay_and_are_not_counted(start, duration, raw_pauses, hours):
    windows = [(start + timedelta(minutes=a), start + timedelta(minutes=a + length)) for a, length in raw_pauses]
    plain = sla.due_at(start, duration, hours)
    paused = sla.due_at(start, duration, hours, windows)
    assert paused >= plain
    assert sla.elapsed(start, paused, hours, windows) == duration
    if hours is None:
        # In 24x7 the delay is at most the total pause length.
        assert paused - plain <= sum((b - a for a, b in windows), timedelta(0))
