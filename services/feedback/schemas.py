"""Request and response schemas of the feedback API.

The ones readers hit most (filing, praise, desk ratings, survey answers, tracking) derive from
``PlainSchema``: the same marshmallow definitions, with a short road for plainly valid bodies.
"""
from marshmallow import Schema, fields, validate, validates_schema, ValidationError

from services.feedback import model
from shared.plain_schema import PlainSchema
from shared.web import PageArgs, page_schema

_ref = dict(validate=validate.Length(min=1, max=64))
_opt_ref = dict(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))


def _text(max_length: int, required: bool = False, **kw):
    if required:
        return fields.String(required=True, validate=validate.Length(min=1, max=max_length), **kw)
    return fields.String(load_default=None, allow_none=True, validate=validate.Length(max=max_length), **kw)


# -- complaints ---------------------------------------------------------------------------------
class ContactIn(PlainSchema):
    name = _text(100)
    phone = fields.String(load_default=None, allow_none=True,
                          validate=[validate.Length(max=40), validate.Regexp(r"^[0-9+()\- ]*$")])
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ComplaintIn(PlainSchema):
    branch_id = fields.String(required=True, **_ref)
    service_point_id = fields.String(**_opt_ref)
    staff_id = fields.String(**_opt_ref)
    category = fields.String(required=True, validate=validate.OneOf(model.CATEGORIES),
                             metadata={"description": "attitude, waiting (waiting/efficiency), competence, "
                                                      "environment, policy (rules/policy), other"})
    severity = fields.String(load_default="normal", validate=validate.OneOf(model.SEVERITIES))
    channel = fields.String(load_default="web", validate=validate.OneOf(model.CHANNELS))
    description = fields.String(required=True, validate=validate.Length(min=1, max=model.DESCRIPTION_MAX))
    received_at = fields.AwareDateTime(
        load_default=None, allow_none=True,
        metadata={"description": "staff recording a complaint received earlier (phone, letter, desk): when the "
                                 "library received it; the SLA clocks start then. At most 30 days back; readers "
                                 "filing themselves leave it out / 代为登记时的受理时间"})
    contact = fields.Nested(ContactIn, load_default=None, allow_none=True,
                            metadata={"description": "optional; never shown to the staff member concerned, "
                                                     "never in events, purged after closure"})


class ComplaintTracking(PlainSchema):
    id = fields.String()
    status = fields.String()
    branch_id = fields.String()
    service_point_id = fields.String(allow_none=True)
    category = fields.String()
    severity = fields.String()
    channel = fields.String()
    filed_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    outcome = fields.String(allow_none=True)
    response = fields.String(allow_none=True)
    rating = fields.Integer(allow_none=True)
    rated_at = fields.AwareDateTime(allow_none=True)
    reopen_until = fields.AwareDateTime(allow_none=True)
    has_contact = fields.Boolean()
    acknowledge_due_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "the library acknowledges the complaint by then (RFC 3339) / 受理期限"})
    resolve_due_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "the library resolves it by then (RFC 3339); null while it waits on the reader's answer, "
                       "whose time does not count / 办结期限"})
    status_zh = fields.String(metadata={"description": "the status in Chinese / 状态"})
    category_zh = fields.String(metadata={"description": "the category in Chinese / 类别"})
    severity_zh = fields.String(metadata={"description": "the severity in Chinese / 严重程度"})
    channel_zh = fields.String(metadata={"description": "the channel in Chinese / 渠道"})
    outcome_zh = fields.String(allow_none=True, metadata={"description": "the outcome in Chinese / 处理结论"})


class ComplaintFiled(ComplaintTracking):
    tracking_code = fields.String(metadata={"description": "keep it: it opens this complaint without an account"})


class Contact(Schema):
    name = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    email = fields.String(allow_none=True)


class ContactQuery(Schema):
    purpose = fields.String(required=True, validate=validate.Length(min=3, max=200),
                            metadata={"description": "why the contact is read, recorded with the access"})


class ContactForService(Schema):
    complaint_id = fields.String()
    name = fields.String(allow_none=True)
    email = fields.String(allow_none=True)
    phone = fields.String(allow_none=True)
    language = fields.String(allow_none=True, metadata={"description": "null: the network's default, zh-CN"})


class Complaint(Schema):
    id = fields.String()
    branch_id = fields.String()
    service_point_id = fields.String(allow_none=True)
    staff_id = fields.String(allow_none=True)
    category = fields.String()
    severity = fields.String()
    channel = fields.String()
    description = fields.String()
    status = fields.String()
    handler_id = fields.String(allow_none=True)
    outcome = fields.String(allow_none=True)
    response = fields.String(allow_none=True)
    filed_at = fields.AwareDateTime()
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    resolved_at = fields.AwareDateTime(allow_none=True)
    closed_at = fields.AwareDateTime(allow_none=True)
    reopened_at = fields.AwareDateTime(allow_none=True)
    reopen_count = fields.Integer()
    acknowledge_due_at = fields.AwareDateTime(allow_none=True)
    acknowledge_at_risk_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "when 80 % of the acknowledgement target's time is used up"})
    resolve_due_at = fields.AwareDateTime(allow_none=True, metadata={"description": "null while waiting on the reader"})
    resolve_at_risk_at = fields.AwareDateTime(allow_none=True, metadata={
        "description": "when 80 % of the resolution target's time is used up (null while waiting on the reader)"})
    acknowledge_breached_at = fields.AwareDateTime(allow_none=True)
    resolve_breached_at = fields.AwareDateTime(allow_none=True)
    escalated_to = fields.String(allow_none=True)
    escalated_at = fields.AwareDateTime(allow_none=True)
    rating = fields.Integer(allow_none=True)
    rating_comment = fields.String(allow_none=True)
    rated_at = fields.AwareDateTime(allow_none=True)
    has_contact = fields.Boolean()
    contact = fields.Nested(Contact, allow_none=True)
    contact_erased_at = fields.AwareDateTime(allow_none=True)
    updated_at = fields.AwareDateTime()
    status_zh = fields.String(metadata={"description": "the status in Chinese / 状态"})
    category_zh = fields.String(metadata={"description": "the category in Chinese / 类别"})
    severity_zh = fields.String(metadata={"description": "the severity in Chinese / 严重程度"})
    channel_zh = fields.String(metadata={"description": "the channel in Chinese / 渠道"})
    outcome_zh = fields.String(allow_none=True, metadata={"description": "the outcome in Chinese / 处理结论"})


def _one_or_more(choices, what: str):
    """A query parameter that may be repeated (``?status=new&status=acknowledged``): any of them."""
    return fields.List(fields.String(validate=validate.OneOf(choices)), validate=validate.Length(max=len(choices)),
                       metadata={"description": f"{what}; repeat the parameter for several (any of them matches)"})


class ComplaintQuery(PageArgs):
    """The filters of the complaint list; all given filters must hold (AND), each within the
    caller's own scope (branch; staff: resolved complaints about themselves)."""

    status = _one_or_more(model.STATUSES, "new, acknowledged, investigating, waiting_on_reader, resolved, closed")
    branch_id = fields.String()
    staff_id = fields.String(metadata={"description": "the staff member the complaint is about"})
    category = _one_or_more(model.CATEGORIES, "attitude, waiting, competence, environment, policy, other")
    severity = _one_or_more(model.SEVERITIES, "low, normal, high, urgent")
    at_risk = fields.Boolean(metadata={"description": "true: a running SLA target (acknowledgement while new, "
                                                      "resolution while open and not waiting on the reader) has used "
                                                      "80 % of its time and is not yet due; false: none has"})
    breached = fields.Boolean(metadata={"description": "true: a target was missed (a breach was recorded, or a running "
                                                       "target is past its due time and the sweep has not recorded it "
                                                       "yet); false: none was"})
    escalated = fields.Boolean(metadata={"description": "true: escalated to the branch manager after a breach"})
    assigned_to = fields.String(validate=validate.Length(min=1, max=64),
                                metadata={"description": "the handler's staff id"})
    mine = fields.Boolean(metadata={"description": "true: handled by the caller (the token's staff id); "
                                                   "false: handled by someone else or by nobody yet"})
    filed_from = fields.Date(metadata={"description": "filed on or after this day: a local calendar day of the "
                                                      "network's zone (Asia/Shanghai)"})
    filed_to = fields.Date(metadata={"description": "filed on or before this day (included), a local calendar day "
                                                    "of the network's zone (Asia/Shanghai)"})

    @validates_schema
    def _consistent(self, data, **_):
        if data.get("filed_from") and data.get("filed_to") and data["filed_to"] < data["filed_from"]:
            raise ValidationError("'filed_to' is before 'filed_from'", field_name="filed_to")
        if data.get("mine") is not None and data.get("assigned_to"):
            raise ValidationError("give either 'mine' or 'assigned_to'", field_name="mine")


class NoteIn(Schema):
    note = _text(2000)


class AcknowledgeIn(NoteIn):
    handler_id = fields.String(**_opt_ref)


class AssignIn(NoteIn):
    handler_id = fields.String(required=True, **_ref)


class ResolveIn(Schema):
    outcome = fields.String(required=True, validate=validate.OneOf(model.OUTCOMES))
    response = fields.String(required=True, validate=validate.Length(min=1, max=model.RESPONSE_MAX),
                             metadata={"description": "the answer given to the reader"})


class ReopenIn(PlainSchema):
    note = _text(2000, metadata={"description": "why the reader reopens it"})


class RatingOfResolutionIn(PlainSchema):
    rating = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    comment = _text(2000)


class HistoryEntry(Schema):
    at = fields.AwareDateTime()
    action = fields.String()
    actor_role = fields.String(allow_none=True)
    actor_id = fields.String(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)


# -- settings -----------------------------------------------------------------------------------
class SlaTargetSchema(Schema):
    severity = fields.String(required=True, validate=validate.OneOf(model.SEVERITIES))
    acknowledge_hours = fields.Float(required=True, validate=validate.Range(min=0.25, max=24 * 60))
    resolve_hours = fields.Float(required=True, validate=validate.Range(min=0.25, max=24 * 365))
    business_hours = fields.Boolean(load_default=False,
                                    metadata={"description": "count only the branch's opening hours"})


class BranchSlaTarget(SlaTargetSchema):
    branch_id = fields.String()
    source = fields.String(metadata={"description": "branch: the branch's own target; network: the network's, "
                                                    "which the branch follows for this severity"})
    severity_zh = fields.Function(lambda t: model.label_zh("severity", t["severity"]),
                                  metadata={"description": "the severity in Chinese / 严重程度", "type": "string"})


class BranchSlaReset(Schema):
    severity = fields.String(validate=validate.OneOf(model.SEVERITIES),
                             metadata={"description": "only this severity follows the network again; "
                                                      "without it, all of them"})


class OpeningHoursIn(Schema):
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.Length(min=1, max=64))
    week = fields.Dict(keys=fields.String(), values=fields.List(fields.List(fields.String())), required=True,
                       metadata={"description": 'e.g. {"mon": [["09:00", "12:00"], ["13:00", "21:00"]], "sun": []}'})
    closed_dates = fields.List(fields.String(), load_default=list, metadata={"description": "YYYY-MM-DD"})


class OpeningHours(OpeningHoursIn):
    branch_id = fields.String()
    always_open = fields.Boolean()


# -- praise and ratings -------------------------------------------------------------------------
class PraiseIn(PlainSchema):
    branch_id = fields.String(required=True, **_ref)
    staff_id = fields.String(**_opt_ref)
    service_point_id = fields.String(**_opt_ref)
    message = _text(model.MESSAGE_MAX)


class Praise(PlainSchema):
    id = fields.String()
    branch_id = fields.String()
    staff_id = fields.String(allow_none=True)
    service_point_id = fields.String(allow_none=True)
    message = fields.String(allow_none=True)
    status = fields.String()
    received_at = fields.AwareDateTime()
    rejected_at = fields.AwareDateTime(allow_none=True)
    reject_reason = fields.String(allow_none=True)
    status_zh = fields.Function(lambda p: model.label_zh("praise_status", p["status"]),
                                metadata={"description": "有效 / 已驳回", "type": "string"})
    reject_reason_zh = fields.Function(lambda p: model.label_zh("reject_reason", p["reject_reason"]),
                                       allow_none=True, metadata={"description": "驳回原因", "type": "string"})


class PraiseQuery(PageArgs):
    branch_id = fields.String()
    staff_id = fields.String()
    status = fields.String(validate=validate.OneOf(("received", "rejected")))


class RejectIn(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(model.PRAISE_REJECT_REASONS))
    note = _text(2000)


class RatingIn(PlainSchema):
    service_point_id = fields.String(required=True, **_ref)
    branch_id = fields.String(**_opt_ref, metadata={"description": "defaults to the service point's branch"})
    staff_id = fields.String(**_opt_ref)
    stars = fields.Integer(required=True, validate=validate.Range(min=1, max=5))
    wait_minutes = fields.Integer(load_default=None, allow_none=True,
                                  validate=validate.Range(min=0, max=model.MAX_WAIT_MINUTES))
    comment = _text(model.MESSAGE_MAX)


class Rating(PlainSchema):
    id = fields.String()
    branch_id = fields.String()
    service_point_id = fields.String()
    staff_id = fields.String(allow_none=True)
    stars = fields.Integer()
    wait_minutes = fields.Integer(allow_none=True)
    submitted_at = fields.AwareDateTime()


class RatingSummaryQuery(Schema):
    group_by = fields.String(load_default="service_point", validate=validate.OneOf(("service_point", "branch", "staff")))
    branch_id = fields.String()
    service_point_id = fields.String()
    staff_id = fields.String()
    from_date = fields.Date(data_key="from", metadata={
        "description": "first day, included: a local calendar day of the network's zone (Asia/Shanghai)"})
    to_date = fields.Date(data_key="to", metadata={
        "description": "last day, included: a local calendar day of the network's zone (Asia/Shanghai)"})

    @validates_schema
    def _period(self, data, **_):
        if data.get("from_date") and data.get("to_date") and data["to_date"] < data["from_date"]:
            raise ValidationError("'to' is before 'from'", field_name="to")


class RatingSummaryRow(Schema):
    group_by = fields.String()
    key = fields.String(allow_none=True)
    n = fields.Integer()
    mean_stars = fields.Float()
    mean_wait_minutes = fields.Float(allow_none=True)
    n_wait = fields.Integer()
    stars = fields.Dict(keys=fields.String(), values=fields.Integer())


# -- surveys ------------------------------------------------------------------------------------
class OptionSchema(Schema):
    value = fields.String(required=True, validate=[validate.Length(min=1, max=50), validate.Regexp(r"^[a-z0-9_]+$")])
    label_zh = fields.String(required=True, validate=validate.Length(min=1, max=200))
    label_en = fields.String(required=True, validate=validate.Length(min=1, max=200))


class ItemSchema(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=50),
                                                  validate.Regexp(r"^[A-Za-z0-9_]+$")])
    type = fields.String(required=True, validate=validate.OneOf(model.ITEM_TYPES))
    dimension = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(model.DIMENSIONS))
    text_zh = fields.String(required=True, validate=validate.Length(min=1, max=500))
    text_en = fields.String(required=True, validate=validate.Length(min=1, max=500))
    required = fields.Boolean(load_default=False)
    user_group = fields.Boolean(load_default=False)
    options = fields.List(fields.Nested(OptionSchema), load_default=list)


class InstrumentIn(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=50), validate.Regexp(r"^[a-z0-9_-]+$")])
    title_zh = fields.String(required=True, validate=validate.Length(min=1, max=200))
    title_en = fields.String(required=True, validate=validate.Length(min=1, max=200))
    items = fields.List(fields.Nested(ItemSchema), required=True, validate=validate.Length(min=1, max=200))


class Instrument(InstrumentIn):
    id = fields.String()
    version = fields.Integer()
    created_at = fields.AwareDateTime()


class SurveyIn(Schema):
    instrument_id = fields.String(load_default=None, allow_none=True)
    instrument_code = fields.String(load_default=None, allow_none=True,
                                    metadata={"description": "latest version of this instrument (default lsq-core)"})
    title_zh = _text(200)
    title_en = _text(200)
    branch_ids = fields.List(fields.String(**_ref), required=True, validate=validate.Length(min=1, max=500))
    opens_at = fields.AwareDateTime(required=True)
    closes_at = fields.AwareDateTime(required=True)
    open_link = fields.Boolean(load_default=True, metadata={"description": "false: invitation tokens only"})


class Survey(Schema):
    id = fields.String()
    instrument_id = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    branch_ids = fields.List(fields.String())
    opens_at = fields.AwareDateTime()
    closes_at = fields.AwareDateTime()
    open_link = fields.Boolean()
    closed_at = fields.AwareDateTime(allow_none=True)
    created_at = fields.AwareDateTime()
    state = fields.String()


class SurveyForm(Schema):
    id = fields.String()
    title_zh = fields.String()
    title_en = fields.String()
    branch_ids = fields.List(fields.String())
    state = fields.String()
    open_link = fields.Boolean()
    closes_at = fields.AwareDateTime()
    instrument = fields.Nested(Instrument)


class InvitationsIn(Schema):
    count = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))
    branch_id = fields.String(**_opt_ref)


class Invitations(Schema):
    survey_id = fields.String()
    branch_id = fields.String(allow_none=True)
    tokens = fields.List(fields.String())


class ResponseIn(PlainSchema):
    branch_id = fields.String(**_opt_ref)
    token = fields.String(load_default=None, allow_none=True, validate=validate.Length(min=1, max=64))
    answers = fields.Dict(keys=fields.String(), values=fields.Raw(allow_none=True), required=True,
                          metadata={"description": 'item code → answer: triad {"minimum": 5, "desired": 8, '
                                                   '"perceived": 7} or {"na": true}; Likert 1-5; NPS 0-10; '
                                                   'choice "value"; multiple choice ["a", "b"]; text'})


class ResponseOut(PlainSchema):
    response_id = fields.String()
    survey_id = fields.String()
    branch_id = fields.String()
    submitted_at = fields.AwareDateTime()


class SurveyResults(Schema):
    survey_id = fields.String()
    state = fields.String()
    instrument = fields.Dict()
    responses = fields.Integer(allow_none=True)
    min_group_size = fields.Integer()
    groups = fields.List(fields.Dict())
    dimensions = fields.List(fields.Dict())
    items = fields.List(fields.Dict())
    choices = fields.List(fields.Dict())


# -- forums -------------------------------------------------------------------------------------
class SuggestionIn(Schema):
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    owner_id = fields.String(**_opt_ref)
    due_on = fields.Date(load_default=None, allow_none=True)


class SuggestionPatch(Schema):
    status = fields.String(validate=validate.OneOf(model.SUGGESTION_STATUSES[1:]))
    owner_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))
    due_on = fields.Date(allow_none=True)
    outcome_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True, validate=validate.Length(max=4000))


class Suggestion(Schema):
    id = fields.String()
    forum_id = fields.String()
    branch_id = fields.String()
    text = fields.String()
    status = fields.String()
    owner_id = fields.String(allow_none=True)
    due_on = fields.Date(allow_none=True)
    outcome_on = fields.Date(allow_none=True)
    note = fields.String(allow_none=True)
    updated_at = fields.AwareDateTime()
    status_zh = fields.Function(lambda x: model.label_zh("suggestion_status", x["status"]),
                                metadata={"description": "已提出 / 已采纳 / 落实中 / 已落实 / 未采纳", "type": "string"})


class ForumIn(Schema):
    branch_id = fields.String(required=True, **_ref)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    held_on = fields.Date(required=True)
    attendance = fields.Integer(required=True, validate=validate.Range(min=0, max=100000))
    minutes = _text(50000)
    suggestions = fields.List(fields.Nested(SuggestionIn), load_default=list, validate=validate.Length(max=200))


class Forum(Schema):
    id = fields.String()
    branch_id = fields.String()
    title = fields.String()
    held_on = fields.Date()
    attendance = fields.Integer()
    minutes = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    suggestions = fields.List(fields.Nested(Suggestion))


class ForumQuery(PageArgs):
    branch_id = fields.String()


ComplaintPage = page_schema(Complaint, "ComplaintPage")
PraisePage = page_schema(Praise, "PraisePage")
InstrumentPage = page_schema(Instrument, "InstrumentPage")
SurveyPage = page_schema(Survey, "SurveyPage")
ForumPage = page_schema(Forum, "ForumPage")
