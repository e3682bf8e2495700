"""``lsq dlt list / show / replay`` against the real broker: an event a consumer could not apply is
seen with its error, put back once the cause is fixed, and applied exactly once."""
import json
import threading
import time
import uuid
from datetime import datetime, timezone

import pytest
from kafka import KafkaProducer
from sqlalchemy import Column, MetaData, String, Table, func, select

from shared.cli import main as lsq
from shared.consumer import ConsumerRunner, PoisonEvent
from shared.db import Database
from shared.events.envelope import Event

pytestmark = pytest.mark.integration

applied_table = Table("applied_staff", MetaData(), Column("staff_id", String(64)))


def _event(staff_id: str) -> Event:
    return Event(id=str(uuid.uuid4()), type="lsq.staff.joined.v1", source="/lsq/directory", subject=staff_id,
                 time=datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc),
                 data={"staff_id": staff_id, "employee_number": "E1", "name": "韩梅梅", "role": "staff",
                       "branch_id": "b-1", "hire_date": "2025-01-02"})


def _applied(db, staff_id):
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(applied_table)
                            .where(applied_table.c.staff_id == staff_id)).scalar_one()


def _consume_until(runner, condition, timeout=40):
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.2)
    runner.stop.set()
    thread.join(20)
    runner.stop.clear()
    assert condition(), "the consumer did not get there in time"


def _lsq_json(capsys, *argv):
    capsys.readouterr()
    assert lsq(list(argv)) == 0
    return capsys.readouterr().out


def test_dead_letters_are_listed_shown_and_replayed_once(sqlite_url, kafka_bootstrap, capsys):
    topic = f"lsq.dlttest-{uuid.uuid4().hex[:8]}"
    db = Database(sqlite_url, "directory")
    db.migrate()
    applied_table.metadata.create_all(db.engine)
    broken = {"yes": True}

    def handler(conn, event):
        if broken["yes"]:
            raise PoisonEvent(f"branch {event.data['branch_id']} is not known yet")
        conn.execute(applied_table.insert().values(staff_id=event.data["staff_id"]))

    first, second, third = _event("s-1"), _event("s-2"), _event("s-3")
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap)
    for event in (first, second, third):
        producer.send(topic, key=event.subject.encode(), value=event.value(), headers=event.headers())
    producer.flush()
    producer.close()
    group = f"test-{uuid.uuid4().hex}"
    runner = ConsumerRunner(db, kafka_bootstrap, group, {"lsq.staff.joined.v1": handler}, topics=[topic])
    _consume_until(runner, lambda: _summary(capsys, kafka_bootstrap, topic).get("count", 0) >= 3)

    summary = _summary(capsys, kafka_bootstrap, topic)
    assert summary["count"] == 3 and summary["waiting"] == 3
    # The same failure on three events is one kind of error, with its count.
    assert summary["errors"] == [{"error": "PoisonEvent: branch b-<n> is not known yet", "count": 3}]
    assert summary["groups"] == {group: 3}
    text = _lsq_json(capsys, "dlt", "list", topic, "--bootstrap", kafka_bootstrap)
    assert f"{topic}.dlt: 3 dead letters, 3 not replayed" in text

    [shown] = [json.loads(line) for line in _lsq_json(
        capsys, "dlt", "show", topic, "--id", second.id, "--bootstrap", kafka_bootstrap).splitlines()]
    assert shown["id"] == second.id and shown["group"] == group
    assert shown["error"] == "PoisonEvent: branch b-1 is not known yet"
    assert shown["from"].startswith(f"{topic}:") and shown["data"]["name"] == "韩梅梅"

    # The cause is fixed; one event is put back by its id first, then all that wait.
    broken["yes"] = False
    assert "replayed 1 event onto" in _lsq_json(capsys, "dlt", "replay", topic, "--id", first.id,
                                            "--bootstrap", kafka_bootstrap)
    assert "replayed 3 events" in _lsq_json(capsys, "dlt", "replay", topic, "--bootstrap", kafka_bootstrap)
    assert "replayed 0 events" in _lsq_json(capsys, "dlt", "replay", topic, "--bootstrap", kafka_bootstrap)
    assert _summary(capsys, kafka_bootstrap, topic)["waiting"] == 0
    _consume_until(runner, lambda: all(_applied(db, s) for s in ("s-1", "s-2", "s-3")))
    time.sleep(1)  # the first event came back twice: give the second copy time to arrive
    _consume_until(runner, lambda: True, timeout=3)
    assert [_applied(db, s) for s in ("s-1", "s-2", "s-3")] == [1, 1, 1]  # the inbox kept each once


def test_replay_of_an_unknown_topic_or_id_says_so(kafka_bootstrap, capsys):
    assert lsq(["dlt", "replay", f"lsq.nothing-{uuid.uuid4().hex[:6]}", "--bootstrap", kafka_bootstrap]) == 1
    assert "no dead-letter topic" in capsys.readouterr().err
    assert "no dead letters" in _lsq_json(capsys, "dlt", "list", f"lsq.nothing-{uuid.uuid4().hex[:6]}",
                                          "--bootstrap", kafka_bootstrap)


def _summary(capsys, bootstrap, topic) -> dict:
    out = _lsq_json(capsys, "dlt", "list", topic, "--json", "--bootstrap", bootstrap)
    found = json.loads(out)
    return found[0] if found else {}
