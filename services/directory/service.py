"""Directory use cases: one transaction each, domain checks, outbox events."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from services.directory import model, store
from services.directory.settings import AccountSettings
from shared import auth, outbox
from shared.auth import Principal
from shared.config import Settings
from shared.db import Database, page_of
from shared.errors import Conflict, Invalid, Unauthorized, not_found
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
                "role": row["role"], "branch_id": row["branch_id"], "hire_date": row["hire_date"],
                "title": row.get("title")})
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
            "status": row["status"], "title": row.get("title")})
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
    """Record that a staff member left → ``lsq.staff.left.v1``. Their password is cleared, their
    invitations withdrawn and their sessions no longer renewed."""
    left_on = left_on or local_today()
    with db.transaction() as conn:
        row = _require_staff(conn, staff_id, for_update=True)
        model.check_may_manage(actor.role, actor.branch_id, row["branch_id"])
        model.check_leave(store.as_staff(row), left_on)
        now = utcnow()
        conn.execute(update(store.staff).where(store.staff.c.id == staff_id)
                     .values(status="left", left_on=left_on, updated_at=now))
        store.withdraw_invitations(conn, staff_id, now)
        store.update_account(conn, staff_id, now, password_hash=None, password_set_at=None, sessions_revoked_at=now)
        outbox.add(conn, "lsq.staff.left.v1", {"staff_id": staff_id, "branch_id": row["branch_id"],
                                                "left_on": left_on, "reason": reason})
        return {**row, "status": "left", "left_on": left_on}


def get_staff(db: Database, staff_id: str) -> dict:
    """One staff member, with ``has_account``."""
    with db.read() as conn:
        row = store.get_staff_listed(conn, staff_id)
        if row is None:
            raise not_found("staff member", "员工", staff_id)
        return dict(row)


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
        return page_of(conn, store.staff_listing().where(*conditions), [store.staff.c.employee_number], page,
                       page_size)


# -- sign-in accounts ----------------------------------------------------------------------------
def invite_staff(db: Database, actor: Principal, staff_id: str, config: AccountSettings) -> dict:
    """A one-time invitation for a staff member without a password to set one.

    A newer invitation withdraws the older ones. The token is returned here only: the database
    keeps its hash.
    """
    with db.transaction() as conn:
        row = _staff_managed_by(conn, actor, staff_id)
        account = store.get_account(conn, staff_id)
        model.check_may_invite(store.as_staff(row), account is not None and account["password_hash"] is not None)
        return _new_invitation(conn, actor, staff_id, utcnow(), config.invitation_days)


def reset_password(db: Database, actor: Principal, staff_id: str, config: AccountSettings) -> dict:
    """Clear the password, unlock the account, stop renewing the sessions issued so far, and
    return a new invitation to set a password."""
    with db.transaction() as conn:
        row = _staff_managed_by(conn, actor, staff_id)
        model.check_may_reset(store.as_staff(row))
        now = utcnow()
        store.ensure_account(conn, staff_id, now)
        store.update_account(conn, staff_id, now, password_hash=None, password_set_at=None, failed_attempts=0,
                             last_failed_at=None, sessions_revoked_at=now)
        return _new_invitation(conn, actor, staff_id, now, config.invitation_days)


def activate_account(db: Database, token: str, password: str) -> dict:
    """Set a password with an invitation token, which is then used up."""
    token_hash = model.hash_invitation_token(token)
    now = utcnow()
    with db.read() as conn:
        invitation = store.get_invitation(conn, token_hash)
        person = store.get_staff(conn, invitation["staff_id"]) if invitation else None
    model.check_invitation(store.as_invitation(invitation), person and person["status"], now)
    model.check_password_rules(password, person["employee_number"])
    password_hash = model.hash_password(password)  # slow on purpose: outside any transaction
    with db.transaction() as conn:
        # The same order of locks as a reset and leaving (staff, invitations, account): no deadlock.
        person = store.get_staff(conn, invitation["staff_id"], for_update=True)
        invitation = store.get_invitation(conn, token_hash, for_update=True)
        # Checked again: it may have been used or withdrawn while the password was hashed.
        model.check_invitation(store.as_invitation(invitation), person["status"], now)
        store.mark_invitation_used(conn, invitation["id"], now)
        store.ensure_account(conn, person["id"], now)
        store.update_account(conn, person["id"], now, password_hash=password_hash, password_set_at=now,
                             failed_attempts=0, last_failed_at=None)
    return {"staff_id": person["id"], "employee_number": person["employee_number"], "name": person["name"],
            "password_set_at": now}


def sign_in(db: Database, settings: Settings, config: AccountSettings, employee_number: str,
            password: str) -> dict:
    """Check an employee number and password and return a session token.

    Every attempt on an account is counted as a failure before its password is checked, and
    forgiven if it was right: attempts sent at the same moment cannot pass the slowdown together.
    Unknown number, no password or a wrong one: the same 401, after the same hashing work.
    """
    auth.check_signing(settings)  # 503 before anything is counted against the account
    now = utcnow()
    with db.read() as conn:
        person = store.staff_by_employee_number(conn, employee_number)
    if person is None or person["status"] == "left":
        model.check_dummy_password(password)
        raise model.account_not_active() if person is not None else model.sign_in_failed()
    password_hash = _count_attempt(db, person["id"], now)
    if password_hash is None:
        model.check_dummy_password(password)
        raise model.sign_in_failed()
    if not model.password_matches(password_hash, password):
        raise model.sign_in_failed()
    new_hash = model.hash_password(password) if model.password_needs_rehash(password_hash) else None
    session = _session(settings, person, now, config.session_minutes)
    with db.transaction() as conn:
        if not store.record_sign_in(conn, person["id"], password_hash, now, new_hash):
            raise model.sign_in_failed()  # the password was reset or cleared meanwhile
    return session


def refresh_session(db: Database, settings: Settings, config: AccountSettings, actor: Principal,
                    issued_at: int) -> dict:
    """A fresh token for a staff member whose account is still good (see ``model.check_may_refresh``),
    with their current role and branch."""
    if not actor.staff_id or actor.role not in model.STAFF_ROLES:
        raise Unauthorized("only a staff member's session can be renewed", "只有员工的登录会话可以续期",
                           code="not_a_staff_session")
    auth.check_signing(settings)
    now = utcnow()
    with db.read() as conn:
        person = store.staff_with_branch(conn, actor.staff_id)
        account = store.get_account(conn, actor.staff_id)
    if person is None:
        raise Unauthorized("this session's staff member is not in the directory", "该会话对应的员工不存在",
                           code="unknown_staff")
    model.check_may_refresh(person["status"], account is not None and account["password_hash"] is not None,
                            store.as_failures(account), account and account["sessions_revoked_at"], issued_at, now)
    return _session(settings, person, now, config.session_minutes)


def account_status(db: Database, actor: Principal, staff_id: str) -> dict:
    """What a manager or the staff member may know of an account (never a hash or a token)."""
    now = utcnow()
    with db.read() as conn:
        row = _require_staff_visible(conn, actor, staff_id)
        if actor.staff_id != staff_id:
            model.check_may_manage_account(actor.role, actor.branch_id, store.as_staff(row))
        account = store.get_account(conn, staff_id)
        pending_until = store.pending_invitation_until(conn, staff_id, now)
    failures = store.as_failures(account)
    return {"staff_id": staff_id, "has_password": account is not None and account["password_hash"] is not None,
            "locked_until": model.locked_until(failures, now), "failed_attempts": failures.count,
            "last_login_at": account and account["last_login_at"], "invitation_pending_until": pending_until}


def _count_attempt(db: Database, staff_id: str, now) -> str | None:
    """Refuse an attempt that comes too early, else count it as a failure; the password hash to
    check it against (None: no password)."""
    with db.transaction() as conn:
        account = store.get_account(conn, staff_id, for_update=True)
        if account is None or account["password_hash"] is None:
            return None
        failures = store.as_failures(account)
        model.check_may_try(failures, now)
        counted = model.after_failure(failures, now)
        store.update_account(conn, staff_id, now, failed_attempts=counted.count, last_failed_at=counted.last_at)
        return account["password_hash"]


def _session(settings: Settings, person, now, minutes: int) -> dict:
    issued_at = int(now.timestamp())
    ttl = minutes * 60
    token = auth.sign_token(settings, person["role"], staff_id=person["id"], branch_id=person["branch_id"],
                            ttl_seconds=ttl, issued_at=issued_at)
    return {"token": token, "token_type": "Bearer", "expires_at": datetime.fromtimestamp(issued_at + ttl, UTC),
            "staff": {"staff_id": person["id"], "employee_number": person["employee_number"],
                      "name": person["name"], "role": person["role"], "branch_id": person["branch_id"],
                      "branch_name_zh": person["branch_name_zh"], "branch_name_en": person["branch_name_en"]}}


def _new_invitation(conn, actor: Principal, staff_id: str, now, days: int) -> dict:
    store.withdraw_invitations(conn, staff_id, now)
    token = model.new_invitation_token()
    expires_at = model.invitation_expiry(now, days)
    store.add_invitation(conn, {"id": str(uuid.uuid4()), "staff_id": staff_id,
                                "token_hash": model.hash_invitation_token(token), "created_by": actor.subject,
                                "created_at": now, "expires_at": expires_at, "used_at": None, "revoked_at": None})
    return {"staff_id": staff_id, "token": token, "expires_at": expires_at, "activation_path": f"/activate/{token}"}


def _require_staff_visible(conn, actor: Principal, staff_id: str, for_update: bool = False):
    """The staff row, or 404 also when it belongs to a branch the actor cannot see: the answer
    for a staff member of another branch is the one for no staff member at all."""
    row = store.get_staff(conn, staff_id, for_update=for_update)
    if row is None or not (actor.staff_id == staff_id or actor.may_see_branch(row["branch_id"])):
        raise not_found("staff member", "员工", staff_id)
    return row


def _staff_managed_by(conn, actor: Principal, staff_id: str):
    """The staff row (locked) whose account ``actor`` may manage: 404 outside their branch, 403
    for an account beyond a branch manager."""
    row = _require_staff_visible(conn, actor, staff_id, for_update=True)
    model.check_may_manage_account(actor.role, actor.branch_id, store.as_staff(row))
    return row


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
