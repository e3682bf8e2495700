"""A reopened complaint withdraws what its resolution decided; the next resolution decides again.

On SQLite and PostgreSQL, with the shared runner (a unit of work per event) and the worker's
(one per batch), in every arrival order."""
import itertools
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.incentive import service, store
from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared import outbox
from tests.integration.incentive.support import T0, reopened, resolved, staff_joined

pytestmark = pytest.mark.integration
B = "branch-central"


def _staff(runner):
    staff_id = str(uuid.uuid4())
    runner.apply_batch([staff_joined(staff_id, B)])
    return staff_id


def _in_force(db, staff_id):
    with db.read() as conn:
        rows = conn.execute(select(store.sanctions).where(store.sanctions.c.staff_id == staff_id)
                            .order_by(store.sanctions.c.issued_at)).mappings().all()
    return [(r["level"], r["issued_at"]) for r in rows if r["status"] in ("issued", "acknowledged", "appealed",
                                                                           "upheld")]


def test_reopening_revokes_the_warning_and_the_new_resolution_decides_again(db, runner):
    staff = _staff(runner)
    complaint = str(uuid.uuid4())
    first = resolved(staff, B, T0, complaint_id=complaint)
    runner.apply_batch([first])
    assert _in_force(db, staff) == [("verbal_warning", T0)]

    reopening = reopened(staff, B, complaint, T0 + timedelta(days=2))
    runner.apply_batch([reopening])
    assert _in_force(db, staff) == []
    with db.read() as conn:
        revoked = outbox.events_for(conn, event_type="lsq.sanction.revoked.v1")
    assert [(e.data["level"], e.data["cause"]) for e in revoked] == [("verbal_warning", "cause_withdrawn")]
    assert revoked[0].data["caused_by"] == [{"source": "/lsq/feedback", "id": reopening.id}]
    assert "reopened" in revoked[0].data["reason_en"] and "重新开启" in revoked[0].data["reason_zh"]
    assert service.standing(db, staff, T0 + timedelta(days=3))["ladder_step"] == 0

    again = T0 + timedelta(days=5)
    runner.apply_batch([resolved(staff, B, again, complaint_id=complaint)])
    assert _in_force(db, staff) == [("verbal_warning", again)]  # decided again, dated at the new resolution


def test_a_redelivered_reopening_changes_nothing_twice(db, runner):
    staff = _staff(runner)
    complaint = str(uuid.uuid4())
    runner.apply_batch([resolved(staff, B, T0, complaint_id=complaint)])
    reopening = reopened(staff, B, complaint, T0 + timedelta(days=1))
    runner.apply_batch([reopening])
    with db.read() as conn:
        before = conn.execute(select(store.ledger.c.id)).scalars().all()
    runner.apply_batch([reopening])  # the same event again: the inbox skips it
    runner.apply_batch([reopened(staff, B, complaint, T0 + timedelta(days=1))])  # republished, new id
    with db.read() as conn:
        assert conn.execute(select(store.ledger.c.id)).scalars().all() == before
        assert len(outbox.events_for(conn, event_type="lsq.sanction.revoked.v1")) == 1


def test_the_ladder_is_recomputed_without_the_reopened_complaint(db, runner):
    staff = _staff(runner)
    reopened_one = str(uuid.uuid4())
    runner.apply_batch([resolved(staff, B, T0, complaint_id=reopened_one)])
    later = T0 + timedelta(days=10)
    runner.apply_batch([resolved(staff, B, later)])
    assert [level for level, _ in _in_force(db, staff)] == ["verbal_warning", "written_warning"]
    runner.apply_batch([reopened(staff, B, reopened_one, T0 + timedelta(days=20))])
    # The first warning's cause is withdrawn: the later complaint is now the first step.
    assert _in_force(db, staff) == [("verbal_warning", later)]
    assert service.standing(db, staff, T0 + timedelta(days=21))["next_level"] == "written_warning"


def test_an_unsubstantiated_new_resolution_leaves_no_sanction(db, runner):
    staff = _staff(runner)
    complaint = str(uuid.uuid4())
    runner.apply_batch([resolved(staff, B, T0, complaint_id=complaint),
                        reopened(staff, B, complaint, T0 + timedelta(days=1)),
                        resolved(staff, B, T0 + timedelta(days=4), outcome="unsubstantiated", complaint_id=complaint)])
    assert _in_force(db, staff) == []


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_resolution_reopening_and_new_resolution_in_any_order_end_alike(db, order):
    """Events of one complaint can arrive in any order (e.g. it named another person at each
    resolution, so they sit on different partitions): the standing ends the same."""
    runner = IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    staff = str(uuid.uuid4())
    complaint = str(uuid.uuid4())
    again = T0 + timedelta(days=5)
    events = [resolved(staff, B, T0, complaint_id=complaint, severity="high"),
              reopened(staff, B, complaint, T0 + timedelta(days=2)),
              resolved(staff, B, again, complaint_id=complaint)]
    for index in order:
        runner.apply_batch([events[index]])
    assert _in_force(db, staff) == [("verbal_warning", again)]
