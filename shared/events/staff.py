"""Staff events, owned by the directory service (topic ``lsq.staff``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define

STAFF_ROLES = ("staff", "supervisor", "branch_manager", "network_admin", "auditor")
#: Professional titles (职称), from the first grade up; the directory and training both name them.
PROFESSIONAL_TITLES = ("junior", "intermediate", "associate_senior", "senior")
PROFESSIONAL_TITLE_LABELS = {"junior": ("junior", "初级"), "intermediate": ("intermediate", "中级"),
                             "associate_senior": ("associate senior", "副高级"), "senior": ("senior", "正高级")}


class StaffJoined(EventData):
    staff_id = f.ref("the staff member")
    employee_number = f.text("the network's employee number", max_length=32)
    name = f.text("display name", max_length=100)
    role = f.enum(STAFF_ROLES, "role in the network")
    branch_id = f.ref("home branch")
    hire_date = f.day("first working day")
    title = f.enum(PROFESSIONAL_TITLES, "professional title (职称: junior 初级, intermediate 中级, associate_senior "
                   "副高级, senior 正高级); null: none recorded. Absent in events from before it was recorded",
                   required=False, allow_none=True)


class StaffTransferred(EventData):
    staff_id = f.ref("the staff member")
    from_branch_id = f.ref("branch left")
    to_branch_id = f.ref("branch joined")
    effective_date = f.day("first day at the new branch")


class StaffLeft(EventData):
    staff_id = f.ref("the staff member")
    branch_id = f.ref("branch at leaving")
    left_on = f.day("last working day")
    reason = f.enum(("resigned", "retired", "dismissed", "contract_ended", "other"), "why")


class StaffUpdated(EventData):
    staff_id = f.ref("the staff member")
    branch_id = f.ref("current branch")
    role = f.enum(STAFF_ROLES, "role after the change")
    name = f.text("display name after the change", max_length=100)
    status = f.enum(("active", "on_leave", "left"), "status after the change")
    title = f.enum(PROFESSIONAL_TITLES, "professional title after the change (职称); null: none recorded. "
                   "Absent in events from before it was recorded: then it did not change",
                   required=False, allow_none=True)


define("lsq.staff.joined.v1", StaffJoined, service="directory", subject="staff_id",
       description="A staff member joined the network (or was registered in it).")
define("lsq.staff.transferred.v1", StaffTransferred, service="directory", subject="staff_id",
       description="A staff member moved to another branch.")
define("lsq.staff.left.v1", StaffLeft, service="directory", subject="staff_id",
       description="A staff member left the network.")
define("lsq.staff.updated.v1", StaffUpdated, service="directory", subject="staff_id",
       description="A staff member's role, name or status changed.")
