"""Directory domain rules: branches, service points, staff and their sign-in accounts. Plain Python, no I/O."""
from __future__ import annotations

import functools
import hashlib
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shared.auth import ROLE_ZH
from shared.errors import Conflict, DomainError, Forbidden, Invalid, Unauthorized
from shared.events.staff import PROFESSIONAL_TITLE_LABELS, PROFESSIONAL_TITLES  # noqa: F401 - re-exported
from shared.timeutil import rfc3339

STAFF_ROLES = ("staff", "supervisor", "branch_manager", "network_admin", "auditor")
STAFF_STATUSES = ("active", "on_leave", "left")
LEAVE_REASONS = ("resigned", "retired", "dismissed", "contract_ended", "other")
SERVICE_POINT_KINDS = ("circulation", "reference", "children", "digital", "information", "other")
#: Roles a branch manager may give: never the network-wide ones.
BRANCH_ASSIGNABLE_ROLES = ("staff", "supervisor", "branch_manager")


@dataclass
class Staff:
    """A staff member as the rules see them."""

    id: str
    employee_number: str
    name: str
    role: str
    branch_id: str
    hire_date: date
    status: str = "active"
    left_on: date | None = None
    title: str | None = None  # professional title (职称), see PROFESSIONAL_TITLES


def check_may_manage(actor_role: str, actor_branch: str | None, branch_id: str, role: str | None = None) -> None:
    """network_admin changes anything; a branch_manager only staff of their branch, non-network roles."""
    if actor_role == "network_admin":
        return
    if actor_role != "branch_manager":
        raise Forbidden(f"role {actor_role} may not change the directory", f"{ROLE_ZH.get(actor_role, '当前角色')}无权修改人员目录")
    if branch_id != actor_branch:
        raise Forbidden("a branch manager may change only their own branch's staff",
                        "分馆馆长只能管理本分馆的员工")
    if role is not None and role not in BRANCH_ASSIGNABLE_ROLES:
        raise Forbidden(f"a branch manager may not give the role {role}",
                        f"分馆馆长不能授予 {role} 角色")


def check_transfer(staff: Staff, to_branch_id: str, effective: date) -> None:
    """A transfer moves an active staff member to another branch, not before they were hired."""
    if staff.status == "left":
        raise Conflict("staff member has left the network", "该员工已离职", code="staff_left")
    if to_branch_id == staff.branch_id:
        raise Invalid("staff member already works at this branch", "该员工已在此分馆", field="to_branch_id")
    if effective < staff.hire_date:
        raise Invalid("transfer date is before the hire date", "调动日期早于入职日期", field="effective_date")


def check_leave(staff: Staff, left_on: date) -> None:
    """Leaving happens once, on or after the hire date."""
    if staff.status == "left":
        raise Conflict("staff member has already left", "该员工已离职", code="staff_left")
    if left_on < staff.hire_date:
        raise Invalid("leaving date is before the hire date", "离职日期早于入职日期", field="left_on")


def check_update(staff: Staff, changes: dict) -> dict:
    """PATCH may change name, role, email, professional title and on-leave status; branch and leaving
    have their own verbs.

    Returns only the fields that really change.
    """
    if staff.status == "left":
        raise Conflict("staff member has left the network", "该员工已离职", code="staff_left")
    if "branch_id" in changes:
        raise Invalid("use POST /staff/{id}/transfer to change branch", "调动分馆请使用调动接口", field="branch_id")
    if changes.get("status") == "left":
        raise Invalid("use POST /staff/{id}/leave to record leaving", "离职请使用离职接口", field="status")
    return {k: v for k, v in changes.items() if getattr(staff, k, None) != v}


# -- staff sign-in accounts ----------------------------------------------------------------------
# Staff sign in with their employee number and a password they set through a one-time invitation.
# The rules below decide; service.py reads and writes the rows they judge.

PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 10, 128
#: From this many consecutive failed sign-ins on, the next attempt must wait...
SLOWDOWN_FROM = 3
#: ...this long after the last failure, doubling with each further failure up to SLOWDOWN_LONGEST.
SLOWDOWN_FIRST = timedelta(seconds=5)
SLOWDOWN_LONGEST = timedelta(minutes=5)
#: From this many consecutive failures on, the account is locked for LOCK_DURATION after each one.
LOCK_FROM = 10
LOCK_DURATION = timedelta(minutes=15)
#: Invitations and sessions unless configured otherwise (``services/directory/settings.py``).
DEFAULT_INVITATION_DAYS = 7
DEFAULT_SESSION_MINUTES = 30

_hasher = PasswordHasher()  # argon2id with the library's default cost parameters


class Gone(DomainError):
    """A one-time thing that existed but can no longer be used (an invitation): 410."""

    status = 410
    code = "gone"


class SignInDeferred(DomainError):
    """A sign-in refused for now, before the password is looked at; ``retry_after`` in seconds."""

    def __init__(self, message: str, message_zh: str, *, retry_after: int, details: dict):
        super().__init__(message, message_zh, details={**details, "retry_after_seconds": retry_after})
        self.retry_after = retry_after


class SignInSlowedDown(SignInDeferred):
    """Too soon after the last of several failed sign-ins: 429."""

    status = 429
    code = "sign_in_slowed_down"


class AccountLocked(SignInDeferred):
    """Locked after too many failed sign-ins in a row: 423."""

    status = 423
    code = "account_locked"


@dataclass(frozen=True)
class SignInFailures:
    """An account's consecutive failed sign-ins: how many, and when the last one was."""

    count: int = 0
    last_at: datetime | None = None


@dataclass(frozen=True)
class Invitation:
    """A one-time invitation to set a password, as the rules see it (its token is never kept)."""

    staff_id: str
    expires_at: datetime
    used_at: datetime | None = None
    revoked_at: datetime | None = None


def check_password_rules(password: str, employee_number: str) -> None:
    """A password has 10 to 128 characters, is not only digits and is not the employee number."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise Invalid(f"the password must have at least {PASSWORD_MIN_LENGTH} characters",
                      f"密码至少需要 {PASSWORD_MIN_LENGTH} 个字符", field="password", code="password_too_short")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise Invalid(f"the password must have at most {PASSWORD_MAX_LENGTH} characters",
                      f"密码最多 {PASSWORD_MAX_LENGTH} 个字符", field="password", code="password_too_long")
    if password.isdigit():
        raise Invalid("the password must not be only digits", "密码不能全是数字",
                      field="password", code="password_only_digits")
    if password.casefold() == employee_number.casefold():
        raise Invalid("the password must not be the employee number", "密码不能与工号相同",
                      field="password", code="password_is_employee_number")


def hash_password(password: str) -> str:
    """The argon2id hash to store for ``password`` (salted; the password itself is never kept)."""
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    """Whether ``password`` is the one ``password_hash`` was made from."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def password_needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's defaults (upgrade it on sign-in)."""
    return _hasher.check_needs_rehash(password_hash)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def check_dummy_password(password: str) -> None:
    """Spend the time of a real password check, for an employee number with no password: an
    unknown number then answers no faster than a known one."""
    password_matches(_dummy_hash(), password)


def new_invitation_token() -> str:
    """A random invitation token (256 bits, URL-safe): shown once, then only its hash is kept."""
    return secrets.token_urlsafe(32)


def hash_invitation_token(token: str) -> str:
    """The hash an invitation is stored and found under.

    A plain SHA-256 is enough here, unlike for passwords: the token is 256 random bits, so no
    one can guess it back from the hash, and the hash must be found by equality.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def invitation_expiry(now: datetime, days: int = DEFAULT_INVITATION_DAYS) -> datetime:
    """When an invitation made at ``now`` stops working."""
    return now + timedelta(days=days)


def check_invitation(invitation: Invitation | None, staff_status: str | None, now: datetime) -> None:
    """An invitation sets a password once, before it expires, while its staff member has not left.

    Unknown token → 422; used, withdrawn or expired → 410; each naming the field ``token``.
    """
    if invitation is None:
        raise Invalid("this invitation link is not valid", "激活链接无效", field="token", code="invitation_unknown")
    if invitation.used_at is not None:
        raise Gone("this invitation has already been used", "该激活链接已使用过", field="token",
                   code="invitation_used")
    if invitation.revoked_at is not None or staff_status == "left":
        raise Gone("this invitation has been withdrawn", "该激活链接已被撤销", field="token",
                   code="invitation_withdrawn")
    if now >= invitation.expires_at:
        raise Gone(f"this invitation expired at {rfc3339(invitation.expires_at)}", "该激活链接已过期",
                   field="token", code="invitation_expired")


def check_may_manage_account(actor_role: str, actor_branch: str | None, staff: Staff) -> None:
    """network_admin manages every account; a branch_manager those of their own branch's staff,
    except network-wide roles (a manager who could reset a network_admin's password could take
    the account over)."""
    if actor_role == "network_admin":
        return
    if actor_role != "branch_manager" or staff.branch_id != actor_branch:
        raise Forbidden("only a manager of the staff member's branch may manage their account",
                        "只有该员工所在分馆的馆长可以管理其账号")
    if staff.role not in BRANCH_ASSIGNABLE_ROLES:
        raise Forbidden("a branch manager may not manage the account of a network-wide role",
                        "分馆馆长不能管理全馆级角色的账号")


def check_may_invite(staff: Staff, has_password: bool) -> None:
    """An invitation is for a staff member who has no password yet (else: a password reset)."""
    if staff.status == "left":
        raise Conflict("staff member has left the network", "该员工已离职", code="staff_left")
    if has_password:
        raise Conflict("this staff member already has a password: use a password reset",
                       "该员工已设置密码，如需重设请使用重置密码", code="account_has_password")


def check_may_reset(staff: Staff) -> None:
    """A password can be reset for anyone who has not left."""
    if staff.status == "left":
        raise Conflict("staff member has left the network", "该员工已离职", code="staff_left")


def wait_after(count: int) -> timedelta | None:
    """How long after the last of ``count`` consecutive failures the next attempt must wait."""
    if count >= LOCK_FROM:
        return LOCK_DURATION
    if count >= SLOWDOWN_FROM:
        return min(SLOWDOWN_FIRST * 2 ** (count - SLOWDOWN_FROM), SLOWDOWN_LONGEST)
    return None


def next_attempt_at(failures: SignInFailures) -> datetime | None:
    """The earliest time the account accepts another sign-in attempt (None: at once)."""
    wait = wait_after(failures.count)
    if wait is None or failures.last_at is None:
        return None
    return failures.last_at + wait


def locked_until(failures: SignInFailures, now: datetime) -> datetime | None:
    """When a locked account unlocks, or None when it is not locked at ``now``."""
    until = next_attempt_at(failures)
    return until if failures.count >= LOCK_FROM and until is not None and until > now else None


def check_may_try(failures: SignInFailures, now: datetime) -> None:
    """Raise ``AccountLocked`` (423) or ``SignInSlowedDown`` (429) when an attempt at ``now`` is too early."""
    until = next_attempt_at(failures)
    if until is None or now >= until:
        return
    seconds = max(1, math.ceil((until - now).total_seconds()))
    if failures.count >= LOCK_FROM:
        minutes = math.ceil(seconds / 60)
        raise AccountLocked(
            f"the account is locked after {failures.count} failed sign-ins in a row, until {rfc3339(until)}",
            f"连续 {failures.count} 次登录失败，账号已锁定，请 {minutes} 分钟后再试",
            retry_after=seconds, details={"locked_until": rfc3339(until)})
    raise SignInSlowedDown(
        f"{failures.count} failed sign-ins in a row: try again in {seconds} seconds",
        f"已连续 {failures.count} 次登录失败，请 {seconds} 秒后再试",
        retry_after=seconds, details={"next_attempt_at": rfc3339(until)})


def after_failure(failures: SignInFailures, now: datetime) -> SignInFailures:
    """The failures once an attempt at ``now`` has failed."""
    return SignInFailures(failures.count + 1, now)


def sign_in_failed() -> Unauthorized:
    """The one answer to a wrong employee number or a wrong password: it does not say which."""
    return Unauthorized("the employee number or the password is wrong", "工号或密码错误", code="sign_in_failed")


def account_not_active() -> Unauthorized:
    """The answer for a staff member who has left."""
    return Unauthorized("this account is not active: the staff member has left the network",
                        "该账号已停用：该员工已离职", code="account_not_active")


def check_may_refresh(staff_status: str, has_password: bool, failures: SignInFailures,
                      sessions_revoked_at: datetime | None, token_issued_at: int, now: datetime) -> None:
    """A session is renewed only while its account is still good: the staff member has not left,
    has a password, is not locked, and no password reset came after the token was issued."""
    if staff_status == "left":
        raise account_not_active()
    if sessions_revoked_at is not None and token_issued_at < sessions_revoked_at.timestamp():
        raise Unauthorized("the password was reset after this session began: sign in again",
                           "此次登录后密码已被重置，请重新登录", code="session_revoked")
    if not has_password:
        raise Unauthorized("this staff member has no password to sign in with", "该员工尚未设置登录密码",
                           code="no_password")
    if locked_until(failures, now) is not None:
        raise Unauthorized("the account is locked after too many failed sign-ins: sign in again later",
                           "账号因多次登录失败已被锁定，请稍后重新登录", code="account_locked")
