"""Sanction events, owned by the incentive service (topic ``lsq.sanction``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define

LEVELS = ("notice", "verbal_warning", "written_warning", "improvement_plan", "referral")


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


class SanctionRevoked(EventData):
    sanction_id = f.ref("the sanction revoked")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    level = f.enum(LEVELS, "level of the revoked sanction")
    reason_en = f.text("why, English", max_length=500)
    reason_zh = f.text("why, Chinese", max_length=500)
    revoked_at = f.time("when")


define("lsq.sanction.issued.v1", SanctionIssued, service="incentive", subject="sanction_id",
       description="A sanction (or a notice) was issued to a staff member.")
define("lsq.sanction.revoked.v1", SanctionRevoked, service="incentive", subject="sanction_id",
       description="A sanction was overturned on appeal or corrected; the ladder is recomputed.")
