"""Over the real broker: feedback events change the reader component, and a published cycle puts
one lsq.evaluation.scored.v1 per participant on the topic (key = staff id)."""
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from services.evaluation import store
from services.evaluation.handlers import HANDLERS
from shared.bus import ensure_topics, make_producer
from shared.consumer import ConsumerRunner
from shared.directory_view import known_staff
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.relay import OutboxRelay
from shared.timeutil import utcnow
from tests.helpers import auth, header, make_app, read_topic

from .conftest import ADMIN, Network, cycle_body

pytestmark = pytest.mark.integration
ALL4 = {"service_attitude": 4, "professional_competence": 4, "efficiency": 4, "compliance": 4}


def publish(bootstrap, events: list[Event]) -> None:
    """Put events on their topics as their owning service's relay would (CloudEvents binary mode)."""
    producer = make_producer(bootstrap)
    try:
        for e in events:
            plain = get_event_type(e.type).validate(e.data)
            wire = Event(id=e.id, type=e.type, source=e.source, subject=e.subject, time=e.time, data=plain)
            producer.send(e.topic, key=e.key.encode(), value=wire.value(), headers=wire.headers())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def test_feedback_over_kafka_feeds_the_score_and_publishing_emits_one_event_each(database_url, kafka_bootstrap):
    app = make_app("evaluation", database_url, kafka_bootstrap)
    client = app.test_client()
    db = app.extensions["lsq"].db
    helper = Network(app)  # only to build events; they travel through Kafka below
    ensure_topics(kafka_bootstrap, ["lsq.branch", "lsq.staff", "lsq.rating", "lsq.praise", "lsq.complaint",
                                    "lsq.evaluation", "lsq.cycle"])
    code = f"K{uuid.uuid4().hex[:6]}"
    branch = f"br-{code}"
    staff = [f"k{i}-{uuid.uuid4().hex[:8]}" for i in range(4)]
    now = utcnow()
    from .conftest import make_event
    events = [make_event("lsq.branch.opened.v1", {"branch_id": branch, "code": code, "name_zh": "测试分馆",
                                                  "name_en": "Test"})]
    events += [make_event("lsq.staff.joined.v1", {"staff_id": s, "employee_number": s[:30], "name": "馆员",
                                                  "role": "staff", "branch_id": branch, "hire_date": "2021-03-01"})
               for s in staff]
    target, quiet = staff[0], staff[1]
    feedback = [helper.rating(target, branch, 4, now - timedelta(hours=h)) for h in range(1, 6)]
    feedback += [helper.praise(target, branch, now), helper.complaint(target, branch, now, severity="normal")]
    publish(kafka_bootstrap, events + feedback)

    runner = ConsumerRunner(db, kafka_bootstrap, f"test-evaluation-{uuid.uuid4().hex}", HANDLERS)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with db.read() as conn:
                facts = conn.execute(select(func.count()).select_from(store.reader_facts)
                                     .where(store.reader_facts.c.staff_id == target)).scalar_one()
                # staff events travel on another topic and partitions: wait for them too
                known = conn.execute(select(func.count()).select_from(known_staff)
                                     .where(known_staff.c.branch_id == branch)).scalar_one()
            if facts == len(feedback) and known == len(staff):
                break
            time.sleep(0.3)
        assert (facts, known) == (len(feedback), len(staff))
    finally:
        runner.stop.set()
        thread.join(30)
    assert not thread.is_alive()

    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches", branch_ids=[branch])).json
    cid = cycle["id"]
    assert client.post(f"/cycles/{cid}/open", headers=ADMIN).json["participants"] == 4
    for s in staff:
        r = client.post(f"/cycles/{cid}/evaluations", headers=auth("staff", staff_id=s, branch_id=branch),
                        json={"staff_id": s, "rater_type": "self", "scores": ALL4})
        assert r.status_code == 201
    assert client.post(f"/cycles/{cid}/close", headers=ADMIN).status_code == 200
    scores = {i["staff_id"]: i for i in client.get(f"/cycles/{cid}/scores", headers=ADMIN).json["items"]}
    # 4.0 mean + 0.1 praise - 0.5 substantiated normal complaint = 3.6
    assert scores[target]["components"]["reader"]["value"] == 3.6
    assert scores[target]["components_used"] == ["reader", "self"]
    assert scores[quiet]["components"]["reader"]["used"] is False
    assert "reader" in scores[quiet]["components_missing"]
    # (0.4 × 3.6 + 0.1 × 4) / 0.5 = 3.68 → 73.60
    assert scores[target]["score"] == 73.6

    assert client.post(f"/cycles/{cid}/publish", headers=ADMIN).status_code == 200
    relay = OutboxRelay(db, kafka_bootstrap)
    while relay.publish_pending():
        pass
    relay._drop_producer()
    records = read_topic(kafka_bootstrap, "lsq.evaluation",
                         lambda r: header(r, "ce_type") == "lsq.evaluation.scored.v1"
                         and json.loads(r.value)["cycle_id"] == cid, count=4, timeout=60)
    assert len(records) == 4
    assert sorted(r.key.decode() for r in records) == sorted(staff)
    assert {header(r, "ce_source") for r in records} == {"/lsq/evaluation"}
    data = {r.key.decode(): json.loads(r.value) for r in records}
    assert data[target]["score"] == 73.6 and data[target]["components_missing"] == ["supervisor", "peer"]
    app.extensions["lsq"].db.dispose()
