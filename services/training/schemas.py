"""Request and response schemas of the training API."""
from marshmallow import Schema, fields, validate

from services.training.model import (COMPETENCY_AREAS, COURSE_REQUIREMENT_KINDS, DELIVERY_MODES, ENROLMENT_STATUSES, EXTERNAL_KINDS,
                                     EXTERNAL_STATUSES, REMEDIAL_DIMENSIONS, REQUIREMENT_KINDS,
                                     PROFESSIONAL_TITLES, REQUIREMENT_STATUSES, label_zh)
from shared.web import PageArgs, page_schema

_title = dict(required=True, validate=validate.Length(min=1, max=200))
_hours = dict(validate=validate.Range(min=0, min_inclusive=False, max=1000),
              metadata={"description": "hours, above 0"})


# -- courses ---------------------------------------------------------------------------------------
class CourseIn(Schema):
    code = fields.String(required=True, validate=[validate.Length(min=1, max=32),
                                                 validate.Regexp(r"^[A-Za-z0-9_-]+$")],
                         metadata={"description": "short code, e.g. IR-201"})
    title_zh = fields.String(**_title, metadata={"description": "title in Chinese"})
    title_en = fields.String(**_title, metadata={"description": "title in English"})
    description_zh = fields.String(allow_none=True, validate=validate.Length(max=4000))
    description_en = fields.String(allow_none=True, validate=validate.Length(max=4000))
    competency_area = fields.String(required=True, validate=validate.OneOf(COMPETENCY_AREAS))
    hours = fields.Float(required=True, **_hours)
    mandatory = fields.Boolean(load_default=False)
    delivery = fields.String(required=True, validate=validate.OneOf(DELIVERY_MODES))
    validity_months = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=120),
                                     metadata={"description": "for recurrent courses: months a completion stays valid"})
    pass_mark = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100),
                             metadata={"description": "assessment score (0-100) needed to pass, if any"})
    remedial_for = fields.String(allow_none=True, validate=validate.OneOf(REMEDIAL_DIMENSIONS),
                                 metadata={"description": "evaluation dimension whose low score assigns this course"})


class CoursePatch(Schema):
    title_zh = fields.String(validate=validate.Length(min=1, max=200))
    title_en = fields.String(validate=validate.Length(min=1, max=200))
    description_zh = fields.String(allow_none=True, validate=validate.Length(max=4000))
    description_en = fields.String(allow_none=True, validate=validate.Length(max=4000))
    competency_area = fields.String(validate=validate.OneOf(COMPETENCY_AREAS))
    hours = fields.Float(**_hours)
    mandatory = fields.Boolean()
    delivery = fields.String(validate=validate.OneOf(DELIVERY_MODES))
    validity_months = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=120))
    pass_mark = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100))
    remedial_for = fields.String(allow_none=True, validate=validate.OneOf(REMEDIAL_DIMENSIONS))
    active = fields.Boolean()


class Course(CourseIn):
    id = fields.String()
    is_regulation = fields.Boolean()
    version = fields.Integer()
    version_notes = fields.String(allow_none=True)
    version_published_on = fields.Date(allow_none=True)
    active = fields.Boolean()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class CourseQuery(PageArgs):
    competency_area = fields.String(validate=validate.OneOf(COMPETENCY_AREAS))
    mandatory = fields.Boolean()
    delivery = fields.String(validate=validate.OneOf(DELIVERY_MODES))
    active = fields.Boolean()


class VersionIn(Schema):
    notes = fields.String(allow_none=True, validate=validate.Length(max=500))
    assign_to_all = fields.Boolean(allow_none=True, metadata={
        "description": "require the new version of every active staff member (default: only for the "
                       "regulation course)"})
    due_in_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=365))


class PublishedVersion(Course):
    assigned = fields.Integer(metadata={"description": "requirements created"})


class AssignIn(Schema):
    staff_ids = fields.List(fields.String(validate=validate.Length(min=1, max=64)),
                            validate=validate.Length(min=1, max=1000))
    branch_id = fields.String(validate=validate.Length(min=1, max=64))
    all_staff = fields.Boolean(load_default=False)
    due_on = fields.Date(allow_none=True)
    due_in_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=365))
    existing_obligation = fields.Boolean(load_default=False, metadata={
        "description": "recording a requirement that existed before LSQ (taking over paper records): "
                       "due_on may then be up to a year in the past, and the next sweep reports it overdue"})
    reason = fields.String(required=True, validate=validate.Length(min=1, max=400))
    reason_zh = fields.String(allow_none=True, validate=validate.Length(max=400))
    kind = fields.String(allow_none=True, validate=validate.OneOf(COURSE_REQUIREMENT_KINDS), metadata={
        "description": "default: regulation for the regulation course, remedial for a remedial course, "
                       "else assigned (recurrent is the renewal before a certificate expires)"})


class Assigned(Schema):
    assigned = fields.Integer()
    requirement_ids = fields.List(fields.String())


# -- sessions and enrolments ---------------------------------------------------------------------------
class SessionIn(Schema):
    course_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "RFC 3339 with offset"})
    ends_at = fields.AwareDateTime(required=True)
    place = fields.String(allow_none=True, validate=validate.Length(max=300))
    link = fields.Url(allow_none=True, validate=validate.Length(max=500))
    capacity = fields.Integer(required=True, validate=validate.Range(min=1, max=10000))
    branch_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                              metadata={"description": "hosting branch; none for a network-wide session"})
    trainer_staff_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64))


class SessionPatch(Schema):
    place = fields.String(allow_none=True, validate=validate.Length(max=300))
    link = fields.Url(allow_none=True, validate=validate.Length(max=500))
    capacity = fields.Integer(validate=validate.Range(min=1, max=10000))


class SessionOut(SessionIn):
    id = fields.String()
    course_version = fields.Integer()
    course_code = fields.String()
    title_en = fields.String()
    title_zh = fields.String()
    hours = fields.Float()
    trainer_name = fields.String(allow_none=True)
    status = fields.String()
    enrolled = fields.Integer(metadata={"description": "seats taken"})
    waitlisted = fields.Integer()
    created_at = fields.AwareDateTime()
    updated_at = fields.AwareDateTime()


class SessionQuery(PageArgs):
    course_id = fields.String()
    branch_id = fields.String()
    status = fields.String(validate=validate.OneOf(("scheduled", "cancelled")))
    from_date = fields.Date(metadata={"description": "sessions starting on or after this local day"})
    to_date = fields.Date(metadata={"description": "sessions starting before this local day (not on it)"})


class CancelIn(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class SessionCancelIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class EnrolIn(Schema):
    staff_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "defaults to the caller"})


class Enrolment(Schema):
    id = fields.String()
    session_id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    status = fields.String(metadata={"enum": list(ENROLMENT_STATUSES)})
    waitlist_position = fields.Integer(allow_none=True)
    requested_at = fields.AwareDateTime()
    promoted_at = fields.AwareDateTime(allow_none=True)
    score = fields.Float(allow_none=True)
    recorded_at = fields.AwareDateTime(allow_none=True)
    completion_id = fields.String(allow_none=True)
    certificate_code = fields.String(allow_none=True)
    cancelled_at = fields.AwareDateTime(allow_none=True)
    cancel_reason = fields.String(allow_none=True)


class AttendanceRecord(Schema):
    staff_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    attended = fields.Boolean(required=True)
    score = fields.Float(allow_none=True, validate=validate.Range(min=0, max=100))


class AttendanceIn(Schema):
    records = fields.List(fields.Nested(AttendanceRecord), required=True, validate=validate.Length(min=1, max=1000))


class AttendanceOut(Schema):
    items = fields.List(fields.Nested(Enrolment))


# -- external activities ----------------------------------------------------------------------------
class ExternalIn(Schema):
    staff_id = fields.String(allow_none=True, validate=validate.Length(min=1, max=64),
                             metadata={"description": "defaults to the caller"})
    kind = fields.String(required=True, validate=validate.OneOf(EXTERNAL_KINDS))
    title = fields.String(required=True, validate=validate.Length(min=1, max=300))
    organiser = fields.String(required=True, validate=validate.Length(min=1, max=200))
    activity_date = fields.Date(required=True)
    end_date = fields.Date(allow_none=True, metadata={"description": "last day, for activities over several days"})
    hours = fields.Float(required=True, validate=validate.Range(min=0, min_inclusive=False, max=10000),
                         metadata={"description": "hours attended; at most 24 a day"})
    competency_area = fields.String(allow_none=True, validate=validate.OneOf(COMPETENCY_AREAS))
    evidence_note = fields.String(allow_none=True, validate=validate.Length(max=2000),
                                  metadata={"description": "where the evidence is: certificate, agenda, minutes ..."})


class External(ExternalIn):
    id = fields.String()
    branch_id = fields.String()
    status = fields.String(metadata={"enum": list(EXTERNAL_STATUSES)})
    submitted_at = fields.AwareDateTime()
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    decision_note = fields.String(allow_none=True)
    credit_hours = fields.Float(allow_none=True)
    completion_id = fields.String(allow_none=True)


class ExternalQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    status = fields.String(validate=validate.OneOf(EXTERNAL_STATUSES))
    kind = fields.String(validate=validate.OneOf(EXTERNAL_KINDS))


class DecisionIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))


class RejectIn(Schema):
    note = fields.String(required=True, validate=validate.Length(min=1, max=500),
                         metadata={"description": "why (the staff member sees it)"})


# -- requirements, policy, views ------------------------------------------------------------------------
class Requirement(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    kind = fields.String(metadata={"enum": list(REQUIREMENT_KINDS)})
    course_id = fields.String(allow_none=True)
    course_version = fields.Integer(allow_none=True)
    area = fields.String(allow_none=True)
    required_hours = fields.Float(allow_none=True)
    title = fields.String()
    title_zh = fields.String(allow_none=True)
    reason = fields.String()
    reason_zh = fields.String(allow_none=True)
    due_on = fields.Date()
    period = fields.String()
    status = fields.String(metadata={"enum": list(REQUIREMENT_STATUSES)})
    kind_zh = fields.Function(lambda r: label_zh("requirement_kind", r["kind"]),
                              metadata={"description": "the kind in Chinese / 要求类型", "type": "string"})
    status_zh = fields.Function(lambda r: label_zh("requirement_status", r["status"]),
                                metadata={"description": "the status in Chinese / 状态", "type": "string"})
    area_zh = fields.Function(lambda r: label_zh("competency_area", r["area"]), allow_none=True,
                              metadata={"description": "the competency area in Chinese / 能力领域", "type": "string"})
    assigned_at = fields.AwareDateTime()
    completed_on = fields.Date(allow_none=True)
    completion_id = fields.String(allow_none=True)


class RequirementQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    course_id = fields.String()
    status = fields.String(validate=validate.OneOf(REQUIREMENT_STATUSES))
    kind = fields.String(validate=validate.OneOf(REQUIREMENT_KINDS))
    period = fields.String(validate=validate.Length(max=20))
    overdue = fields.Boolean(metadata={"description": "only open requirements past their deadline"})


class WaiveIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


_positive = fields.Float(validate=validate.Range(min=0, max=1000))


class PolicySchema(Schema):
    annual_hours = fields.Dict(keys=fields.String(), values=fields.Float(validate=validate.Range(min=0, max=1000)),
                               metadata={"description": "hours a year per role; 'default' for the others"})
    title_annual_hours = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PROFESSIONAL_TITLES)),
        values=fields.Float(validate=validate.Range(min=0, max=1000)),
        metadata={"description": "hours a year per professional title (职称: junior 初级, intermediate 中级, "
                                 "associate_senior 副高级, senior 正高级); someone owes the larger of their role's "
                                 "and their title's hours"})
    title_area_minima = fields.Dict(
        keys=fields.String(validate=validate.OneOf(PROFESSIONAL_TITLES)),
        values=fields.Dict(keys=fields.String(validate=validate.OneOf(COMPETENCY_AREAS)),
                           values=fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=1000))),
        metadata={"description": "per professional title: competency area → minimum hours a year; per area the "
                                 "larger of the role's and the title's minimum applies"})
    area_minima = fields.Dict(keys=fields.String(), values=fields.Dict(
        keys=fields.String(validate=validate.OneOf(COMPETENCY_AREAS)),
        values=fields.Float(validate=validate.Range(min=0, min_inclusive=False, max=1000))),
        metadata={"description": "per role: competency area → minimum hours a year"})
    credit_factors = fields.Dict(keys=fields.String(validate=validate.OneOf(EXTERNAL_KINDS)),
                                 values=fields.Float(validate=validate.Range(min=0, max=2)))
    teaching_cap_hours = fields.Float(validate=validate.Range(min=0, max=1000))
    remedial_threshold = fields.Float(validate=validate.Range(min=1, max=5))
    remedial_due_days = fields.Integer(validate=validate.Range(min=1, max=365))
    onboarding_due_days = fields.Integer(validate=validate.Range(min=1, max=365))
    regulation_due_days = fields.Integer(validate=validate.Range(min=1, max=365))
    due_soon_days = fields.Integer(validate=validate.Range(min=1, max=60))


class Completion(Schema):
    id = fields.String()
    source = fields.String()
    kind = fields.String()
    course_id = fields.String(allow_none=True)
    course_version = fields.Integer(allow_none=True)
    external_activity_id = fields.String(allow_none=True)
    title = fields.String()
    title_zh = fields.String(allow_none=True)
    competency_area = fields.String(allow_none=True)
    hours = fields.Float()
    credit_hours = fields.Float()
    completed_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    certificate_code = fields.String(allow_none=True)
    score = fields.Float(allow_none=True)


class AreaHours(Schema):
    credited = fields.Float()
    minimum = fields.Float(allow_none=True)


class Hours(Schema):
    year = fields.Integer()
    credited = fields.Float()
    required = fields.Float()
    met = fields.Boolean()
    by_area = fields.Dict(keys=fields.String(), values=fields.Nested(AreaHours))


class UpcomingSession(Schema):
    enrolment_id = fields.String()
    status = fields.String()
    session_id = fields.String()
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    place = fields.String(allow_none=True)
    link = fields.String(allow_none=True)
    course_code = fields.String()
    title_en = fields.String()
    title_zh = fields.String()


class Upcoming(Schema):
    sessions = fields.List(fields.Nested(UpcomingSession))
    requirements = fields.List(fields.Nested(Requirement))


class Transcript(Schema):
    staff_id = fields.String()
    name = fields.String(allow_none=True)
    branch_id = fields.String()
    year = fields.Integer()
    professional_title = fields.String(allow_none=True, metadata={
        "description": "professional title (职称) as the directory gives it; the hours may follow it"})
    professional_title_zh = fields.String(allow_none=True, metadata={"description": "初级 / 中级 / 副高级 / 正高级"})
    completed = fields.List(fields.Nested(Completion))
    hours = fields.Nested(Hours)
    upcoming = fields.Nested(Upcoming)
    overdue = fields.List(fields.Nested(Requirement))


class YearQuery(Schema):
    year = fields.Integer(validate=validate.Range(min=2000, max=2100))


class ComplianceQuery(YearQuery):
    branch_id = fields.String()


class ComplianceLine(Schema):
    branch_id = fields.String()
    branch_code = fields.String(allow_none=True)
    branch_name_zh = fields.String(allow_none=True)
    branch_name_en = fields.String(allow_none=True)
    kind = fields.String()
    kind_zh = fields.String(metadata={"description": "the requirement kind in Chinese / 要求类型"})
    course_id = fields.String(allow_none=True)
    course_code = fields.String(allow_none=True)
    area = fields.String(allow_none=True)
    area_zh = fields.String(allow_none=True, metadata={"description": "the competency area in Chinese / 能力领域"})
    title_en = fields.String()
    title_zh = fields.String(allow_none=True)
    due_year = fields.Integer(metadata={"description": "the year these requirements are due, and count in"})
    due_later = fields.Boolean(metadata={"description": "assigned in the report's year, due in a later one"})
    assigned_earlier = fields.Integer(metadata={"description": "of the staff, those whose requirement was "
                                                               "assigned in an earlier year"})
    note_en = fields.String(metadata={"description": "what due_later / assigned_earlier mean, in words"})
    note_zh = fields.String(metadata={"description": "同上，中文"})
    staff = fields.Integer(metadata={"description": "staff with this requirement"})
    met = fields.Integer(metadata={"description": "staff who met it"})
    overdue = fields.Integer(metadata={"description": "staff past the deadline"})
    share_met = fields.Float(allow_none=True, metadata={"description": "met / staff, 0-1"})


class Compliance(Schema):
    year = fields.Integer()
    branch_id = fields.String(allow_none=True)
    as_of = fields.Date()
    lines = fields.List(fields.Nested(ComplianceLine))


class Certificate(Schema):
    code = fields.String()
    status = fields.String(metadata={"enum": ["valid", "expired"]})
    valid = fields.Boolean()
    holder_name = fields.String(allow_none=True)
    course_code = fields.String(allow_none=True)
    title_en = fields.String()
    title_zh = fields.String(allow_none=True)
    course_version = fields.Integer(allow_none=True)
    hours = fields.Float()
    completed_on = fields.Date()
    expires_on = fields.Date(allow_none=True)
    issuer = fields.String()


CoursePage = page_schema(Course, "CoursePage")
SessionPage = page_schema(SessionOut, "SessionPage")
EnrolmentPage = page_schema(Enrolment, "EnrolmentPage")
ExternalPage = page_schema(External, "ExternalPage")
RequirementPage = page_schema(Requirement, "RequirementPage")
