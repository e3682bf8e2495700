"""Writes of several threads sharing one commit (SQLite), or each in its own (PostgreSQL)."""
import sqlite3
import threading
import time

import pytest
from sqlalchemy import event, func, select

from services.feedback import store
from shared.db import Database, insert_rows
from shared.timeutil import utcnow
from tests.integration.shared.test_db_writes import _complaint

pytestmark = pytest.mark.integration

WRITERS = 6


def _counting_commits(db: Database) -> list:
    commits = []
    event.listen(db.engine, "commit", lambda conn: commits.append(1))
    return commits


def _write(complaint_id: str, now):
    def write(conn):
        insert_rows(conn, store.complaints, [_complaint(complaint_id, now)])
        return complaint_id
    return write


def _stored(db: Database) -> set:
    with db.read() as conn:
        return set(conn.execute(select(store.complaints.c.id)).scalars())


def _held_open(db: Database, now, others: int):
    """A first write that keeps its commit open until ``others`` threads have queued behind it."""
    def write(conn):
        deadline = time.monotonic() + 10
        while len(db._group_commit._queue) < others + 1 and time.monotonic() < deadline:
            time.sleep(0.005)
        insert_rows(conn, store.complaints, [_complaint("c-first", now)])
        return "c-first"
    return write


def _run_in_threads(db: Database, writes: list) -> dict:
    """Start the writes on threads one after another, so they queue in that order (the first
    one leads); returns {index: result or what it raised}."""
    outcomes = {}

    def run(index, write):
        try:
            outcomes[index] = db.write_together(write)
        except BaseException as exc:  # noqa: BLE001 - the test looks at it
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i, w)) for i, w in enumerate(writes)]
    for thread in threads:
        thread.start()
        time.sleep(0.05)
    for thread in threads:
        thread.join(20)
    return outcomes


def test_writes_queued_during_a_commit_share_the_next_one(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'group.db'}", "feedback")
    db.migrate()
    commits = _counting_commits(db)
    now = utcnow()
    writes = [_held_open(db, now, WRITERS)] + [_write(f"c-{i}", now) for i in range(WRITERS)]
    outcomes = _run_in_threads(db, writes)
    # each thread gets its own write's result
    assert outcomes == {0: "c-first", **{i + 1: f"c-{i}" for i in range(WRITERS)}}
    assert _stored(db) == {"c-first", *(f"c-{i}" for i in range(WRITERS))}
    # the first commit, then one for all six that queued behind it
    assert len(commits) == 2
    db.dispose()


def test_a_failing_write_fails_alone_and_the_others_in_its_group_are_committed(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'group.db'}", "feedback")
    db.migrate()
    now = utcnow()
    with db.transaction() as conn:
        insert_rows(conn, store.complaints, [_complaint("c-taken", now)])
    writes = [_held_open(db, now, 3), _write("c-a", now), _write("c-taken", now), _write("c-b", now)]
    outcomes = _run_in_threads(db, writes)
    assert isinstance(outcomes[2], sqlite3.IntegrityError)  # raised in the thread whose write it was
    assert [outcomes[i] for i in (0, 1, 3)] == ["c-first", "c-a", "c-b"]
    assert _stored(db) == {"c-taken", "c-first", "c-a", "c-b"}
    db.dispose()


def test_many_threads_writing_at_once_lose_nothing(database_url):
    db = Database(database_url, "feedback")
    db.migrate()
    now = utcnow()
    outcomes = {}

    def writer(n):
        for i in range(25):
            outcomes[(n, i)] = db.write_together(_write(f"c-{n}-{i}", now))

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == {(n, i): f"c-{n}-{i}" for n in range(8) for i in range(25)}
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store.complaints)).scalar_one() == 200
    db.dispose()


class _Interrupted(BaseException):
    """Stands for what ends a thread outright (KeyboardInterrupt, SystemExit) while it leads."""


def test_writes_in_the_group_of_an_interrupted_leader_are_told_they_were_not_committed(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'group.db'}", "feedback")
    db.migrate()
    now = utcnow()

    def interrupted(conn):
        insert_rows(conn, store.complaints, [_complaint("c-interrupted", now)])
        raise _Interrupted()

    # A first commit held open while the interrupted write and then the follower queue behind it:
    # those two form the next group, led by the interrupted one.
    outcomes = _run_in_threads(db, [_held_open(db, now, 2), interrupted, _write("c-follower", now)])
    assert outcomes[0] == "c-first"
    assert isinstance(outcomes[1], _Interrupted)
    assert isinstance(outcomes[2], RuntimeError)
    assert "interrupted" in str(outcomes[2])
    assert _stored(db) == {"c-first"}
    db.dispose()
