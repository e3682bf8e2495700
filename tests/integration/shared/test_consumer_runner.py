"""The consumer runner against the real broker: duplicates, poison messages, crash before commit."""
import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid

import pytest
from kafka import KafkaProducer
from sqlalchemy import Column, MetaData, String, Table, func, select

from shared import outbox
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.relay import OutboxRelay
from tests.helpers import header, read_topic

pytestmark = pytest.mark.integration

seen_table = Table("seen_staff", MetaData(), Column("staff_id", String(64)), Column("name", String(100)))


def _db(url: str) -> Database:
    db = Database(url, "directory")
    db.migrate()
    seen_table.metadata.create_all(db.engine)
    return db


def _remember(conn, event):
    conn.execute(seen_table.insert().values(staff_id=event.data["staff_id"], name=event.data["name"]))


def _count(db, staff_id):
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(seen_table)
                            .where(seen_table.c.staff_id == staff_id)).scalar_one()


def _publish_joined(db, kafka_bootstrap, staff_id, times=1):
    with db.transaction() as conn:
        event_id = outbox.add(conn, "lsq.staff.joined.v1", {
            "staff_id": staff_id, "employee_number": "E1", "name": "李雷", "role": "staff",
            "branch_id": "b-1", "hire_date": "2025-01-02"})
    relay = OutboxRelay(db, kafka_bootstrap)
    for _ in range(times):  # publishing again = the same event delivered twice
        with db.transaction() as conn:
            conn.execute(outbox.outbox.update().values(published_at=None))
        relay.publish_pending()
    return event_id


def _run_until(runner, condition, timeout=30):
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    runner.stop.set()
    thread.join(20)
    assert not thread.is_alive(), "the runner did not stop on request"


def test_duplicate_delivery_is_applied_once(database_url, kafka_bootstrap):
    db = _db(database_url)
    staff_id = str(uuid.uuid4())
    _publish_joined(db, kafka_bootstrap, staff_id, times=2)
    runner = ConsumerRunner(db, kafka_bootstrap, f"test-{uuid.uuid4().hex}", {"lsq.staff.joined.v1": _remember})
    outcomes = []
    original = runner.process
    runner.process = lambda records: outcomes.extend(original(records)) or outcomes
    _run_until(runner, lambda: sum(1 for o in outcomes if header(o.record, "ce_subject") == staff_id) >= 2)
    assert _count(db, staff_id) == 1
    mine = [o.status for o in outcomes if header(o.record, "ce_subject") == staff_id]
    assert sorted(mine) == ["applied", "duplicate"]


def test_poison_message_goes_to_dead_letter_topic_and_consumer_carries_on(sqlite_url, kafka_bootstrap):
    db = _db(sqlite_url)
    group = f"test-{uuid.uuid4().hex}"
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    marker = uuid.uuid4().hex
    # Not JSON; then valid JSON failing the schema; then a good event after them.
    base = [("ce_specversion", b"1.0"), ("ce_source", b"/lsq/directory"), ("ce_type", b"lsq.staff.joined.v1"),
            ("ce_time", b"2026-01-01T00:00:00Z"), ("ce_subject", marker.encode())]
    producer.send("lsq.staff", key=b"p", value=b"{not json", headers=base + [("ce_id", f"{marker}-1".encode())])
    producer.send("lsq.staff", key=b"p", value=json.dumps({"staff_id": marker}).encode(),
                  headers=base + [("ce_id", f"{marker}-2".encode())])
    producer.flush()
    good = str(uuid.uuid4())
    _publish_joined(db, kafka_bootstrap, good)
    runner = ConsumerRunner(db, kafka_bootstrap, group, {"lsq.staff.joined.v1": _remember})
    _run_until(runner, lambda: _count(db, good) == 1)
    assert _count(db, good) == 1
    dead = read_topic(kafka_bootstrap, "lsq.staff.dlt", lambda r: header(r, "ce_subject") == marker, count=2)
    # Dead-lettering is at-least-once too (a rebalance before the commit repeats it): count origins.
    assert len({(header(r, "lsq_dlt_partition"), header(r, "lsq_dlt_offset")) for r in dead}) == 2
    dead.sort(key=lambda r: int(header(r, "lsq_dlt_offset")))
    assert all(header(r, "lsq_dlt_group") == group for r in dead)
    assert "not JSON" in header(dead[0], "lsq_dlt_error")
    assert "name" in header(dead[1], "lsq_dlt_error")
    assert header(dead[0], "lsq_dlt_topic") == "lsq.staff"


def test_failing_handler_is_retried_then_dead_lettered(sqlite_url, kafka_bootstrap):
    db = _db(sqlite_url)
    staff_id = str(uuid.uuid4())
    event_id = _publish_joined(db, kafka_bootstrap, staff_id)
    calls = []

    def flaky(conn, event):
        if event.data["staff_id"] == staff_id:
            calls.append(1)
            raise RuntimeError("cannot apply this one")

    runner = ConsumerRunner(db, kafka_bootstrap, f"test-{uuid.uuid4().hex}", {"lsq.staff.joined.v1": flaky},
                            max_attempts=3)
    _run_until(runner, lambda: len(calls) >= 4)
    assert len(calls) == 4  # the batch attempt, then 3 attempts alone
    [dead] = read_topic(kafka_bootstrap, "lsq.staff.dlt", lambda r: header(r, "ce_id") == event_id)
    assert "cannot apply this one" in header(dead, "lsq_dlt_error")


CRASHING_CONSUMER = """
import os, signal, sys
from tests.integration.shared.test_consumer_runner import _count, _db, _remember
from shared.consumer import ConsumerRunner
db = _db(sys.argv[1])
def crash():
    if _count(db, sys.argv[5]):  # our event's transaction committed; its offset is not yet
        os.kill(os.getpid(), signal.SIGKILL)
runner = ConsumerRunner(db, sys.argv[2], sys.argv[3], {"lsq.staff.joined.v1": _remember},
                        before_offset_commit=crash if sys.argv[4] == "crash" else None)
if sys.argv[4] == "crash":
    runner.run()
else:
    import threading
    original = runner.process
    def process(records):
        outcomes = original(records)
        for outcome in outcomes:
            if outcome.record.key == sys.argv[5].encode():
                print("outcome", outcome.status, flush=True)
                runner.stop.set()
        return outcomes
    runner.process = process
    threading.Timer(60, runner.stop.set).start()
    runner.run()
"""


def test_consumer_killed_before_commit_applies_nothing_twice(database_url, kafka_bootstrap, tmp_path):
    db = _db(database_url)
    staff_id = str(uuid.uuid4())
    _publish_joined(db, kafka_bootstrap, staff_id)
    group = f"test-{uuid.uuid4().hex}"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    first = subprocess.run([sys.executable, "-c", CRASHING_CONSUMER, database_url, kafka_bootstrap, group, "crash",
                            staff_id],
                           env=env, timeout=120, capture_output=True)
    assert first.returncode == -signal.SIGKILL, first.stderr.decode()[-2000:]
    assert _count(db, staff_id) == 1  # the transaction committed before the kill
    second = subprocess.run([sys.executable, "-c", CRASHING_CONSUMER, database_url, kafka_bootstrap, group, "resume",
                             staff_id],
                            env=env, timeout=120, capture_output=True)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    assert b"outcome duplicate" in second.stdout  # redelivered, recognised by the inbox
    assert _count(db, staff_id) == 1  # redelivered after restart, skipped by the inbox
