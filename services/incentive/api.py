"""Incentive HTTP API: parse, check access, call a use case, respond."""
from flask_smorest import Blueprint

from services.incentive import schemas, service
from shared import auth
from shared.auth import access
from shared.errors import Forbidden
from shared.web import context, db, page

blp = Blueprint("incentive", __name__, url_prefix="/", description="Awards, sanctions, points, funds, policy")
MANAGERS = ("branch_manager", "supervisor", "auditor", "service")
EVERYONE = ("staff",) + MANAGERS


def _group() -> str:
    """The worker's consumer group: API commands are recorded in its inbox (see service.command)."""
    return f"{context().settings.consumer_group_prefix}.incentive"


def _scope(args: dict) -> dict:
    """Branch-scoped roles see their branch only; staff see only themselves."""
    principal = auth.current()
    if principal.role == "staff":
        if args.get("staff_id") not in (None, principal.staff_id):
            raise Forbidden("staff may see only their own records", "员工只能查看本人记录")
        return {**args, "staff_id": principal.staff_id or "-"}
    if principal.branch_filter() is not None:
        if args.get("branch_id") is not None:
            principal.require_branch(args["branch_id"])
        return {**args, "branch_id": principal.branch_filter()}
    return args


def _may_see(record: dict) -> None:
    principal = auth.current()
    if principal.role == "staff":
        if record["staff_id"] != principal.staff_id:
            raise Forbidden("staff may see only their own records", "员工只能查看本人记录")
        return
    principal.require_branch(record["branch_id"])


# -- policy --------------------------------------------------------------------------------------
@blp.get("/policy")
@access(*EVERYONE)
@blp.response(200, schemas.Policy)
def get_current_policy():
    """The policy version in force now / 当前激励策略"""
    return service.current_policy(db())


@blp.get("/policies")
@access(*MANAGERS)
@blp.response(200, schemas.PolicyList)
def list_policies():
    """Every policy version, newest first / 策略版本列表"""
    return {"items": service.list_policies(db())}


@blp.get("/policies/<int:version>")
@access(*EVERYONE)
@blp.response(200, schemas.Policy)
def get_policy(version):
    """One policy version / 策略版本详情"""
    return service.get_policy(db(), version)


@blp.post("/policies")
@access()  # network_admin only
@blp.arguments(schemas.PolicyIn)
@blp.response(201, schemas.Policy)
def save_policy(data):
    """Save a new policy version, validated, in force from now or a later day (network_admin) / 发布新策略版本"""
    return service.save_policy(db(), auth.current(), data["document"], data["note"], data["starts_on"])


@blp.post("/policies/<int:version>/withdraw")
@access()  # network_admin only
@blp.response(200, schemas.Policy)
def withdraw_policy(version):
    """Withdraw a scheduled version before it starts (network_admin) / 撤回待生效的策略版本"""
    return service.withdraw_policy(db(), version)


@blp.post("/policies/dry-run")
@access("auditor")  # and network_admin
@blp.arguments(schemas.DryRunIn)
@blp.response(200, schemas.DryRun)
@blp.alt_response(503, description="the event history (Kafka) cannot be read now")
def dry_run(data):
    """What a version would have decided over a past period, beside what was decided; writes and
    publishes nothing / 策略试算：对比拟用版本与现行版本在过去期间的决定"""
    return service.dry_run(db(), context().settings.kafka_bootstrap, data["version"], data["since"], data["until"])


# -- funds ---------------------------------------------------------------------------------------
@blp.put("/funds/<branch_id>/periods/<period>")
@access()  # network_admin only
@blp.arguments(schemas.BudgetIn)
@blp.response(200, schemas.Fund)
def set_budget(data, branch_id, period):
    """Set a branch's award-fund budget for a period (network_admin) / 设置分馆奖励基金预算"""
    return service.set_budget(db(), auth.current(), branch_id, period, data["budget"])


@blp.get("/funds")
@access("branch_manager", "auditor", "service")
@blp.arguments(schemas.FundQuery, location="query")
@blp.response(200, schemas.FundPage)
def list_funds(args):
    """Fund balances by branch and period / 奖励基金余额"""
    args = _scope(args)
    items, total = service.list_funds(db(), args.get("branch_id"), args.get("period"), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/funds/<branch_id>/statement")
@access("branch_manager", "auditor", "service")
@blp.arguments(schemas.StatementQuery, location="query")
@blp.response(200, schemas.Statement)
def fund_statement(args, branch_id):
    """A branch fund's statement for a period: budget, entries, pending awards / 基金对账单"""
    auth.current().require_branch(branch_id)
    return service.fund_statement(db(), branch_id, args["period"])


# -- ledger and standing -------------------------------------------------------------------------
@blp.get("/ledger")
@access(*EVERYONE)
@blp.arguments(schemas.LedgerQuery, location="query")
@blp.response(200, schemas.EntryPage)
def list_ledger(args):
    """The append-only ledger, with cause events and policy version of every entry / 奖惩台账"""
    args = _scope(args)
    items, total = service.list_ledger(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/staff/<staff_id>/standing")
@access(*EVERYONE)
@blp.arguments(schemas.StandingQuery, location="query")
@blp.response(200, schemas.Standing)
def standing(args, staff_id):
    """Ladder step, sanctions in force, points, awards this year / 员工奖惩状况"""
    result = service.standing(db(), staff_id, args.get("as_of"))
    _may_see(result)
    return result


# -- sanctions and appeals -----------------------------------------------------------------------
@blp.get("/sanctions")
@access(*EVERYONE)
@blp.arguments(schemas.SanctionQuery, location="query")
@blp.response(200, schemas.SanctionPage)
def list_sanctions(args):
    """Sanctions and notices / 处分与提醒列表"""
    args = _scope(args)
    items, total = service.list_sanctions(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/sanctions/<sanction_id>")
@access(*EVERYONE)
@blp.response(200, schemas.Sanction)
def get_sanction(sanction_id):
    """One sanction with its causes / 处分详情"""
    result = service.get_sanction(db(), sanction_id)
    _may_see(result)
    return result


# Supervisors and branch managers are staff too: they acknowledge and appeal their own sanctions.
@blp.post("/sanctions/<sanction_id>/acknowledge")
@access("staff", "supervisor", "branch_manager")
@blp.response(200, schemas.Sanction)
def acknowledge(sanction_id):
    """The staff member acknowledges a sanction or notice / 员工确认收到处分"""
    return service.acknowledge(db(), _group(), auth.current(), sanction_id)


@blp.post("/sanctions/<sanction_id>/appeal")
@access("staff", "supervisor", "branch_manager")
@blp.arguments(schemas.AppealIn)
@blp.response(200, schemas.Sanction)
def appeal(data, sanction_id):
    """Appeal a sanction within the appeal window (14 days by default) / 提出申诉"""
    return service.appeal(db(), _group(), auth.current(), sanction_id, data["reason"])


@blp.post("/sanctions/<sanction_id>/appeal/decision")
@access("branch_manager")
@blp.arguments(schemas.AppealDecisionIn)
@blp.response(200, schemas.Sanction)
def decide_appeal(data, sanction_id):
    """Uphold or overturn an appeal; overturning revokes the sanction / 申诉裁决"""
    return service.decide_appeal(db(), _group(), auth.current(), sanction_id, data["decision"], data["note"])


@blp.get("/appeals")
@access("branch_manager", "supervisor", "auditor", "service")
@blp.arguments(schemas.AppealQuery, location="query")
@blp.response(200, schemas.SanctionPage)
def list_appeals(args):
    """Appealed sanctions, open or decided / 申诉列表"""
    args = _scope(args)
    items, total = service.list_appeals(db(), args.get("branch_id"), args.get("status"), args["page"],
                                        args["page_size"])
    return page(items, total, args)


# -- violations ----------------------------------------------------------------------------------
@blp.post("/violations")
@access("supervisor", "branch_manager")
@blp.arguments(schemas.ViolationIn)
@blp.response(201, schemas.Violation)
def record_violation(data):
    """Record a violation; it climbs the progressive ladder / 登记违规行为"""
    return service.record_violation(db(), _group(), auth.current(), data)


@blp.get("/violations")
@access("supervisor", "branch_manager", "auditor", "service")
@blp.arguments(schemas.ViolationQuery, location="query")
@blp.response(200, schemas.ViolationPage)
def list_violations(args):
    """Recorded violations and the sanctions they led to / 违规记录"""
    args = _scope(args)
    items, total = service.list_violations(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


# -- awards --------------------------------------------------------------------------------------
@blp.get("/awards")
@access(*EVERYONE)
@blp.arguments(schemas.AwardQuery, location="query")
@blp.response(200, schemas.AwardPage)
def list_awards(args):
    """Awards: granted, pending approval or budget, rejected, revoked / 奖励列表"""
    args = _scope(args)
    items, total = service.list_awards(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/awards/<award_id>/approve")
@access("branch_manager")
@blp.arguments(schemas.AwardDecisionIn)
@blp.response(200, schemas.Award)
def approve_award(data, award_id):
    """Approve a pending award: paid from the fund, which never goes negative / 批准奖励"""
    return service.decide_award(db(), _group(), auth.current(), award_id, "approved", data["note"])


@blp.post("/awards/<award_id>/reject")
@access("branch_manager")
@blp.arguments(schemas.AwardDecisionIn)
@blp.response(200, schemas.Award)
def reject_award(data, award_id):
    """Reject a pending award: its reservation goes back to the fund / 驳回奖励"""
    return service.decide_award(db(), _group(), auth.current(), award_id, "rejected", data["note"])


@blp.post("/periods/<period>/settle")
@access()  # network_admin only
@blp.response(201, schemas.Settlement)
def settle(period):
    """Turn a finished period's points into award credit (network_admin) / 积分结算为奖励"""
    principal = auth.current()
    return service.settle_period(db(), _group(), principal.subject or "network_admin", period)
