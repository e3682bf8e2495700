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


define("lsq.cycle.opened.v1", CycleOpened, service="evaluation", subject="cycle_id", key=None,
       description="An evaluation cycle opened: participants and peers are fixed.")
