"""The outbox relay against the real broker: headers, payload, order, and Kafka being down."""
import json
import threading
import uuid

import pytest

from shared import events, outbox
from shared.db import Database
from shared.relay import OutboxRelay
from tests.helpers import header, read_topic

pytestmark = pytest.mark.integration


def _db(url: str) -> Database:
    db = Database(url, "directory")
    db.migrate()
    return db


def _staff_joined(staff_id: str) -> dict:
    return {"staff_id": staff_id, "employee_number": "E-" + staff_id[:8], "name": "王芳", "role": "staff",
            "branch_id": "b-1", "hire_date": "2025-03-01"}


def test_event_written_through_outbox_arrives_as_cloudevent(database_url, kafka_bootstrap):
    db = _db(database_url)
    staff_id = str(uuid.uuid4())
    with db.transaction() as conn:
        event_id = outbox.add(conn, "lsq.staff.joined.v1", _staff_joined(staff_id))
    relay = OutboxRelay(db, kafka_bootstrap)
    assert relay.publish_pending() == 1
    with db.read() as conn:
        assert outbox.backlog(conn) == 0

    [record] = read_topic(kafka_bootstrap, "lsq.staff", lambda r: header(r, "ce_id") == event_id)
    assert record.key.decode() == staff_id
    assert header(record, "ce_type") == "lsq.staff.joined.v1"
    assert header(record, "ce_source") == "/lsq/directory"
    assert header(record, "ce_specversion") == "1.0"
    assert header(record, "ce_subject") == staff_id
    assert header(record, "content-type") == "application/json"
    assert header(record, "ce_time").endswith("Z")
    data = json.loads(record.value)
    assert data["name"] == "王芳"
    assert events.get("lsq.staff.joined.v1").schema().validate(data) == {}


def test_invalid_event_is_refused_before_the_outbox(sqlite_url):
    db = _db(sqlite_url)
    with pytest.raises(events.InvalidEventData) as error:
        with db.transaction() as conn:
            outbox.add(conn, "lsq.staff.joined.v1", {"staff_id": "x", "role": "wizard"})
    assert "role" in error.value.errors
    with db.read() as conn:
        assert outbox.backlog(conn) == 0


def test_relay_started_while_kafka_is_down_delivers_everything_later(sqlite_url, kafka_bootstrap, tmp_path):
    from shared.devstack.kafka import LocalKafka
    broker = LocalKafka(tmp_path / "late-kafka")  # ports chosen, not started yet
    db = _db(sqlite_url)
    ids = []
    with db.transaction() as conn:
        for _ in range(20):
            ids.append(outbox.add(conn, "lsq.staff.joined.v1", _staff_joined(str(uuid.uuid4()))))
    relay = OutboxRelay(db, broker.bootstrap, poll_seconds=0.1,
                        producer_factory=lambda: __import__("shared.bus", fromlist=["x"]).make_producer(
                            broker.bootstrap, max_block_ms=2000, request_timeout_ms=3000))
    thread = threading.Thread(target=relay.run, daemon=True)
    thread.start()
    try:
        thread.join(3)  # the relay tries and fails while nothing listens
        with db.read() as conn:
            assert outbox.backlog(conn) == 20
        broker.start()
        got = read_topic(broker.bootstrap, "lsq.staff", lambda r: header(r, "ce_id") in ids, count=20, timeout=60)
        assert sorted(header(r, "ce_id") for r in got) == sorted(ids)
    finally:
        relay.stop.set()
        thread.join(10)
        broker.stop()
    with db.read() as conn:
        assert outbox.backlog(conn) == 0


def test_relay_keeps_order_per_key(sqlite_url, kafka_bootstrap):
    db = _db(sqlite_url)
    staff_id = str(uuid.uuid4())
    with db.transaction() as conn:
        outbox.add(conn, "lsq.staff.joined.v1", _staff_joined(staff_id))
        for name in ["A", "B", "C"]:
            outbox.add(conn, "lsq.staff.updated.v1", {"staff_id": staff_id, "branch_id": "b-1", "role": "staff",
                                                      "name": name, "status": "active"})
    OutboxRelay(db, kafka_bootstrap).publish_pending()
    got = read_topic(kafka_bootstrap, "lsq.staff", lambda r: r.key == staff_id.encode(), count=4)
    assert [header(r, "ce_type") for r in got] == ["lsq.staff.joined.v1"] + ["lsq.staff.updated.v1"] * 3
    assert [json.loads(r.value)["name"] for r in got[1:]] == ["A", "B", "C"]


def test_only_one_relay_of_a_service_publishes_at_a_time(database_url, kafka_bootstrap):
    from shared.relay import RelayLeadership
    db_a, db_b = _db(database_url), Database(database_url, "directory")
    first, second = RelayLeadership(db_a), RelayLeadership(db_b)
    try:
        assert first.try_acquire()
        assert not second.try_acquire()  # the other worker stands by
        first.release()
        assert second.try_acquire()  # and takes over when the first goes away
    finally:
        first.release()
        second.release()
