"""Award events, owned by the incentive service (topic ``lsq.award``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define


class _Award(EventData):
    award_id = f.ref("the ledger entry of the award")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("the branch whose fund pays it")
    tier = f.text("award tier or kind (e.g. A, B, points_credit)", max_length=30)
    amount = f.money("amount")
    period = f.text("fund period, e.g. 2026-Q4", max_length=20)
    policy_version = f.integer("policy version that decided it")
    reason_en = f.text("reason, English", max_length=500)
    reason_zh = f.text("reason, Chinese", max_length=500)


class AwardGranted(_Award):
    granted_at = f.time("when")


class AwardPendingApproval(_Award):
    waiting_for = f.enum(("branch_manager_approval", "fund_short"), "why it waits")
    requested_at = f.time("when")


define("lsq.award.granted.v1", AwardGranted, service="incentive", subject="award_id",
       description="An award was granted and drawn from the branch's fund.")
define("lsq.award.pending_approval.v1", AwardPendingApproval, service="incentive", subject="award_id",
       description="An award waits for a branch manager's approval or for fund budget.")
