"""Directory tables and queries (SQLAlchemy Core)."""
from __future__ import annotations

from sqlalchemy import Column, Date, ForeignKey, MetaData, String, Table, func, select
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

from services.directory.model import Staff

metadata = MetaData()

branches = Table(
    "branches", metadata,
    Column("id", String(36), primary_key=True),
    Column("code", String(32), nullable=False, unique=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("address", String(300), nullable=True),
    Column("opened_on", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
)

service_points = Table(
    "service_points", metadata,
    Column("id", String(36), primary_key=True),
    Column("branch_id", String(36), ForeignKey("branches.id"), nullable=False, index=True),
    Column("name_zh", String(200), nullable=False),
    Column("name_en", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
)

staff = Table(
    "staff", metadata,
    Column("id", String(36), primary_key=True),
    Column("employee_number", String(32), nullable=False, unique=True),
    Column("name", String(100), nullable=False),
    Column("email", String(200), nullable=True),
    Column("role", String(20), nullable=False, index=True),
    Column("branch_id", String(36), ForeignKey("branches.id"), nullable=False, index=True),
    Column("hire_date", Date, nullable=False),
    Column("status", String(10), nullable=False, index=True),
    Column("left_on", Date, nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)


def get_branch(conn: Connection, branch_id: str):
    return conn.execute(select(branches).where(branches.c.id == branch_id)).mappings().first()


def branch_code_taken(conn: Connection, code: str) -> bool:
    return conn.execute(select(branches.c.id).where(func.upper(branches.c.code) == code.upper())).first() is not None


def get_service_point(conn: Connection, point_id: str):
    return conn.execute(select(service_points).where(service_points.c.id == point_id)).mappings().first()


def get_staff(conn: Connection, staff_id: str, for_update: bool = False):
    query = select(staff).where(staff.c.id == staff_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def employee_number_taken(conn: Connection, number: str) -> bool:
    return conn.execute(select(staff.c.id).where(staff.c.employee_number == number)).first() is not None


def as_staff(row) -> Staff:
    return Staff(id=row["id"], employee_number=row["employee_number"], name=row["name"], role=row["role"],
                 branch_id=row["branch_id"], hire_date=row["hire_date"], status=row["status"],
                 left_on=row["left_on"])
