"""Reports HTTP API: parse the period, check access, compute, respond as JSON, CSV or XLSX."""
from __future__ import annotations

from datetime import date

from flask import Response
from flask_smorest import Blueprint

from services.reports import exports, model, schemas, service
from shared import auth
from shared.auth import access
from shared.web import db

blp = Blueprint("reports", __name__, url_prefix="/reports", description="Periodic figures / 统计报表")
READERS = ("supervisor", "branch_manager", "auditor", "service")
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _period(args) -> model.Period:
    return model.parse_period(args.get("period"), args.get("from_"), args.get("to"), service.today())


def _respond(report: str, data: dict, args, name: str):
    fmt = args.get("format", "json")
    if fmt == "json":
        return data
    sheets = exports.tables(report, data)
    body = exports.to_csv(sheets) if fmt == "csv" else exports.to_xlsx(sheets)
    return Response(body, mimetype=MIME[fmt],
                    headers={"Content-Disposition": f'attachment; filename="lsq-{report}-{name}.{fmt}"'})


def _files(schema) -> dict:
    """The 200 response documented in its three formats (``format`` query argument)."""
    return {"200": {"description": "the report; `format=csv` or `format=xlsx` gives a download instead",
                    "content": {"application/json": {"schema": schema},
                                MIME["csv"]: {"schema": {"type": "string"}},
                                MIME["xlsx"]: {"schema": {"type": "string", "format": "binary"}}}}}


@blp.get("/overview")
@access(*READERS)
@blp.arguments(schemas.ScopedArgs, location="query")
@blp.response(200, schemas.Overview)
@blp.doc(responses=_files(schemas.Overview))
def overview(args):
    """Network (or one branch's) overview of a period, beside the previous period / 全馆概览"""
    period = _period(args)
    data = service.overview(db(), auth.current(), period, args.get("branch_id"))
    return _respond("overview", data, args, period.label)


@blp.get("/comparison")
@access(*READERS)
@blp.arguments(schemas.ComparisonArgs, location="query")
@blp.response(200, schemas.Comparison)
@blp.doc(responses=_files(schemas.Comparison))
def comparison(args):
    """Every figure per branch beside the network median, sortable, with the change from the previous
    period (branch roles: their own branch only, and the network's median and total) / 分馆对比"""
    period = _period(args)
    data = service.comparison(db(), auth.current(), period, args.get("sort"), args["order"])
    return _respond("comparison", data, args, period.label)


@blp.get("/trends")
@access(*READERS)
@blp.arguments(schemas.TrendArgs, location="query")
@blp.response(200, schemas.Trends)
@blp.doc(responses=_files(schemas.Trends))
def trends(args):
    """Every figure month by month, up to 36 months / 月度趋势"""
    today = service.today()
    last = model.parse_month(args["to"], "to") if args.get("to") else date(today.year, today.month, 1)
    if args.get("from_"):
        first = model.parse_month(args["from_"], "from")
    else:
        first = date(last.year - (1 if last.month < 12 else 0), (last.month % 12) + 1, 1)
    if first > last:
        raise model.Invalid("from is after to", "起始月份晚于结束月份", field="from")
    months = model.months_of(first, last)
    if len(months) > model.MAX_TREND_MONTHS:
        raise model.Invalid("a trend spans at most 36 months", "趋势最长 36 个月", field="from")
    data = service.trends(db(), auth.current(), months, args.get("branch_id"))
    return _respond("trends", data, args, f"{data['from']}-{data['to']}")


@blp.get("/sla")
@access(*READERS)
@blp.arguments(schemas.SlaArgs, location="query")
@blp.response(200, schemas.SlaBoard)
@blp.doc(responses=_files(schemas.SlaBoard))
def sla(args):
    """Complaint SLA board: achievement per severity and branch, breached and at-risk complaints / 投诉时限看板"""
    period = _period(args)
    data = service.sla_board(db(), auth.current(), period, args.get("branch_id"), limit=args["limit"])
    return _respond("sla", data, args, period.label)


@blp.get("/surveys")
@access(*READERS)
@blp.arguments(schemas.ScopedArgs, location="query")
@blp.response(200, schemas.Surveys)
@blp.doc(responses=_files(schemas.Surveys))
def surveys(args):
    """LibQUAL+ results of the period: zone of tolerance and gaps per dimension and item, per user group
    and branch; small groups suppressed, also by subtraction / 读者满意度调查结果"""
    period = _period(args)
    data = service.surveys(db(), auth.current(), period, args.get("branch_id"))
    return _respond("surveys", data, args, period.label)


@blp.get("/staff/<staff_id>")
@access("staff", *READERS)
@blp.arguments(schemas.PeriodArgs, location="query")
@blp.response(200, schemas.StaffProfile)
@blp.doc(responses=_files(schemas.StaffProfile))
def staff_profile(args, staff_id):
    """One staff member's profile: scores across cycles, complaints and praise, desk ratings, training
    hours, ledger (staff: their own; supervisors and managers: their branch's) / 员工个人档案"""
    period = _period(args)
    data = service.staff_profile(db(), auth.current(), staff_id, period)
    return _respond("staff", data, args, period.label)


@blp.get("/review")
@access(*READERS)
@blp.arguments(schemas.ScopedArgs, location="query")
@blp.response(200, schemas.Review)
@blp.doc(responses=_files(schemas.Review))
def review(args):
    """Effectiveness review: this period against the previous one and a year before, each figure with a
    sentence in Chinese and English, worse areas first / 成效评估与总结"""
    period = _period(args)
    data = service.review(db(), auth.current(), period, args.get("branch_id"))
    return _respond("review", data, args, period.label)
