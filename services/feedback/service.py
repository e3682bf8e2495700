"""Feedback use cases: complaints and their SLAs, praise, desk ratings, reader forums, settings.

One transaction each: checks, writes, and the events they cause (``shared.outbox``). Surveys are
in ``surveys.py``. Reader contact details are kept in their own table and never put in events.
"""
from __future__ import annotations

import json
import os
import threading
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import cachetools
from sqlalchemy import and_, bindparam, case, func, or_, select, update

from services.feedback import model, sla, store
from shared import directory_view, outbox
from shared.auth import Principal
from shared.db import Database, insert_rows, page_of
from shared.ids import time_ordered_id
from shared.directory_view import known_staff
from shared.errors import Forbidden, Invalid, not_found
from shared.timeutil import local_date, local_midnight, network_zone, utcnow

c = store.complaints.c


def calendar_zone() -> ZoneInfo:
    """The zone whose calendar days feedback's date rules use (``LSQ_FEEDBACK_TIMEZONE``, else
    ``LSQ_TIMEZONE``, else Asia/Shanghai): a rating at 00:30 on 1 January in Shanghai is January's."""
    return network_zone("feedback")


def contact_retention_days() -> int:
    """Days after closure before contact details are purged (``LSQ_FEEDBACK_CONTACT_RETENTION_DAYS``)."""
    raw = os.environ.get("LSQ_FEEDBACK_CONTACT_RETENTION_DAYS", str(model.DEFAULT_CONTACT_RETENTION_DAYS))
    try:
        return max(0, int(raw))
    except ValueError:
        return model.DEFAULT_CONTACT_RETENTION_DAYS


# -- references ---------------------------------------------------------------------------------
def _check_refs(conn, branch_id: str, service_point_id: str | None = None, staff_id: str | None = None,
                staff_field: str = "staff_id") -> None:
    """Branch, service point and staff must be known to the directory read model (422 otherwise).

    One query answers all three on the hot path (filing); the shared checks run only to build the
    error when something is missing, so the messages are the ones every service gives.
    """
    found = conn.execute(_REFS, {"branch_id": branch_id, "point_id": service_point_id or "",
                                 "staff_id": staff_id or ""}).one()
    if found.branch is None:
        directory_view.require_branch(conn, branch_id)
    if service_point_id and found.point_branch != branch_id:
        directory_view.require_service_point(conn, service_point_id, branch_id)
    if staff_id and (found.staff_status is None or found.staff_status == "left"):
        directory_view.require_staff(conn, staff_id, field=staff_field)


_REFS = select(
    select(directory_view.known_branches.c.branch_id)
    .where(directory_view.known_branches.c.branch_id == bindparam("branch_id")).scalar_subquery().label("branch"),
    select(directory_view.known_service_points.c.branch_id)
    .where(directory_view.known_service_points.c.service_point_id == bindparam("point_id"))
    .scalar_subquery().label("point_branch"),
    select(known_staff.c.status).where(known_staff.c.staff_id == bindparam("staff_id"))
    .scalar_subquery().label("staff_status"))


def _branch_manager(conn, branch_id: str) -> str | None:
    """The branch's manager in the directory read model (first by id if there are several)."""
    row = conn.execute(select(known_staff.c.staff_id).where(
        known_staff.c.branch_id == branch_id, known_staff.c.role == "branch_manager",
        known_staff.c.status == "active").order_by(known_staff.c.staff_id).limit(1)).first()
    return row.staff_id if row else None


# -- settings: SLA policy and opening hours -----------------------------------------------------
#: Settings and confirmed references are remembered this long per process: filing is the hot
#: path, and a change made by the network admin reaches every web process within this many seconds.
SETTINGS_CACHE_SECONDS = 5.0
# Keyed by database URL (one process may serve several in tests); cachetools' caches are not
# thread-safe, hence the lock (gthread workers).
_settings = cachetools.TTLCache(maxsize=10_000, ttl=SETTINGS_CACHE_SECONDS)
_settings_lock = threading.Lock()


def _remembered(key):
    with _settings_lock:
        return _settings.get(key)


def _remember(key, value) -> None:
    with _settings_lock:
        _settings[key] = value


def _policy_key(database_url: str) -> tuple:
    return ("policy", database_url)


def _hours_key(database_url: str, branch_id: str) -> tuple:
    return ("hours", database_url, branch_id)


def _forget_settings() -> None:
    with _settings_lock:
        _settings.clear()


def sla_policy(conn) -> dict[str, model.SlaTarget]:
    """The SLA targets per severity (seeded with the defaults by the first migration)."""
    key = _policy_key(str(conn.engine.url))
    policy = _remembered(key)
    if policy is not None:
        return policy
    policy = dict(model.DEFAULT_SLA)
    for row in conn.execute(select(store.sla_policy)).mappings():
        policy[row["severity"]] = model.SlaTarget(timedelta(minutes=row["acknowledge_minutes"]),
                                                  timedelta(minutes=row["resolve_minutes"]),
                                                  bool(row["business_hours"]))
    _remember(key, policy)
    return policy


def _policy_view(policy: dict[str, model.SlaTarget]) -> list[dict]:
    return [{"severity": s, "acknowledge_hours": policy[s].acknowledge.total_seconds() / 3600,
             "resolve_hours": policy[s].resolve.total_seconds() / 3600,
             "business_hours": policy[s].business_hours} for s in model.SEVERITIES]


def get_sla_policy(db: Database) -> list[dict]:
    with db.read() as conn:
        return _policy_view(sla_policy(conn))


def set_sla_policy(db: Database, items: list[dict]) -> list[dict]:
    """Change the targets of some severities. Complaints already filed keep their due times."""
    model.check_sla_targets(items)
    now = utcnow()
    with db.transaction() as conn:
        for item in items:
            values = dict(acknowledge_minutes=round(item["acknowledge_hours"] * 60),
                          resolve_minutes=round(item["resolve_hours"] * 60),
                          business_hours=item["business_hours"], updated_at=now)
            done = conn.execute(update(store.sla_policy).where(
                store.sla_policy.c.severity == item["severity"]).values(**values)).rowcount
            if not done:
                conn.execute(store.sla_policy.insert().values(severity=item["severity"], **values))
        _forget_settings()
        return _policy_view(sla_policy(conn))


def _target(row) -> model.SlaTarget:
    return model.SlaTarget(timedelta(minutes=row["acknowledge_minutes"]), timedelta(minutes=row["resolve_minutes"]),
                           bool(row["business_hours"]))


def _branch_policy_key(database_url: str, branch_id: str) -> tuple:
    return ("branch_policy", database_url, branch_id)


def branch_overrides(conn, branch_id: str) -> dict[str, model.SlaTarget]:
    """The targets a branch set for itself (severity → target); empty when it follows the network."""
    b = store.branch_sla_policy.c
    return {row["severity"]: _target(row) for row in conn.execute(
        select(store.branch_sla_policy).where(b.branch_id == branch_id)).mappings()}


def sla_policy_for(conn, branch_id: str) -> dict[str, model.SlaTarget]:
    """The targets that apply to the complaints of ``branch_id``: its own, else the network's."""
    key = _branch_policy_key(str(conn.engine.url), branch_id)
    policy = _remembered(key)
    if policy is None:
        policy = model.effective_sla(sla_policy(conn), branch_overrides(conn, branch_id))
        _remember(key, policy)
    return policy


def _branch_policy_view(conn, branch_id: str) -> list[dict]:
    own = branch_overrides(conn, branch_id)
    return [{**item, "branch_id": branch_id, "source": "branch" if item["severity"] in own else "network"}
            for item in _policy_view(model.effective_sla(sla_policy(conn), own))]


def get_branch_sla_policy(db: Database, actor: Principal, branch_id: str) -> list[dict]:
    """A branch's targets per severity, each saying whether it is the branch's own or the network's."""
    with db.read() as conn:
        directory_view.require_branch(conn, branch_id)
        return _branch_policy_view(conn, branch_id)


def set_branch_sla_policy(db: Database, actor: Principal, branch_id: str, items: list[dict]) -> list[dict]:
    """Set a branch's own targets for some severities (network_admin; the branch's manager for their
    branch). The severities not given keep what they had. Complaints already filed keep their due times."""
    actor.require_branch(branch_id)
    model.check_sla_targets(items)
    now = utcnow()
    b = store.branch_sla_policy.c
    with db.transaction() as conn:
        directory_view.require_branch(conn, branch_id)
        for item in items:
            values = dict(acknowledge_minutes=round(item["acknowledge_hours"] * 60),
                          resolve_minutes=round(item["resolve_hours"] * 60), business_hours=item["business_hours"],
                          updated_at=now, updated_by=actor.staff_id or actor.subject)
            if not conn.execute(update(store.branch_sla_policy).where(
                    b.branch_id == branch_id, b.severity == item["severity"]).values(**values)).rowcount:
                conn.execute(store.branch_sla_policy.insert().values(branch_id=branch_id, severity=item["severity"],
                                                                     **values))
        _forget_settings()
        view = _branch_policy_view(conn, branch_id)
    _forget_settings()  # again once committed: a read in between may have remembered the old targets
    return view


def reset_branch_sla_policy(db: Database, actor: Principal, branch_id: str, severity: str | None) -> list[dict]:
    """The branch follows the network's targets again (for one severity, or for all)."""
    actor.require_branch(branch_id)
    b = store.branch_sla_policy.c
    with db.transaction() as conn:
        directory_view.require_branch(conn, branch_id)
        conditions = [b.branch_id == branch_id] + ([b.severity == severity] if severity else [])
        conn.execute(store.branch_sla_policy.delete().where(*conditions))
        _forget_settings()
        view = _branch_policy_view(conn, branch_id)
    _forget_settings()  # again once committed: a read in between may have remembered the old targets
    return view


def opening_hours(conn, branch_id: str) -> sla.OpeningHours | None:
    """The branch's opening hours, or None for 24x7 (nothing configured)."""
    key = _hours_key(str(conn.engine.url), branch_id)
    hours = _remembered(key)
    if hours is None:
        data = store.hours_of(conn, branch_id)
        hours = sla.OpeningHours.from_dict(data) if data else ALWAYS_OPEN
        _remember(key, hours)
    return None if hours is ALWAYS_OPEN else hours


ALWAYS_OPEN = "24x7"  # the remembered answer "no opening hours configured"


def get_opening_hours(db: Database, branch_id: str) -> dict:
    with db.read() as conn:
        directory_view.require_branch(conn, branch_id)
        hours = opening_hours(conn, branch_id)
    return {"branch_id": branch_id, "always_open": hours is None, **(hours.to_dict() if hours else
                                                                      {"timezone": sla.DEFAULT_TIMEZONE,
                                                                       "week": {}, "closed_dates": []})}


def set_opening_hours(db: Database, actor: Principal, branch_id: str, data: dict) -> dict:
    """Set a branch's weekly opening hours (branch managers their own branch).

    Affects due times computed from now on (new complaints, resumptions, reopenings).
    """
    actor.require_branch(branch_id)
    hours = sla.OpeningHours.from_dict(data)
    now = utcnow()
    with db.transaction() as conn:
        directory_view.require_branch(conn, branch_id)
        values = dict(hours=json.dumps(hours.to_dict()), updated_at=now, updated_by=actor.staff_id or actor.subject)
        if not conn.execute(update(store.branch_hours).where(store.branch_hours.c.branch_id == branch_id)
                            .values(**values)).rowcount:
            conn.execute(store.branch_hours.insert().values(branch_id=branch_id, **values))
    _forget_settings()
    return {"branch_id": branch_id, "always_open": False, **hours.to_dict()}


# -- complaints: filing and reader actions ------------------------------------------------------
def _sla_columns(conn, row: dict) -> dict:
    """The four SLA times of a complaint as it is now (after its pauses were written)."""
    target = sla_policy_for(conn, row["branch_id"])[row["severity"]]
    hours = opening_hours(conn, row["branch_id"]) if target.business_hours else None
    times = model.sla_times(target, row["filed_at"], row["resolve_clock_start"], hours,
                            store.pauses_of(conn, row["id"]))
    return dict(acknowledge_due_at=times.acknowledge_due_at, acknowledge_at_risk_at=times.acknowledge_at_risk_at,
                resolve_due_at=times.resolve_due_at, resolve_at_risk_at=times.resolve_at_risk_at)


#: Roles that may record a complaint on a reader's behalf, dated when the library received it.
RECORDERS = ("supervisor", "branch_manager", "network_admin")


def file_complaint(db: Database, data: dict, actor: Principal | None = None) -> dict:
    """A reader files a complaint → ``lsq.complaint.filed.v1``; returns it with its tracking code.

    Staff recording a complaint received earlier (by phone, letter, at the desk) may give
    ``received_at``: the complaint counts as filed then, and its SLA clocks run from then.
    Filing is the busiest write: the checks, the SLA times and the event are prepared on a read
    connection first, so the write transaction only inserts (SQLite writers take turns).
    """
    now = utcnow()
    recording = actor is not None and actor.role in RECORDERS
    if recording and data.get("received_at") is not None:
        actor.require_branch(data["branch_id"])
    filed_at = model.check_received_at(data.get("received_at"), now, recording)
    contact = {k: v for k, v in (data.get("contact") or {}).items() if v}
    code = model.new_tracking_code()
    target, hours = _filing_terms(db, data)
    times = model.sla_times(target, filed_at, filed_at, hours)
    row = {
        "id": time_ordered_id(), "tracking_hash": model.hash_secret(code), "branch_id": data["branch_id"],
        "service_point_id": data.get("service_point_id"), "staff_id": data.get("staff_id"),
        "category": data["category"], "severity": data["severity"], "channel": data["channel"],
        "description": data["description"], "status": "new", "filed_at": filed_at, "resolve_clock_start": filed_at,
        "acknowledge_due_at": times.acknowledge_due_at, "acknowledge_at_risk_at": times.acknowledge_at_risk_at,
        "resolve_due_at": times.resolve_due_at, "resolve_at_risk_at": times.resolve_at_risk_at,
        "reopen_count": 0, "has_contact": bool(contact), "updated_at": now,
    }
    event = outbox.event_row("lsq.complaint.filed.v1", {
        **_ref(row), "category": row["category"], "severity": row["severity"], "channel": row["channel"],
        "filed_at": filed_at, "acknowledge_due_at": row["acknowledge_due_at"],
        "resolve_due_at": row["resolve_due_at"], "reader_ref": None}, None, now)

    def write(conn):
        insert_rows(conn, store.complaints, [row])
        if contact:
            insert_rows(conn, store.complaint_contacts, [{"complaint_id": row["id"], "name": None, "phone": None,
                                                          "email": None, **contact}])
        if filed_at != now:
            # A reader's own filing is recorded by the complaint row itself (see complaint_history);
            # one recorded by staff also says who recorded it and when.
            store.add_history(conn, row["id"], filed_at, "file", actor.role, actor.staff_id, None, "new",
                              f"recorded by staff at {now.isoformat(timespec='seconds')}")
        outbox.write_rows(conn, [event])

    db.write_together(write)
    return {**tracking_view(row), "tracking_code": code}


def _filing_terms(db: Database, data: dict) -> tuple[model.SlaTarget, sla.OpeningHours | None]:
    """Check a new complaint's references; its SLA target and the branch's opening hours.

    Answered from the per-process cache when the same references were confirmed within
    ``SETTINGS_CACHE_SECONDS``: the directory read model only ever gains branches and staff (one
    who leaves is kept, marked left), so the cache can only be late by those seconds in refusing
    a staff member who has just left, which the read model itself learns by event anyway.
    """
    refs = (data["branch_id"], data.get("service_point_id"), data.get("staff_id"))
    url = str(db.engine.url)
    policy = _remembered(_branch_policy_key(url, data["branch_id"]))
    if policy is not None and _remembered(("refs", url, refs)):
        target = policy[data["severity"]]
        hours = _remembered(_hours_key(url, data["branch_id"])) if target.business_hours else ALWAYS_OPEN
        if hours is not None:
            return target, None if hours is ALWAYS_OPEN else hours
    with db.read() as conn:
        _check_refs(conn, *refs)
        _remember(("refs", url, refs), True)
        target = sla_policy_for(conn, data["branch_id"])[data["severity"]]
        return target, opening_hours(conn, data["branch_id"]) if target.business_hours else None


def _ref(row) -> dict:
    return {"complaint_id": row["id"], "branch_id": row["branch_id"], "staff_id": row["staff_id"],
            "service_point_id": row["service_point_id"]}


def _by_code(conn, code: str, for_update: bool = False) -> dict:
    row = store.complaint_by_code_hash(conn, model.hash_secret(code), for_update)
    if row is None:
        # Same answer for a mistyped and a guessed code: nothing about other complaints leaks.
        raise not_found("complaint with tracking code", "跟踪码对应的投诉", code)
    return dict(row)


def tracking_view(row: dict) -> dict:
    """What the reader sees with the tracking code: progress and outcome, not who handles it."""
    reopen_until = row["resolved_at"] + model.REOPEN_WINDOW if row.get("resolved_at") else None
    return {
        "id": row["id"], "status": row["status"], "branch_id": row["branch_id"],
        "service_point_id": row["service_point_id"], "category": row["category"], "severity": row["severity"],
        "channel": row["channel"], "filed_at": row["filed_at"], "acknowledged_at": row.get("acknowledged_at"),
        "resolved_at": row.get("resolved_at"), "closed_at": row.get("closed_at"),
        "outcome": row.get("outcome"), "response": row.get("response"), "rating": row.get("rating"),
        "rated_at": row.get("rated_at"), "reopen_until": reopen_until if row["status"] in model.DONE_STATUSES else None,
        "has_contact": bool(row.get("has_contact")),
        # The library's promise to the reader: acknowledged by, resolved by (None while it waits on them).
        "acknowledge_due_at": row.get("acknowledge_due_at"), "resolve_due_at": row.get("resolve_due_at"),
        **_labels(row),
    }


def _labels(row: dict) -> dict:
    """The Chinese labels of a complaint's codes, for every view of it."""
    return {"status_zh": model.label_zh("status", row["status"]),
            "category_zh": model.label_zh("category", row["category"]),
            "severity_zh": model.label_zh("severity", row["severity"]),
            "channel_zh": model.label_zh("channel", row["channel"]),
            "outcome_zh": model.label_zh("outcome", row.get("outcome"))}


def track(db: Database, code: str) -> dict:
    with db.read() as conn:
        return tracking_view(_by_code(conn, code))


def rate_resolution(db: Database, code: str, rating: int, comment: str | None) -> dict:
    """The reader rates the resolution with the tracking code → ``lsq.complaint.rated.v1``."""
    now = utcnow()
    with db.transaction() as conn:
        row = _by_code(conn, code, for_update=True)
        model.check_rating(row["status"], row["rated_at"] is not None)
        changed = conn.execute(update(store.complaints).where(c.id == row["id"], c.rated_at.is_(None))
                               .values(rating=rating, rating_comment=comment, rated_at=now, updated_at=now)).rowcount
        model.check_rating(row["status"], changed == 0)  # a concurrent rating got there first
        store.add_history(conn, row["id"], now, "rate", "reader", None, row["status"], row["status"], f"rating {rating}")
        outbox.add(conn, "lsq.complaint.rated.v1", {**_ref(row), "rating": rating, "rated_at": now})
        row.update(rating=rating, rating_comment=comment, rated_at=now)
    return tracking_view(row)


def erase_contact_by_code(db: Database, code: str) -> dict:
    """The reader's erasure request: their contact details are deleted at once."""
    with db.transaction() as conn:
        row = _by_code(conn, code, for_update=True)
        _erase_contact(conn, row, "reader", None, "erasure request by the reader")
        row.update(has_contact=False)
    return tracking_view(row)


def _erase_contact(conn, row: dict, actor_role: str | None, actor_id: str | None, note: str) -> None:
    now = utcnow()
    conn.execute(store.complaint_contacts.delete().where(store.complaint_contacts.c.complaint_id == row["id"]))
    conn.execute(update(store.complaints).where(c.id == row["id"])
                 .values(has_contact=False, contact_erased_at=now, updated_at=now))
    store.add_history(conn, row["id"], now, "erase_contact", actor_role, actor_id, row["status"], row["status"], note)


# -- complaints: staff side ---------------------------------------------------------------------
def _visible(conn, actor: Principal, complaint_id: str, for_update: bool = False) -> tuple[dict, str]:
    """The complaint and what ``actor`` may see of it; 404 when they may not see it at all."""
    row = store.get(conn, store.complaints, complaint_id, for_update)
    level = model.visibility(actor.role, actor.staff_id, actor.branch_id, dict(row)) if row else None
    if level is None:
        raise not_found("complaint", "投诉", complaint_id)
    return dict(row), level


def _handling(conn, actor: Principal, complaint_id: str) -> dict:
    """The complaint, for someone who may handle it (supervisor or manager of its branch, admin)."""
    row, level = _visible(conn, actor, complaint_id, for_update=True)
    if level != "full":
        raise Forbidden("only the branch's supervisors and managers handle its complaints",
                        "只有本分馆的主管和馆长可以处理投诉")
    return row


def complaint_view(conn, row: dict, level: str) -> dict:
    """A complaint as staff see it; contact details only at the "full" level."""
    view = {k: v for k, v in row.items() if k not in ("tracking_hash", "has_contact", "rating_comment")}
    view["has_contact"] = bool(row["has_contact"])
    view.update(_labels(row))
    if level == "full":
        contact = store.contact_of(conn, row["id"]) if row["has_contact"] else None
        view["contact"] = {k: contact[k] for k in ("name", "phone", "email")} if contact else None
        view["rating_comment"] = row["rating_comment"]
    else:
        view["contact"] = None
        view["rating_comment"] = None
    return view


def get_complaint(db: Database, actor: Principal, complaint_id: str) -> dict:
    with db.read() as conn:
        row, level = _visible(conn, actor, complaint_id)
        return complaint_view(conn, row, level)


def complaint_history(db: Database, actor: Principal, complaint_id: str) -> list[dict]:
    """What happened to a complaint, oldest first, starting with its filing.

    A reader's own filing has no history row (the busiest write stays one row lighter): its entry
    is the complaint's own record of it, as written when it was filed."""
    with db.read() as conn:
        complaint, _level = _visible(conn, actor, complaint_id)
        rows = conn.execute(select(store.complaint_history).where(
            store.complaint_history.c.complaint_id == complaint_id).order_by(store.complaint_history.c.id))
        history = [dict(r) for r in rows.mappings()]
    if not history or history[0]["action"] != "file":
        history.insert(0, {"at": complaint["filed_at"], "action": "file", "actor_role": None, "actor_id": None,
                           "from_status": None, "to_status": "new", "note": None})
    return history


def list_complaints(db: Database, actor: Principal, filters: dict, page: int, page_size: int,
                    now: datetime | None = None):
    """Complaints a principal may see, filtered; staff see only resolved complaints about them.

    ``filters`` (see ``schemas.ComplaintQuery``) all hold together; SLA states are judged at
    ``now``; filing days are local days of ``calendar_zone``. The caller's scope is added last,
    whatever the filters say.
    """
    conditions = store.complaint_filters(filters, now or utcnow(), calendar_zone(), actor.staff_id)
    if actor.role == "staff":
        conditions += [c.staff_id == actor.staff_id, c.status.in_(model.DONE_STATUSES)]
    elif not actor.network_wide:
        if filters.get("branch_id") is not None:
            actor.require_branch(filters["branch_id"])
        conditions.append(c.branch_id == actor.branch_id)
    level = "full" if actor.role in ("supervisor", "branch_manager", "network_admin") else "no_contact"
    with db.read() as conn:
        rows, total = page_of(conn, select(store.complaints).where(*conditions), [c.filed_at.desc(), c.id], page, page_size)
        return [complaint_view(conn, r, level) for r in rows], total


def assign(db: Database, actor: Principal, complaint_id: str, handler_id: str, note: str | None) -> dict:
    """Give the complaint a handler: a known, active staff member of its branch."""
    now = utcnow()
    with db.transaction() as conn:
        row = _handling(conn, actor, complaint_id)
        model.check_assign(row["status"])
        _require_handler(conn, handler_id, row["branch_id"])
        conn.execute(update(store.complaints).where(c.id == complaint_id).values(handler_id=handler_id, updated_at=now))
        store.add_history(conn, complaint_id, now, "assign", actor.role, actor.staff_id, row["status"],
                          row["status"], note or f"handler {handler_id}")
        row.update(handler_id=handler_id, updated_at=now)
        return complaint_view(conn, row, "full")


def _require_handler(conn, handler_id: str, branch_id: str) -> None:
    """A handler is a known, active staff member of the complaint's branch (422 naming handler_id)."""
    handler = directory_view.require_staff(conn, handler_id, field="handler_id")
    if handler["branch_id"] != branch_id:
        raise Invalid(f"staff member {handler_id} does not work at branch {branch_id}",
                      f"员工 {handler_id} 不属于分馆 {branch_id}", field="handler_id")


def transition(db: Database, actor: Principal, complaint_id: str, action: str, data: dict) -> dict:
    """acknowledge, investigate, wait, resolve, close, or reopen (on the reader's behalf).

    An action the lifecycle does not allow from the current status is a 409.
    """
    now = utcnow()
    with db.transaction() as conn:
        row = _handling(conn, actor, complaint_id)
        row = _apply(conn, row, action, data, now, actor.role, actor.staff_id)
        return complaint_view(conn, row, "full")


def reopen_by_code(db: Database, code: str, reason: str | None) -> dict:
    """The reader reopens a resolved complaint within 14 days, with the tracking code."""
    now = utcnow()
    with db.transaction() as conn:
        row = _by_code(conn, code, for_update=True)
        row = _apply(conn, row, "reopen", {"note": reason}, now, "reader", None)
        return tracking_view(row)


def _apply(conn, row: dict, action: str, data: dict, now: datetime, actor_role: str | None,
           actor_id: str | None) -> dict:
    """Apply one lifecycle action to a locked complaint row; writes the history and the events."""
    before = row["status"]
    if action == "reopen":
        model.check_reopen(before, row["resolved_at"], now)
    after = model.next_status(before, action)
    changes: dict = {"status": after, "updated_at": now}
    events: list[tuple[str, dict]] = []
    late: model.SlaSignal | None = None
    if action == "acknowledge":
        changes["acknowledged_at"] = now
        if data.get("handler_id"):
            _require_handler(conn, data["handler_id"], row["branch_id"])
            changes["handler_id"] = data["handler_id"]
        late = model.late_breach(row, "acknowledge", now)
        events.append(("lsq.complaint.acknowledged.v1", {
            "acknowledged_at": now, "handler_id": changes.get("handler_id", row["handler_id"])}))
    elif action == "wait":
        late = model.late_breach(row, "resolve", now)
        conn.execute(store.complaint_pauses.insert().values(complaint_id=row["id"], started_at=now))
        # The reader is asked for an answer (notify fetches their contact from us at send time).
        events.append(("lsq.complaint.waiting_on_reader.v1", {"waiting_since": now, "handler_id": row["handler_id"]}))
    elif action == "investigate" and before == "waiting_on_reader":
        _end_pause(conn, row["id"], now)
    elif action == "resolve":
        if before == "waiting_on_reader":
            _end_pause(conn, row["id"], now)
        else:
            late = model.late_breach(row, "resolve", now)
        changes.update(outcome=data["outcome"], response=data["response"], resolved_at=now)
        events.append(("lsq.complaint.resolved.v1", {
            "category": row["category"], "severity": row["severity"], "outcome": data["outcome"],
            "filed_at": row["filed_at"], "resolved_at": now, "handler_id": row["handler_id"] or actor_id}))
    elif action == "close":
        changes["closed_at"] = now
        events.append(("lsq.complaint.closed.v1", _closed_data(row, now, "staff")))
    elif action == "reopen":
        if row["rating"] is not None:
            data = {**data, "note": f"{data.get('note') or ''} (previous rating {row['rating']})".strip()}
        changes.update(reopened_at=now, reopen_count=row["reopen_count"] + 1, resolve_clock_start=now,
                       outcome=None, response=None, closed_at=None, rating=None, rating_comment=None,
                       rated_at=None, resolve_at_risk_sent_at=None)
        events.append(("lsq.complaint.reopened.v1", {"reopened_at": now}))
    row = {**row, **changes}
    if action in ("wait", "investigate", "resolve", "reopen"):
        row.update(_sla_columns(conn, row))
        changes.update({k: row[k] for k in ("resolve_due_at", "resolve_at_risk_at")})
    if late is not None:
        row.update(_breach(conn, row, late, now, announce_only=True))
    # ``row`` holds the latest value of every column touched (changes, then any late breach).
    touched = set(changes) | {"acknowledge_breached_at", "resolve_breached_at", "acknowledge_at_risk_sent_at",
                              "resolve_at_risk_sent_at", "escalated_to", "escalated_at"}
    conn.execute(update(store.complaints).where(c.id == row["id"]).values({k: row[k] for k in touched}))
    store.add_history(conn, row["id"], now, action, actor_role, actor_id, before, after,
                      data.get("note") or data.get("response"))
    for event_type, extra in events:
        outbox.add(conn, event_type, {**_ref(row), **extra})
    return row


def _end_pause(conn, complaint_id: str, now: datetime) -> None:
    conn.execute(update(store.complaint_pauses).where(
        store.complaint_pauses.c.complaint_id == complaint_id, store.complaint_pauses.c.ended_at.is_(None))
        .values(ended_at=now))


# -- SLA sweep, escalation, housekeeping (worker) -----------------------------------------------
def _breach(conn, row: dict, signal: model.SlaSignal, now: datetime, announce_only: bool = False) -> dict:
    """Announce a breach (``lsq.complaint.sla_breached.v1``) and escalate it to the branch manager.

    Returns the columns changed. With ``announce_only`` the caller writes them (it is updating the
    row anyway); otherwise they are written here, guarded so a breach is announced once.
    """
    manager = _branch_manager(conn, row["branch_id"])
    # A breach found after the at-risk point was skipped (worker down) settles the warning too, so
    # the sweep does not select this complaint again.
    changes = {f"{signal.target}_breached_at": now, f"{signal.target}_at_risk_sent_at":
               row.get(f"{signal.target}_at_risk_sent_at") or now,
               "escalated_to": manager or row.get("escalated_to"), "escalated_at": now}
    if not announce_only:
        guard = c[f"{signal.target}_breached_at"].is_(None)
        if not conn.execute(update(store.complaints).where(c.id == row["id"], guard).values(**changes)).rowcount:
            return {}  # another sweeper announced it
    store.add_history(conn, row["id"], now, "escalate", "system", None, row["status"], row["status"],
                      f"{signal.target} SLA breached (due {signal.due_at.isoformat()}); escalated to branch "
                      f"manager {manager or '(none known)'}")
    outbox.add(conn, "lsq.complaint.sla_breached.v1", {
        **_ref(row), "target": signal.target, "severity": row["severity"], "due_at": signal.due_at,
        "handler_id": row["handler_id"], "breached_at": now, "escalated_to_staff_id": manager})
    return changes


def sla_sweep(db: Database, now: datetime | None = None, limit: int = 500) -> dict:
    """Announce at-risk (80%) and breached SLA targets of open complaints, once each.

    Runs in the worker every minute; safe with several workers (guarded updates).
    """
    now = now or utcnow()
    counts = {"at_risk": 0, "breached": 0}
    due = or_(
        and_(c.status == "new", or_(
            and_(c.acknowledge_at_risk_at <= now, c.acknowledge_at_risk_sent_at.is_(None)),
            and_(c.acknowledge_due_at <= now, c.acknowledge_breached_at.is_(None)))),
        and_(c.status.in_(("new", "acknowledged", "investigating")), or_(
            and_(c.resolve_at_risk_at <= now, c.resolve_at_risk_sent_at.is_(None)),
            and_(c.resolve_due_at <= now, c.resolve_breached_at.is_(None)))))
    with db.transaction() as conn:
        rows = conn.execute(select(store.complaints).where(due).order_by(c.filed_at).limit(limit)).mappings().all()
        for row in rows:
            row = dict(row)
            for signal in model.sla_signals(row, now):
                if signal.kind == "breached":
                    if _breach(conn, row, signal, now):
                        counts["breached"] += 1
                    continue
                column = c[f"{signal.target}_at_risk_sent_at"]
                if conn.execute(update(store.complaints).where(c.id == row["id"], column.is_(None))
                                .values({column.name: now})).rowcount:
                    outbox.add(conn, "lsq.complaint.sla_at_risk.v1", {
                        **_ref(row), "target": signal.target, "severity": row["severity"],
                        "due_at": signal.due_at, "handler_id": row["handler_id"]})
                    counts["at_risk"] += 1
    return counts


def _closed_data(row: dict, now: datetime, closed_by: str) -> dict:
    """The data of ``lsq.complaint.closed.v1`` (without the references) for a resolved ``row``."""
    return {"outcome": row["outcome"], "resolved_at": row["resolved_at"], "closed_at": now,
            "closed_by": closed_by, "handler_id": row["handler_id"]}


def auto_close(db: Database, now: datetime | None = None, limit: int = 500) -> int:
    """Close resolved complaints whose 14-day reopening window has passed → ``lsq.complaint.closed.v1``."""
    now = now or utcnow()
    with db.transaction() as conn:
        rows = conn.execute(select(store.complaints).where(
            c.status == "resolved", c.resolved_at < now - model.REOPEN_WINDOW).limit(limit)).mappings().all()
        for row in rows:
            if conn.execute(update(store.complaints).where(c.id == row["id"], c.status == "resolved")
                            .values(status="closed", closed_at=now, updated_at=now)).rowcount:
                store.add_history(conn, row["id"], now, "close", "system", None, "resolved", "closed",
                                  "closed automatically after the reopening window")
                outbox.add(conn, "lsq.complaint.closed.v1", {**_ref(row), **_closed_data(dict(row), now, "system")})
    return len(rows)


def purge_contacts(db: Database, now: datetime | None = None, retention_days: int | None = None,
                   limit: int = 1000) -> int:
    """Delete contact details of complaints closed ``retention_days`` (90) days ago or earlier.

    Days of 24 hours from the instant of closure: closed exactly 90 days ago → purged, a minute
    less → kept (the network's zone, Asia/Shanghai, has no daylight saving, so these are also
    its calendar days).
    """
    now = now or utcnow()
    days = contact_retention_days() if retention_days is None else retention_days
    cutoff = now - timedelta(days=days)
    with db.transaction() as conn:
        rows = conn.execute(select(store.complaints).where(
            c.status == "closed", c.closed_at <= cutoff, c.has_contact.is_(True)).limit(limit)).mappings().all()
        for row in rows:
            _erase_contact(conn, dict(row), "system", None, f"purged {days} days after closure")
    return len(rows)


def contact_for_service(db: Database, actor: Principal, complaint_id: str, purpose: str) -> dict:
    """A reader's contact details for another LSQ service (the notify worker at send time), and a
    record of that access. 404 when the complaint has none (never left, erased or purged); the
    access is recorded either way, so the record shows every attempt."""
    if actor.role != "service":
        raise Forbidden("only an LSQ service may read a reader's contact details this way",
                        "只有系统服务可以通过此接口读取读者联系方式")
    with db.transaction() as conn:
        row = store.get(conn, store.complaints, complaint_id)
        contact = store.contact_of(conn, complaint_id) if row is not None and row["has_contact"] else None
        if row is not None:
            conn.execute(store.contact_access.insert().values(
                complaint_id=complaint_id, accessed_by=(actor.subject or "service")[:100], purpose=purpose[:200],
                found=contact is not None, accessed_at=utcnow()))
    if contact is None or not (contact["email"] or contact["phone"]):
        raise not_found("contact of complaint", "投诉的联系方式", complaint_id)
    # The filing form does not ask for a language yet: None means the network's default (zh-CN).
    return {"complaint_id": complaint_id, "name": contact["name"], "email": contact["email"],
            "phone": contact["phone"], "language": None}


def erase_contact(db: Database, actor: Principal, complaint_id: str) -> dict:
    """An erasure request received by staff (phone, desk): the contact details go at once."""
    with db.transaction() as conn:
        row = _handling(conn, actor, complaint_id)
        _erase_contact(conn, row, actor.role, actor.staff_id, "erasure request received by staff")
        row.update(has_contact=False)
        return complaint_view(conn, row, "full")


# -- praise -------------------------------------------------------------------------------------
def submit_praise(db: Database, data: dict) -> dict:
    """A reader praises a staff member or a service point → ``lsq.praise.received.v1``."""
    model.check_praise_target(data.get("staff_id"), data.get("service_point_id"))
    now = utcnow()
    with db.read() as conn:  # checked first, so the write itself only inserts (as filing does)
        _check_refs(conn, data["branch_id"], data.get("service_point_id"), data.get("staff_id"))
    row = {"id": time_ordered_id(), "branch_id": data["branch_id"], "staff_id": data.get("staff_id"),
           "service_point_id": data.get("service_point_id"), "message": data.get("message"),
           "status": "received", "received_at": now}
    event = outbox.event_row("lsq.praise.received.v1", {
        "praise_id": row["id"], "branch_id": row["branch_id"], "staff_id": row["staff_id"],
        "service_point_id": row["service_point_id"], "received_at": now}, None, now)

    def write(conn):
        conn.execute(store.praise.insert().values(**row))
        outbox.write_rows(conn, [event])

    db.write_together(write)
    return {**row, "rejected_at": None, "reject_reason": None}


def reject_praise(db: Database, actor: Principal, praise_id: str, reason: str, note: str | None) -> dict:
    """A supervisor rejects spam or abuse → ``lsq.praise.rejected.v1`` (consumers undo its effect)."""
    now = utcnow()
    with db.transaction() as conn:
        row = store.get(conn, store.praise, praise_id, for_update=True)
        if row is None or not actor.may_see_branch(row["branch_id"]):
            raise not_found("praise", "表扬", praise_id)
        model.check_praise_rejectable(row["status"])
        if not conn.execute(update(store.praise).where(store.praise.c.id == praise_id,
                                                       store.praise.c.status == "received")
                            .values(status="rejected", rejected_at=now, reject_reason=reason,
                                    rejected_by=actor.staff_id or actor.subject)).rowcount:
            model.check_praise_rejectable("rejected")
        outbox.add(conn, "lsq.praise.rejected.v1", {
            "praise_id": praise_id, "branch_id": row["branch_id"], "staff_id": row["staff_id"],
            "reason": reason, "rejected_at": now})
        return {**row, "status": "rejected", "rejected_at": now, "reject_reason": reason}


def list_praise(db: Database, actor: Principal, filters: dict, page: int, page_size: int):
    p = store.praise.c
    conditions = [p[name] == value for name, value in filters.items() if value is not None]
    if actor.role == "staff":
        conditions += [p.staff_id == actor.staff_id, p.status == "received"]
    elif not actor.network_wide:
        conditions.append(p.branch_id == actor.branch_id)
    with db.read() as conn:
        return page_of(conn, select(store.praise).where(*conditions), [p.received_at.desc(), p.id], page, page_size)


# -- desk ratings -------------------------------------------------------------------------------
def submit_rating(db: Database, data: dict) -> dict:
    """A reader rates a service point (QR code at the desk) → ``lsq.rating.submitted.v1``."""
    now = utcnow()
    with db.read() as conn:  # checked first, so the write itself only inserts (as filing does)
        point = directory_view.require_service_point(conn, data["service_point_id"])
        if data.get("staff_id"):
            directory_view.require_staff(conn, data["staff_id"])
    branch_id = data.get("branch_id") or point["branch_id"]
    if branch_id != point["branch_id"]:
        raise Invalid(f"service point {data['service_point_id']} is not in branch {branch_id}",
                      f"服务点 {data['service_point_id']} 不属于分馆 {branch_id}", field="service_point_id")
    row = {"id": time_ordered_id(), "branch_id": branch_id, "service_point_id": data["service_point_id"],
           "staff_id": data.get("staff_id"), "stars": data["stars"], "wait_minutes": data.get("wait_minutes"),
           "comment": data.get("comment"), "submitted_at": now}
    event = outbox.event_row("lsq.rating.submitted.v1", {
        "rating_id": row["id"], "branch_id": branch_id, "service_point_id": row["service_point_id"],
        "staff_id": row["staff_id"], "stars": row["stars"], "wait_minutes": row["wait_minutes"],
        "submitted_at": now}, None, now)

    def write(conn):
        conn.execute(store.ratings.insert().values(**row))
        outbox.write_rows(conn, [event])

    db.write_together(write)
    return row


def rating_summary(db: Database, actor: Principal, args: dict) -> list[dict]:
    """Ratings grouped by service point, branch or staff member over a period (SQL GROUP BY).

    ``from_date``/``to_date`` are local calendar days (``calendar_zone``), both included.
    """
    r = store.ratings.c
    key = {"service_point": r.service_point_id, "branch": r.branch_id, "staff": r.staff_id}[args["group_by"]]
    conditions = []
    for name in ("branch_id", "service_point_id", "staff_id"):
        if args.get(name):
            conditions.append(r[name] == args[name])
    if actor.role == "staff":
        conditions.append(r.staff_id == actor.staff_id)
    elif not actor.network_wide:
        if args.get("branch_id"):
            actor.require_branch(args["branch_id"])
        conditions.append(r.branch_id == actor.branch_id)
    if args.get("from_date"):
        conditions.append(r.submitted_at >= _day_start(args["from_date"]))
    if args.get("to_date"):
        conditions.append(r.submitted_at < _day_start(args["to_date"] + timedelta(days=1)))
    if args["group_by"] == "staff":
        conditions.append(r.staff_id.is_not(None))
    stars = [func.sum(case((r.stars == s, 1), else_=0)).label(f"s{s}") for s in range(1, 6)]
    query = (select(key.label("key"), func.count().label("n"), func.avg(r.stars).label("mean_stars"),
                    func.avg(r.wait_minutes).label("mean_wait"), func.count(r.wait_minutes).label("n_wait"),
                    *stars).where(*conditions).group_by(key).order_by(key))
    with db.read() as conn:
        rows = conn.execute(query).all()
    return [{"group_by": args["group_by"], "key": row.key, "n": row.n,
             "mean_stars": round(float(row.mean_stars), 2),
             "mean_wait_minutes": None if row.mean_wait is None else round(float(row.mean_wait), 1),
             "n_wait": row.n_wait,
             "stars": {str(s): int(getattr(row, f"s{s}")) for s in range(1, 6)}} for row in rows]


def _day_start(day: date) -> datetime:
    """The first instant of a local calendar day (the network's zone), as aware UTC."""
    return local_midnight(day, calendar_zone())


# -- reader forums ------------------------------------------------------------------------------
def record_forum(db: Database, actor: Principal, data: dict) -> dict:
    """Record a reader forum (读者座谈会) and the suggestions raised in it."""
    actor.require_branch(data["branch_id"])
    now = utcnow()
    with db.transaction() as conn:
        directory_view.require_branch(conn, data["branch_id"])
        forum = {"id": str(uuid.uuid4()), "branch_id": data["branch_id"], "title": data["title"],
                 "held_on": data["held_on"], "attendance": data["attendance"], "minutes": data.get("minutes"),
                 "created_at": now, "created_by": actor.staff_id or actor.subject}
        conn.execute(store.forums.insert().values(**forum))
        for index, suggestion in enumerate(data.get("suggestions") or []):
            _add_suggestion(conn, forum, suggestion, now, field=f"suggestions.{index}.owner_id")
        return _forum_view(conn, forum)


def add_suggestion(db: Database, actor: Principal, forum_id: str, data: dict) -> dict:
    now = utcnow()
    with db.transaction() as conn:
        forum = _forum(conn, actor, forum_id)
        return _add_suggestion(conn, forum, data, now)


def _add_suggestion(conn, forum: dict, data: dict, now: datetime, field: str = "owner_id") -> dict:
    if data.get("owner_id"):
        directory_view.require_staff(conn, data["owner_id"], field=field)
    row = {"id": str(uuid.uuid4()), "forum_id": forum["id"], "branch_id": forum["branch_id"], "text": data["text"],
           "status": "raised", "owner_id": data.get("owner_id"), "due_on": data.get("due_on"), "outcome_on": None,
           "note": None, "updated_at": now}
    conn.execute(store.forum_suggestions.insert().values(**row))
    return row


def update_suggestion(db: Database, actor: Principal, forum_id: str, suggestion_id: str, data: dict) -> dict:
    """Track a suggestion to its outcome: status, owner, due date, outcome date, note."""
    now = utcnow()
    s = store.forum_suggestions.c
    with db.transaction() as conn:
        _forum(conn, actor, forum_id)
        row = store.get(conn, store.forum_suggestions, suggestion_id, for_update=True)
        if row is None or row["forum_id"] != forum_id:
            raise not_found("suggestion", "建议", suggestion_id)
        changes = {k: v for k, v in data.items() if k in ("status", "owner_id", "due_on", "outcome_on", "note")}
        if "status" in changes:
            model.check_suggestion_move(row["status"], changes["status"])
            if changes["status"] in ("done", "declined") and not changes.get("outcome_on"):
                # The local day: at 00:30 on 1 January in Shanghai it is still 31 December in UTC.
                changes["outcome_on"] = local_date(now, calendar_zone())
        if changes.get("owner_id"):
            directory_view.require_staff(conn, changes["owner_id"], field="owner_id")
        conn.execute(update(store.forum_suggestions).where(s.id == suggestion_id).values(**changes, updated_at=now))
        return {**row, **changes, "updated_at": now}


def _forum(conn, actor: Principal, forum_id: str) -> dict:
    row = store.get(conn, store.forums, forum_id)
    if row is None or not actor.may_see_branch(row["branch_id"]):
        raise not_found("forum", "座谈会", forum_id)
    return dict(row)


def _forum_view(conn, forum: dict) -> dict:
    s = store.forum_suggestions.c
    suggestions = conn.execute(select(store.forum_suggestions).where(s.forum_id == forum["id"])
                               .order_by(s.updated_at, s.id)).mappings().all()
    return {**forum, "suggestions": [dict(x) for x in suggestions]}


def get_forum(db: Database, actor: Principal, forum_id: str) -> dict:
    with db.read() as conn:
        return _forum_view(conn, _forum(conn, actor, forum_id))


def list_forums(db: Database, actor: Principal, branch_id: str | None, page: int, page_size: int):
    f = store.forums.c
    conditions = []
    if branch_id:
        actor.require_branch(branch_id)
        conditions.append(f.branch_id == branch_id)
    elif actor.branch_filter() is not None:
        conditions.append(f.branch_id == actor.branch_filter())
    with db.read() as conn:
        rows, total = page_of(conn, select(store.forums).where(*conditions), [f.held_on.desc(), f.id], page, page_size)
        return [_forum_view(conn, r) for r in rows], total
