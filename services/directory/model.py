"""Directory domain rules: branches, service points, staff. Plain Python, no I/O."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.errors import Conflict, Forbidden, Invalid

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


def check_may_manage(actor_role: str, actor_branch: str | None, branch_id: str, role: str | None = None) -> None:
    """network_admin changes anything; a branch_manager only staff of their branch, non-network roles."""
    if actor_role == "network_admin":
        return
    if actor_role != "branch_manager":
        raise Forbidden(f"role {actor_role} may not change the directory", f"角色 {actor_role} 无权修改人员目录")
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
    """PATCH may change name, role, email and on-leave status; branch and leaving have their own verbs.

    Returns only the fields that really change.
    """
    if staff.status == "left":
        raise Conflict("staff member has left the network", "该员工已离职", code="staff_left")
    if "branch_id" in changes:
        raise Invalid("use POST /staff/{id}/transfer to change branch", "调动分馆请使用调动接口", field="branch_id")
    if changes.get("status") == "left":
        raise Invalid("use POST /staff/{id}/leave to record leaving", "离职请使用离职接口", field="status")
    return {k: v for k, v in changes.items() if getattr(staff, k, None) != v}
