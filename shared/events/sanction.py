"""Sanction events, owned by the incentive service (topic ``lsq.sanction``, key = staff id).

Besides the decisions (issued, revoked), the incentive service publishes what people did through
its API (a violation recorded, a sanction acknowledged, appealed, an appeal decided). It consumes
those back from this topic, so replaying every topic into an empty database rebuilds the ledger.
"""
from shared.events import fields as f
from shared.events.registry import EventData, define

LEVELS = ("notice", "verbal_warning", "written_warning", "improvement_plan", "referral")
VIOLATION_CATEGORIES = ("attitude", "absence", "punctuality", "negligence", "misconduct", "dress_code",
                        "confidentiality", "other")
APPEAL_DECISIONS = ("upheld", "overturned")


class SanctionIssued(EventData):
    sanction_id = f.ref("the ledger entry of the sanction")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    level = f.enum(LEVELS, "step on the progressive ladder (notice is not a step)")
    policy_version = f.integer("policy version that decided it")
    reason_en = f.text("reason, English", max_length=500)
    reason_zh = f.text("reason, Chinese", max_length=500)
    issued_at = f.time("when")
    expires_at = f.time("when it lapses")
    appeal_deadline = f.time("last moment to appeal")
    replaces = f.ref("sanction this one replaces after the ladder was recomputed", required=False,
                     allow_none=True)


class SanctionRevoked(EventData):
    sanction_id = f.ref("the sanction revoked")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    level = f.enum(LEVELS, "level of the revoked sanction")
    reason_en = f.text("why, English", max_length=500)
    reason_zh = f.text("why, Chinese", max_length=500)
    revoked_at = f.time("when")
    cause = f.enum(("appeal_overturned", "ladder_recomputed", "cause_withdrawn", "correction"),
                   "why it was revoked", required=False, allow_none=True)


class ViolationRecorded(EventData):
    violation_id = f.ref("the violation")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    category = f.enum(VIOLATION_CATEGORIES, "kind of violation")
    description = f.text("what happened (no reader personal data)", max_length=2000)
    occurred_at = f.time("when it happened")
    recorded_by = f.text("who recorded it (token subject)", max_length=100)
    recorded_at = f.time("when it was recorded")


class SanctionAcknowledged(EventData):
    sanction_id = f.ref("the sanction")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    acknowledged_at = f.time("when the staff member acknowledged it")


class SanctionAppealed(EventData):
    sanction_id = f.ref("the sanction")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    reason = f.text("the staff member's grounds", max_length=2000)
    appealed_at = f.time("when")


class SanctionAppealDecided(EventData):
    sanction_id = f.ref("the sanction")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    decision = f.enum(APPEAL_DECISIONS, "upheld keeps the sanction, overturned revokes it")
    note = f.text("the reasoning", max_length=2000)
    decided_by = f.text("who decided (token subject)", max_length=100)
    decided_at = f.time("when")


define("lsq.sanction.issued.v1", SanctionIssued, service="incentive", subject="sanction_id",
       description="A sanction (or a notice) was issued to a staff member.")
define("lsq.sanction.revoked.v1", SanctionRevoked, service="incentive", subject="sanction_id",
       description="A sanction was overturned on appeal or corrected; the ladder is recomputed.")
define("lsq.sanction.violation_recorded.v1", ViolationRecorded, service="incentive", subject="violation_id",
       description="A supervisor recorded a violation of the regulation by a staff member.")
define("lsq.sanction.acknowledged.v1", SanctionAcknowledged, service="incentive", subject="sanction_id",
       description="The staff member acknowledged a sanction or notice.")
define("lsq.sanction.appealed.v1", SanctionAppealed, service="incentive", subject="sanction_id",
       description="The staff member appealed a sanction within the appeal window.")
define("lsq.sanction.appeal_decided.v1", SanctionAppealDecided, service="incentive", subject="sanction_id",
       description="An appeal was decided: the sanction upheld or overturned.")
