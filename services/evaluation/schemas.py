"""Request and response schemas of the evaluation API."""
from marshmallow import Schema, fields, validate

from services.evaluation.model import APPEAL_FILTERS, APPEAL_STATES, COMPONENTS, CYCLE_STATES, GRADES, RATER_TYPES
from shared.web import PageArgs, page_schema

_id = dict(validate=validate.Length(min=1, max=64))


class DimensionIn(Schema):
    code = fields.String(required=True, metadata={"description": "e.g. service_attitude (lower case, _)"})
    label_en = fields.String(required=True, validate=validate.Length(min=1, max=100))
    label_zh = fields.String(required=True, validate=validate.Length(min=1, max=100))
    weight = fields.Decimal(required=True, metadata={"description": "share of the score; the weights sum to 1"})


class Dimension(Schema):
    code = fields.String()
    label_en = fields.String()
    label_zh = fields.String()
    weight = fields.Float()


class RubricIn(Schema):
    dimensions = fields.List(fields.Nested(DimensionIn), required=True, validate=validate.Length(min=1, max=12))


class Rubric(Schema):
    id = fields.String()
    version = fields.Integer()
    scale_min = fields.Integer()
    scale_max = fields.Integer()
    dimensions = fields.List(fields.Nested(Dimension))
    created_at = fields.AwareDateTime()


class SettingsPatch(Schema):
    rater_weights = fields.Dict(keys=fields.String(), values=fields.Raw(),
                                metadata={"description": "reader, supervisor, peer, self: sum to 1"})
    peers_per_person = fields.Raw(metadata={"description": "peers assigned per person at opening (3-10)"})
    min_peer_answers = fields.Raw(metadata={"description": "peer answers needed for the peer component (≥ 3)"})
    reader = fields.Dict(metadata={"description": "min_ratings, praise_bonus, praise_bonus_cap, penalties"})
    grade_bands = fields.Dict(keys=fields.String(), values=fields.Raw(),
                              metadata={"description": "lowest score of excellent, good, satisfactory"})
    appeal_days = fields.Raw(metadata={"description": "days to appeal after publication"})
    timezone = fields.String(metadata={"description": "IANA zone of the period's days, e.g. Asia/Shanghai"})


class Settings(Schema):
    rater_weights = fields.Dict()
    peers_per_person = fields.Integer()
    min_peer_answers = fields.Integer()
    reader = fields.Dict()
    grade_bands = fields.Dict()
    appeal_days = fields.Integer()
    timezone = fields.String()
    version = fields.Integer()
    updated_at = fields.AwareDateTime(allow_none=True)


class CycleIn(Schema):
    period = fields.String(required=True, validate=validate.Length(min=1, max=20),
                           metadata={"description": "2026, 2026-Q4, 2026-H1, 2026-05, or any label with "
                                                    "period_start and period_end"})
    period_start = fields.Date(load_default=None, allow_none=True)
    period_end = fields.Date(load_default=None, allow_none=True)
    scope = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("network", "branches")),
                          metadata={"description": "default: network (network_admin), the own branch (branch "
                                                   "manager, who may create no other)"})
    branch_ids = fields.List(fields.String(**_id), load_default=list, validate=validate.Length(max=500))
    submission_deadline = fields.AwareDateTime(load_default=None, allow_none=True,
                                               metadata={"description": "default: 14 days after the period; "
                                                                        "must be ahead (else 422)"})
    rubric_id = fields.String(load_default=None, allow_none=True, metadata={"description": "default: latest"})
    rater_weights = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=None, allow_none=True,
                                metadata={"description": "override of the settings' rater weights"})
    peers_per_person = fields.Raw(load_default=None, allow_none=True)


class CyclePatch(Schema):
    """A draft: any of these (checked as at creation). An open cycle: only a later deadline."""

    period = fields.String(validate=validate.Length(min=1, max=20))
    period_start = fields.Date(allow_none=True)
    period_end = fields.Date(allow_none=True)
    scope = fields.String(validate=validate.OneOf(("network", "branches")))
    branch_ids = fields.List(fields.String(**_id), validate=validate.Length(max=500))
    submission_deadline = fields.AwareDateTime(allow_none=True, metadata={
        "description": "a draft: any moment ahead (null: the default); an open cycle: later than the current one"})
    rubric_id = fields.String(allow_none=True)
    rater_weights = fields.Dict(keys=fields.String(), values=fields.Raw(), allow_none=True)
    peers_per_person = fields.Raw(allow_none=True)


class Cycle(Schema):
    id = fields.String()
    period = fields.String()
    period_start = fields.Date()
    period_end = fields.Date()
    scope = fields.String()
    branch_ids = fields.List(fields.String())
    rubric_id = fields.String()
    rubric_version = fields.Integer()
    settings = fields.Dict()
    submission_deadline = fields.AwareDateTime()
    status = fields.String(metadata={"enum": list(CYCLE_STATES)})
    status_zh = fields.String(metadata={"description": "草稿 / 开放评价 / 已关闭 / 已公布"})
    owner_branch_id = fields.String(allow_none=True, metadata={
        "description": "the branch whose manager runs this cycle; null: run by the network office"})
    participants = fields.Integer()
    scored = fields.Integer()
    scores_digest = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    opened_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    published_at = fields.AwareDateTime(allow_none=True)


class CycleQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(CYCLE_STATES))


class BranchQuery(PageArgs):
    branch_id = fields.String(**_id)


class CsvQuery(Schema):
    branch_id = fields.String(**_id)


class Participant(Schema):
    staff_id = fields.String()
    name = fields.String(allow_none=True)
    branch_id = fields.String()
    role = fields.String()
    ratings_received = fields.Dict(keys=fields.String(), values=fields.Integer())


class PeersIn(Schema):
    peer_ids = fields.List(fields.String(**_id), required=True)


class PeerEntry(Schema):
    staff_id = fields.String()
    submitted = fields.Boolean()


class Peers(Schema):
    cycle_id = fields.String()
    staff_id = fields.String()
    peers = fields.List(fields.Nested(PeerEntry))


class EvaluationIn(Schema):
    staff_id = fields.String(required=True, **_id, metadata={"description": "the staff member rated"})
    rater_type = fields.String(required=True, validate=validate.OneOf(RATER_TYPES))
    scores = fields.Dict(keys=fields.String(), values=fields.Raw(), required=True,
                         metadata={"description": "dimension code → whole number 1-5, every dimension"})
    comments = fields.Dict(keys=fields.String(), values=fields.String(validate=validate.Length(max=2000)),
                           load_default=dict, metadata={"description": "dimension code → comment"})
    comment = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=4000))


class Submission(Schema):
    id = fields.String()
    cycle_id = fields.String()
    staff_id = fields.String()
    rater_type = fields.String()
    scores = fields.Dict(keys=fields.String(), values=fields.Integer())
    comments = fields.Dict(keys=fields.String(), values=fields.String())
    comment = fields.String(allow_none=True)
    submitted_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class AuditedSubmission(Submission):
    rater_id = fields.String(allow_none=True, metadata={"description": "null for peer ratings (anonymous)"})


class RatingQuery(PageArgs):
    staff_id = fields.String(**_id)


class Task(Schema):
    staff_id = fields.String()
    name = fields.String(allow_none=True)
    submitted = fields.Boolean()


class Assignments(Schema):
    cycle_id = fields.String()
    status = fields.String()
    submission_deadline = fields.AwareDateTime()
    self = fields.Dict()
    peers = fields.List(fields.Nested(Task))
    supervisor = fields.List(fields.Nested(Task))


class Component(Schema):
    used = fields.Boolean()
    answers = fields.Integer()
    value = fields.Float(allow_none=True, metadata={"description": "1-5 mean of this source"})
    weight = fields.Float(metadata={"description": "configured weight"})
    effective_weight = fields.Float(metadata={"description": "weight after spreading missing sources"})
    reason = fields.String(allow_none=True, metadata={"description": "why the source did not count"})


class Appeal(Schema):
    id = fields.String()
    evaluation_id = fields.String()
    cycle_id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    reason = fields.String()
    filed_at = fields.AwareDateTime()
    status = fields.String(metadata={"enum": list(APPEAL_STATES)})
    status_zh = fields.String(metadata={"description": "待处理 / 维持原结果 / 已改分"})
    decided_at = fields.AwareDateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_reason = fields.String(allow_none=True)
    previous_score = fields.Float(allow_none=True)
    previous_grade = fields.String(allow_none=True)
    new_score = fields.Float(allow_none=True)
    new_grade = fields.String(allow_none=True)
    revision = fields.Integer(allow_none=True)


class Result(Schema):
    id = fields.String(metadata={"description": "evaluation id"})
    cycle_id = fields.String()
    period = fields.String(allow_none=True)
    staff_id = fields.String()
    branch_id = fields.String()
    score = fields.Float(allow_none=True, metadata={"description": "0-100 (20 × the weighted 1-5 mean)"})
    grade = fields.String(allow_none=True, metadata={"enum": list(GRADES)})
    grade_zh = fields.String(allow_none=True)
    dimension_scores = fields.Dict(keys=fields.String(), values=fields.Float())
    components = fields.Dict(keys=fields.String(metadata={"enum": list(COMPONENTS)}), values=fields.Nested(Component))
    components_used = fields.List(fields.String())
    components_missing = fields.List(fields.String())
    reader_inputs = fields.Dict()
    rank_in_branch = fields.Integer(allow_none=True)
    branch_participants = fields.Integer(allow_none=True)
    percentile_in_branch = fields.Float(allow_none=True)
    revision = fields.Integer()
    status = fields.String()
    computed_at = fields.AwareDateTime()
    published_at = fields.AwareDateTime(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    appeals = fields.List(fields.Nested(Appeal))


class AppealIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=5, max=2000))


class AppealQuery(PageArgs):
    status = fields.String(validate=validate.OneOf(list(APPEAL_FILTERS)), metadata={
        "description": "pending, upheld, revised; or the incentive service's words: open (= pending), "
                       "decided (= upheld or revised)"})
    branch_id = fields.String(**_id, metadata={"description": "appeals of one branch's staff"})


class DecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(("uphold", "revise", "upheld", "revised")),
                             metadata={"description": "uphold or revise (upheld / revised are taken as the same)"})
    reason = fields.String(required=True, validate=validate.Length(min=5, max=2000))
    score = fields.Decimal(load_default=None, allow_none=True, validate=validate.Range(0, 100),
                           metadata={"description": "the revised 0-100 score (revise only)"})
    dimension_scores = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(1, 5)),
                                   load_default=None, allow_none=True)


class Summary(Schema):
    cycle_id = fields.String()
    period = fields.String()
    branch_id = fields.String()
    branch = fields.Dict()
    network = fields.Dict()


CyclePage = page_schema(Cycle, "CyclePage")
ParticipantPage = page_schema(Participant, "ParticipantPage")
ResultPage = page_schema(Result, "ResultPage")
AppealPage = page_schema(Appeal, "AppealPage")
RatingPage = page_schema(AuditedSubmission, "RatingPage")
