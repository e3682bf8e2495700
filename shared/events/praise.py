"""Praise events, owned by the feedback service (topic ``lsq.praise``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define


class PraiseReceived(EventData):
    praise_id = f.ref("the praise")
    branch_id = f.ref("branch")
    staff_id = f.ref("staff member praised, if any", required=False, allow_none=True)
    service_point_id = f.ref("service point praised, if any", required=False, allow_none=True)
    received_at = f.time("when it was received")


class PraiseRejected(EventData):
    praise_id = f.ref("the praise")
    branch_id = f.ref("branch")
    staff_id = f.ref("staff member it named, if any", required=False, allow_none=True)
    reason = f.enum(("spam", "abuse", "duplicate", "other"), "why it was rejected")
    rejected_at = f.time("when it was rejected")


define("lsq.praise.received.v1", PraiseReceived, service="feedback", subject="praise_id",
       description="A reader praised a staff member or a service point.")
define("lsq.praise.rejected.v1", PraiseRejected, service="feedback", subject="praise_id",
       description="A supervisor rejected praise as spam or abuse; consumers must undo its effect.")
