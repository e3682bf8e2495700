"""Training-requirement events, owned by the training service (topic ``lsq.requirement``, key = staff)."""
from shared.events import fields as f
from shared.events.registry import EventData, define

#: recurrent: the renewal of a mandatory course before its certificate expires; assigned: a course
#: required ad hoc of chosen staff, a branch or everyone.
REQUIREMENT_KINDS = ("onboarding", "regulation", "recurrent", "remedial", "assigned", "annual_hours", "area_hours")


class _Requirement(EventData):
    requirement_id = f.ref("this staff member's requirement (assignment)")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    kind = f.enum(REQUIREMENT_KINDS, "what is required")
    course_id = f.ref("the course required, if a course", required=False, allow_none=True)
    title = f.text("what is required, in words (English)", max_length=300)
    title_zh = f.text("what is required, in Chinese (a course's Chinese title); absent in events from before "
                      "it was sent", required=False, allow_none=True, max_length=300)
    due_on = f.day("deadline")


class RequirementAssigned(_Requirement):
    reason = f.text("why it was assigned (e.g. joined, low service-attitude score)", max_length=500)
    assigned_at = f.time("when")


class RequirementDueSoon(_Requirement):
    period = f.text("the period this reminder is for (e.g. 2026)", max_length=20)


class RequirementOverdue(_Requirement):
    period = f.text("the period this is overdue in (e.g. 2026)", max_length=20)
    overdue_since = f.day("first day it was overdue")


define("lsq.requirement.assigned.v1", RequirementAssigned, service="training", subject="requirement_id",
       description="Training was required of a staff member (onboarding, regulation, remedial ...).")
define("lsq.requirement.due_soon.v1", RequirementDueSoon, service="training", subject="requirement_id",
       description="A requirement falls due in 7 days (once per requirement and period).")
define("lsq.requirement.overdue.v1", RequirementOverdue, service="training", subject="requirement_id",
       description="A requirement is overdue (once per requirement and period).")
