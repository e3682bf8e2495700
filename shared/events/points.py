"""Recognition-points events, owned by the incentive service (topic ``lsq.points``, key = staff id)."""
from shared.events import fields as f
from shared.events.registry import EventData, define


class PointsCredited(EventData):
    entry_id = f.ref("the ledger entry")
    staff_id = f.ref("the staff member")
    branch_id = f.ref("their branch")
    points = f.integer("points credited (negative for a reversal)")
    reason_en = f.text("reason, English", max_length=500)
    reason_zh = f.text("reason, Chinese", max_length=500)
    period = f.text("period the points count in, e.g. 2026-11", max_length=20)
    policy_version = f.integer("policy version that decided it")
    credited_at = f.time("when")


class PeriodSettled(EventData):
    settlement_id = f.ref("the settlement")
    period = f.text("fund period whose points became award credit, e.g. 2026-Q4", max_length=20)
    settled_by = f.text("who settled it (token subject, or the worker)", max_length=100)
    settled_at = f.time("when")


define("lsq.points.credited.v1", PointsCredited, service="incentive", subject="entry_id",
       description="Recognition points were credited (or reversed) to a staff member.")
define("lsq.points.period_settled.v1", PeriodSettled, service="incentive", subject="settlement_id", key=None,
       description="A fund period was settled: its points were turned into award credit.")
