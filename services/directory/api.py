"""Directory HTTP API: parse, call a use case, respond."""
import jwt
from flask import after_this_request, current_app, request
from flask_smorest import Blueprint

from services.directory import model, schemas, service
from shared import auth
from shared.auth import access
from shared.errors import Forbidden, Unauthorized
from shared.ratelimit import rate_limited
from shared.web import PageArgs, context, db, page

blp = Blueprint("directory", __name__, url_prefix="/", description="Branches, service points and staff")
READERS = ("branch_manager", "supervisor", "staff", "auditor", "service")
#: Roles a staff member's own token may have (network_admin is always allowed).
STAFF_MEMBER_ROLES = ("staff", "supervisor", "branch_manager", "auditor")
#: Requests a minute per client on the endpoints used without a token. A portal that calls them
#: from its server should pass its users' addresses on in X-Forwarded-For and be counted in
#: LSQ_PROXY_HOPS, or all its users share its one allowance.
SIGN_IN_LIMIT, ACTIVATE_LIMIT = 30, 10


@blp.post("/branches")
@access()  # network_admin only
@blp.arguments(schemas.BranchIn)
@blp.response(201, schemas.Branch)
def create_branch(data):
    """Open a branch (network_admin) / 新增分馆"""
    return service.open_branch(db(), auth.current(), data)


@blp.get("/branches")
@access(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.BranchPage)
def list_branches(args):
    """List the network's branches / 分馆列表"""
    items, total = service.list_branches(db(), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/branches/<branch_id>")
@access(*READERS)
@blp.response(200, schemas.Branch)
def get_branch(branch_id):
    """One branch / 分馆详情"""
    return service.get_branch(db(), branch_id)


@blp.post("/service-points")
@access("branch_manager")
@blp.arguments(schemas.ServicePointIn)
@blp.response(201, schemas.ServicePoint)
def create_service_point(data):
    """Add a service point (desk) to a branch / 新增服务点"""
    return service.open_service_point(db(), auth.current(), data)


@blp.get("/service-points")
@access(*READERS)
@blp.arguments(schemas.ServicePointQuery, location="query")
@blp.response(200, schemas.ServicePointPage)
def list_service_points(args):
    """List service points, optionally of one branch / 服务点列表"""
    items, total = service.list_service_points(db(), args.get("branch_id"), args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/staff")
@access("branch_manager")
@blp.arguments(schemas.StaffIn)
@blp.response(201, schemas.Staff)
def create_staff(data):
    """Register a staff member / 新增员工"""
    return service.register_staff(db(), auth.current(), data)


@blp.get("/staff")
@access("branch_manager", "supervisor", "auditor", "service")
@blp.arguments(schemas.StaffQuery, location="query")
@blp.response(200, schemas.StaffPage)
def list_staff(args):
    """List staff, filtered by branch, role and status / 员工列表

    Branch-scoped roles see only their own branch.
    """
    principal = auth.current()
    branch = args.get("branch_id")
    if principal.branch_filter() is not None:
        if branch is not None:
            principal.require_branch(branch)
        branch = principal.branch_filter()
    filters = {"branch_id": branch, "role": args.get("role"), "status": args.get("status")}
    items, total = service.list_staff(db(), filters, args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/staff/<staff_id>")
@access("staff", "supervisor", "branch_manager", "auditor", "service")
@blp.response(200, schemas.Staff)
def get_staff(staff_id):
    """One staff member: staff read their own record, managers their branch / 员工详情"""
    principal = auth.current()
    record = service.get_staff(db(), staff_id)
    if principal.role == "staff" and principal.staff_id != staff_id:
        raise Forbidden("staff may read only their own record", "员工只能查看本人信息")
    if principal.role != "staff":
        principal.require_branch(record["branch_id"])
    return record


@blp.patch("/staff/<staff_id>")
@access("branch_manager")
@blp.arguments(schemas.StaffPatch)
@blp.response(200, schemas.Staff)
def patch_staff(changes, staff_id):
    """Change name, e-mail, role or on-leave status / 修改员工信息"""
    return service.update_staff(db(), auth.current(), staff_id, changes)


@blp.post("/staff/<staff_id>/transfer")
@access("branch_manager")
@blp.arguments(schemas.TransferIn)
@blp.response(200, schemas.Staff)
def transfer(data, staff_id):
    """Transfer to another branch / 调动分馆"""
    return service.transfer_staff(db(), auth.current(), staff_id, data["to_branch_id"], data["effective_date"])


@blp.post("/staff/<staff_id>/leave")
@access("branch_manager")
@blp.arguments(schemas.LeaveIn)
@blp.response(200, schemas.Staff)
def leave(data, staff_id):
    """Record that a staff member left / 登记离职"""
    return service.staff_leaves(db(), auth.current(), staff_id, data["left_on"], data["reason"])


# -- sign-in accounts ----------------------------------------------------------------------------
@blp.post("/staff/<staff_id>/invitations")
@access("branch_manager")
@blp.response(201, schemas.Invitation)
def invite(staff_id):
    """Invite a staff member to set a password: a one-time token, shown only here / 邀请设置密码

    A branch manager invites their own branch's staff (a staff member of another branch answers
    404, as an unknown one). A newer invitation withdraws the older ones.
    """
    return service.invite_staff(db(), auth.current(), staff_id, _account_settings())


@blp.post("/staff/<staff_id>/password-reset")
@access("branch_manager")
@blp.response(201, schemas.Invitation)
def reset_password(staff_id):
    """Reset a password: cleared, account unlocked, a new invitation / 重置密码

    Sessions issued before the reset can no longer be renewed.
    """
    return service.reset_password(db(), auth.current(), staff_id, _account_settings())


@blp.get("/staff/<staff_id>/account")
@access(*STAFF_MEMBER_ROLES)
@blp.response(200, schemas.Account)
def account(staff_id):
    """A staff member's sign-in account: the member themself, their branch manager / 登录账号状态"""
    return service.account_status(db(), auth.current(), staff_id)


@blp.post("/accounts/activate")
@access(anonymous=True)
@rate_limited(ACTIVATE_LIMIT)
@blp.arguments(schemas.ActivationIn)
@blp.response(200, schemas.Activation)
@blp.alt_response(410, description="the invitation was used, withdrawn or has expired (errors.token)")
@blp.alt_response(422, description="unknown token (errors.token) or a password against the rules (errors.password)")
def activate(data):
    """Set a password with an invitation token (no token needed) / 激活账号并设置密码"""
    return service.activate_account(db(), data["token"], data["password"])


@blp.post("/auth/login")
@access(anonymous=True)
@rate_limited(SIGN_IN_LIMIT)
@blp.arguments(schemas.SignInIn)
@blp.response(200, schemas.Session)
@blp.alt_response(401, description="wrong employee number or password (one answer for both), or the "
                                   "staff member has left (code account_not_active)")
@blp.alt_response(423, description="locked after 10 failed sign-ins in a row; Retry-After, details.locked_until",
                  headers={"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}})
@blp.alt_response(429, description="3 or more failed sign-ins in a row: wait (Retry-After), or too many "
                                   "requests from this client",
                  headers={"Retry-After": {"description": "seconds", "schema": {"type": "integer"}}})
@blp.alt_response(503, description="RS256 tokens are configured but no private key to sign them")
def login(data):
    """Sign in with employee number and password: a session token (no token needed) / 员工登录"""
    try:
        return service.sign_in(db(), context().settings, _account_settings(), data["employee_number"],
                               data["password"])
    except model.SignInDeferred as deferred:
        _answer_retry_after(deferred.retry_after)
        raise


@blp.post("/auth/refresh")
@access(*STAFF_MEMBER_ROLES, "reader", "service")  # any token: one that is not a staff member's gets 401
@blp.response(200, schemas.Session)
@blp.alt_response(401, description="not a staff member's token, or the staff member left, is locked, or the "
                                   "password was reset since it was issued")
def refresh():
    """Renew a staff member's session token before it expires / 续期登录令牌"""
    return service.refresh_session(db(), context().settings, _account_settings(), auth.current(),
                                   _token_issued_at())


def _account_settings():
    return current_app.config["ACCOUNT_SETTINGS"]


def _answer_retry_after(seconds: int) -> None:
    @after_this_request
    def add_header(response):
        response.headers["Retry-After"] = str(seconds)
        return response


def _token_issued_at() -> int:
    """The ``iat`` of the request's bearer token. Its signature and expiry were checked before
    this view ran (``shared.auth.load_principal``); here only the claim is read."""
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    issued_at = jwt.decode(token, options={"verify_signature": False}).get("iat")
    if not isinstance(issued_at, int | float):
        raise Unauthorized("this token does not say when it was issued (iat)", "该令牌缺少签发时间",
                           code="token_without_issue_time")
    return int(issued_at)
