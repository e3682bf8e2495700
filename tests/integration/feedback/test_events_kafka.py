"""Over the real broker: every feedback event is published once with a valid payload, and a staff
event from the directory makes the staff member known to the feedback service."""
import json
import threading
import time
import uuid
from datetime import timedelta

import pytest
from kafka import KafkaProducer

from services.feedback import service
from services.feedback.handlers import HANDLERS
from shared import directory_view, events
from shared.bus import ensure_topics
from shared.consumer import ConsumerRunner
from shared.events.envelope import Event
from shared.relay import OutboxRelay
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth, header, make_app, read_topic
from tests.integration.feedback.conftest import ADMIN, B1, DESK_1, STAFF_1, SUPERVISOR_1, seed_directory

pytestmark = pytest.mark.integration

FEEDBACK_TYPES = sorted(t for t, kind in events.REGISTRY.items() if kind.service == "feedback")


def _drain(db, kafka_bootstrap):
    relay = OutboxRelay(db, kafka_bootstrap)
    while relay.publish_pending():
        pass
    relay._drop_producer()


def test_every_event_published_once_with_a_valid_payload(database_url, kafka_bootstrap):
    ensure_topics(kafka_bootstrap, events.topics_of_service("feedback"))
    app = make_app("feedback", database_url, kafka_bootstrap)
    db = app.extensions["lsq"].db
    seed_directory(db)
    client = app.test_client()
    filed = client.post("/complaints", json={"branch_id": B1, "staff_id": STAFF_1, "category": "attitude",
                                             "severity": "urgent", "description": "态度生硬",
                                             "contact": {"phone": "13900000000"}}).json
    cid, code = filed["id"], filed["tracking_code"]
    assert service.sla_sweep(db, utcnow() + timedelta(minutes=100))["at_risk"] == 1
    assert service.sla_sweep(db, utcnow() + timedelta(hours=3))["breached"] == 1
    client.post(f"/complaints/{cid}/acknowledge", json={}, headers=SUPERVISOR_1)
    client.post(f"/complaints/{cid}/investigate", json={}, headers=SUPERVISOR_1)
    assert client.post(f"/complaints/{cid}/wait", json={}, headers=SUPERVISOR_1).status_code == 200
    client.post(f"/complaints/{cid}/resolve", json={"outcome": "substantiated", "response": "已批评教育"},
                headers=SUPERVISOR_1)
    client.post(f"/complaints/track/{code}/rating", json={"rating": 3})
    assert client.post(f"/complaints/{cid}/close", json={}, headers=SUPERVISOR_1).status_code == 200
    client.post(f"/complaints/track/{code}/reopen", json={"note": "仍不满意"})
    praise_id = client.post("/praise", json={"branch_id": B1, "staff_id": STAFF_1}).json["id"]
    client.post(f"/praise/{praise_id}/reject", json={"reason": "duplicate"}, headers=SUPERVISOR_1)
    rating_id = client.post("/ratings", json={"service_point_id": DESK_1, "stars": 5, "wait_minutes": 1}).json["id"]
    survey = client.post("/surveys", headers=ADMIN, json={
        "branch_ids": [B1], "opens_at": rfc3339(utcnow() - timedelta(minutes=1)),
        "closes_at": rfc3339(utcnow() + timedelta(days=1))}).json
    response_id = client.post(f"/surveys/{survey['id']}/responses",
                              json={"answers": {"UG": "student", "GS3": 5}}).json["response_id"]
    client.post(f"/surveys/{survey['id']}/close", headers=ADMIN)
    _drain(db, kafka_bootstrap)

    subjects = {cid, praise_id, rating_id, survey["id"], response_id}
    expected = {t: 1 for t in FEEDBACK_TYPES}
    records = []
    for topic in ("lsq.complaint", "lsq.praise", "lsq.rating", "lsq.survey"):
        wanted = {"lsq.complaint": 9, "lsq.praise": 2, "lsq.rating": 1, "lsq.survey": 2}[topic]
        records += read_topic(kafka_bootstrap, topic, lambda r: header(r, "ce_subject") in subjects, wanted, 30)
    seen = {}
    for record in records:
        event = Event.from_record(record)
        seen[event.type] = seen.get(event.type, 0) + 1
        kind = events.get(event.type)
        assert kind.schema().validate(json.loads(record.value)) == {}, event.type
        assert event.source == "/lsq/feedback" and header(record, "content-type") == "application/json"
        assert "13900000000" not in record.value.decode()
        if event.type.startswith("lsq.complaint.sla_"):
            # keyed by the handler who answers for the SLA, else the complaint
            assert record.key.decode() == (event.data["handler_id"] or event.data["complaint_id"])
        elif event.type.startswith("lsq.complaint"):
            assert record.key.decode() == STAFF_1  # per-staff ordering
    assert seen == expected
    db.dispose()


def test_a_staff_event_from_the_directory_makes_the_staff_member_known(database_url, kafka_bootstrap):
    ensure_topics(kafka_bootstrap, ["lsq.staff", "lsq.branch"])
    app = make_app("feedback", database_url, kafka_bootstrap)
    db = app.extensions["lsq"].db
    seed_directory(db)
    client = app.test_client()
    newcomer = f"staff-{uuid.uuid4().hex[:8]}"
    complaint = {"branch_id": B1, "staff_id": newcomer, "category": "competence", "description": "答非所问"}
    unknown = client.post("/complaints", json=complaint)
    assert unknown.status_code == 422 and "staff_id" in unknown.json["errors"]

    joined = Event(id=str(uuid.uuid4()), type="lsq.staff.joined.v1", source="/lsq/directory", subject=newcomer,
                   time=utcnow(), data={"staff_id": newcomer, "employee_number": "E900", "name": "赵敏",
                                        "role": "staff", "branch_id": B1, "hire_date": "2026-11-01"})
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap.split(","))
    producer.send("lsq.staff", key=newcomer.encode(), value=joined.value(), headers=joined.headers())
    producer.flush(10)
    producer.close()

    runner = ConsumerRunner(db, kafka_bootstrap, f"test-feedback-{uuid.uuid4().hex}", HANDLERS,
                            topics=["lsq.staff"])
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 45
    known = None
    while known is None and time.monotonic() < deadline:
        with db.read() as conn:
            known = directory_view.staff(conn, newcomer)
        time.sleep(0.2)
    runner.stop.set()
    thread.join(20)
    assert known is not None and known["branch_id"] == B1
    assert client.post("/complaints", json=complaint).status_code == 201
    assert client.get(f"/complaints?staff_id={newcomer}", headers=auth("supervisor", branch_id=B1)).json["total"] == 1
    db.dispose()
