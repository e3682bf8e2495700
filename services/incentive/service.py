"""Incentive use cases behind the API: one transaction each.

What a person decides through the API (a violation, an acknowledgement, an appeal and its decision,
an award approval, a period settlement) is written as an event to the outbox, applied at once by
the same handler the worker uses, and recorded in the inbox: the worker skips it when it comes back
from Kafka, and a replay into an empty database applies it again, giving the same ledger.
"""
from __future__ import annotations

import json
import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from services.incentive import handlers, ledger, model, store, unit
from shared import directory_view, inbox, outbox
from shared.auth import Principal
from shared.consumer import TransientError
from shared.db import Database, page_of
from shared.errors import Conflict, DomainError, Forbidden, Invalid, not_found
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import local_date, local_midnight, utcnow


# -- commands ------------------------------------------------------------------------------------
def command(conn, group: str, event_type: str, data: dict, at: datetime) -> Event:
    """Write ``event_type`` to the outbox, mark it applied for ``group``, and apply it now."""
    kind = get_event_type(event_type)
    event_id = outbox.add(conn, event_type, data, caused_by=[], occurred_at=at)
    plain = kind.validate({**data, "caused_by": []})
    event = Event(id=event_id, type=event_type, source=kind.source, subject=kind.subject_of(plain), time=at,
                  data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)
    inbox.record(conn, group, event.source, event.id)
    try:
        handlers.HANDLERS[event_type](conn, event)  # in its own unit of work, flushed before we read
    except TransientError as exc:  # a worker drew on the same fund meanwhile
        raise Conflict(f"{exc}: try again", "基金余额已变化，请重试", code="concurrent_change") from None
    return event


def _actor_name(actor: Principal) -> str:
    return (actor.subject or actor.staff_id or actor.role or "unknown")[:100]


# -- policies ------------------------------------------------------------------------------------
def _policy_out(row, in_force: int | None = None) -> dict:
    """A version with its status now: scheduled (starts later), active (in force), superseded,
    withdrawn (before it started)."""
    if row.get("withdrawn_at") is not None:
        status = "withdrawn"
    elif row["activated_at"] > utcnow():
        status = "scheduled"
    else:
        status = "active" if row["version"] == in_force else "superseded"
    return {"version": row["version"], "document": json.loads(row["document"]), "activated_at": row["activated_at"],
            "starts_on": local_date(row["activated_at"], model.calendar_zone()), "status": status,
            "created_at": row["created_at"], "created_by": row["created_by"], "note": row["note"]}


def current_policy(db: Database) -> dict:
    """The version in force now."""
    with db.read() as conn:
        version = ledger.policy_at(conn, utcnow()).version
        return _policy_out(dict(store.one(conn, store.policies, version=version)), version)


def get_policy(db: Database, version: int) -> dict:
    with db.read() as conn:
        row = store.one(conn, store.policies, version=version)
        if row is None:
            raise not_found("policy version", "策略版本", version)
        return _policy_out(dict(row), ledger.policy_at(conn, utcnow()).version)


def list_policies(db: Database) -> list[dict]:
    with db.read() as conn:
        rows = conn.execute(select(store.policies).order_by(store.policies.c.version.desc())).mappings().all()
        in_force = ledger.policy_at(conn, utcnow()).version
        return [_policy_out(dict(r), in_force) for r in rows]


def start_of(starts_on: date | None, now: datetime) -> datetime:
    """When a version starts: now, or local midnight (network calendar) of ``starts_on``, which
    must be a later day than today (a start in the past would re-judge events already decided)."""
    if starts_on is None:
        return now
    if starts_on <= local_date(now, model.calendar_zone()):
        raise Invalid(f"starts_on {starts_on} is not after today; omit it to start now",
                      f"生效日期 {starts_on} 不晚于今天；不填则立即生效", field="starts_on")
    return local_midnight(starts_on, model.calendar_zone())


def save_policy(db: Database, actor: Principal, document: dict, note: str | None,
                starts_on: date | None = None) -> dict:
    """Validate and store a new version, in force from now or from local midnight of a later day
    (decisions on events dated earlier keep the version that was in force at their time)."""
    normalised = model.validate_policy(document)
    now = utcnow()
    activated_at = start_of(starts_on, now)
    with db.transaction() as conn:
        latest = conn.execute(select(func.max(store.policies.c.version))).scalar_one() or 0
        row = dict(version=latest + 1, document=store.dumps(normalised), activated_at=activated_at, created_at=now,
                   created_by=_actor_name(actor), note=note, withdrawn_at=None)
        conn.execute(store.policies.insert().values(**row))
        ledger.forget_policy_versions(conn)
        return _policy_out(row, ledger.policy_at(conn, now).version)


def withdraw_policy(db: Database, version: int) -> dict:
    """Withdraw a scheduled version before it starts (409 once it has started)."""
    now = utcnow()
    with db.transaction() as conn:
        row = store.one(conn, store.policies, version=version)
        if row is None:
            raise not_found("policy version", "策略版本", version)
        if row["withdrawn_at"] is not None or row["activated_at"] <= now:
            raise Conflict(f"policy version {version} is not scheduled; only a version that has not started "
                           "can be withdrawn", f"策略版本 {version} 不是待生效版本，只有尚未生效的版本可以撤回",
                           code="policy_not_scheduled")
        conn.execute(update(store.policies).where(store.policies.c.version == version).values(withdrawn_at=now))
        ledger.forget_policy_versions(conn)
        return _policy_out({**row, "withdrawn_at": now})


def dry_run(db: Database, bootstrap: str, version: int, since: date, until: date) -> dict:
    """What policy ``version`` would have decided over the local days [since, until], beside what
    the versions in force decided: per branch, awards, pending awards, sanctions, points and fund
    use. Computed on scratch databases (``dryrun.py``): nothing is written here, nothing published."""
    from services.incentive import dryrun, replay
    from shared import bus
    zone = model.calendar_zone()
    now = utcnow()
    if until < since:
        raise Invalid("until is before since", "结束日期早于开始日期", field="until")
    if until >= local_date(now, zone):
        raise Invalid(f"until {until} is not a past day", f"结束日期 {until} 不是已过去的日期", field="until")
    if (until - since).days > 400:
        raise Invalid("the period is longer than 400 days", "期间超过 400 天", field="since")
    with db.read() as conn:
        row = store.one(conn, store.policies, version=version)
        if row is None:
            raise Invalid(f"policy version {version} does not exist", f"策略版本 {version} 不存在", field="version")
        proposed = dict(row)
        in_force = ledger.policy_at(conn, now).version
        names = {b["branch_id"]: dict(b) for b in conn.execute(select(directory_view.known_branches)).mappings()}
    start = local_midnight(since, zone)
    end = local_midnight(until + timedelta(days=1), zone)
    if not bus.reachable(bootstrap):
        raise EventLogUnavailable("the event log (Kafka) cannot be reached; try again later",
                                  "无法连接事件日志，请稍后重试")
    records = replay.read_topics(bootstrap, replay.consumed_topics())
    current = dryrun.simulate(db, records, start, end)
    changed = dryrun.simulate(db, records, start, end, proposed=proposed)
    empty = {"awards": {"count": 0, "amount": Decimal("0.00"), "by_tier": []},
             "pending_awards": {"count": 0, "amount": Decimal("0.00")}, "sanctions": [], "points": 0, "funds": []}
    branches = []
    for branch_id in sorted(set(current) | set(changed)):
        branch = names.get(branch_id) or {}
        branches.append({"branch_id": branch_id, "name_zh": branch.get("name_zh"), "name_en": branch.get("name_en"),
                         "current": current.get(branch_id, empty), "proposed": changed.get(branch_id, empty)})
    return {"version": version, "compared_with": in_force, "since": since, "until": until,
            "events": len(records), "branches": branches}


class EventLogUnavailable(DomainError):
    """The dry run reads the event history from Kafka: 503 while it cannot be reached."""

    status = 503
    code = "event_log_unavailable"


# -- funds ---------------------------------------------------------------------------------------
def _fund_out(row) -> dict:
    return {"branch_id": row["branch_id"], "period": row["period"], "budget": row["budget"],
            "reserved": row["reserved"], "granted": row["granted"], "available": ledger.available(row),
            "updated_at": row["updated_at"]}


def _check_period(period: str, field: str = "period") -> None:
    if not model.valid_period(period):
        raise Invalid(f"period {period!r} is not YYYY, YYYY-Qn or YYYY-MM", f"期间 {period!r} 格式应为 YYYY、YYYY-Qn 或 YYYY-MM",
                      field=field)


def set_budget(db: Database, actor: Principal, branch_id: str, period: str, budget) -> dict:
    """Set a branch's fund budget for a period; it cannot go below what is already reserved and granted."""
    _check_period(period)
    amount = model.money(budget, "budget")
    with db.transaction() as conn, unit.scope(conn):
        directory_view.require_branch(conn, branch_id)
        row = ledger.fund_row(conn, branch_id, period)
        committed = Decimal(row["reserved"]) + Decimal(row["granted"])
        if amount < committed:
            raise Conflict(f"budget {amount} is below the {committed} already reserved or granted",
                           f"预算 {amount} 低于已预留或已发放的 {committed}", field="budget", code="budget_below_committed")
        t = store.funds
        unit.current(conn).flush()  # the fund row exists before it is updated
        changed = conn.execute(update(t).where(t.c.branch_id == branch_id, t.c.period == period,
                                               t.c.reserved + t.c.granted <= amount)
                               .values(budget=amount, updated_at=utcnow())).rowcount
        if changed != 1:  # a worker drew on the fund since we read it
            raise Conflict(f"budget {amount} is below what is now reserved or granted",
                           f"预算 {amount} 低于当前已预留或已发放的金额", field="budget", code="budget_below_committed")
        return _fund_out(store.one(conn, store.funds, branch_id=branch_id, period=period))


def list_funds(db: Database, branch_id: str | None, period: str | None, page: int, page_size: int):
    with db.read() as conn:
        query = select(store.funds)
        if branch_id:
            query = query.where(store.funds.c.branch_id == branch_id)
        if period:
            query = query.where(store.funds.c.period == period)
        rows, total = page_of(conn, query, [store.funds.c.period, store.funds.c.branch_id], page, page_size)
        return [_fund_out(r) for r in rows], total


def fund_statement(db: Database, branch_id: str, period: str) -> dict:
    """Budget, reserved, granted, available, the ledger entries drawn on the fund, pending awards."""
    _check_period(period)
    with db.read() as conn:
        row = store.one(conn, store.funds, branch_id=branch_id, period=period)
        if row is None:
            if directory_view.branch(conn, branch_id) is None:
                raise not_found("branch", "分馆", branch_id)
            row = {"branch_id": branch_id, "period": period, "budget": Decimal("0.00"), "reserved": Decimal("0.00"),
                   "granted": Decimal("0.00"), "updated_at": None}
        entries = conn.execute(select(store.ledger).where(
            store.ledger.c.branch_id == branch_id, store.ledger.c.period == period,
            store.ledger.c.amount.is_not(None)).order_by(store.ledger.c.position)).mappings().all()
        pending = conn.execute(select(store.awards).where(
            store.awards.c.branch_id == branch_id, store.awards.c.period == period,
            store.awards.c.status == "pending").order_by(store.awards.c.requested_at)).mappings().all()
        return {**_fund_out(row), "entries": [_entry_out(e) for e in entries],
                "pending_awards": [_award_out(a) for a in pending]}


# -- ledger --------------------------------------------------------------------------------------
def _entry_out(row) -> dict:
    return {**{k: row[k] for k in ("id", "position", "kind", "staff_id", "branch_id", "period", "amount", "points",
                                    "level", "tier", "refers_to", "subject", "rule_id", "policy_version",
                                    "reason_en", "reason_zh", "occurred_at", "recorded_at")},
            "causes": store.loads(row["causes"])}


def list_ledger(db: Database, filters: dict, page: int, page_size: int):
    """Ledger entries, oldest first, filtered by staff, branch, kind, time, subject or cause event."""
    t = store.ledger
    with db.read() as conn:
        query = select(t)
        for name in ("staff_id", "branch_id", "kind", "subject", "period", "level"):
            if filters.get(name):
                query = query.where(t.c[name] == filters[name])
        if filters.get("since"):
            query = query.where(t.c.occurred_at >= filters["since"])
        if filters.get("until"):
            query = query.where(t.c.occurred_at < filters["until"])
        if filters.get("cause_id"):
            query = query.where(t.c.id.in_(select(store.ledger_causes.c.entry_id).where(
                store.ledger_causes.c.event_id == filters["cause_id"])))
        rows, total = page_of(conn, query, [t.c.position], page, page_size)
        return [_entry_out(r) for r in rows], total


# -- sanctions -----------------------------------------------------------------------------------
def _sanction_out(row) -> dict:
    out = {k: row[k] for k in ("id", "staff_id", "branch_id", "level", "policy_version", "reason_en", "reason_zh",
                               "issued_at", "expires_at", "appeal_deadline", "status", "replaces",
                               "acknowledged_at", "appeal_reason", "appealed_at", "decision", "decision_note",
                               "decided_by", "decided_at", "revoked_at")}
    out["causes"] = store.loads(row["causes"])
    return out


def get_sanction(db: Database, sanction_id: str) -> dict:
    with db.read() as conn:
        return _sanction_out(_require_sanction(conn, sanction_id))


def _require_sanction(conn, sanction_id: str):
    row = store.one(conn, store.sanctions, id=sanction_id)
    if row is None:
        raise not_found("sanction", "处分", sanction_id)
    return row


def list_sanctions(db: Database, filters: dict, page: int, page_size: int):
    t = store.sanctions
    with db.read() as conn:
        query = select(t)
        for name in ("staff_id", "branch_id", "level", "status"):
            if filters.get(name):
                query = query.where(t.c[name] == filters[name])
        if filters.get("active_at"):
            query = query.where(t.c.status.in_(ledger.IN_FORCE), t.c.issued_at <= filters["active_at"],
                                t.c.expires_at > filters["active_at"])
        rows, total = page_of(conn, query, [t.c.issued_at, t.c.id], page, page_size)
        return [_sanction_out(r) for r in rows], total


def acknowledge(db: Database, group: str, actor: Principal, sanction_id: str) -> dict:
    """The staff member confirms they have received a sanction or notice."""
    with db.transaction() as conn:
        row = _require_sanction(conn, sanction_id)
        _own(actor, row["staff_id"])
        if row["status"] != "issued":
            raise Conflict(f"this sanction is {row['status']}; only an issued one can be acknowledged",
                           f"该处分状态为 {row['status']}，只有新发出的处分可以确认", code="not_acknowledgeable")
        command(conn, group, "lsq.sanction.acknowledged.v1", {
            "sanction_id": sanction_id, "staff_id": row["staff_id"], "branch_id": row["branch_id"],
            "acknowledged_at": utcnow()}, utcnow())
        return _sanction_out(store.one(conn, store.sanctions, id=sanction_id))


def appeal(db: Database, group: str, actor: Principal, sanction_id: str, reason: str) -> dict:
    """The staff member appeals within the window (14 days by default)."""
    now = utcnow()
    with db.transaction() as conn:
        row = _require_sanction(conn, sanction_id)
        _own(actor, row["staff_id"])
        model.check_appeal(row["status"], row["level"], now, row["appeal_deadline"])
        command(conn, group, "lsq.sanction.appealed.v1", {
            "sanction_id": sanction_id, "staff_id": row["staff_id"], "branch_id": row["branch_id"],
            "reason": reason, "appealed_at": now}, now)
        return _sanction_out(store.one(conn, store.sanctions, id=sanction_id))


def decide_appeal(db: Database, group: str, actor: Principal, sanction_id: str, decision: str, note: str) -> dict:
    """Uphold or overturn an appeal; overturning revokes the sanction and recomputes the ladder."""
    now = utcnow()
    with db.transaction() as conn:
        row = _require_sanction(conn, sanction_id)
        actor.require_branch(row["branch_id"])
        if actor.staff_id and actor.staff_id == row["staff_id"]:
            raise Forbidden("nobody decides their own appeal", "不能裁决本人的申诉")
        if row["status"] != "appealed":
            raise Conflict(f"this sanction is {row['status']}, not under appeal", f"该处分状态为 {row['status']}，不在申诉中",
                           code="not_under_appeal")
        command(conn, group, "lsq.sanction.appeal_decided.v1", {
            "sanction_id": sanction_id, "staff_id": row["staff_id"], "branch_id": row["branch_id"],
            "decision": decision, "note": note, "decided_by": _actor_name(actor), "decided_at": now}, now)
        return _sanction_out(store.one(conn, store.sanctions, id=sanction_id))


def list_appeals(db: Database, branch_id: str | None, status: str | None, page: int, page_size: int):
    """Sanctions that were appealed: open ones (status appealed) and decided ones."""
    t = store.sanctions
    with db.read() as conn:
        query = select(t).where(t.c.appealed_at.is_not(None))
        if branch_id:
            query = query.where(t.c.branch_id == branch_id)
        if status == "open":
            query = query.where(t.c.status == "appealed")
        elif status == "decided":
            query = query.where(t.c.decision.is_not(None))
        rows, total = page_of(conn, query, [t.c.appealed_at, t.c.id], page, page_size)
        return [_sanction_out(r) for r in rows], total


# -- violations ----------------------------------------------------------------------------------
def record_violation(db: Database, group: str, actor: Principal, data: dict) -> dict:
    """A supervisor records a violation; it climbs the ladder like a substantiated complaint."""
    now = utcnow()
    occurred_at = data.get("occurred_at") or now
    if occurred_at > now:
        raise Invalid("occurred_at is in the future", "发生时间晚于当前时间", field="occurred_at")
    with db.transaction() as conn:
        staff = directory_view.require_staff(conn, data["staff_id"])
        actor.require_branch(staff["branch_id"])
        if actor.staff_id and actor.staff_id == data["staff_id"]:
            raise Forbidden("nobody records a violation against themselves", "不能对本人记录违规")
        violation_id = str(uuid.uuid4())
        command(conn, group, "lsq.sanction.violation_recorded.v1", {
            "violation_id": violation_id, "staff_id": staff["staff_id"], "branch_id": staff["branch_id"],
            "category": data["category"], "description": data["description"], "occurred_at": occurred_at,
            "recorded_by": _actor_name(actor), "recorded_at": now}, now)
        return _violation_out(conn, store.one(conn, store.violations, id=violation_id))


def _violation_out(conn, row) -> dict:
    sanctions = conn.execute(select(store.sanctions).where(
        store.sanctions.c.fact_key.like(f"violation:{row['id']}|%")).order_by(store.sanctions.c.issued_at)).mappings()
    return {**{k: row[k] for k in ("id", "staff_id", "branch_id", "category", "description", "occurred_at",
                                    "recorded_by", "recorded_at")},
            "sanctions": [_sanction_out(s) for s in sanctions]}


def list_violations(db: Database, filters: dict, page: int, page_size: int):
    t = store.violations
    with db.read() as conn:
        query = select(t)
        for name in ("staff_id", "branch_id", "category"):
            if filters.get(name):
                query = query.where(t.c[name] == filters[name])
        rows, total = page_of(conn, query, [t.c.occurred_at, t.c.id], page, page_size)
        return [_violation_out(conn, r) for r in rows], total


# -- awards --------------------------------------------------------------------------------------
def _award_out(row) -> dict:
    out = {k: row[k] for k in ("id", "staff_id", "branch_id", "period", "tier", "requested_amount", "amount",
                               "status", "waiting_for", "rule_id", "policy_version", "reason_en", "reason_zh",
                               "requested_at", "decided_at", "decided_by", "decision_note")}
    out["causes"] = store.loads(row["causes"])
    return out


def list_awards(db: Database, filters: dict, page: int, page_size: int):
    t = store.awards
    with db.read() as conn:
        query = select(t)
        for name in ("staff_id", "branch_id", "status", "period", "tier"):
            if filters.get(name):
                query = query.where(t.c[name] == filters[name])
        rows, total = page_of(conn, query, [t.c.requested_at, t.c.id], page, page_size)
        return [_award_out(r) for r in rows], total


def decide_award(db: Database, group: str, actor: Principal, award_id: str, decision: str, note: str | None) -> dict:
    """A branch manager approves (paid from the fund, never overdrawn) or rejects a pending award."""
    now = utcnow()
    with db.transaction() as conn:
        award = store.one(conn, store.awards, for_update=True, id=award_id)
        if award is None:
            raise not_found("award", "奖励", award_id)
        actor.require_branch(award["branch_id"])
        if actor.staff_id and actor.staff_id == award["staff_id"]:
            raise Forbidden("nobody approves their own award", "不能审批本人的奖励")
        if award["status"] != "pending":
            raise Conflict(f"this award is {award['status']}, not pending", f"该奖励状态为 {award['status']}，不是待审批",
                           code="not_pending")
        if decision == "approved" and award["waiting_for"] == "fund_short":
            fund = store.one(conn, store.funds, branch_id=award["branch_id"], period=award["period"]) or {
                "budget": 0, "reserved": 0, "granted": 0}
            pol = ledger.policy(conn, award["policy_version"])
            free = ledger.available(fund)
            if Decimal(award["amount"]) > free and not (pol.shortfall == "pro_rata" and free > 0):
                raise Conflict(f"the {award['period']} fund has {free} left; {award['amount']} is needed: raise the budget first",
                               f"{award['period']} 基金余额 {free}，不足 {award['amount']}，请先提高预算", code="fund_short")
        command(conn, group, "lsq.award.decided.v1", {
            "award_id": award_id, "staff_id": award["staff_id"], "branch_id": award["branch_id"],
            "decision": decision, "note": note, "decided_by": _actor_name(actor), "decided_at": now}, now)
        return _award_out(store.one(conn, store.awards, id=award_id))


# -- settlement and sweeps -----------------------------------------------------------------------
def settle_period(db: Database, group: str, actor_name: str, period: str, now: datetime | None = None) -> dict:
    """Turn a finished period's points into award credit (once per period)."""
    _check_period(period)
    now = now or utcnow()
    start, end = model.period_bounds(period)
    if end > now:
        raise Conflict(f"period {period} has not ended", f"期间 {period} 尚未结束", field="period", code="period_open")
    with db.transaction() as conn:
        if store.one(conn, store.settlements, period=period) is not None:
            raise Conflict(f"period {period} is already settled", f"期间 {period} 已结算", field="period",
                           code="already_settled")
        pol = ledger.policy_at(conn, now)
        if model.period_kind(period) != pol.fund_period_kind:
            raise Invalid(f"the fund period is a {pol.fund_period_kind}; {period} is not one",
                          f"基金期间按 {pol.fund_period_kind} 划分，{period} 不符", field="period")
        settlement_id = model.entry_id("settlement", period)
        command(conn, group, "lsq.points.period_settled.v1", {
            "settlement_id": settlement_id, "period": period, "settled_by": actor_name[:100], "settled_at": now}, now)
        row = store.one(conn, store.settlements, period=period)
        return {"id": row["id"], "period": row["period"], "settled_by": row["settled_by"],
                "settled_at": row["settled_at"], "awards": row["awards"]}


def settle_due(db: Database, group: str, now: datetime | None = None, grace_days: int = 7) -> str | None:
    """The worker's sweep: settle the previous fund period ``grace_days`` after it ended."""
    from datetime import timedelta
    now = now or utcnow()
    with db.read() as conn:
        pol = ledger.policy_at(conn, now)
    previous = model.fund_period(model.period_bounds(model.fund_period(now, pol.fund_period_kind))[0]
                                 - timedelta(seconds=1), pol.fund_period_kind)
    if model.add_days(model.period_bounds(previous)[1], grace_days) > now:  # local midnight, 7 days on
        return None
    with db.read() as conn:
        if store.one(conn, store.settlements, period=previous) is not None:
            return None
    try:
        settle_period(db, group, "worker", previous, now)
    except Conflict:
        return None  # another worker settled it first
    return previous


def escalate_due(db: Database, now: datetime | None = None) -> int:
    """The worker's sweep: overdue training requirements past their grace period."""
    with db.transaction() as conn, unit.scope(conn):
        return handlers.escalate_due(conn, now or utcnow())


# -- standing ------------------------------------------------------------------------------------
def standing(db: Database, staff_id: str, as_of: datetime | None = None) -> dict:
    """Ladder step, sanctions in force, notices, points and awards of a staff member at ``as_of``."""
    as_of = as_of or utcnow()
    year = model.year_of(as_of)  # the network's calendar year, as months and fund periods
    with db.read() as conn:
        person = directory_view.staff(conn, staff_id)
        rows = conn.execute(select(store.sanctions).where(store.sanctions.c.staff_id == staff_id)
                            .order_by(store.sanctions.c.issued_at)).mappings().all()
        entries = conn.execute(select(store.ledger.c.points, store.ledger.c.amount, store.ledger.c.kind,
                                      store.ledger.c.occurred_at, store.ledger.c.branch_id)
                               .where(store.ledger.c.staff_id == staff_id)).all()
        if person is None and not rows and not entries:
            raise not_found("staff member", "员工", staff_id)
        awards = conn.execute(select(store.awards).where(store.awards.c.staff_id == staff_id)
                              .order_by(store.awards.c.requested_at)).mappings().all()
    in_force = [r for r in rows if r["status"] in ledger.IN_FORCE and r["issued_at"] <= as_of < r["expires_at"]]
    ladder = model.ladder_step([(r["level"], r["issued_at"], r["expires_at"]) for r in in_force], as_of)
    month = model.month_of(as_of)
    points = [e for e in entries if e.points is not None and e.occurred_at <= as_of]
    return {
        "staff_id": staff_id,
        "name": person["name"] if person else None,
        "branch_id": person["branch_id"] if person else (entries[-1].branch_id if entries else rows[-1]["branch_id"]),
        "as_of": as_of,
        "ladder_step": ladder["step"],
        "current_level": ladder["current_level"],
        "next_level": ladder["next_level"],
        "active_sanctions": [_sanction_out(r) for r in in_force if r["level"] != "notice"],
        "notices": [_sanction_out(r) for r in in_force if r["level"] == "notice"],
        "open_appeals": [_sanction_out(r) for r in rows if r["status"] == "appealed"],
        "points": {
            "this_month": sum(e.points for e in points if model.month_of(e.occurred_at) == month),
            "this_year": sum(e.points for e in points if model.year_of(e.occurred_at) == year),
            "total": sum(e.points for e in points),
        },
        "awards_this_year": {
            "granted_amount": sum((Decimal(e.amount) for e in entries if e.amount is not None
                                   and model.year_of(e.occurred_at) == year and e.occurred_at <= as_of),
                                  Decimal("0.00")),
            "items": [_award_out(a) for a in awards if model.year_of(a["requested_at"]) == year],
        },
    }


def _own(actor: Principal, staff_id: str) -> None:
    if actor.role == "network_admin":
        return
    if actor.staff_id != staff_id:
        raise Forbidden("only the staff member concerned may do this", "仅限本人操作")
