"""Complaint events, owned by the feedback service (topic ``lsq.complaint``).

Key = the staff member the event concerns, else the complaint id: the staff member complained
about, but for the SLA events the handler (who answers for the SLA and receives its notice). So
every event that can change one person's standing lands on one partition, and one incentive
worker decides it. No reader contact details ever appear here: a reader is at most a pseudonymous
``reader_ref``.
"""
from shared.events import fields as f
from shared.events.registry import EventData, define

CATEGORIES = ("attitude", "waiting", "competence", "environment", "policy", "other")
SEVERITIES = ("low", "normal", "high", "urgent")
CHANNELS = ("desk", "phone", "web", "email", "wechat", "forum")
OUTCOMES = ("substantiated", "partially_substantiated", "unsubstantiated", "withdrawn")
SLA_TARGETS = ("acknowledge", "resolve")


class _ComplaintRef(EventData):
    complaint_id = f.ref("the complaint")
    branch_id = f.ref("branch the complaint is about")
    staff_id = f.ref("staff member complained about, if named", required=False, allow_none=True)
    service_point_id = f.ref("service point concerned, if any", required=False, allow_none=True)


class ComplaintFiled(_ComplaintRef):
    category = f.enum(CATEGORIES, "what the complaint is about (waiting = waiting/efficiency)")
    severity = f.enum(SEVERITIES, "severity as assessed at filing")
    channel = f.enum(CHANNELS, "how the complaint came in")
    filed_at = f.time("when it was filed")
    acknowledge_due_at = f.time("SLA target for acknowledgement")
    resolve_due_at = f.time("SLA target for resolution")
    reader_ref = f.text("pseudonymous reader reference, if any", required=False, allow_none=True, max_length=64)


class ComplaintAcknowledged(_ComplaintRef):
    acknowledged_at = f.time("when it was acknowledged")
    handler_id = f.ref("staff member handling it", required=False, allow_none=True)


class ComplaintResolved(_ComplaintRef):
    category = f.enum(CATEGORIES, "category")
    severity = f.enum(SEVERITIES, "severity")
    outcome = f.enum(OUTCOMES, "finding of the investigation")
    filed_at = f.time("when it was filed")
    resolved_at = f.time("when it was resolved")
    handler_id = f.ref("staff member who resolved it", required=False, allow_none=True)


class ComplaintReopened(_ComplaintRef):
    reopened_at = f.time("when the reader reopened it")


class ComplaintSla(_ComplaintRef):
    target = f.enum(SLA_TARGETS, "which SLA target")
    severity = f.enum(SEVERITIES, "severity")
    due_at = f.time("the target time")
    handler_id = f.ref("staff member handling it (who is answerable for the SLA)", required=False,
                       allow_none=True)


class ComplaintSlaBreached(ComplaintSla):
    breached_at = f.time("when the target passed")
    escalated_to_staff_id = f.ref("branch manager the breach was escalated to, if one is known",
                                  required=False, allow_none=True)


CLOSED_BY = ("system", "staff")


class ComplaintClosed(_ComplaintRef):
    outcome = f.enum(OUTCOMES, "the finding it was closed with")
    resolved_at = f.time("when it was resolved")
    closed_at = f.time("when it was closed")
    closed_by = f.enum(CLOSED_BY, "system: the reopening window passed; staff: closed by the branch")
    handler_id = f.ref("staff member who handled it", required=False, allow_none=True)


class ComplaintWaitingOnReader(_ComplaintRef):
    waiting_since = f.time("when the handler asked the reader and the resolution clock paused")
    handler_id = f.ref("staff member handling it", required=False, allow_none=True)


class ComplaintRated(_ComplaintRef):
    rating = f.integer("reader's rating of the resolution, 1-5")
    rated_at = f.time("when it was rated")


define("lsq.complaint.filed.v1", ComplaintFiled, service="feedback", subject="complaint_id",
       description="A reader filed a complaint.")
define("lsq.complaint.acknowledged.v1", ComplaintAcknowledged, service="feedback", subject="complaint_id",
       description="The library acknowledged a complaint.")
define("lsq.complaint.resolved.v1", ComplaintResolved, service="feedback", subject="complaint_id",
       description="A complaint was resolved with an outcome.")
define("lsq.complaint.reopened.v1", ComplaintReopened, service="feedback", subject="complaint_id",
       description="The reader reopened a resolved complaint.")
define("lsq.complaint.sla_at_risk.v1", ComplaintSla, service="feedback", subject="complaint_id", key="handler_id",
       description="80% of an SLA target's time is used up.")
define("lsq.complaint.sla_breached.v1", ComplaintSlaBreached, service="feedback", subject="complaint_id",
       key="handler_id", description="An SLA target passed (once per target and complaint).")
define("lsq.complaint.closed.v1", ComplaintClosed, service="feedback", subject="complaint_id",
       description="A resolved complaint was closed: by staff, or by the system once the reader's 14 days "
                   "to reopen it passed. A reopening before that is lsq.complaint.reopened.v1.")
define("lsq.complaint.waiting_on_reader.v1", ComplaintWaitingOnReader, service="feedback", subject="complaint_id",
       description="The complaint waits for the reader's answer (its resolution clock is paused until it moves on).")
define("lsq.complaint.rated.v1", ComplaintRated, service="feedback", subject="complaint_id",
       description="The reader rated how the complaint was resolved.")
