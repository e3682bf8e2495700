"""Request and response schemas of the incentive API."""
from marshmallow import Schema, fields, validate

from services.incentive.model import LEVELS
from shared.events.sanction import VIOLATION_CATEGORIES
from shared.web import PageArgs, page_schema

_money = dict(places=2, as_string=True)


class Cause(Schema):
    source = fields.String()
    id = fields.String()


class PolicyIn(Schema):
    document = fields.Dict(required=True, metadata={"description": "the whole policy: fund, ladder, points_credit, rules"})
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    starts_on = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "a later day than today: in force from its local midnight (network calendar, "
                       "Asia/Shanghai); omitted = from now"})


class Policy(Schema):
    version = fields.Integer()
    document = fields.Dict()
    activated_at = fields.AwareDateTime(metadata={"description": "when it starts (or started) deciding"})
    starts_on = fields.Date(metadata={"description": "the local day it starts"})
    status = fields.String(metadata={"enum": ["scheduled", "active", "superseded", "withdrawn"]})
    created_at = fields.AwareDateTime()
    created_by = fields.String()
    note = fields.String(allow_none=True)


class PolicyList(Schema):
    items = fields.List(fields.Nested(Policy))


class BudgetIn(Schema):
    budget = fields.Decimal(required=True, places=2, validate=validate.Range(min=0, max=100000000),
                            metadata={"description": "CNY"})


class Fund(Schema):
    branch_id = fields.String()
    period = fields.String()
    budget = fields.Decimal(**_money)
    reserved = fields.Decimal(**_money, metadata={"description": "held for awards waiting for approval"})
    granted = fields.Decimal(**_money)
    available = fields.Decimal(**_money)
    updated_at = fields.AwareDateTime(allow_none=True)


class FundQuery(PageArgs):
    branch_id = fields.String()
    period = fields.String()


class StatementQuery(Schema):
    period = fields.String(required=True, metadata={"description": "e.g. 2026-Q4"})


class Entry(Schema):
    id = fields.String()
    position = fields.Integer()
    kind = fields.String(metadata={"enum": ["award", "points", "sanction", "revocation", "adjustment"]})
    staff_id = fields.String()
    branch_id = fields.String()
    period = fields.String(allow_none=True)
    amount = fields.Decimal(**_money, allow_none=True)
    points = fields.Integer(allow_none=True)
    level = fields.String(allow_none=True)
    tier = fields.String(allow_none=True)
    refers_to = fields.String(allow_none=True)
    subject = fields.String()
    rule_id = fields.String(allow_none=True)
    policy_version = fields.Integer()
    reason_en = fields.String()
    reason_zh = fields.String()
    occurred_at = fields.AwareDateTime()
    recorded_at = fields.AwareDateTime()
    causes = fields.List(fields.Nested(Cause))


class Award(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    period = fields.String()
    tier = fields.String()
    requested_amount = fields.Decimal(**_money)
    amount = fields.Decimal(**_money)
    status = fields.String(metadata={"enum": ["pending", "granted", "rejected", "revoked"]})
    waiting_for = fields.String(allow_none=True)
    rule_id = fields.String(allow_none=True)
    policy_version = fields.Integer()
    reason_en = fields.String()
    reason_zh = fields.String()
    requested_at = fields.AwareDateTime()
    decided_at = fields.AwareDateTime(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    causes = fields.List(fields.Nested(Cause))


class Statement(Fund):
    entries = fields.List(fields.Nested(Entry))
    pending_awards = fields.List(fields.Nested(Award))


class LedgerQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    kind = fields.String(validate=validate.OneOf(["award", "points", "sanction", "revocation", "adjustment"]))
    level = fields.String(validate=validate.OneOf(LEVELS))
    subject = fields.String(metadata={"description": "e.g. complaint:<id>, evaluation:<id>"})
    period = fields.String()
    cause_id = fields.String(metadata={"description": "entries caused by this event id (ce_id)"})
    since = fields.AwareDateTime()
    until = fields.AwareDateTime()


class Sanction(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    level = fields.String(metadata={"enum": list(LEVELS)})
    policy_version = fields.Integer()
    reason_en = fields.String()
    reason_zh = fields.String()
    issued_at = fields.AwareDateTime()
    expires_at = fields.AwareDateTime()
    appeal_deadline = fields.AwareDateTime()
    status = fields.String(metadata={"enum": ["issued", "acknowledged", "appealed", "upheld", "overturned", "revoked"]})
    replaces = fields.String(allow_none=True)
    acknowledged_at = fields.AwareDateTime(allow_none=True)
    appeal_reason = fields.String(allow_none=True)
    appealed_at = fields.AwareDateTime(allow_none=True)
    decision = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True)
    decided_by = fields.String(allow_none=True)
    decided_at = fields.AwareDateTime(allow_none=True)
    revoked_at = fields.AwareDateTime(allow_none=True)
    causes = fields.List(fields.Nested(Cause))


class SanctionQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    level = fields.String(validate=validate.OneOf(LEVELS))
    status = fields.String(validate=validate.OneOf(["issued", "acknowledged", "appealed", "upheld", "overturned",
                                                    "revoked"]))
    active_at = fields.AwareDateTime(metadata={"description": "only sanctions in force at this time"})


class AppealIn(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AppealDecisionIn(Schema):
    decision = fields.String(required=True, validate=validate.OneOf(["upheld", "overturned"]))
    note = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class AppealQuery(PageArgs):
    branch_id = fields.String()
    status = fields.String(validate=validate.OneOf(["open", "decided"]))


class ViolationIn(Schema):
    staff_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    category = fields.String(required=True, validate=validate.OneOf(VIOLATION_CATEGORIES))
    description = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True,
                                       metadata={"description": "when it happened (default: now)"})


class Violation(Schema):
    id = fields.String()
    staff_id = fields.String()
    branch_id = fields.String()
    category = fields.String()
    description = fields.String()
    occurred_at = fields.AwareDateTime()
    recorded_by = fields.String()
    recorded_at = fields.AwareDateTime()
    sanctions = fields.List(fields.Nested(Sanction))


class ViolationQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    category = fields.String(validate=validate.OneOf(VIOLATION_CATEGORIES))


class AwardQuery(PageArgs):
    staff_id = fields.String()
    branch_id = fields.String()
    status = fields.String(validate=validate.OneOf(["pending", "granted", "rejected", "revoked"]))
    period = fields.String()
    tier = fields.String()


class AwardDecisionIn(Schema):
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


class StandingQuery(Schema):
    as_of = fields.AwareDateTime(load_default=None, allow_none=True)


class Points(Schema):
    this_month = fields.Integer()
    this_year = fields.Integer()
    total = fields.Integer()


class AwardsThisYear(Schema):
    granted_amount = fields.Decimal(**_money)
    items = fields.List(fields.Nested(Award))


class Standing(Schema):
    staff_id = fields.String()
    name = fields.String(allow_none=True)
    branch_id = fields.String(allow_none=True)
    as_of = fields.AwareDateTime()
    ladder_step = fields.Integer(metadata={"description": "0 = clean; 1 = verbal warning in force, ..."})
    current_level = fields.String(allow_none=True)
    next_level = fields.String(metadata={"description": "level the next substantiated complaint would bring"})
    active_sanctions = fields.List(fields.Nested(Sanction))
    notices = fields.List(fields.Nested(Sanction))
    open_appeals = fields.List(fields.Nested(Sanction))
    points = fields.Nested(Points)
    awards_this_year = fields.Nested(AwardsThisYear)


class Settlement(Schema):
    id = fields.String()
    period = fields.String()
    settled_by = fields.String()
    settled_at = fields.AwareDateTime()
    awards = fields.Integer()


FundPage = page_schema(Fund, "FundPage")
EntryPage = page_schema(Entry, "EntryPage")
SanctionPage = page_schema(Sanction, "SanctionPage")
ViolationPage = page_schema(Violation, "ViolationPage")
AwardPage = page_schema(Award, "AwardPage")


class DryRunIn(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000),
                             metadata={"description": "the version to try, usually a scheduled one"})
    since = fields.Date(required=True, metadata={"description": "first local day of the period"})
    until = fields.Date(required=True, metadata={"description": "last local day of the period (a past day)"})


class TierTotal(Schema):
    tier = fields.String()
    count = fields.Integer()
    amount = fields.Decimal(**_money)


class AwardTotals(Schema):
    count = fields.Integer(metadata={"description": "awards granted, net of revocations"})
    amount = fields.Decimal(**_money)
    by_tier = fields.List(fields.Nested(TierTotal))


class PendingTotals(Schema):
    count = fields.Integer()
    amount = fields.Decimal(**_money)


class LevelCount(Schema):
    level = fields.String(metadata={"enum": list(LEVELS)})
    count = fields.Integer()


class FundUse(Schema):
    period = fields.String()
    budget = fields.Decimal(**_money)
    granted = fields.Decimal(**_money, metadata={"description": "granted in the window, net of revocations"})


class Decisions(Schema):
    awards = fields.Nested(AwardTotals)
    pending_awards = fields.Nested(PendingTotals)
    sanctions = fields.List(fields.Nested(LevelCount), metadata={"description": "in force at the end, by level"})
    points = fields.Integer()
    funds = fields.List(fields.Nested(FundUse))


class BranchComparison(Schema):
    branch_id = fields.String()
    name_zh = fields.String(allow_none=True)
    name_en = fields.String(allow_none=True)
    current = fields.Nested(Decisions, metadata={"description": "what the versions in force decided"})
    proposed = fields.Nested(Decisions, metadata={"description": "what the proposed version would have decided"})


class DryRun(Schema):
    version = fields.Integer()
    compared_with = fields.Integer(metadata={"description": "the version in force now"})
    since = fields.Date()
    until = fields.Date()
    events = fields.Integer(metadata={"description": "events read from the history"})
    branches = fields.List(fields.Nested(BranchComparison))
