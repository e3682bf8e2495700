"""The admin area: the network's branches, desks, staff and their sign-in accounts, evaluation
cycles, the course catalogue and training requirements, fund budgets, the incentive policy and the
complaint time limits (SLA).

Network administrators use all of it. Branch managers use the staff pages and their own branch's
desks: the directory API then limits them to their branch (a staff member of another branch gives
the same 404 page as one that does not exist). Every page reads and writes through the services'
APIs with the signed-in user's token; the APIs' rules are the ones that count.
"""
from __future__ import annotations

import csv
import difflib
import io
import json
import re
from datetime import date, datetime
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from werkzeug.datastructures import MultiDict

from services.portal import i18n, labels, web
from services.portal.api_client import ApiError, ServiceUnavailable
from services.portal.pages import day as format_day, money as format_money, when as format_when
from shared.timeutil import local_today

bp = Blueprint("admin", __name__, url_prefix="/admin")

web.add_nav("admin.home", _l("Administration"), roles=("branch_manager",), order=90)

ZONE = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50
#: Rows of a CSV roster read at most in one upload (the directory takes them one by one).
IMPORT_MAX_ROWS = 2000
SEVERITY_ORDER = ("urgent", "high", "normal", "low")
RATER_TYPES = ("reader", "supervisor", "peer", "self")
#: Roles a branch manager may give (the directory refuses the network-wide ones).
BRANCH_ROLES = ("staff", "supervisor", "branch_manager")
STAFF_ROLES = ("staff", "supervisor", "branch_manager", "network_admin", "auditor")

#: Codes of the APIs that only the admin pages show; the shared ones are in ``labels.py``.
LOCAL_LABELS = {
    "leave_reason": {"resigned": _l("Resigned"), "retired": _l("Retired"), "dismissed": _l("Dismissed"),
                     "contract_ended": _l("Contract ended"), "other": _l("Other reason")},
    "competency_area": {
        "information_retrieval": _l("Information retrieval"), "reader_service": _l("Reader service"),
        "cultural_exchange": _l("Cultural exchange"), "regulations_policy": _l("Regulations and policy"),
        "emergency_handling": _l("Emergency handling"),
        "communication_complaints": _l("Communication and complaints"),
        "digital_services": _l("Digital resources and services"),
    },
    "remedial_for": {"service_attitude": _l("Service attitude"),
                     "professional_competence": _l("Professional competence")},
    "cycle_scope": {"network": _l("The whole network"), "branches": _l("Chosen branches")},
    "cycle_state": {"draft": _l("Draft"), "open": _l("Ratings open"), "closed": _l("Closed, scored"),
                    "published": _l("Results published")},
    "fund_period": {"month": _l("Month"), "quarter": _l("Quarter"), "year": _l("Year")},
}

#: The CSV roster's columns (as ``lsq import-staff`` reads them) and the words for their errors.
ROSTER_COLUMNS = ("employee_number", "name", "role", "branch", "hire_date", "email")
ROSTER_REQUIRED = ("employee_number", "name", "branch", "hire_date")
_UUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
_RULE_PATH = re.compile(r"^rules\[(\d+)\]")


def local_label(kind: str, code) -> str:
    if code is None or code == "":
        return ""
    found = LOCAL_LABELS.get(kind, {}).get(str(code))
    return str(found) if found is not None else str(code)


def local_choices(kind: str) -> list[tuple[str, str]]:
    return [(code, str(text)) for code, text in LOCAL_LABELS[kind].items()]


def field_words() -> dict:
    """What a person calls the fields the APIs name in their errors."""
    return {
        "employee_number": _("Employee number"), "name": _("Name"), "email": _("E-mail"), "role": _("Role"),
        "branch": _("Branch"), "branch_id": _("Branch"), "hire_date": _("Hire date"), "status": _("Status"),
        "code": _("Branch code"), "name_zh": _("Name in Chinese"), "name_en": _("Name in English"),
        "title": _("Professional title"),
    }


@bp.context_processor
def _helpers():
    return {"local_label": local_label, "local_choices": local_choices, "branch_name": branch_name,
            "staff_name": staff_name, "who": who, "branch_choices": branch_choices, "admin_sections": sections,
            "is_network_admin": is_network_admin, "versions_options": versions_options}


def versions_options(versions: list[dict]) -> list[tuple[str, str]]:
    """(number, "Version 3 · starts later") for a select box of policy versions, newest first."""
    return [(str(v["version"]), _("Version %(version)s · %(status)s", version=v["version"],
                                  status=labels.label("policy_version_status", v.get("status"))))
            for v in sorted(versions, key=lambda v: -v["version"]) if v.get("status") != "withdrawn"]


# -- who may do what -----------------------------------------------------------------------------
def is_network_admin() -> bool:
    user = web.current_user()
    return user is not None and user["role"] == "network_admin"


def own_branch() -> str | None:
    """The branch a branch manager is limited to (None for a network administrator)."""
    user = web.current_user()
    return None if user is None or user["role"] == "network_admin" else user.get("branch_id")


def sections() -> list[tuple[str, str]]:
    """(endpoint, text) of the admin pages the signed-in user may use, for the tabs."""
    if is_network_admin():
        return [("admin.branches_page", _("Branches")), ("admin.staff_list", _("Staff")),
                ("admin.staff_import", _("Import staff")), ("admin.cycles", _("Evaluation cycles")),
                ("admin.courses", _("Courses")), ("admin.requirements", _("Training requirements")),
                ("admin.funds", _("Fund budgets")), ("admin.policy", _("Incentive policy")),
                ("admin.sla", _("Complaint time limits")), ("admin.branch_sla", _("Branch time limits"))]
    return [("admin.staff_list", _("Staff")), ("admin.own_branch_page", _("Service desks")),
            ("admin.staff_import", _("Import staff")), ("admin.cycles", _("Evaluation cycles")),
            ("admin.branch_sla", _("Complaint time limits"))]


# -- names, never ids ----------------------------------------------------------------------------
def fetch_all(service: str, path: str, params: dict | None = None, limit_pages: int = 20) -> list:
    """Every item of a paginated list (500 a page)."""
    items, page = [], 1
    while page <= limit_pages:
        answer = web.api(service, "GET", path, params={**(params or {}), "page": page, "page_size": 500})
        items += answer.get("items", [])
        if page * answer.get("page_size", 500) >= answer.get("total", 0):
            break
        page += 1
    return items


def branches() -> list[dict]:
    """The network's branches, by code (once per page)."""
    return i18n.cached("admin_branches", lambda: fetch_all("directory", "/branches"))


def branch_map() -> dict:
    return i18n.cached("admin_branch_map", lambda: {b["id"]: b for b in branches()})


def branch_name(branch_id) -> str:
    found = branch_map().get(branch_id) if branch_id else None
    return i18n.pick(found["name_zh"], found["name_en"]) if found else (_("Unknown branch") if branch_id else "")


def branch_choices() -> list[tuple[str, str]]:
    return [(b["id"], f"{i18n.pick(b['name_zh'], b['name_en'])} ({b['code']})") for b in branches()]


def _staff_cache() -> dict:
    return i18n.cached("admin_staff_names", dict)


def load_staff_names(branch_ids) -> None:
    """Know the names of the staff of these branches (for lists that give only staff ids)."""
    cache, loaded = _staff_cache(), i18n.cached("admin_staff_branches", set)
    for branch_id in {b for b in branch_ids if b} - loaded:
        for person in fetch_all("directory", "/staff", {"branch_id": branch_id}):
            cache[person["id"]] = person["name"]
        loaded.add(branch_id)


def staff_name(staff_id) -> str:
    return _staff_cache().get(staff_id) or (_("Unknown staff member") if staff_id else "")


def who(subject) -> str:
    """A person's name for the ``created_by`` an API records (a staff id, a role's subject, a tool)."""
    if not subject:
        return ""
    if _UUID.fullmatch(str(subject)):
        user = web.current_user() or {}
        if user.get("staff_id") == subject:
            return user.get("name") or ""
        if subject not in _staff_cache():
            person = web.api_or_none("directory", "GET", f"/staff/{subject}")
            _staff_cache()[subject] = person["name"] if person else _("Unknown staff member")
        return _staff_cache()[subject]
    role = str(subject).split("-", 1)[0]
    if role in labels.LABELS["role"]:
        return labels.label("role", role)
    return _("the system")


def without_ids(text):
    """An API message with the ids it names replaced by names (or by "this record")."""
    if not text or not isinstance(text, str) or not _UUID.search(text):
        return text
    names = {k.lower(): branch_name(k) for k in branch_map()}
    names.update({k.lower(): v for k, v in _staff_cache().items()})
    return _UUID.sub(lambda m: names.get(m.group(0).lower(), _("(this record)")), text)


# -- forms ---------------------------------------------------------------------------------------
def api_errors(error: ApiError) -> dict:
    """The API's errors per field in the page's language, without ids."""
    return {name: [without_ids(m) for m in messages] for name, messages in i18n.field_errors(error).items()}


def keep_api_error(error: ApiError, typed: dict, shown: tuple = (), message: str | None = None) -> None:
    """Keep what was typed with the API's errors: next to the fields the form has (``shown``), the
    others and the API's message at the top."""
    errors = api_errors(error)
    if message is None:
        if errors and all(name in shown for name in errors):
            message = _("Please correct the fields marked below.")
        else:
            message = without_ids(i18n.api_message(error))
            extra = [_("%(field)s: %(problem)s", field=field_words().get(n, n), problem=" ".join(m))
                     for n, m in errors.items() if n not in shown]
            if extra and error.code == "validation_failed":
                message = f"{message} ({'; '.join(extra)})"
    web.keep_form(typed, errors, message)


def keep_local_errors(typed: dict, errors: dict) -> None:
    web.keep_form(typed, errors, _("Please correct the fields marked below."))


def typed_of(names) -> dict:
    return {name: (request.form.get(name) or "").strip() for name in names}


def check_required(typed: dict, errors: dict, names) -> None:
    for name in names:
        if not typed.get(name):
            errors.setdefault(name, []).append(_("Please fill in this field."))


def check_length(typed: dict, errors: dict, name: str, most: int) -> None:
    if len(typed.get(name) or "") > most:
        errors.setdefault(name, []).append(_("At most %(count)d characters.", count=most))


def check_date(typed: dict, errors: dict, name: str) -> None:
    if typed.get(name):
        try:
            date.fromisoformat(typed[name])
        except ValueError:
            errors.setdefault(name, []).append(_("Enter a date as YYYY-MM-DD."))


def check_number(typed: dict, errors: dict, name: str) -> None:
    if typed.get(name):
        try:
            float(typed[name])
        except ValueError:
            errors.setdefault(name, []).append(_("Enter a number."))


def aware_time(text: str) -> str:
    """A ``datetime-local`` value (network time) as RFC 3339; ValueError if it is not one."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=ZONE)
    return moment.isoformat()


def current_period(kind: str = "quarter") -> str:
    today = local_today(ZONE)
    if kind == "month":
        return f"{today.year}-{today.month:02d}"
    if kind == "year":
        return str(today.year)
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


def page_number() -> int:
    try:
        return max(1, int(request.args.get("page", 1)))
    except (TypeError, ValueError):
        return 1


def is_htmx() -> bool:
    return bool(request.headers.get("HX-Request"))


# -- overview --------------------------------------------------------------------------------------
@bp.get("")
@web.signed_in("branch_manager")
def home():
    """What administrators (and branch managers) can do here."""
    return render_template("admin/home.html")


# -- branches and desks ----------------------------------------------------------------------------
BRANCH_FIELDS = ("code", "name_zh", "name_en", "address", "opened_on")


@bp.route("/branches", methods=["GET", "POST"])
@web.signed_in("network_admin")
def branches_page():
    """Every branch with its desks counted; open a branch."""
    status = 200
    if request.method == "POST":
        typed = typed_of(BRANCH_FIELDS)
        errors = {}
        check_required(typed, errors, ("code", "name_zh", "name_en"))
        check_length(typed, errors, "code", 32)
        check_length(typed, errors, "name_zh", 200)
        check_length(typed, errors, "name_en", 200)
        check_length(typed, errors, "address", 300)
        check_date(typed, errors, "opened_on")
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            body = {k: typed[k] for k in ("code", "name_zh", "name_en")}
            body.update({k: typed[k] for k in ("address", "opened_on") if typed[k]})
            try:
                created = web.api("directory", "POST", "/branches", json=body)
            except ApiError as error:
                keep_api_error(error, typed, BRANCH_FIELDS)
                status = error.status
            else:
                flash(_("The branch %(name)s is open.", name=i18n.pick(created["name_zh"], created["name_en"])), "ok")
                return redirect(url_for("admin.branch_page", branch_id=created["id"]))
    desks = fetch_all("directory", "/service-points")
    counts = {}
    for desk in desks:
        counts[desk["branch_id"]] = counts.get(desk["branch_id"], 0) + 1
    return render_template("admin/branches.html", items=branches(), desk_counts=counts), status


DESK_FIELDS = ("name_zh", "name_en", "kind")


@bp.get("/my-branch")
@web.signed_in("branch_manager")
def own_branch_page():
    """A branch manager's own branch (a network administrator goes to the list of branches)."""
    branch_id = own_branch()
    if branch_id is None:
        return redirect(url_for("admin.branches_page"))
    return redirect(url_for("admin.branch_page", branch_id=branch_id))


@bp.route("/branches/<branch_id>", methods=["GET", "POST"])
@web.signed_in("branch_manager")
def branch_page(branch_id: str):
    """One branch: its facts and desks; add a desk (a branch manager: their own branch only)."""
    if own_branch() is not None and own_branch() != branch_id:
        abort(404)
    branch = web.api_or_none("directory", "GET", f"/branches/{branch_id}")
    if branch is None:
        abort(404)
    status = 200
    if request.method == "POST":
        typed = typed_of(DESK_FIELDS)
        errors = {}
        check_required(typed, errors, ("name_zh", "name_en"))
        check_length(typed, errors, "name_zh", 200)
        check_length(typed, errors, "name_en", 200)
        if typed["kind"] and typed["kind"] not in labels.LABELS["service_point_kind"]:
            errors["kind"] = [_("Choose one of the list.")]
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            body = {"branch_id": branch_id, "name_zh": typed["name_zh"], "name_en": typed["name_en"],
                    "kind": typed["kind"] or "circulation"}
            try:
                desk = web.api("directory", "POST", "/service-points", json=body)
            except ApiError as error:
                keep_api_error(error, typed, DESK_FIELDS)
                status = error.status
            else:
                flash(_("The desk %(name)s is added.", name=i18n.pick(desk["name_zh"], desk["name_en"])), "ok")
                return redirect(url_for("admin.branch_page", branch_id=branch_id))
    desks = fetch_all("directory", "/service-points", {"branch_id": branch_id})
    return render_template("admin/branch.html", branch=branch, desks=desks), status


# -- staff -----------------------------------------------------------------------------------------
STAFF_FIELDS = ("employee_number", "name", "email", "role", "branch_id", "hire_date", "title")
EDIT_FIELDS = ("name", "email", "role", "status", "title")


def check_title(typed: dict, errors: dict) -> None:
    """The professional title is optional; when given, one of the list."""
    if typed.get("title") and typed["title"] not in labels.LABELS["professional_title"]:
        errors.setdefault("title", []).append(_("Choose one of the list."))


def role_choices() -> list[tuple[str, str]]:
    roles = STAFF_ROLES if is_network_admin() else BRANCH_ROLES
    return [(r, labels.label("role", r)) for r in roles]


def staff_filters() -> dict:
    args = request.args
    found = {"branch_id": args.get("branch_id") or "", "role": args.get("role") or "",
             "status": args.get("status") or "", "q": (args.get("q") or "").strip()[:100]}
    if found["role"] not in STAFF_ROLES:
        found["role"] = ""
    if found["status"] not in labels.LABELS["staff_status"]:
        found["status"] = ""
    if own_branch() is not None:
        found["branch_id"] = own_branch()
    return found


@bp.get("/staff")
@web.signed_in("branch_manager")
def staff_list():
    """Staff filtered by branch, role and status, searched by name or employee number."""
    filters = staff_filters()
    page = page_number()
    params = {k: filters[k] for k in ("branch_id", "role", "status")}
    if filters["q"]:
        wanted = filters["q"].casefold()
        matches = [s for s in fetch_all("directory", "/staff", params)
                   if wanted in (s.get("name") or "").casefold() or wanted in (s.get("employee_number") or "").casefold()]
        total = len(matches)
        items = matches[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]
    else:
        answer = web.api("directory", "GET", "/staff", params={**params, "page": page, "page_size": PAGE_SIZE})
        items, total = answer["items"], answer["total"]
    pages = max(1, -(-total // PAGE_SIZE))
    context = dict(items=items, total=total, page=page, pages=pages, filters=filters, role_options=role_choices(),
                   filter_args={k: v for k, v in filters.items() if v and not (k == "branch_id" and own_branch())})
    if is_htmx():
        return render_template("admin/fragments/staff_results.html", **context)
    return render_template("admin/staff_list.html", **context)


@bp.route("/staff/new", methods=["GET", "POST"])
@web.signed_in("branch_manager")
def staff_new():
    """Register a staff member (a branch manager: in their branch, not a network-wide role)."""
    status = 200
    if request.method == "POST":
        typed = typed_of(STAFF_FIELDS)
        if own_branch() is not None:
            typed["branch_id"] = own_branch()
        errors = {}
        check_required(typed, errors, ("employee_number", "name", "branch_id", "hire_date"))
        check_length(typed, errors, "employee_number", 32)
        check_length(typed, errors, "name", 100)
        check_length(typed, errors, "email", 200)
        check_date(typed, errors, "hire_date")
        check_title(typed, errors)
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            body = {k: typed[k] for k in ("employee_number", "name", "branch_id", "hire_date")}
            body["role"] = typed["role"] or "staff"
            if typed["email"]:
                body["email"] = typed["email"]
            if typed["title"]:
                body["title"] = typed["title"]
            try:
                created = web.api("directory", "POST", "/staff", json=body)
            except ApiError as error:
                keep_api_error(error, typed, STAFF_FIELDS)
                status = error.status
            else:
                flash(_("%(name)s is registered. Create an invitation so that they can set a password.",
                        name=created["name"]), "ok")
                return redirect(url_for("admin.staff_detail", staff_id=created["id"]))
    return render_template("admin/staff_new.html", role_options=role_choices()), status


def staff_page(staff_id: str, status: int = 200, failed: str | None = None, invitation: dict | None = None):
    """A staff member's page: facts, sign-in account, and the forms that change them."""
    person = web.api_or_none("directory", "GET", f"/staff/{staff_id}")
    if person is None:
        abort(404)
    try:
        account = web.api_or_none("directory", "GET", f"/staff/{staff_id}/account")
    except ApiError:
        account = None
    link = None
    if invitation:
        base = current_app.extensions["portal"].settings.public_url or request.host_url
        link = base.rstrip("/") + invitation.get("activation_path", f"/activate/{invitation.get('token')}")
    return render_template("admin/staff_detail.html", person=person, account=account, failed=failed,
                           invitation=invitation, link=link, role_options=role_choices()), status


@bp.get("/staff/<staff_id>")
@web.signed_in("branch_manager")
def staff_detail(staff_id: str):
    return staff_page(staff_id)


@bp.post("/staff/<staff_id>/edit")
@web.signed_in("branch_manager")
def staff_edit(staff_id: str):
    """Change name, e-mail, role, active / on leave."""
    typed = typed_of(EDIT_FIELDS)
    errors = {}
    check_required(typed, errors, ("name",))
    check_length(typed, errors, "name", 100)
    check_length(typed, errors, "email", 200)
    if typed["status"] and typed["status"] not in ("active", "on_leave"):
        errors["status"] = [_("Choose one of the list.")]
    check_title(typed, errors)
    if errors:
        keep_local_errors(typed, errors)
        return staff_page(staff_id, 422, failed="edit")
    body = {"name": typed["name"], "email": typed["email"] or None, "title": typed["title"] or None}
    if typed["role"]:
        body["role"] = typed["role"]
    if typed["status"]:
        body["status"] = typed["status"]
    try:
        web.api("directory", "PATCH", f"/staff/{staff_id}", json=body)
    except ApiError as error:
        if error.status == 404:
            abort(404)
        keep_api_error(error, typed, EDIT_FIELDS)
        return staff_page(staff_id, error.status, failed="edit")
    flash(_("The changes are saved."), "ok")
    return redirect(url_for("admin.staff_detail", staff_id=staff_id))


@bp.post("/staff/<staff_id>/transfer")
@web.signed_in("branch_manager")
def staff_transfer(staff_id: str):
    """Move a staff member to another branch."""
    typed = typed_of(("to_branch_id", "effective_date"))
    errors = {}
    check_required(typed, errors, ("to_branch_id",))
    check_date(typed, errors, "effective_date")
    if errors:
        keep_local_errors(typed, errors)
        return staff_page(staff_id, 422, failed="transfer")
    body = {"to_branch_id": typed["to_branch_id"], "effective_date": typed["effective_date"] or None}
    try:
        moved = web.api("directory", "POST", f"/staff/{staff_id}/transfer", json=body)
    except ApiError as error:
        if error.status == 404:
            abort(404)
        keep_api_error(error, typed, ("to_branch_id", "effective_date"))
        return staff_page(staff_id, error.status, failed="transfer")
    flash(_("%(name)s now works at %(branch)s.", name=moved["name"], branch=branch_name(moved["branch_id"])), "ok")
    if own_branch() is not None:  # no longer one of the manager's staff
        return redirect(url_for("admin.staff_list"))
    return redirect(url_for("admin.staff_detail", staff_id=staff_id))


@bp.post("/staff/<staff_id>/leave")
@web.signed_in("branch_manager")
def staff_leave(staff_id: str):
    """Record that a staff member left, with the reason."""
    typed = typed_of(("left_on", "reason"))
    errors = {}
    check_required(typed, errors, ("reason",))
    check_date(typed, errors, "left_on")
    if typed["reason"] and typed["reason"] not in LOCAL_LABELS["leave_reason"]:
        errors["reason"] = [_("Choose one of the list.")]
    if errors:
        keep_local_errors(typed, errors)
        return staff_page(staff_id, 422, failed="leave")
    try:
        web.api("directory", "POST", f"/staff/{staff_id}/leave",
                json={"left_on": typed["left_on"] or None, "reason": typed["reason"]})
    except ApiError as error:
        if error.status == 404:
            abort(404)
        keep_api_error(error, typed, ("left_on", "reason"))
        return staff_page(staff_id, error.status, failed="leave")
    flash(_("The leaving is recorded; the account can no longer sign in."), "ok")
    return redirect(url_for("admin.staff_detail", staff_id=staff_id))


@bp.post("/staff/<staff_id>/invitation")
@web.signed_in("branch_manager")
def staff_invite(staff_id: str):
    """A one-time link for a staff member without a password: shown once, on this answer."""
    return _account_action(staff_id, "invitations")


@bp.post("/staff/<staff_id>/password-reset")
@web.signed_in("branch_manager")
def staff_reset(staff_id: str):
    """Clear the password, unlock the account and give a new link."""
    return _account_action(staff_id, "password-reset")


def _account_action(staff_id: str, what: str):
    try:
        invitation = web.api("directory", "POST", f"/staff/{staff_id}/{what}")
    except ApiError as error:
        if error.status in (404, 405) and error.code in ("not_found", "method_not_allowed", "http_404", "http_405"):
            # the directory has no such endpoint (an older version): say so instead of a missing page
            error = ApiError(404, "not_available", "The directory does not offer this yet.",
                             "人员目录暂不支持此操作。")
        elif error.status == 404:
            abort(404)
        web.keep_form({}, {}, without_ids(i18n.api_message(error)))
        return staff_page(staff_id, error.status, failed="account")
    return staff_page(staff_id, 201, invitation=invitation)


# -- CSV import ----------------------------------------------------------------------------------
def _decode(raw: bytes) -> str | None:
    """The file's text: UTF-8 (with or without BOM), or GB 18030 as Excel saves CSV in China."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _row_problems(error: ApiError) -> list[str]:
    words = field_words()
    errors = api_errors(error)
    if not errors:
        return [without_ids(i18n.api_message(error))]
    return [_("%(field)s: %(problem)s", field=words.get(name, name), problem=" ".join(messages))
            for name, messages in errors.items()]


def import_rows(text: str) -> tuple[list[dict] | None, str | None]:
    """Register each row of a roster through the directory; (results, None) or (None, why not)."""
    reader = csv.DictReader(io.StringIO(text))
    header = [(name or "").strip().lower() for name in (reader.fieldnames or [])]
    missing = [c for c in ROSTER_REQUIRED if c not in header]
    if missing:
        return None, _("The file lacks the columns: %(columns)s. The first line must name the columns "
                       "employee_number, name, role, branch, hire_date and (if you like) email.",
                       columns=", ".join(missing))
    reader.fieldnames = header
    rows = []
    for row in reader:
        rows.append((reader.line_num, row))
        if len(rows) > IMPORT_MAX_ROWS:
            return None, _("The file has more than %(count)d rows: split it.", count=IMPORT_MAX_ROWS)
    if not rows:
        return None, _("The file has no rows under its header.")
    codes = {}
    for b in branches():
        codes[b["code"].upper()] = b["id"]
        codes[b["id"]] = b["id"]
    results, stopped = [], False
    for line, row in rows:
        value = {c: (row.get(c) or "").strip() for c in ROSTER_COLUMNS}
        result = {"line": line, "employee_number": value["employee_number"], "name": value["name"],
                  "branch": value["branch"], "ok": False, "problems": []}
        results.append(result)
        if stopped:
            result["problems"] = [_("Not tried: the directory stopped answering.")]
            continue
        empty = [c for c in ROSTER_REQUIRED if not value[c]]
        if empty:
            words = field_words()
            result["problems"] = [_("%(field)s is empty.", field=words.get(c, c)) for c in empty]
            continue
        branch_id = codes.get(value["branch"].upper()) or codes.get(value["branch"])
        if branch_id is None:
            result["problems"] = [_("There is no branch with the code %(code)s.", code=value["branch"])]
            continue
        result["branch"] = branch_name(branch_id)
        body = {"employee_number": value["employee_number"], "name": value["name"],
                "role": value["role"] or "staff", "branch_id": branch_id, "hire_date": value["hire_date"]}
        if value["email"]:
            body["email"] = value["email"]
        try:
            web.api("directory", "POST", "/staff", json=body)
        except ApiError as error:
            result["problems"] = _row_problems(error)
        except ServiceUnavailable:
            stopped = True
            result["problems"] = [_("The directory did not answer.")]
        else:
            result["ok"] = True
    return results, None


@bp.route("/staff/import", methods=["GET", "POST"])
@web.signed_in("branch_manager")
def staff_import():
    """Upload a CSV roster; every good row is registered, every bad one shown with its reason."""
    results, status = None, 200
    if request.method == "POST":
        upload = request.files.get("roster")
        problem = None
        if upload is None or not upload.filename:
            problem = _("Choose a CSV file.")
        else:
            text = _decode(upload.read())
            if text is None:
                problem = _("The file is not text in UTF-8 or GB 18030: save it again as CSV.")
            else:
                try:
                    results, problem = import_rows(text)
                except csv.Error as exc:
                    problem = _("The file is not a valid CSV file (%(detail)s).", detail=str(exc))
        if problem:
            web.keep_form({}, {"roster": [problem]})
            status = 422
        elif results and any(not r["ok"] for r in results):
            status = 200
    loaded = sum(1 for r in results or [] if r["ok"])
    return render_template("admin/staff_import.html", results=results, loaded=loaded,
                           bad=[r for r in results or [] if not r["ok"]]), status


# -- evaluation cycles ---------------------------------------------------------------------------
CYCLE_FIELDS = ("period", "period_start", "period_end", "scope", "submission_deadline", "rubric_id",
                "peers_per_person") + tuple(f"rater_weights.{t}" for t in RATER_TYPES)


def cycle_actions(cycle: dict) -> list[tuple[str, str, str]]:
    """(action, button text, confirmation) the API allows in the cycle's state."""
    return {
        "draft": [("open", _("Open the cycle for ratings"),
                   _("Open this cycle? Its participants and their peers are fixed now."))],
        "open": [("close", _("Close and compute scores"),
                  _("Close this cycle? No more ratings are taken and the scores are computed."))],
        "closed": [("publish", _("Publish the results"),
                    _("Publish the results? Staff see them and awards and sanctions follow."))],
    }.get(cycle.get("status"), [])


@bp.route("/cycles", methods=["GET", "POST"])
@web.signed_in("branch_manager")
def cycles():
    """Evaluation cycles, latest period first; create a draft cycle."""
    status = 200
    chosen = request.form.getlist("branch_ids") if request.method == "POST" else []
    if request.method == "POST":
        typed = typed_of(CYCLE_FIELDS)
        errors = {}
        check_required(typed, errors, ("period",))
        check_length(typed, errors, "period", 20)
        check_date(typed, errors, "period_start")
        check_date(typed, errors, "period_end")
        deadline = None
        if typed["submission_deadline"]:
            try:
                deadline = aware_time(typed["submission_deadline"])
            except ValueError:
                errors["submission_deadline"] = [_("Enter a date and time.")]
        for t in RATER_TYPES:
            check_number(typed, errors, f"rater_weights.{t}")
        if typed["peers_per_person"] and not typed["peers_per_person"].isdigit():
            errors["peers_per_person"] = [_("Enter a whole number.")]
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            body = {"period": typed["period"], "scope": typed["scope"] or "network"}
            if typed["period_start"] or typed["period_end"]:
                body.update(period_start=typed["period_start"] or None, period_end=typed["period_end"] or None)
            if own_branch() is not None:  # a branch manager's cycle is always their branch's
                body["scope"], chosen = "branches", [own_branch()]
                for t in RATER_TYPES:
                    typed[f"rater_weights.{t}"] = ""
            if body["scope"] == "branches":
                body["branch_ids"] = chosen
            if deadline:
                body["submission_deadline"] = deadline
            if typed["rubric_id"]:
                body["rubric_id"] = typed["rubric_id"]
            weights = {t: typed[f"rater_weights.{t}"] for t in RATER_TYPES if typed[f"rater_weights.{t}"]}
            if weights:
                body["rater_weights"] = weights
            if typed["peers_per_person"]:
                body["peers_per_person"] = int(typed["peers_per_person"])
            try:
                created = web.api("evaluation", "POST", "/cycles", json=body)
            except ApiError as error:
                message = None
                if error.code == "unknown_branch":
                    message = _("The evaluation service has not heard of one of these branches yet (a new "
                                "branch reaches it within a minute or so): try again shortly.")
                keep_api_error(error, typed, CYCLE_FIELDS + ("branch_ids", "rater_weights"), message)
                status = error.status
            else:
                flash(_("The cycle %(period)s is created as a draft.", period=created["period"]), "ok")
                return redirect(url_for("admin.cycle_page", cycle_id=created["id"]))
    wanted = request.args.get("status") if request.args.get("status") in LOCAL_LABELS["cycle_state"] else None
    page = page_number()
    answer = web.api("evaluation", "GET", "/cycles", params={"status": wanted, "page": page, "page_size": PAGE_SIZE})
    rubrics = web.api("evaluation", "GET", "/rubrics")
    settings = web.api("evaluation", "GET", "/settings")
    return render_template("admin/cycles.html", items=answer["items"], total=answer["total"], page=page,
                           pages=max(1, -(-answer["total"] // PAGE_SIZE)), wanted=wanted, rubrics=rubrics,
                           settings=settings, chosen=chosen,
                           actions=lambda c: cycle_actions(c) if may_run(c) else []), status


@bp.get("/cycles/<cycle_id>")
@web.signed_in("branch_manager")
def cycle_page(cycle_id: str, status: int = 200, failed: str | None = None):
    cycle = web.api_or_none("evaluation", "GET", f"/cycles/{cycle_id}")
    if cycle is None:
        abort(404)
    return render_template("admin/cycle.html", cycle=cycle, actions=cycle_actions(cycle) if may_run(cycle) else [],
                           may_run=may_run(cycle), failed=failed, deadline_value=local_input(cycle.get(
                               "submission_deadline"))), status


def may_run(cycle: dict) -> bool:
    """Whether the signed-in user runs this cycle: the network office its own (no owner branch),
    a branch manager their branch's. Others only read it (the API would refuse them anyway)."""
    if is_network_admin():
        return True
    return bool(cycle.get("owner_branch_id")) and cycle.get("owner_branch_id") == own_branch()


def local_input(value) -> str:
    """An RFC 3339 instant as the value of a ``datetime-local`` field, in Beijing time."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return ""
    return moment.astimezone(ZONE).strftime("%Y-%m-%dT%H:%M")


CYCLE_EDIT_FIELDS = ("period", "period_start", "period_end", "submission_deadline", "peers_per_person")


def _cycle_error(error: ApiError, typed: dict, shown: tuple, cycle_id: str, failed: str):
    if error.status == 404 or (error.status == 403 and not is_network_admin()):
        abort(404)
    message = {
        "deadline_in_past": None, "deadline_not_extended": None,
        "cycle_state": _("The cycle is no longer in the state this change needs: reload the page."),
    }.get(error.code)
    keep_api_error(error, typed, shown, message)
    return cycle_page(cycle_id, error.status, failed=failed)


@bp.post("/cycles/<cycle_id>/edit")
@web.signed_in("branch_manager")
def cycle_edit(cycle_id: str):
    """Change a draft cycle (its period, days, deadline, peers)."""
    typed = typed_of(CYCLE_EDIT_FIELDS)
    errors: dict = {}
    check_required(typed, errors, ("period",))
    check_length(typed, errors, "period", 20)
    check_date(typed, errors, "period_start")
    check_date(typed, errors, "period_end")
    body: dict = {"period": typed["period"]}
    if typed["submission_deadline"]:
        try:
            body["submission_deadline"] = aware_time(typed["submission_deadline"])
        except ValueError:
            errors["submission_deadline"] = [_("Enter a date and time.")]
    if typed["peers_per_person"]:
        if typed["peers_per_person"].isdigit():
            body["peers_per_person"] = int(typed["peers_per_person"])
        else:
            errors["peers_per_person"] = [_("Enter a whole number.")]
    if errors:
        keep_local_errors(typed, errors)
        return cycle_page(cycle_id, 422, failed="edit")
    if typed["period_start"] and typed["period_end"]:
        body.update(period_start=typed["period_start"], period_end=typed["period_end"])
    try:
        web.api("evaluation", "PATCH", f"/cycles/{cycle_id}", json=body)
    except ApiError as error:
        return _cycle_error(error, typed, CYCLE_EDIT_FIELDS, cycle_id, "edit")
    flash(_("The draft cycle is changed."), "ok")
    return redirect(url_for("admin.cycle_page", cycle_id=cycle_id))


@bp.post("/cycles/<cycle_id>/extend")
@web.signed_in("branch_manager")
def cycle_extend(cycle_id: str):
    """Give raters of an open cycle more time: a later submission deadline."""
    typed = typed_of(("submission_deadline",))
    errors: dict = {}
    check_required(typed, errors, ("submission_deadline",))
    deadline = None
    if typed["submission_deadline"]:
        try:
            deadline = aware_time(typed["submission_deadline"])
        except ValueError:
            errors["submission_deadline"] = [_("Enter a date and time.")]
    if errors:
        keep_local_errors(typed, errors)
        return cycle_page(cycle_id, 422, failed="extend")
    try:
        cycle = web.api("evaluation", "PATCH", f"/cycles/{cycle_id}", json={"submission_deadline": deadline})
    except ApiError as error:
        return _cycle_error(error, typed, ("submission_deadline",), cycle_id, "extend")
    flash(_("Ratings are now accepted until %(when)s.", when=format_when(cycle.get("submission_deadline"))), "ok")
    return redirect(url_for("admin.cycle_page", cycle_id=cycle_id))


@bp.post("/cycles/<cycle_id>/delete")
@web.signed_in("branch_manager")
def cycle_delete(cycle_id: str):
    """Delete a draft cycle (an opened one is kept: 409)."""
    try:
        web.api("evaluation", "DELETE", f"/cycles/{cycle_id}")
    except ApiError as error:
        return _cycle_error(error, {}, (), cycle_id, "delete")
    flash(_("The draft cycle is deleted."), "ok")
    return redirect(url_for("admin.cycles"))


@bp.post("/cycles/<cycle_id>/<action>")
@web.signed_in("branch_manager")
def cycle_action(cycle_id: str, action: str):
    """Open, close or publish a cycle (the API refuses a step out of order with 409)."""
    if action not in ("open", "close", "publish"):
        abort(404)
    try:
        cycle = web.api("evaluation", "POST", f"/cycles/{cycle_id}/{action}")
    except ApiError as error:
        if error.status == 404:
            abort(404)
        message = {
            "no_participants": _("Nobody can take part: there are no active staff in the cycle's scope yet "
                                 "(new staff reach the evaluation service within a minute or so)."),
            "deadline_passed": _("The submission deadline has passed: create a cycle with a later deadline."),
            "cycle_state": _("The cycle is no longer in the state this step needs: reload the page."),
        }.get(error.code) or without_ids(i18n.api_message(error))
        web.keep_form({}, {}, message)
        return cycle_page(cycle_id, error.status)
    done = {"open": _("The cycle is open: %(count)s participants can be rated.",
                      count=cycle.get("participants", 0)),
            "close": _("The cycle is closed and %(count)s participants are scored.", count=cycle.get("scored", 0)),
            "publish": _("The results are published.")}[action]
    flash(done, "ok")
    return redirect(url_for("admin.cycle_page", cycle_id=cycle_id))


@bp.get("/rubrics")
@web.signed_in("network_admin")
def rubrics():
    """The rubric in force and its earlier versions."""
    items = web.api("evaluation", "GET", "/rubrics")
    return render_template("admin/rubrics.html", items=items)


# -- courses and requirements --------------------------------------------------------------------
COURSE_FIELDS = ("code", "title_zh", "title_en", "description_zh", "description_en", "competency_area", "hours",
                 "delivery", "validity_months", "pass_mark", "remedial_for")


def _course_body(typed: dict, creating: bool) -> dict:
    body = {}
    for name in ("title_zh", "title_en", "competency_area", "hours", "delivery"):
        if typed.get(name) or creating:
            body[name] = typed.get(name) or None
    if creating:
        body["code"] = typed["code"]
    for name in ("description_zh", "description_en", "validity_months", "pass_mark", "remedial_for"):
        if typed.get(name):
            body[name] = typed[name]
        elif not creating:
            body[name] = None
        # the API reads numbers given as text and names the field when one is not a number
    body["mandatory"] = request.form.get("mandatory") == "on"
    if not creating:
        body["active"] = request.form.get("active") == "on"
    return {k: v for k, v in body.items() if v is not None or not creating}


def _check_course(typed: dict, creating: bool) -> dict:
    errors = {}
    check_required(typed, errors, (("code",) if creating else ()) + ("title_zh", "title_en", "competency_area",
                                                                     "hours", "delivery"))
    check_length(typed, errors, "code", 32)
    check_length(typed, errors, "title_zh", 200)
    check_length(typed, errors, "title_en", 200)
    check_length(typed, errors, "description_zh", 4000)
    check_length(typed, errors, "description_en", 4000)
    for name in ("hours", "pass_mark", "validity_months"):
        check_number(typed, errors, name)
    return errors


def _typed_course() -> dict:
    typed = typed_of(COURSE_FIELDS)
    for box in ("mandatory", "active"):
        if request.form.get(box) == "on":
            typed[box] = "on"
    typed["_posted"] = "1"
    return typed


@bp.get("/courses")
@web.signed_in("network_admin")
def courses():
    """The course catalogue, filtered by area, mandatory, delivery and whether still offered."""
    args = request.args
    filters = {"competency_area": args.get("competency_area") if args.get("competency_area") in
               LOCAL_LABELS["competency_area"] else "",
               "delivery": args.get("delivery") if args.get("delivery") in labels.LABELS["delivery"] else "",
               "mandatory": args.get("mandatory") if args.get("mandatory") in ("true", "false") else "",
               "active": args.get("active") if args.get("active") in ("true", "false", "all") else "true"}
    params = {k: v for k, v in filters.items() if v and v != "all"}
    items = fetch_all("training", "/courses", params)
    return render_template("admin/courses.html", items=items, filters=filters)


@bp.route("/courses/new", methods=["GET", "POST"])
@web.signed_in("network_admin")
def course_new():
    status = 200
    if request.method == "POST":
        typed = _typed_course()
        errors = _check_course(typed, creating=True)
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            try:
                created = web.api("training", "POST", "/courses", json=_course_body(typed, creating=True))
            except ApiError as error:
                keep_api_error(error, typed, COURSE_FIELDS)
                status = error.status
            else:
                flash(_("The course %(title)s is in the catalogue.",
                        title=i18n.pick(created["title_zh"], created["title_en"])), "ok")
                return redirect(url_for("admin.course_page", course_id=created["id"]))
    return render_template("admin/course_form.html", course=None), status


@bp.route("/courses/<course_id>", methods=["GET", "POST"])
@web.signed_in("network_admin")
def course_page(course_id: str, status: int = 200, published: dict | None = None):
    """One course: change it, retire it, publish a new version."""
    course = web.api_or_none("training", "GET", f"/courses/{course_id}")
    if course is None:
        abort(404)
    failed = None
    if request.method == "POST":
        typed = _typed_course()
        errors = _check_course(typed, creating=False)
        failed = "edit"
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            try:
                web.api("training", "PATCH", f"/courses/{course_id}", json=_course_body(typed, creating=False))
            except ApiError as error:
                keep_api_error(error, typed, COURSE_FIELDS + ("active", "mandatory"))
                status = error.status
            else:
                flash(_("The changes are saved."), "ok")
                return redirect(url_for("admin.course_page", course_id=course_id))
    return render_template("admin/course_form.html", course=course, failed=failed, published=published), status


@bp.post("/courses/<course_id>/versions")
@web.signed_in("network_admin")
def course_version(course_id: str):
    """Publish a new version (the regulation course is then required of every active staff member)."""
    typed = typed_of(("notes", "due_in_days"))
    errors = {}
    check_length(typed, errors, "notes", 500)
    if typed["due_in_days"] and not typed["due_in_days"].isdigit():
        errors["due_in_days"] = [_("Enter a whole number.")]
    if errors:
        keep_local_errors(typed, errors)
        return _course_again(course_id, 422, "version")
    body = {"notes": typed["notes"] or None}
    if typed["due_in_days"]:
        body["due_in_days"] = int(typed["due_in_days"])
    if request.form.get("assign_to_all") == "on":
        body["assign_to_all"] = True
    try:
        published = web.api("training", "POST", f"/courses/{course_id}/versions", json=body)
    except ApiError as error:
        if error.status == 404:
            abort(404)
        keep_api_error(error, typed, ("notes", "due_in_days"))
        return _course_again(course_id, error.status, "version")
    flash(_("Version %(version)s is published; %(count)s staff must now take it.",
            version=published.get("version"), count=published.get("assigned", 0)), "ok")
    return redirect(url_for("admin.course_page", course_id=course_id))


def _course_again(course_id: str, status: int, failed: str):
    course = web.api_or_none("training", "GET", f"/courses/{course_id}")
    if course is None:
        abort(404)
    return render_template("admin/course_form.html", course=course, failed=failed, published=None), status


def _list_args():
    """The list's query: this request's, or (after a failed form post) the one the form came from."""
    if request.method == "POST":
        return MultiDict(parse_qsl(urlsplit(back_url()).query))
    return request.args


def back_url() -> str:
    """Where a waive form goes back to: the list it was posted from (only that list)."""
    if request.method != "POST":
        return request.full_path.rstrip("?")
    back = request.form.get("back") or ""
    if back == "/admin/requirements" or back.startswith("/admin/requirements?"):
        return back
    return url_for("admin.requirements")


def requirement_filters() -> dict:
    args = _list_args()
    return {"branch_id": args.get("branch_id") or "",
            "kind": args.get("kind") if args.get("kind") in labels.LABELS["requirement_kind"] else "",
            "status": args.get("status") if args.get("status") in labels.LABELS["requirement_status"] else "",
            "overdue": "true" if args.get("overdue") in ("true", "on", "1") else ""}


def requirements_page(status: int = 200, failed_id: str | None = None):
    filters = requirement_filters()
    try:
        page = max(1, int(_list_args().get("page", 1)))
    except (TypeError, ValueError):
        page = 1
    answer = web.api("training", "GET", "/requirements", params={**filters, "page": page, "page_size": PAGE_SIZE})
    load_staff_names({r.get("branch_id") for r in answer["items"]})
    context = dict(items=answer["items"], total=answer["total"], page=page, filters=filters, failed_id=failed_id,
                   clean_filters={k: v for k, v in filters.items() if v}, back=back_url(),
                   pages=max(1, -(-answer["total"] // PAGE_SIZE)), today=local_today(ZONE).isoformat())
    if is_htmx() and request.method == "GET":
        return render_template("admin/fragments/requirement_results.html", **context), status
    return render_template("admin/requirements.html", **context), status


@bp.get("/requirements")
@web.signed_in("network_admin")
def requirements():
    """Training requirements by branch, kind, status, overdue; waive one with a reason."""
    return requirements_page()


@bp.post("/requirements/<requirement_id>/waive")
@web.signed_in("network_admin")
def requirement_waive(requirement_id: str):
    typed = {"reason": (request.form.get("reason") or "").strip()}
    errors = {}
    check_required(typed, errors, ("reason",))
    check_length(typed, errors, "reason", 300)
    back = back_url()
    if errors:
        keep_local_errors(typed, errors)
        return requirements_page(422, requirement_id)
    try:
        web.api("training", "POST", f"/requirements/{requirement_id}/waive", json=typed)
    except ApiError as error:
        keep_api_error(error, typed, ("reason",))
        return requirements_page(error.status, requirement_id)
    flash(_("The requirement is waived."), "ok")
    return redirect(back)


# -- fund budgets ----------------------------------------------------------------------------------
def funds_page(status: int = 200, failed_branch: str | None = None, problem: str | None = None):
    policy = web.api("incentive", "GET", "/policy")
    kind = (policy.get("document") or {}).get("fund", {}).get("period", "quarter")
    period = (request.values.get("period") or "").strip() or current_period(kind)
    answer = fetch_all("incentive", "/funds", {"period": period}) if re.fullmatch(r"[0-9A-Za-z-]{4,10}", period) \
        else []
    by_branch = {f["branch_id"]: f for f in answer}
    rows = [{"branch": b, "fund": by_branch.get(b["id"])} for b in branches()]
    return render_template("admin/funds.html", rows=rows, period=period, period_kind=kind,
                           failed_branch=failed_branch, problem=problem), status


@bp.get("/funds")
@web.signed_in("network_admin")
def funds():
    """Each branch's fund for a period: budget, reserved, granted, available; set a budget."""
    return funds_page()


@bp.post("/funds")
@web.signed_in("network_admin")
def fund_set():
    typed = typed_of(("branch_id", "period", "budget"))
    errors = {}
    check_required(typed, errors, ("budget", "period"))
    check_number(typed, errors, "budget")
    if not typed["branch_id"] or typed["branch_id"] not in branch_map():
        errors["branch_id"] = [_("Choose one of the list.")]
    if errors:
        web.keep_form(typed, errors)
        return funds_page(422, typed["branch_id"], " ".join(m for ms in errors.values() for m in ms))
    try:
        fund = web.api("incentive", "PUT", f"/funds/{typed['branch_id']}/periods/{typed['period']}",
                       json={"budget": typed["budget"]})
    except ApiError as error:
        if error.code == "unknown_branch":
            problem = _("The incentive service has not heard of this branch yet (a new branch reaches it within a "
                        "minute or so): try again shortly.")
        elif error.code == "budget_below_committed":
            problem = _("The budget cannot be less than what is already reserved and granted from this fund.")
        else:
            errors = api_errors(error)
            problem = " ".join(m for ms in errors.values() for m in ms) or without_ids(i18n.api_message(error))
        web.keep_form(typed, api_errors(error))
        return funds_page(error.status, typed["branch_id"], problem)
    flash(_("The budget of %(branch)s for %(period)s is %(amount)s.", branch=branch_name(fund["branch_id"]),
            period=fund["period"], amount=money_text(fund["budget"])), "ok")
    return redirect(url_for("admin.funds", period=fund["period"]))


def money_text(value) -> str:
    from services.portal.pages import money
    return money(value)


# -- incentive policy ------------------------------------------------------------------------------
def pretty(document) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False)


def rule_in_error(text: str, path: str) -> dict:
    """The rule a path such as ``rules[3].when.grade`` names, read from the typed document: its id
    and the rule itself on one line (empty when the path names no rule)."""
    found = _RULE_PATH.match(path or "")
    if not found:
        return {}
    try:
        rule = json.loads(text)["rules"][int(found.group(1))]
    except (ValueError, KeyError, IndexError, TypeError):
        return {}
    if not isinstance(rule, dict):
        return {}
    return {"rule": str(rule["id"]) if rule.get("id") else None,
            "snippet": json.dumps(rule, ensure_ascii=False)[:600]}


def policy_page(status: int = 200, problem: dict | None = None, failed: str | None = None):
    current = web.api("incentive", "GET", "/policy")
    versions = web.api("incentive", "GET", "/policies").get("items", [])
    return render_template("admin/policy.html", current=current, versions=versions, document=pretty(current["document"]),
                           problem=problem, failed=failed,
                           first_start=date.fromordinal(local_today().toordinal() + 1).isoformat()), status


def check_starts_on(typed: dict, errors: dict) -> None:
    """A new version starts now (empty) or on a later day than today (the API checks it again)."""
    if not typed.get("starts_on"):
        return
    try:
        day = date.fromisoformat(typed["starts_on"])
    except ValueError:
        errors.setdefault("starts_on", []).append(_("Enter a date as YYYY-MM-DD."))
        return
    if day <= local_today():
        errors.setdefault("starts_on", []).append(_("Choose tomorrow or a later day (or leave it empty: from now)."))


@bp.get("/policy")
@web.signed_in("network_admin")
def policy():
    """The policy in force, its versions, and the editor of a new version."""
    return policy_page()


@bp.post("/policy")
@web.signed_in("network_admin")
def policy_save():
    text = request.form.get("document") or ""
    note = (request.form.get("note") or "").strip()
    starts_on = (request.form.get("starts_on") or "").strip()
    typed = {"document": text, "note": note, "starts_on": starts_on}
    errors: dict = {}
    if len(note) > 500:
        errors["note"] = [_("At most %(count)d characters.", count=500)]
    check_starts_on(typed, errors)
    if errors:
        keep_local_errors(typed, errors)
        return policy_page(422)
    try:
        document = json.loads(text)
    except ValueError as exc:
        where = _("line %(line)s, column %(column)s", line=getattr(exc, "lineno", "?"), column=getattr(exc, "colno", "?"))
        web.keep_form(typed, {"document": [_("This is not valid JSON (%(where)s).", where=where)]},
                      _("The policy was not saved."))
        return policy_page(422)
    if not isinstance(document, dict):
        web.keep_form(typed, {"document": [_("The policy must be one JSON object { … }.")]},
                      _("The policy was not saved."))
        return policy_page(422)
    try:
        saved = web.api("incentive", "POST", "/policies", json={"document": document, "note": note or None,
                                                                "starts_on": starts_on or None})
    except ApiError as error:
        if set(error.errors) <= {"starts_on", "note"} and error.errors:
            keep_api_error(error, typed, ("starts_on", "note"))
            return policy_page(error.status)
        path = next(iter(error.errors), None)
        messages = [without_ids(i18n.api_message(error))]
        problem = {"path": path, **rule_in_error(text, path or "")} if path else None
        web.keep_form(typed, {"document": messages}, _("The policy was not saved: the service refused it."))
        return policy_page(error.status, problem)
    if saved.get("status") == "scheduled":
        flash(_("Version %(version)s of the policy is saved and starts on %(day)s; until then the version in force "
                "decides. Try it with a dry run first.", version=saved["version"], day=format_day(saved["starts_on"])),
              "ok")
        return redirect(url_for("admin.policy_dry_run", version=saved["version"]))
    flash(_("Version %(version)s of the policy is in force from now.", version=saved["version"]), "ok")
    return redirect(url_for("admin.policy_compare", a=saved["version"] - 1 or saved["version"], b=saved["version"]))


@bp.post("/policy/<int:version>/withdraw")
@web.signed_in("network_admin")
def policy_withdraw(version: int):
    """Withdraw a scheduled version before it starts (the API refuses one that has started: 409)."""
    try:
        web.api("incentive", "POST", f"/policies/{version}/withdraw")
    except ApiError as error:
        if error.status == 404:
            abort(404)
        message = (_("Version %(version)s has already started: it can no longer be withdrawn; save a new version "
                     "instead.", version=version) if error.code == "policy_not_scheduled"
                   else without_ids(i18n.api_message(error)))
        web.keep_form({}, {}, message)
        return policy_page(error.status, failed="versions")
    flash(_("Version %(version)s is withdrawn: it will not start.", version=version), "ok")
    return redirect(url_for("admin.policy"))


#: A dry run reads the whole event history and replays the window twice: it may take a minute or two.
DRY_RUN_TIMEOUT_SECONDS = 300
DRY_RUN_FIELDS = ("version", "since", "until")


def dry_run_rows(answer: dict) -> list[dict]:
    """Per branch, by name, each figure of what was decided beside what the version would decide."""
    rows = []
    for b in answer.get("branches", []):
        now, then = b.get("current") or {}, b.get("proposed") or {}

        def levels(d):
            return {x["level"]: x["count"] for x in d.get("sanctions") or []}

        def funds(d):
            return {f["period"]: f for f in d.get("funds") or []}

        figures = [
            (_("Awards granted"), (now.get("awards") or {}).get("count", 0), (then.get("awards") or {}).get("count", 0),
             "count"),
            (_("Amount granted"), (now.get("awards") or {}).get("amount", 0),
             (then.get("awards") or {}).get("amount", 0), "money"),
            (_("Awards waiting for approval"), (now.get("pending_awards") or {}).get("count", 0),
             (then.get("pending_awards") or {}).get("count", 0), "count"),
            (_("Points"), now.get("points", 0), then.get("points", 0), "count"),
        ]
        for level in sorted(set(levels(now)) | set(levels(then))):
            figures.append((_("Sanctions in force: %(level)s", level=labels.label("sanction_level", level)),
                            levels(now).get(level, 0), levels(then).get(level, 0), "count"))
        for period in sorted(set(funds(now)) | set(funds(then))):
            budget = (funds(now).get(period) or funds(then).get(period) or {}).get("budget")
            figures.append((_("Fund %(period)s granted (budget %(budget)s)", period=period,
                              budget=format_money(budget)),
                            (funds(now).get(period) or {}).get("granted", 0),
                            (funds(then).get(period) or {}).get("granted", 0), "money"))
        lines = []
        for text, a, b_, kind in figures:
            try:
                differs = float(a or 0) != float(b_ or 0)
            except (TypeError, ValueError):
                differs = a != b_
            shown = (format_money(a), format_money(b_)) if kind == "money" else (a or 0, b_ or 0)
            lines.append({"text": text, "current": shown[0], "proposed": shown[1], "differs": differs})
        rows.append({"name": i18n.pick(b.get("name_zh"), b.get("name_en")) or branch_name(b.get("branch_id")),
                     "lines": lines, "differs": any(line["differs"] for line in lines)})
    return rows


@bp.route("/policy/dry-run", methods=["GET", "POST"])
@web.signed_in("network_admin")
def policy_dry_run():
    """Try a version over past days: per branch, what was decided beside what it would have decided."""
    versions = web.api("incentive", "GET", "/policies").get("items", [])
    status, answer, unavailable = 200, None, False
    chosen = request.form.get("version") if request.method == "POST" else request.args.get("version")
    if request.method == "POST":
        typed = typed_of(DRY_RUN_FIELDS)
        errors: dict = {}
        check_required(typed, errors, DRY_RUN_FIELDS)
        check_date(typed, errors, "since")
        check_date(typed, errors, "until")
        if typed["version"] and not typed["version"].isdigit():
            errors.setdefault("version", []).append(_("Choose one of the list."))
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            try:
                answer = web.api("incentive", "POST", "/policies/dry-run", timeout=DRY_RUN_TIMEOUT_SECONDS,
                                 json={"version": int(typed["version"]), "since": typed["since"],
                                       "until": typed["until"]})
            except ApiError as error:
                keep_api_error(error, typed, DRY_RUN_FIELDS)
                status = error.status
            except ServiceUnavailable:
                # the event history (Kafka) cannot be read, or the replay took too long: the page stays useful
                web.keep_form(typed, {}, _("The dry run needs the whole event history, which cannot be read "
                                           "now. Nothing was changed; try again in a few minutes."))
                status, unavailable = 503, True
    template = "admin/fragments/dry_run.html" if is_htmx() else "admin/policy_dry_run.html"
    return render_template(template, versions=versions, chosen=chosen, answer=answer, unavailable=unavailable,
                           rows=dry_run_rows(answer) if answer else [],
                           until_default=date.fromordinal(local_today().toordinal() - 1).isoformat()), status


def side_by_side(left: list[str], right: list[str]) -> list[dict]:
    """Rows of two texts side by side, lines that differ marked (``same``, ``changed``, ``removed``, ``added``)."""
    rows = []
    matcher = difflib.SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                rows.append({"tag": "same", "a_no": i1 + k + 1, "a": left[i1 + k], "b_no": j1 + k + 1, "b": right[j1 + k]})
            continue
        for k in range(max(i2 - i1, j2 - j1)):
            a = left[i1 + k] if i1 + k < i2 else None
            b = right[j1 + k] if j1 + k < j2 else None
            kind = "changed" if a is not None and b is not None else ("removed" if b is None else "added")
            rows.append({"tag": kind, "a_no": i1 + k + 1 if a is not None else None, "a": a,
                         "b_no": j1 + k + 1 if b is not None else None, "b": b})
    return rows


def only_changes(rows: list[dict], around: int = 3) -> list[dict]:
    """The differing rows with ``around`` same rows each side; the rest as ``gap`` rows saying how many."""
    near = set()
    for index, row in enumerate(rows):
        if row["tag"] != "same":
            near.update(range(max(0, index - around), min(len(rows), index + around + 1)))
    out, hidden = [], 0
    for index, row in enumerate(rows):
        if index in near:
            if hidden:
                out.append({"tag": "gap", "count": hidden})
                hidden = 0
            out.append(row)
        else:
            hidden += 1
    if hidden:
        out.append({"tag": "gap", "count": hidden})
    return out


@bp.get("/policy/compare")
@web.signed_in("network_admin")
def policy_compare():
    """Two versions' documents in two columns, the lines that differ marked."""
    versions = web.api("incentive", "GET", "/policies").get("items", [])
    numbers = sorted(v["version"] for v in versions)
    if not numbers:
        abort(404)

    def chosen(name: str, default: int) -> int:
        try:
            value = int(request.args.get(name, default))
        except (TypeError, ValueError):
            value = default
        return value if value in numbers else default

    b = chosen("b", numbers[-1])
    a = chosen("a", numbers[-2] if len(numbers) > 1 else numbers[-1])
    by_number = {v["version"]: v for v in versions}
    left, right = by_number[a], by_number[b]
    rows = side_by_side(pretty(left["document"]).splitlines(), pretty(right["document"]).splitlines())
    differing = sum(1 for r in rows if r["tag"] != "same")
    everything = request.args.get("all") == "1"
    if not everything and differing:
        rows = only_changes(rows)
    return render_template("admin/policy_compare.html", versions=versions, left=left, right=right, rows=rows,
                           differing=differing, everything=everything)


# -- complaint time limits (SLA) -------------------------------------------------------------------
@bp.route("/sla", methods=["GET", "POST"])
@web.signed_in("network_admin")
def sla():
    """Acknowledge and resolve targets per severity, and whether they count business hours only."""
    status = 200
    if request.method == "POST":
        typed, errors, items = {}, {}, []
        for index, severity in enumerate(SEVERITY_ORDER):
            ack, res = f"{index}.acknowledge_hours", f"{index}.resolve_hours"
            typed[ack] = (request.form.get(ack) or "").strip()
            typed[res] = (request.form.get(res) or "").strip()
            business = request.form.get(f"{index}.business_hours") == "on"
            if business:
                typed[f"{index}.business_hours"] = "on"
            check_required(typed, errors, (ack, res))
            check_number(typed, errors, ack)
            check_number(typed, errors, res)
            items.append({"severity": severity, "acknowledge_hours": typed[ack], "resolve_hours": typed[res],
                          "business_hours": business})
        typed["_posted"] = "1"
        if errors:
            keep_local_errors(typed, errors)
            status = 422
        else:
            try:
                web.api("feedback", "PUT", "/sla-policy", json=items)
            except ApiError as error:
                keep_api_error(error, typed, tuple(typed))
                status = error.status
            else:
                flash(_("The new time limits apply to complaints filed from now on."), "ok")
                return redirect(url_for("admin.sla"))
    targets = {t["severity"]: t for t in web.api("feedback", "GET", "/sla-policy")}
    rows = [(index, severity, targets.get(severity, {})) for index, severity in enumerate(SEVERITY_ORDER)]
    return render_template("admin/sla.html", rows=rows), status


# -- a branch's own complaint time limits (branch manager: own branch; network_admin: any) --------
def _sla_branch_or_404(branch_id: str | None) -> str:
    """The branch whose targets the page shows: a branch manager's own, else the one chosen."""
    mine = own_branch()
    if mine is not None:
        if branch_id and branch_id != mine:
            abort(404)  # another branch looks like a page that does not exist
        return mine
    if not branch_id:
        choices = branches()
        if not choices:
            abort(404)
        return choices[0]["id"]
    if branch_id not in branch_map():
        abort(404)
    return branch_id


def branch_sla_page(branch_id: str, status: int = 200, failed: str | None = None):
    """Each severity's targets for the branch, its own or the network's, beside the network's."""
    targets = web.api_or_none("feedback", "GET", f"/branches/{branch_id}/sla-policy")
    if targets is None:
        abort(404)
    network = {t["severity"]: t for t in web.api("feedback", "GET", "/sla-policy")}
    by_severity = {t["severity"]: t for t in targets}
    rows = [(severity, by_severity.get(severity, {}), network.get(severity, {})) for severity in SEVERITY_ORDER
            if severity in by_severity]
    own = sum(1 for _s, t, _n in rows if t.get("source") == "branch")
    return render_template("admin/branch_sla.html", branch_id=branch_id, rows=rows, own=own, failed=failed,
                           branch_options=branch_choices() if is_network_admin() else []), status


@bp.get("/branch-sla")
@web.signed_in("branch_manager")
def branch_sla():
    """The branch's complaint time limits (a network administrator chooses the branch)."""
    return branch_sla_page(_sla_branch_or_404(request.args.get("branch")))


@bp.post("/branch-sla/<branch_id>/<severity>")
@web.signed_in("branch_manager")
def branch_sla_save(branch_id: str, severity: str):
    """Set the branch's own targets for one severity."""
    branch_id = _sla_branch_or_404(branch_id)
    if severity not in SEVERITY_ORDER:
        abort(404)
    ack, res, business = f"{severity}.acknowledge_hours", f"{severity}.resolve_hours", f"{severity}.business_hours"
    typed = typed_of((ack, res))
    if request.form.get(business) == "on":
        typed[business] = "on"
    errors: dict = {}
    check_required(typed, errors, (ack, res))
    check_number(typed, errors, ack)
    check_number(typed, errors, res)
    if errors:
        keep_local_errors(typed, errors)
        return branch_sla_page(branch_id, 422, failed=severity)
    item = {"severity": severity, "acknowledge_hours": typed[ack], "resolve_hours": typed[res],
            "business_hours": business in typed}
    try:
        web.api("feedback", "PUT", f"/branches/{branch_id}/sla-policy", json=[item])
    except ApiError as error:
        if error.status in (403, 404):
            abort(404)
        errors = {(f"{severity}.{name.split('.', 1)[1]}" if name.startswith("0.") else name): messages
                  for name, messages in api_errors(error).items()}
        shown = (ack, res, business)
        message = (_("Please correct the fields marked below.") if errors and all(n in shown for n in errors)
                   else without_ids(i18n.api_message(error)))
        web.keep_form(typed, errors, message)
        return branch_sla_page(branch_id, error.status, failed=severity)
    flash(_("%(severity)s: the branch's own time limits apply to its complaints filed from now on.",
            severity=labels.label("severity", severity)), "ok")
    return redirect(url_for("admin.branch_sla", branch=branch_id if is_network_admin() else None))


@bp.post("/branch-sla/<branch_id>/network")
@web.signed_in("branch_manager")
def branch_sla_reset(branch_id: str):
    """Follow the network's targets again: for one severity (``severity`` in the form) or all."""
    branch_id = _sla_branch_or_404(branch_id)
    severity = request.form.get("severity") or None
    if severity is not None and severity not in SEVERITY_ORDER:
        abort(404)
    try:
        web.api("feedback", "DELETE", f"/branches/{branch_id}/sla-policy",
                params={"severity": severity} if severity else None)
    except ApiError as error:
        if error.status in (403, 404):
            abort(404)
        web.keep_form({}, {}, without_ids(i18n.api_message(error)))
        return branch_sla_page(branch_id, error.status)
    if severity:
        flash(_("%(severity)s: the branch follows the network's time limits again.",
                severity=labels.label("severity", severity)), "ok")
    else:
        flash(_("The branch follows the network's time limits again for every severity."), "ok")
    return redirect(url_for("admin.branch_sla", branch=branch_id if is_network_admin() else None))
