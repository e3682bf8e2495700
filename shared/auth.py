"""JWT bearer authentication and role checks.

Tokens carry ``role``, and for branch-scoped roles ``branch_id``; staff tokens carry ``staff_id``.
HS256 with a shared secret for local runs (``lsq token``), RS256 with a configured public key for a
real identity provider. Every endpoint declares who may call it with ``@access(...)``; endpoints
readers may use without an account say ``@access(anonymous=True)``.
"""
from __future__ import annotations

import functools
import time
import uuid
from dataclasses import dataclass

import jwt
from flask import current_app, g, request

from shared.errors import Forbidden, Unauthorized

ROLES = ("reader", "staff", "supervisor", "branch_manager", "network_admin", "auditor", "service")
#: Roles that see every branch; the others see only the branch in their token.
NETWORK_ROLES = ("network_admin", "auditor", "service")
#: Roles that may only read.
READ_ONLY_ROLES = ("auditor",)


@dataclass(frozen=True)
class Principal:
    """Who is calling: a role, maybe a staff id and a branch."""

    role: str | None
    subject: str | None = None
    staff_id: str | None = None
    branch_id: str | None = None

    @property
    def anonymous(self) -> bool:
        return self.role is None

    @property
    def network_wide(self) -> bool:
        return self.role in NETWORK_ROLES

    def may_see_branch(self, branch_id: str | None) -> bool:
        """Network roles see all branches; branch-scoped roles only their own."""
        return self.network_wide or (branch_id is not None and branch_id == self.branch_id)

    def branch_filter(self) -> str | None:
        """The branch a list must be limited to, or None for all branches."""
        return None if self.network_wide else self.branch_id

    def require_branch(self, branch_id: str | None) -> None:
        """Raise 403 unless this principal may act on ``branch_id``."""
        if not self.may_see_branch(branch_id):
            raise Forbidden(f"role {self.role} of branch {self.branch_id} cannot access branch {branch_id}",
                            f"角色 {self.role}（分馆 {self.branch_id}）无权访问分馆 {branch_id}")


ANONYMOUS = Principal(role=None)


def issue_token(secret: str, role: str, *, staff_id: str | None = None, branch_id: str | None = None,
                subject: str | None = None, ttl_seconds: int = 12 * 3600, issued_at: int | None = None) -> str:
    """An HS256 token for the local secret (``lsq token``, tests, the demo), valid from ``issued_at``
    (default now, seconds since the epoch) for ``ttl_seconds``."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    now = int(time.time()) if issued_at is None else issued_at
    claims = {"sub": subject or staff_id or f"{role}-{uuid.uuid4().hex[:8]}", "role": role,
              "iat": now, "exp": now + ttl_seconds}
    if staff_id:
        claims["staff_id"] = staff_id
    if branch_id:
        claims["branch_id"] = branch_id
    return jwt.encode(claims, secret, algorithm="HS256")


def decode_token(token: str, settings) -> Principal:
    """Check a bearer token's signature and expiry; raise 401 if it is not good."""
    try:
        if settings.jwt_public_key:
            claims = jwt.decode(token, settings.jwt_public_key, algorithms=["RS256"],
                                issuer=settings.jwt_issuer, options={"verify_aud": False})
        else:
            claims = jwt.decode(token, settings.jwt_secret, algorithms=["HS256"],
                                options={"verify_aud": False})
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}", f"令牌无效：{exc}") from None
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthorized(f"token has unknown role {role!r}", f"令牌中的角色 {role!r} 无效")
    return Principal(role=role, subject=claims.get("sub"), staff_id=claims.get("staff_id"),
                     branch_id=claims.get("branch_id"))


def load_principal() -> Principal:
    """Read the Authorization header of the current request (called before each request)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization header must be 'Bearer <token>'",
                           "Authorization 头必须是 'Bearer <令牌>'")
    return decode_token(token.strip(), current_app.extensions["lsq"].settings)


def current() -> Principal:
    """The principal of the current request."""
    return g.get("principal", ANONYMOUS)


def access(*roles: str, anonymous: bool = False):
    """Declare who may call an endpoint: listed roles (network_admin is always allowed), or anyone.

    The declaration is checked on every call, and a test asserts that every endpoint has one.
    """
    for role in roles:
        if role not in ROLES:
            raise ValueError(f"unknown role {role}")

    def decorate(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            principal = current()
            if not anonymous:
                if principal.anonymous:
                    raise Unauthorized("a bearer token is required", "需要登录令牌（Bearer）")
                if principal.role != "network_admin" and principal.role not in roles:
                    raise Forbidden(f"role {principal.role} may not do this",
                                    f"角色 {principal.role} 无权执行此操作")
            return view(*args, **kwargs)

        checked._lsq_access = {"roles": roles, "anonymous": anonymous}
        return checked

    return decorate


def endpoints_without_access(app) -> list[str]:
    """Endpoints that declare no ``@access``: must be empty (tested for every service)."""
    missing = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in ("static",) or rule.endpoint.startswith(("api-docs.", "health.")):
            continue
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        if view_class is not None:
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                handler = getattr(view_class, method.lower(), None)
                if handler is not None and not hasattr(handler, "_lsq_access"):
                    missing.append(f"{method} {rule.rule}")
        elif not hasattr(view, "_lsq_access"):
            missing.append(str(rule.rule))
    return missing
