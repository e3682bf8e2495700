"""Date rules of the evaluation service right at period boundaries, in the cycle's time zone.

Every instant is written out in Asia/Shanghai (UTC+8, no summer time): 23:30 on 31 December
there is 15:30 UTC and 00:30 on 1 January is 16:30 UTC, the same UTC day. A rule that decided
in UTC would put both into the old year. None of these tests reads "today".
"""
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from services.evaluation import model
from shared.errors import Conflict, Invalid
from shared.timeutil import utcnow

UTC = timezone.utc
SHANGHAI = ZoneInfo("Asia/Shanghai")
TZ = "Asia/Shanghai"


def sh(*args) -> datetime:
    """An instant given as Shanghai wall time."""
    return datetime(*args, tzinfo=SHANGHAI)


def inside(moment: datetime, label: str, tz: str = TZ) -> bool:
    """Does ``moment`` fall in the period ``label`` (its [start, end) in ``tz``)?"""
    start, end = model.period_bounds(*model.parse_period(label), tz)
    return start <= moment < end


# -- period labels ---------------------------------------------------------------------------
@pytest.mark.parametrize("label, first, last", [
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),  # leap year
    ("2027-02", date(2027, 2, 1), date(2027, 2, 28)),
    ("2000-02", date(2000, 2, 1), date(2000, 2, 29)),  # divisible by 400: leap
    ("2100-02", date(2100, 2, 1), date(2100, 2, 28)),  # divisible by 100 only: not leap
    ("2026-12", date(2026, 12, 1), date(2026, 12, 31)),
    ("2026-01", date(2026, 1, 1), date(2026, 1, 31)),
    ("2026-04", date(2026, 4, 1), date(2026, 4, 30)),
    ("2026-07", date(2026, 7, 1), date(2026, 7, 31)),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2028-Q1", date(2028, 1, 1), date(2028, 3, 31)),
    ("2026-Q2", date(2026, 4, 1), date(2026, 6, 30)),
    ("2026-Q3", date(2026, 7, 1), date(2026, 9, 30)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2026-H1", date(2026, 1, 1), date(2026, 6, 30)),
    ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2028", date(2028, 1, 1), date(2028, 12, 31)),
    ("2000", date(2000, 1, 1), date(2000, 12, 31)),
    ("2100", date(2100, 1, 1), date(2100, 12, 31)),
])
def test_period_labels_give_their_first_and_last_calendar_day(label, first, last):
    assert model.parse_period(label) == (first, last)


@pytest.mark.parametrize("label", [
    "2026-Q4\n", "2026\n", "2026-12\n",  # a trailing newline passed `re.match(...$)`
    " 2026", "2026-q4", "2026-00", "2026-13", "2026-Q0", "2026-H3", "2026-1", "2026-02-29",
    "1999", "2101", "1999-12",
])
def test_other_period_labels_are_refused(label):
    with pytest.raises(Invalid) as exc:
        model.parse_period(label)
    assert exc.value.field == "period"


# -- how long a period may be ----------------------------------------------------------------
@pytest.mark.parametrize("start, end", [
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(2028, 1, 1), date(2028, 12, 31)),   # 366 days
    (date(2027, 3, 1), date(2028, 2, 29)),    # a year that ends on the leap day
    (date(2028, 2, 29), date(2029, 2, 28)),   # a year from the leap day
    (date(2026, 12, 31), date(2026, 12, 31)),  # one day
])
def test_a_period_of_at_most_a_calendar_year_is_accepted(start, end):
    model.check_period(start, end)


@pytest.mark.parametrize("start, end", [
    (date(2026, 1, 1), date(2027, 1, 1)),     # a year and a day
    (date(2026, 1, 1), date(2027, 1, 2)),     # 367 days: the old day count let it through
    (date(2028, 2, 29), date(2029, 3, 1)),
    (date(2027, 3, 1), date(2028, 3, 1)),
])
def test_a_period_longer_than_a_year_is_refused(start, end):
    with pytest.raises(Invalid) as exc:
        model.check_period(start, end)
    assert exc.value.field == "period_end"


# -- which feedback belongs to a period ------------------------------------------------------
def test_period_bounds_are_local_midnights():
    assert model.period_bounds(date(2026, 10, 1), date(2026, 12, 31), TZ) == (
        datetime(2026, 9, 30, 16, tzinfo=UTC), datetime(2026, 12, 31, 16, tzinfo=UTC))
    assert model.period_bounds(date(2028, 2, 1), date(2028, 2, 29), TZ) == (
        datetime(2028, 1, 31, 16, tzinfo=UTC), datetime(2028, 2, 29, 16, tzinfo=UTC))


@pytest.mark.parametrize("moment, label, other", [
    (sh(2026, 12, 31, 23, 30), "2026-Q4", "2027-Q1"),
    (sh(2027, 1, 1, 0, 30), "2027-Q1", "2026-Q4"),
    (sh(2026, 12, 31, 23, 30), "2026-12", "2027-01"),   # a month of 31 days
    (sh(2027, 1, 1, 0, 30), "2027-01", "2026-12"),
    (sh(2026, 12, 31, 23, 30), "2026", "2027"),
    (sh(2027, 1, 1, 0, 30), "2027", "2026"),
    (sh(2026, 12, 31, 23, 30), "2026-H2", "2027-H1"),
    (sh(2028, 2, 29, 23, 30), "2028-02", "2028-03"),    # the leap day
    (sh(2028, 3, 1, 0, 30), "2028-03", "2028-02"),
    (sh(2028, 2, 29, 23, 30), "2028-Q1", "2028-Q2"),
    (sh(2026, 9, 30, 23, 30), "2026-Q3", "2026-Q4"),    # the last day of a quarter
    (sh(2026, 10, 1, 0, 30), "2026-Q4", "2026-Q3"),
    (sh(2026, 6, 30, 23, 30), "2026-H1", "2026-H2"),
    (sh(2026, 10, 1, 0, 0), "2026-Q4", "2026-Q3"),      # midnight itself starts the new period
])
def test_feedback_belongs_to_the_period_of_its_local_day(moment, label, other):
    assert inside(moment, label) and not inside(moment, other)


def test_the_cycles_zone_decides_not_utc():
    # 00:30 on 1 January in Shanghai is still 31 December in UTC
    new_year = sh(2027, 1, 1, 0, 30)
    assert inside(new_year, "2027-Q1", TZ)
    assert inside(new_year, "2026-Q4", "UTC")


# -- deadlines -------------------------------------------------------------------------------
@pytest.mark.parametrize("period_end, last_instant", [
    (date(2026, 12, 31), sh(2027, 1, 14, 23, 59, 59, 999999)),   # 2026-Q4, 2026-12, 2026
    (date(2028, 2, 29), sh(2028, 3, 14, 23, 59, 59, 999999)),    # 2028-02
    (date(2027, 2, 28), sh(2027, 3, 14, 23, 59, 59, 999999)),    # 2027-02
    (date(2026, 9, 30), sh(2026, 10, 14, 23, 59, 59, 999999)),   # 2026-Q3
    (date(2026, 12, 18), sh(2027, 1, 1, 23, 59, 59, 999999)),    # deadline day 1 January
])
def test_default_deadline_is_the_end_of_the_14th_local_day(period_end, last_instant):
    deadline = model.default_deadline(period_end, TZ)
    assert deadline == last_instant and deadline.tzinfo == UTC


def test_ratings_are_taken_until_the_end_of_the_deadline_day_in_shanghai():
    deadline = model.default_deadline(date(2026, 12, 31), TZ)
    for moment in (sh(2027, 1, 14, 0, 0), sh(2027, 1, 14, 23, 30), sh(2027, 1, 14, 23, 59, 59, 500000)):
        model.check_submission_window("open", deadline, moment.astimezone(UTC))
    for moment in (sh(2027, 1, 15, 0, 0), sh(2027, 1, 15, 0, 30)):
        with pytest.raises(Conflict) as exc:
            model.check_submission_window("open", deadline, moment.astimezone(UTC))
        assert exc.value.code == "deadline_passed"


def test_the_deadline_day_of_a_leap_february_cycle(time_machine):
    # the rule compares with the clock the service reads: set it, do not read today
    deadline = model.default_deadline(model.parse_period("2028-02")[1], TZ)
    time_machine.move_to(sh(2028, 3, 14, 23, 30), tick=False)
    model.check_submission_window("open", deadline, utcnow())
    time_machine.move_to(sh(2028, 3, 15, 0, 30), tick=False)
    with pytest.raises(Conflict):
        model.check_submission_window("open", deadline, utcnow())


@pytest.mark.parametrize("period_start, deadline", [
    (date(2026, 10, 1), datetime(2026, 9, 30, 16, 30, tzinfo=UTC)),   # 00:30 on 1 October in Shanghai
    (date(2027, 1, 1), datetime(2026, 12, 31, 16, 30, tzinfo=UTC)),   # 00:30 on 1 January in Shanghai
    (date(2027, 1, 1), sh(2027, 1, 1, 0, 0)),
    (date(2028, 2, 29), datetime(2028, 2, 28, 16, 0, tzinfo=UTC)),    # midnight of the leap day
    (date(2026, 1, 1), datetime(2101, 12, 31, 12, tzinfo=UTC)),
])
def test_a_deadline_on_the_first_local_day_of_the_period_is_accepted(period_start, deadline):
    model.check_deadline(period_start, deadline, TZ)


@pytest.mark.parametrize("period_start, deadline", [
    (date(2027, 1, 1), datetime(2026, 12, 31, 15, 30, tzinfo=UTC)),   # 23:30 on 31 December in Shanghai
    # 1 October in the client's +14:00, but 20:00 on 30 September in Shanghai
    (date(2026, 10, 1), datetime(2026, 10, 1, 2, 0, tzinfo=timezone(timedelta(hours=14)))),
    (date(2028, 3, 1), datetime(2028, 2, 29, 15, 59, 59, tzinfo=UTC)),
    (date(2026, 1, 1), datetime(1, 1, 1, 0, 0, tzinfo=timezone(timedelta(hours=14)))),
])
def test_a_deadline_before_the_first_local_day_is_refused(period_start, deadline):
    with pytest.raises(Invalid) as exc:
        model.check_deadline(period_start, deadline, TZ)
    assert exc.value.field == "submission_deadline" and "before" in exc.value.message


def test_a_deadline_far_ahead_is_refused_not_an_overflow():
    with pytest.raises(Invalid) as exc:
        model.check_deadline(date(2026, 1, 1), datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-12))),
                             TZ)
    assert exc.value.field == "submission_deadline" and "too far" in exc.value.message


# -- the appeal window -----------------------------------------------------------------------
@pytest.mark.parametrize("published, last_instant", [
    (sh(2026, 12, 31, 23, 30), sh(2027, 1, 14, 23, 30)),
    (sh(2027, 1, 1, 0, 30), sh(2027, 1, 15, 0, 30)),
    (sh(2028, 2, 20, 12, 0), sh(2028, 3, 5, 12, 0)),    # across 29 February
    (sh(2027, 2, 20, 12, 0), sh(2027, 3, 6, 12, 0)),
    (sh(2026, 3, 31, 18, 0), sh(2026, 4, 14, 18, 0)),   # from the last day of a quarter
])
def test_appeal_window_is_14_days_to_the_local_minute(published, last_instant):
    at = published.astimezone(UTC)
    assert model.appeal_deadline(at, 14, TZ) == last_instant
    model.check_appeal("published", at, last_instant.astimezone(UTC), 14, TZ)
    with pytest.raises(Conflict) as exc:
        model.check_appeal("published", at, (last_instant + timedelta(seconds=1)).astimezone(UTC), 14, TZ)
    assert exc.value.code == "appeal_window_closed"


def test_appeal_days_are_calendar_days_where_the_zone_keeps_summer_time():
    # Berlin moves its clocks forward on 26 March 2028: 14 calendar days are 335 hours there
    berlin = ZoneInfo("Europe/Berlin")
    published = datetime(2028, 3, 20, 12, 0, tzinfo=berlin).astimezone(UTC)
    assert model.appeal_deadline(published, 14, "Europe/Berlin") == datetime(2028, 4, 3, 12, 0, tzinfo=berlin)
    model.check_appeal("published", published, datetime(2028, 4, 3, 12, 0, tzinfo=berlin), 14, "Europe/Berlin")
    with pytest.raises(Conflict):
        model.check_appeal("published", published, datetime(2028, 4, 3, 12, 30, tzinfo=berlin), 14, "Europe/Berlin")


def test_appeal_window_against_the_clock(time_machine):
    published = sh(2026, 12, 31, 23, 30).astimezone(UTC)
    time_machine.move_to(sh(2027, 1, 14, 23, 30), tick=False)
    model.check_appeal("published", published, utcnow(), 14, TZ)
    time_machine.move_to(sh(2027, 1, 14, 23, 31), tick=False)
    with pytest.raises(Conflict):
        model.check_appeal("published", published, utcnow(), 14, TZ)


# -- the zone of the defaults ------------------------------------------------------------------
def test_default_settings_follow_the_networks_zone(monkeypatch):
    monkeypatch.delenv("LSQ_EVALUATION_TIMEZONE", raising=False)
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    assert model.default_settings()["timezone"] == "Asia/Shanghai"
    monkeypatch.setenv("LSQ_TIMEZONE", "Europe/Berlin")
    assert model.default_settings()["timezone"] == "Europe/Berlin"
    monkeypatch.setenv("LSQ_EVALUATION_TIMEZONE", "Asia/Urumqi")
    assert model.default_settings()["timezone"] == "Asia/Urumqi"
    assert {k: v for k, v in model.default_settings().items() if k != "timezone"} == {
        k: v for k, v in model.check_settings(model.DEFAULT_SETTINGS).items() if k != "timezone"}
