"""Driver-level inserts and the relay doorbell, on SQLite and PostgreSQL."""
import socket
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.feedback import store
from shared import outbox
from shared.db import COPY_FROM, DOORBELL_GAP, Database, insert_rows, rows_with_keys
from shared.devstack.ports import free_port
from shared.relay import OutboxRelay
from shared.timeutil import utcnow

pytestmark = pytest.mark.integration


def _complaint(complaint_id: str, now) -> dict:
    return {"id": complaint_id, "tracking_hash": complaint_id * 2, "branch_id": "b-1", "service_point_id": None,
            "staff_id": "s-1", "category": "waiting", "severity": "high", "channel": "web",
            "description": "排队太久 / long queue", "status": "new", "filed_at": now, "resolve_clock_start": now,
            "acknowledge_due_at": now + timedelta(hours=8), "acknowledge_at_risk_at": now + timedelta(hours=6),
            "resolve_due_at": now + timedelta(days=3), "resolve_at_risk_at": now + timedelta(days=2),
            "has_contact": True, "updated_at": now}


def test_insert_rows_stores_what_sqlalchemy_stores(database_url):
    db = Database(database_url, "feedback")
    db.migrate()
    now = utcnow()
    with db.transaction() as conn:
        conn.execute(store.complaints.insert(), _complaint("c-through-sqlalchemy", now))
        insert_rows(conn, store.complaints, [_complaint("c-through-driver-1", now), _complaint("c-through-driver-2", now)])
        # enough rows for PostgreSQL's COPY, with text that COPY's format must escape
        many = [{**_complaint(f"c-copied-{i}", now), "description": "tab\there, newline\nthere, back\\slash, \\N"}
                for i in range(COPY_FROM)]
        insert_rows(conn, store.complaints, many)
        insert_rows(conn, store.complaint_contacts, [{"complaint_id": "c-through-driver-1", "email": "r@example.cn"}])
    with db.read() as conn:
        rows = {r["id"]: dict(r) for r in conn.execute(select(store.complaints)).mappings()}
        contact = conn.execute(select(store.complaint_contacts)).mappings().one()
    expected = rows.pop("c-through-sqlalchemy")
    copied = [rows.pop(row["id"]) for row in many]
    for row in copied:
        assert row["description"] == many[0]["description"]
        assert {**row, "id": None, "tracking_hash": None, "description": None} == \
            {**expected, "id": None, "tracking_hash": None, "description": None}
    assert len(rows) == 2
    for complaint_id, row in rows.items():
        # reopen_count was left out: its scalar default applies, as with conn.execute
        assert {**row, "id": None, "tracking_hash": None} == {**expected, "id": None, "tracking_hash": None}
        assert row["filed_at"] == now and row["filed_at"].tzinfo is not None
    assert dict(contact) == {"complaint_id": "c-through-driver-1", "name": None, "phone": None,
                             "email": "r@example.cn"}
    db.dispose()


def test_insert_rows_rolls_back_with_the_transaction(database_url):
    db = Database(database_url, "feedback")
    db.migrate()
    with pytest.raises(RuntimeError):
        with db.transaction() as conn:
            insert_rows(conn, store.complaints, [_complaint("c-rolled-back", utcnow())])
            raise RuntimeError("the use case failed after the insert")
    with db.read() as conn:
        assert conn.execute(select(store.complaints.c.id)).first() is None
    db.dispose()


def _listening() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", free_port()))
    sock.settimeout(0.2)
    return sock


def _datagrams(sock: socket.socket) -> int:
    count = 0
    try:
        while True:
            sock.recv(64)
            count += 1
    except (TimeoutError, socket.timeout):
        return count


def test_doorbell_rings_at_most_once_per_gap(sqlite_url):
    bell = _listening()
    db = Database(sqlite_url, "directory", doorbell_port=bell.getsockname()[1])
    for _ in range(50):
        db.ring_doorbell()
    assert _datagrams(bell) == 1
    time.sleep(DOORBELL_GAP * 2)
    db.ring_doorbell()
    assert _datagrams(bell) == 1
    bell.close()


def test_relay_looks_again_a_gap_after_a_ring(sqlite_url):
    """A commit whose ring was skipped (within the gap) is found by the relay's second look,
    not left for the (here very long) poll interval."""
    db = Database(sqlite_url, "directory")
    db.migrate()
    port = free_port()
    relay = OutboxRelay(db, "127.0.0.1:9", doorbell_port=port, poll_seconds=30)
    relay._open_doorbell()
    try:
        ringer = Database(sqlite_url, "directory", doorbell_port=port)
        ringer.ring_doorbell()
        started = time.monotonic()
        relay._wait_for_doorbell()            # the ring: publish at once
        assert time.monotonic() - started < 1
        relay._wait_for_doorbell()            # no ring: the look DOORBELL_GAP later
        waited = time.monotonic() - started
        assert waited < 1
        started = time.monotonic()
        with db.read() as conn:
            assert outbox.backlog(conn) == 0
        relay.poll_seconds = 0.3
        relay._wait_for_doorbell()            # nothing rang since: back to the poll interval
        assert time.monotonic() - started >= 0.25
    finally:
        relay._socket.close()
        db.dispose()


def test_background_checkpoint_copies_the_log_into_the_database_file(tmp_path):
    """Without the write-ahead log beside it, a copy of the database file already holds what
    was committed a moment ago: the checkpointer thread copied it there."""
    import shutil
    import sqlite3

    db = Database(f"sqlite:///{tmp_path / 'feedback.db'}", "feedback")
    db.migrate()
    db._checkpointer.interval = 0.05
    db.checkpoint_in_background()
    now = utcnow()
    with db.transaction() as conn:
        insert_rows(conn, store.complaints, [_complaint("c-checkpointed", now)])
    deadline = time.monotonic() + 5
    found = None
    while time.monotonic() < deadline and not found:
        time.sleep(0.1)
        shutil.copyfile(tmp_path / "feedback.db", tmp_path / "copy.db")  # the file alone, no -wal
        copy = sqlite3.connect(tmp_path / "copy.db")
        found = copy.execute("SELECT id FROM complaints").fetchall()
        copy.close()
    db.dispose()
    assert found == [("c-checkpointed",)]


def test_rows_with_keys_finds_the_rows_of_the_keys_with_their_column_types(database_url):
    db = Database(database_url, "feedback")
    db.migrate()
    now = utcnow()
    wanted = [f"c-keyed-{i}" for i in range(300)]
    with db.transaction() as conn:
        insert_rows(conn, store.complaints, [{**_complaint(cid, now), "severity": "high" if i % 2 else "low"}
                                             for i, cid in enumerate(wanted + ["c-not-asked-for"])])
        assert rows_with_keys(conn, store.complaints, "id", []) == []
        found = rows_with_keys(conn, store.complaints, "id", wanted + ["c-absent"])
        high = rows_with_keys(conn, store.complaints, "id", wanted, severity="high")
    assert sorted(row["id"] for row in found) == sorted(wanted)
    assert sorted(row["id"] for row in high) == sorted(wanted[1::2])
    row = next(r for r in found if r["id"] == wanted[0])
    assert row["filed_at"] == now and row["filed_at"].tzinfo is not None  # UtcDateTime's result processing
    assert row["has_contact"] is True and row["description"] == "排队太久 / long queue"
    db.dispose()
