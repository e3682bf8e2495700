"""The reports read model: daily rollups per branch (and per desk and staff member where a report
needs it), one compact row per complaint, and the queries that read them for a span of days.

Rollup rows are keyed by the local calendar day (the network's zone) of the fact; handlers add to
them (``add_to``), so a report reads branches × days rows whatever the number of events.
"""
from __future__ import annotations

import contextlib
from datetime import date

from sqlalchemy import (Boolean, Column, Date, Float, Integer, MetaData, String, Table, and_, case, func, literal_column,
                        or_, select, text, update)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime, rows_with_keys

metadata = MetaData()
NONE = ""  # key columns cannot be NULL in a primary key: "no staff member" / "no user group"

complaint_facts = Table(
    "complaint_facts", metadata,
    Column("complaint_id", String(64), primary_key=True),
    Column("branch_id", String(64), nullable=True),
    Column("staff_id", String(64), nullable=True),
    Column("service_point_id", String(64), nullable=True),
    Column("handler_id", String(64), nullable=True),
    Column("severity", String(10), nullable=True),
    Column("category", String(20), nullable=True),
    Column("filed_at", UtcDateTime(), nullable=True),
    Column("filed_day", Date, nullable=True),
    Column("ack_due_at", UtcDateTime(), nullable=True),
    Column("resolve_due_at", UtcDateTime(), nullable=True),
    Column("acknowledged_at", UtcDateTime(), nullable=True),
    Column("resolved_at", UtcDateTime(), nullable=True),
    Column("outcome", String(30), nullable=True),
    Column("rating", Integer, nullable=True),
    Column("ack_at_risk", Boolean, nullable=False, default=False),
    Column("resolve_at_risk", Boolean, nullable=False, default=False),
    Column("ack_breached", Boolean, nullable=False, default=False),
    Column("resolve_breached", Boolean, nullable=False, default=False),
    Column("ack_breach_due_at", UtcDateTime(), nullable=True),
    Column("resolve_breach_due_at", UtcDateTime(), nullable=True),
    Column("reopened_at", UtcDateTime(), nullable=True),
)

desk_daily = Table(
    "desk_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("service_point_id", String(64), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("ratings", Integer, nullable=False),
    Column("stars_sum", Integer, nullable=False),
    Column("waits", Integer, nullable=False),
    Column("wait_sum", Integer, nullable=False),
)

#: Waits per branch, day and whole minute: a histogram a report sums in SQL (exact, mergeable p90).
desk_wait_daily = Table(
    "desk_wait_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("minutes", Integer, primary_key=True),
    Column("waits", Integer, nullable=False),
)

praise_facts = Table(
    "praise_facts", metadata,
    Column("praise_id", String(64), primary_key=True),
    Column("branch_id", String(64), nullable=False),
    Column("staff_id", String(64), nullable=False),
    Column("day", Date, nullable=True),  # NULL: rejected before its receipt was seen
    Column("rejected", Boolean, nullable=False),
)

praise_daily = Table(
    "praise_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("praise", Integer, nullable=False),
)

training_daily = Table(
    "training_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("staff_id", String(64), primary_key=True),
    Column("completions", Integer, nullable=False),
    Column("hours", Float, nullable=False),
    Column("credit_hours", Float, nullable=False),
)

requirement_overdue = Table(
    "requirement_overdue", metadata,
    Column("requirement_id", String(64), primary_key=True),
    Column("period", String(20), primary_key=True),
    Column("staff_id", String(64), nullable=False),
    Column("branch_id", String(64), nullable=False),
    Column("day", Date, nullable=False),
)

evaluation_results = Table(
    "evaluation_results", metadata,
    Column("evaluation_id", String(64), primary_key=True),
    Column("cycle_id", String(64), nullable=False),
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("period", String(20), nullable=False),
    Column("score", Float, nullable=False),
    Column("grade", String(20), nullable=False),
    Column("revision", Integer, nullable=False),
    Column("day", Date, nullable=False),  # first publication: the period it counts in
)

award_daily = Table(
    "award_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("granted", Integer, nullable=False),
    Column("granted_amount", Float, nullable=False),
    Column("revoked", Integer, nullable=False),
    Column("revoked_amount", Float, nullable=False),
    Column("pending", Integer, nullable=False),
)

sanction_daily = Table(
    "sanction_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("level", String(20), primary_key=True),
    Column("issued", Integer, nullable=False),
    Column("revoked", Integer, nullable=False),
)

appeal_daily = Table(
    "appeal_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("kind", String(12), primary_key=True),  # sanction | evaluation
    Column("filed", Integer, nullable=False),
    Column("upheld", Integer, nullable=False),
    Column("overturned", Integer, nullable=False),
)

ledger_entries = Table(
    "ledger_entries", metadata,
    Column("entry_id", String(80), primary_key=True),  # kind:id
    Column("staff_id", String(64), nullable=False, index=True),
    Column("branch_id", String(64), nullable=False),
    Column("kind", String(12), nullable=False),  # award | sanction
    Column("detail", String(30), nullable=False),  # tier or level
    Column("amount", Float, nullable=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("reason_zh", String(500), nullable=False),
    Column("reason_en", String(500), nullable=False),
    Column("state", String(12), nullable=False),  # granted | revoked | issued
)

survey_daily = Table(
    "survey_daily", metadata,
    Column("day", Date, primary_key=True),
    Column("branch_id", String(64), primary_key=True),
    Column("user_group", String(50), primary_key=True),
    Column("dimension", String(64), primary_key=True),
    Column("item_code", String(64), primary_key=True),
    Column("n", Integer, nullable=False),
    Column("s_min", Integer, nullable=False),
    Column("s_des", Integer, nullable=False),
    Column("s_per", Integer, nullable=False),
)

ROLLUPS = {t.name: t for t in (desk_daily, desk_wait_daily, praise_daily, training_daily, award_daily, sanction_daily, appeal_daily,
                               survey_daily)}


BATCH = "reports_batch"  # conn.info key of the open ``Batch`` (see ``batch``)


class Batch:
    """The read-model writes of one consumer batch, kept in memory and written once at the end.

    Rollup amounts are summed per row key and added to the stored rows by one
    ``INSERT … ON CONFLICT DO UPDATE SET c = c + excluded.c`` per table (``flush``): the same sums
    as one ``add_to`` per event, in a few statements instead of two per event. Item rows
    (complaints, praise, evaluations, ledger, overdue requirements) are read once per key (the
    batch's keys are loaded up front by ``load``), changed in memory by the handlers through
    ``get``/``upsert``/``insert`` and written back at the end, whole rows, by one upsert per table.
    A handler therefore sees the effect of the batch's earlier events exactly as with SQL.
    """

    def __init__(self, conn: Connection):
        self.conn = conn
        self.sums: dict[Table, dict[tuple, list]] = {}
        self.rows: dict[Table, dict[tuple, dict | None]] = {}  # None: known not to exist
        self.dirty: dict[Table, set] = {}

    # rollups
    def add(self, table: Table, keys: dict, amounts: dict) -> None:
        columns = _amount_columns(table)
        key = tuple(keys[k] for k in _key_columns(table))
        row = self.sums.setdefault(table, {}).get(key)
        if row is None:
            row = self.sums[table][key] = [0] * len(columns)
        for index, name in enumerate(columns):
            if name in amounts:
                row[index] += amounts[name]

    # item rows
    def load(self, table: Table, column: str, values) -> None:
        """Read the rows of ``values`` (a one-column primary key) in one statement."""
        rows = self.rows.setdefault(table, {})
        wanted = [v for v in dict.fromkeys(values) if (v,) not in rows]
        for v in wanted:
            rows[(v,)] = None
        for found in rows_with_keys(self.conn, table, column, wanted):
            rows[(found[column],)] = dict(found)

    def get(self, table: Table, key: dict) -> dict | None:
        pk = tuple(key[k] for k in _key_columns(table))
        rows = self.rows.setdefault(table, {})
        if pk not in rows:  # not loaded up front: one read, then kept
            found = self.conn.execute(select(table).where(
                *[table.c[k] == v for k, v in key.items()])).mappings().first()
            rows[pk] = dict(found) if found is not None else None
        return rows[pk]

    def upsert(self, table: Table, key: dict, values: dict) -> None:
        row = self.get(table, key)
        if row is None:
            row = self.rows[table][tuple(key[k] for k in _key_columns(table))] = _new_row(table)
            row.update(key)
        row.update(values)
        self.dirty.setdefault(table, set()).add(tuple(key[k] for k in _key_columns(table)))

    def flush(self) -> None:
        """Write the batch: rollup sums added, changed item rows stored whole (rows in key order, so
        workers writing the same rows at once take their locks in the same order)."""
        for table, sums in self.sums.items():
            names = _key_columns(table) + _amount_columns(table)
            _upsert_rows(self.conn, table, [dict(zip(names, key + tuple(sums[key]))) for key in sorted(sums, key=repr)],
                         add=True)
        for table, keys in self.dirty.items():
            _upsert_rows(self.conn, table, [self.rows[table][pk] for pk in sorted(keys, key=repr)], add=False)
        self.sums.clear()
        self.dirty.clear()


_COLUMNS: dict[Table, tuple[tuple, tuple]] = {}


def _columns(table: Table) -> tuple[tuple, tuple]:
    """(primary key column names, the other column names) of a table, worked out once."""
    found = _COLUMNS.get(table)
    if found is None:
        found = _COLUMNS[table] = (tuple(c.name for c in table.primary_key.columns),
                                   tuple(c.name for c in table.columns if not c.primary_key))
    return found


def _key_columns(table: Table) -> tuple:
    return _columns(table)[0]


def _amount_columns(table: Table) -> tuple:
    return _columns(table)[1]


def _new_row(table: Table) -> dict:
    """A row's columns at their scalar defaults (None where there is none), as an INSERT leaves them."""
    return {c.name: (c.default.arg if c.default is not None and c.default.is_scalar else None) for c in table.columns}


_UPSERTS: dict[tuple, object] = {}


def _upsert_rows(conn: Connection, table: Table, rows: list[dict], add: bool) -> None:
    """INSERT whole rows; on a key already stored, add the amounts (``add``) or replace the columns."""
    if not rows:
        return
    dialect = conn.dialect.name
    statement = _UPSERTS.get((dialect, table, add))
    if statement is None:
        from sqlalchemy.dialects import postgresql, sqlite
        insert = (postgresql if dialect == "postgresql" else sqlite).insert(table)
        columns = _amount_columns(table)
        values = {c: (table.c[c] + insert.excluded[c]) if add else insert.excluded[c] for c in columns}
        statement = _UPSERTS[(dialect, table, add)] = insert.on_conflict_do_update(
            index_elements=list(_key_columns(table)), set_=values)
    conn.execute(statement, rows)


@contextlib.contextmanager
def batch(conn: Connection):
    """Buffer the handlers' writes on ``conn`` for a batch and write them when it ends well; code
    outside a batch (a test feeding one handler) writes straight through, as before."""
    if conn.info.get(BATCH) is not None:
        yield conn.info[BATCH]
        return
    work = conn.info[BATCH] = Batch(conn)
    try:
        yield work
        work.flush()
    finally:
        conn.info.pop(BATCH, None)


def add_to(conn: Connection, table: Table, keys: dict, amounts: dict) -> None:
    """Add ``amounts`` to the rollup row of ``keys`` (created at zero if missing)."""
    work = conn.info.get(BATCH)
    if work is not None:
        work.add(table, keys, amounts)
        return
    where = [table.c[k] == v for k, v in keys.items()]
    result = conn.execute(update(table).where(*where).values(
        **{k: table.c[k] + v for k, v in amounts.items()}))
    if not result.rowcount:
        zeros = {c.name: 0 for c in table.columns if c.name not in keys}
        conn.execute(table.insert().values(**{**zeros, **keys, **amounts}))


def add_wait(conn: Connection, keys: dict, stars: int, wait: int | None) -> None:
    """One desk rating into its day's rollup; the wait also into the day's histogram by whole minutes."""
    waits, wait_sum = (1, wait) if wait is not None else (0, 0)
    add_to(conn, desk_daily, keys, {"ratings": 1, "stars_sum": stars, "waits": waits, "wait_sum": wait_sum})
    if wait is not None:
        add_to(conn, desk_wait_daily, {"day": keys["day"], "branch_id": keys["branch_id"], "minutes": wait},
               {"waits": 1})


def upsert(conn: Connection, table: Table, key: dict, values: dict) -> None:
    """Set ``values`` on the row of ``key``, inserting it if missing."""
    work = conn.info.get(BATCH)
    if work is not None:
        work.upsert(table, key, values)
        return
    result = conn.execute(update(table).where(*[table.c[k] == v for k, v in key.items()]).values(**values))
    if not result.rowcount:
        conn.execute(table.insert().values(**key, **values))


def insert(conn: Connection, table: Table, row: dict) -> None:
    """A new item row (the caller has seen that its key is not stored)."""
    work = conn.info.get(BATCH)
    if work is not None:
        work.upsert(table, {k: row[k] for k in _key_columns(table)}, row)
        return
    conn.execute(table.insert().values(**row))


def get(conn: Connection, table: Table, **key):
    """The row of ``key`` (a mapping) or None; within a batch, as the batch has left it."""
    work = conn.info.get(BATCH)
    if work is not None:
        return work.get(table, key)
    return conn.execute(select(table).where(*[table.c[k] == v for k, v in key.items()])).mappings().first()


# -- reading for reports --------------------------------------------------------------------------
def _dicts(conn: Connection, query) -> list[dict]:
    """Rows as dicts (zip over plain tuples: several times cheaper than mapping rows one by one)."""
    result = conn.execute(query)
    keys = list(result.keys())
    return [dict(zip(keys, row)) for row in result.all()]


def _branches(query, table, branch_ids):
    return query if branch_ids is None else query.where(table.c.branch_id.in_(list(branch_ids)))


def rollup_rows(conn: Connection, name: str, start: date, end: date, branch_ids=None, staff_id=None) -> list[dict]:
    """The rows of one rollup between two days (inclusive)."""
    table = ROLLUPS[name]
    query = _branches(select(table).where(table.c.day >= start, table.c.day <= end), table, branch_ids)
    if staff_id is not None:
        query = query.where(table.c.staff_id == staff_id)
    return _dicts(conn, query)


def complaints(conn: Connection, start: date, end: date, branch_ids=None, staff_id=None) -> list[dict]:
    """The complaints filed between two days (only those whose filing was seen)."""
    t = complaint_facts
    query = _branches(select(t).where(t.c.filed_day >= start, t.c.filed_day <= end), t, branch_ids)
    if staff_id is not None:
        query = query.where(t.c.staff_id == staff_id)
    return _dicts(conn, query.order_by(t.c.filed_at, t.c.complaint_id))


def overdue(conn: Connection, start: date, end: date, branch_ids=None) -> list[dict]:
    t = requirement_overdue
    query = _branches(select(t).where(t.c.day >= start, t.c.day <= end), t, branch_ids)
    return [dict(r) for r in conn.execute(query).mappings()]


def evaluations(conn: Connection, start: date | None, end: date | None, branch_ids=None, staff_id=None):
    t = evaluation_results
    query = select(t)
    if start is not None:
        query = query.where(t.c.day >= start, t.c.day <= end)
    query = _branches(query, t, branch_ids)
    if staff_id is not None:
        query = query.where(t.c.staff_id == staff_id)
    return [dict(r) for r in conn.execute(query.order_by(t.c.day, t.c.period)).mappings()]


def ledger(conn: Connection, staff_id: str) -> list[dict]:
    t = ledger_entries
    return [dict(r) for r in conn.execute(select(t).where(t.c.staff_id == staff_id)
                                          .order_by(t.c.at.desc(), t.c.entry_id)).mappings()]


# -- grouped reading: sums per branch and period in SQL ---------------------------------------------
#: The columns a rollup is grouped by beside the branch (the rest are summed).
GROUP_KEYS = {"desk_daily": (), "desk_wait_daily": ("minutes",), "praise_daily": (), "training_daily": (),
              "award_daily": (), "sanction_daily": ("level",), "appeal_daily": ("kind",),
              "survey_daily": ("user_group", "dimension", "item_code")}


def disjoint(spans: list[tuple[date, date]]) -> list[list[int]]:
    """The span indexes in runs of non-overlapping spans (one CASE can put a day in one span only;
    a year's previous period is also its year before, and wide ranges may overlap)."""
    runs: list[list[int]] = []
    for index, (start, end) in enumerate(spans):
        for run in runs:
            if all(end < spans[i][0] or start > spans[i][1] for i in run):
                run.append(index)
                break
        else:
            runs.append([index])
    return runs


def _bucket(column, spans: list[tuple[date, date]], indexes: list[int]):
    """The index of the span a day falls in (NULL outside them all)."""
    return case(*[(and_(column >= spans[i][0], column <= spans[i][1]), i) for i in indexes], else_=None)


def _within(column, spans, indexes):
    return or_(*[and_(column >= spans[i][0], column <= spans[i][1]) for i in indexes])


def _grouped(conn: Connection, table, day_column, spans, columns, group, branch_ids=None, staff_id=None,
             where=()) -> list[dict]:
    """``columns`` (labelled SQL expressions) grouped by the span index (``bucket``) and ``group``,
    over every run of non-overlapping spans; one query per run."""
    out = []
    for indexes in disjoint(spans):
        bucket = _bucket(day_column, spans, indexes).label("bucket")
        query = select(bucket, *group, *columns).where(_within(day_column, spans, indexes), *where)
        query = _branches(query, table, branch_ids)
        if staff_id is not None:
            query = query.where(table.c.staff_id == staff_id)
        out += _dicts(conn, query.group_by(bucket, *group))
    return out


def rollup_sums(conn: Connection, name: str, spans, branch_ids=None, staff_id=None) -> list[dict]:
    """One rollup summed per span, branch and its own keys (level, kind, survey cell, minute): rows
    shaped like the daily rows (same column names), but one per branch and span instead of per day."""
    table = ROLLUPS[name]
    keys = {"day", "branch_id", "service_point_id", "staff_id", *GROUP_KEYS[name]}
    amounts = [func.sum(c).label(c.name) for c in table.columns if c.name not in keys]
    group = [table.c.branch_id, *[table.c[k] for k in GROUP_KEYS[name]]]
    return _grouped(conn, table, table.c.day, spans, amounts, group, branch_ids, staff_id)


def _hours(conn: Connection, later, earlier):
    """Hours between two stored times, in SQL (SQLite keeps UTC text, PostgreSQL timestamps)."""
    if conn.dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 24.0
    return func.extract("epoch", later - earlier) / 3600.0


def _count(condition):
    return func.sum(case((condition, 1), else_=0))


def complaint_sums(conn: Connection, spans, branch_ids=None, by=("branch_id",), staff_id=None) -> list[dict]:
    """The complaint counts a report needs, per span and ``by`` (branch, severity or nothing)."""
    c = complaint_facts.c
    acked = c.acknowledged_at.isnot(None)
    resolved = and_(c.resolved_at.isnot(None), c.outcome.isnot(None))
    judged = and_(resolved, c.outcome != "withdrawn")
    columns = [func.count().label("filed"), _count(acked).label("acked"),
               _count(and_(acked, c.ack_breached == False)).label("ack_on_time"),  # noqa: E712
               _count(and_(c.acknowledged_at.is_(None), c.ack_breached == True)).label("ack_missed_open"),  # noqa: E712
               _count(resolved).label("resolved"),
               _count(and_(resolved, c.resolve_breached == False)).label("res_on_time"),  # noqa: E712
               _count(and_(c.resolved_at.is_(None), c.resolve_breached == True)).label("res_missed_open"),  # noqa: E712
               _count(or_(c.ack_breached == True, c.resolve_breached == True)).label("breached"),  # noqa: E712
               _count(judged).label("judged"), _count(and_(judged, c.outcome == "substantiated")).label("substantiated"),
               func.count(c.rating).label("ratings"), func.coalesce(func.sum(c.rating), 0).label("rating_sum")]
    return _grouped(conn, complaint_facts, c.filed_day, spans, columns, [c[k] for k in by], branch_ids, staff_id)


def complaint_medians(conn: Connection, spans, branch_ids=None, by=("branch_id",)) -> dict[tuple, dict]:
    """Median hours to acknowledge and to resolve per (``by`` values..., span), computed in SQL with
    window functions (the middle one or two of each group), so no complaint row leaves the database."""
    c = complaint_facts.c
    out: dict[tuple, dict] = {}
    for figure, met, condition in (("ack", c.acknowledged_at, c.acknowledged_at.isnot(None)),
                                   ("res", c.resolved_at, and_(c.resolved_at.isnot(None), c.outcome.isnot(None)))):
        for indexes in disjoint(spans):
            bucket = _bucket(c.filed_day, spans, indexes).label("bucket")
            inner = select(bucket, *[c[k] for k in by], _hours(conn, met, c.filed_at).label("h")).where(
                _within(c.filed_day, spans, indexes), condition)
            inner = _branches(inner, complaint_facts, branch_ids).subquery()
            part = [inner.c.bucket, *[inner.c[k] for k in by]]
            ranked = select(*part, inner.c.h,
                            func.row_number().over(partition_by=part, order_by=inner.c.h).label("rn"),
                            func.count().over(partition_by=part).label("n")).subquery()
            keys = [ranked.c.bucket, *[ranked.c[k] for k in by]]
            query = select(*keys, func.avg(ranked.c.h)).where(
                or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == ranked.c.n // 2 + 1)).group_by(*keys)
            for row in conn.execute(query):
                out.setdefault(tuple(row[1:-1]) + (row[0],), {})[figure] = float(row[-1])
    return out


def overdue_staff(conn: Connection, spans, branch_ids=None) -> list[dict]:
    """The distinct (span, branch, staff member) with a requirement overdue."""
    t = requirement_overdue
    return _grouped(conn, t, t.c.day, spans, [], [t.c.branch_id, t.c.staff_id], branch_ids)


def evaluation_sums(conn: Connection, spans, branch_ids=None) -> list[dict]:
    """Results per span, branch and grade: how many and their score sum."""
    t = evaluation_results
    return _grouped(conn, t, t.c.day, spans, [func.count().label("n"), func.sum(t.c.score).label("score_sum")],
                    [t.c.branch_id, t.c.grade], branch_ids)


def flagged_complaints(conn: Connection, start: date, end: date, branch_ids=None) -> list[dict]:
    """The complaints filed between two days with a target breached or at risk (the SLA board's lists)."""
    t = complaint_facts
    query = _branches(select(t).where(t.c.filed_day >= start, t.c.filed_day <= end,
                                      or_(t.c.ack_breached == True, t.c.resolve_breached == True,  # noqa: E712
                                          t.c.ack_at_risk == True, t.c.resolve_at_risk == True)),  # noqa: E712
                      t, branch_ids)
    return _dicts(conn, query.order_by(t.c.filed_at, t.c.complaint_id))
