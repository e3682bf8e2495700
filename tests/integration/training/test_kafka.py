"""Over the real broker: a new staff member gets onboarding assigned, a low attitude score assigns
the remedial course, and the assignments reach lsq.requirement with their causes."""
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.training import model, store
from services.training.handlers import HANDLERS
from shared.bus import ensure_topics, make_producer
from shared.consumer import ConsumerRunner
from shared.events.envelope import Event
from shared.relay import OutboxRelay
from shared.timeutil import local_today
from tests.helpers import header, make_app, read_topic
from tests.integration.training.conftest import make_event

pytestmark = pytest.mark.integration


def publish(bootstrap, events: list[Event]) -> None:
    """Put events on their topics as their owning service's relay would (CloudEvents binary mode)."""
    producer = make_producer(bootstrap)
    try:
        for e in events:
            wire = Event(id=e.id, type=e.type, source=e.source, subject=e.subject, time=e.time,
                         data=json.loads(json.dumps(e.data, default=str)))
            producer.send(e.topic, key=e.key.encode(), value=wire.value(), headers=wire.headers())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def _kinds(db, staff_id):
    with db.read() as conn:
        return sorted(r.kind for r in conn.execute(select(store.requirements.c.kind).where(
            store.requirements.c.staff_id == staff_id)))


def test_joined_and_low_score_over_kafka(database_url, kafka_bootstrap):
    app = make_app("training", database_url, kafka_bootstrap)
    db = app.extensions["lsq"].db
    ensure_topics(kafka_bootstrap, ["lsq.branch", "lsq.staff", "lsq.evaluation", "lsq.requirement", "lsq.training"])
    branch, staff = f"br-{uuid.uuid4().hex[:8]}", f"tr-{uuid.uuid4().hex[:12]}"
    hired = local_today() - timedelta(days=13)
    joined = make_event("lsq.staff.joined.v1", {"staff_id": staff, "employee_number": staff[:30], "name": "新馆员",
                                                "role": "staff", "branch_id": branch, "hire_date": hired})
    scored = make_event("lsq.evaluation.scored.v1", {
        "evaluation_id": str(uuid.uuid4()), "cycle_id": "c1", "staff_id": staff, "branch_id": branch,
        "period": "2026-Q4", "score": 55.0, "grade": "unsatisfactory",
        "dimension_scores": {"service_attitude": 2.2, "professional_competence": 3.9},
        "components_used": ["reader", "supervisor"], "components_missing": [], "revision": 0,
        "published_at": "2026-11-27T08:00:00Z"})
    publish(kafka_bootstrap, [joined, scored])

    runner = ConsumerRunner(db, kafka_bootstrap, f"test-training-{uuid.uuid4().hex}", HANDLERS)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and "remedial" not in _kinds(db, staff):
            time.sleep(0.3)
    finally:
        runner.stop.set()
        thread.join(30)
    assert not thread.is_alive()
    # the year's hours only when enough of it is left (not in December)
    owes_hours = model.prorated_annual_hours(40, local_today(), local_today().year) > 0
    assigned = ["annual_hours"] * owes_hours + ["onboarding", "onboarding", "remedial"]
    assert _kinds(db, staff) == assigned

    # The runner also reacted to other tests' staff on the shared broker; only this staff member's
    # events are relayed, so that the topic is not flooded for other consumers.
    from shared.outbox import outbox
    from shared.timeutil import utcnow
    with db.transaction() as conn:
        conn.execute(outbox.update().where(outbox.c.key != staff).values(published_at=utcnow()))
    assert OutboxRelay(db, kafka_bootstrap).publish_pending() == len(assigned)
    records = read_topic(kafka_bootstrap, "lsq.requirement",
                         lambda r: r.key == staff.encode() and header(r, "ce_type") == "lsq.requirement.assigned.v1",
                         count=len(assigned), timeout=60)
    assert len(records) == len(assigned)
    data = [json.loads(r.value) for r in records]
    remedial = next(d for d in data if d["kind"] == "remedial")
    assert remedial["caused_by"] == [{"source": "/lsq/evaluation", "id": scored.id}]
    assert "service attitude" in remedial["reason"]
    onboarding = [d for d in data if d["kind"] == "onboarding"]
    assert all(d["caused_by"] == [{"source": "/lsq/directory", "id": joined.id}] for d in onboarding)
    assert all(header(r, "ce_source") == "/lsq/training" for r in records)
