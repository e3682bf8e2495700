"""Query arguments and response schemas of the reports API (the portal's contract)."""
from marshmallow import Schema, fields, validate

from services.reports.model import FIGURES

FORMATS = ("json", "csv", "xlsx")
_figure_keys = [f.key for f in FIGURES]


class PeriodArgs(Schema):
    period = fields.String(metadata={"description": "YYYY, YYYY-Qn or YYYY-MM (default: the current quarter)"})
    from_ = fields.Date(data_key="from", metadata={"description": "first day of a from–to range (with `to`)"})
    to = fields.Date(metadata={"description": "last day of a from–to range (with `from`)"})
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS),
                           metadata={"description": "json, csv (UTF-8 with BOM) or xlsx"})


class ScopedArgs(PeriodArgs):
    branch_id = fields.String(validate=validate.Length(min=1, max=64),
                              metadata={"description": "one branch; absent: the whole network"})


SLA_LIMIT_DEFAULT, SLA_LIMIT_MAX = 200, 1000


class SlaArgs(ScopedArgs):
    limit = fields.Integer(load_default=SLA_LIMIT_DEFAULT, validate=validate.Range(min=1, max=SLA_LIMIT_MAX),
                           metadata={"description": "at most this many rows in `breached` and in `at_risk` "
                                                    f"(most overdue first; default {SLA_LIMIT_DEFAULT}, "
                                                    f"at most {SLA_LIMIT_MAX}); `breached_count` and "
                                                    "`at_risk_count` give the full numbers"})


class ComparisonArgs(PeriodArgs):
    sort = fields.String(validate=validate.OneOf(_figure_keys), metadata={"description": "figure to sort by"})
    order = fields.String(load_default="desc", validate=validate.OneOf(("asc", "desc")))


class TrendArgs(Schema):
    from_ = fields.String(data_key="from", metadata={"description": "first month, YYYY-MM (default: 11 months "
                                                                    "before `to`)"})
    to = fields.String(metadata={"description": "last month, YYYY-MM (default: this month); at most 36 months"})
    branch_id = fields.String(validate=validate.Length(min=1, max=64))
    format = fields.String(load_default="json", validate=validate.OneOf(FORMATS))


class Period(Schema):
    label = fields.String(metadata={"description": "2026-Q4, 2026-11, 2026 or 2026-10-01..2026-12-31"})
    kind = fields.String(metadata={"description": "month | quarter | year | range"})
    start = fields.Date()
    end = fields.Date()


class Scope(Schema):
    branch_id = fields.String(allow_none=True, metadata={"description": "null: the whole network"})
    code = fields.String(allow_none=True)
    name_zh = fields.String()
    name_en = fields.String()


class Change(Schema):
    delta = fields.Float(allow_none=True, metadata={"description": "difference; percentage points for rates"})
    direction = fields.String(allow_none=True, metadata={"description": "up | down | same"})
    assessment = fields.String(allow_none=True, metadata={"description": "better | worse | neutral | same"})


class FigureInfo(Schema):
    key = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    unit = fields.String(metadata={"description": "rate (0-1) | count | hours | minutes | stars | score | cny"})
    better = fields.String(metadata={"description": "higher | lower | neutral"})


class FigureValue(FigureInfo):
    value = fields.Float(allow_none=True)
    previous = fields.Float(allow_none=True)
    change = fields.Nested(Change)


Values = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                     metadata={"description": "figure key → value (null: no data)"})


class Overview(Schema):
    period = fields.Nested(Period)
    previous_period = fields.Nested(Period)
    scope = fields.Nested(Scope)
    figures = fields.List(fields.Nested(FigureValue))
    details = fields.Dict(metadata={"description": "grades, evaluated, sanctions_by_level, sanctions_revoked, "
                                                   "appeals {sanction,evaluation: filed/upheld/overturned}, "
                                                   "awards_pending, training_hours_target_per_person, "
                                                   "acknowledged_on_time, resolved_on_time, survey_dimensions"})


class BranchRow(Scope):
    values = Values
    previous = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    change = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True),
                         metadata={"description": "figure key → change from the previous period"})


class Comparison(Schema):
    period = fields.Nested(Period)
    previous_period = fields.Nested(Period)
    figures = fields.List(fields.Nested(FigureInfo))
    network_median = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    network = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))
    branches = fields.List(fields.Nested(BranchRow))
    sort = fields.String(allow_none=True)
    order = fields.String()


class Month(Schema):
    month = fields.String()
    values = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True))


class Trends(Schema):
    from_ = fields.String(data_key="from")
    to = fields.String()
    scope = fields.Nested(Scope)
    figures = fields.List(fields.Nested(FigureInfo))
    months = fields.List(fields.Nested(Month))


class SlaRow(Schema):
    complaints_filed = fields.Integer()
    acknowledged_on_time_rate = fields.Float(allow_none=True)
    resolved_on_time_rate = fields.Float(allow_none=True)
    complaints_breached = fields.Integer()


class SlaSeverity(SlaRow):
    severity = fields.String()


class SlaBranch(SlaRow, Scope):
    pass


class SlaComplaint(Schema):
    complaint_id = fields.String()
    branch_id = fields.String()
    branch_name_zh = fields.String()
    branch_name_en = fields.String()
    service_point_zh = fields.String(allow_none=True)
    service_point_en = fields.String(allow_none=True)
    staff_name = fields.String(allow_none=True, metadata={"description": "handler, else the staff member named"})
    severity = fields.String(allow_none=True)
    category = fields.String(allow_none=True)
    target = fields.String(metadata={"description": "acknowledge | resolve"})
    filed_at = fields.AwareDateTime()
    due_at = fields.AwareDateTime(allow_none=True)
    met_at = fields.AwareDateTime(allow_none=True)
    hours_over_target = fields.Float(allow_none=True)
    status = fields.String(metadata={"description": "met_late | open | at_risk"})


class SlaBoard(Schema):
    period = fields.Nested(Period)
    scope = fields.Nested(Scope)
    by_severity = fields.List(fields.Nested(SlaSeverity))
    by_branch = fields.List(fields.Nested(SlaBranch))
    average_hours_over_target = fields.Float(allow_none=True)
    breached = fields.List(fields.Nested(SlaComplaint), metadata={
        "description": "breached targets, most hours over target first, at most `limit`"})
    at_risk = fields.List(fields.Nested(SlaComplaint), metadata={
        "description": "targets at risk, earliest due first, at most `limit`"})
    breached_count = fields.Integer(metadata={"description": "every breached target of the scope (the list may "
                                                             "be capped by `limit`)"})
    at_risk_count = fields.Integer(metadata={"description": "every target at risk of the scope"})
    limit = fields.Integer(metadata={"description": "the cap applied to `breached` and `at_risk`"})


class SurveyCell(Schema):
    level = fields.String(metadata={"description": "dimension | item"})
    dimension = fields.String()
    item_code = fields.String(allow_none=True)
    n = fields.Integer(allow_none=True, metadata={"description": "answers; null when suppressed"})
    suppressed = fields.Boolean()
    minimum = fields.Float(allow_none=True)
    desired = fields.Float(allow_none=True)
    perceived = fields.Float(allow_none=True)
    adequacy_gap = fields.Float(allow_none=True, metadata={"description": "perceived − minimum (< 0: red)"})
    superiority_gap = fields.Float(allow_none=True, metadata={"description": "perceived − desired (> 0: green)"})


class SurveyGroupCell(SurveyCell):
    user_group = fields.String(allow_none=True)


class SurveyBranchCell(SurveyCell):
    branch_id = fields.String()
    branch_name_zh = fields.String()
    branch_name_en = fields.String()


class Surveys(Schema):
    period = fields.Nested(Period)
    scope = fields.Nested(Scope)
    min_group_size = fields.Integer()
    overall = fields.List(fields.Nested(SurveyCell))
    by_user_group = fields.List(fields.Nested(SurveyGroupCell))
    by_branch = fields.List(fields.Nested(SurveyBranchCell))


class StaffProfile(Schema):
    staff = fields.Dict(metadata={"description": "staff_id, name, role, status, branch_id, branch_name_zh/en"})
    period = fields.Nested(Period)
    evaluations = fields.List(fields.Dict(), metadata={"description": "period, score, grade, revision per cycle"})
    complaints = fields.Dict(metadata={"description": "filed, substantiated, partially_substantiated"})
    praise = fields.Integer()
    desk = fields.Dict(metadata={"description": "ratings, stars_mean, wait_mean_minutes"})
    training = fields.Dict(metadata={"description": "completions, hours, credit_hours, target_hours"})
    ledger = fields.List(fields.Dict(), metadata={"description": "kind, detail, amount, at, reason_zh/en, state"})


class Sentence(Schema):
    zh = fields.String()
    en = fields.String()


class ReviewLine(Schema):
    figure = fields.String()
    label_zh = fields.String()
    label_en = fields.String()
    unit = fields.String()
    value = fields.Float(allow_none=True)
    previous = fields.Float(allow_none=True)
    year_before = fields.Float(allow_none=True)
    change_previous = fields.Nested(Change)
    change_year_before = fields.Nested(Change)
    sentence_previous = fields.Nested(Sentence)
    sentence_year_before = fields.Nested(Sentence)


class Review(Schema):
    period = fields.Nested(Period)
    previous_period = fields.Nested(Period)
    year_before_period = fields.Nested(Period)
    scope = fields.Nested(Scope)
    summary = fields.Dict(metadata={"description": "worse, better (counts), generated_on"})
    lines = fields.List(fields.Nested(ReviewLine), metadata={"description": "worse areas first"})
