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

A worker also keeps people's history between batches (``StaffHistory``: ladder and training
completions): each batch reads the ``staff_versions`` of the people it loads and reuses the
worker's copy of those whose version has not moved; every unit that changes a person's facts,
sanctions, watches or completions bumps their version when it flushes, whichever process it runs
in (the web app's commands included).
"""
from __future__ import annotations

import contextlib
import os

from sqlalchemy import bindparam, select, text, update

from services.incentive import store
from shared import outbox
from shared.db import driver_placeholder, insert_rows, rows_with_keys

KEY = "incentive_unit"
#: Per-staff advisory locks (PostgreSQL). ``LSQ_INCENTIVE_STAFF_LOCKS=0`` turns them off: workers
#: then scale better on a backlog, at the price of a rare race (see docs/services/incentive.md).
STAFF_LOCKS = os.environ.get("LSQ_INCENTIVE_STAFF_LOCKS", "1") != "0"


class StaffHistory:
    """A worker's copy of people's history (ladder facts, sanctions and training watches; training
    completions), kept between batches, each person's with the ``staff_versions`` version it is
    good for.

    Events about one person reach the worker that owns them, so a person's history is mostly
    re-read unchanged batch after batch, and it grows all year. A unit takes a copy only when the
    version it reads in its own transaction matches (under the write lock on SQLite, the person's
    advisory lock on PostgreSQL); ``keep`` records what a committed unit leaves, and
    ``forget_all`` follows a rolled-back one, whose copies it may have changed.
    """

    def __init__(self, limit: int = 20_000):
        self.limit = limit
        self._versions: dict[str, int] = {}
        self._ladders: dict[str, tuple[list, list, list]] = {}
        self._completions: dict[str, list] = {}

    def get(self, staff_id: str, version: int):
        """(facts, sanctions, watches) of the person, if kept at ``version``."""
        return self._ladders.get(staff_id) if self._versions.get(staff_id) == version else None

    def completions(self, staff_id: str, version: int):
        """The person's training completions, if kept at ``version``."""
        return self._completions.get(staff_id) if self._versions.get(staff_id) == version else None

    def keep(self, work: "Unit") -> None:
        """After ``work`` committed: remember the history of everyone it loaded.

        A part the unit did not load (the ladder of someone whose completion it recorded) is kept
        too, at the new version, when the copy was current as the unit began: the unit could not
        have changed a part without loading it.
        """
        for staff_id in work.touched - work.versions.keys():
            self._forget(staff_id)  # changed without its version read: unknown now
        for staff_id, version in work.versions.items():
            if self._versions.get(staff_id) != version:
                self._forget(staff_id)
            if staff_id in work.staff_loaded:
                self._ladders[staff_id] = (work.facts_by_staff[staff_id], work.sanctions_by_staff[staff_id],
                                           work.watches_by_staff[staff_id])
            if staff_id in work.completions_by_staff:
                self._completions[staff_id] = work.completions_by_staff[staff_id]
            if staff_id in self._ladders or staff_id in self._completions:
                self._versions[staff_id] = version + 1 if staff_id in work.touched else version  # as flushed
        if len(self._versions) > self.limit:
            self.forget_all()  # forget rather than grow without end

    def forget_all(self) -> None:
        self._versions.clear()
        self._ladders.clear()
        self._completions.clear()

    def _forget(self, staff_id: str) -> None:
        self._versions.pop(staff_id, None)
        self._ladders.pop(staff_id, None)
        self._completions.pop(staff_id, None)


class Unit:
    """Buffers and caches of one transaction."""

    def __init__(self, conn, history: StaffHistory | None = None):
        self.conn = conn
        self.history = history
        self.versions: dict[str, int] = {}  # staff_versions read by this unit (absent = 0)
        self.touched: set[str] = set()  # people whose facts, sanctions, watches or completions this unit changed
        self._bumped: set[str] = set()  # of those, the ones whose version this unit bumped already
        self.policy_versions: list | None = None
        self.ledger_rows: list[dict] = []
        self.ledger_by_id: dict[str, dict] = {}
        self.cause_rows: list[dict] = []
        self.outbox_rows: list[dict] = []
        self.awarded: dict[str, dict | None] = {}  # points_awarded by subject (None = known absent)
        self.awarded_new: list[str] = []
        self.awarded_changed: set[str] = set()
        self.tally: dict[tuple, list] = {}  # (staff, month, rule) -> [points, in_db]
        self.tally_dirty: set[tuple] = set()
        # ladder state, per staff member: facts, sanctions, training watches
        self.staff_loaded: set[str] = set()  # ladder and watches read
        self.watches_loaded: set[str] = set()  # watches read
        self.staff_locked: set[str] = set()
        self.facts: dict[str, dict] = {}
        self.facts_by_staff: dict[str, list[dict]] = {}
        self.sanctions: dict[str, dict] = {}
        self.sanctions_by_staff: dict[str, list[dict]] = {}
        self.watches: dict[str, dict] = {}
        self.watches_by_staff: dict[str, list[dict]] = {}
        self.revisions: dict[str, int | None] = {}
        self.funds: dict[tuple, dict] = {}
        self.completions: list[dict] = []  # new, to insert
        self.completions_by_staff: dict[str, list[dict]] = {}
        self.awards_new: list[dict] = []
        self.marks: dict[str, list[dict]] = {}  # complaint_marks by subject (read for the batch)
        self.marks_new: list[dict] = []
        self._new: dict[str, list] = {"facts": [], "sanctions": [], "watches": [], "revisions": []}
        self._changed: dict[str, dict] = {"facts": {}, "sanctions": {}, "watches": {}, "revisions": {}, "funds": {}}

    # -- append-only rows ------------------------------------------------------------------------
    def add_ledger(self, row: dict, causes: list[dict]) -> None:
        self.ledger_rows.append(row)
        self.ledger_by_id[row["id"]] = row
        for source, event_id in sorted({(c["source"], c["id"]) for c in causes}):
            self.cause_rows.append({"entry_id": row["id"], "source": source, "event_id": event_id})

    def ledger_entry(self, entry_id: str):
        """A ledger entry written by this unit or before (prefetched by ``prefetch_ledger``)."""
        if entry_id in self.ledger_by_id:
            return self.ledger_by_id[entry_id]
        return store.one(self.conn, store.ledger, id=entry_id)

    def prefetch_ledger(self, entry_ids) -> None:
        """Read these ledger entries in one query per thousand (those a batch will compensate)."""
        wanted = sorted({e for e in entry_ids if e and e not in self.ledger_by_id})
        for chunk in _chunks(wanted, 1000):
            for row in rows_with_keys(self.conn, store.ledger, "id", chunk):
                self.ledger_by_id[row["id"]] = dict(row)

    def emit(self, event_type: str, data: dict, caused_by: list[dict], occurred_at) -> str:
        """``shared.outbox.add`` for a batch: the same validated row, inserted at flush."""
        row = outbox.event_row(event_type, data, caused_by, occurred_at)
        self.outbox_rows.append(row)
        return row["event_id"]

    # -- points ----------------------------------------------------------------------------------
    def prefetch_points(self, subjects: list[str], tally_keys: list[tuple]) -> None:
        """Load the points rows and tallies a batch will look at, in two queries."""
        wanted = [s for s in set(subjects) if s not in self.awarded]
        for chunk in _chunks(sorted(wanted), 1000):
            for row in rows_with_keys(self.conn, store.points_awarded, "subject", chunk):
                self.awarded[row["subject"]] = dict(row)
            for subject in chunk:
                self.awarded.setdefault(subject, None)
        for month in sorted({k[1] for k in tally_keys if k not in self.tally}):  # one or two a batch
            staff = sorted({k[0] for k in tally_keys if k[1] == month and k not in self.tally})
            for chunk in _chunks(staff, 1000):
                for row in rows_with_keys(self.conn, store.points_tally, "staff_id", chunk, month=month):
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

    # -- ladder state ----------------------------------------------------------------------------
    def load_staff(self, staff_ids) -> None:
        """Load the ladder (facts, sanctions) and training watches of these staff members."""
        self._load(staff_ids, ladder=True)

    def load_watches(self, staff_ids) -> None:
        """Load only the training watches of these staff members (a completion needs no ladder)."""
        self._load(staff_ids, ladder=False)

    def _ladder_of(self, staff_id: str) -> None:
        # The accessors below run several times per event, nearly always for someone loaded.
        if staff_id not in self.staff_loaded:
            self._load([staff_id], ladder=True)

    def lock(self, staff_ids) -> None:
        """On PostgreSQL, hold these staff members' state until commit.

        Events about one person can reach two workers during a rebalance. The batch takes the locks
        of everyone it names in one call, in one fixed order, so two workers never deadlock on it.
        """
        if self.conn.dialect.name != "postgresql" or not STAFF_LOCKS:
            return
        locks = sorted({sid for sid in staff_ids if sid} - self.staff_locked)
        if locks:
            self.conn.execute(text(
                "SELECT pg_advisory_xact_lock(h) FROM (SELECT DISTINCT hashtext('lsq.incentive.staff:' || k) AS h "
                "FROM unnest(CAST(:keys AS text[])) AS k ORDER BY 1) AS locks"), {"keys": locks})
            self.staff_locked.update(locks)

    def _load(self, staff_ids, ladder: bool) -> None:
        # A person's whole ladder history is read for each batch that may change it, so it is read
        # only for the people whose events may (the history grows with every sanction), and taken
        # from the worker's copy (StaffHistory) when their version has not moved.
        loaded = self.staff_loaded if ladder else self.watches_loaded
        wanted = sorted({sid for sid in staff_ids if sid and sid not in loaded})
        self.lock(wanted)
        if ladder and self.history is not None and wanted:
            wanted = self._from_history(wanted)
        for chunk in _chunks(wanted, 1000):
            for sid in chunk:
                self.facts_by_staff.setdefault(sid, [])
                self.sanctions_by_staff.setdefault(sid, [])
                self.watches_by_staff.setdefault(sid, [])
            watch_ids = [sid for sid in chunk if sid not in self.watches_loaded]
            self.watches_loaded.update(watch_ids)
            parts = [(store.requirement_watch, self.watches, self.watches_by_staff, "subject", watch_ids)]
            if ladder:
                self.staff_loaded.update(chunk)
                parts += [(store.ladder_facts, self.facts, self.facts_by_staff, "key", chunk),
                          (store.sanctions, self.sanctions, self.sanctions_by_staff, "id", chunk)]
            for table, index, by_staff, key, ids in parts:
                if not ids:
                    continue
                for row in rows_with_keys(self.conn, table, "staff_id", ids):
                    if row[key] not in index:
                        index[row[key]] = dict(row)
                        by_staff[row["staff_id"]].append(index[row[key]])

    def _read_versions(self, staff_ids: list[str]) -> None:
        """Read the ``staff_versions`` of these people (once per unit: it holds their locks)."""
        for chunk in _chunks([sid for sid in staff_ids if sid not in self.versions], 1000):
            found = {row["staff_id"]: row["version"]
                     for row in rows_with_keys(self.conn, store.staff_versions, "staff_id", chunk)}
            for sid in chunk:
                self.versions[sid] = found.get(sid, 0)

    def _from_history(self, wanted: list[str]) -> list[str]:
        """Take the history of ``wanted`` people from the worker's copy where it is current;
        returns those still to be read."""
        self._read_versions(wanted)
        still = []
        for sid in wanted:
            kept = self.history.get(sid, self.versions[sid])
            if kept is None:
                still.append(sid)
                continue
            facts, sanctions, watches = kept
            self.staff_loaded.add(sid)
            self.facts_by_staff[sid], self.sanctions_by_staff[sid] = facts, sanctions
            self.facts.update((row["key"], row) for row in facts)
            self.sanctions.update((row["id"], row) for row in sanctions)
            if sid not in self.watches_loaded:  # else this unit read them already (and may have changed them)
                self.watches_loaded.add(sid)
                self.watches_by_staff[sid] = watches
                self.watches.update((row["subject"], row) for row in watches)
        return still

    def facts_of(self, staff_id: str) -> list[dict]:
        self._ladder_of(staff_id)
        return self.facts_by_staff[staff_id]

    def fact(self, staff_id: str, key: str):
        self._ladder_of(staff_id)
        return self.facts.get(key)

    def add_fact(self, row: dict) -> None:
        self._ladder_of(row["staff_id"])
        self.facts[row["key"]] = row
        self.facts_by_staff[row["staff_id"]].append(row)
        self._new["facts"].append(row)
        self.touched.add(row["staff_id"])

    def update_fact(self, staff_id: str, key: str, **values) -> None:
        row = self.fact(staff_id, key)
        if row is None:
            return
        row.update(values)
        self._changed["facts"].setdefault(key, {}).update(values)
        self.touched.add(staff_id)

    def sanctions_of(self, staff_id: str) -> list[dict]:
        self._ladder_of(staff_id)
        return self.sanctions_by_staff[staff_id]

    def sanction(self, sanction_id: str):
        if sanction_id not in self.sanctions:
            row = store.one(self.conn, store.sanctions, id=sanction_id)
            if row is None:
                return None
            self.load_staff([row["staff_id"]])
        return self.sanctions.get(sanction_id)

    def add_sanction(self, row: dict) -> None:
        self._ladder_of(row["staff_id"])
        row = {**{c.name: None for c in store.sanctions.columns}, **row}
        self.sanctions[row["id"]] = row
        self.sanctions_by_staff[row["staff_id"]].append(row)
        self._new["sanctions"].append(row)
        self.touched.add(row["staff_id"])

    def update_sanction(self, sanction_id: str, **values) -> None:
        row = self.sanction(sanction_id)
        row.update(values)
        self._changed["sanctions"].setdefault(sanction_id, {}).update(values)
        self.touched.add(row["staff_id"])

    def watches_of(self, staff_id: str) -> list[dict]:
        if staff_id not in self.watches_loaded:
            self.load_watches([staff_id])
        return self.watches_by_staff[staff_id]

    def add_watch(self, row: dict) -> None:
        if row["staff_id"] not in self.watches_loaded:
            self.load_watches([row["staff_id"]])
        self.watches[row["subject"]] = row
        self.watches_by_staff[row["staff_id"]].append(row)
        self._new["watches"].append(row)
        self.touched.add(row["staff_id"])

    def update_watch(self, subject: str, **values) -> None:
        self.watches[subject].update(values)
        self._changed["watches"].setdefault(subject, {}).update(values)
        self.touched.add(self.watches[subject]["staff_id"])

    def prefetch_revisions(self, subjects) -> None:
        wanted = sorted({s for s in subjects if s not in self.revisions})
        for chunk in _chunks(wanted, 1000):
            for row in rows_with_keys(self.conn, store.revisions, "subject", chunk):
                self.revisions[row["subject"]] = row["revision"]
            for subject in chunk:
                self.revisions.setdefault(subject, None)

    def revision(self, subject: str):
        self.prefetch_revisions([subject])
        return self.revisions[subject]

    def set_revision(self, subject: str, revision: int) -> None:
        before = self.revision(subject)
        self.revisions[subject] = revision
        if before is None and subject not in self._new["revisions"]:
            self._new["revisions"].append(subject)
        elif subject not in self._new["revisions"]:
            self._changed["revisions"][subject] = {"revision": revision}

    # -- complaint resolutions and reopenings ------------------------------------------------------
    def prefetch_marks(self, subjects) -> None:
        """Read the resolutions and reopenings of these complaints in one query per thousand."""
        wanted = sorted({s for s in subjects if s not in self.marks})
        for chunk in _chunks(wanted, 1000):
            for subject in chunk:
                self.marks[subject] = []
            for row in rows_with_keys(self.conn, store.complaint_marks, "subject", chunk):
                self.marks[row["subject"]].append(dict(row))

    def marks_of(self, subject: str) -> list[dict]:
        """Every resolution and reopening of a complaint known (this unit's own included)."""
        self.prefetch_marks([subject])
        return self.marks[subject]

    def add_mark(self, subject: str, kind: str, at, source: str, event_id: str) -> bool:
        """Remember a resolution or reopening at ``at``; False if one of that kind and time is
        known already (the same fact published again)."""
        marks = self.marks_of(subject)
        if any(m["kind"] == kind and m["at"] == at for m in marks):
            return False
        row = dict(subject=subject, kind=kind, at=at, source=source, event_id=event_id)
        marks.append(row)
        self.marks_new.append(row)
        return True

    # -- funds -----------------------------------------------------------------------------------
    def prefetch_funds(self, keys) -> None:
        """Load the funds a batch may draw on (not locked: see ``_flush_funds``)."""
        wanted = sorted({k for k in keys if k not in self.funds})
        if not wanted:
            return
        t = store.funds
        query = select(t).where(t.c.branch_id.in_(sorted({k[0] for k in wanted})),
                                t.c.period.in_(sorted({k[1] for k in wanted})))
        for row in self.conn.execute(query).mappings():
            self.funds.setdefault((row["branch_id"], row["period"]), dict(row))

    def fund(self, branch_id: str, period: str) -> dict:
        """The fund row (locked until commit), created with a zero budget if missing."""
        from decimal import Decimal

        from shared.timeutil import utcnow
        key = (branch_id, period)
        if key not in self.funds:
            self.prefetch_funds([key])
        if key not in self.funds:
            zero = Decimal("0.00")
            self.conn.execute(store.funds.insert().values(branch_id=branch_id, period=period, budget=zero,
                                                          reserved=zero, granted=zero, updated_at=utcnow()))
            self.funds[key] = dict(branch_id=branch_id, period=period, budget=zero, reserved=zero, granted=zero,
                                   updated_at=utcnow())
        return self.funds[key]

    def fund_move(self, branch_id: str, period: str, reserved=0, granted=0) -> None:
        from decimal import Decimal

        from shared.timeutil import utcnow
        row = self.fund(branch_id, period)
        row["reserved"] = Decimal(row["reserved"]) + Decimal(reserved)
        row["granted"] = Decimal(row["granted"]) + Decimal(granted)
        row["updated_at"] = utcnow()
        delta = self._changed["funds"].setdefault((branch_id, period), {"reserved": Decimal(0), "granted": Decimal(0)})
        delta["reserved"] += Decimal(reserved)
        delta["granted"] += Decimal(granted)

    def load_completions(self, staff_ids) -> None:
        """Load training completions of these staff members (only overdue checks need them)."""
        wanted = sorted({s for s in staff_ids if s and s not in self.completions_by_staff})
        if self.history is not None and wanted:
            self._read_versions(wanted)
            still = []
            for sid in wanted:
                kept = self.history.completions(sid, self.versions[sid])
                if kept is None:
                    still.append(sid)
                else:
                    kept.extend(r for r in self.completions if r["staff_id"] == sid)
                    self.completions_by_staff[sid] = kept
            wanted = still
        t = store.completions
        for chunk in _chunks(wanted, 1000):
            for sid in chunk:
                self.completions_by_staff[sid] = [r for r in self.completions if r["staff_id"] == sid]
            for row in rows_with_keys(self.conn, t, "staff_id", chunk):
                self.completions_by_staff[row["staff_id"]].append(
                    {"completion_id": row["completion_id"], "staff_id": row["staff_id"], "course_id": row["course_id"],
                     "completed_at": row["completed_at"]})

    def completion_known(self, staff_id: str, completion_id: str) -> bool:
        self.load_completions([staff_id])
        return any(r["completion_id"] == completion_id for r in self.completions_by_staff[staff_id])

    def add_completion(self, row: dict) -> None:
        self.completions.append(row)
        self.touched.add(row["staff_id"])  # the worker's copy of their completions is stale now
        if row["staff_id"] in self.completions_by_staff:
            self.completions_by_staff[row["staff_id"]].append(row)

    def add_award(self, row: dict) -> None:
        self.awards_new.append(row)

    def completion_between(self, staff_id: str, course_id: str | None, since, until) -> bool:
        """A completion of ``course_id`` (any course when None) by the staff member in [since, until]."""
        self.load_completions([staff_id])
        return any(since <= row["completed_at"] <= until and (course_id is None or row["course_id"] == course_id)
                   for row in self.completions_by_staff[staff_id])

    # -- writing ---------------------------------------------------------------------------------
    def _flush_state(self) -> None:
        conn = self.conn
        self._bump_versions()
        for name, table in (("facts", store.ladder_facts), ("sanctions", store.sanctions),
                            ("watches", store.requirement_watch)):
            if self._new[name]:
                insert_rows(conn, table, [dict(r) for r in self._new[name]])
                self._new[name] = []
        if self._new["revisions"]:
            insert_rows(conn, store.revisions, [{"subject": s, "revision": self.revisions[s]}
                                                  for s in self._new["revisions"]])
            self._new["revisions"] = []
        if self.completions:
            insert_rows(conn, store.completions, self.completions)
            self.completions = []
        if self.awards_new:
            insert_rows(conn, store.awards, self.awards_new)
            self.awards_new = []
        if self.marks_new:
            insert_rows(conn, store.complaint_marks, self.marks_new)
            self.marks_new = []
        for name, table, key in (("facts", store.ladder_facts, "key"), ("sanctions", store.sanctions, "id"),
                                 ("watches", store.requirement_watch, "subject"),
                                 ("revisions", store.revisions, "subject")):
            changes = self._changed[name]
            if not changes:
                continue
            # One executemany per set of changed columns (usually one or two sets).
            groups: dict[tuple, list] = {}
            for ident, values in changes.items():
                groups.setdefault(tuple(sorted(values)), []).append((ident, values))
            for columns, items in sorted(groups.items()):
                statement = update(table).where(table.c[key] == bindparam("b_key")).values(
                    **{c: bindparam(f"b_{c}") for c in columns})
                conn.execute(statement, [{"b_key": ident, **{f"b_{c}": v[c] for c in columns}}
                                         for ident, v in sorted(items, key=lambda i: str(i[0]))])
            self._changed[name] = {}
        if self._changed["funds"]:
            self._flush_funds()

    def _flush_funds(self) -> None:
        """Apply the fund movements as guarded increments.

        Decisions were taken on the balance read at the start (without a lock, so that two workers
        do not queue behind each other for a whole batch). The increment only applies if the fund
        still covers it; otherwise another worker drew on it meanwhile, and the batch is retried
        on fresh balances (TransientError): the fund never goes negative. Row locks are taken here,
        at the end of the batch, in a fixed order (no deadlocks between workers).
        """
        from shared.consumer import TransientError
        from shared.timeutil import utcnow
        now = utcnow()
        for (branch_id, period), delta in sorted(self._changed["funds"].items()):
            if not delta["reserved"] and not delta["granted"]:
                continue
            result = self.conn.execute(_GUARDED_FUND_MOVE, {
                "b_branch": branch_id, "b_period": period, "b_reserved": delta["reserved"],
                "b_granted": delta["granted"], "b_now": now})
            if result.rowcount != 1:
                raise TransientError(f"the fund of {branch_id} {period} changed meanwhile; retrying on fresh balances")
        self._changed["funds"] = {}

    def _bump_versions(self) -> None:
        """One more on the version of everyone whose history changed since the last flush."""
        bump = sorted(self.touched - self._bumped)
        if not bump:
            return
        mark = driver_placeholder(self.conn.dialect)
        # Straight to the driver's executemany: hundreds of people a batch (SQLite and PostgreSQL
        # both spell the upsert this way).
        self.conn.exec_driver_sql(
            f"INSERT INTO staff_versions (staff_id, version) VALUES ({mark}, 1) "
            "ON CONFLICT (staff_id) DO UPDATE SET version = staff_versions.version + 1", [(sid,) for sid in bump])
        self._bumped.update(bump)

    def flush(self) -> None:
        """Write everything buffered; the caches stay valid (they now match the database)."""
        conn = self.conn
        self._flush_state()
        if self.ledger_rows:
            insert_rows(conn, store.ledger, self.ledger_rows)
            self.ledger_rows = []
        if self.cause_rows:
            insert_rows(conn, store.ledger_causes, self.cause_rows)
            self.cause_rows = []
        if self.outbox_rows:
            outbox.write_rows(conn, self.outbox_rows)
            self.outbox_rows = []
        if self.awarded_new:
            insert_rows(conn, store.points_awarded, [self.awarded[s] for s in self.awarded_new])
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
                insert_rows(conn, t, [{"staff_id": k[0], "month": k[1], "rule_id": k[2],
                                            "points": self.tally[k][0]} for k in new])
                for k in new:
                    self.tally[k][1] = True
            self.tally_dirty = set()


def _guarded_fund_move():
    t = store.funds
    reserved, granted = bindparam("b_reserved", type_=t.c.reserved.type), bindparam("b_granted", type_=t.c.granted.type)
    return update(t).where(
        t.c.branch_id == bindparam("b_branch"), t.c.period == bindparam("b_period"),
        t.c.budget - (t.c.reserved + reserved) - (t.c.granted + granted) >= 0,
        t.c.reserved + reserved >= 0, t.c.granted + granted >= 0,
    ).values(reserved=t.c.reserved + reserved, granted=t.c.granted + granted,
             updated_at=bindparam("b_now", type_=t.c.updated_at.type))


#: Built once: a statement built for every fund a batch moves cost more than running it.
_GUARDED_FUND_MOVE = _guarded_fund_move()


def current(conn) -> Unit:
    """The unit of this transaction (opened by ``scope``)."""
    found = conn.info.get(KEY)
    if found is None:
        raise RuntimeError("no incentive unit of work open on this connection: use unit.scope(conn)")
    return found


@contextlib.contextmanager
def scope(conn, history: StaffHistory | None = None):
    """Reuse the transaction's unit, or open one (taking ladder history from ``history`` where
    current) and flush it at the end."""
    existing = conn.info.get(KEY)
    if existing is not None:
        yield existing
        return
    opened = Unit(conn, history)
    conn.info[KEY] = opened
    try:
        yield opened
        opened.flush()
    finally:
        conn.info.pop(KEY, None)


def _chunks(items: list, size: int):
    for i in range(0, len(items), size):
        yield items[i:i + size]
