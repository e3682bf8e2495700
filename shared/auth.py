"""JWT bearer authentication and role checks.

Tokens carry ``role``, and for branch-scoped roles ``branch_id``; staff tokens carry ``staff_id``.
HS256 with a shared secret for local runs (``lsq token``), RS256 with a configured public key for a
real identity provider. Every endpoint declares who may call it with ``@access(...)``; endpoints
readers may use without an account say ``@access(anonymous=True)``. ``sign_token`` makes the tokens
the directory hands out at staff sign-in, signed whichever of the two ways the services verify.
"""
from __future__ import annotations

import functools
import os
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import jwt
from flask import current_app, g, request

from shared.errors import DomainError, Forbidden, Unauthorized

ROLES = ("reader", "staff", "supervisor", "branch_manager", "network_admin", "auditor", "service")
#: Roles that see every branch; the others see only the branch in their token.
NETWORK_ROLES = ("network_admin", "auditor", "service")
#: The roles as a Chinese reader names them (no role codes inside Chinese texts).
ROLE_ZH = {"reader": "读者", "staff": "馆员", "supervisor": "主管", "branch_manager": "分馆馆长",
           "network_admin": "总馆管理员", "auditor": "审计人员", "service": "系统服务"}
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
                            "您的角色只能访问本分馆的数据，无权访问其他分馆")


ANONYMOUS = Principal(role=None)


def issue_token(secret: str, role: str, *, staff_id: str | None = None, branch_id: str | None = None,
                subject: str | None = None, ttl_seconds: int = 12 * 3600, issued_at: int | None = None) -> str:
    """An HS256 token for the local secret (``lsq token``, tests, the demo), valid from ``issued_at``
    (default now, seconds since the epoch) for ``ttl_seconds``."""
    claims = _claims(role, staff_id=staff_id, branch_id=branch_id, subject=subject, ttl_seconds=ttl_seconds,
                     issued_at=issued_at)
    return jwt.encode(claims, secret, algorithm="HS256")


def _claims(role: str, *, staff_id: str | None, branch_id: str | None, subject: str | None, ttl_seconds: int,
            issued_at: int | None) -> dict:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    now = int(time.time()) if issued_at is None else issued_at
    claims = {"sub": subject or staff_id or f"{role}-{uuid.uuid4().hex[:8]}", "role": role,
              "iat": now, "exp": now + ttl_seconds}
    if staff_id:
        claims["staff_id"] = staff_id
    if branch_id:
        claims["branch_id"] = branch_id
    return claims


class SigningUnavailable(DomainError):
    """This process cannot sign tokens the services would accept (no or a wrong private key): 503."""

    status = 503
    code = "token_signing_unavailable"


def _configured(service: str, name: str) -> str | None:
    """``LSQ_<SERVICE>_<NAME>``, else ``LSQ_<NAME>``."""
    return os.environ.get(f"LSQ_{service.upper()}_{name}") or os.environ.get(f"LSQ_{name}")


def sign_token(settings, role: str, *, staff_id: str | None = None, branch_id: str | None = None,
               subject: str | None = None, ttl_seconds: int, issued_at: int | None = None) -> str:
    """A token every service accepts (see ``decode_token``), signed the way ``settings`` verify:

    - HS256 with the shared secret where no public key is configured (local runs);
    - RS256 where ``LSQ_JWT_PUBLIC_KEY`` is configured: with the private key of
      ``LSQ_JWT_PRIVATE_KEY`` or ``LSQ_JWT_PRIVATE_KEY_FILE`` (``LSQ_<SERVICE>_...`` wins), which
      must belong to that public key, and the issuer of ``settings`` or ``LSQ_JWT_ISSUER``.

    Raises ``SigningUnavailable`` (503) when RS256 is configured without a usable private key.
    """
    claims = _claims(role, staff_id=staff_id, branch_id=branch_id, subject=subject, ttl_seconds=ttl_seconds,
                     issued_at=issued_at)
    if not settings.jwt_public_key:
        return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")
    issuer = settings.jwt_issuer or _configured(settings.service, "JWT_ISSUER")
    if issuer:
        claims["iss"] = issuer
    return jwt.encode(claims, _private_key(settings), algorithm="RS256")


def check_signing(settings) -> None:
    """Raise ``SigningUnavailable`` (503) unless ``sign_token`` can sign for ``settings``."""
    if settings.jwt_public_key:
        _private_key(settings)


def _private_key(settings):
    """The configured RS256 private key, checked against the public key the services verify with."""
    pem = _configured(settings.service, "JWT_PRIVATE_KEY")
    key_file = _configured(settings.service, "JWT_PRIVATE_KEY_FILE")
    if not pem and key_file:
        try:
            pem = Path(key_file).read_text()
        except OSError:
            raise SigningUnavailable("the file named by LSQ_JWT_PRIVATE_KEY_FILE cannot be read",
                                     "无法读取令牌签名私钥文件，暂时无法登录") from None
    if not pem:
        raise SigningUnavailable(
            "sign-in is not available: RS256 tokens are configured (LSQ_JWT_PUBLIC_KEY) but no private key "
            "to sign them (LSQ_JWT_PRIVATE_KEY or LSQ_JWT_PRIVATE_KEY_FILE)",
            "系统未配置令牌签名私钥，暂时无法登录")
    return _matching_private_key(pem, settings.jwt_public_key)


@functools.lru_cache(maxsize=4)
def _matching_private_key(private_pem: str, public_pem: str):
    # Loaded and compared once per key pair: a key that does not match would sign tokens that
    # every service then refuses, which is better said at once.
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key, load_pem_public_key
    try:
        key = load_pem_private_key(private_pem.encode(), password=None)
        public = load_pem_public_key(public_pem.encode())
    except (ValueError, TypeError):
        raise SigningUnavailable("the configured private key is not an unencrypted RSA key in PEM",
                                 "令牌签名私钥格式无效，暂时无法登录") from None
    if not (isinstance(key, RSAPrivateKey) and isinstance(public, RSAPublicKey)
            and key.public_key().public_numbers() == public.public_numbers()):
        raise SigningUnavailable("the configured private key does not belong to LSQ_JWT_PUBLIC_KEY",
                                 "令牌签名私钥与验证公钥不匹配，暂时无法登录")
    return key


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
        raise Unauthorized(f"invalid token: {exc}", "登录令牌无效或已过期，请重新登录") from None
    role = claims.get("role")
    if role not in ROLES:
        raise Unauthorized(f"token has unknown role {role!r}", "登录令牌中的角色无效")
    return scoped(Principal(role=role, subject=claims.get("sub"), staff_id=claims.get("staff_id"),
                            branch_id=claims.get("branch_id")))


#: Roles whose token must name its branch, and the one whose token must name its staff member.
BRANCH_SCOPED_ROLES = ("supervisor", "branch_manager")


def scoped(principal: Principal) -> Principal:
    """Refuse (401) a token that lacks the claim its role is limited by: a branch-scoped role
    without ``branch_id`` or staff without ``staff_id`` would otherwise see more, not less."""
    if principal.role in BRANCH_SCOPED_ROLES and not principal.branch_id:
        raise Unauthorized(f"a {principal.role} token must name its branch (branch_id)",
                           "主管或馆长的令牌必须注明所属分馆")
    if principal.role == "staff" and not principal.staff_id:
        raise Unauthorized("a staff token must name its staff member (staff_id)", "馆员令牌必须注明员工身份")
    return principal


def load_principal() -> Principal:
    """Read the Authorization header of the current request (called before each request)."""
    header = request.headers.get("Authorization", "")
    if not header:
        return ANONYMOUS
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("Authorization header must be 'Bearer <token>'",
                           "请求头中的登录令牌格式不对")
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
                    raise Unauthorized("a bearer token is required", "需要先登录")
                if principal.role != "network_admin" and principal.role not in roles:
                    raise Forbidden(f"role {principal.role} may not do this",
                                    f"{ROLE_ZH.get(principal.role, '当前角色')}无权执行此操作")
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
