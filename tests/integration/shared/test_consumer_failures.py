"""How the consumer runner settles failures, with records handed in directly (SQLite, no broker)."""
from collections import namedtuple
from datetime import datetime, timezone

import pytest

from shared.consumer import ConsumerRunner, TransientError
from shared.db import Database
from shared.events.envelope import Event

Record = namedtuple("Record", "topic partition offset key value headers")


class FakeConsumer:
    def __init__(self):
        self.commits, self.seeks = [], []

    def commit(self, offsets):
        self.commits.append({(tp.topic, tp.partition): meta.offset for tp, meta in offsets.items()})

    def seek(self, tp, offset):
        self.seeks.append((tp.topic, tp.partition, offset))


def _record(partition: int, offset: int, staff_id: str) -> Record:
    event = Event(id=f"e-{partition}-{offset}", type="lsq.staff.left.v1", source="/lsq/directory", subject=staff_id,
                  time=datetime(2026, 1, 1, tzinfo=timezone.utc),
                  data={"staff_id": staff_id, "branch_id": "b1", "left_on": "2026-01-01", "reason": "retired"})
    return Record("lsq.staff", partition, offset, staff_id.encode(), event.value(), event.headers())


@pytest.fixture
def db(sqlite_url):
    database = Database(sqlite_url, "directory")
    database.migrate()
    return database


def _runner(db, handler):
    runner = ConsumerRunner(db, "127.0.0.1:1", "test-group", {"lsq.staff.left.v1": handler})
    runner._consumer = FakeConsumer()
    dead = []
    runner._dead_letter = lambda record, error: dead.append((record.offset, error))
    return runner, dead


def test_transient_failure_is_retried_and_then_applied(db):
    failures = {"s1": 2}
    applied = []

    def handler(conn, event):
        if failures.get(event.data["staff_id"], 0) > 0:
            failures[event.data["staff_id"]] -= 1
            raise TransientError("database busy")
        applied.append(event.id)

    runner, dead = _runner(db, handler)
    outcomes = runner.process([_record(0, 10, "s1"), _record(0, 11, "s2")])
    assert [o.status for o in outcomes] == ["applied", "applied"]
    assert sorted(applied) == ["e-0-10", "e-0-11"] and not dead
    assert runner._consumer.commits == [{("lsq.staff", 0): 12}]


def test_lasting_transient_failure_pauses_that_partition_uncommitted(db):
    def handler(conn, event):
        if event.data["staff_id"] == "stuck":
            raise TransientError("downstream unavailable")

    runner, dead = _runner(db, handler)
    outcomes = runner.process([_record(0, 5, "stuck"), _record(0, 6, "fine"), _record(1, 7, "fine-too")])
    assert [o.status for o in outcomes] == ["retry", "retry", "applied"]
    assert runner._consumer.seeks == [("lsq.staff", 0, 5)]
    assert runner._consumer.commits == [{("lsq.staff", 1): 8}]  # partition 0 not committed past 5
    assert not dead


def test_bug_in_a_handler_is_dead_lettered_after_max_attempts_and_the_rest_applied(db):
    calls = []

    def handler(conn, event):
        calls.append(event.id)
        if event.data["staff_id"] == "bad":
            raise KeyError("missing thing")

    runner, dead = _runner(db, handler)
    runner.max_attempts = 2
    outcomes = runner.process([_record(0, 1, "good"), _record(0, 2, "bad"), _record(0, 3, "good2")])
    assert [o.status for o in outcomes] == ["applied", "dead_lettered", "applied"]
    assert dead and dead[0][0] == 2 and "missing thing" in dead[0][1]
    assert runner._consumer.commits == [{("lsq.staff", 0): 4}]
    # the good ones were applied exactly once, despite the batch being rolled back and replayed
    assert runner.apply_batch([Event.from_record(_record(0, 1, "good"))]) == ["duplicate"]


def test_reading_does_not_block_writers_on_sqlite(db):
    import threading
    from sqlalchemy import text
    with db.read() as reader:
        reader.execute(text("SELECT count(*) FROM outbox")).scalar()  # a read transaction is open
        done = threading.Event()

        def write():
            with db.transaction() as conn:
                conn.execute(text("DELETE FROM outbox"))
            done.set()

        threading.Thread(target=write, daemon=True).start()
        assert done.wait(5), "a writer waited for a reader"
