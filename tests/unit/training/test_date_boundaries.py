"""Training's date rules at the edges of days, months, quarters and years, in Asia/Shanghai.

Every expected date here is worked out by hand; none is read from the real clock."""
from datetime import date, datetime, timezone

import pytest

from services.training import model, service
from tests.helpers import shanghai

UTC = timezone.utc


# -- annual hours pro-rated by the month of joining ------------------------------------------------
@pytest.mark.parametrize("hired, year, owed", [
    (date(2025, 12, 31), 2026, 40),    # before the year: the full figure
    (date(2026, 1, 1), 2026, 40),      # the year's first day: 12 months
    (date(2028, 2, 29), 2028, 37),     # leap day: 11 months, 36.67 rounded up to the half hour
    (date(2026, 3, 31), 2026, 33.5),   # a quarter's last day: 10 months, 33.33 → 33.5
    (date(2026, 4, 1), 2026, 30),      # the next quarter's first day: 9 months
    (date(2026, 7, 31), 2026, 20),     # the last day of a 31-day month: July counts, 6 months
    (date(2026, 12, 1), 2026, 3.5),    # 30 days left: 1 month, 3.33 → 3.5
    (date(2026, 12, 2), 2026, 0),      # 29 days left: too late to earn hours this year
    (date(2026, 12, 31), 2026, 0),     # the year's last day
    (date(2027, 1, 1), 2026, 0),       # after the year
])
def test_annual_hours_prorated_at_the_edges_of_the_year(hired, year, owed):
    assert model.prorated_annual_hours(40, hired, year) == owed


# -- onboarding and regulation deadlines -------------------------------------------------------------
@pytest.mark.parametrize("hired, registered, due", [
    (date(2026, 12, 31), date(2026, 12, 31), date(2027, 1, 30)),   # across the year end
    (date(2028, 1, 30), date(2028, 1, 30), date(2028, 2, 29)),     # onto a leap day
    (date(2028, 2, 29), date(2028, 2, 29), date(2028, 3, 30)),     # from a leap day
    (date(2026, 3, 31), date(2026, 3, 31), date(2026, 4, 30)),     # from a quarter's last day
    (date(2026, 12, 5), date(2027, 1, 1), date(2027, 1, 8)),       # registered late in the window: 7 days' notice
    (date(2026, 10, 1), date(2027, 1, 1), date(2027, 1, 31)),      # a roster entered later: 30 days from registration
])
def test_onboarding_due_across_year_ends_and_leap_days(hired, registered, due):
    assert model.onboarding_due(hired, registered) == due


def test_add_months_clamps_to_the_month_end():
    assert model.add_months(date(2028, 1, 31), 1) == date(2028, 2, 29)
    assert model.add_months(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert model.add_months(date(2026, 12, 31), 2) == date(2027, 2, 28)
    assert model.add_months(date(2028, 2, 29), 12) == date(2029, 2, 28)
    assert model.add_months(date(2026, 8, 31), 1) == date(2026, 9, 30)


# -- due-soon and overdue ------------------------------------------------------------------------------
@pytest.mark.parametrize("due, today, notice", [
    (date(2026, 12, 31), date(2026, 12, 24), "due_soon"),   # 7 days before: reminded
    (date(2026, 12, 31), date(2026, 12, 23), None),         # 8 days before: not yet
    (date(2026, 12, 31), date(2026, 12, 31), "due_soon"),   # the deadline day itself is not late
    (date(2026, 12, 31), date(2027, 1, 1), "overdue"),      # late from the next day, in the next year
    (date(2028, 2, 29), date(2028, 2, 22), "due_soon"),
    (date(2028, 2, 29), date(2028, 3, 1), "overdue"),
    (date(2026, 3, 31), date(2026, 4, 1), "overdue"),
])
def test_notice_at_the_deadline(due, today, notice):
    assert model.notice_for(due, today) == notice


def test_a_requirement_belongs_to_the_year_it_is_due_and_says_so_in_the_year_it_was_given():
    assert model.period_of(date(2027, 1, 30)) == "2027"
    assert model.compliance_note(2026, 2027, 0) == (
        "assigned in 2026, due in 2027: counted in 2027's compliance", "2026 年分配、2027 年到期，计入 2027 年度达标情况")
    assert model.compliance_note(2027, 2027, 3) == ("3 of them assigned in an earlier year", "其中 3 人的要求于以前年度分配")
    assert model.compliance_note(2027, 2027, 0) == ("", "")


def test_certificates_expire_the_day_after_their_last_day():
    assert model.certificate_status(date(2028, 2, 29), date(2028, 2, 29)) == "valid"
    assert model.certificate_status(date(2028, 2, 29), date(2028, 3, 1)) == "expired"


# -- today and an event's day are Shanghai days ----------------------------------------------------
@pytest.mark.parametrize("instant, day", [
    (shanghai(2026, 12, 31, 23, 30), date(2026, 12, 31)),
    (shanghai(2027, 1, 1, 0, 30), date(2027, 1, 1)),        # still 31 December in UTC
    (shanghai(2028, 2, 29, 0, 30), date(2028, 2, 29)),      # still 28 February in UTC
    (shanghai(2026, 4, 1, 0, 30), date(2026, 4, 1)),        # still Q1 in UTC
    (shanghai(2026, 8, 1, 7, 59), date(2026, 8, 1)),        # still 31 July in UTC
])
def test_today_and_local_dates_are_network_days(time_machine, instant, day):
    time_machine.move_to(instant, tick=False)
    assert service.today() == day
    assert service.local_date(datetime.now(UTC)) == day
    assert datetime.now(UTC).date() != day or instant.hour >= 8  # the UTC day differs before 08:00
