"""Feedback HTTP API: parse, check access, call a use case, respond.

Reader endpoints (file a complaint, track/rate/reopen it by code, praise, desk rating, survey
answer) need no account and are rate-limited per client.
"""
from flask import Response
from flask_smorest import Blueprint

from services.feedback import schemas, service, surveys
from shared import auth
from shared.auth import access
from shared.ratelimit import rate_limited
from shared.web import PageArgs, db, page

blp = Blueprint("feedback", __name__, url_prefix="/", description="Complaints, praise, ratings, surveys, forums")

HANDLERS = ("supervisor", "branch_manager")            # handle complaints of their branch
READERS = ("supervisor", "branch_manager", "auditor", "service")
ALL_STAFF = READERS + ("staff",)
#: Requests a minute per client on the anonymous endpoints.
FILE_LIMIT, TRACK_LIMIT, PRAISE_LIMIT, RATING_LIMIT, SURVEY_LIMIT = 10, 30, 10, 20, 20
# Request schemas are given as instances: webargs would otherwise build a new schema (deep-copying
# its fields) on every request, a noticeable share of the cost of the reader endpoints.


# -- complaints: readers ------------------------------------------------------------------------
@blp.post("/complaints")
@access(anonymous=True)
@rate_limited(FILE_LIMIT)
@blp.arguments(schemas.ComplaintIn())
@blp.response(201, schemas.ComplaintFiled)
def file_complaint(data):
    """File a complaint (no account needed); keep the tracking code / 提交投诉

    Staff recording a complaint received earlier (phone, letter, desk) send their token and
    ``received_at``: the SLA clocks start then. / 工作人员代为登记时可填写受理时间。"""
    return service.file_complaint(db(), data, auth.current())


@blp.get("/complaints/track/<code>")
@access(anonymous=True)
@rate_limited(TRACK_LIMIT)
@blp.response(200, schemas.ComplaintTracking)
def track_complaint(code):
    """Follow a complaint with its tracking code / 凭跟踪码查询投诉进度"""
    return service.track(db(), code)


@blp.post("/complaints/track/<code>/rating")
@access(anonymous=True)
@rate_limited(TRACK_LIMIT)
@blp.arguments(schemas.RatingOfResolutionIn())
@blp.response(200, schemas.ComplaintTracking)
def rate_resolution(data, code):
    """Rate how the complaint was resolved (1-5) / 评价投诉处理结果"""
    return service.rate_resolution(db(), code, data["rating"], data.get("comment"))


@blp.post("/complaints/track/<code>/reopen")
@access(anonymous=True)
@rate_limited(TRACK_LIMIT)
@blp.arguments(schemas.ReopenIn())
@blp.response(200, schemas.ComplaintTracking)
def reopen_by_code(data, code):
    """Reopen a resolved complaint within 14 days / 重新开启投诉"""
    return service.reopen_by_code(db(), code, data.get("note"))


@blp.delete("/complaints/track/<code>/contact")
@access(anonymous=True)
@rate_limited(TRACK_LIMIT)
@blp.response(200, schemas.ComplaintTracking)
def erase_own_contact(code):
    """Erase my contact details now / 删除我的联系方式"""
    return service.erase_contact_by_code(db(), code)


# -- complaints: staff --------------------------------------------------------------------------
@blp.get("/complaints")
@access(*ALL_STAFF)
@blp.arguments(schemas.ComplaintQuery(), location="query")
@blp.response(200, schemas.ComplaintPage)
def list_complaints(args):
    """List complaints (own branch; staff: resolved complaints about themselves) / 投诉列表

    Filters combine (all must hold): statuses, severities, categories (repeat a parameter for
    several), SLA state now (``at_risk``, ``breached``), ``escalated``, the handler
    (``assigned_to`` or ``mine``) and the local days of filing (``filed_from``–``filed_to``).
    Newest first. / 可按状态、严重程度、时限状态、处理人、受理日期组合筛选。"""
    filters = {k: v for k, v in args.items() if k not in ("page", "page_size")}
    items, total = service.list_complaints(db(), auth.current(), filters, args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/complaints/<complaint_id>")
@access(*ALL_STAFF)
@blp.response(200, schemas.Complaint)
def get_complaint(complaint_id):
    """One complaint / 投诉详情"""
    return service.get_complaint(db(), auth.current(), complaint_id)


@blp.get("/complaints/<complaint_id>/history")
@access(*ALL_STAFF)
@blp.response(200, schemas.HistoryEntry(many=True))
def complaint_history(complaint_id):
    """What happened to a complaint, in order / 投诉处理记录"""
    return service.complaint_history(db(), auth.current(), complaint_id)


@blp.post("/complaints/<complaint_id>/acknowledge")
@access(*HANDLERS)
@blp.arguments(schemas.AcknowledgeIn())
@blp.response(200, schemas.Complaint)
def acknowledge(data, complaint_id):
    """Acknowledge a new complaint / 受理投诉"""
    return service.transition(db(), auth.current(), complaint_id, "acknowledge", data)


@blp.post("/complaints/<complaint_id>/assign")
@access(*HANDLERS)
@blp.arguments(schemas.AssignIn())
@blp.response(200, schemas.Complaint)
def assign(data, complaint_id):
    """Assign a handler of the branch / 指派处理人"""
    return service.assign(db(), auth.current(), complaint_id, data["handler_id"], data.get("note"))


@blp.post("/complaints/<complaint_id>/investigate")
@access(*HANDLERS)
@blp.arguments(schemas.NoteIn())
@blp.response(200, schemas.Complaint)
def investigate(data, complaint_id):
    """Start (or resume) the investigation / 开始调查"""
    return service.transition(db(), auth.current(), complaint_id, "investigate", data)


@blp.post("/complaints/<complaint_id>/wait")
@access(*HANDLERS)
@blp.arguments(schemas.NoteIn())
@blp.response(200, schemas.Complaint)
def wait(data, complaint_id):
    """Wait on the reader (the resolution clock stops) / 等待读者回复"""
    return service.transition(db(), auth.current(), complaint_id, "wait", data)


@blp.post("/complaints/<complaint_id>/resolve")
@access(*HANDLERS)
@blp.arguments(schemas.ResolveIn())
@blp.response(200, schemas.Complaint)
def resolve(data, complaint_id):
    """Resolve with an outcome and a response to the reader / 办结投诉"""
    return service.transition(db(), auth.current(), complaint_id, "resolve", data)


@blp.post("/complaints/<complaint_id>/close")
@access(*HANDLERS)
@blp.arguments(schemas.NoteIn())
@blp.response(200, schemas.Complaint)
def close(data, complaint_id):
    """Close a resolved complaint / 关闭投诉"""
    return service.transition(db(), auth.current(), complaint_id, "close", data)


@blp.post("/complaints/<complaint_id>/reopen")
@access(*HANDLERS)
@blp.arguments(schemas.ReopenIn())
@blp.response(200, schemas.Complaint)
def reopen(data, complaint_id):
    """Reopen on the reader's behalf, within 14 days of resolution / 代读者重新开启投诉"""
    return service.transition(db(), auth.current(), complaint_id, "reopen", data)


@blp.post("/complaints/<complaint_id>/erase-contact")
@access(*HANDLERS)
@blp.response(200, schemas.Complaint)
def erase_contact(complaint_id):
    """Erase the reader's contact details on request / 应读者要求删除联系方式"""
    return service.erase_contact(db(), auth.current(), complaint_id)


@blp.get("/complaints/<complaint_id>/contact")
@access("service")
@blp.arguments(schemas.ContactQuery(), location="query")
@blp.response(200, schemas.ContactForService)
def contact_for_service(args, complaint_id):
    """The reader's contact for an LSQ service, with a stated purpose; every access is recorded /
    读取读者联系方式（仅限系统服务，记录每次访问）"""
    return service.contact_for_service(db(), auth.current(), complaint_id, args["purpose"])


# -- settings -----------------------------------------------------------------------------------
@blp.get("/sla-policy")
@access(*ALL_STAFF)
@blp.response(200, schemas.SlaTargetSchema(many=True))
def get_sla_policy():
    """SLA targets per severity / 投诉处理时限"""
    return service.get_sla_policy(db())


@blp.put("/sla-policy")
@access()  # network_admin only
@blp.arguments(schemas.SlaTargetSchema(many=True))
@blp.response(200, schemas.SlaTargetSchema(many=True))
def set_sla_policy(items):
    """Change SLA targets (network_admin) / 修改投诉处理时限"""
    return service.set_sla_policy(db(), items)


@blp.get("/branches/<branch_id>/sla-policy")
@access(*ALL_STAFF)
@blp.response(200, schemas.BranchSlaTarget(many=True))
def get_branch_sla_policy(branch_id):
    """A branch's SLA targets: its own where it set them, else the network's / 分馆投诉处理时限"""
    return service.get_branch_sla_policy(db(), auth.current(), branch_id)


@blp.put("/branches/<branch_id>/sla-policy")
@access("branch_manager")
@blp.arguments(schemas.SlaTargetSchema(many=True))
@blp.response(200, schemas.BranchSlaTarget(many=True))
def set_branch_sla_policy(items, branch_id):
    """Set a branch's own SLA targets for some severities (its manager, network_admin) / 设置分馆投诉处理时限"""
    return service.set_branch_sla_policy(db(), auth.current(), branch_id, items)


@blp.delete("/branches/<branch_id>/sla-policy")
@access("branch_manager")
@blp.arguments(schemas.BranchSlaReset(), location="query")
@blp.response(200, schemas.BranchSlaTarget(many=True))
def reset_branch_sla_policy(args, branch_id):
    """The branch follows the network's SLA targets again / 分馆恢复采用全馆投诉处理时限"""
    return service.reset_branch_sla_policy(db(), auth.current(), branch_id, args.get("severity"))


@blp.get("/branches/<branch_id>/opening-hours")
@access(*ALL_STAFF)
@blp.response(200, schemas.OpeningHours)
def get_opening_hours(branch_id):
    """A branch's weekly opening hours (24x7 when none are set) / 分馆开放时间"""
    return service.get_opening_hours(db(), branch_id)


@blp.put("/branches/<branch_id>/opening-hours")
@access("branch_manager")
@blp.arguments(schemas.OpeningHoursIn())
@blp.response(200, schemas.OpeningHours)
def set_opening_hours(data, branch_id):
    """Set a branch's weekly opening hours, for business-hours SLAs / 设置分馆开放时间"""
    return service.set_opening_hours(db(), auth.current(), branch_id, data)


# -- praise and ratings -------------------------------------------------------------------------
@blp.post("/praise")
@access(anonymous=True)
@rate_limited(PRAISE_LIMIT)
@blp.arguments(schemas.PraiseIn())
@blp.response(201, schemas.Praise)
def praise(data):
    """Praise a staff member or a service point / 表扬馆员或服务点"""
    return service.submit_praise(db(), data)


@blp.get("/praise")
@access(*ALL_STAFF)
@blp.arguments(schemas.PraiseQuery(), location="query")
@blp.response(200, schemas.PraisePage)
def list_praise(args):
    """List praise (own branch; staff: praise of themselves) / 表扬列表"""
    filters = {k: args.get(k) for k in ("branch_id", "staff_id", "status")}
    items, total = service.list_praise(db(), auth.current(), filters, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/praise/<praise_id>/reject")
@access(*HANDLERS)
@blp.arguments(schemas.RejectIn())
@blp.response(200, schemas.Praise)
def reject_praise(data, praise_id):
    """Reject praise as spam or abuse / 驳回无效表扬"""
    return service.reject_praise(db(), auth.current(), praise_id, data["reason"], data.get("note"))


@blp.post("/ratings")
@access(anonymous=True)
@rate_limited(RATING_LIMIT)
@blp.arguments(schemas.RatingIn())
@blp.response(201, schemas.Rating)
def rate_desk(data):
    """Rate a service desk (QR code) / 服务台评价"""
    return service.submit_rating(db(), data)


@blp.get("/ratings/summary")
@access(*ALL_STAFF)
@blp.arguments(schemas.RatingSummaryQuery(), location="query")
@blp.response(200, schemas.RatingSummaryRow(many=True))
def rating_summary(args):
    """Desk ratings by service point, branch or staff member over a period / 服务台评价汇总"""
    return service.rating_summary(db(), auth.current(), args)


# -- surveys ------------------------------------------------------------------------------------
@blp.post("/instruments")
@access()  # network_admin only
@blp.arguments(schemas.InstrumentIn())
@blp.response(201, schemas.Instrument)
def create_instrument(data):
    """Create a questionnaire, or a new version of one / 新建问卷（版本）"""
    return surveys.create_instrument(db(), data)


@blp.get("/instruments")
@access(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.InstrumentPage)
def list_instruments(args):
    """Questionnaires and their versions / 问卷列表"""
    items, total = surveys.list_instruments(db(), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/instruments/<instrument_id>")
@access(*READERS)
@blp.response(200, schemas.Instrument)
def get_instrument(instrument_id):
    """One questionnaire version / 问卷详情"""
    return surveys.get_instrument(db(), instrument_id)


@blp.post("/surveys")
@access("branch_manager")
@blp.arguments(schemas.SurveyIn())
@blp.response(201, schemas.Survey)
def create_survey(data):
    """Start a survey campaign / 发起满意度调查"""
    return surveys.create_survey(db(), auth.current(), data)


@blp.get("/surveys")
@access(*READERS)
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.SurveyPage)
def list_surveys(args):
    """Survey campaigns / 满意度调查列表"""
    items, total = surveys.list_surveys(db(), auth.current(), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/surveys/<survey_id>")
@access(*READERS)
@blp.response(200, schemas.Survey)
def get_survey(survey_id):
    """One campaign / 调查详情"""
    return surveys.get_survey(db(), auth.current(), survey_id)


@blp.get("/surveys/<survey_id>/form")
@access(anonymous=True)
@rate_limited(SURVEY_LIMIT * 3)
@blp.response(200, schemas.SurveyForm)
def survey_form(survey_id):
    """The questionnaire to answer, in Chinese and English / 问卷内容"""
    return surveys.survey_form(db(), survey_id)


@blp.post("/surveys/<survey_id>/invitations")
@access("branch_manager")
@blp.arguments(schemas.InvitationsIn())
@blp.response(201, schemas.Invitations)
def create_invitations(data, survey_id):
    """One-time invitation tokens / 生成一次性邀请码"""
    return surveys.create_invitations(db(), auth.current(), survey_id, data["count"], data.get("branch_id"))


@blp.post("/surveys/<survey_id>/responses")
@access(anonymous=True)
@rate_limited(SURVEY_LIMIT)
@blp.arguments(schemas.ResponseIn())
@blp.response(201, schemas.ResponseOut)
def answer_survey(data, survey_id):
    """Answer a survey anonymously (open link or invitation token) / 匿名填写问卷"""
    return surveys.submit_response(db(), survey_id, data)


@blp.post("/surveys/<survey_id>/close")
@access("branch_manager")
@blp.response(200, schemas.Survey)
def close_survey(survey_id):
    """Close a campaign now and publish its summary / 结束调查"""
    return surveys.close_survey(db(), auth.current(), survey_id)


@blp.get("/surveys/<survey_id>/results")
@access(*READERS)
@blp.response(200, schemas.SurveyResults)
def survey_results(survey_id):
    """Results per item and dimension, overall, by branch and by user group / 调查结果"""
    return surveys.results(db(), auth.current(), survey_id)


@blp.get("/surveys/<survey_id>/results.csv")
@access(*READERS)
@blp.doc(responses={"200": {"description": "CSV", "content": {"text/csv": {}}}})
def survey_results_csv(survey_id):
    """Results as CSV / 导出调查结果（CSV）"""
    body = surveys.results_csv(db(), auth.current(), survey_id)
    return Response(body, mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="survey-{survey_id}-results.csv"'})


# -- reader forums ------------------------------------------------------------------------------
@blp.post("/forums")
@access(*HANDLERS)
@blp.arguments(schemas.ForumIn())
@blp.response(201, schemas.Forum)
def record_forum(data):
    """Record a reader forum and its suggestions / 记录读者座谈会"""
    return service.record_forum(db(), auth.current(), data)


@blp.get("/forums")
@access(*READERS)
@blp.arguments(schemas.ForumQuery(), location="query")
@blp.response(200, schemas.ForumPage)
def list_forums(args):
    """Reader forums / 读者座谈会列表"""
    items, total = service.list_forums(db(), auth.current(), args.get("branch_id"), args["page"], args["page_size"])
    return page(items, total, args)


@blp.get("/forums/<forum_id>")
@access(*READERS)
@blp.response(200, schemas.Forum)
def get_forum(forum_id):
    """One forum with its suggestions / 座谈会详情"""
    return service.get_forum(db(), auth.current(), forum_id)


@blp.post("/forums/<forum_id>/suggestions")
@access(*HANDLERS)
@blp.arguments(schemas.SuggestionIn())
@blp.response(201, schemas.Suggestion)
def add_suggestion(data, forum_id):
    """Add a suggestion raised at the forum / 添加读者建议"""
    return service.add_suggestion(db(), auth.current(), forum_id, data)


@blp.patch("/forums/<forum_id>/suggestions/<suggestion_id>")
@access(*HANDLERS)
@blp.arguments(schemas.SuggestionPatch())
@blp.response(200, schemas.Suggestion)
def update_suggestion(data, forum_id, suggestion_id):
    """Track a suggestion to its outcome / 跟进建议落实情况"""
    return service.update_suggestion(db(), auth.current(), forum_id, suggestion_id, data)
