"""Evaluation-cycle events, owned by the evaluation service (topic ``lsq.cycle``, key = cycle)."""
from marshmallow import fields

from shared.events import fields as f
from shared.events.registry import EventData, define


class CycleOpened(EventData):
    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    period_start = f.day("first day of the period")
    period_end = f.day("last day of the period")
    branch_ids = fields.List(fields.String(), required=True,
                             metadata={"description": "branches in scope (all of them for a network cycle)"})
    participants = f.integer("number of staff evaluated")
    submission_deadline = f.time("last moment for self, peer and supervisor ratings")
    opened_at = f.time("when it opened")
    rubric_version = f.integer("version of the rubric the cycle uses", required=False, allow_none=True)
    owner_branch_id = f.ref("the branch whose manager runs this branch-level cycle; null for the network "
                            "office's cycles", required=False, allow_none=True)


class CycleClosed(EventData):
    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    branch_ids = fields.List(fields.String(), required=True, metadata={"description": "branches in scope"})
    participants = f.integer("number of staff evaluated")
    scored = f.integer("participants who got a score (the others had no usable rating at all)")
    closed_at = f.time("when it closed; feedback arriving later does not change its scores")
    scores_digest = f.text("SHA-256 of the canonical scores: equal inputs give an equal digest",
                           max_length=64)


class CyclePublished(EventData):
    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    branch_ids = fields.List(fields.String(), required=True, metadata={"description": "branches in scope"})
    results = f.integer("number of results published (one lsq.evaluation.scored.v1 each)")
    published_at = f.time("when the results were published")


class CycleExtended(EventData):
    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    branch_ids = fields.List(fields.String(), required=True, metadata={"description": "branches in scope"})
    previous_deadline = f.time("the deadline before the extension")
    submission_deadline = f.time("the new, later deadline for self, peer and supervisor ratings")
    extended_at = f.time("when the deadline was extended")
    extended_by = f.text("who extended it (staff id or subject)", max_length=64, required=False, allow_none=True)


define("lsq.cycle.opened.v1", CycleOpened, service="evaluation", subject="cycle_id", key=None,
       description="An evaluation cycle opened: participants and peers are fixed.")
define("lsq.cycle.closed.v1", CycleClosed, service="evaluation", subject="cycle_id", key=None,
       description="An evaluation cycle closed: ratings are final and scores computed (not yet visible).")
define("lsq.cycle.published.v1", CyclePublished, service="evaluation", subject="cycle_id", key=None,
       description="An evaluation cycle's results were published to the staff evaluated.")
define("lsq.cycle.extended.v1", CycleExtended, service="evaluation", subject="cycle_id", key=None,
       description="An open evaluation cycle's submission deadline was moved later.")


class CyclePeerRatingsRequested(EventData):
    """One per rater: how many colleagues they are asked to rate. Whom they rate is not sent: peer
    ratings are anonymous to the person rated and every service reads this topic, so the ring stays
    in the evaluation service (the rater sees the names in the portal)."""

    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    staff_id = f.ref("the rater: the staff member asked for peer ratings")
    branch_id = f.ref("the rater's branch in the cycle")
    peers_to_rate = f.integer("how many colleagues they are asked to rate")
    submission_deadline = f.time("last moment for the ratings")
    requested_at = f.time("when they were asked (the cycle opened, or an organiser changed the peers)")


class CycleDeadlineApproaching(EventData):
    """One per cycle and rater who still has ratings to give, a few days before the deadline."""

    cycle_id = f.ref("the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    staff_id = f.ref("the rater who has not finished")
    branch_id = f.ref("the rater's branch in the cycle")
    submission_deadline = f.time("last moment for self, peer and supervisor ratings")
    self_pending = fields.Boolean(required=True, metadata={"description": "their self-rating is still missing"})
    peers_pending = f.integer("peer ratings still missing")
    supervisor_pending = f.integer("supervisor ratings of their branch still missing (supervisors only)")
    reminded_at = f.time("when the reminder was decided")


define("lsq.cycle.peer_ratings_requested.v1", CyclePeerRatingsRequested, service="evaluation",
       subject="cycle_id", key="staff_id",
       description="A staff member is asked to rate colleagues as a peer in an open cycle (one event per rater, "
                   "with how many; never whom).")
define("lsq.cycle.deadline_approaching.v1", CycleDeadlineApproaching, service="evaluation", subject="cycle_id",
       key="staff_id",
       description="A cycle's submission deadline is a few days away and this rater has ratings to give "
                   "(once per cycle and rater).")
