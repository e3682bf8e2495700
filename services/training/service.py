"""Training use cases: one transaction each, domain checks from ``model``, events through the outbox.

Functions taking ``db`` are use cases (API, worker); functions taking ``conn`` run inside a caller's
transaction (the event handlers and the use cases share them).
"""
from __future__ import annotations

import csv
import io
import json
import logging
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, case, exists, func, or_, select, text, update
from sqlalchemy.exc import IntegrityError

from services.training import model, store
from services.training.model import Policy
from shared import directory_view, outbox
from shared.auth import Principal
from shared.db import Database, page_of
from shared.errors import Conflict, Forbidden, Invalid, not_found
from shared import timeutil
from shared.timeutil import utcnow

log = logging.getLogger(__name__)

SUPERVISING = ("supervisor", "branch_manager")
READ_ALL = ("network_admin", "auditor", "service")


# -- time and policy -------------------------------------------------------------------------------
def timezone() -> ZoneInfo:
    """The network's local time zone: deadlines are calendar days there (``LSQ_TRAINING_TIMEZONE``,
    else ``LSQ_TIMEZONE``)."""
    return timeutil.network_zone("training")


def today() -> date:
    """Today in the network's time zone."""
    return timeutil.local_today(timezone())


def local_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in the network's time zone."""
    return timeutil.local_date(moment, timezone())


def get_policy(conn) -> Policy:
    """The current policy (the seeded defaults until network_admin changes them)."""
    data = store.load_policy(conn)
    return Policy.from_dict(data) if data else Policy()


def read_policy(db: Database) -> dict:
    with db.read() as conn:
        return get_policy(conn).to_dict()


def set_policy(db: Database, actor: Principal, data: dict) -> dict:
    """Replace the policy (network_admin). Applies to requirements created from now on: the current
    year's annual requirements keep the hours staff were told."""
    policy = Policy.from_dict({**Policy().to_dict(), **data})
    with db.transaction() as conn:
        values = dict(data=json.dumps(policy.to_dict()), updated_at=utcnow(), updated_by=actor.subject)
        if conn.execute(update(store.policy).where(store.policy.c.id == 1).values(**values)).rowcount == 0:
            conn.execute(store.policy.insert().values(id=1, **values))
    return policy.to_dict()


# -- access helpers ------------------------------------------------------------------------------
def _check_sees_staff(actor: Principal, staff_id: str, branch_id: str | None) -> None:
    """Staff see their own; supervisors and branch managers their branch; network roles all."""
    if actor.role in READ_ALL:
        return
    if actor.staff_id and actor.staff_id == staff_id:
        return
    if actor.role in SUPERVISING and actor.may_see_branch(branch_id):
        return
    raise Forbidden("you may see only your own training" if actor.role == "staff"
                    else "this staff member is not in your branch",
                    "只能查看本人的培训记录" if actor.role == "staff" else "该员工不属于您的分馆")


def _check_acts_for_staff(actor: Principal, staff_id: str, branch_id: str) -> None:
    """Staff act for themselves; supervisors and branch managers for staff of their branch."""
    if actor.role == "network_admin" or actor.staff_id == staff_id:
        return
    if actor.role in SUPERVISING and actor.branch_id == branch_id:
        return
    raise Forbidden("you may act only for yourself or staff of your branch",
                    "只能为本人或本分馆员工办理")


def _staff(conn, staff_id: str, field: str = "staff_id", active: bool = True):
    return directory_view.require_staff(conn, staff_id, field=field, active=active)


# -- courses -------------------------------------------------------------------------------------
def _course(conn, course_id: str, field: str | None = None):
    row = store.one(conn, store.courses, course_id)
    if row is None:
        if field:
            raise Invalid(f"unknown course {course_id}", f"课程 {course_id} 不存在", field=field,
                          code="unknown_course")
        raise not_found("course", "课程", course_id)
    return row


def _check_course_rules(conn, values: dict, course_id: str | None = None) -> None:
    if values.get("pass_mark") is not None and not 0 <= values["pass_mark"] <= 100:
        raise Invalid("pass mark must be 0-100", "及格线须在 0 到 100 之间", field="pass_mark")
    if "hours" in values:
        model.check_course_hours(values["hours"])
    if values.get("remedial_for"):
        clash = conn.execute(select(store.courses.c.code).where(
            store.courses.c.remedial_for == values["remedial_for"], store.courses.c.active.is_(True),
            store.courses.c.id != (course_id or ""))).first()
        if clash:
            raise Conflict(f"course {clash.code} is already the remedial course for {values['remedial_for']}",
                           f"课程 {clash.code} 已是“{model.label_zh('dimension', values['remedial_for'])}”的补训课程", field="remedial_for")


def create_course(db: Database, actor: Principal, data: dict) -> dict:
    """Add a course to the catalogue (network_admin)."""
    now = utcnow()
    row = {"id": store.new_id(), "description_zh": None, "description_en": None, "validity_months": None,
           "pass_mark": None, "remedial_for": None, "is_regulation": False, "version": 1,
           "version_notes": None, "version_published_on": None, "active": True, "created_at": now,
           "updated_at": now, **data}
    try:
        with db.transaction() as conn:
            if conn.execute(select(store.courses.c.id).where(
                    func.upper(store.courses.c.code) == data["code"].upper())).first():
                raise _duplicate_code(data["code"])
            _check_course_rules(conn, row)
            conn.execute(store.courses.insert().values(**row))
    except IntegrityError:
        raise _duplicate_code(data["code"]) from None
    return row


def _duplicate_code(code: str) -> Conflict:
    return Conflict(f"course code {code} is taken", f"课程代码 {code} 已存在", field="code",
                    code="duplicate_course_code")


def update_course(db: Database, actor: Principal, course_id: str, changes: dict) -> dict:
    """Change a course's description, hours, pass mark ... (network_admin). The regulation course
    cannot be retired: onboarding always includes it."""
    with db.transaction() as conn:
        row = _course(conn, course_id)
        if row["is_regulation"] and changes.get("active") is False:
            raise Conflict("the regulation course cannot be retired; publish a new version instead",
                           "服务质量规定课程不能停用，请发布新版本", field="active")
        # The remedial slot of a dimension is checked against what the course will be after the change.
        active = changes.get("active", row["active"])
        remedial = changes.get("remedial_for", row["remedial_for"])
        _check_course_rules(conn, {**changes, "remedial_for": remedial if active else None}, course_id)
        conn.execute(update(store.courses).where(store.courses.c.id == course_id)
                     .values(**changes, updated_at=utcnow()))
        return dict(store.one(conn, store.courses, course_id))


def get_course(db: Database, course_id: str) -> dict:
    with db.read() as conn:
        return dict(_course(conn, course_id))


def list_courses(db: Database, filters: dict, page: int, page_size: int):
    c = store.courses.c
    query = select(store.courses)
    for name in ("competency_area", "mandatory", "delivery", "active"):
        if filters.get(name) is not None:
            query = query.where(c[name] == filters[name])
    with db.read() as conn:
        return page_of(conn, query, [c.code], page, page_size)


def publish_version(db: Database, actor: Principal, course_id: str, data: dict) -> dict:
    """A new version of a course. For the regulation course (or with ``assign_to_all``) every active
    staff member must take it: one ``regulation`` requirement each (``lsq.requirement.assigned.v1``)."""
    when = today()
    with db.transaction() as conn:
        course = _course(conn, course_id)
        if not course["active"]:
            raise Conflict("the course is retired", "该课程已停用", code="course_retired")
        version = course["version"] + 1
        conn.execute(update(store.courses).where(store.courses.c.id == course_id).values(
            version=version, version_notes=data.get("notes"), version_published_on=when, updated_at=utcnow()))
        course = dict(store.one(conn, store.courses, course_id))
        assigned = 0
        assign = data.get("assign_to_all")
        if assign is None:
            assign = bool(course["is_regulation"])
        if assign:
            policy = get_policy(conn)
            due = when + timedelta(days=data.get("due_in_days") or policy.regulation_due_days)
            # Whoever still has this course open now needs the new version: same deadline.
            r = store.requirements.c
            conn.execute(update(store.requirements).where(r.course_id == course_id, r.status == "open")
                         .values(course_version=version))
            has_open = select(r.staff_id).where(r.course_id == course_id, r.status == "open")
            staff = conn.execute(select(directory_view.known_staff).where(
                directory_view.known_staff.c.status != "left",
                directory_view.known_staff.c.staff_id.not_in(has_open))).mappings().all()
            # Not a renewal (``recurrent`` is the one before a certificate expires): required anew.
            kind = "regulation" if course["is_regulation"] else "assigned"
            specs = [course_spec(s["staff_id"], s["branch_id"], kind, course, due,
                                 f"version:{course_id}:{version}:{s['staff_id']}",
                                 f"new version {version} of the course was published",
                                 f"课程发布第 {version} 版") for s in staff]
            assigned = len(assign_many(conn, specs, caused_by=[]))
    return {**course, "assigned": assigned}


def assign_course(db: Database, actor: Principal, course_id: str, data: dict) -> dict:
    """Require a course of chosen staff, a branch, or everyone (network_admin); a supervisor or
    branch manager only of staff of their own branch (someone of another branch is unknown to them)."""
    when = today()
    own_branch = actor.branch_filter()
    if own_branch is not None:
        if data.get("all_staff"):
            raise Forbidden("only the network office assigns a course to everyone", "仅总馆可向全体馆员指派课程")
        if data.get("branch_id"):
            actor.require_branch(data["branch_id"])
    with db.transaction() as conn:
        course = _course(conn, course_id)
        if not course["active"]:
            raise Conflict("the course is retired", "该课程已停用", code="course_retired")
        due = data.get("due_on") or when + timedelta(days=data.get("due_in_days") or 30)
        # A past deadline only for obligations carried over from before LSQ, and not from long ago.
        earliest = when - timedelta(days=365) if data.get("existing_obligation") else when
        if due < earliest:
            raise Invalid("the deadline is in the past" if earliest == when else
                          "an existing obligation's deadline may be at most a year in the past",
                          "截止日期早于今天" if earliest == when else "既有义务的截止日期最多可早于今天一年",
                          field="due_on")
        ks = directory_view.known_staff
        query = select(ks).where(ks.c.status != "left")
        if data.get("staff_ids"):
            for i, staff_id in enumerate(data["staff_ids"]):
                person = _staff(conn, staff_id, field=f"staff_ids.{i}")
                if own_branch is not None and person["branch_id"] != own_branch:
                    raise Invalid(f"unknown staff member {staff_id}", f"员工 {staff_id} 不存在",
                                  field=f"staff_ids.{i}", code="unknown_staff")
            query = query.where(ks.c.staff_id.in_(data["staff_ids"]))
        elif data.get("branch_id"):
            directory_view.require_branch(conn, data["branch_id"])
            query = query.where(ks.c.branch_id == data["branch_id"])
        elif not data.get("all_staff"):
            raise Invalid("say whom: staff_ids, branch_id or all_staff", "请指定 staff_ids、branch_id 或 all_staff",
                          field="staff_ids")
        # Whoever already has this course open keeps that requirement rather than getting a second.
        r = store.requirements.c
        query = query.where(ks.c.staff_id.not_in(
            select(r.staff_id).where(r.course_id == course_id, r.status == "open")))
        kind = data.get("kind") or ("regulation" if course["is_regulation"] else
                                    "remedial" if course["remedial_for"] else "assigned")
        stamp = utcnow().strftime("%Y%m%dT%H%M%S%f")
        specs = [course_spec(s["staff_id"], s["branch_id"], kind, course, due,
                             f"assigned:{course_id}:{s['staff_id']}:{stamp}", data["reason"],
                             data.get("reason_zh") or data["reason"]) for s in conn.execute(query).mappings()]
        rows = assign_many(conn, specs, caused_by=[])
    return {"assigned": len(rows), "requirement_ids": [r["id"] for r in rows]}


# -- requirements --------------------------------------------------------------------------------
def course_spec(staff_id: str, branch_id: str, kind: str, course, due_on: date, key: str, reason: str,
                reason_zh: str) -> dict:
    """What ``assign_many`` needs to require ``course`` of a staff member by ``due_on``."""
    return dict(dedup_key=key, staff_id=staff_id, branch_id=branch_id, kind=kind, course_id=course["id"],
                course_version=course["version"], area=None, required_hours=None,
                title=course["title_en"], title_zh=course["title_zh"], reason=reason, reason_zh=reason_zh,
                due_on=due_on, period=model.period_of(due_on))


def assign_many(conn, specs: list[dict], caused_by: list[dict]) -> list[dict]:
    """Create the requirements not created before (by ``dedup_key``) and announce each with
    ``lsq.requirement.assigned.v1``; returns the new rows."""
    if not specs:
        return []
    r = store.requirements.c
    existing = set()
    keys = [s["dedup_key"] for s in specs]
    for i in range(0, len(keys), 500):
        existing |= {k for (k,) in conn.execute(select(r.dedup_key).where(r.dedup_key.in_(keys[i:i + 500])))}
    now = utcnow()
    rows, seen = [], set()
    for spec in specs:
        if spec["dedup_key"] in existing or spec["dedup_key"] in seen:
            continue
        seen.add(spec["dedup_key"])
        rows.append({**spec, "id": store.new_id(), "status": "open", "assigned_at": now, "completed_on": None,
                     "completion_id": None, "closed_at": None,
                     "caused_by": json.dumps(caused_by) if caused_by else None})
    if not rows:
        return []
    conn.execute(store.requirements.insert(), rows)
    outbox.add_many(conn, "lsq.requirement.assigned.v1", [(
        {"requirement_id": row["id"], "staff_id": row["staff_id"], "branch_id": row["branch_id"],
         "kind": row["kind"], "course_id": row["course_id"], "title": row["title"], "title_zh": row["title_zh"],
         "due_on": row["due_on"], "reason": row["reason"], "assigned_at": now}, caused_by) for row in rows])
    return rows


def ensure_annual_requirements(conn, year: int, staff_rows: list | None = None, *,
                               policy: Policy | None = None, caused_by: list | None = None,
                               registered_on: date | None = None) -> int:
    """Create the annual continuing-education requirements of ``year`` (total hours, and each area
    minimum of the role) for active staff lacking them; returns how many were created.

    Hours are pro-rated from the hire date, or from ``registered_on`` when the system learnt of
    the person later (an existing roster entered in November owes November and December only)."""
    policy = policy or get_policy(conn)
    ks = directory_view.known_staff
    if staff_rows is None:
        r = store.requirements.c
        have = select(r.staff_id).where(r.kind == "annual_hours", r.period == str(year))
        staff_rows = conn.execute(select(ks).where(ks.c.status != "left", ks.c.staff_id.not_in(have))
                                  ).mappings().all()
    due = date(year, 12, 31)
    specs = []
    titles = store.titles_of(conn, [s["staff_id"] for s in staff_rows])
    for s in staff_rows:
        title = titles.get(s["staff_id"])
        since = s["hire_date"]
        if registered_on is not None and (since is None or registered_on > since):
            since = registered_on
        annual = model.prorated_annual_hours(policy.annual_hours_for(s["role"], title), since, year)
        if annual <= 0:
            continue
        specs.append(dict(dedup_key=f"annual:{s['staff_id']}:{year}", staff_id=s["staff_id"],
                          branch_id=s["branch_id"], kind="annual_hours", course_id=None, course_version=None,
                          area=None, required_hours=annual,
                          title=f"{annual:g} continuing-education hours in {year}",
                          title_zh=f"{year} 年继续教育 {annual:g} 学时",
                          reason="annual continuing-education requirement", reason_zh="年度继续教育要求",
                          due_on=due, period=str(year)))
        for area, minimum in sorted(policy.area_minima_for(s["role"], title).items()):
            hours = model.prorated_annual_hours(float(minimum), since, year)
            specs.append(dict(dedup_key=f"area:{s['staff_id']}:{year}:{area}", staff_id=s["staff_id"],
                              branch_id=s["branch_id"], kind="area_hours", course_id=None, course_version=None,
                              area=area, required_hours=hours,
                              title=f"{hours:g} hours of {area.replace('_', ' ')} in {year}",
                              title_zh=f"{year} 年{model.label_zh('competency_area', area)}领域 {hours:g} 学时",
                              reason="annual minimum per competency area", reason_zh="年度能力领域最低学时",
                              due_on=due, period=str(year)))
    rows = assign_many(conn, specs, caused_by or [])
    if rows:
        settle_hours(conn, {r["staff_id"] for r in rows}, year)
    return len(rows)


def credited_hours(conn, staff_ids, year: int) -> tuple[dict, dict]:
    """Credit hours of ``year`` per staff member, and per (staff member, competency area)."""
    c = store.completions.c
    totals, by_area = defaultdict(float), defaultdict(float)
    ids = list(staff_ids)
    for i in range(0, len(ids), 500):
        rows = conn.execute(select(c.staff_id, c.competency_area, func.sum(c.credit_hours).label("hours"))
                            .where(c.year == year, c.staff_id.in_(ids[i:i + 500]))
                            .group_by(c.staff_id, c.competency_area))
        for row in rows:
            totals[row.staff_id] += row.hours or 0.0
            if row.competency_area:
                by_area[(row.staff_id, row.competency_area)] += row.hours or 0.0
    return totals, by_area


def settle_hours(conn, staff_ids, year: int, on: date | None = None) -> set:
    """Mark the open hours requirements of ``year`` that are met as completed; returns their ids."""
    staff_ids = list(staff_ids)
    if not staff_ids:
        return set()
    r = store.requirements.c
    open_rows = []
    for i in range(0, len(staff_ids), 500):
        open_rows += conn.execute(select(r.id, r.staff_id, r.kind, r.area, r.required_hours).where(
            r.staff_id.in_(staff_ids[i:i + 500]), r.period == str(year), r.status == "open",
            r.kind.in_(model.HOURS_REQUIREMENT_KINDS))).all()
    if not open_rows:
        return set()
    totals, by_area = credited_hours(conn, {row.staff_id for row in open_rows}, year)
    met = [row.id for row in open_rows if model.hours_met(
        row.required_hours or 0.0,
        totals[row.staff_id] if row.kind == "annual_hours" else by_area[(row.staff_id, row.area)])]
    for i in range(0, len(met), 500):
        conn.execute(update(store.requirements).where(r.id.in_(met[i:i + 500])).values(
            status="completed", completed_on=on or today(), closed_at=utcnow()))
    return set(met)


def list_requirements(db: Database, actor: Principal, filters: dict, page: int, page_size: int):
    r = store.requirements.c
    query = select(store.requirements)
    if actor.role == "staff" or (actor.role in SUPERVISING and filters.get("staff_id") == actor.staff_id):
        if filters.get("staff_id") not in (None, actor.staff_id):
            raise Forbidden("staff see only their own requirements", "员工只能查看本人的培训要求")
        filters = {**filters, "staff_id": actor.staff_id}
    elif actor.branch_filter() is not None:
        if filters.get("branch_id") not in (None, actor.branch_id):
            actor.require_branch(filters["branch_id"])
        filters = {**filters, "branch_id": actor.branch_id}
    for name in ("staff_id", "branch_id", "status", "kind", "period", "course_id"):
        if filters.get(name) is not None:
            query = query.where(r[name] == filters[name])
    if filters.get("overdue"):
        query = query.where(r.status == "open", r.due_on < today())
    with db.read() as conn:
        return page_of(conn, query, [r.due_on, r.staff_id], page, page_size)


def waive_requirement(db: Database, actor: Principal, requirement_id: str, reason: str) -> dict:
    """Excuse a staff member from an open requirement (network_admin), e.g. long sick leave."""
    with db.transaction() as conn:
        row = store.one(conn, store.requirements, requirement_id, for_update=True)
        if row is None:
            raise not_found("requirement", "培训要求", requirement_id)
        if row["status"] != "open":
            raise Conflict(f"the requirement is already {row['status']}", f"该要求已处于“{model.label_zh('requirement_status', row['status'])}”状态",
                           code="requirement_closed")
        conn.execute(update(store.requirements).where(store.requirements.c.id == requirement_id).values(
            status="waived", closed_at=utcnow(), reason=(row["reason"] + f" | waived: {reason}")[:500]))
        return dict(store.one(conn, store.requirements, requirement_id))


# -- completions ---------------------------------------------------------------------------------
def record_completion(conn, *, staff_id: str, branch_id: str, source: str, kind: str, title: str,
                      title_zh: str | None, area: str | None, hours: float, credit: float, completed_on: date,
                      course=None, course_version: int | None = None, enrolment_id: str | None = None,
                      external_activity_id: str | None = None, score: float | None = None,
                      caused_by: list | None = None) -> dict:
    """Credit a completion: the record (and a certificate for a course), ``lsq.training.completed.v1``,
    requirements it satisfies, and the next renewal of a recurrent mandatory course."""
    known = directory_view.staff(conn, staff_id)
    expires_on = (model.add_months(completed_on, course["validity_months"])
                  if course is not None and course["validity_months"] else None)
    row = dict(id=store.new_id(), staff_id=staff_id, branch_id=branch_id,
               staff_name=known["name"] if known else None, source=source, kind=kind,
               course_id=course["id"] if course is not None else None, course_version=course_version,
               external_activity_id=external_activity_id, enrolment_id=enrolment_id, title=title,
               title_zh=title_zh, competency_area=area, hours=hours, credit_hours=credit,
               completed_on=completed_on, year=completed_on.year, expires_on=expires_on,
               certificate_code=model.certificate_code() if course is not None else None, score=score,
               created_at=utcnow())
    conn.execute(store.completions.insert().values(**row))
    outbox.add(conn, "lsq.training.completed.v1", {
        "completion_id": row["id"], "staff_id": staff_id, "branch_id": branch_id, "source": source,
        "kind": kind, "course_id": row["course_id"], "title": title, "competency_area": area, "hours": hours,
        "credit_hours": credit, "completed_on": completed_on, "certificate_code": row["certificate_code"]},
        caused_by=caused_by or [])
    r = store.requirements.c
    if course is not None:
        conn.execute(update(store.requirements).where(
            r.staff_id == staff_id, r.course_id == course["id"], r.status == "open",
            or_(r.course_version.is_(None), r.course_version <= (course_version or 0))).values(
            status="completed", completed_on=completed_on, completion_id=row["id"], closed_at=utcnow()))
        if course["mandatory"] and expires_on is not None:
            spec = course_spec(staff_id, branch_id, "recurrent", course, expires_on,
                               f"recurrent:{staff_id}:{course['id']}:{expires_on.isoformat()}",
                               f"renewal before the certificate of {completed_on.isoformat()} expires",
                               f"{completed_on.isoformat()} 取得的证书到期前须复训")
            assign_many(conn, [spec], caused_by=[])
    settle_hours(conn, [staff_id], completed_on.year, on=completed_on)
    return row


def verify_certificate(db: Database, code: str) -> dict:
    """What anyone may check about a certificate, without an account."""
    normal = model.normalise_code(code)
    with db.read() as conn:
        row = conn.execute(select(store.completions).where(store.completions.c.certificate_code == normal)
                           ).mappings().first() if normal else None
        if row is None:
            raise not_found("certificate", "证书", code)
        course = store.one(conn, store.courses, row["course_id"]) if row["course_id"] else None
    status = model.certificate_status(row["expires_on"], today())
    return {"code": row["certificate_code"], "status": status, "valid": status == "valid",
            "holder_name": row["staff_name"], "course_code": course["code"] if course else None,
            "title_en": row["title"], "title_zh": row["title_zh"], "course_version": row["course_version"],
            "hours": row["hours"], "completed_on": row["completed_on"], "expires_on": row["expires_on"],
            "issuer": "LSQ library network training / 图书馆服务质量培训"}


# -- sessions ------------------------------------------------------------------------------------
def _session(conn, session_id: str, for_update: bool = False):
    row = store.one(conn, store.sessions, session_id, for_update=for_update)
    if row is None:
        raise not_found("session", "培训场次", session_id)
    return row


def _check_manages_session(actor: Principal, branch_id: str | None) -> None:
    if actor.role == "network_admin":
        return
    if actor.role == "branch_manager" and branch_id is not None and branch_id == actor.branch_id:
        return
    raise Forbidden("only network_admin, or the branch manager of the hosting branch, manages sessions",
                    "只有总馆管理员或承办分馆馆长可以管理培训场次")


def create_session(db: Database, actor: Principal, data: dict) -> dict:
    """Schedule a session of a course (network_admin, or a branch manager for their branch)."""
    with db.transaction() as conn:
        course = _course(conn, data["course_id"], field="course_id")
        if not course["active"]:
            raise Invalid("the course is retired", "该课程已停用", field="course_id")
        if actor.role == "branch_manager" and not data.get("branch_id"):
            data = {**data, "branch_id": actor.branch_id}
        _check_manages_session(actor, data.get("branch_id"))
        if data.get("branch_id"):
            directory_view.require_branch(conn, data["branch_id"])
        trainer_name = None
        if data.get("trainer_staff_id"):
            trainer_name = _staff(conn, data["trainer_staff_id"], field="trainer_staff_id")["name"]
        model.check_session_times(data["starts_at"], data["ends_at"], now=utcnow())
        model.check_session_hours(course["hours"], data["starts_at"], data["ends_at"])
        model.check_delivery(course["delivery"], data.get("place"), data.get("link"))
        if data["starts_at"] <= utcnow():
            raise Invalid("a session cannot be scheduled in the past", "不能安排过去的培训场次", field="starts_at")
        now = utcnow()
        row = {"id": store.new_id(), "course_version": course["version"], "branch_id": None, "place": None,
               "link": None, "trainer_staff_id": None, **data, "trainer_name": trainer_name,
               "status": "scheduled", "created_at": now, "updated_at": now}
        conn.execute(store.sessions.insert().values(**row))
        return _session_view(conn, row)


def _session_view(conn, row) -> dict:
    e = store.enrolments.c
    counts = dict(conn.execute(select(e.status, func.count()).where(e.session_id == row["id"])
                               .group_by(e.status)).all())
    course = store.one(conn, store.courses, row["course_id"])
    return {**dict(row), "enrolled": counts.get("enrolled", 0) + counts.get("completed", 0)
            + counts.get("failed", 0) + counts.get("absent", 0),
            "waitlisted": counts.get("waitlisted", 0), "course_code": course["code"],
            "title_en": course["title_en"], "title_zh": course["title_zh"], "hours": course["hours"]}


def get_session(db: Database, session_id: str) -> dict:
    with db.read() as conn:
        return _session_view(conn, _session(conn, session_id))


def list_sessions(db: Database, filters: dict, page: int, page_size: int):
    s = store.sessions.c
    query = select(store.sessions)
    for name in ("course_id", "status"):
        if filters.get(name) is not None:
            query = query.where(s[name] == filters[name])
    if filters.get("branch_id") is not None:
        # A branch's staff may also attend network-wide sessions (no hosting branch).
        query = query.where(or_(s.branch_id == filters["branch_id"], s.branch_id.is_(None)))
    if filters.get("from_date") is not None:
        query = query.where(s.starts_at >= datetime.combine(filters["from_date"], datetime.min.time(),
                                                            tzinfo=timezone()))
    if filters.get("to_date") is not None:
        query = query.where(s.starts_at < datetime.combine(filters["to_date"], datetime.min.time(),
                                                           tzinfo=timezone()))
    with db.read() as conn:
        items, total = page_of(conn, query, [s.starts_at, s.id], page, page_size)
        return [_session_view(conn, item) for item in items], total


def update_session(db: Database, actor: Principal, session_id: str, changes: dict) -> dict:
    """Change place, link or capacity; more seats promote from the waiting list at once."""
    with db.transaction() as conn:
        row = _session(conn, session_id, for_update=True)
        _check_manages_session(actor, row["branch_id"])
        if row["status"] != "scheduled":
            raise Conflict("the session was cancelled", "该场次已取消", code="session_cancelled")
        if "capacity" in changes:
            taken = _seats_taken(conn, session_id)
            if changes["capacity"] < taken:
                raise Invalid(f"{taken} people hold seats: capacity cannot go below that",
                              f"已有 {taken} 人获得名额，容量不能低于该人数", field="capacity")
        course = store.one(conn, store.courses, row["course_id"])
        model.check_delivery(course["delivery"], changes.get("place", row["place"]), changes.get("link", row["link"]))
        conn.execute(update(store.sessions).where(store.sessions.c.id == session_id)
                     .values(**changes, updated_at=utcnow()))
        row = _session(conn, session_id)
        promote(conn, row)
        return _session_view(conn, row)


def cancel_session(db: Database, actor: Principal, session_id: str, reason: str) -> dict:
    """Cancel a session: every enrolment in it is cancelled."""
    with db.transaction() as conn:
        row = _session(conn, session_id, for_update=True)
        _check_manages_session(actor, row["branch_id"])
        if row["status"] != "scheduled":
            raise Conflict("the session was already cancelled", "该场次已取消", code="session_cancelled")
        if row["starts_at"] <= utcnow():
            raise Conflict("the session has started", "该场次已开始", code="session_started")
        e = store.enrolments.c
        now = utcnow()
        conn.execute(update(store.enrolments).where(e.session_id == session_id, e.status.in_(model.ACTIVE_ENROLMENT))
                     .values(status="cancelled", cancelled_at=now, cancel_reason=f"session cancelled: {reason}"[:200],
                             updated_at=now))
        conn.execute(update(store.sessions).where(store.sessions.c.id == session_id)
                     .values(status="cancelled", updated_at=now))
        return _session_view(conn, _session(conn, session_id))


def _seats_taken(conn, session_id: str) -> int:
    e = store.enrolments.c
    return conn.execute(select(func.count()).where(e.session_id == session_id, e.status == "enrolled")).scalar_one()


def promote(conn, session) -> list[str]:
    """Move people up from the waiting list into free seats (before the session starts)."""
    if session["status"] != "scheduled" or session["starts_at"] <= utcnow():
        return []
    e = store.enrolments.c
    waiting = [row.id for row in conn.execute(select(e.id).where(
        e.session_id == session["id"], e.status == "waitlisted").order_by(e.requested_at, e.id))]
    chosen = model.promotions(session["capacity"], _seats_taken(conn, session["id"]), waiting)
    if chosen:
        now = utcnow()
        conn.execute(update(store.enrolments).where(e.id.in_(chosen))
                     .values(status="enrolled", promoted_at=now, updated_at=now))
        # Each person moved up is told (lsq.training.enrolment_promoted.v1), in queue order.
        course = store.one(conn, store.courses, session["course_id"])
        people = {row.id: row for row in conn.execute(select(e.id, e.staff_id, e.branch_id).where(e.id.in_(chosen)))}
        outbox.add_many(conn, "lsq.training.enrolment_promoted.v1", [({
            "enrolment_id": ident, "session_id": session["id"], "course_id": course["id"],
            "staff_id": people[ident].staff_id, "branch_id": people[ident].branch_id, "title": course["title_en"],
            "title_zh": course["title_zh"], "starts_at": session["starts_at"], "place": session["place"],
            "promoted_at": now}, []) for ident in chosen])
    return chosen


# -- enrolments ----------------------------------------------------------------------------------
def _enrolment_view(conn, row) -> dict:
    out = dict(row)
    if row["status"] == "waitlisted":
        e = store.enrolments.c
        out["waitlist_position"] = conn.execute(select(func.count()).where(
            e.session_id == row["session_id"], e.status == "waitlisted",
            or_(e.requested_at < row["requested_at"],
                and_(e.requested_at == row["requested_at"], e.id <= row["id"])))).scalar_one()
    else:
        out["waitlist_position"] = None
    if row["completion_id"]:
        out["certificate_code"] = conn.execute(select(store.completions.c.certificate_code).where(
            store.completions.c.id == row["completion_id"])).scalar()
    return out


def enrol(db: Database, actor: Principal, session_id: str, staff_id: str | None) -> dict:
    """Enrol in a session: a seat while one is free, else the waiting list. Twice → 409."""
    staff_id = staff_id or actor.staff_id
    if not staff_id:
        raise Invalid("staff_id is required", "必须指定 staff_id", field="staff_id")
    try:
        with db.transaction() as conn:
            session = _session(conn, session_id, for_update=True)  # serialises seat counting
            person = _staff(conn, staff_id)
            _check_acts_for_staff(actor, staff_id, person["branch_id"])
            if session["status"] != "scheduled":
                raise Conflict("the session was cancelled", "该场次已取消", code="session_cancelled")
            if session["starts_at"] <= utcnow():
                raise Conflict("the session has already started", "该场次已开始，不能报名", code="session_started")
            e = store.enrolments.c
            existing = conn.execute(select(store.enrolments).where(
                e.session_id == session_id, e.staff_id == staff_id)).mappings().first()
            if existing is not None and existing["status"] != "cancelled":
                raise _already_enrolled()
            status = model.seat_for(session["capacity"], _seats_taken(conn, session_id))
            now = utcnow()
            values = dict(branch_id=person["branch_id"], status=status, requested_at=now, promoted_at=None,
                          score=None, recorded_by=None, recorded_at=None, completion_id=None, cancelled_at=None,
                          cancel_reason=None, updated_at=now)
            if existing is not None:  # enrolling again after cancelling: back of the queue
                conn.execute(update(store.enrolments).where(e.id == existing["id"]).values(**values))
                ident = existing["id"]
            else:
                ident = store.new_id()
                conn.execute(store.enrolments.insert().values(id=ident, session_id=session_id,
                                                              staff_id=staff_id, **values))
            return _enrolment_view(conn, store.one(conn, store.enrolments, ident))
    except IntegrityError:
        raise _already_enrolled() from None


def _already_enrolled() -> Conflict:
    return Conflict("already enrolled in this session", "已报名该场次", field="staff_id", code="already_enrolled")


def cancel_enrolment(db: Database, actor: Principal, enrolment_id: str, reason: str | None) -> dict:
    """Give up a seat (or a waiting-list place); the first one waiting moves up."""
    with db.transaction() as conn:
        row = store.one(conn, store.enrolments, enrolment_id)
        if row is None:
            raise not_found("enrolment", "报名", enrolment_id)
        session = _session(conn, row["session_id"], for_update=True)
        _check_acts_for_staff(actor, row["staff_id"], row["branch_id"])
        row = store.one(conn, store.enrolments, enrolment_id)
        if row["status"] not in model.ACTIVE_ENROLMENT:
            raise Conflict(f"the enrolment is already {row['status']}", f"该报名已处于“{model.label_zh('enrolment_status', row['status'])}”状态",
                           code="enrolment_closed")
        cancel_enrolments(conn, [row["id"]], reason or "cancelled by request")
        promote(conn, session)
        return _enrolment_view(conn, store.one(conn, store.enrolments, enrolment_id))


def cancel_enrolments(conn, ids: list[str], reason: str) -> None:
    """Cancel these enrolments (the caller promotes from the waiting list afterwards)."""
    now = utcnow()
    conn.execute(update(store.enrolments).where(store.enrolments.c.id.in_(ids))
                 .values(status="cancelled", cancelled_at=now, cancel_reason=reason[:200], updated_at=now))


def list_enrolments(db: Database, actor: Principal, session_id: str, page: int, page_size: int):
    e = store.enrolments.c
    with db.read() as conn:
        session = _session(conn, session_id)
        query = select(store.enrolments).where(e.session_id == session_id)
        if actor.role not in READ_ALL and actor.staff_id != session["trainer_staff_id"]:
            if actor.role in SUPERVISING:
                query = query.where(e.branch_id == actor.branch_id)
            else:
                query = query.where(e.staff_id == actor.staff_id)
        items, total = page_of(conn, query, [e.requested_at, e.id], page, page_size)
        return [_enrolment_view(conn, item) for item in items], total


def record_attendance(db: Database, actor: Principal, session_id: str, records: list[dict]) -> list[dict]:
    """The trainer (or a supervisor, for their branch's staff) records who attended and their scores.

    Attended and passed → completed: hours credited, a certificate, ``lsq.training.completed.v1``.
    """
    staff_ids = [r["staff_id"] for r in records]
    if len(set(staff_ids)) != len(staff_ids):
        raise Invalid("a staff member appears twice", "同一员工出现了两次", field="records")
    out = []
    with db.transaction() as conn:
        session = _session(conn, session_id, for_update=True)
        if session["status"] != "scheduled":
            raise Conflict("the session was cancelled", "该场次已取消", code="session_cancelled")
        if session["starts_at"] > utcnow():
            raise Conflict("attendance can be recorded once the session has started",
                           "培训开始后才能登记出勤", code="session_not_started")
        course = store.one(conn, store.courses, session["course_id"])
        e = store.enrolments.c
        is_trainer = actor.staff_id is not None and actor.staff_id == session["trainer_staff_id"]
        completed_on = local_date(min(session["ends_at"], utcnow()))
        for i, record in enumerate(records):
            row = conn.execute(select(store.enrolments).where(
                e.session_id == session_id, e.staff_id == record["staff_id"])).mappings().first()
            if row is None:
                raise Invalid(f"{record['staff_id']} is not enrolled in this session", "该员工未报名本场次",
                              field=f"records.{i}.staff_id", code="not_enrolled")
            if not (actor.role == "network_admin" or is_trainer
                    or (actor.role in SUPERVISING and actor.branch_id == row["branch_id"])):
                raise Forbidden("only the trainer, or a supervisor of the staff member's branch, records attendance",
                                "只有培训讲师或该员工所在分馆主管可以登记出勤")
            model.check_attendance_allowed(row["status"])
            try:
                outcome = model.attendance_outcome(record["attended"], record.get("score"), course["pass_mark"])
            except Invalid as exc:
                exc.field = f"records.{i}.{exc.field}"
                raise
            completion_id = None
            if outcome == "completed":
                completion = record_completion(
                    conn, staff_id=row["staff_id"], branch_id=row["branch_id"], source="course", kind="course",
                    title=course["title_en"], title_zh=course["title_zh"], area=course["competency_area"],
                    hours=course["hours"], credit=course["hours"], completed_on=completed_on, course=course,
                    course_version=session["course_version"], enrolment_id=row["id"], score=record.get("score"))
                completion_id = completion["id"]
            now = utcnow()
            conn.execute(update(store.enrolments).where(e.id == row["id"]).values(
                status=outcome, score=record.get("score"), recorded_by=actor.subject, recorded_at=now,
                completion_id=completion_id, updated_at=now))
            out.append(_enrolment_view(conn, store.one(conn, store.enrolments, row["id"])))
    return out


# -- external activities -------------------------------------------------------------------------
def submit_external(db: Database, actor: Principal, data: dict) -> dict:
    """A staff member reports a seminar, forum, conference, networking event or teaching."""
    staff_id = data.get("staff_id") or actor.staff_id
    if not staff_id:
        raise Invalid("staff_id is required", "必须指定 staff_id", field="staff_id")
    if actor.role != "network_admin" and staff_id != actor.staff_id:
        raise Forbidden("staff submit their own activities", "员工只能提交本人的活动")
    if data["activity_date"] > today():
        raise Invalid("the activity has not happened yet", "活动日期不能晚于今天", field="activity_date")
    end = data.get("end_date")
    if end is not None and end < data["activity_date"]:
        raise Invalid("the end date is before the start date", "结束日期早于开始日期", field="end_date")
    if end is not None and end > today():
        raise Invalid("the activity has not ended yet", "活动尚未结束", field="end_date")
    hours = model.check_hours(data["hours"], model.span_days(data["activity_date"], end))
    with db.transaction() as conn:
        person = _staff(conn, staff_id)
        row = {"id": store.new_id(), "end_date": None, "competency_area": None, "evidence_note": None, **data,
               "staff_id": staff_id, "hours": hours, "branch_id": person["branch_id"], "status": "submitted",
               "submitted_at": utcnow(), "decided_by": None, "decided_at": None, "decision_note": None,
               "credit_hours": None, "completion_id": None}
        conn.execute(store.external_activities.insert().values(**row))
        # The branch's supervisors and manager are told it waits for them (never its author).
        outbox.add(conn, "lsq.training.external_submitted.v1", {
            "activity_id": row["id"], "staff_id": staff_id, "branch_id": row["branch_id"], "kind": row["kind"],
            "title": row["title"], "activity_date": row["activity_date"], "hours": hours,
            "submitted_at": row["submitted_at"]})
    return row


def _external_for_decision(conn, actor: Principal, activity_id: str):
    row = store.one(conn, store.external_activities, activity_id, for_update=True)
    if row is None:
        raise not_found("external activity", "外部活动", activity_id)
    if actor.role != "network_admin":
        if actor.role not in SUPERVISING or actor.branch_id != row["branch_id"]:
            raise Forbidden("only a supervisor of the staff member's branch decides",
                            "只有该员工所在分馆的主管可以审批")
        if actor.staff_id == row["staff_id"]:
            raise Forbidden("nobody approves their own activity", "不能审批本人提交的活动")
    if row["status"] != "submitted":
        raise Conflict(f"the activity was already {row['status']}", f"该活动已{'批准' if row['status'] == 'approved' else '驳回'}",
                       code="already_decided")
    return row


def approve_external(db: Database, actor: Principal, activity_id: str, note: str | None) -> dict:
    """Approve: hours × the kind's credit factor (teaching capped per year) → a completion and
    ``lsq.training.completed.v1`` with source ``external``."""
    with db.transaction() as conn:
        row = _external_for_decision(conn, actor, activity_id)
        if conn.dialect.name == "postgresql":
            # Two teaching approvals of one person at once must not both fit under the yearly cap.
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": f"credit:{row['staff_id']}"})
        policy = get_policy(conn)
        completed_on = row["end_date"] or row["activity_date"]
        c = store.completions.c
        teaching = conn.execute(select(func.coalesce(func.sum(c.credit_hours), 0.0)).where(
            c.staff_id == row["staff_id"], c.kind == "teaching", c.year == completed_on.year)).scalar_one()
        credit = model.external_credit(row["kind"], row["hours"], policy, float(teaching))
        completion = record_completion(
            conn, staff_id=row["staff_id"], branch_id=row["branch_id"], source="external", kind=row["kind"],
            title=row["title"], title_zh=None, area=row["competency_area"], hours=row["hours"], credit=credit,
            completed_on=completed_on, external_activity_id=row["id"])
        conn.execute(update(store.external_activities).where(store.external_activities.c.id == activity_id).values(
            status="approved", decided_by=actor.staff_id or actor.subject, decided_at=utcnow(), decision_note=note,
            credit_hours=credit, completion_id=completion["id"]))
        return dict(store.one(conn, store.external_activities, activity_id))


def reject_external(db: Database, actor: Principal, activity_id: str, note: str) -> dict:
    with db.transaction() as conn:
        _external_for_decision(conn, actor, activity_id)
        conn.execute(update(store.external_activities).where(store.external_activities.c.id == activity_id).values(
            status="rejected", decided_by=actor.staff_id or actor.subject, decided_at=utcnow(), decision_note=note))
        return dict(store.one(conn, store.external_activities, activity_id))


def list_external(db: Database, actor: Principal, filters: dict, page: int, page_size: int):
    x = store.external_activities.c
    query = select(store.external_activities)
    if actor.role == "staff":
        filters = {**filters, "staff_id": actor.staff_id}
    elif actor.branch_filter() is not None and filters.get("staff_id") != actor.staff_id:
        if filters.get("branch_id") not in (None, actor.branch_id):
            actor.require_branch(filters["branch_id"])
        filters = {**filters, "branch_id": actor.branch_id}
    for name in ("staff_id", "branch_id", "status", "kind"):
        if filters.get(name) is not None:
            query = query.where(x[name] == filters[name])
    with db.read() as conn:
        return page_of(conn, query, [x.submitted_at.desc(), x.id], page, page_size)


# -- views ---------------------------------------------------------------------------------------
def transcript(db: Database, actor: Principal, staff_id: str, year: int | None) -> dict:
    """Completed training, hours this year against the requirement, what is upcoming and overdue."""
    when = today()
    year = year or when.year
    with db.read() as conn:
        person = directory_view.staff(conn, staff_id)
        if person is None:
            raise not_found("staff member", "员工", staff_id)
        _check_sees_staff(actor, staff_id, person["branch_id"])
        policy = get_policy(conn)
        c, r = store.completions.c, store.requirements.c
        done = [dict(x) for x in conn.execute(select(store.completions).where(c.staff_id == staff_id)
                                              .order_by(c.completed_on.desc(), c.created_at.desc())).mappings()]
        totals, by_area = credited_hours(conn, [staff_id], year)
        reqs = [dict(x) for x in conn.execute(select(store.requirements).where(r.staff_id == staff_id)
                                              .order_by(r.due_on)).mappings()]
        annual = next((x for x in reqs if x["kind"] == "annual_hours" and x["period"] == str(year)), None)
        # Before the year's requirement exists (New Year, before the sweep), what it will be: counted
        # from the hire date, or from the registration (the first requirement) when that was later.
        since = person["hire_date"]
        if reqs:
            registered = local_date(min(x["assigned_at"] for x in reqs))
            since = registered if since is None or registered > since else since
        title = store.titles_of(conn, [staff_id]).get(staff_id)
        required = (annual["required_hours"] if annual else
                    model.prorated_annual_hours(policy.annual_hours_for(person["role"], title), since, year))
        minima = {x["area"]: x["required_hours"] for x in reqs if x["kind"] == "area_hours"
                  and x["period"] == str(year)} or policy.area_minima_for(person["role"], title)
        areas = {a: {"credited": model.round_hours(by_area.get((staff_id, a), 0.0)), "minimum": minima.get(a)}
                 for a in sorted(set(minima) | {a for (_, a) in by_area})}
        credited = model.round_hours(totals.get(staff_id, 0.0))
        s, e = store.sessions.c, store.enrolments.c
        upcoming_sessions = [dict(x) for x in conn.execute(
            select(e.id.label("enrolment_id"), e.status, s.id.label("session_id"), s.starts_at, s.ends_at, s.place,
                   s.link, store.courses.c.code.label("course_code"), store.courses.c.title_en,
                   store.courses.c.title_zh)
            .select_from(store.enrolments.join(store.sessions, s.id == e.session_id)
                         .join(store.courses, store.courses.c.id == s.course_id))
            .where(e.staff_id == staff_id, e.status.in_(model.ACTIVE_ENROLMENT), s.starts_at > utcnow())
            .order_by(s.starts_at)).mappings()]
    open_reqs = [x for x in reqs if x["status"] == "open"]
    return {
        "staff_id": staff_id, "name": person["name"], "branch_id": person["branch_id"], "year": year,
        "professional_title": title, "professional_title_zh": model.label_zh("title", title),
        "completed": done,
        "hours": {"year": year, "credited": credited, "required": required,
                  "met": model.hours_met(required, credited)
                  and all(model.hours_met(v["minimum"] or 0, v["credited"]) for v in areas.values()),
                  "by_area": areas},
        "upcoming": {"sessions": upcoming_sessions,
                     "requirements": [x for x in open_reqs if x["due_on"] >= when]},
        "overdue": [x for x in open_reqs if x["due_on"] < when],
    }


def compliance(db: Database, actor: Principal, branch_id: str | None, year: int | None) -> dict:
    """Share of staff meeting each requirement of ``year``, per branch (waived ones do not count).

    A requirement counts in the year it is due (``model.compliance_years``). One assigned in
    ``year`` but due in a later year is listed too, on a line of its own that names the year it is
    due, so that the December report shows the newcomers who still owe the regulation course;
    each line of the year's own requirements says how many of them were assigned in an earlier year.
    """
    when = today()
    year = year or when.year
    if actor.branch_filter() is not None:
        if branch_id not in (None, actor.branch_id):
            actor.require_branch(branch_id)
        branch_id = actor.branch_id
    r = store.requirements.c
    year_starts = timeutil.local_midnight(date(year, 1, 1), timezone())
    year_ends = timeutil.local_midnight(date(year + 1, 1, 1), timezone())
    assigned_this_year = and_(r.assigned_at >= year_starts, r.assigned_at < year_ends)
    query = (select(r.branch_id, r.kind, r.course_id, r.area, r.title, r.title_zh, r.staff_id, r.period,
                    func.sum(case((r.status == "open", 1), else_=0)).label("open"),
                    func.sum(case((and_(r.status == "open", r.due_on < when), 1), else_=0)).label("overdue"),
                    func.sum(case((r.assigned_at < year_starts, 1), else_=0)).label("assigned_earlier"))
             .where(or_(r.period == str(year), and_(r.period > str(year), assigned_this_year)),
                    r.status.in_(("open", "completed")))
             .group_by(r.branch_id, r.kind, r.course_id, r.area, r.title, r.title_zh, r.staff_id, r.period))
    if branch_id:
        query = query.where(r.branch_id == branch_id)
    groups: dict = {}
    with db.read() as conn:
        for row in conn.execute(query):
            # Hours requirements differ per person only in the figure: one line per kind and area.
            key = (row.branch_id, int(row.period), row.kind, row.course_id, row.area)
            g = groups.setdefault(key, {"titles": (row.title, row.title_zh), "staff": set(), "met": set(),
                                        "overdue": set(), "assigned_earlier": set()})
            g["staff"].add(row.staff_id)
            if not row.open:
                g["met"].add(row.staff_id)
            if row.overdue:
                g["overdue"].add(row.staff_id)
            if row.assigned_earlier:
                g["assigned_earlier"].add(row.staff_id)
        branches = {b.branch_id: b for b in conn.execute(select(directory_view.known_branches))}
        codes = dict(conn.execute(select(store.courses.c.id, store.courses.c.code)).all())
    lines = []
    for (branch, due_year, kind, course_id, area), g in sorted(
            groups.items(), key=lambda kv: tuple(str(k) for k in kv[0])):
        title, title_zh = g["titles"]
        if kind in model.HOURS_REQUIREMENT_KINDS:
            title = "annual continuing-education hours" if kind == "annual_hours" else f"hours in {area}"
            title_zh = ("年度继续教育学时" if kind == "annual_hours" else
                        f"{model.label_zh('competency_area', area)}领域学时")
        note_en, note_zh = model.compliance_note(year, due_year, len(g["assigned_earlier"]))
        b = branches.get(branch)
        lines.append({"branch_id": branch, "branch_code": b.code if b else None,
                      "branch_name_zh": b.name_zh if b else None, "branch_name_en": b.name_en if b else None,
                      "kind": kind, "kind_zh": model.label_zh("requirement_kind", kind),
                      "area_zh": model.label_zh("competency_area", area), "course_id": course_id,
                      "course_code": codes.get(course_id), "area": area,
                      "title_en": title, "title_zh": title_zh, "due_year": due_year,
                      "due_later": due_year > year, "assigned_earlier": len(g["assigned_earlier"]),
                      "note_en": note_en, "note_zh": note_zh,
                      "staff": len(g["staff"]), "met": len(g["met"]),
                      "overdue": len(g["overdue"]), "share_met": model.compliance_share(len(g["met"]), len(g["staff"]))})
    return {"year": year, "branch_id": branch_id, "as_of": when, "lines": lines}


#: (key, English header, Chinese header): each header is "English / 中文"; codes sit beside their names.
CSV_COLUMNS = [("branch_code", "branch code", "分馆代码"), ("branch_name_zh", "branch (Chinese)", "分馆"),
               ("branch_name_en", "branch", "分馆英文名"), ("kind", "requirement kind", "要求类型代码"),
               ("kind_zh", "requirement kind (Chinese)", "要求类型"), ("course_code", "course code", "课程代码"),
               ("area", "competency area", "能力领域代码"), ("area_zh", "competency area (Chinese)", "能力领域"),
               ("title_en", "requirement", "培训要求（英文）"), ("title_zh", "requirement (Chinese)", "培训要求"), ("due_year", "due year", "截止年度"),
               ("note_en", "note", "说明（英文）"), ("note_zh", "note (Chinese)", "说明"),
               ("staff", "staff required", "应完成人数"), ("met", "staff done", "已完成人数"),
               ("overdue", "staff overdue", "逾期人数"), ("share_met", "share done", "完成率")]


def compliance_csv(report: dict) -> str:
    """The compliance report as CSV (UTF-8 with a BOM so that Excel shows the Chinese): bilingual
    headers, and every code beside its Chinese name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([f"{en} / {zh}" for _, en, zh in CSV_COLUMNS])
    for line in report["lines"]:
        writer.writerow(["" if line[k] is None else line[k] for k, _, _ in CSV_COLUMNS])
    return "\ufeff" + buffer.getvalue()


# -- the overdue sweep ---------------------------------------------------------------------------
def sweep(db: Database, on: date | None = None) -> dict:
    """Find what falls due soon or is overdue and say so once per requirement and period.

    Runs in one transaction. On PostgreSQL an advisory lock lets one worker sweep at a time (the
    others skip); in any case the ``requirement_notices`` primary key makes a second notice for the
    same requirement, notice and period impossible, so several workers never double-publish.
    """
    on = on or today()
    with db.transaction() as conn:
        if conn.dialect.name == "postgresql" and not conn.execute(
                text("SELECT pg_try_advisory_xact_lock(hashtext('lsq-training-sweep'))")).scalar():
            return {"skipped": True, "created": 0, "due_soon": 0, "overdue": 0}
        policy = get_policy(conn)
        created = ensure_annual_requirements(conn, on.year, policy=policy)
        r, n = store.requirements.c, store.requirement_notices.c
        columns = (r.id, r.staff_id, r.branch_id, r.kind, r.course_id, r.title, r.title_zh, r.due_on, r.period)

        def candidates(notice: str, *window):
            noticed = exists().where(n.requirement_id == r.id, n.notice == notice, n.period == r.period)
            return conn.execute(select(*columns).where(r.status == "open", *window, ~noticed)).all()

        overdue = candidates("overdue", r.due_on < on)
        due_soon = candidates("due_soon", r.due_on >= on, r.due_on <= on + timedelta(days=policy.due_soon_days))
        # Hours requirements are settled by the credits at this moment before anyone is told.
        hours_rows = [x for x in overdue + due_soon if x.kind in model.HOURS_REQUIREMENT_KINDS]
        met = set()
        for year in {int(x.period) for x in hours_rows}:
            met |= settle_hours(conn, {x.staff_id for x in hours_rows if x.period == str(year)}, year, on=on)
        # The SQL above already left out what was sent (the anti-join); the rule decides the rest.
        decided = model.notices_due([x for x in overdue + due_soon if x.id not in met], set(), on,
                                    policy.due_soon_days)
        overdue = [x for x, notice in decided if notice == "overdue"]
        due_soon = [x for x, notice in decided if notice == "due_soon"]
        now = utcnow()
        for notice, rows in (("overdue", overdue), ("due_soon", due_soon)):
            if rows:
                conn.execute(store.requirement_notices.insert(), [
                    {"requirement_id": x.id, "notice": notice, "period": x.period, "sent_at": now} for x in rows])

        def data(x, **extra):
            return {"requirement_id": x.id, "staff_id": x.staff_id, "branch_id": x.branch_id, "kind": x.kind,
                    "course_id": x.course_id, "title": x.title, "title_zh": x.title_zh, "due_on": x.due_on,
                    "period": x.period, **extra}

        outbox.add_many(conn, "lsq.requirement.overdue.v1",
                         [(data(x, overdue_since=x.due_on + timedelta(days=1)), []) for x in overdue])
        outbox.add_many(conn, "lsq.requirement.due_soon.v1", [(data(x), []) for x in due_soon])
    return {"skipped": False, "created": created, "due_soon": len(due_soon), "overdue": len(overdue)}
