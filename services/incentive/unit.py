"""The unit of work of one transaction: append-only writes buffered, hot state cached.

A poll of up to 500 events is applied in one transaction. Instead of a few round trips per event,
the unit loads the state the batch needs in a handful of queries (points already awarded, monthly
tallies), keeps it in memory while the handlers decide, and writes everything at the end with
``executemany`` (pipelined by the driver): ledger entries, their causes, outbox events, points.

Rules for the code using it:
- Ledger, ledger-cause, outbox and points rows go through the unit (never straight to SQL).
- Code that reads those tables with SQL calls ``flush()`` first.
- ``scope(conn)`` opens a unit for code that runs outside a batch (one handler, one API command,
  one sweep) and flushes it at the end; inside a batch it reuses the batch's unit.
"""
from __future__ import annotations

import contextlib
import json
import uuid

from sqlalchemy import bindparam, select, update

from services.incentive import store
from shared import events
from shared.outbox import outbox as outbox_table

KEY = "incentive_unit"


class Unit:
    """Buffers and caches of one transaction."""

    def __init__(self, conn):
        self.conn = conn
        self.ledger_rows: list[dict] = []
        self.ledger_by_id: dict[str, dict] = {}
        self.cause_rows: list[dict] = []
        self.outbox_rows: list[dict] = []
        self.awarded: dict[str, dict | None] = {}  # points_awarded by subject (None = known absent)
        self.awarded_new: list[str] = []
        self.awarded_changed: set[str] = set()
        self.tally: dict[tuple, list] = {}  # (staff, month, rule) -> [points, in_db]
        self.tally_dirty: set[tuple] = set()

    # -- append-only rows ------------------------------------------------------------------------
    def add_ledger(self, row: dict, causes: list[dict]) -> None:
        self.ledger_rows.append(row)
        self.ledger_by_id[row["id"]] = row
        for source, event_id in sorted({(c["source"], c["id"]) for c in causes}):
            self.cause_rows.append({"entry_id": row["id"], "source": source, "event_id": event_id})

    def ledger_entry(self, entry_id: str):
        if entry_id in self.ledger_by_id:
            return self.ledger_by_id[entry_id]
        return store.one(self.conn, store.ledger, id=entry_id)

    def emit(self, event_type: str, data: dict, caused_by: list[dict], occurred_at) -> str:
        """``shared.outbox.add`` for a batch: validated the same way, inserted at flush."""
        kind = events.get(event_type)
        plain = kind.validate({**data, "caused_by": caused_by})
        event_id = str(uuid.uuid4())
        self.outbox_rows.append(dict(
            event_id=event_id, type=kind.name, topic=kind.topic, key=kind.key_of(plain), source=kind.source,
            subject=kind.subject_of(plain), occurred_at=occurred_at,
            data=json.dumps(plain, ensure_ascii=False, separators=(",", ":"))))
        return event_id

    # -- points ----------------------------------------------------------------------------------
    def prefetch_points(self, subjects: list[str], tally_keys: list[tuple]) -> None:
        """Load the points rows and tallies a batch will look at, in two queries."""
        wanted = [s for s in set(subjects) if s not in self.awarded]
        for chunk in _chunks(sorted(wanted), 1000):
            for row in self.conn.execute(select(store.points_awarded).where(
                    store.points_awarded.c.subject.in_(chunk))).mappings():
                self.awarded[row["subject"]] = dict(row)
            for subject in chunk:
                self.awarded.setdefault(subject, None)
        staff = sorted({k[0] for k in tally_keys})
        months = sorted({k[1] for k in tally_keys})
        for chunk in _chunks(staff, 1000):
            for row in self.conn.execute(select(store.points_tally).where(
                    store.points_tally.c.staff_id.in_(chunk), store.points_tally.c.month.in_(months))).mappings():
                self.tally.setdefault((row["staff_id"], row["month"], row["rule_id"]), [row["points"], True])
        for key in tally_keys:
            self.tally.setdefault(key, [0, False])

    def awarded_get(self, subject: str):
        if subject not in self.awarded:
            row = store.one(self.conn, store.points_awarded, subject=subject)
            self.awarded[subject] = dict(row) if row else None
        return self.awarded[subject]

    def awarded_put(self, row: dict) -> None:
        existing = self.awarded_get(row["subject"])
        self.awarded[row["subject"]] = row
        if existing is None and row["subject"] not in self.awarded_new:
            self.awarded_new.append(row["subject"])
        elif existing is not None:
            self.awarded_changed.add(row["subject"])

    def tally_get(self, key: tuple) -> int:
        if key not in self.tally:
            row = store.one(self.conn, store.points_tally, staff_id=key[0], month=key[1], rule_id=key[2])
            self.tally[key] = [row["points"], True] if row else [0, False]
        return self.tally[key][0]

    def tally_add(self, key: tuple, points: int) -> None:
        self.tally_get(key)
        self.tally[key][0] += points
        self.tally_dirty.add(key)

    # -- writing ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write everything buffered; the caches stay valid (they now match the database)."""
        conn = self.conn
        if self.ledger_rows:
            conn.execute(store.ledger.insert(), self.ledger_rows)
            self.ledger_rows = []
        if self.cause_rows:
            conn.execute(store.ledger_causes.insert(), self.cause_rows)
            self.cause_rows = []
        if self.outbox_rows:
            conn.execute(outbox_table.insert(), self.outbox_rows)
            conn.info["outbox_added"] = conn.info.get("outbox_added", 0) + len(self.outbox_rows)
            self.outbox_rows = []
        if self.awarded_new:
            conn.execute(store.points_awarded.insert(), [self.awarded[s] for s in self.awarded_new])
            self.awarded_changed -= set(self.awarded_new)
            self.awarded_new = []
        if self.awarded_changed:
            t = store.points_awarded
            conn.execute(update(t).where(t.c.subject == bindparam("b_subject")).values(state=bindparam("b_state")),
                         [{"b_subject": s, "b_state": self.awarded[s]["state"]} for s in sorted(self.awarded_changed)])
            self.awarded_changed = set()
        if self.tally_dirty:
            t = store.points_tally
            old = [k for k in sorted(self.tally_dirty) if self.tally[k][1]]
            new = [k for k in sorted(self.tally_dirty) if not self.tally[k][1]]
            if old:
                conn.execute(update(t).where(t.c.staff_id == bindparam("b_staff"), t.c.month == bindparam("b_month"),
                                             t.c.rule_id == bindparam("b_rule")).values(points=bindparam("b_points")),
                             [{"b_staff": k[0], "b_month": k[1], "b_rule": k[2], "b_points": self.tally[k][0]}
                              for k in old])
            if new:
                conn.execute(t.insert(), [{"staff_id": k[0], "month": k[1], "rule_id": k[2],
                                           "points": self.tally[k][0]} for k in new])
                for k in new:
                    self.tally[k][1] = True
            self.tally_dirty = set()


def current(conn) -> Unit:
    """The unit of this transaction (opened by ``scope``)."""
    found = conn.info.get(KEY)
    if found is None:
        raise RuntimeError("no incentive unit of work open on this connection: use unit.scope(conn)")
    return found


@contextlib.contextmanager
def scope(conn):
    """Reuse the transaction's unit, or open one and flush it at the end."""
    existing = conn.info.get(KEY)
    if existing is not None:
        yield existing
        return
    opened = Unit(conn)
    conn.info[KEY] = opened
    try:
        yield opened
        opened.flush()
    finally:
        conn.info.pop(KEY, None)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]
