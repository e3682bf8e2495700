"""Training HTTP API: parse, check access, call a use case, respond."""
from flask import Response
from flask_smorest import Blueprint

from services.training import schemas, service
from shared import auth
from shared.auth import access
from shared.ratelimit import rate_limited
from shared.web import PageArgs, db, page

blp = Blueprint("training", __name__, url_prefix="/", description="Courses, sessions, hours, requirements")
EVERYONE = ("staff", "supervisor", "branch_manager", "auditor", "service")
SUPERVISING = ("supervisor", "branch_manager")


# -- courses ---------------------------------------------------------------------------------------
@blp.get("/courses")
@access(*EVERYONE)
@blp.arguments(schemas.CourseQuery, location="query")
@blp.response(200, schemas.CoursePage)
def list_courses(args):
    """The course catalogue / 课程目录"""
    items, total = service.list_courses(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/courses")
@access()  # network_admin only
@blp.arguments(schemas.CourseIn)
@blp.response(201, schemas.Course)
def create_course(data):
    """Add a course (network_admin) / 新增课程"""
    return service.create_course(db(), auth.current(), data)


@blp.get("/courses/<course_id>")
@access(*EVERYONE)
@blp.response(200, schemas.Course)
def get_course(course_id):
    """One course / 课程详情"""
    return service.get_course(db(), course_id)


@blp.patch("/courses/<course_id>")
@access()
@blp.arguments(schemas.CoursePatch)
@blp.response(200, schemas.Course)
def patch_course(changes, course_id):
    """Change a course, or retire it with active=false (network_admin) / 修改课程"""
    return service.update_course(db(), auth.current(), course_id, changes)


@blp.post("/courses/<course_id>/versions")
@access()
@blp.arguments(schemas.VersionIn)
@blp.response(201, schemas.PublishedVersion)
def publish_version(data, course_id):
    """Publish a new version; the regulation course is then required of every active staff member / 发布新版本"""
    return service.publish_version(db(), auth.current(), course_id, data)


@blp.post("/courses/<course_id>/assignments")
@access("supervisor", "branch_manager")
@blp.arguments(schemas.AssignIn)
@blp.response(201, schemas.Assigned)
def assign_course(data, course_id):
    """Require a course of some staff, a branch or everyone (network_admin); supervisors and branch
    managers of staff of their own branch / 指派必修课程"""
    return service.assign_course(db(), auth.current(), course_id, data)


# -- sessions ---------------------------------------------------------------------------------------
@blp.get("/sessions")
@access(*EVERYONE)
@blp.arguments(schemas.SessionQuery, location="query")
@blp.response(200, schemas.SessionPage)
def list_sessions(args):
    """Sessions, by course, branch (network-wide ones included) and date / 培训场次"""
    items, total = service.list_sessions(db(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/sessions")
@access("branch_manager")
@blp.arguments(schemas.SessionIn)
@blp.response(201, schemas.SessionOut)
def create_session(data):
    """Schedule a session (network_admin; a branch manager for their branch) / 安排培训场次"""
    return service.create_session(db(), auth.current(), data)


@blp.get("/sessions/<session_id>")
@access(*EVERYONE)
@blp.response(200, schemas.SessionOut)
def get_session(session_id):
    """One session with seats taken and the waiting list length / 场次详情"""
    return service.get_session(db(), session_id)


@blp.patch("/sessions/<session_id>")
@access("branch_manager")
@blp.arguments(schemas.SessionPatch)
@blp.response(200, schemas.SessionOut)
def patch_session(changes, session_id):
    """Change place, link or capacity (more seats promote from the waiting list) / 修改场次"""
    return service.update_session(db(), auth.current(), session_id, changes)


@blp.post("/sessions/<session_id>/cancel")
@access("branch_manager")
@blp.arguments(schemas.SessionCancelIn)
@blp.response(200, schemas.SessionOut)
def cancel_session(data, session_id):
    """Cancel a session and every enrolment in it / 取消场次"""
    return service.cancel_session(db(), auth.current(), session_id, data["reason"])


@blp.post("/sessions/<session_id>/enrolments")
@access("staff", *SUPERVISING)
@blp.arguments(schemas.EnrolIn)
@blp.response(201, schemas.Enrolment)
def enrol(data, session_id):
    """Enrol yourself (or, as a supervisor, staff of your branch); full → waiting list / 报名"""
    return service.enrol(db(), auth.current(), session_id, data.get("staff_id"))


@blp.get("/sessions/<session_id>/enrolments")
@access("staff", *SUPERVISING, "auditor", "service")
@blp.arguments(PageArgs, location="query")
@blp.response(200, schemas.EnrolmentPage)
def list_enrolments(args, session_id):
    """Enrolments of a session (the trainer sees all; supervisors their branch; staff their own) / 报名名单"""
    items, total = service.list_enrolments(db(), auth.current(), session_id, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/sessions/<session_id>/attendance")
@access("staff", *SUPERVISING)
@blp.arguments(schemas.AttendanceIn)
@blp.response(200, schemas.AttendanceOut)
def record_attendance(data, session_id):
    """Record attendance and scores (the trainer, or supervisors for their branch) / 登记出勤与成绩"""
    return {"items": service.record_attendance(db(), auth.current(), session_id, data["records"])}


@blp.post("/enrolments/<enrolment_id>/cancel")
@access("staff", *SUPERVISING)
@blp.arguments(schemas.CancelIn)
@blp.response(200, schemas.Enrolment)
def cancel_enrolment(data, enrolment_id):
    """Cancel an enrolment; the first one waiting takes the seat / 取消报名"""
    return service.cancel_enrolment(db(), auth.current(), enrolment_id, data.get("reason"))


# -- certificates -------------------------------------------------------------------------------------
@blp.get("/certificates/<code>")
@access(anonymous=True)
@rate_limited(60)
@blp.response(200, schemas.Certificate)
def verify_certificate(code):
    """Check a training certificate by its verification code, no account needed / 证书查验"""
    return service.verify_certificate(db(), code)


# -- external activities -----------------------------------------------------------------------------
@blp.post("/external-activities")
@access("staff", *SUPERVISING)
@blp.arguments(schemas.ExternalIn)
@blp.response(201, schemas.External)
def submit_external(data):
    """Report a seminar, academic forum, conference, networking event or teaching / 提交外部学习活动"""
    return service.submit_external(db(), auth.current(), data)


@blp.get("/external-activities")
@access("staff", *SUPERVISING, "auditor", "service")
@blp.arguments(schemas.ExternalQuery, location="query")
@blp.response(200, schemas.ExternalPage)
def list_external(args):
    """External activities: staff their own, supervisors their branch / 外部学习活动"""
    items, total = service.list_external(db(), auth.current(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/external-activities/<activity_id>/approve")
@access(*SUPERVISING)
@blp.arguments(schemas.DecisionIn)
@blp.response(200, schemas.External)
def approve_external(data, activity_id):
    """Approve: hours credited with the kind's factor / 审批通过"""
    return service.approve_external(db(), auth.current(), activity_id, data.get("note"))


@blp.post("/external-activities/<activity_id>/reject")
@access(*SUPERVISING)
@blp.arguments(schemas.RejectIn)
@blp.response(200, schemas.External)
def reject_external(data, activity_id):
    """Reject, saying why / 驳回"""
    return service.reject_external(db(), auth.current(), activity_id, data["note"])


# -- requirements, policy ----------------------------------------------------------------------------
@blp.get("/requirements")
@access(*EVERYONE)
@blp.arguments(schemas.RequirementQuery, location="query")
@blp.response(200, schemas.RequirementPage)
def list_requirements(args):
    """Training requirements: staff their own, supervisors their branch / 培训要求"""
    items, total = service.list_requirements(db(), auth.current(), args, args["page"], args["page_size"])
    return page(items, total, args)


@blp.post("/requirements/<requirement_id>/waive")
@access()
@blp.arguments(schemas.WaiveIn)
@blp.response(200, schemas.Requirement)
def waive_requirement(data, requirement_id):
    """Excuse someone from an open requirement (network_admin) / 豁免培训要求"""
    return service.waive_requirement(db(), auth.current(), requirement_id, data["reason"])


@blp.get("/policy")
@access(*EVERYONE)
@blp.response(200, schemas.PolicySchema)
def get_policy():
    """Hours required, credit factors, thresholds and deadlines in force / 继续教育政策"""
    return service.read_policy(db())


@blp.put("/policy")
@access()
@blp.arguments(schemas.PolicySchema)
@blp.response(200, schemas.PolicySchema)
def put_policy(data):
    """Change the policy; fields left out keep their defaults (network_admin) / 修改继续教育政策"""
    return service.set_policy(db(), auth.current(), data)


# -- views ----------------------------------------------------------------------------------------------
@blp.get("/staff/<staff_id>/transcript")
@access(*EVERYONE)
@blp.arguments(schemas.YearQuery, location="query")
@blp.response(200, schemas.Transcript)
def transcript(args, staff_id):
    """A staff member's transcript: completed, hours against the requirement, upcoming, overdue / 培训档案"""
    return service.transcript(db(), auth.current(), staff_id, args.get("year"))


@blp.get("/reports/compliance")
@access(*SUPERVISING, "auditor", "service")
@blp.arguments(schemas.ComplianceQuery, location="query")
@blp.response(200, schemas.Compliance)
def compliance(args):
    """Share of staff meeting each requirement, per branch / 分馆培训达标情况"""
    return service.compliance(db(), auth.current(), args.get("branch_id"), args.get("year"))


@blp.get("/reports/compliance.csv")
@access(*SUPERVISING, "auditor", "service")
@blp.arguments(schemas.ComplianceQuery, location="query")
@blp.response(200, content_type="text/csv")
def compliance_csv(args):
    """The compliance report as CSV (UTF-8, opens in Excel) / 达标情况导出 CSV"""
    report = service.compliance(db(), auth.current(), args.get("branch_id"), args.get("year"))
    year = report["year"]
    return Response(service.compliance_csv(report), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="training-compliance-{year}.csv"'})
