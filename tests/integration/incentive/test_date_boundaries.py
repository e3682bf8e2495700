"""The incentive rules at period boundaries, through the handlers and the use cases, on SQLite and
PostgreSQL (no broker needed).

Events are dated at set instants (Asia/Shanghai wall times); where a use case reads the clock
(an appeal, a standing without ``as_of``, the settlement and escalation sweeps, a policy saved
"now"), the clock is set with time-machine, never left at today.
"""
import copy
import uuid
from collections import Counter
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.incentive import model, service, store
from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared import outbox
from shared.auth import Principal
from shared.errors import Conflict
from tests.integration.incentive.support import (branch_opened, completed, overdue, praise, praise_rejected,
                                                 resolved, scored, staff_joined)

pytestmark = pytest.mark.integration
SHANGHAI = ZoneInfo("Asia/Shanghai")
B = "branch-central"
GROUP = "lsq.incentive"
ADMIN = Principal("network_admin", subject="admin")


def sh(*parts) -> datetime:
    """A wall time in Shanghai."""
    return datetime(*parts, tzinfo=SHANGHAI)


YEAR_END = sh(2026, 12, 31, 23, 30)   # 15:30 UTC
NEW_YEAR = sh(2027, 1, 1, 0, 30)      # 16:30 UTC on 31 December


@pytest.fixture(autouse=True)
def _network_calendar(monkeypatch):
    monkeypatch.delenv("LSQ_INCENTIVE_TIMEZONE", raising=False)
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    model.calendar_zone.cache_clear()
    yield
    model.calendar_zone.cache_clear()  # whatever a test set, the next one reads the environment again


@pytest.fixture
def runner(db):
    runner = IncentiveRunner(db, "127.0.0.1:1", GROUP, HANDLERS)
    runner.apply_batch([branch_opened(B)])
    return runner


def _staff(runner) -> str:
    staff_id = str(uuid.uuid4())
    runner.apply_batch([staff_joined(staff_id, B)])
    return staff_id


def _ledger(db, staff_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.ledger).where(store.ledger.c.staff_id == staff_id)
                                              .order_by(store.ledger.c.position)).mappings()]


def _awards(db, staff_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.awards).where(store.awards.c.staff_id == staff_id)
                                              .order_by(store.awards.c.requested_at)).mappings()]


def _sanctions(db, staff_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.sanctions).where(store.sanctions.c.staff_id == staff_id)
                                              .order_by(store.sanctions.c.issued_at)).mappings()]


def _issued(db):
    with db.read() as conn:
        return outbox.events_for(conn, event_type="lsq.sanction.issued.v1")


def _tally(db, staff_id):
    with db.read() as conn:
        return {r["month"]: r["points"] for r in conn.execute(
            select(store.points_tally).where(store.points_tally.c.staff_id == staff_id)).mappings()}


# -- the fund period of an award ------------------------------------------------------------------
@pytest.mark.parametrize("kind, moments", [
    ("quarter", {YEAR_END: "2026-Q4", NEW_YEAR: "2027-Q1", sh(2027, 3, 31, 23, 30): "2027-Q1",
                 sh(2027, 4, 1, 0, 30): "2027-Q2"}),
    ("month", {YEAR_END: "2026-12", NEW_YEAR: "2027-01", sh(2028, 2, 29, 0, 30): "2028-02",
               sh(2028, 3, 1, 0, 30): "2028-03"}),
    ("year", {YEAR_END: "2026", NEW_YEAR: "2027"}),
])
def test_an_award_draws_on_the_fund_of_its_local_period(db, runner, time_machine, kind, moments):
    time_machine.move_to(sh(2026, 12, 1, 9), tick=False)  # the policy is in force before every award
    document = copy.deepcopy(service.current_policy(db)["document"])
    document["fund"]["period"] = kind
    assert service.save_policy(db, ADMIN, document, f"funds by {kind}")["version"] == 2
    awards_of = Counter(moments.values())
    for period, count in awards_of.items():
        service.set_budget(db, ADMIN, B, period, 2000 * count)
    for moment, period in moments.items():
        staff = _staff(runner)
        runner.apply_batch([scored(staff, B, "excellent", moment)])
        [award] = _awards(db, staff)
        assert (award["period"], award["status"], award["policy_version"]) == (period, "granted", 2), moment
        assert _ledger(db, staff)[-1]["period"] == period
    for period, count in awards_of.items():  # each fund paid exactly its own awards
        [fund] = service.list_funds(db, B, period, 1, 10)[0]
        assert (fund["granted"], fund["available"]) == (Decimal(2000 * count), Decimal("0.00")), period


def test_an_award_at_half_past_midnight_on_new_years_day_is_not_paid_from_the_old_quarter(db, runner):
    service.set_budget(db, ADMIN, B, "2026-Q4", "2000.00")  # nothing for 2027-Q1 yet
    staff = _staff(runner)
    runner.apply_batch([scored(staff, B, "excellent", NEW_YEAR)])
    [award] = _awards(db, staff)
    assert (award["period"], award["status"], award["waiting_for"]) == ("2027-Q1", "pending", "fund_short")
    [old] = service.list_funds(db, B, "2026-Q4", 1, 10)[0]
    assert old["granted"] == Decimal("0.00")


# -- points: the month of the cap ----------------------------------------------------------------
def test_the_monthly_points_cap_is_per_local_month(db, runner):
    staff = _staff(runner)
    december = [praise(staff, B, YEAR_END - timedelta(minutes=n)) for n in range(7)]
    runner.apply_batch(december + [praise(staff, B, NEW_YEAR)])
    entries = _ledger(db, staff)
    assert [(e["points"], e["period"]) for e in entries] == [(5, "2026-12")] * 6 + [(5, "2027-01")]
    assert _tally(db, staff) == {"2026-12": 30, "2027-01": 5}
    # A December praise rejected in January gives December's cap room back, not January's.
    runner.apply_batch([praise_rejected(december[0].data["praise_id"], staff, B, NEW_YEAR + timedelta(hours=1))])
    assert _tally(db, staff) == {"2026-12": 25, "2027-01": 5}
    assert _ledger(db, staff)[-1]["period"] == "2026-12" and _ledger(db, staff)[-1]["points"] == -5
    runner.apply_batch([praise(staff, B, sh(2026, 12, 31, 23, 59))])  # a late December praise: room again
    assert (_ledger(db, staff)[-1]["points"], _ledger(db, staff)[-1]["period"]) == (5, "2026-12")
    runner.apply_batch([praise(staff, B, sh(2026, 12, 31, 23, 58))])
    assert _tally(db, staff) == {"2026-12": 30, "2027-01": 5}
    assert len(_ledger(db, staff)) == 9  # the last one was capped: no entry


def test_training_completed_on_new_years_day_counts_for_january(db, runner):
    staff = _staff(runner)
    runner.apply_batch([completed(staff, B, "2026-12-31", 10), completed(staff, B, "2027-01-01", 10)])
    entries = _ledger(db, staff)
    assert [(e["points"], e["period"]) for e in entries] == [(20, "2026-12"), (20, "2027-01")]
    assert entries[1]["occurred_at"] == sh(2027, 1, 1)  # local midnight of the day it is dated by


def test_the_standing_counts_this_month_and_year_in_the_local_calendar(db, runner, time_machine):
    staff = _staff(runner)
    service.set_budget(db, ADMIN, B, "2026-Q4", "2000.00")
    runner.apply_batch([praise(staff, B, YEAR_END), scored(staff, B, "excellent", YEAR_END),
                        praise(staff, B, sh(2027, 1, 1, 0, 15))])
    time_machine.move_to(NEW_YEAR, tick=False)
    now = service.standing(db, staff)
    assert now["points"] == {"this_month": 5, "this_year": 5, "total": 10}
    assert now["awards_this_year"]["granted_amount"] == Decimal("0.00") and now["awards_this_year"]["items"] == []
    before = service.standing(db, staff, sh(2026, 12, 31, 23, 45))
    assert before["points"] == {"this_month": 5, "this_year": 5, "total": 5}
    assert before["awards_this_year"]["granted_amount"] == Decimal("2000.00")
    assert [a["tier"] for a in before["awards_this_year"]["items"]] == ["A"]


# -- settling a fund period's points ----------------------------------------------------------------
def test_the_sweep_settles_the_local_quarter_seven_days_after_its_local_end(db, runner, time_machine):
    staff = _staff(runner)
    service.set_budget(db, ADMIN, B, "2026-Q4", "1000.00")
    runner.apply_batch([praise(staff, B, YEAR_END), praise(staff, B, NEW_YEAR)])
    time_machine.move_to(sh(2027, 1, 7, 23, 59), tick=False)
    assert service.settle_due(db, GROUP) is None  # 2026-Q4 ended at midnight in Shanghai: 7 days not yet over
    time_machine.move_to(sh(2027, 1, 8, 0, 30), tick=False)  # still 7 January in UTC
    assert service.settle_due(db, GROUP) == "2026-Q4"
    [credit] = [a for a in _awards(db, staff) if a["tier"] == "points_credit"]
    # Only the praise of 31 December: the one of 00:30 on 1 January is the new quarter's.
    assert (credit["period"], credit["amount"], credit["status"]) == ("2026-Q4", Decimal("50.00"), "granted")
    assert service.settle_due(db, GROUP) is None  # once


def test_a_quarter_can_be_settled_from_local_midnight_on(db, runner, time_machine):
    staff = _staff(runner)
    runner.apply_batch([praise(staff, B, YEAR_END), praise(staff, B, sh(2027, 1, 1, 0, 0))])
    time_machine.move_to(sh(2026, 12, 31, 23, 59, 59), tick=False)
    with pytest.raises(Conflict) as still_open:
        service.settle_period(db, GROUP, "admin", "2026-Q4")
    assert still_open.value.code == "period_open"
    time_machine.move_to(sh(2027, 1, 1, 0, 0, 1), tick=False)
    assert service.settle_period(db, GROUP, "admin", "2026-Q4")["awards"] == 1
    [credit] = [a for a in _awards(db, staff) if a["tier"] == "points_credit"]
    assert credit["requested_amount"] == Decimal("50.00")  # the praise of 00:00 on 1 January is not in it


# -- the appeal window ----------------------------------------------------------------------------
def test_a_sanction_of_new_years_eve_may_be_appealed_until_14_january_at_the_same_time(db, runner, time_machine):
    on_time, late = _staff(runner), _staff(runner)
    runner.apply_batch([resolved(on_time, B, YEAR_END), resolved(late, B, YEAR_END)])
    [first], [second] = _sanctions(db, on_time), _sanctions(db, late)
    assert first["appeal_deadline"] == sh(2027, 1, 14, 23, 30) == second["appeal_deadline"]
    [issued] = [e for e in _issued(db) if e.data["sanction_id"] == first["id"]]
    assert issued.data["appeal_deadline"] == "2027-01-14T15:30:00.000Z"
    time_machine.move_to(sh(2027, 1, 14, 23, 30), tick=False)  # the deadline itself
    appealed = service.appeal(db, GROUP, Principal("staff", staff_id=on_time, branch_id=B), first["id"], "unfair")
    assert appealed["status"] == "appealed" and appealed["appealed_at"] == sh(2027, 1, 14, 23, 30)
    time_machine.move_to(sh(2027, 1, 14, 23, 30, 1), tick=False)
    with pytest.raises(Conflict) as closed:
        service.appeal(db, GROUP, Principal("staff", staff_id=late, branch_id=B), second["id"], "unfair")
    assert closed.value.code == "appeal_window_closed"


def test_the_leap_day_is_one_of_the_14_days_of_the_appeal_window(db, runner, time_machine):
    staff = _staff(runner)
    runner.apply_batch([resolved(staff, B, sh(2028, 2, 15, 12, 0))])
    [sanction] = _sanctions(db, staff)
    assert sanction["appeal_deadline"] == sh(2028, 2, 29, 12, 0)
    time_machine.move_to(sh(2028, 2, 29, 12, 0, 1), tick=False)
    with pytest.raises(Conflict, match="window"):
        service.appeal(db, GROUP, Principal("staff", staff_id=staff, branch_id=B), sanction["id"], "unfair")


# -- lapse after 12 months ------------------------------------------------------------------------
def test_a_warning_of_the_leap_day_lapses_on_28_february_2029(db, runner, time_machine):
    staff = _staff(runner)
    runner.apply_batch([resolved(staff, B, sh(2028, 2, 29, 0, 30))])
    [warning] = _sanctions(db, staff)
    assert warning["expires_at"] == sh(2029, 2, 28, 0, 30)  # not 1 March, as a year later in UTC would be
    time_machine.move_to(sh(2029, 2, 28, 0, 29), tick=False)
    assert (service.standing(db, staff)["ladder_step"], service.standing(db, staff)["current_level"]) \
        == (1, "verbal_warning")
    assert service.list_sanctions(db, {"staff_id": staff, "active_at": service.utcnow()}, 1, 10)[1] == 1
    time_machine.move_to(sh(2029, 2, 28, 0, 30), tick=False)
    assert service.standing(db, staff)["ladder_step"] == 0
    assert service.list_sanctions(db, {"staff_id": staff, "active_at": service.utcnow()}, 1, 10)[1] == 0
    runner.apply_batch([resolved(staff, B, sh(2029, 2, 28, 12, 0))])  # the first one has lapsed
    assert [s["level"] for s in _sanctions(db, staff)] == ["verbal_warning", "verbal_warning"]


def test_a_warning_of_new_years_eve_still_counts_at_23_29_a_year_later(db, runner):
    staff = _staff(runner)
    runner.apply_batch([resolved(staff, B, YEAR_END), resolved(staff, B, sh(2027, 12, 31, 23, 29))])
    assert [(s["level"], s["expires_at"]) for s in _sanctions(db, staff)] == [
        ("verbal_warning", sh(2027, 12, 31, 23, 30)), ("written_warning", sh(2028, 12, 31, 23, 29))]


# -- overdue training: the grace period ends at local midnight --------------------------------------
def test_overdue_training_escalates_at_local_midnight_at_the_end_of_the_grace_period(db, runner, time_machine):
    late, belated = _staff(runner), _staff(runner)
    runner.apply_batch([overdue(s, B, "2026-12-02") for s in (late, belated)])  # 30 days: until 1 January
    time_machine.move_to(YEAR_END, tick=False)
    assert service.escalate_due(db) == 0
    time_machine.move_to(NEW_YEAR, tick=False)  # 16:30 UTC on 31 December
    assert service.escalate_due(db) == 2
    [escalated] = [s for s in _sanctions(db, late) if s["level"] == "written_warning"]
    assert escalated["issued_at"] == sh(2027, 1, 1)  # dated by the rule: the end of the grace period
    assert escalated["expires_at"] == sh(2028, 1, 1) and escalated["appeal_deadline"] == sh(2027, 1, 15)
    assert "after 30 days" in escalated["reason_en"]
    # A completion dated on the last day of the grace period withdraws it; one a day later does not.
    runner.apply_batch([completed(belated, B, "2027-01-01"), completed(late, B, "2027-01-02")])
    assert [(s["level"], s["status"]) for s in _sanctions(db, belated)] == [("notice", "issued"),
                                                                          ("written_warning", "revoked")]
    assert [(s["level"], s["status"]) for s in _sanctions(db, late)] == [("notice", "issued"),
                                                                       ("written_warning", "issued")]
