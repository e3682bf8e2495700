"""Feedback's date rules right at period boundaries (no I/O, the clock is never read).

The instants: 23:30 on 31 December and 00:30 on 1 January in Shanghai (still 31 December in UTC),
29 February 2028, the last day of a quarter (31 March) and a month of 31 days (31 January). Every
expected time is worked out by hand in the comment next to it: Asia/Shanghai is UTC+8 all year
(no daylight saving), 2028 is a leap year, 31 December 2026 is a Thursday, 1 January 2027 a
Friday, 28 February 2028 a Monday and 1 March 2028 a Wednesday. The rules here take ``now`` as an
argument; those that read the clock are tested with it set in
tests/integration/feedback/test_date_boundaries.py.
"""
from datetime import datetime, timedelta, timezone
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from services.feedback import model, sla
from shared.errors import Conflict, Invalid

CST = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
SECOND = timedelta(seconds=1)
MINUTE = timedelta(minutes=1)
YEAR_END = datetime(2026, 12, 31, 23, 30, tzinfo=CST)  # 15:30 UTC on 31 December
NEW_YEAR = datetime(2027, 1, 1, 0, 30, tzinfo=CST)     # 16:30 UTC on 31 December


def cst(*parts) -> datetime:
    return datetime(*parts, tzinfo=CST)


def _hours(week_days, closed=(), open_=("09:00", "21:00")) -> sla.OpeningHours:
    return sla.OpeningHours.from_dict({"timezone": "Asia/Shanghai", "week": {d: [list(open_)] for d in week_days},
                                       "closed_dates": list(closed)})


ALL_WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: A branch open 09:00-21:00 every day, closed on New Year's Day and on the leap day.
DAILY = _hours(ALL_WEEK, closed=("2027-01-01", "2028-02-29"))
#: Open 09:00-21:00 on weekdays only, closed on New Year's Day.
WEEKDAYS = _hours(ALL_WEEK[:5], closed=("2027-01-01",))
#: Open round the clock as opening hours (not 24x7 by default): only the closed date stops it.
ROUND_THE_CLOCK_BUT_NEW_YEAR = _hours(ALL_WEEK, closed=("2027-01-01",), open_=("00:00", "24:00"))


def _times(target, filed, hours=None, pauses=(), clock_start=None):
    t = model.sla_times(target, filed, clock_start or filed, hours, list(pauses))
    return t.acknowledge_due_at, t.acknowledge_at_risk_at, t.resolve_due_at, t.resolve_at_risk_at


# -- calendar-time targets -----------------------------------------------------------------------
@pytest.mark.parametrize("severity, ack_due, ack_risk, resolve_due, resolve_risk", [
    # 2 h → 01:30; 80 % = 96 min → 01:06 | 24 h → 23:30 on 1 Jan; 19 h 12 min → 18:42 on 1 Jan
    ("urgent", cst(2027, 1, 1, 1, 30), cst(2027, 1, 1, 1, 6), cst(2027, 1, 1, 23, 30), cst(2027, 1, 1, 18, 42)),
    # 8 h → 07:30; 6 h 24 min → 05:54 | 3 d → 3 Jan 23:30; 2 d 9 h 36 min → 2 Jan 23:30 + 9:36 = 3 Jan 09:06
    ("high", cst(2027, 1, 1, 7, 30), cst(2027, 1, 1, 5, 54), cst(2027, 1, 3, 23, 30), cst(2027, 1, 3, 9, 6)),
    # 24 h → 1 Jan 23:30; 19:12 → 18:42 | 7 d → 7 Jan 23:30; 5 d 14 h 24 min → 5 Jan 23:30 + 14:24 = 6 Jan 13:54
    ("normal", cst(2027, 1, 1, 23, 30), cst(2027, 1, 1, 18, 42), cst(2027, 1, 7, 23, 30), cst(2027, 1, 6, 13, 54)),
    # 48 h → 2 Jan 23:30; 38 h 24 min → 2 Jan 13:54 | 14 d → 14 Jan 23:30; 11 d 4 h 48 min → 12 Jan 04:18
    ("low", cst(2027, 1, 2, 23, 30), cst(2027, 1, 2, 13, 54), cst(2027, 1, 14, 23, 30), cst(2027, 1, 12, 4, 18)),
])
def test_calendar_time_targets_of_a_complaint_filed_at_2330_on_31_december(severity, ack_due, ack_risk,
                                                                         resolve_due, resolve_risk):
    assert _times(model.DEFAULT_SLA[severity], YEAR_END) == (ack_due, ack_risk, resolve_due, resolve_risk)


def test_calendar_time_targets_are_the_same_instants_whatever_zone_they_are_read_in():
    ack_due, _, resolve_due, _ = _times(model.DEFAULT_SLA["urgent"], YEAR_END)
    assert ack_due == datetime(2026, 12, 31, 17, 30, tzinfo=UTC)  # still 31 December in UTC
    assert resolve_due == datetime(2027, 1, 1, 15, 30, tzinfo=UTC)


def test_calendar_time_targets_count_29_february():
    filed = cst(2028, 2, 28, 23, 30)
    # normal: 24 h → 29 Feb 23:30; 7 d → 28 Feb + 7 = 6 March (a non-leap year would give 7 March)
    assert _times(model.DEFAULT_SLA["normal"], filed)[::2] == (cst(2028, 2, 29, 23, 30), cst(2028, 3, 6, 23, 30))
    # low: 48 h → 1 March 23:30; 14 d → 13 March 23:30
    assert _times(model.DEFAULT_SLA["low"], filed)[::2] == (cst(2028, 3, 1, 23, 30), cst(2028, 3, 13, 23, 30))


def test_calendar_time_targets_across_a_quarter_end_and_a_31_day_month_end():
    # urgent from 23:30 on 31 March: 2 h → 01:30 on 1 April, 24 h → 23:30 on 1 April
    assert _times(model.DEFAULT_SLA["urgent"], cst(2027, 3, 31, 23, 30))[::2] == (
        cst(2027, 4, 1, 1, 30), cst(2027, 4, 1, 23, 30))
    # normal from 23:30 on 31 January: 24 h → 1 February 23:30, 7 d → 7 February 23:30
    assert _times(model.DEFAULT_SLA["normal"], cst(2027, 1, 31, 23, 30))[::2] == (
        cst(2027, 2, 1, 23, 30), cst(2027, 2, 7, 23, 30))


# -- signals at the due instants ------------------------------------------------------------------
def _row(target, filed, hours=None, status="new", **sent):
    ack_due, ack_risk, resolve_due, resolve_risk = _times(target, filed, hours)
    row = {"status": status, "acknowledge_due_at": ack_due, "acknowledge_at_risk_at": ack_risk,
           "resolve_due_at": resolve_due, "resolve_at_risk_at": resolve_risk, "acknowledge_at_risk_sent_at": None,
           "acknowledge_breached_at": None, "resolve_at_risk_sent_at": None, "resolve_breached_at": None}
    row.update(sent)
    return row


def _signals(row, now):
    return [(s.target, s.kind, s.due_at) for s in model.sla_signals(row, now)]


def test_urgent_signals_over_the_new_year():
    row = _row(model.DEFAULT_SLA["urgent"], YEAR_END)
    assert _signals(row, NEW_YEAR) == []                                  # 60 of 120 minutes used
    assert _signals(row, cst(2027, 1, 1, 1, 6) - SECOND) == []
    assert _signals(row, cst(2027, 1, 1, 1, 6)) == [("acknowledge", "at_risk", cst(2027, 1, 1, 1, 30))]
    row["acknowledge_at_risk_sent_at"] = cst(2027, 1, 1, 1, 6)
    assert _signals(row, cst(2027, 1, 1, 1, 30) - SECOND) == []
    assert _signals(row, cst(2027, 1, 1, 1, 30)) == [("acknowledge", "breached", cst(2027, 1, 1, 1, 30))]
    acknowledged = _row(model.DEFAULT_SLA["urgent"], YEAR_END, status="acknowledged")
    assert _signals(acknowledged, cst(2027, 1, 1, 18, 42) - SECOND) == []
    assert _signals(acknowledged, cst(2027, 1, 1, 18, 42)) == [("resolve", "at_risk", cst(2027, 1, 1, 23, 30))]
    acknowledged["resolve_at_risk_sent_at"] = cst(2027, 1, 1, 18, 42)
    assert _signals(acknowledged, cst(2027, 1, 1, 23, 30)) == [("resolve", "breached", cst(2027, 1, 1, 23, 30))]


def test_a_target_met_at_its_due_instant_is_late_as_the_sweep_counts_it():
    """The sweep breaches at the due instant (above); so does meeting the target then.

    Before, ``late_breach`` wanted ``now > due``: acknowledged at exactly 01:30 the complaint was
    on time or late depending on whether the sweep had run first.
    """
    row = _row(model.DEFAULT_SLA["urgent"], YEAR_END)
    assert model.late_breach(row, "acknowledge", cst(2027, 1, 1, 1, 30) - SECOND) is None
    at_due = model.late_breach(row, "acknowledge", cst(2027, 1, 1, 1, 30))
    assert (at_due.target, at_due.kind, at_due.due_at) == ("acknowledge", "breached", cst(2027, 1, 1, 1, 30))
    assert model.late_breach(row, "resolve", cst(2027, 1, 1, 23, 30)).due_at == cst(2027, 1, 1, 23, 30)
    assert model.late_breach({**row, "acknowledge_breached_at": cst(2027, 1, 1, 1, 30)}, "acknowledge",
                             cst(2027, 1, 1, 2, 0)) is None  # announced once


# -- business-hours calendars ---------------------------------------------------------------------
BUSINESS_URGENT = model.SlaTarget(timedelta(hours=2), timedelta(hours=24), business_hours=True)
BUSINESS_NORMAL = model.SlaTarget(timedelta(hours=24), timedelta(days=7), business_hours=True)


def test_open_intervals_after_2330_on_31_december_skip_the_closed_new_year():
    intervals = list(islice(DAILY.open_intervals(YEAR_END), 2))
    # 2 January 09:00-21:00 Shanghai is 01:00-13:00 UTC; then 3 January
    assert intervals == [(datetime(2027, 1, 2, 1, tzinfo=UTC), datetime(2027, 1, 2, 13, tzinfo=UTC)),
                         (datetime(2027, 1, 3, 1, tzinfo=UTC), datetime(2027, 1, 3, 13, tzinfo=UTC))]


def test_business_hours_urgent_filed_at_2330_on_31_december():
    # Closed at 23:30 and all of 1 January: counting starts at 09:00 on 2 January.
    # 2 h → 11:00; 96 min → 10:36 | 24 h = 2 Jan 12 h + 3 Jan 12 h → 21:00 on 3 Jan (closing time,
    # not 09:00 on the 4th); 19 h 12 min = 12 h + 7 h 12 min → 16:12 on 3 Jan
    assert _times(BUSINESS_URGENT, YEAR_END, DAILY) == (
        cst(2027, 1, 2, 11, 0), cst(2027, 1, 2, 10, 36), cst(2027, 1, 3, 21, 0), cst(2027, 1, 3, 16, 12))


def test_business_hours_filed_at_2000_on_31_december_counts_the_last_hour_of_the_year():
    filed = cst(2026, 12, 31, 20, 0)
    # daily: 1 h on 31 Dec (20:00-21:00), 1 Jan closed, 2 Jan 09:00 + 1 h → 10:00; 96 min → 09:36
    assert _times(BUSINESS_URGENT, filed, DAILY)[:2] == (cst(2027, 1, 2, 10, 0), cst(2027, 1, 2, 9, 36))
    # weekdays: 1 Jan closed (Friday), 2-3 Jan the weekend → Monday 4 Jan 10:00; 09:36
    assert _times(BUSINESS_URGENT, filed, WEEKDAYS)[:2] == (cst(2027, 1, 4, 10, 0), cst(2027, 1, 4, 9, 36))
    # weekdays, 24 h: 1 h on 31 Dec + 12 h on Mon 4 Jan + 11 h on Tue 5 Jan → 5 Jan 20:00
    assert _times(BUSINESS_NORMAL, filed, WEEKDAYS)[0] == cst(2027, 1, 5, 20, 0)


def test_a_closed_date_is_a_whole_local_day():
    # Open 00:00-24:00 but not on 1 January (16:00 UTC on 31 Dec to 16:00 UTC on 1 Jan): from 23:30,
    # 30 min on 31 Dec, then 2 Jan 00:00 + 1 h 30 → 01:30; 96 min = 30 + 66 → 01:06
    assert _times(BUSINESS_URGENT, YEAR_END, ROUND_THE_CLOCK_BUT_NEW_YEAR)[:2] == (
        cst(2027, 1, 2, 1, 30), cst(2027, 1, 2, 1, 6))
    assert sla.elapsed(YEAR_END, cst(2027, 1, 2, 0, 0), ROUND_THE_CLOCK_BUT_NEW_YEAR) == timedelta(minutes=30)


def test_business_hours_over_29_february():
    filed = cst(2028, 2, 28, 20, 30)  # Monday
    # closed on 29 Feb: 30 min on 28 Feb + 12 h on 1 March + 11 h 30 on 2 March → 2 March 20:30;
    # 19 h 12 min = 30 min + 12 h + 6 h 42 → 2 March 15:42
    assert _times(BUSINESS_NORMAL, filed, DAILY)[:2] == (cst(2028, 3, 2, 20, 30), cst(2028, 3, 2, 15, 42))
    # open on 29 Feb: 30 min + 12 h on 29 Feb + 11 h 30 on 1 March → 1 March 20:30
    open_on_leap_day = _hours(ALL_WEEK)
    assert _times(BUSINESS_NORMAL, filed, open_on_leap_day)[0] == cst(2028, 3, 1, 20, 30)
    assert sla.elapsed(filed, cst(2028, 3, 1, 9, 0), open_on_leap_day) == timedelta(hours=12, minutes=30)


def test_business_hours_across_a_quarter_end_and_a_31_day_month_end():
    # 1 h on 31 March (Wednesday), then 1 April 09:00 + 1 h → 10:00
    assert _times(BUSINESS_URGENT, cst(2027, 3, 31, 20, 0), DAILY)[0] == cst(2027, 4, 1, 10, 0)
    # 30 min on 31 January (20:30-21:00), then 1 February 09:00 + 1 h 30 → 10:30
    assert _times(BUSINESS_URGENT, cst(2027, 1, 31, 20, 30), DAILY)[0] == cst(2027, 2, 1, 10, 30)


def test_business_hours_signals_at_risk_and_breach():
    row = _row(BUSINESS_URGENT, YEAR_END, DAILY)
    assert _signals(row, cst(2027, 1, 1, 23, 59)) == []                   # nothing counts on 1 January
    assert _signals(row, cst(2027, 1, 2, 10, 36) - SECOND) == []
    assert _signals(row, cst(2027, 1, 2, 10, 36)) == [("acknowledge", "at_risk", cst(2027, 1, 2, 11, 0))]
    row["acknowledge_at_risk_sent_at"] = cst(2027, 1, 2, 10, 36)
    assert _signals(row, cst(2027, 1, 2, 11, 0)) == [("acknowledge", "breached", cst(2027, 1, 2, 11, 0))]


# -- pauses while waiting on the reader -----------------------------------------------------------
def test_a_pause_across_midnight_on_31_december_in_24x7():
    filed = cst(2026, 12, 31, 20, 0)
    pause = (YEAR_END, NEW_YEAR)  # 23:30 → 00:30, one hour
    # acknowledgement ignores pauses: 22:00 (96 min → 21:36); resolution 24 h + 1 h → 21:00 on 1 Jan;
    # 19 h 12 min + 1 h → 16:12 on 1 Jan
    assert _times(model.DEFAULT_SLA["urgent"], filed, pauses=[pause]) == (
        cst(2026, 12, 31, 22, 0), cst(2026, 12, 31, 21, 36), cst(2027, 1, 1, 21, 0), cst(2027, 1, 1, 16, 12))


def test_an_open_pause_from_2330_on_31_december_stops_the_resolution_clock():
    ack_due, _, resolve_due, resolve_risk = _times(model.DEFAULT_SLA["urgent"], cst(2026, 12, 31, 20, 0),
                                                   pauses=[(YEAR_END, None)])
    assert (ack_due, resolve_due, resolve_risk) == (cst(2026, 12, 31, 22, 0), None, None)


def test_a_pause_over_the_closed_new_year_in_business_hours():
    filed = cst(2026, 12, 31, 20, 0)
    pause = (cst(2026, 12, 31, 20, 30), cst(2027, 1, 2, 10, 0))
    # 30 min before the pause; 2 Jan 10:00-21:00 (11 h, 11 h 30 used), 3 Jan 12 h (23 h 30),
    # 4 Jan 09:00 + 30 min → 09:30; 19 h 12 min: 11 h 30 + 7 h 42 on 3 Jan → 16:42
    assert _times(BUSINESS_URGENT, filed, DAILY, [pause])[2:] == (cst(2027, 1, 4, 9, 30), cst(2027, 1, 3, 16, 42))


def test_a_pause_over_29_february_in_24x7():
    filed = cst(2028, 2, 28, 12, 0)
    pause = (cst(2028, 2, 28, 23, 0), cst(2028, 3, 1, 1, 0))  # 26 h, all of 29 February
    # 7 d → 6 March 12:00, + 26 h → 7 March 14:00; 5 d 14 h 24 min → 4 March 12:00 + 14:24 = 5 March
    # 02:24, + 26 h → 6 March 04:24
    assert _times(model.DEFAULT_SLA["normal"], filed, pauses=[pause])[2:] == (
        cst(2028, 3, 7, 14, 0), cst(2028, 3, 6, 4, 24))


def test_a_reopened_complaint_ignores_pauses_before_its_new_clock():
    old_pause = (cst(2026, 12, 21, 9, 0), cst(2026, 12, 22, 9, 0))
    # reopened at 23:30 on 31 December: 24 h → 23:30 on 1 January, the December pause left out
    assert _times(model.DEFAULT_SLA["urgent"], cst(2026, 12, 20, 9, 0), pauses=[old_pause],
                  clock_start=YEAR_END)[2] == cst(2027, 1, 1, 23, 30)


# -- surveys --------------------------------------------------------------------------------------
@pytest.mark.parametrize("opens, closes, now, state", [
    # a first-quarter survey: 1 January 00:00 (16:00 UTC on 31 Dec) to 1 April 00:00, Shanghai
    (cst(2027, 1, 1), cst(2027, 4, 1), YEAR_END, "scheduled"),
    (cst(2027, 1, 1), cst(2027, 4, 1), cst(2027, 1, 1) - SECOND, "scheduled"),
    (cst(2027, 1, 1), cst(2027, 4, 1), cst(2027, 1, 1), "open"),
    (cst(2027, 1, 1), cst(2027, 4, 1), NEW_YEAR, "open"),
    (cst(2027, 1, 1), cst(2027, 4, 1), cst(2027, 3, 31, 23, 59, 59), "open"),  # the quarter's last day
    (cst(2027, 1, 1), cst(2027, 4, 1), cst(2027, 4, 1), "closed"),
    # a December survey closing at the new year
    (cst(2026, 12, 1), cst(2027, 1, 1), YEAR_END, "open"),
    (cst(2026, 12, 1), cst(2027, 1, 1), NEW_YEAR, "closed"),
    # a January survey: 31 January is still in it
    (cst(2027, 1, 1), cst(2027, 2, 1), cst(2027, 1, 31, 23, 59), "open"),
    (cst(2027, 1, 1), cst(2027, 2, 1), cst(2027, 2, 1), "closed"),
    # a February 2028 survey: 29 February is still in it
    (cst(2028, 2, 1), cst(2028, 3, 1), cst(2028, 2, 29, 23, 59, 59), "open"),
    (cst(2028, 2, 1), cst(2028, 3, 1), cst(2028, 3, 1), "closed"),
    (cst(2028, 2, 1), cst(2028, 3, 1), cst(2028, 3, 1, 0, 30), "closed"),
])
def test_survey_state_at_its_boundaries(opens, closes, now, state):
    assert model.survey_state(opens, closes, None, now) == state


def test_a_survey_closed_by_hand_before_the_new_year_stays_closed():
    assert model.survey_state(cst(2026, 12, 1), cst(2027, 1, 31), YEAR_END, NEW_YEAR) == "closed"


# -- reopening window -----------------------------------------------------------------------------
@pytest.mark.parametrize("resolved, last_moment", [
    (YEAR_END, cst(2027, 1, 14, 23, 30)),                # 31 Dec + 14 days
    (NEW_YEAR, cst(2027, 1, 15, 0, 30)),                 # 1 Jan + 14 days
    (cst(2028, 2, 20, 12, 0), cst(2028, 3, 5, 12, 0)),   # over 29 Feb: 5 March (6 March in 2027)
    (cst(2027, 3, 25, 9, 0), cst(2027, 4, 8, 9, 0)),     # over a quarter end
])
def test_reopen_window_is_14_days_to_the_minute(resolved, last_moment):
    model.check_reopen("resolved", resolved, last_moment)
    model.check_reopen("closed", resolved, last_moment)
    with pytest.raises(Conflict) as refused:
        model.check_reopen("closed", resolved, last_moment + MINUTE)
    assert refused.value.code == "reopen_window_passed"


# -- received_at ----------------------------------------------------------------------------------
@pytest.mark.parametrize("now, earliest", [
    (NEW_YEAR, cst(2026, 12, 2, 0, 30)),                 # 1 Jan − 30 days (December has 31)
    (cst(2028, 3, 1, 0, 30), cst(2028, 1, 31, 0, 30)),   # 1 March − 29 days = 1 Feb, − 30 = 31 Jan
    (cst(2027, 4, 1, 0, 30), cst(2027, 3, 2, 0, 30)),    # after a quarter end
])
def test_received_at_may_be_30_days_back_to_the_minute_and_not_in_the_future(now, earliest):
    assert model.check_received_at(earliest, now, recorded_by_staff=True) == earliest
    assert model.check_received_at(now, now, recorded_by_staff=True) == now
    for bad in (earliest - MINUTE, now + MINUTE):
        with pytest.raises(Invalid) as refused:
            model.check_received_at(bad, now, recorded_by_staff=True)
        assert refused.value.field == "received_at"


def test_received_at_2330_on_31_december_recorded_at_0030_on_1_january():
    assert model.check_received_at(YEAR_END, NEW_YEAR, recorded_by_staff=True) == YEAR_END
