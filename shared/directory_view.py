"""A local read model of the directory (staff, branches, service points), built from its events.

Every service that checks staff or branch references (unknown → 422) keeps this copy in its own
database, fed by the handlers below, instead of calling the directory service or reading its
tables. Add ``DIRECTORY_HANDLERS`` to a worker's handlers and call ``create_directory_view_tables``
in the service's first migration.
"""
from __future__ import annotations

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
def on_staff_joined(conn: Connection, event: Event) -> None:
    d = event.data
    values = dict(employee_number=d["employee_number"], name=d["name"], role=d["role"],
                  branch_id=d["branch_id"], status="active", hire_date=d["hire_date"], left_on=None,
                  updated_at=event.time)
    _upsert(conn, known_staff, "staff_id", d["staff_id"], values)


def on_staff_transferred(conn: Connection, event: Event) -> None:
    d = event.data
    if not _update(conn, d["staff_id"], branch_id=d["to_branch_id"], updated_at=event.time):
        _upsert(conn, known_staff, "staff_id", d["staff_id"], dict(
            role="staff", branch_id=d["to_branch_id"], status="active", updated_at=event.time))


def on_staff_left(conn: Connection, event: Event) -> None:
    d = event.data
    if not _update(conn, d["staff_id"], status="left", left_on=d["left_on"], updated_at=event.time):
        _upsert(conn, known_staff, "staff_id", d["staff_id"], dict(
            role="staff", branch_id=d["branch_id"], status="left", left_on=d["left_on"], updated_at=event.time))


def on_staff_updated(conn: Connection, event: Event) -> None:
    d = event.data
    values = dict(branch_id=d["branch_id"], role=d["role"], name=d["name"], status=d["status"],
                  updated_at=event.time)
    if not _update(conn, d["staff_id"], **values):
        _upsert(conn, known_staff, "staff_id", d["staff_id"], values)


def on_branch_opened(conn: Connection, event: Event) -> None:
    d = event.data
    _upsert(conn, known_branches, "branch_id", d["branch_id"],
            dict(code=d["code"], name_zh=d["name_zh"], name_en=d["name_en"]))


def on_service_point_opened(conn: Connection, event: Event) -> None:
    d = event.data
    _upsert(conn, known_service_points, "service_point_id", d["service_point_id"],
            dict(branch_id=d["branch_id"], name_zh=d["name_zh"], name_en=d["name_en"]))


DIRECTORY_HANDLERS = {
    "lsq.staff.joined.v1": on_staff_joined,
    "lsq.staff.transferred.v1": on_staff_transferred,
    "lsq.staff.left.v1": on_staff_left,
    "lsq.staff.updated.v1": on_staff_updated,
    "lsq.branch.opened.v1": on_branch_opened,
    "lsq.branch.service_point_opened.v1": on_service_point_opened,
}


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


def _update(conn: Connection, staff_id: str, **values) -> bool:
    result = conn.execute(update(known_staff).where(known_staff.c.staff_id == staff_id).values(**values))
    return bool(result.rowcount)


def _upsert(conn: Connection, table: Table, key: str, ident: str, values: dict) -> None:
    result = conn.execute(update(table).where(table.c[key] == ident).values(**values))
    if not result.rowcount:
        conn.execute(table.insert().values(**{key: ident}, **values))
