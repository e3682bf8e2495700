"""A local read model of the directory (staff, branches, service points), built from its events.

Every service that checks staff or branch references (unknown → 422) keeps this copy in its own
database, fed by the handlers below, instead of calling the directory service or reading its
tables. Add ``DIRECTORY_HANDLERS`` to a worker's handlers and call ``create_directory_view_tables``
in the service's first migration.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Column, Date, MetaData, String, Table, select, update
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime
from shared.errors import Invalid
from shared.events.envelope import Event

metadata = MetaData()

known_staff = Table(
    "known_staff", metadata,
    Column("staff_id", String(64), primary_key=True),
    Column("employee_number", String(32), nullable=True),
    Column("name", String(100), nullable=True),
    Column("role", String(20), nullable=False),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("status", String(10), nullable=False),
    Column("hire_date", Date, nullable=True),
    Column("left_on", Date, nullable=True),
    Column("updated_at", UtcDateTime(), nullable=False),
)

known_branches = Table(
    "known_branches", metadata,
    Column("branch_id", String(64), primary_key=True),
    Column("code", String(32), nullable=False),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
)

known_service_points = Table(
    "known_service_points", metadata,
    Column("service_point_id", String(64), primary_key=True),
    Column("branch_id", String(64), nullable=False, index=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
)


def create_directory_view_tables(op) -> None:
    """For a service's Alembic migration."""
    import sqlalchemy as sa
    op.create_table(
        "known_staff",
        sa.Column("staff_id", sa.String(64), primary_key=True),
        sa.Column("employee_number", sa.String(32), nullable=True),
        sa.Column("name", sa.String(100), nullable=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("hire_date", sa.Date, nullable=True),
        sa.Column("left_on", sa.Date, nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "known_branches",
        sa.Column("branch_id", sa.String(64), primary_key=True),
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
    )
    op.create_table(
        "known_service_points",
        sa.Column("service_point_id", sa.String(64), primary_key=True),
        sa.Column("branch_id", sa.String(64), nullable=False, index=True),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=False),
    )


# -- handlers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class DirectoryChange:
    """What one directory event writes: the row of ``table`` with ``key`` gets ``update`` if it
    exists, else it is inserted with ``insert`` (an event about staff not yet known still records
    them). The rule lives here once; a consumer that batches its writes (reports) applies the same
    change through its own store."""
    table: Table
    key: dict
    update: dict
    insert: dict


def directory_change(event: Event) -> DirectoryChange:
    """The row a directory event writes to the read model."""
    d = event.data
    if event.type == "lsq.branch.opened.v1":
        values = dict(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"])
        return DirectoryChange(known_branches, {"branch_id": d["branch_id"]}, values, values)
    if event.type == "lsq.branch.service_point_opened.v1":
        values = dict(branch_id=d["branch_id"], name_zh=d["name_zh"], name_en=d["name_en"])
        return DirectoryChange(known_service_points, {"service_point_id": d["service_point_id"]}, values, values)
    key, stamp = {"staff_id": d["staff_id"]}, {"updated_at": event.time}
    if event.type == "lsq.staff.joined.v1":
        values = dict(employee_number=d["employee_number"], name=d["name"], role=d["role"],
                      branch_id=d["branch_id"], status="active", hire_date=d["hire_date"], left_on=None, **stamp)
        return DirectoryChange(known_staff, key, values, values)
    if event.type == "lsq.staff.transferred.v1":
        return DirectoryChange(known_staff, key, dict(branch_id=d["to_branch_id"], **stamp),
                               dict(role="staff", branch_id=d["to_branch_id"], status="active", **stamp))
    if event.type == "lsq.staff.left.v1":
        return DirectoryChange(known_staff, key, dict(status="left", left_on=d["left_on"], **stamp),
                               dict(role="staff", branch_id=d["branch_id"], status="left", left_on=d["left_on"],
                                    **stamp))
    if event.type == "lsq.staff.updated.v1":
        values = dict(branch_id=d["branch_id"], role=d["role"], name=d["name"], status=d["status"], **stamp)
        return DirectoryChange(known_staff, key, values, values)
    raise ValueError(f"not a directory event: {event.type}")


def on_directory_event(conn: Connection, event: Event) -> None:
    """Apply a directory event to the read model (update the row, or insert it)."""
    change = directory_change(event)
    where = [change.table.c[name] == value for name, value in change.key.items()]
    if not conn.execute(update(change.table).where(*where).values(**change.update)).rowcount:
        conn.execute(change.table.insert().values(**change.key, **change.insert))


DIRECTORY_HANDLERS = {event_type: on_directory_event for event_type in (
    "lsq.staff.joined.v1", "lsq.staff.transferred.v1", "lsq.staff.left.v1", "lsq.staff.updated.v1",
    "lsq.branch.opened.v1", "lsq.branch.service_point_opened.v1")}


# -- queries and checks -------------------------------------------------------------------------
def staff(conn: Connection, staff_id: str):
    """The known staff member, or None."""
    return conn.execute(select(known_staff).where(known_staff.c.staff_id == staff_id)).mappings().first()


def branch(conn: Connection, branch_id: str):
    return conn.execute(select(known_branches).where(known_branches.c.branch_id == branch_id)).mappings().first()


def service_point(conn: Connection, point_id: str):
    return conn.execute(select(known_service_points)
                        .where(known_service_points.c.service_point_id == point_id)).mappings().first()


def require_staff(conn: Connection, staff_id: str, field: str = "staff_id", active: bool = True):
    """The staff member, or 422 naming ``field`` if unknown (or, with ``active``, if they left)."""
    row = staff(conn, staff_id)
    if row is None:
        raise Invalid(f"unknown staff member {staff_id}", f"员工 {staff_id} 不存在", field=field,
                      code="unknown_staff")
    if active and row["status"] == "left":
        raise Invalid(f"staff member {staff_id} has left", f"员工 {staff_id} 已离职", field=field,
                      code="staff_left")
    return row


def require_branch(conn: Connection, branch_id: str, field: str = "branch_id"):
    """The branch, or 422 naming ``field``."""
    row = branch(conn, branch_id)
    if row is None:
        raise Invalid(f"unknown branch {branch_id}", f"分馆 {branch_id} 不存在", field=field,
                      code="unknown_branch")
    return row


def require_service_point(conn: Connection, point_id: str, branch_id: str | None = None,
                          field: str = "service_point_id"):
    """The service point (of ``branch_id`` if given), or 422 naming ``field``."""
    row = service_point(conn, point_id)
    if row is None or (branch_id is not None and row["branch_id"] != branch_id):
        raise Invalid(f"unknown service point {point_id}" + (f" in branch {branch_id}" if branch_id else ""),
                      f"服务点 {point_id} 不存在", field=field, code="unknown_service_point")
    return row


def active_staff(conn: Connection, branch_ids: list[str] | None = None) -> list:
    """Active staff (of some branches, or all)."""
    query = select(known_staff).where(known_staff.c.status != "left")
    if branch_ids is not None:
        query = query.where(known_staff.c.branch_id.in_(branch_ids))
    return list(conn.execute(query.order_by(known_staff.c.staff_id)).mappings())
