"""The reports read model: daily rollups per branch (and per desk and staff member where a report
needs it), one compact row per complaint, and the queries that read them for a span of days.

Rollup rows are keyed by the local calendar day (the network's zone) of the fact; handlers add to
them (``add_to``), so a report reads branches × days rows whatever the number of events.
"""
from __future__ import annotations

import json
from datetime import date

from sqlalchemy import (Boolean, Column, Date, Float, Integer, MetaData, String, Table, Text, select, update)
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

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
    Column("wait_hist", Text, nullable=False),  # JSON {minutes: count}: exact percentiles, mergeable
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

ROLLUPS = {t.name: t for t in (desk_daily, praise_daily, training_daily, award_daily, sanction_daily, appeal_daily,
                               survey_daily)}


def add_to(conn: Connection, table: Table, keys: dict, amounts: dict) -> None:
    """Add ``amounts`` to the rollup row of ``keys`` (created at zero if missing)."""
    where = [table.c[k] == v for k, v in keys.items()]
    result = conn.execute(update(table).where(*where).values(
        **{k: table.c[k] + v for k, v in amounts.items()}))
    if not result.rowcount:
        zeros = {c.name: 0 for c in table.columns if c.name not in keys}
        conn.execute(table.insert().values(**{**zeros, **keys, **amounts}))


def add_wait(conn: Connection, keys: dict, stars: int, wait: int | None) -> None:
    """One desk rating into its day's rollup; the wait goes into the histogram by whole minutes."""
    t = desk_daily
    row = conn.execute(select(t.c.wait_hist).where(*[t.c[k] == v for k, v in keys.items()])).first()
    histogram = json.loads(row.wait_hist) if row else {}
    if wait is not None:
        histogram[str(wait)] = histogram.get(str(wait), 0) + 1
    text = json.dumps(histogram, sort_keys=True)
    waits, wait_sum = (1, wait) if wait is not None else (0, 0)
    if row is None:
        conn.execute(t.insert().values(**keys, ratings=1, stars_sum=stars, waits=waits, wait_sum=wait_sum,
                                       wait_hist=text))
    else:
        conn.execute(update(t).where(*[t.c[k] == v for k, v in keys.items()]).values(
            ratings=t.c.ratings + 1, stars_sum=t.c.stars_sum + stars, waits=t.c.waits + waits,
            wait_sum=t.c.wait_sum + wait_sum, wait_hist=text))


def upsert(conn: Connection, table: Table, key: dict, values: dict) -> None:
    """Set ``values`` on the row of ``key``, inserting it if missing."""
    result = conn.execute(update(table).where(*[table.c[k] == v for k, v in key.items()]).values(**values))
    if not result.rowcount:
        conn.execute(table.insert().values(**key, **values))


def get(conn: Connection, table: Table, **key):
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
    rows = _dicts(conn, query)
    if name == "desk_daily":
        for row in rows:
            row["wait_hist"] = json.loads(row["wait_hist"])
    return rows


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
