"""Directory HTTP API: parse, call a use case, respond."""
from flask_smorest import Blueprint

from services.directory import schemas, service
from shared import auth
from shared.auth import access
from shared.errors import Forbidden
from shared.web import PageArgs, db, page

blp = Blueprint("directory", __name__, url_prefix="/", description="Branches, service points and staff")
READERS = ("branch_manager", "supervisor", "staff", "auditor", "service")


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
