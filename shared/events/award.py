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
    requested_amount = f.money("amount the rule asked for, when the fund paid less (pro rata)",
                               required=False)


class AwardPendingApproval(_Award):
    waiting_for = f.enum(("branch_manager_approval", "fund_short"), "why it waits")
    requested_at = f.time("when")


class AwardDecided(EventData):
    award_id = f.ref("the pending award")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("the branch whose fund pays it")
    decision = f.enum(("approved", "rejected"), "the branch manager's decision")
    note = f.text("the reasoning", max_length=2000, required=False, allow_none=True)
    decided_by = f.text("who decided (token subject)", max_length=100)
    decided_at = f.time("when")


class AwardRevoked(_Award):
    revoked_at = f.time("when; the amount goes back to the fund")


define("lsq.award.granted.v1", AwardGranted, service="incentive", subject="award_id",
       description="An award was granted and drawn from the branch's fund.")
define("lsq.award.pending_approval.v1", AwardPendingApproval, service="incentive", subject="award_id",
       description="An award waits for a branch manager's approval or for fund budget.")
define("lsq.award.decided.v1", AwardDecided, service="incentive", subject="award_id",
       description="A branch manager approved or rejected a pending award.")
define("lsq.award.revoked.v1", AwardRevoked, service="incentive", subject="award_id",
       description="An award was withdrawn (its cause was revised, e.g. an evaluation rescored).")
