"""The reports area of the portal: the figures of the reports service (port 8106) as pages.

- ``/reports/``: the dashboard (the network's overview; a branch role's own branch beside the network).
- ``/reports/comparison``: every figure per branch beside the network median, sortable, with the
  change from the previous period.
- ``/reports/trends``: month by month. ``/reports/sla``: the complaint SLA board.
- ``/reports/surveys``: LibQUAL+ results (zone of tolerance, gaps, radar and bar charts).
- ``/reports/staff/<id>``: a staff member's profile (``/reports/me`` for one's own).
- ``/reports/review``: the effectiveness review (成效评估与总结), its printable page and its PDF.
- ``/reports/download/<report>``: the service's CSV or XLSX of the same figures, fetched with the
  user's token and passed through.

Every page has the same period switch (a plain GET form: month, quarter, year or from–to). The
reports service decides what each role sees (a branch role: its own branch and the network's
totals and medians); the portal only shows what comes back. Charts are drawn by
``static/reports/charts.js`` (ECharts, SVG) from JSON in ``<script type="application/json">``;
each has its data table beside it.
"""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l

from services.portal import i18n, labels, pages, web
from services.portal.api_client import ApiError, ServiceUnavailable
from shared.timeutil import local_today

bp = Blueprint("reports", __name__, url_prefix="/reports")

#: Who reads the branch and network reports (network_admin always passes).
READERS = ("supervisor", "branch_manager", "auditor")
#: Roles that see the whole network and may pick a branch.
NETWORK_ROLES = ("auditor", "network_admin")
DOWNLOADS = {"overview": "/reports/overview", "comparison": "/reports/comparison", "trends": "/reports/trends",
             "sla": "/reports/sla", "surveys": "/reports/surveys", "review": "/reports/review"}
MIME = {"csv": "text/csv; charset=utf-8",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
KINDS = ("quarter", "month", "year", "range")

web.add_nav("reports.dashboard", _l("Reports"), roles=READERS, order=60)
web.add_nav("reports.me", _l("My figures"), roles=("staff",), order=61)

#: LibQUAL+ dimensions and user groups of the standard questionnaire (the survey report sends
#: codes; item wording comes from the feedback service's questionnaire when it answers).
DIMENSIONS = {"affect": _l("Affect of service"), "affect_of_service": _l("Affect of service"),
              "information_control": _l("Information control"), "place": _l("Library as place"),
              "library_as_place": _l("Library as place")}
USER_GROUPS = {"student": _l("Student"), "working_adult": _l("Working adult"), "senior": _l("Senior reader"),
               "parent_child": _l("Parent or child reader"), "researcher": _l("Teacher or researcher"),
               "other": _l("Other readers"), "faculty": _l("Teaching staff"), "": _l("Did not say")}
SLA_STATUS = {"met_late": _l("Met late"), "open": _l("Still open, past its time"), "at_risk": _l("At risk")}
TARGETS = {"acknowledge": _l("Acknowledge"), "resolve": _l("Resolve")}


# -- period switch ----------------------------------------------------------------------------------
class PeriodChoice:
    """What the period switch shows and what the API is asked: ``period=`` or ``from``/``to``.

    Read from ``period`` (a link) or from the form's ``kind`` with ``year``/``quarter``/``month`` or
    ``from``/``to``; nothing means the current quarter. The API checks the values (a 422 naming
    the field is shown on the page)."""

    def __init__(self, args):
        today = local_today()
        self.kind = args.get("kind") if args.get("kind") in KINDS else None
        self.year = _int(args.get("year"), today.year)
        self.quarter = _int(args.get("quarter"), (today.month - 1) // 3 + 1)
        self.month = _int(args.get("month"), today.month)
        self.start = (args.get("from") or "").strip()
        self.end = (args.get("to") or "").strip()
        label = (args.get("period") or "").strip()
        if label and not self.kind:
            found = re.fullmatch(r"(\d{4})(?:-(?:Q([1-4])|(\d{2})))?", label)
            if found:
                self.year = int(found[1])
                self.kind = "quarter" if found[2] else "month" if found[3] else "year"
                self.quarter = int(found[2]) if found[2] else self.quarter
                self.month = int(found[3]) if found[3] else self.month
            else:
                self.kind, self.invalid = "quarter", label
        if self.kind is None:
            self.kind = "range" if (self.start or self.end) else "quarter"
        self.invalid = getattr(self, "invalid", None)

    def params(self) -> dict:
        """The API's period arguments."""
        if self.invalid:
            return {"period": self.invalid}
        if self.kind == "range":
            return {"from": self.start, "to": self.end}
        return {"period": self.label_code()}

    def label_code(self) -> str:
        if self.kind == "year":
            return f"{self.year}"
        if self.kind == "month":
            return f"{self.year}-{self.month:02d}"
        return f"{self.year}-Q{self.quarter}"

    def years(self) -> list[int]:
        this = local_today().year
        return sorted({*range(this - 4, this + 1), self.year}, reverse=True)


def _int(text, default: int) -> int:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


def period_name(period: dict | None) -> str:
    """An API period as a person reads it: 2026年第3季度 / Q3 2026, 2026年11月, 2026年, a date range."""
    if not period:
        return ""
    start, end = date.fromisoformat(str(period["start"])[:10]), date.fromisoformat(str(period["end"])[:10])
    kind = period.get("kind")
    if kind == "year":
        return _("Year %(year)s", year=start.year)
    if kind == "quarter":
        return _("Q%(n)s %(year)s", n=(start.month - 1) // 3 + 1, year=start.year)
    if kind == "month":
        return _("%(month)s/%(year)s", month=start.month, year=start.year) if not i18n.is_chinese() \
            else f"{start.year}年{start.month}月"
    return _("%(start)s to %(end)s", start=pages.day(start), end=pages.day(end))


# -- formatting ---------------------------------------------------------------------------------------
def figure_value(value, unit: str | None) -> str:
    """A figure in the user's locale: rates as percentages, money in yuan, counts whole."""
    if value is None:
        return "—"
    if unit == "rate":
        return pages.number(value * 100, 1) + "%"
    if unit == "cny":
        return pages.money(value)
    if unit == "count":
        return pages.number(value, 0)
    return pages.number(value, 1 if unit != "stars" else 2)


def figure_delta(delta, unit: str | None) -> str:
    """A change with its sign: ``+6.0 个百分点`` for rates (the API sends rates' changes in
    percentage points already), ``−3`` for counts."""
    if delta is None:
        return "—"
    sign = "+" if delta > 0 else "−" if delta < 0 else "±"
    size = abs(delta)
    if unit == "rate":
        return _("%(sign)s%(n)s points", sign=sign, n=pages.number(size, 1))
    if unit == "cny":
        return sign + pages.money(size)
    return sign + (pages.number(size, 0) if unit == "count" else pages.number(size, 1))


def assessment_badge(assessment: str | None) -> tuple[str, str]:
    """(css class, words) of a change's assessment: colour is never the only signal."""
    return {"better": ("ok", _("Better")), "worse": ("bad", _("Worse")), "same": ("muted", _("No change")),
            "neutral": ("muted", _("For information"))}.get(assessment or "", ("muted", _("No comparison")))


def report_day(value) -> str:
    """A day the reports service sends: ISO (``2026-12-04``) or, for a date inside a free-form
    JSON object such as the review's ``summary.generated_on``, Flask's HTTP date
    (``Fri, 04 Dec 2026 00:00:00 GMT``)."""
    if isinstance(value, str) and not re.match(r"\d{4}-\d{2}-\d{2}", value):
        from email.utils import parsedate_to_datetime
        try:
            value = parsedate_to_datetime(value).date()
        except (TypeError, ValueError):
            return value
    return pages.day(value)


def dimension_name(code: str | None) -> str:
    return str(DIMENSIONS.get(code or "", code or ""))


def group_name(code: str | None) -> str:
    return str(USER_GROUPS.get(code or "", code or ""))


PERIOD_ARGS = ("period", "kind", "year", "quarter", "month", "from", "to", "branch_id")


def period_query(keep_sort: bool = False) -> dict:
    """The period (and branch) of this page as query arguments, for links to the other reports
    and to the downloads (so they show the same figures)."""
    names = PERIOD_ARGS + (("sort", "order") if keep_sort else ())
    return {k: v for k, v in request.args.items() if k in names and v}


@bp.app_context_processor
def _helpers():
    return {"period_query": period_query, "report_day": report_day, "figure_value": figure_value, "figure_delta": figure_delta, "assessment_badge": assessment_badge,
            "period_name": period_name, "dimension_name": dimension_name, "group_name": group_name,
            "sla_status": lambda code: str(SLA_STATUS.get(code, code)), "target_name": lambda c: str(TARGETS.get(c, c))}


# -- calling the reports service ----------------------------------------------------------------------
def _user() -> dict:
    return web.current_user() or {}


def _network_wide() -> bool:
    return _user().get("role") in NETWORK_ROLES


def _branch_param() -> str | None:
    """The branch a page is about: a branch role's own; a network role's choice (None: network)."""
    if _network_wide():
        return (request.args.get("branch_id") or "").strip() or None
    return _user().get("branch_id")


def _report(path: str, params: dict):
    """The report's JSON, or (None, message, status) when the API refused the arguments."""
    try:
        return web.api("reports", "GET", path, params=params), None, 200
    except ApiError as error:
        if error.status in (403, 404):
            abort(404)  # another branch's figures: the same page as one that does not exist
        errors = i18n.field_errors(error)
        detail = "; ".join(m for messages in errors.values() for m in messages) if errors else ""
        return None, detail or i18n.api_message(error), error.status


def _branch_options() -> list[dict]:
    """Branches a network role may pick (names from the reports' comparison, which lists them all)."""
    if not _network_wide():
        return []
    try:
        found = web.api("reports", "GET", "/reports/comparison", params={"period": f"{local_today().year}"})
    except (ApiError, ServiceUnavailable):
        return []
    return [{"branch_id": b["branch_id"], "name": i18n.pick(b["name_zh"], b["name_en"])} for b in found["branches"]]


def _page(template: str, status: int = 200, **context):
    choice = context.pop("choice")
    base = {k: v for k, v in request.args.items() if k not in ("format", "lang")}
    return render_template(template, choice=choice, branches=_branch_options(), branch_id=_branch_param(),
                           network_wide=_network_wide(), query=base, **context), status


def _figures_by_key(figures: list[dict]) -> dict:
    return {f["key"]: f for f in figures}


def _label(entry: dict) -> str:
    return i18n.pick(entry.get("label_zh"), entry.get("label_en"))


# -- pages ---------------------------------------------------------------------------------------------
@bp.get("/")
@web.signed_in(*READERS)
def dashboard():
    """The network's overview, or a branch role's own branch beside the network."""
    choice = PeriodChoice(request.args)
    branch_id = _branch_param()
    data, error, status = _report("/reports/overview", {**choice.params(), "branch_id": branch_id})
    network = None
    if data is not None and branch_id:
        network, _e, _s = _report("/reports/overview", choice.params())
    spec = None
    if data:
        keys = ("acknowledged_on_time_rate", "resolved_on_time_rate", "substantiated_share",
                "training_compliance_share", "excellent_share")
        shown = [f for f in data["figures"] if f["key"] in keys]
        spec = {"kind": "bars", "percent": True, "categories": [_label(f) for f in shown],
                 "series": [{"name": period_name(data["period"]), "values": [_pct(f["value"]) for f in shown]},
                            {"name": period_name(data["previous_period"]),
                             "values": [_pct(f["previous"]) for f in shown]}]}
    network_values = {f["key"]: f["value"] for f in network["figures"]} if network else {}
    return _page("reports/dashboard.html", status, choice=choice, data=data, error=error, spec=spec,
                 network_values=network_values, report="overview")


def _pct(value):
    return None if value is None else round(value * 100, 1)


@bp.get("/comparison")
@web.signed_in(*READERS)
def comparison():
    """Every figure per branch beside the network median, sortable, with the change."""
    choice = PeriodChoice(request.args)
    sort = request.args.get("sort") or None
    order = request.args.get("order") if request.args.get("order") in ("asc", "desc") else "desc"
    data, error, status = _report("/reports/comparison", {**choice.params(), "sort": sort, "order": order})
    spec = None
    if data:
        info = _figures_by_key(data["figures"])
        key = sort if sort in info else "resolved_on_time_rate"
        unit = info[key]["unit"]
        scale = (lambda v: _pct(v)) if unit == "rate" else (lambda v: v)
        rows = data["branches"]
        spec = {"kind": "bars", "percent": unit == "rate", "title": _label(info[key]),
                 "categories": [i18n.pick(r["name_zh"], r["name_en"]) for r in rows] + [_("Network median")],
                 "series": [{"name": _label(info[key]),
                             "values": [scale(r["values"][key]) for r in rows] + [scale(data["network_median"][key])]}]}
        spec["chart_key"] = key
    return _page("reports/comparison.html", status, choice=choice, data=data, error=error, spec=spec,
                 sort=sort, order=order, report="comparison")


@bp.get("/trends")
@web.signed_in(*READERS)
def trends():
    """Figures month by month (the months of the chosen period; 12 months back by default)."""
    choice = PeriodChoice(request.args)
    params = {"branch_id": _branch_param()}
    months = _months_of(choice)
    if months:
        params.update({"from": months[0], "to": months[1]})
    data, error, status = _report("/reports/trends", params)
    charts = []
    if data:
        labels = [m["month"] for m in data["months"]]
        groups = (("complaints_filed", "complaints_breached", "praise"),
                  ("acknowledged_on_time_rate", "resolved_on_time_rate"),
                  ("desk_stars_mean", "resolution_rating_mean"))
        info = _figures_by_key(data["figures"])
        for index, keys in enumerate(groups):
            percent = info[keys[0]]["unit"] == "rate"
            charts.append({"id": f"trend-{index}", "kind": "line", "percent": percent, "categories": labels,
                           "series": [{"name": _label(info[k]),
                                       "values": [(_pct(m["values"][k]) if percent else m["values"][k])
                                                  for m in data["months"]]} for k in keys]})
    return _page("reports/trends.html", status, choice=choice, data=data, error=error, charts=charts,
                 report="trends", download_params=params)


def _months_of(choice: PeriodChoice) -> tuple[str, str] | None:
    """The first and last month (YYYY-MM) a trend shows for the chosen period; None: the default."""
    if choice.invalid:
        return None
    if choice.kind == "year":
        return f"{choice.year}-01", f"{choice.year}-12"
    if choice.kind == "quarter" and (request.args.get("kind") or request.args.get("period")):
        first = 3 * choice.quarter - 2
        return f"{choice.year}-{first:02d}", f"{choice.year}-{first + 2:02d}"
    if choice.kind == "month":
        return f"{choice.year}-{choice.month:02d}", f"{choice.year}-{choice.month:02d}"
    if choice.kind == "range" and choice.start and choice.end:
        return choice.start[:7], choice.end[:7]
    return None


@bp.get("/sla")
@web.signed_in(*READERS)
def sla():
    """The complaint SLA board."""
    choice = PeriodChoice(request.args)
    data, error, status = _report("/reports/sla", {**choice.params(), "branch_id": _branch_param()})
    spec = None
    if data:
        rows = data["by_severity"]
        spec = {"kind": "bars", "percent": True, "categories": [labels.label("severity", r["severity"]) for r in rows],
                 "series": [{"name": _("Acknowledged on time"), "values": [_pct(r["acknowledged_on_time_rate"]) for r in rows]},
                            {"name": _("Resolved on time"), "values": [_pct(r["resolved_on_time_rate"]) for r in rows]}]}
    return _page("reports/sla.html", status, choice=choice, data=data, error=error, spec=spec, report="sla",
                 severity_of=lambda row: labels.label("severity", row["severity"]),
                 branch_of=lambda row: i18n.pick(row["name_zh"], row["name_en"]))


@bp.get("/surveys")
@web.signed_in(*READERS)
def surveys():
    """LibQUAL+ results: zone of tolerance with the perceived mean, gaps, a radar beside a bar chart."""
    choice = PeriodChoice(request.args)
    data, error, status = _report("/reports/surveys", {**choice.params(), "branch_id": _branch_param()})
    items = _item_texts()
    radar = bars = None
    if data:
        dims = [c for c in data["overall"] if c["level"] == "dimension" and not c["suppressed"]]
        names = [dimension_name(c["dimension"]) for c in dims]
        if len(dims) < 3:  # a radar of one or two spokes is a line: draw the items instead
            dims = [c for c in data["overall"] if c["level"] == "item" and not c["suppressed"]]
            names = [items.get(c["item_code"], c["item_code"]) for c in dims]
        series = [{"name": _("Minimum"), "values": [c["minimum"] for c in dims]},
                  {"name": _("Desired"), "values": [c["desired"] for c in dims]},
                  {"name": _("Perceived"), "values": [c["perceived"] for c in dims]}]
        radar = {"kind": "radar", "categories": names, "series": series, "max": 9}
        bars = {"kind": "zone", "categories": names, "series": series, "max": 9,
                "labels": {"zone": _("Zone of tolerance"), "perceived": _("Perceived")}}
    return _page("reports/surveys.html", status, choice=choice, data=data, error=error, radar=radar, bars=bars,
                 report="surveys",
                 cell_name=lambda c: (items.get(c["item_code"], c["item_code"]) if c["level"] == "item"
                                      else dimension_name(c["dimension"])),
                 group_of=lambda c: group_name(c.get("user_group")),
                 branch_of=lambda c: i18n.pick(c["branch_name_zh"], c["branch_name_en"]))


def _item_texts() -> dict:
    """Item code → its wording in the page's language, from the feedback service's questionnaires
    (the codes alone when it does not answer: the figures are still worth showing)."""
    try:
        found = web.api("feedback", "GET", "/instruments", params={"page_size": 100})
    except (ApiError, ServiceUnavailable):
        return {}
    texts = {}
    for instrument in found.get("items", []):
        for item in instrument.get("items", []):
            texts.setdefault(item["code"], i18n.pick(item.get("text_zh"), item.get("text_en")))
    return texts


@bp.get("/me")
@web.signed_in("staff", *READERS)
def me():
    """One's own profile."""
    staff_id = _user().get("staff_id")
    if not staff_id:
        abort(404)
    return redirect(url_for("reports.staff", staff_id=staff_id, **request.args))


@bp.get("/staff")
@web.signed_in(*READERS)
def staff_list():
    """Pick a staff member of the branch for their profile."""
    branch_id = _branch_param() or (request.args.get("branch_id") or None)
    people = []
    if branch_id:
        try:
            people = web.api("directory", "GET", "/staff", params={"branch_id": branch_id, "page_size": 500})["items"]
        except ApiError:
            people = []
    return _page("reports/staff_list.html", choice=PeriodChoice(request.args), people=people, report=None)


@bp.get("/staff/<staff_id>")
@web.signed_in("staff", *READERS)
def staff(staff_id: str):
    """A staff member's profile: scores across cycles, complaints and praise, desk, training, ledger."""
    if _user().get("role") == "staff" and staff_id != _user().get("staff_id"):
        abort(404)
    choice = PeriodChoice(request.args)
    data, error, status = _report(f"/reports/staff/{staff_id}", choice.params())
    spec = None
    if data and data["evaluations"]:
        spec = {"kind": "line", "categories": [e["period"] for e in data["evaluations"]],
                 "series": [{"name": _("Score"), "values": [e["score"] for e in data["evaluations"]]}]}
    return _page("reports/staff.html", status, choice=choice, data=data, error=error, spec=spec,
                 staff_id=staff_id, report=None)


@bp.get("/review")
@web.signed_in(*READERS)
def review():
    """The effectiveness review, worse areas first."""
    choice = PeriodChoice(request.args)
    data, error, status = _report("/reports/review", {**choice.params(), "branch_id": _branch_param()})
    return _page("reports/review.html", status, choice=choice, data=data, error=error, report="review")


@bp.get("/review/print")
@web.signed_in(*READERS)
def review_print():
    """The review as a printable page (the PDF is this page)."""
    data, error, status = _review_data()
    return render_template("reports/review_print.html", data=data, error=error, pdf=False), status


@bp.get("/review.pdf")
@web.signed_in(*READERS)
def review_pdf():
    """The printable review as a PDF (WeasyPrint, the CJK font), to send to the network office."""
    data, error, status = _review_data()
    if data is None:
        return render_template("reports/review_print.html", data=None, error=error, pdf=False), status
    from weasyprint import CSS, HTML
    html = render_template("reports/review_print.html", data=data, error=None, pdf=True)
    css = CSS(filename=str(current_app.root_path) + "/static/reports/print.css")
    body = HTML(string=html).write_pdf(stylesheets=[css])
    name = f"lsq-review-{data['period']['label']}".replace("..", "_") + ".pdf"
    return Response(body, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _review_data():
    choice = PeriodChoice(request.args)
    return _report("/reports/review", {**choice.params(), "branch_id": _branch_param()})


@bp.get("/download/<report>")
@web.signed_in(*READERS)
def download(report: str):
    """The report as CSV or XLSX from the reports service, with the user's token, passed through."""
    fmt = request.args.get("format")
    if report not in DOWNLOADS or fmt not in MIME:
        abort(404)
    choice = PeriodChoice(request.args)
    if report == "trends":
        months = _months_of(choice)
        params = {"from": months[0], "to": months[1]} if months else {}
    else:
        params = choice.params()
    if report == "comparison":
        params.update({"sort": request.args.get("sort"), "order": request.args.get("order")})
    else:
        params["branch_id"] = _branch_param()
    try:
        answer = web.api("reports", "GET", DOWNLOADS[report], params={**params, "format": fmt}, raw=True)
    except ApiError as error:
        if error.status in (403, 404):
            abort(404)
        return render_template("error.html", status=error.status, title=_("The report could not be made"),
                               text=i18n.api_message(error)), error.status
    disposition = answer.headers.get("Content-Disposition") or f'attachment; filename="lsq-{report}.{fmt}"'
    return Response(answer.content, mimetype=MIME[fmt], headers={"Content-Disposition": disposition})
