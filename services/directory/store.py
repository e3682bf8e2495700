"""Directory tables and queries (SQLAlchemy Core)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Date, ForeignKey, Integer, MetaData, String, Table, func, select, update
from sqlalchemy.engine import Connection

from shared.db import UtcDateTime

from services.directory.model import Invitation, SignInFailures, Staff

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
    Column("title", String(20), nullable=True),  # professional title (职称); NULL: none recorded
)

#: A staff member's sign-in account: one row from their first password (or reset) on.
staff_accounts = Table(
    "staff_accounts", metadata,
    Column("staff_id", String(36), ForeignKey("staff.id"), primary_key=True),
    Column("password_hash", String(200), nullable=True),  # argon2id; NULL: no password (never set, reset, left)
    Column("password_set_at", UtcDateTime(), nullable=True),
    Column("failed_attempts", Integer, nullable=False, default=0),  # consecutive failed sign-ins
    Column("last_failed_at", UtcDateTime(), nullable=True),
    Column("last_login_at", UtcDateTime(), nullable=True),
    # Tokens issued before this time are not renewed (set by a password reset and by leaving).
    Column("sessions_revoked_at", UtcDateTime(), nullable=True),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
)

#: One-time invitations to set a password; only the token's SHA-256 is kept.
staff_invitations = Table(
    "staff_invitations", metadata,
    Column("id", String(36), primary_key=True),
    Column("staff_id", String(36), ForeignKey("staff.id"), nullable=False, index=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_by", String(200), nullable=True),  # the token subject of the manager who made it
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("used_at", UtcDateTime(), nullable=True),
    Column("revoked_at", UtcDateTime(), nullable=True),  # replaced by a newer one, or the staff member left
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
                 left_on=row["left_on"], title=row.get("title"))


def staff_listing():
    """A select of staff rows with ``has_account``: whether they have a password to sign in with."""
    has_account = staff_accounts.c.password_hash.is_not(None).label("has_account")
    return select(staff, has_account).select_from(
        staff.outerjoin(staff_accounts, staff_accounts.c.staff_id == staff.c.id))


def get_staff_listed(conn: Connection, staff_id: str):
    """One staff row with ``has_account`` (see ``staff_listing``), or None."""
    return conn.execute(staff_listing().where(staff.c.id == staff_id)).mappings().first()


def _staff_with_branch():
    return select(staff.c.id, staff.c.employee_number, staff.c.name, staff.c.role, staff.c.branch_id,
                  staff.c.status, branches.c.name_zh.label("branch_name_zh"),
                  branches.c.name_en.label("branch_name_en")).join(branches, branches.c.id == staff.c.branch_id)


def staff_by_employee_number(conn: Connection, number: str):
    """The staff member signing in with ``number``, with their branch's names, or None."""
    return conn.execute(_staff_with_branch().where(staff.c.employee_number == number)).mappings().first()


def staff_with_branch(conn: Connection, staff_id: str):
    """A staff member with their branch's names, or None."""
    return conn.execute(_staff_with_branch().where(staff.c.id == staff_id)).mappings().first()


def get_account(conn: Connection, staff_id: str, for_update: bool = False):
    query = select(staff_accounts).where(staff_accounts.c.staff_id == staff_id)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def ensure_account(conn: Connection, staff_id: str, now: datetime) -> None:
    """Create the staff member's account row if there is none (callers hold the staff row's lock)."""
    if get_account(conn, staff_id) is None:
        conn.execute(staff_accounts.insert().values(staff_id=staff_id, failed_attempts=0, created_at=now,
                                                    updated_at=now))


def update_account(conn: Connection, staff_id: str, now: datetime, **values) -> None:
    conn.execute(update(staff_accounts).where(staff_accounts.c.staff_id == staff_id)
                 .values(**values, updated_at=now))


def record_sign_in(conn: Connection, staff_id: str, password_hash: str, now: datetime,
                   new_hash: str | None = None) -> bool:
    """A successful sign-in: forget the failures and note the time, if the password is still the
    one that was checked (a reset may have come in between). False when it is not."""
    values = {"failed_attempts": 0, "last_failed_at": None, "last_login_at": now, "updated_at": now}
    if new_hash is not None:
        values["password_hash"] = new_hash
    result = conn.execute(update(staff_accounts).where(staff_accounts.c.staff_id == staff_id,
                                                       staff_accounts.c.password_hash == password_hash)
                          .values(**values))
    return result.rowcount == 1


def add_invitation(conn: Connection, row: dict) -> None:
    conn.execute(staff_invitations.insert().values(**row))


def withdraw_invitations(conn: Connection, staff_id: str, now: datetime) -> None:
    """Withdraw the staff member's invitations that are neither used nor withdrawn yet."""
    conn.execute(update(staff_invitations).where(staff_invitations.c.staff_id == staff_id,
                                                 staff_invitations.c.used_at.is_(None),
                                                 staff_invitations.c.revoked_at.is_(None))
                 .values(revoked_at=now))


def get_invitation(conn: Connection, token_hash: str, for_update: bool = False):
    query = select(staff_invitations).where(staff_invitations.c.token_hash == token_hash)
    if for_update and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return conn.execute(query).mappings().first()


def mark_invitation_used(conn: Connection, invitation_id: str, now: datetime) -> None:
    conn.execute(update(staff_invitations).where(staff_invitations.c.id == invitation_id).values(used_at=now))


def pending_invitation_until(conn: Connection, staff_id: str, now: datetime) -> datetime | None:
    """When the staff member's usable invitation expires, or None when they have none."""
    invitations = staff_invitations
    return conn.execute(select(func.max(invitations.c.expires_at)).where(
        invitations.c.staff_id == staff_id, invitations.c.used_at.is_(None), invitations.c.revoked_at.is_(None),
        invitations.c.expires_at > now)).scalar()


def as_failures(account) -> SignInFailures:
    """The consecutive failed sign-ins of an account row (none for no row)."""
    if account is None:
        return SignInFailures()
    return SignInFailures(account["failed_attempts"], account["last_failed_at"])


def as_invitation(row) -> Invitation | None:
    if row is None:
        return None
    return Invitation(staff_id=row["staff_id"], expires_at=row["expires_at"], used_at=row["used_at"],
                      revoked_at=row["revoked_at"])
