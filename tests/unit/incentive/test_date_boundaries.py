"""The incentive service's calendar rules right at period boundaries, in the network's calendar.

Every instant is set here (Asia/Shanghai wall times, the network's default zone), never taken
from today: the last half hour of a year, the first of the next, 29 February 2028, the last
day of a quarter, months of 31 days. At each of them the UTC calendar says something else, so
these tests fail if a rule decides its month, quarter, year, lapse or deadline in UTC.
"""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from services.incentive import handlers, model
from services.incentive.model import Fact, ladder_decisions
from shared.errors import Conflict
from shared.timeutil import UTC
from tests.integration.incentive.support import completed, overdue, praise

SHANGHAI = ZoneInfo("Asia/Shanghai")


def sh(*parts) -> datetime:
    """A wall time in Shanghai."""
    return datetime(*parts, tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def _network_calendar(monkeypatch):
    """The default calendar, whatever the machine running the tests is set to."""
    monkeypatch.delenv("LSQ_INCENTIVE_TIMEZONE", raising=False)
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    model.calendar_zone.cache_clear()
    yield
    model.calendar_zone.cache_clear()  # whatever a test set, the next one reads the environment again


def _configure(monkeypatch, variable: str, zone: str) -> None:
    """Deploy with another calendar (read once a process, hence the cache)."""
    monkeypatch.setenv(variable, zone)
    model.calendar_zone.cache_clear()


YEAR_END = sh(2026, 12, 31, 23, 30)        # 15:30 UTC on 31 December
NEW_YEAR = sh(2027, 1, 1, 0, 30)           # 16:30 UTC on 31 December: still 2026 in UTC
LEAP_DAY = sh(2028, 2, 29, 0, 30)          # 16:30 UTC on 28 February
AFTER_LEAP_DAY = sh(2028, 3, 1, 0, 30)     # 16:30 UTC on 29 February
QUARTER_END = sh(2027, 3, 31, 23, 30)      # 15:30 UTC on 31 March
QUARTER_START = sh(2027, 4, 1, 0, 30)      # 16:30 UTC on 31 March: still Q1 in UTC


# -- month, quarter and year of an instant ------------------------------------------------------
@pytest.mark.parametrize("moment, month, quarter, year", [
    (YEAR_END, "2026-12", "2026-Q4", "2026"),
    (NEW_YEAR, "2027-01", "2027-Q1", "2027"),
    (sh(2027, 1, 1, 0, 0), "2027-01", "2027-Q1", "2027"),               # the first instant of the year
    (sh(2026, 12, 31, 23, 59, 59, 999999), "2026-12", "2026-Q4", "2026"),  # the last one of the old
    (QUARTER_END, "2027-03", "2027-Q1", "2027"),
    (QUARTER_START, "2027-04", "2027-Q2", "2027"),
    (LEAP_DAY, "2028-02", "2028-Q1", "2028"),
    (sh(2028, 2, 29, 23, 30), "2028-02", "2028-Q1", "2028"),
    (AFTER_LEAP_DAY, "2028-03", "2028-Q1", "2028"),
    (sh(2027, 5, 31, 23, 30), "2027-05", "2027-Q2", "2027"),            # a month of 31 days
    (sh(2027, 6, 1, 0, 30), "2027-06", "2027-Q2", "2027"),
    (sh(2027, 9, 30, 23, 30), "2027-09", "2027-Q3", "2027"),
    (sh(2027, 10, 1, 0, 30), "2027-10", "2027-Q4", "2027"),
])
def test_fund_periods_and_points_months_follow_the_shanghai_calendar(moment, month, quarter, year):
    for same_instant in (moment, moment.astimezone(UTC)):  # how it is written does not matter
        assert model.month_of(same_instant) == month
        assert model.fund_period(same_instant, "month") == month
        assert model.fund_period(same_instant) == model.fund_period(same_instant, "quarter") == quarter
        assert model.fund_period(same_instant, "year") == year
        assert model.year_of(same_instant) == int(year)


def test_an_award_at_half_past_midnight_on_new_years_day_is_not_in_the_old_year():
    # The defect: in UTC it is 16:30 on 31 December, which put it in 2026-12 / 2026-Q4 / 2026.
    assert NEW_YEAR.astimezone(UTC).date() == date(2026, 12, 31)
    assert (model.fund_period(NEW_YEAR, "month"), model.fund_period(NEW_YEAR), model.fund_period(NEW_YEAR, "year")) \
        == ("2027-01", "2027-Q1", "2027")
    assert model.month_of(AFTER_LEAP_DAY) == "2028-03"  # 29 February in UTC


def test_the_calendar_follows_lsq_timezone(monkeypatch):
    _configure(monkeypatch, "LSQ_TIMEZONE", "UTC")
    assert model.fund_period(NEW_YEAR) == "2026-Q4" and model.month_of(NEW_YEAR) == "2026-12"
    _configure(monkeypatch, "LSQ_INCENTIVE_TIMEZONE", "Asia/Shanghai")  # the service's own setting wins
    assert model.fund_period(NEW_YEAR) == "2027-Q1"


# -- period bounds --------------------------------------------------------------------------------
@pytest.mark.parametrize("period, start, end", [
    ("2027-Q1", sh(2027, 1, 1), sh(2027, 4, 1)),
    ("2026-Q4", sh(2026, 10, 1), sh(2027, 1, 1)),
    ("2027-04", sh(2027, 4, 1), sh(2027, 5, 1)),
    ("2026-12", sh(2026, 12, 1), sh(2027, 1, 1)),
    ("2028-02", sh(2028, 2, 1), sh(2028, 3, 1)),     # 29 days
    ("2027-05", sh(2027, 5, 1), sh(2027, 6, 1)),     # 31 days
    ("2028", sh(2028, 1, 1), sh(2029, 1, 1)),
])
def test_periods_run_from_local_midnight_to_local_midnight(period, start, end):
    bounds = model.period_bounds(period)
    assert bounds == (start, end)
    assert all(moment.tzinfo is UTC for moment in bounds)
    assert bounds[0] == start.astimezone(UTC) and bounds[0].hour == 16  # the day before, in UTC
    assert model.fund_period(bounds[0], model.period_kind(period)) == period
    assert model.fund_period(bounds[1] - timedelta(microseconds=1), model.period_kind(period)) == period
    assert model.fund_period(bounds[1], model.period_kind(period)) != period


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2035, 12, 31), timezones=st.just(UTC)),
       st.sampled_from(model.FUND_PERIODS))
@settings(max_examples=300, deadline=None)
def test_every_instant_lies_within_the_bounds_of_its_period(moment, kind):
    start, end = model.period_bounds(model.fund_period(moment, kind))
    assert start <= moment < end


# -- points: the monthly cap ----------------------------------------------------------------------
def test_the_monthly_cap_starts_again_at_local_midnight_on_the_first():
    """Praise at 5 points, at most 30 a month: the tally is keyed by month_of, as the handlers do."""
    tally: dict[str, int] = {}

    def credit(moment, points=5, cap=30):
        month = model.month_of(moment)
        given_ = model.capped(points, tally.get(month, 0), cap)
        tally[month] = tally.get(month, 0) + given_
        return given_

    december = [credit(YEAR_END - timedelta(minutes=n)) for n in range(7)]
    assert december == [5, 5, 5, 5, 5, 5, 0]  # the seventh of December is capped
    assert credit(NEW_YEAR) == 5  # 31 December in UTC, but January's cap
    assert tally == {"2026-12": 30, "2027-01": 5}
    # 29 February is February's; 1 March at 00:30 is March's
    assert [credit(LEAP_DAY + timedelta(hours=n), 10) for n in range(4)] == [10, 10, 10, 0]
    assert credit(AFTER_LEAP_DAY, 10) == 10


def test_day_dated_facts_start_at_local_midnight():
    assert model.start_of_day(date(2027, 1, 1)) == sh(2027, 1, 1) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert model.start_of_day(date(2028, 2, 29)) == datetime(2028, 2, 28, 16, tzinfo=UTC)
    for day in (date(2026, 12, 31), date(2027, 1, 1), date(2027, 3, 31), date(2027, 4, 1), date(2028, 2, 29),
                date(2028, 3, 1), date(2027, 5, 31)):
        moment = model.start_of_day(day)
        assert moment.tzinfo is UTC and moment.astimezone(SHANGHAI).date() == day
        assert model.month_of(moment) == day.strftime("%Y-%m")


def test_a_day_dated_fact_keeps_its_month_in_a_zone_west_of_utc(monkeypatch):
    # UTC midnight of 1 January is 19:00 on 31 December in New York: it would land in December.
    _configure(monkeypatch, "LSQ_TIMEZONE", "America/New_York")
    assert model.start_of_day(date(2027, 1, 1)) == datetime(2027, 1, 1, 5, tzinfo=UTC)
    assert model.month_of(model.start_of_day(date(2027, 1, 1))) == "2027-01"
    assert model.fund_period(model.start_of_day(date(2027, 4, 1))) == "2027-Q2"


def test_training_completed_on_new_years_day_is_dated_at_its_local_start():
    event = completed("s1", "b1", "2027-01-01")
    assert handlers.cause_time(event) == datetime(2026, 12, 31, 16, tzinfo=UTC)
    assert model.month_of(handlers.cause_time(event)) == "2027-01"
    assert handlers.cause_time(overdue("s1", "b1", "2028-02-29")) == datetime(2028, 2, 28, 16, tzinfo=UTC)
    received = praise("s1", "b1", NEW_YEAR)  # instant-dated facts keep their instant
    assert handlers.cause_time(received) == NEW_YEAR and model.month_of(handlers.cause_time(received)) == "2027-01"


def test_day_dated_ids_are_the_same_on_every_replay():
    first = model.entry_id("points", "training:x|training-hours", "training-hours", at=model.start_of_day(date(2027, 1, 1)))
    again = model.entry_id("points", "training:x|training-hours", "training-hours", at=model.start_of_day(date(2027, 1, 1)))
    assert first == again
    assert int(first.replace("-", "")[:12], 16) == int(datetime(2026, 12, 31, 16, tzinfo=UTC).timestamp() * 1000)


# -- lapse after 12 months --------------------------------------------------------------------------
@pytest.mark.parametrize("issued, months, lapses", [
    (YEAR_END, 12, sh(2027, 12, 31, 23, 30)),
    (NEW_YEAR, 12, sh(2028, 1, 1, 0, 30)),
    (LEAP_DAY, 12, sh(2029, 2, 28, 0, 30)),            # no 29 February in 2029: the month's last day
    (sh(2028, 2, 29, 23, 30), 12, sh(2029, 2, 28, 23, 30)),
    (AFTER_LEAP_DAY, 12, sh(2029, 3, 1, 0, 30)),
    (sh(2027, 2, 28, 0, 30), 12, sh(2028, 2, 28, 0, 30)),
    (QUARTER_END, 12, sh(2028, 3, 31, 23, 30)),
    (QUARTER_START, 12, sh(2028, 4, 1, 0, 30)),
    (sh(2027, 1, 31, 0, 30), 1, sh(2027, 2, 28, 0, 30)),  # 31 days → a month of 28
    (sh(2028, 1, 31, 0, 30), 1, sh(2028, 2, 29, 0, 30)),  # ... of 29 in a leap year
    (sh(2027, 5, 31, 23, 30), 1, sh(2027, 6, 30, 23, 30)),
    (sh(2027, 3, 31, 0, 30), 6, sh(2027, 9, 30, 0, 30)),
    (sh(2027, 8, 31, 0, 30), 18, sh(2029, 2, 28, 0, 30)),
])
def test_sanctions_lapse_on_the_same_local_day_and_time(issued, months, lapses):
    until = model.add_months(issued.astimezone(UTC), months)
    assert until == lapses and until.tzinfo is UTC
    assert model.add_months(issued, months) == lapses  # however the instant is written


def test_a_warning_of_the_leap_day_lapses_on_28_february_not_on_1_march():
    # In UTC the leap day's 00:30 is 16:30 on 28 February, whose year later is 1 March in Shanghai.
    assert model.add_months(LEAP_DAY, 12).astimezone(SHANGHAI).date() == date(2029, 2, 28)
    warning = Fact(key="c1", at=LEAP_DAY.astimezone(UTC), kind="next_step")
    just_before = Fact(key="c2", at=sh(2029, 2, 28, 0, 29, 59).astimezone(UTC), kind="next_step")
    at_lapse = Fact(key="c3", at=sh(2029, 2, 28, 0, 30).astimezone(UTC), kind="next_step")
    noon = Fact(key="c4", at=sh(2029, 2, 28, 12, 0).astimezone(UTC), kind="next_step")
    assert ladder_decisions([warning, just_before])["c2"] == "written_warning"
    assert ladder_decisions([warning, at_lapse])["c3"] == "verbal_warning"  # lapsed at that very instant
    assert ladder_decisions([warning, noon])["c4"] == "verbal_warning"
    steps = [("verbal_warning", warning.at, model.add_months(warning.at, 12))]
    assert model.ladder_step(steps, sh(2029, 2, 28, 0, 29).astimezone(UTC))["step"] == 1
    assert model.ladder_step(steps, sh(2029, 2, 28, 0, 30).astimezone(UTC))["step"] == 0


def test_a_warning_of_new_years_eve_lapses_a_year_later_at_the_same_local_time():
    warning = Fact(key="c1", at=YEAR_END.astimezone(UTC), kind="next_step")
    for later, level in [(sh(2027, 12, 31, 23, 29), "written_warning"), (sh(2027, 12, 31, 23, 30), "verbal_warning"),
                         (sh(2028, 1, 1, 0, 30), "verbal_warning")]:
        assert ladder_decisions([warning, Fact(key="c2", at=later.astimezone(UTC), kind="next_step")])["c2"] == level
    latest = Fact(key="c2", at=sh(2027, 12, 31, 23, 29).astimezone(UTC), kind="next_step")
    assert model.decide_latest(latest, [(model.add_months(warning.at, 12), "verbal_warning")], {}) == "written_warning"


def test_repeated_sla_breaches_count_within_the_local_lapse_window():
    first = Fact(key="b1", at=LEAP_DAY.astimezone(UTC), kind="repeatable_notice", group="sla", free_notices=1)
    within = Fact(key="b2", at=sh(2029, 2, 28, 0, 29).astimezone(UTC), kind="repeatable_notice", group="sla",
                  free_notices=1)
    after = Fact(key="b2", at=sh(2029, 2, 28, 0, 30).astimezone(UTC), kind="repeatable_notice", group="sla",
                 free_notices=1)
    assert ladder_decisions([first, within])["b2"] == "verbal_warning"
    assert ladder_decisions([first, after])["b2"] == "notice"


# -- the appeal window of 14 days --------------------------------------------------------------------
@pytest.mark.parametrize("issued, deadline", [
    (YEAR_END, sh(2027, 1, 14, 23, 30)),
    (NEW_YEAR, sh(2027, 1, 15, 0, 30)),
    (sh(2028, 2, 15, 12, 0), sh(2028, 2, 29, 12, 0)),   # the leap day is one of the 14
    (LEAP_DAY, sh(2028, 3, 14, 0, 30)),
    (QUARTER_END, sh(2027, 4, 14, 23, 30)),
    (sh(2027, 5, 31, 23, 30), sh(2027, 6, 14, 23, 30)),
])
def test_the_appeal_deadline_is_14_days_later_at_the_same_local_time(issued, deadline):
    assert model.appeal_deadline(issued.astimezone(UTC), 14) == deadline
    assert model.appeal_deadline(issued, 14).tzinfo is UTC


def test_appeals_are_taken_until_the_deadline_itself_and_not_a_moment_later():
    deadline = model.appeal_deadline(YEAR_END.astimezone(UTC), 14)
    model.check_appeal("issued", "verbal_warning", sh(2027, 1, 14, 23, 29), deadline)
    model.check_appeal("acknowledged", "written_warning", sh(2027, 1, 14, 23, 30), deadline)
    with pytest.raises(Conflict) as closed:
        model.check_appeal("issued", "verbal_warning", sh(2027, 1, 14, 23, 30, 0, 1000), deadline)
    assert closed.value.code == "appeal_window_closed"
    with pytest.raises(Conflict, match="window"):
        model.check_appeal("issued", "verbal_warning", sh(2027, 1, 15, 0, 30), deadline)


def test_appeal_days_are_calendar_days_where_the_zone_keeps_summer_time(monkeypatch):
    # Berlin moves its clocks forward on 28 March 2027: 14 calendar days are 335 hours there.
    _configure(monkeypatch, "LSQ_INCENTIVE_TIMEZONE", "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    issued = datetime(2027, 3, 20, 12, tzinfo=berlin)
    deadline = model.appeal_deadline(issued, 14)
    assert deadline == datetime(2027, 4, 3, 12, tzinfo=berlin)
    assert deadline - issued == timedelta(days=14, hours=-1)
    assert model.add_months(issued, 1) == datetime(2027, 4, 20, 12, tzinfo=berlin)
