"""Evaluation-score events, owned by the evaluation service (topic ``lsq.evaluation``, key = staff).

Peer raters never appear in these events: only the components that counted.
"""
from marshmallow import fields, validate

from shared.events import fields as f
from shared.events.registry import EventData, define

GRADES = ("excellent", "good", "satisfactory", "unsatisfactory")
COMPONENTS = ("reader", "supervisor", "peer", "self")


class EvaluationScored(EventData):
    evaluation_id = f.ref("the evaluation result (one per cycle and staff member)")
    cycle_id = f.ref("the cycle")
    staff_id = f.ref("the staff member evaluated")
    branch_id = f.ref("their branch in the cycle")
    period = f.text("period label, e.g. 2026-Q4", max_length=20)
    score = f.number("0-100")
    grade = f.enum(GRADES, "grade band")
    dimension_scores = fields.Dict(keys=fields.String(), values=fields.Float(), required=True,
                                   metadata={"description": "rubric dimension code → score on the 1-5 scale"})
    components_used = fields.List(fields.String(validate=validate.OneOf(COMPONENTS)), required=True,
                                  metadata={"description": "rater sources that counted"})
    components_missing = fields.List(fields.String(validate=validate.OneOf(COMPONENTS)), required=True,
                                     metadata={"description": "rater sources whose weight was spread over the others"})
    revision = f.integer("0 for the first result, then 1, 2 ... after appeals")
    published_at = f.time("when the result was published")
    rank_in_branch = f.integer("1 = best score of the branch in this cycle (ties share a rank)",
                               required=False, allow_none=True)
    branch_participants = f.integer("staff of the branch scored in this cycle", required=False, allow_none=True)
    percentile_in_branch = f.number("0-100: 100 = best of the branch, 0 = lowest", required=False,
                                    allow_none=True)
    rubric_version = f.integer("rubric version the scores are on", required=False, allow_none=True)


class EvaluationRescored(EvaluationScored):
    previous_score = f.number("score before the revision")
    previous_grade = f.enum(GRADES, "grade before the revision")
    appeal_id = f.ref("the appeal that led to the revision", required=False, allow_none=True)


define("lsq.evaluation.scored.v1", EvaluationScored, service="evaluation", subject="evaluation_id",
       description="A staff member's evaluation result was published; caused_by cites the cycle's "
                   "lsq.cycle.closed.v1, which computed it.")
define("lsq.evaluation.rescored.v1", EvaluationRescored, service="evaluation", subject="evaluation_id",
       description="An appeal revised a published evaluation result; caused_by cites the event of the "
                   "result it replaces (lsq.evaluation.scored.v1 or the previous rescored).")
