"""The incentive rules applied to consumed events, on SQLite and PostgreSQL (no broker needed)."""
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from services.incentive import service, store
from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared import outbox
from shared.timeutil import local_date, utcnow
from tests.integration.incentive.support import (T0, branch_opened, breached, completed, overdue, praise,
                                                 praise_rejected, resolved, scored, staff_joined)

pytestmark = pytest.mark.integration
B = "branch-central"


def _staff(runner, name="王芳"):
    staff_id = str(uuid.uuid4())
    runner.apply_batch([staff_joined(staff_id, B, name)])
    return staff_id


def _ledger(db, staff_id=None):
    with db.read() as conn:
        query = select(store.ledger).order_by(store.ledger.c.position)
        if staff_id:
            query = query.where(store.ledger.c.staff_id == staff_id)
        return [dict(r) for r in conn.execute(query).mappings()]


def _sanctions(db, staff_id):
    return [(e["level"], e["kind"]) for e in _ledger(db, staff_id) if e["level"]]


def _budget(db, amount, period="2026-Q1"):
    from shared.auth import Principal
    return service.set_budget(db, Principal("network_admin"), B, period, amount)


def test_substantiated_complaints_climb_the_ladder_citing_their_events(db, runner):
    staff = _staff(runner)
    first, second = resolved(staff, B, T0), resolved(staff, B, T0 + timedelta(days=3))
    runner.apply_batch([first])
    runner.apply_batch([second])
    entries = _ledger(db, staff)
    assert [(e["kind"], e["level"]) for e in entries] == [("sanction", "verbal_warning"), ("sanction", "written_warning")]
    assert store.loads(entries[0]["causes"]) == [{"source": "/lsq/feedback", "id": first.id}]
    assert entries[0]["policy_version"] == 1 and entries[0]["occurred_at"] == T0
    assert "complaint" in entries[0]["reason_en"] and "投诉" in entries[0]["reason_zh"]
    with db.read() as conn:
        issued = outbox.events_for(conn, event_type="lsq.sanction.issued.v1")
    assert [e.data["level"] for e in issued] == ["verbal_warning", "written_warning"]
    assert issued[0].key == staff and issued[0].data["caused_by"] == [{"source": "/lsq/feedback", "id": first.id}]
    assert issued[0].data["appeal_deadline"] == "2026-03-16T09:00:00.000Z"
    standing = service.standing(db, staff, T0 + timedelta(days=4))
    assert standing["ladder_step"] == 2 and standing["next_level"] == "improvement_plan"


def test_severity_partial_outcomes_and_unnamed_staff(db, runner):
    staff = _staff(runner)
    runner.apply_batch([resolved(staff, B, T0, severity="urgent"),
                        resolved(staff, B, T0 + timedelta(days=1), outcome="partially_substantiated"),
                        resolved(staff, B, T0 + timedelta(days=2), outcome="unsubstantiated"),
                        resolved(None, B, T0 + timedelta(days=2))])
    assert _sanctions(db, staff) == [("written_warning", "sanction"), ("notice", "sanction")]
    assert len(_ledger(db)) == 2


def test_sla_breaches_notify_the_handler_then_climb(db, runner):
    named, handler = _staff(runner), _staff(runner, "李雷")
    runner.apply_batch([breached(handler, B, T0, staff_id=named), breached(None, B, T0),
                        breached(handler, B, T0 + timedelta(days=5)), breached(handler, B, T0 + timedelta(days=400))])
    assert _sanctions(db, named) == []
    # first: a notice; second within 12 months: a verbal warning; a year later the slate is clean again
    assert _sanctions(db, handler) == [("notice", "sanction"), ("verbal_warning", "sanction"), ("notice", "sanction")]


def test_praise_points_are_capped_monthly_and_rejections_reverse_them_in_any_order(db, runner):
    staff = _staff(runner)
    praises = [praise(staff, B, T0 + timedelta(hours=i)) for i in range(7)]
    runner.apply_batch(praises)
    assert sum(e["points"] for e in _ledger(db, staff)) == 30  # 6 x 5, the 7th is over the cap
    runner.apply_batch([praise_rejected(praises[0].data["praise_id"], staff, B, T0 + timedelta(days=1))])
    entries = _ledger(db, staff)
    assert entries[-1]["kind"] == "revocation" and entries[-1]["points"] == -5
    assert entries[-1]["refers_to"] == entries[0]["id"]
    # rejected before it was received (a redelivery race): the receipt credits nothing
    late_id = str(uuid.uuid4())
    runner.apply_batch([praise_rejected(late_id, staff, B, T0 + timedelta(days=2))])
    runner.apply_batch([praise(staff, B, T0 + timedelta(days=2), praise_id=late_id)])
    assert sum(e["points"] for e in _ledger(db, staff)) == 25
    # praise of a desk, not a person, gives nobody points
    runner.apply_batch([praise(None, B, T0)])
    assert service.standing(db, staff, T0 + timedelta(days=3))["points"]["this_month"] == 25


def test_evaluation_awards_from_the_fund_and_rescoring_compensates(db, runner):
    staff, other = _staff(runner), _staff(runner, "李雷")
    _budget(db, "2500.00")
    first = scored(staff, B, "excellent", T0)
    runner.apply_batch([first, scored(other, B, "good", T0 + timedelta(hours=1))])
    with db.read() as conn:
        granted = outbox.events_for(conn, event_type="lsq.award.granted.v1")
    assert [(e.data["tier"], e.data["amount"], e.key) for e in granted] == [("A", "2000.00", staff)]
    assert granted[0].data["caused_by"] == [first.cause()]
    statement = service.fund_statement(db, B, "2026-Q1")
    # 2000 granted; the 800 for B did not fit in the 500 left: it waits, nothing was dropped
    assert statement["granted"] == Decimal("2000.00") and statement["available"] == Decimal("500.00")
    [waiting] = statement["pending_awards"]
    assert waiting["waiting_for"] == "fund_short" and waiting["staff_id"] == other
    # the appeal lowers the grade: award A is withdrawn (money back), award B granted instead
    runner.apply_batch([scored(staff, B, "good", T0 + timedelta(days=10), evaluation_id=first.data["evaluation_id"],
                               revision=1, previous_grade="excellent")])
    entries = _ledger(db, staff)
    assert [(e["kind"], e["tier"], e["amount"]) for e in entries] == [
        ("award", "A", Decimal("2000.00")), ("revocation", "A", Decimal("-2000.00")), ("award", "B", Decimal("800.00"))]
    assert service.fund_statement(db, B, "2026-Q1")["granted"] == Decimal("800.00")
    # a stale revision arriving late changes nothing
    runner.apply_batch([scored(staff, B, "excellent", T0, evaluation_id=first.data["evaluation_id"], revision=0)])
    assert len(_ledger(db, staff)) == 3


def test_unsatisfactory_means_an_improvement_plan_withdrawn_when_rescored(db, runner):
    staff = _staff(runner)
    first = scored(staff, B, "unsatisfactory", T0)
    runner.apply_batch([first])
    assert _sanctions(db, staff) == [("improvement_plan", "sanction")]
    runner.apply_batch([scored(staff, B, "satisfactory", T0 + timedelta(days=5), evaluation_id=first.data["evaluation_id"],
                               revision=1, previous_grade="unsatisfactory")])
    assert _sanctions(db, staff) == [("improvement_plan", "sanction"), ("improvement_plan", "revocation")]
    assert service.standing(db, staff, T0 + timedelta(days=6))["ladder_step"] == 0


def test_awards_above_the_threshold_wait_for_approval_with_the_money_reserved(db, runner):
    from services.incentive import ledger
    from shared.auth import Principal
    doc = service.current_policy(db)["document"]
    doc["fund"]["approval_threshold"] = "1000.00"
    service.save_policy(db, Principal("network_admin"), doc, "approvals above 1000")
    staff = _staff(runner)
    from services.incentive import model
    _budget(db, "5000.00", model.fund_period(service.utcnow()))
    now_event = scored(staff, B, "excellent", service.utcnow())
    runner.apply_batch([now_event])
    with db.read() as conn:
        [award] = conn.execute(select(store.awards).where(store.awards.c.staff_id == staff)).mappings().all()
    assert award["status"] == "pending" and award["waiting_for"] == "branch_manager_approval"
    assert award["policy_version"] == 2
    period = award["period"]
    fund = service.list_funds(db, B, period, 1, 10)[0][0]
    assert fund["reserved"] == Decimal("2000.00") and fund["available"] == Decimal("3000.00")
    approved = service.decide_award(db, "lsq.incentive", Principal("branch_manager", branch_id=B), award["id"],
                                    "approved", "well deserved")
    assert approved["status"] == "granted"
    fund = service.list_funds(db, B, period, 1, 10)[0][0]
    assert (fund["reserved"], fund["granted"]) == (Decimal("0.00"), Decimal("2000.00"))
    assert _ledger(db, staff)[-1]["kind"] == "award"
    # an event dated before version 2 took effect still follows version 1 (no approval needed)
    other, before = _staff(runner), service.utcnow() - timedelta(hours=1)
    runner.apply_batch([scored(other, B, "excellent", before)])
    with db.read() as conn:
        assert ledger.policy_at(conn, before).version == 1
        [award] = conn.execute(select(store.awards).where(store.awards.c.staff_id == other)).mappings().all()
    assert (award["policy_version"], award["status"]) == (1, "granted")


def test_training_hours_give_capped_points(db, runner):
    staff = _staff(runner)
    runner.apply_batch([completed(staff, B, "2026-03-03", 6), completed(staff, B, "2026-03-10", 6),
                        completed(staff, B, "2026-04-01", 1.5)])
    assert [e["points"] for e in _ledger(db, staff)] == [12, 8, 3]  # 2 points an hour, 20 a month


def test_overdue_training_gives_a_notice_then_a_written_warning_unless_completed(db, runner):
    late, diligent, belated = _staff(runner), _staff(runner), _staff(runner)
    runner.apply_batch([overdue(s, B, "2026-01-10") for s in (late, diligent, belated)])
    runner.apply_batch([completed(diligent, B, "2026-01-20")])
    assert service.escalate_due(db, T0) == 1 + 1  # late and belated: the grace ended on 2026-02-09
    assert _sanctions(db, late) == [("notice", "sanction"), ("written_warning", "sanction")]
    assert _sanctions(db, diligent) == [("notice", "sanction")]
    # belated completed on time, but the news came after the sweep: the escalation is withdrawn
    runner.apply_batch([completed(belated, B, "2026-02-01")])
    assert _sanctions(db, belated) == [("notice", "sanction"), ("written_warning", "sanction"),
                                       ("written_warning", "revocation")]
    [escalated] = [e for e in _ledger(db, late) if e["level"] == "written_warning"]
    # dated by the rule (the local day), not the sweep
    assert local_date(escalated["occurred_at"]).isoformat() == "2026-02-09"


def test_redelivered_events_change_nothing(db, runner):
    staff = _staff(runner)
    batch = [resolved(staff, B, T0), praise(staff, B, T0), scored(staff, B, "unsatisfactory", T0)]
    assert runner.apply_batch(batch) == ["applied"] * 3
    before = _ledger(db)
    assert runner.apply_batch(batch) == ["duplicate"] * 3
    assert _ledger(db) == before


def test_order_across_topics_gives_the_same_standing(db, runner):
    """An evaluation (lsq.evaluation) dated before a complaint (lsq.complaint) but consumed after it:
    the ladder is recomputed from the facts in time order, with compensating entries."""
    in_order, out_of_order = _staff(runner), _staff(runner)
    for staff, order in ((in_order, (0, 1)), (out_of_order, (1, 0))):
        events = [scored(staff, B, "unsatisfactory", T0), resolved(staff, B, T0 + timedelta(days=1))]
        for index in order:
            runner.apply_batch([events[index]])
    def summary(staff):
        s = service.standing(db, staff, T0 + timedelta(days=2))
        return s["ladder_step"], sorted(x["level"] for x in s["active_sanctions"])
    assert summary(in_order) == summary(out_of_order) == (4, ["improvement_plan", "referral"])
    assert _sanctions(db, out_of_order) == [("verbal_warning", "sanction"), ("improvement_plan", "sanction"),
                                            ("verbal_warning", "revocation"), ("referral", "sanction")]


def test_the_fund_never_goes_negative_when_another_worker_drew_on_it(db, runner):
    """Balances are read without a lock; the increment at the end of the batch is guarded."""
    from services.incentive import ledger, model, unit
    from shared.consumer import TransientError
    staff = _staff(runner)
    _budget(db, "1000.00")
    with db.transaction() as conn:  # another worker granted 900 meanwhile
        conn.execute(store.funds.update().values(granted=Decimal("900.00")))
    with pytest.raises(TransientError):
        with db.transaction() as conn, unit.scope(conn) as work:
            work.prefetch_funds([(B, "2026-Q1")])
            work.funds[(B, "2026-Q1")]["granted"] = Decimal("0.00")  # what it had read before
            ledger.request_award(conn, award_id="a1", staff_id=staff, branch_id=B, period="2026-Q1", tier="B",
                                 amount=Decimal("800.00"), subject="evaluation:x", rule_id="evaluation-good",
                                 policy=ledger.policy(conn, 1), causes=[], reason_en="r", reason_zh="r", at=T0)
    fund = service.list_funds(db, B, "2026-Q1", 1, 10)[0][0]
    assert fund["granted"] == Decimal("900.00") and fund["available"] == Decimal("100.00")
    # retried on fresh balances, the award waits for budget instead
    runner.apply_batch([scored(staff, B, "good", T0)])
    assert service.fund_statement(db, B, "2026-Q1")["pending_awards"][0]["waiting_for"] == "fund_short"
    assert model.fund_period(T0) == "2026-Q1"


def test_the_worker_settles_the_previous_period_after_a_grace_period(db, runner):
    from datetime import datetime
    from shared.timeutil import UTC
    staff = _staff(runner)
    _budget(db, "1000.00")
    runner.apply_batch([praise(staff, B, T0), praise(staff, B, T0 + timedelta(days=1))])
    assert service.settle_due(db, "lsq.incentive", now=datetime(2026, 4, 3, tzinfo=UTC)) is None  # in grace
    assert service.settle_due(db, "lsq.incentive", now=datetime(2026, 4, 9, tzinfo=UTC)) == "2026-Q1"
    assert service.settle_due(db, "lsq.incentive", now=datetime(2026, 4, 10, tzinfo=UTC)) is None  # done once
    [credit] = [e for e in _ledger(db, staff) if e["kind"] == "award"]
    assert (credit["tier"], credit["amount"], credit["period"]) == ("points_credit", Decimal("100.00"), "2026-Q1")


def test_a_new_policy_version_is_used_by_the_next_batch(db, runner):
    from shared.auth import Principal
    staff = _staff(runner)
    runner.apply_batch([praise(staff, B, service.utcnow() - timedelta(minutes=1))])  # versions now cached?
    doc = service.current_policy(db)["document"]
    [rule] = [r for r in doc["rules"] if r["id"] == "reader-praise"]
    rule["points"]["points"] = 7
    service.save_policy(db, Principal("network_admin"), doc, "praise is worth more")
    # (times on the wire have millisecond precision: date the event clearly after the change)
    runner.apply_batch([praise(staff, B, service.utcnow() + timedelta(seconds=1))])
    assert [(e["points"], e["policy_version"]) for e in _ledger(db, staff)] == [(5, 1), (7, 2)]


def test_the_same_fact_published_again_under_a_new_event_id_counts_once(db, runner):
    """Redelivery reuses the event id (the inbox skips it); a producer retry may not: decisions are
    keyed by what they are about (completion, praise, evaluation, complaint, breach)."""
    import dataclasses
    staff = _staff(runner)
    originals = [completed(staff, B, "2026-03-03", 2), praise(staff, B, T0), scored(staff, B, "unsatisfactory", T0),
                 resolved(staff, B, T0 + timedelta(days=1)), breached(staff, B, T0 + timedelta(days=2))]
    runner.apply_batch(originals)
    before = _ledger(db, staff)
    again = [dataclasses.replace(e, id=str(uuid.uuid4())) for e in originals]
    assert runner.apply_batch(again) == ["applied"] * len(again)
    assert _ledger(db, staff) == before


def test_the_worker_never_decides_on_a_ladder_history_changed_elsewhere(db):
    """The worker keeps people's ladder history between batches; a change made by another unit
    (here an appeal overturned through the API) must be seen by the worker's next decision."""
    from shared.auth import Principal

    worker = IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    worker.apply_batch([branch_opened(B)])
    staff = str(uuid.uuid4())
    worker.apply_batch([staff_joined(staff, B)])
    recently = utcnow() - timedelta(days=2)  # within the appeal window
    worker.apply_batch([resolved(staff, B, recently)])
    assert _sanctions(db, staff) == [("verbal_warning", "sanction")]
    assert worker.history.get(staff, 1) is not None  # kept, at the version the issue left

    [verbal] = [e["id"] for e in _ledger(db, staff) if e["kind"] == "sanction"]
    me = Principal("staff", staff_id=staff, branch_id=B)
    service.appeal(db, "lsq.incentive", me, verbal, "the reader was abusive first")
    service.decide_appeal(db, "lsq.incentive", Principal("branch_manager", subject="mgr", branch_id=B), verbal,
                          "overturned", "CCTV shows it")

    worker.apply_batch([resolved(staff, B, recently + timedelta(days=1))])
    # The overturned warning no longer counts: the next complaint is a first step again.
    assert _sanctions(db, staff) == [("verbal_warning", "sanction"), ("verbal_warning", "revocation"),
                                     ("verbal_warning", "sanction")]


def test_a_rolled_back_batch_leaves_no_history_behind(db):
    worker = IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    worker.apply_batch([branch_opened(B)])
    staff = str(uuid.uuid4())
    worker.apply_batch([staff_joined(staff, B), resolved(staff, B, T0)])
    assert worker.history.get(staff, 1) is not None

    def failing(conn, event):
        raise RuntimeError("a handler failed after the ladder was changed")

    worker.handlers = {**HANDLERS, "lsq.praise.received.v1": failing}
    with pytest.raises(RuntimeError):
        worker.apply_batch([resolved(staff, B, T0 + timedelta(days=1)), praise(staff, B, T0 + timedelta(days=1))])
    assert worker.history.get(staff, 1) is None and worker.history.get(staff, 2) is None
    worker.handlers = HANDLERS
    worker.apply_batch([resolved(staff, B, T0 + timedelta(days=2))])
    assert _sanctions(db, staff) == [("verbal_warning", "sanction"), ("written_warning", "sanction")]


def test_the_worker_never_decides_on_completions_recorded_by_another_worker(db):
    """Completions are kept between batches too; one recorded by another worker of the group (as
    during a rebalance) must count in this worker's next overdue check."""
    mine = IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    other = IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    mine.apply_batch([branch_opened(B)])
    staff = str(uuid.uuid4())
    mine.apply_batch([staff_joined(staff, B), completed(staff, B, "2025-11-03", course_id="course-digital")])
    assert mine.history.completions(staff, 1) is not None  # kept, at the version the completion left

    other.apply_batch([completed(staff, B, "2026-01-05", course_id="course-regs")])
    mine.apply_batch([overdue(staff, B, "2026-01-10", course_id="course-regs")])
    with db.read() as conn:
        [status] = conn.execute(select(store.requirement_watch.c.status)
                                .where(store.requirement_watch.c.staff_id == staff)).scalars().all()
    assert status == "cleared"  # the course was completed in the year before: nothing will escalate
