"""Directory use cases: one transaction each, domain checks, outbox events."""
from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.directory import model, store
from shared import outbox
from shared.auth import Principal
from shared.db import Database, page_of
from shared.errors import Conflict, Invalid, not_found
from shared.timeutil import local_today, utcnow


def open_branch(db: Database, actor: Principal, data: dict) -> dict:
    """Register a branch of the network → ``lsq.branch.opened.v1`` (network_admin only, see api)."""
    with db.transaction() as conn:
        if store.branch_code_taken(conn, data["code"]):
            raise Conflict(f"branch code {data['code']} is taken", f"分馆代码 {data['code']} 已存在",
                           field="code", code="duplicate_branch_code")
        row = {"id": str(uuid.uuid4()), "created_at": utcnow(), "address": None, "opened_on": None, **data}
        conn.execute(store.branches.insert().values(**row))
        outbox.add(conn, "lsq.branch.opened.v1", {
            "branch_id": row["id"], "code": row["code"], "name_zh": row["name_zh"],
            "name_en": row["name_en"], "opened_on": row["opened_on"]})
    return row


def open_service_point(db: Database, actor: Principal, data: dict) -> dict:
    """Add a service point (desk) to a branch."""
    with db.transaction() as conn:
        _require_branch(conn, data["branch_id"])
        model.check_may_manage(actor.role, actor.branch_id, data["branch_id"])
        row = {"id": str(uuid.uuid4()), "created_at": utcnow(), **data}
        conn.execute(store.service_points.insert().values(**row))
        outbox.add(conn, "lsq.branch.service_point_opened.v1", {
            "branch_id": row["branch_id"], "service_point_id": row["id"], "name_zh": row["name_zh"],
            "name_en": row["name_en"], "kind": row["kind"]})
    return row


def register_staff(db: Database, actor: Principal, data: dict) -> dict:
    """Add a staff member → ``lsq.staff.joined.v1``. Duplicate employee number → 409."""
    try:
        with db.transaction() as conn:
            _require_branch(conn, data["branch_id"])
            model.check_may_manage(actor.role, actor.branch_id, data["branch_id"], data["role"])
            if store.employee_number_taken(conn, data["employee_number"]):
                raise _duplicate_number(data["employee_number"])
            now = utcnow()
            row = {"id": str(uuid.uuid4()), "status": "active", "left_on": None, "email": None,
                   "created_at": now, "updated_at": now, **data}
            conn.execute(store.staff.insert().values(**row))
            outbox.add(conn, "lsq.staff.joined.v1", {
                "staff_id": row["id"], "employee_number": row["employee_number"], "name": row["name"],
                "role": row["role"], "branch_id": row["branch_id"], "hire_date": row["hire_date"]})
    except IntegrityError:
        # Two requests raced past the check: the unique index decided.
        raise _duplicate_number(data["employee_number"]) from None
    return row


def update_staff(db: Database, actor: Principal, staff_id: str, changes: dict) -> dict:
    """Change name, role, email or on-leave status → ``lsq.staff.updated.v1`` when anything changed."""
    with db.transaction() as conn:
        row = _require_staff(conn, staff_id)
        model.check_may_manage(actor.role, actor.branch_id, row["branch_id"], changes.get("role"))
        changed = model.check_update(store.as_staff(row), changes)
        if not changed:
            return dict(row)
        conn.execute(update(store.staff).where(store.staff.c.id == staff_id).values(**changed, updated_at=utcnow()))
        row = {**row, **changed}
        outbox.add(conn, "lsq.staff.updated.v1", {
            "staff_id": staff_id, "branch_id": row["branch_id"], "role": row["role"], "name": row["name"],
            "status": row["status"]})
    return row


def transfer_staff(db: Database, actor: Principal, staff_id: str, to_branch_id: str,
                   effective_date: date | None) -> dict:
    """Move a staff member to another branch → ``lsq.staff.transferred.v1``.

    A branch manager may transfer staff out of their own branch.
    """
    effective_date = effective_date or local_today()
    with db.transaction() as conn:
        row = _require_staff(conn, staff_id, for_update=True)
        _require_branch(conn, to_branch_id, field="to_branch_id")
        model.check_may_manage(actor.role, actor.branch_id, row["branch_id"])
        model.check_transfer(store.as_staff(row), to_branch_id, effective_date)
        conn.execute(update(store.staff).where(store.staff.c.id == staff_id)
                     .values(branch_id=to_branch_id, updated_at=utcnow()))
        outbox.add(conn, "lsq.staff.transferred.v1", {
            "staff_id": staff_id, "from_branch_id": row["branch_id"], "to_branch_id": to_branch_id,
            "effective_date": effective_date})
        return {**row, "branch_id": to_branch_id}


def staff_leaves(db: Database, actor: Principal, staff_id: str, left_on: date | None, reason: str) -> dict:
    """Record that a staff member left → ``lsq.staff.left.v1``."""
    left_on = left_on or local_today()
    with db.transaction() as conn:
        row = _require_staff(conn, staff_id, for_update=True)
        model.check_may_manage(actor.role, actor.branch_id, row["branch_id"])
        model.check_leave(store.as_staff(row), left_on)
        conn.execute(update(store.staff).where(store.staff.c.id == staff_id)
                     .values(status="left", left_on=left_on, updated_at=utcnow()))
        outbox.add(conn, "lsq.staff.left.v1", {"staff_id": staff_id, "branch_id": row["branch_id"],
                                                "left_on": left_on, "reason": reason})
        return {**row, "status": "left", "left_on": left_on}


def get_staff(db: Database, staff_id: str) -> dict:
    with db.read() as conn:
        return dict(_require_staff(conn, staff_id))


def get_branch(db: Database, branch_id: str) -> dict:
    with db.read() as conn:
        row = store.get_branch(conn, branch_id)
        if row is None:
            raise not_found("branch", "分馆", branch_id)
        return dict(row)


def list_branches(db: Database, page: int, page_size: int):
    with db.read() as conn:
        return page_of(conn, select(store.branches), [store.branches.c.code], page, page_size)


def list_service_points(db: Database, branch_id: str | None, page: int, page_size: int):
    points = store.service_points
    query = select(points) if branch_id is None else select(points).where(points.c.branch_id == branch_id)
    with db.read() as conn:
        return page_of(conn, query, [points.c.branch_id, points.c.name_en], page, page_size)


def list_staff(db: Database, filters: dict, page: int, page_size: int):
    """Staff matching the given equality filters (None = no filter)."""
    conditions = [store.staff.c[name] == value for name, value in filters.items() if value is not None]
    with db.read() as conn:
        return page_of(conn, select(store.staff).where(*conditions), [store.staff.c.employee_number], page, page_size)


def _require_branch(conn, branch_id: str, field: str = "branch_id"):
    row = store.get_branch(conn, branch_id)
    if row is None:
        raise Invalid(f"unknown branch {branch_id}", f"分馆 {branch_id} 不存在", field=field,
                      code="unknown_branch")
    return row


def _require_staff(conn, staff_id: str, for_update: bool = False):
    row = store.get_staff(conn, staff_id, for_update=for_update)
    if row is None:
        raise not_found("staff member", "员工", staff_id)
    return row


def _duplicate_number(number: str) -> Conflict:
    return Conflict(f"employee number {number} is already registered", f"工号 {number} 已存在",
                    field="employee_number", code="duplicate_employee_number")
