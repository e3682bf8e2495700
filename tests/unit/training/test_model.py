"""Training rules without I/O: dates, hours, credit factors and caps, the waiting list, certificates."""
import random
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given, strategies as st

from services.training import model
from services.training.model import Policy
from shared.errors import Conflict, Invalid

days = st.dates(min_value=date(2000, 1, 1), max_value=date(2090, 12, 31))


# -- deadlines and notices ---------------------------------------------------------------------------
@given(due=days, today=days, window=st.integers(min_value=1, max_value=60))
def test_notice_follows_the_deadline(due, today, window):
    notice = model.notice_for(due, today, window)
    if today > due:
        assert notice == "overdue"
    elif due - today <= timedelta(days=window):
        assert notice == "due_soon"
    else:
        assert notice is None


@given(due=days)
def test_a_requirement_is_due_soon_for_exactly_the_last_week_then_overdue(due):
    notices = [model.notice_for(due, due + timedelta(days=k), 7) for k in range(-30, 30)]
    assert notices.count("due_soon") == 8  # seven days before, and the deadline day itself
    first_overdue = notices.index("overdue")
    assert all(n == "overdue" for n in notices[first_overdue:])
    assert all(n != "overdue" for n in notices[:first_overdue])
    assert model.notice_for(due, due, 7) == "due_soon"
    assert model.notice_for(due, due + timedelta(days=1), 7) == "overdue"


@given(hire=days, registered=days, window=st.integers(min_value=1, max_value=365))
def test_onboarding_never_starts_overdue(hire, registered, window):
    due = model.onboarding_due(hire, registered, window)
    assert due >= hire + timedelta(days=window)
    assert due >= registered + timedelta(days=min(window, 7))
    assert model.notice_for(due, registered, 7) != "overdue"
    if registered <= hire and window >= 7:
        assert due == hire + timedelta(days=window)


def test_onboarding_is_thirty_days_after_joining():
    assert model.onboarding_due(date(2026, 3, 1), date(2026, 3, 1)) == date(2026, 3, 31)
    assert model.onboarding_due(date(2026, 3, 1), date(2026, 3, 4)) == date(2026, 3, 31)
    # registered late in the window: still a week to do it
    assert model.onboarding_due(date(2026, 3, 1), date(2026, 3, 28)) == date(2026, 4, 4)
    # existing staff registered years after hiring get 30 days from registration
    assert model.onboarding_due(date(2010, 9, 1), date(2026, 11, 2)) == date(2026, 12, 2)


@given(day=days, months=st.integers(min_value=0, max_value=240))
def test_add_months_lands_in_the_right_month_and_never_before(day, months):
    later = model.add_months(day, months)
    assert (later.year - day.year) * 12 + later.month - day.month == months
    assert later >= day
    assert later.day == day.day or later.day < day.day  # clamped at the month's end


def test_add_months_clamps_to_month_end():
    assert model.add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert model.add_months(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert model.add_months(date(2026, 5, 15), 12) == date(2027, 5, 15)


# -- hours ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("hours,days", [(0, 1), (-1, 1), (24.01, 1), (49, 2), (float("nan"), 1), (float("inf"), 3)])
def test_impossible_hours_are_refused(hours, days):
    with pytest.raises(Invalid) as error:
        model.check_hours(hours, days)
    assert error.value.field == "hours" and error.value.message_zh


@pytest.mark.parametrize("hours,days", [(0.5, 1), (24, 1), (48, 2), (30, 3)])
def test_plausible_hours_are_accepted(hours, days):
    assert model.check_hours(hours, days) == hours


@given(annual=st.floats(min_value=0, max_value=200), hire=days, year=st.integers(min_value=2000, max_value=2090))
def test_prorated_hours_stay_within_the_annual_figure(annual, hire, year):
    required = model.prorated_annual_hours(annual, hire, year)
    assert 0 <= required <= annual + 0.5
    if hire.year < year:
        assert required == round(annual, 2)
    if hire.year > year:
        assert required == 0


def test_prorated_hours_by_month_of_hiring():
    assert model.prorated_annual_hours(40, date(2026, 1, 20), 2026) == 40
    assert model.prorated_annual_hours(40, date(2026, 7, 1), 2026) == 20
    assert model.prorated_annual_hours(40, date(2026, 12, 1), 2026) == 3.5  # 40/12 rounded up to the half hour
    assert model.prorated_annual_hours(40, None, 2026) == 40


# -- credit factors and caps -------------------------------------------------------------------------
def test_default_credit_factors():
    policy = Policy()
    assert model.external_credit("seminar", 6, policy) == 6
    assert model.external_credit("academic_forum", 3.5, policy) == 3.5
    assert model.external_credit("networking", 4, policy) == 2
    assert model.external_credit("teaching", 10, policy) == 10


def test_teaching_is_capped_at_twelve_hours_a_year():
    policy = Policy()
    assert model.external_credit("teaching", 20, policy) == 12
    assert model.external_credit("teaching", 5, policy, teaching_credited_this_year=10) == 2
    assert model.external_credit("teaching", 5, policy, teaching_credited_this_year=12) == 0


@given(hours=st.lists(st.floats(min_value=0.25, max_value=24), min_size=1, max_size=30))
def test_teaching_credit_never_exceeds_the_cap_however_it_is_split(hours):
    policy = Policy()
    credited = 0.0
    for h in hours:
        h = model.check_hours(h)  # the API rounds hours to two decimals before crediting
        credit = model.external_credit("teaching", h, policy, credited)
        assert 0 <= credit <= h + 1e-9
        credited += credit
    assert credited <= policy.teaching_cap_hours + 1e-6
    assert credited == pytest.approx(min(sum(round(h, 2) for h in hours), 12), abs=0.05)


@given(kind=st.sampled_from(model.EXTERNAL_KINDS), h=st.floats(min_value=0.1, max_value=24))
def test_credit_is_hours_times_factor_below_the_cap(kind, h):
    policy = Policy(teaching_cap_hours=1000)
    assert model.external_credit(kind, h, policy) == pytest.approx(h * policy.factor(kind), abs=0.01)


def test_policy_validation_names_the_field():
    with pytest.raises(Invalid) as error:
        Policy.from_dict({"annual_hours": {"staff": 40}})
    assert error.value.field == "annual_hours"
    with pytest.raises(Invalid) as error:
        Policy.from_dict({"credit_factors": {"sleeping": 1}})
    assert error.value.field == "credit_factors"
    with pytest.raises(Invalid) as error:
        Policy.from_dict({"area_minima": {"staff": {"juggling": 2}}})
    assert error.value.field == "area_minima"
    policy = Policy.from_dict({"annual_hours": {"default": 40, "supervisor": 60},
                               "area_minima": {"default": {"regulations_policy": 4}}})
    assert policy.annual_hours_for("supervisor") == 60 and policy.annual_hours_for("staff") == 40
    assert policy.area_minima_for("staff") == {"regulations_policy": 4}


# -- the waiting list --------------------------------------------------------------------------------
@given(capacity=st.integers(min_value=1, max_value=30), requests=st.integers(min_value=0, max_value=80),
       cancels=st.lists(st.integers(min_value=0, max_value=79), max_size=40))
def test_waiting_list_never_overbooks_and_is_first_come_first_served(capacity, requests, cancels):
    seated, waiting = [], []
    for person in range(requests):
        (seated if model.seat_for(capacity, len(seated)) == "enrolled" else waiting).append(person)
    for person in cancels:
        if person in seated:
            seated.remove(person)
        elif person in waiting:
            waiting.remove(person)
        moved = model.promotions(capacity, len(seated), waiting)
        assert moved == waiting[:len(moved)]  # the longest waiting first
        seated += moved
        waiting = waiting[len(moved):]
        assert len(seated) <= capacity
        assert not waiting or len(seated) == capacity  # nobody waits while a seat is free


def test_full_session_puts_people_on_the_waiting_list():
    assert model.seat_for(2, 1) == "enrolled"
    assert model.seat_for(2, 2) == "waitlisted"
    assert model.promotions(3, 1, ["a", "b", "c"]) == ["a", "b"]
    assert model.promotions(3, 3, ["a"]) == []


# -- attendance --------------------------------------------------------------------------------------
def test_attendance_outcomes():
    assert model.attendance_outcome(True, None, None) == "completed"
    assert model.attendance_outcome(True, 80, 80) == "completed"
    assert model.attendance_outcome(True, 79.5, 80) == "failed"
    assert model.attendance_outcome(False, None, 80) == "absent"
    with pytest.raises(Invalid) as error:
        model.attendance_outcome(True, None, 60)
    assert error.value.field == "score"
    with pytest.raises(Invalid):
        model.attendance_outcome(True, 101, 60)


@pytest.mark.parametrize("status,code", [("waitlisted", "not_enrolled"), ("cancelled", "enrolment_cancelled"),
                                         ("completed", "attendance_recorded"), ("absent", "attendance_recorded")])
def test_attendance_is_recorded_once_and_only_for_seats(status, code):
    model.check_attendance_allowed("enrolled")
    with pytest.raises(Conflict) as error:
        model.check_attendance_allowed(status)
    assert error.value.code == code


def test_session_checks():
    from datetime import datetime, timezone
    start = datetime(2026, 12, 1, 9, tzinfo=timezone.utc)
    with pytest.raises(Invalid) as error:
        model.check_session_times(start, start)
    assert error.value.field == "ends_at"
    with pytest.raises(Invalid) as error:
        model.check_session_times(start + timedelta(days=800), start + timedelta(days=801), now=start)
    assert error.value.field == "starts_at"
    model.check_session_times(start + timedelta(days=700), start + timedelta(days=700, hours=3), now=start)
    with pytest.raises(Invalid):
        model.check_session_hours(30, start, start + timedelta(hours=8))
    model.check_session_hours(30, start, start + timedelta(days=1, hours=8))
    with pytest.raises(Invalid) as error:
        model.check_delivery("in_person", None, "https://x")
    assert error.value.field == "place"
    with pytest.raises(Invalid) as error:
        model.check_delivery("online", "Room 1", None)
    assert error.value.field == "link"


# -- certificates and remedial training -----------------------------------------------------------------
def test_certificate_codes_are_unambiguous_and_normalised():
    rng = random.Random(7)
    codes = {model.certificate_code(rng) for _ in range(2000)}
    assert len(codes) == 2000
    for code in list(codes)[:50]:
        assert code.startswith("LSQ-") and len(code) == 18
        assert not set(code[4:].replace("-", "")) & set("01IOL")
        assert model.normalise_code(code.lower().replace("-", " ")) == code
        assert model.normalise_code(code[4:].replace("-", "")) == code
    assert model.normalise_code("  ") == ""


def test_certificate_status():
    assert model.certificate_status(None, date(2030, 1, 1)) == "valid"
    assert model.certificate_status(date(2026, 1, 1), date(2026, 1, 1)) == "valid"
    assert model.certificate_status(date(2026, 1, 1), date(2026, 1, 2)) == "expired"


@given(scores=st.dictionaries(st.sampled_from(["service_attitude", "professional_competence", "punctuality"]),
                              st.floats(min_value=1, max_value=5)),
       threshold=st.floats(min_value=1, max_value=5))
def test_low_dimensions_are_the_remedial_ones_below_the_threshold(scores, threshold):
    low = model.low_dimensions(scores, threshold)
    assert set(low) <= set(model.REMEDIAL_DIMENSIONS)
    for dimension in model.REMEDIAL_DIMENSIONS:
        assert (dimension in low) == (dimension in scores and scores[dimension] < threshold)


def test_remedial_reason_is_bilingual():
    en, zh = model.remedial_reason("service_attitude", 2.4, 3)
    assert "service attitude 2.40" in en and "below 3.00" in en
    assert "服务态度" in zh and "2.40" in zh


def test_compliance_share():
    assert model.compliance_share(0, 0) is None
    assert model.compliance_share(2, 3) == 0.667
    assert model.hours_met(40, 39.999) and not model.hours_met(40, 39.9)


# -- the sweep's decisions over time ---------------------------------------------------------------
@dataclass(frozen=True)
class _Req:
    id: int
    due_on: date
    period: str
    done_on: date | None  # when it was met (None: never)


@given(requirements=st.lists(st.tuples(st.integers(min_value=-20, max_value=80),
                                       st.one_of(st.none(), st.integers(min_value=-30, max_value=90))),
                             min_size=1, max_size=30),
       sweep_days=st.sets(st.integers(min_value=0, max_value=100), min_size=1, max_size=60),
       window=st.integers(min_value=1, max_value=14))
def test_sweeps_on_any_days_send_each_notice_at_most_once_in_order(requirements, sweep_days, window):
    start = date(2026, 1, 1)
    reqs = [_Req(i, start + timedelta(days=due), str((start + timedelta(days=due)).year),
                 None if done is None else start + timedelta(days=done)) for i, (due, done) in enumerate(requirements)]
    sent: set = set()
    log: list = []
    for day in sorted(sweep_days):
        today = start + timedelta(days=day)
        still_open = [r for r in reqs if r.done_on is None or r.done_on > today]
        for r, notice in model.notices_due(still_open, sent, today, window):
            sent.add((r.id, notice, r.period))
            log.append((day, r.id, notice))
    for r in reqs:
        mine = [(day, notice) for day, rid, notice in log if rid == r.id]
        notices = [n for _, n in mine]
        assert notices.count("due_soon") <= 1 and notices.count("overdue") <= 1
        assert notices in ([], ["due_soon"], ["overdue"], ["due_soon", "overdue"])  # reminder first
        for day, notice in mine:
            today = start + timedelta(days=day)
            assert r.done_on is None or r.done_on > today  # nothing about met requirements
            assert notice == model.notice_for(r.due_on, today, window)
        # overdue is reported exactly when a sweep ran after the deadline while it was still open
        late_sweeps = [d for d in sweep_days if start + timedelta(days=d) > r.due_on
                       and (r.done_on is None or r.done_on > start + timedelta(days=d))]
        assert ("overdue" in notices) == bool(late_sweeps)
