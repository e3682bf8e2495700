"""Reports as tables for people: CSV (UTF-8 with BOM, so Excel shows the Chinese) and XLSX (one
sheet per table, bilingual headers, numbers as numbers, frozen header row). Names, not ids."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime

from services.reports import model
from shared.timeutil import network_zone


@dataclass
class Table:
    title_zh: str
    title_en: str
    columns: list[tuple[str, str]]  # (zh, en)
    rows: list[list]


SEVERITY_ZH = {"urgent": "紧急", "high": "高", "normal": "一般", "low": "低"}
LEVEL_ZH = {"notice": "提醒", "verbal_warning": "口头警告", "written_warning": "书面警告",
            "improvement_plan": "改进计划", "referral": "移交处理"}
GRADE_ZH = {"excellent": "优秀", "good": "良好", "satisfactory": "合格", "unsatisfactory": "不合格"}
TARGET_ZH = {"acknowledge": "响应", "resolve": "办结"}
STATUS_ZH = {"met_late": "逾期完成", "open": "逾期未完成", "at_risk": "即将超时"}


def _figure_rows(values: dict) -> list[list]:
    return [[f.zh, f.en, values.get(f.key)] for f in model.FIGURES]


def _local(moment: datetime | None):
    return None if moment is None else moment.astimezone(network_zone()).replace(tzinfo=None)


def tables(report: str, data: dict) -> list[Table]:
    """The tables of one report's JSON."""
    if report == "overview":
        rows = [[f["label_zh"], f["label_en"], f["value"], f["previous"], f["change"]["delta"]] for f in data["figures"]]
        d = data["details"]
        return [Table("概览", "Overview", [("指标", "Figure"), ("指标（英文）", "Figure (English)"),
                                            (f"本期 {data['period']['label']}", f"This period {data['period']['label']}"),
                                            ("上期", "Previous period"), ("变化", "Change")], rows),
                Table("考核等级", "Grades", [("等级", "Grade"), ("等级（英文）", "Grade (English)"), ("人数", "Staff")],
                      [[GRADE_ZH[g], g, n] for g, n in d["grades"].items()]),
                Table("处理等级", "Sanctions", [("等级", "Level"), ("等级（英文）", "Level (English)"), ("数量", "Count")],
                      [[LEVEL_ZH[k], k, n] for k, n in d["sanctions_by_level"].items()]),
                _survey_table("问卷维度", "Survey dimensions", d["survey_dimensions"], None)]
    if report == "comparison":
        keys = [f["key"] for f in data["figures"]]
        columns = [("分馆", "Branch"), ("分馆（英文）", "Branch (English)")] + \
            [(model.FIGURE[k].zh, model.FIGURE[k].en) for k in keys]
        rows = [[b["name_zh"], b["name_en"]] + [b["values"][k] for k in keys] for b in data["branches"]]
        rows.append(["全馆中位数", "Network median"] + [data["network_median"][k] for k in keys])
        rows.append(["全馆合计", "Network"] + [data["network"][k] for k in keys])
        changes = [[b["name_zh"], b["name_en"]] + [b["change"][k] for k in keys] for b in data["branches"]]
        return [Table("分馆对比", "Branch comparison", columns, rows),
                Table("较上期变化", "Change from previous", columns, changes)]
    if report == "trends":
        keys = [f["key"] for f in data["figures"]]
        columns = [("月份", "Month")] + [(model.FIGURE[k].zh, model.FIGURE[k].en) for k in keys]
        return [Table("月度趋势", "Trends", columns, [[m["month"]] + [m["values"][k] for k in keys]
                                                    for m in data["months"]])]
    if report == "sla":
        head = [("投诉数", "Complaints"), ("按时响应率", "Acknowledged on time"), ("按时办结率", "Resolved on time"),
                ("超时数", "Breached")]

        def figures(r):
            return [r["complaints_filed"], r["acknowledged_on_time_rate"], r["resolved_on_time_rate"],
                    r["complaints_breached"]]
        listing = [("编号", "Complaint"), ("分馆", "Branch"), ("服务点", "Service point"), ("经办人", "Handler"),
                   ("紧急程度", "Severity"), ("时限", "Target"), ("受理时间", "Filed"), ("时限到期", "Due"),
                   ("完成时间", "Met"), ("超时（小时）", "Hours over target"), ("状态", "Status")]

        def items(entries):
            return [[e["complaint_id"], e["branch_name_zh"], e["service_point_zh"], e["staff_name"],
                     SEVERITY_ZH.get(e["severity"], e["severity"]), TARGET_ZH[e["target"]], _local(e["filed_at"]),
                     _local(e["due_at"]), _local(e["met_at"]), e["hours_over_target"], STATUS_ZH[e["status"]]]
                    for e in entries]
        return [Table("按紧急程度", "By severity", [("紧急程度", "Severity")] + head,
                      [[SEVERITY_ZH[r["severity"]]] + figures(r) for r in data["by_severity"]]),
                Table("按分馆", "By branch", [("分馆", "Branch")] + head,
                      [[r["name_zh"]] + figures(r) for r in data["by_branch"]]),
                Table("超时投诉", "Breached", listing, items(data["breached"])),
                Table("即将超时", "At risk", listing, items(data["at_risk"]))]
    if report == "surveys":
        return [_survey_table("总体", "Overall", data["overall"], None),
                _survey_table("按读者类型", "By user group", data["by_user_group"], "user_group"),
                _survey_table("按分馆", "By branch", data["by_branch"], "branch_name_zh")]
    if report == "staff":
        s = data["staff"]
        summary = [["姓名", "Name", s["name"]], ["分馆", "Branch", s.get("branch_name_zh")],
                   ["投诉", "Complaints", data["complaints"]["filed"]],
                   ["属实投诉", "Substantiated", data["complaints"]["substantiated"]],
                   ["表扬", "Praise", data["praise"]], ["服务台评价数", "Desk ratings", data["desk"]["ratings"]],
                   ["平均星级", "Mean stars", data["desk"]["stars_mean"]],
                   ["继续教育学时", "Credit hours", data["training"]["credit_hours"]]]
        return [Table("个人概况", "Profile", [("项目", "Item"), ("项目（英文）", "Item (English)"), ("数值", "Value")],
                      summary),
                Table("历次考核", "Evaluations", [("周期", "Period"), ("得分", "Score"), ("等级", "Grade")],
                      [[e["period"], e["score"], GRADE_ZH.get(e["grade"], e["grade"])] for e in data["evaluations"]]),
                Table("奖惩记录", "Ledger", [("类别", "Kind"), ("明细", "Detail"), ("金额", "Amount"), ("时间", "When"),
                                          ("原因", "Reason"), ("状态", "State")],
                      [[e["kind"], LEVEL_ZH.get(e["detail"], e["detail"]), e["amount"], _local(e["at"]), e["reason_zh"],
                        e["state"]] for e in data["ledger"]])]
    if report == "review":
        rows = [[line["label_zh"], line["label_en"], line["value"], line["previous"], line["year_before"],
                 line["change_previous"]["delta"], line["change_year_before"]["delta"],
                 line["sentence_previous"]["zh"], line["sentence_previous"]["en"]] for line in data["lines"]]
        return [Table("成效评估", "Effectiveness review",
                      [("指标", "Figure"), ("指标（英文）", "Figure (English)"), ("本期", "This period"),
                       ("上期", "Previous period"), ("去年同期", "A year before"), ("较上期", "Change on previous"),
                       ("较去年同期", "Change on a year before"), ("说明", "Summary (Chinese)"),
                       ("说明（英文）", "Summary (English)")], rows)]
    raise ValueError(report)


def _survey_table(zh: str, en: str, cells: list[dict], group: str | None) -> Table:
    columns = ([("分组", "Group")] if group else []) + [
        ("维度", "Dimension"), ("题目", "Item"), ("样本数", "Answers"), ("已隐藏", "Suppressed"),
        ("最低", "Minimum"), ("期望", "Desired"), ("感知", "Perceived"), ("适足差距", "Adequacy gap"),
        ("优越差距", "Superiority gap")]
    rows = [([c.get(group)] if group else []) + [c["dimension"], c.get("item_code"), c["n"],
                                                 "是" if c["suppressed"] else "否", c["minimum"], c["desired"],
                                                 c["perceived"], c["adequacy_gap"], c["superiority_gap"]]
            for c in cells]
    return Table(zh, en, columns, rows)


def _cell(value):
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def to_csv(sheets: list[Table]) -> bytes:
    """Every table one after another, each under a title line, a blank line between them."""
    out = io.StringIO()
    writer = csv.writer(out)
    for index, sheet in enumerate(sheets):
        if index:
            writer.writerow([])
        writer.writerow([f"{sheet.title_zh} / {sheet.title_en}"])
        writer.writerow([f"{zh} / {en}" for zh, en in sheet.columns])
        for row in sheet.rows:
            writer.writerow([_cell(v) for v in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(sheets: list[Table]) -> bytes:
    """One worksheet per table: bilingual header row (frozen), numbers as numbers."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        ws = book.create_sheet(f"{sheet.title_zh} {sheet.title_en}"[:31])
        ws.append([f"{zh} / {en}" for zh, en in sheet.columns])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in sheet.rows:
            ws.append([None if v is None else v for v in row])
        ws.freeze_panes = "A2"
        for index, (zh, en) in enumerate(sheet.columns, start=1):
            ws.column_dimensions[ws.cell(1, index).column_letter].width = min(40, max(12, len(zh) * 2 + 4, len(en) + 2))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
