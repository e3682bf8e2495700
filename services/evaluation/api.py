"""Evaluation HTTP API: parse, check access, call a use case, respond."""
from flask import Response
from flask_smorest import Blueprint

from services.evaluation import schemas, service
from shared import auth
from shared.auth import access
from shared.web import db, page

blp = Blueprint("evaluation", __name__, url_prefix="/", description="Rubrics, cycles, ratings, scores, appeals")
EVERYONE = ("staff", "supervisor", "branch_manager", "auditor", "service")
RATERS = ("staff", "supervisor", "branch_manager")
MANAGERS = ("branch_manager", "auditor", "service")


# -- settings and rubrics ----------------------------------------------------------------------
@blp.get("/settings")
@access(*EVERYONE)
@blp.response(200, schemas.Settings)
def get_settings():
    """Rater weights, peers, reader formula, grade bands, appeal window / 评价参数"""
    return service.get_settings(db())


@blp.put("/settings")
@access()  # network_admin only
@blp.arguments(schemas.SettingsPatch)
@blp.response(200, schemas.Settings)
def put_settings(data):
    """Change settings for cycles created from now on (network_admin) / 修改评价参数"""
    return service.update_settings(db(), auth.current(), data)


@blp.post("/rubrics")
@access()
@blp.arguments(schemas.RubricIn)
@blp.response(201, schemas.Rubric)
def create_rubric(data):
    """Publish a new rubric version: dimensions with weights summing to 1 (network_admin) / 新版评价量表"""
    return service.create_rubric(db(), auth.current(), data["dimensions"])


@blp.get("/rubrics")
@access(*EVERYONE)
@blp.response(200, schemas.Rubric(many=True))
def list_rubrics():
    """Every rubric version, newest first / 评价量表版本"""
    return service.list_rubrics(db())


@blp.get("/rubrics/<rubric_id>")
@access(*EVERYONE)
@blp.response(200, schemas.Rubric)
def get_rubric(rubric_id):
    """One rubric version (``current`` = the latest) / 评价量表"""
    return service.get_rubric(db(), rubric_id)


# -- cycles ------------------------------------------------------------------------------------
@blp.post("/cycles")
@access("branch_manager")
@blp.arguments(schemas.CycleIn)
@blp.response(201, schemas.Cycle)
def create_cycle(data):
    """Create a draft cycle: period, scope and deadline (network_admin; a branch manager for their
    own branch) / 新建评价周期"""
    return service.create_cycle(db(), auth.current(), data)


@blp.get("/cycles")
@access(*EVERYONE)
@blp.arguments(schemas.CycleQuery, location="query")
@blp.response(200, schemas.CyclePage)
def list_cycles(args):
    """Evaluation cycles, latest period first / 评价周期列表"""
    items, total = service.list_cycles(db(), auth.current(), args.get("status"), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/cycles/<cycle_id>")
@access(*EVERYONE)
@blp.response(200, schemas.Cycle)
def get_cycle(cycle_id):
    """One cycle (another branch's → 404) / 评价周期详情"""
    return service.get_cycle(db(), auth.current(), cycle_id)


@blp.patch("/cycles/<cycle_id>")
@access("branch_manager")
@blp.arguments(schemas.CyclePatch)
@blp.response(200, schemas.Cycle)
def update_cycle(data, cycle_id):
    """Edit a draft; extend an open cycle's deadline → lsq.cycle.extended.v1 / 修改周期、延长截止时间"""
    return service.update_cycle(db(), auth.current(), cycle_id, data)


@blp.delete("/cycles/<cycle_id>")
@access("branch_manager")
@blp.response(204)
def delete_cycle(cycle_id):
    """Delete a draft cycle / 删除草稿周期"""
    service.delete_cycle(db(), auth.current(), cycle_id)


@blp.post("/cycles/<cycle_id>/open")
@access("branch_manager")
@blp.response(200, schemas.Cycle)
def open_cycle(cycle_id):
    """Open: fix participants and assign peers → lsq.cycle.opened.v1 / 开放评价"""
    return service.open_cycle(db(), auth.current(), cycle_id)


@blp.post("/cycles/<cycle_id>/close")
@access("branch_manager")
@blp.response(200, schemas.Cycle)
def close_cycle(cycle_id):
    """Close: stop ratings, freeze the inputs and compute the scores / 关闭评价并计分"""
    return service.close_cycle(db(), auth.current(), cycle_id)


@blp.post("/cycles/<cycle_id>/publish")
@access("branch_manager")
@blp.response(200, schemas.Cycle)
def publish_cycle(cycle_id):
    """Publish: staff see their results → lsq.evaluation.scored.v1 each / 公布结果"""
    return service.publish_cycle(db(), auth.current(), cycle_id)


@blp.get("/cycles/<cycle_id>/participants")
@access("branch_manager", "supervisor", "auditor", "service")
@blp.arguments(schemas.BranchQuery, location="query")
@blp.response(200, schemas.ParticipantPage)
def list_participants(args, cycle_id):
    """Participants and how many ratings each has had; branch roles see their branch / 参评人员"""
    items, total = service.list_participants(db(), auth.current(), cycle_id, args.get("branch_id"), args["page"],
                                             args["page_size"])
    return page(items, total, args)


@blp.get("/cycles/<cycle_id>/participants/<staff_id>/peers")
@access("branch_manager")
@blp.response(200, schemas.Peers)
def get_peers(cycle_id, staff_id):
    """A participant's peer raters, for organising the cycle; never one's own / 同事评价人"""
    return service.get_peers(db(), auth.current(), cycle_id, staff_id)


@blp.put("/cycles/<cycle_id>/participants/<staff_id>/peers")
@access("branch_manager")
@blp.arguments(schemas.PeersIn)
@blp.response(200, schemas.Peers)
def put_peers(data, cycle_id, staff_id):
    """Replace a participant's peer raters while the cycle is open / 调整同事评价人"""
    return service.set_peers(db(), auth.current(), cycle_id, staff_id, data["peer_ids"])


@blp.get("/cycles/<cycle_id>/assignments")
@access(*RATERS)
@blp.response(200, schemas.Assignments)
def my_assignments(cycle_id):
    """What I have to rate: myself, my peers, my branch's staff (supervisors) / 我的评价任务"""
    return service.my_assignments(db(), auth.current(), cycle_id)


@blp.post("/cycles/<cycle_id>/evaluations")
@access(*RATERS)
@blp.arguments(schemas.EvaluationIn)
@blp.response(200, schemas.Submission)
@blp.alt_response(201, schema=schemas.Submission, description="created")
def submit_evaluation(data, cycle_id):
    """Give (201) or change (200) a self, peer or supervisor rating until the deadline / 提交评价"""
    item, created = service.submit_evaluation(db(), auth.current(), cycle_id, data)
    return item, 201 if created else 200


@blp.get("/cycles/<cycle_id>/evaluations")
@access(*RATERS)
@blp.response(200, schemas.Submission(many=True))
def my_submissions(cycle_id):
    """The ratings I gave in this cycle / 我提交的评价"""
    return service.my_submissions(db(), auth.current(), cycle_id)


@blp.get("/cycles/<cycle_id>/ratings")
@access("auditor")
@blp.arguments(schemas.RatingQuery, location="query")
@blp.response(200, schemas.RatingPage)
def cycle_ratings(args, cycle_id):
    """Every rating of the cycle for audit; peer raters stay anonymous / 评价明细（审计）"""
    items, total = service.cycle_ratings(db(), auth.current(), cycle_id, args.get("staff_id"), args["page"],
                                         args["page_size"])
    return page(items, total, args)


@blp.get("/cycles/<cycle_id>/scores")
@access(*MANAGERS)
@blp.arguments(schemas.BranchQuery, location="query")
@blp.response(200, schemas.ResultPage)
def cycle_scores(args, cycle_id):
    """Results of a closed cycle, by branch and rank; branch managers see their branch / 评价结果"""
    items, total = service.cycle_scores(db(), auth.current(), cycle_id, args.get("branch_id"), args["page"],
                                        args["page_size"])
    return page(items, total, args)


@blp.get("/cycles/<cycle_id>/scores.csv")
@access(*MANAGERS)
@blp.arguments(schemas.CsvQuery, location="query")
@blp.response(200, content_type="text/csv")
def cycle_scores_csv(args, cycle_id):
    """Results as CSV (UTF-8) / 导出评价结果"""
    body = service.cycle_scores_csv(db(), auth.current(), cycle_id, args.get("branch_id"))
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="evaluation-{cycle_id}.csv"'})


@blp.get("/cycles/<cycle_id>/branches/<branch_id>/summary")
@access(*MANAGERS)
@blp.response(200, schemas.Summary)
def branch_summary(cycle_id, branch_id):
    """A branch's grade distribution and dimension means against the network / 分馆评价汇总"""
    return service.branch_summary(db(), auth.current(), cycle_id, branch_id)


# -- results, acknowledgement, appeals ----------------------------------------------------------
@blp.get("/staff/<staff_id>/evaluations")
@access(*EVERYONE)
@blp.response(200, schemas.Result(many=True))
def staff_evaluations(staff_id):
    """A staff member's results: their own once published; managers their branch / 个人评价结果"""
    return service.staff_evaluations(db(), auth.current(), staff_id)


@blp.get("/evaluations/<evaluation_id>")
@access(*EVERYONE)
@blp.response(200, schemas.Result)
def get_evaluation(evaluation_id):
    """One result with its appeals / 评价结果详情"""
    return service.get_evaluation(db(), auth.current(), evaluation_id)


@blp.post("/evaluations/<evaluation_id>/acknowledge")
@access(*RATERS)
@blp.response(200, schemas.Result)
def acknowledge(evaluation_id):
    """Acknowledge my result / 确认评价结果"""
    return service.acknowledge(db(), auth.current(), evaluation_id)


@blp.post("/evaluations/<evaluation_id>/appeal")
@access(*RATERS)
@blp.arguments(schemas.AppealIn)
@blp.response(201, schemas.Appeal)
def appeal(data, evaluation_id):
    """Appeal my result within the appeal window, with a reason / 申诉"""
    return service.file_appeal(db(), auth.current(), evaluation_id, data["reason"])


@blp.get("/appeals")
@access("branch_manager", "auditor", "service")
@blp.arguments(schemas.AppealQuery, location="query")
@blp.response(200, schemas.AppealPage)
def list_appeals(args):
    """Appeals to decide (branch managers: their branch) / 申诉列表"""
    items, total = service.list_appeals(db(), auth.current(), args.get("status"), args["page"], args["page_size"],
                                        branch_id=args.get("branch_id"))
    return page(items, total, args)


@blp.post("/appeals/<appeal_id>/decision")
@access("branch_manager")
@blp.arguments(schemas.DecisionIn)
@blp.response(200, schemas.Appeal)
def decide_appeal(data, appeal_id):
    """Uphold the result, or revise it → lsq.evaluation.rescored.v1 / 处理申诉"""
    return service.decide_appeal(db(), auth.current(), appeal_id, data)


