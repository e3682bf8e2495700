"""Writing decisions: ledger entries, fund reservations, sanctions and the events they publish.

Every function here runs inside the caller's transaction and keeps the ledger, the state tables
and the outbox consistent. Times are the cause events' times (never the wall clock), and ids are
derived from the causes, so a replay writes the very same rows.
"""
from __future__ import annotations

import logging
import weakref
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update

from services.incentive import model, store, unit
from services.incentive.model import LADDER_ZH, LEVEL_EN, Policy
from shared.errors import Conflict
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
SOURCE = "/lsq/incentive"


# -- policies ------------------------------------------------------------------------------------
#: Policies by database (engine) and version: versions never change once saved.
_POLICY_CACHE: "weakref.WeakKeyDictionary[object, dict[int, Policy]]" = weakref.WeakKeyDictionary()


def _versions(conn) -> list[tuple[int, datetime]]:
    """(version, activated_at) of every policy not withdrawn, latest start first (a version saved
    later may start earlier than one scheduled before it); loaded once per unit of work (one query
    per batch), so a version saved by the API is seen by the very next batch."""
    work = conn.info.get(unit.KEY)
    cached = work.policy_versions if work is not None else None
    if cached is None:
        t = store.policies
        rows = conn.execute(select(t.c.version, t.c.activated_at).where(t.c.withdrawn_at.is_(None))
                            .order_by(t.c.activated_at.desc(), t.c.version.desc())).all()
        cached = [(r.version, r.activated_at) for r in rows]
        if work is not None:
            work.policy_versions = cached
    return cached


def forget_policy_versions(conn) -> None:
    """Called after a new version is saved in this transaction."""
    work = conn.info.get(unit.KEY)
    if work is not None:
        work.policy_versions = None


def policy(conn, version: int) -> Policy:
    """A stored policy version (validated when it was saved; cached, versions never change)."""
    cached = _POLICY_CACHE.get(conn.engine)
    if cached is None:
        cached = _POLICY_CACHE[conn.engine] = {}
    found = cached.get(version)
    if found is None:
        row = store.one(conn, store.policies, version=version)
        if row is None:
            raise LookupError(f"policy version {version} does not exist")
        found = cached[version] = model.build_policy(version, store.loads(row["document"]))
    return found


def policy_at(conn, at: datetime) -> Policy:
    """The version in force at ``at`` (the cause event's time): the one whose start is the latest
    at or before ``at`` (a version scheduled for a later day decides nothing before it)."""
    versions = _versions(conn)
    for version, activated_at in versions:
        if activated_at <= at:
            return policy(conn, version)
    return policy(conn, versions[-1][0])  # before version 1 took effect: the first version


# -- ledger --------------------------------------------------------------------------------------
def add_entry(conn, *, entry_id: str, kind: str, staff_id: str, branch_id: str, subject: str,
              policy_version: int, causes: list[dict], reason_en: str, reason_zh: str,
              occurred_at: datetime, period: str | None = None, amount: Decimal | None = None,
              points: int | None = None, level: str | None = None, tier: str | None = None,
              refers_to: str | None = None, rule_id: str | None = None) -> str:
    """Append one ledger entry with its cause events (append-only: never updated)."""
    unit.current(conn).add_ledger(dict(
        id=entry_id, kind=kind, staff_id=staff_id, branch_id=branch_id, period=period, amount=amount,
        points=points, level=level, tier=tier, refers_to=refers_to, subject=subject, rule_id=rule_id,
        policy_version=policy_version, causes=store.dumps(causes), reason_en=reason_en[:500],
        reason_zh=reason_zh[:500], occurred_at=occurred_at, recorded_at=utcnow()), causes)
    return entry_id


def emit(conn, event_type: str, data: dict, causes: list[dict], at: datetime) -> str:
    """Publish an event through the outbox, dated at the decision's (cause) time."""
    return unit.current(conn).emit(event_type, data, causes, at)


# -- funds and awards ----------------------------------------------------------------------------
def fund_row(conn, branch_id: str, period: str):
    """The fund of a branch and period, locked for update; created with a zero budget if missing."""
    return unit.current(conn).fund(branch_id, period)


def _move(conn, branch_id: str, period: str, reserved: Decimal = Decimal(0), granted: Decimal = Decimal(0)) -> None:
    unit.current(conn).fund_move(branch_id, period, reserved=reserved, granted=granted)


def available(row) -> Decimal:
    return Decimal(row["budget"]) - Decimal(row["reserved"]) - Decimal(row["granted"])


def request_award(conn, *, award_id: str, staff_id: str, branch_id: str, period: str, tier: str,
                  amount: Decimal, subject: str, rule_id: str | None, policy: Policy, causes: list[dict],
                  reason_en: str, reason_zh: str, at: datetime) -> dict:
    """Decide an award against the fund: granted, pending approval (reserved) or waiting for budget."""
    fund = fund_row(conn, branch_id, period)
    status, reserve, waiting_for = model.fund_decision(amount, available(fund), policy.approval_threshold,
                                                       policy.shortfall)
    row = dict(id=award_id, staff_id=staff_id, branch_id=branch_id, period=period, tier=tier,
               requested_amount=amount, amount=reserve if status == "granted" or waiting_for != "fund_short" else amount,
               status=status, waiting_for=waiting_for, subject=subject, rule_id=rule_id,
               policy_version=policy.version, causes=store.dumps(causes), reason_en=reason_en[:500],
               reason_zh=reason_zh[:500], requested_at=at, decided_at=at if status == "granted" else None,
               decided_by=None, decision_note=None)
    unit.current(conn).add_award(row)
    if status == "granted":
        _move(conn, branch_id, period, granted=reserve)
        _grant(conn, row, at, causes)
    else:
        if reserve:
            _move(conn, branch_id, period, reserved=reserve)
        emit(conn, "lsq.award.pending_approval.v1", {
            "award_id": award_id, "staff_id": staff_id, "branch_id": branch_id, "tier": tier,
            "amount": row["amount"], "period": period, "policy_version": policy.version,
            "reason_en": row["reason_en"], "reason_zh": row["reason_zh"], "waiting_for": waiting_for,
            "requested_at": at}, causes, at)
    return row


def _grant(conn, row: dict, at: datetime, causes: list[dict]) -> None:
    amount = Decimal(row["amount"])
    reason_en, reason_zh = row["reason_en"], row["reason_zh"]
    if amount != Decimal(row["requested_amount"]):
        reason_en = f"{reason_en} (paid {amount} of {row['requested_amount']}: fund short, pro rata)"
        reason_zh = f"{reason_zh}（基金不足，按比例发放 {amount} / {row['requested_amount']}）"
    add_entry(conn, entry_id=row["id"], kind="award", staff_id=row["staff_id"], branch_id=row["branch_id"],
              subject=row["subject"], policy_version=row["policy_version"], causes=causes,
              reason_en=reason_en, reason_zh=reason_zh, occurred_at=at, period=row["period"], amount=amount,
              tier=row["tier"], rule_id=row["rule_id"])
    data = {"award_id": row["id"], "staff_id": row["staff_id"], "branch_id": row["branch_id"],
            "tier": row["tier"], "amount": amount, "period": row["period"],
            "policy_version": row["policy_version"], "reason_en": reason_en[:500], "reason_zh": reason_zh[:500],
            "granted_at": at}
    if amount != Decimal(row["requested_amount"]):
        data["requested_amount"] = Decimal(row["requested_amount"])
    emit(conn, "lsq.award.granted.v1", data, causes, at)


def approve_award(conn, award: dict, at: datetime, decided_by: str, note: str | None, cause: dict) -> dict:
    """A branch manager approves a pending award: it is granted from the fund (never overdrawn)."""
    fund = fund_row(conn, award["branch_id"], award["period"])
    amount = Decimal(award["amount"])
    if award["waiting_for"] == "branch_manager_approval":
        _move(conn, award["branch_id"], award["period"], reserved=-amount, granted=amount)
    else:  # waited for budget: pay now if the budget allows
        free = available(fund)
        pol = policy(conn, award["policy_version"])
        if amount > free and not (pol.shortfall == "pro_rata" and free > 0):
            raise Conflict(f"the fund of {award['period']} has {free} left; {amount} is needed",
                           f"{award['period']} 基金余额 {free}，不足 {amount}", code="fund_short")
        amount = min(amount, free)
        _move(conn, award["branch_id"], award["period"], granted=amount)
    conn.execute(update(store.awards).where(store.awards.c.id == award["id"]).values(
        status="granted", amount=amount, decided_at=at, decided_by=decided_by, decision_note=note))
    row = {**award, "amount": amount, "status": "granted"}
    _grant(conn, row, at, store.loads(award["causes"]) + [cause])
    return row


def reject_award(conn, award: dict, at: datetime, decided_by: str, note: str | None) -> dict:
    """A branch manager rejects a pending award: its reservation goes back to the fund."""
    if award["waiting_for"] == "branch_manager_approval":
        _move(conn, award["branch_id"], award["period"], reserved=-Decimal(award["amount"]))
    conn.execute(update(store.awards).where(store.awards.c.id == award["id"]).values(
        status="rejected", decided_at=at, decided_by=decided_by, decision_note=note))
    return {**award, "status": "rejected"}


def revoke_award(conn, award: dict, at: datetime, causes: list[dict], reason_en: str, reason_zh: str) -> None:
    """Withdraw an award whose cause was revised: a compensating entry gives the amount back."""
    amount = Decimal(award["amount"])
    if award["status"] == "granted":
        _move(conn, award["branch_id"], award["period"], granted=-amount)
        add_entry(conn, entry_id=model.entry_id("revocation", award["id"]), kind="revocation",
                  staff_id=award["staff_id"], branch_id=award["branch_id"], subject=award["subject"],
                  policy_version=award["policy_version"], causes=causes, reason_en=reason_en,
                  reason_zh=reason_zh, occurred_at=at, period=award["period"], amount=-amount,
                  tier=award["tier"], refers_to=award["id"], rule_id=award["rule_id"])
        emit(conn, "lsq.award.revoked.v1", {
            "award_id": award["id"], "staff_id": award["staff_id"], "branch_id": award["branch_id"],
            "tier": award["tier"], "amount": amount, "period": award["period"],
            "policy_version": award["policy_version"], "reason_en": reason_en[:500], "reason_zh": reason_zh[:500],
            "revoked_at": at}, causes, at)
    elif award["status"] == "pending" and award["waiting_for"] == "branch_manager_approval":
        _move(conn, award["branch_id"], award["period"], reserved=-amount)
    conn.execute(update(store.awards).where(store.awards.c.id == award["id"]).values(
        status="revoked", decided_at=at, decision_note=reason_en[:2000]))


# -- sanctions and the ladder --------------------------------------------------------------------
def add_fact(conn, *, key: str, staff_id: str, branch_id: str, at: datetime, kind: str, subject: str,
             rule_id: str, policy: Policy, causes: list[dict], reason_en: str, reason_zh: str,
             bump: int = 0, level: str | None = None, group: str | None = None, free_notices: int = 0) -> bool:
    """Record a ladder fact (once: a fact already known is left as it is). True if it is new."""
    work = unit.current(conn)
    if work.fact(staff_id, key) is not None:
        return False
    work.add_fact(dict(
        key=key, staff_id=staff_id, branch_id=branch_id, at=at, kind=kind, bump=bump, level=level, grp=group,
        free_notices=free_notices, lapse_months=policy.lapse_months, excluded=False, subject=subject,
        rule_id=rule_id, policy_version=policy.version, appeal_days=policy.appeal_days,
        causes=store.dumps(causes), reason_en=reason_en[:400], reason_zh=reason_zh[:400]))
    return True


def exclude_fact(conn, staff_id: str, key: str) -> None:
    unit.current(conn).update_fact(staff_id, key, excluded=True)


IN_FORCE = ("issued", "acknowledged", "appealed", "upheld")
_IN_FORCE = frozenset(IN_FORCE)


def decide_new_fact(conn, staff_id: str, key: str, at: datetime, causes: list[dict]) -> list[dict]:
    """Issue what a fact just recorded leads to; returns the sanctions issued.

    Recomputing the ladder replays the person's whole history, which grows all year; two usual
    cases need less. A plain notice takes no step and changes no other fact's decision, so it is
    issued as it is. A fact later than all the others changes no earlier decision, so its own
    level follows from the sanctions in force (``model.decide_latest``). A fact that arrived late
    recomputes the ladder, which may revise later sanctions.
    """
    work = unit.current(conn)
    fact = work.fact(staff_id, key)
    if fact is None or fact["excluded"]:
        return recompute_ladder(conn, staff_id, at, causes)
    if fact["kind"] == "notice":
        return [issue_sanction(conn, fact, "notice", 0)]
    order = (fact["at"], fact["key"])
    others = [f for f in work.facts_of(staff_id) if f is not fact]
    if any((f["at"], f["key"]) >= order for f in others):
        return recompute_ladder(conn, staff_id, at, causes)
    steps = [(s["expires_at"], s["level"]) for s in work.sanctions_of(staff_id) if s["status"] in _IN_FORCE]
    notices: dict[str, list[datetime]] = {}
    for f in others:
        if f["kind"] == "repeatable_notice" and not f["excluded"]:
            notices.setdefault(f["grp"], []).append(model.add_months(f["at"], f["lapse_months"]))
    level = model.decide_latest(_as_fact(fact), steps, notices)
    return [issue_sanction(conn, fact, level, 0)]


def _as_fact(row: dict) -> model.Fact:
    # Positional: built for every fact of the person at every recompute.
    return model.Fact(row["key"], row["at"], row["kind"], row["bump"], row["level"], row["grp"], row["free_notices"],
                      row["excluded"], row["lapse_months"])


def recompute_ladder(conn, staff_id: str, at: datetime, causes: list[dict],
                     withdrawn_reason: tuple[str, str] | None = None) -> list[dict]:
    """Bring the staff member's sanctions in line with the ladder computed from all their facts.

    In the usual case (facts arrive in time order) this only issues the new fact's sanction. When a
    fact arrived late, was withdrawn or its sanction overturned, later sanctions whose level changes
    are revoked and reissued at the right level: compensating entries, never edits.
    ``withdrawn_reason`` (English, Chinese) says why a withdrawn fact's sanction is revoked.
    Returns the sanctions issued.
    """
    work = unit.current(conn)
    facts = list(work.facts_of(staff_id))
    decided = model.ladder_decisions([_as_fact(f) for f in facts])
    rows = list(work.sanctions_of(staff_id))
    current = {r["fact_key"]: r for r in rows if r["status"] in _IN_FORCE}
    issued_count: dict[str, int] = {}
    for r in rows:
        issued_count[r["fact_key"]] = issued_count.get(r["fact_key"], 0) + 1
    issued = []
    for fact in sorted(facts, key=lambda f: (f["at"], f["key"])):
        want = decided.get(fact["key"])
        have = current.get(fact["key"])
        if have is not None and have["level"] == want:
            continue
        if have is not None:
            withdrawn = want is None
            revoke_sanction(
                conn, have, at, causes, cause="cause_withdrawn" if withdrawn else "ladder_recomputed",
                reason_en=((withdrawn_reason or ("its cause was withdrawn or revised",))[0] if withdrawn else
                           f"the ladder was recomputed: the level is now {LEVEL_EN[want]}"),
                reason_zh=((withdrawn_reason or (None, "其依据已撤回或更正"))[1] if withdrawn else
                           f"处分阶梯重新计算，级别改为{LADDER_ZH[want]}"))
        if want is not None:
            n = issued_count.get(fact["key"], 0)
            issued_count[fact["key"]] = n + 1
            issued.append(issue_sanction(conn, fact, want, n, replaces=have["id"] if have is not None else None,
                                         extra_causes=causes if have is not None else []))
    return issued


def issue_sanction(conn, fact, level: str, n: int, replaces: str | None = None,
                   extra_causes: list[dict] | None = None) -> dict:
    """Issue the sanction (or notice) a fact leads to, dated at the fact's time."""
    sanction_id = model.entry_id("sanction", fact["key"], level, n, at=fact["at"])
    causes = store.loads(fact["causes"]) + [c for c in (extra_causes or []) if c not in store.loads(fact["causes"])]
    issued_at = fact["at"]
    expires_at = model.add_months(issued_at, fact["lapse_months"])
    deadline = model.appeal_deadline(issued_at, fact["appeal_days"])
    reason_en = f"{LEVEL_EN[level].capitalize()}: {fact['reason_en']}"
    reason_zh = f"{LADDER_ZH[level]}：{fact['reason_zh']}"
    row = dict(id=sanction_id, staff_id=fact["staff_id"], branch_id=fact["branch_id"], level=level,
               fact_key=fact["key"], policy_version=fact["policy_version"], causes=store.dumps(causes),
               reason_en=reason_en[:500], reason_zh=reason_zh[:500], issued_at=issued_at, expires_at=expires_at,
               appeal_deadline=deadline, status="issued", replaces=replaces)
    unit.current(conn).add_sanction(row)
    add_entry(conn, entry_id=sanction_id, kind="sanction", staff_id=fact["staff_id"], branch_id=fact["branch_id"],
              subject=fact["subject"], policy_version=fact["policy_version"], causes=causes,
              reason_en=reason_en, reason_zh=reason_zh, occurred_at=issued_at, level=level,
              refers_to=replaces, rule_id=fact["rule_id"])
    data = {"sanction_id": sanction_id, "staff_id": fact["staff_id"], "branch_id": fact["branch_id"],
            "level": level, "policy_version": fact["policy_version"], "reason_en": reason_en[:500],
            "reason_zh": reason_zh[:500], "issued_at": issued_at, "expires_at": expires_at,
            "appeal_deadline": deadline}
    if replaces:
        data["replaces"] = replaces
    emit(conn, "lsq.sanction.issued.v1", data, causes, issued_at)
    return row


def revoke_sanction(conn, sanction, at: datetime, causes: list[dict], *, cause: str, reason_en: str,
                    reason_zh: str, status: str = "revoked") -> None:
    """Revoke a sanction with a compensating ledger entry and ``lsq.sanction.revoked.v1``."""
    unit.current(conn).update_sanction(sanction["id"], status=status, revoked_at=at)
    entry = model.entry_id("revocation", sanction["id"])
    full_en = f"{LEVEL_EN[sanction['level']].capitalize()} revoked: {reason_en}"
    full_zh = f"撤销{LADDER_ZH[sanction['level']]}：{reason_zh}"
    add_entry(conn, entry_id=entry, kind="revocation", staff_id=sanction["staff_id"],
              branch_id=sanction["branch_id"], subject=f"sanction:{sanction['id']}",
              policy_version=sanction["policy_version"], causes=causes, reason_en=full_en, reason_zh=full_zh,
              occurred_at=at, level=sanction["level"], refers_to=sanction["id"])
    emit(conn, "lsq.sanction.revoked.v1", {
        "sanction_id": sanction["id"], "staff_id": sanction["staff_id"], "branch_id": sanction["branch_id"],
        "level": sanction["level"], "reason_en": full_en[:500], "reason_zh": full_zh[:500], "revoked_at": at,
        "cause": cause}, causes, at)


# -- points --------------------------------------------------------------------------------------
def credit_points(conn, *, subject: str, staff_id: str, branch_id: str, points: int, month: str,
                  rule_id: str, cap: int | None, policy: Policy, causes: list[dict], reason_en: str,
                  reason_zh: str, at: datetime) -> int:
    """Credit points under the rule's monthly cap; returns what was credited (0 when capped)."""
    work = unit.current(conn)
    key = (staff_id, month, rule_id)
    credit = model.capped(points, work.tally_get(key), cap)
    entry = model.entry_id("points", subject, rule_id, at=at) if credit else None
    work.awarded_put(dict(subject=subject, staff_id=staff_id, state="credited", entry_id=entry, points=credit,
                          month=month, rule_id=rule_id))
    if not credit:
        return 0
    work.tally_add(key, credit)
    if credit < points:
        reason_en += f" ({credit} of {points}: monthly cap {cap})"
        reason_zh += f"（本月上限 {cap}，计 {credit}/{points} 分）"
    add_entry(conn, entry_id=entry, kind="points", staff_id=staff_id, branch_id=branch_id, subject=subject,
              policy_version=policy.version, causes=causes, reason_en=reason_en, reason_zh=reason_zh,
              occurred_at=at, period=month, points=credit, rule_id=rule_id)
    emit(conn, "lsq.points.credited.v1", {
        "entry_id": entry, "staff_id": staff_id, "branch_id": branch_id, "points": credit,
        "reason_en": reason_en[:500], "reason_zh": reason_zh[:500], "period": month,
        "policy_version": policy.version, "credited_at": at}, causes, at)
    return credit


def reverse_points(conn, awarded: dict, at: datetime, causes: list[dict], reason_en: str, reason_zh: str) -> None:
    """Reverse credited points with a compensating entry; the month's cap room is given back."""
    work = unit.current(conn)
    work.awarded_put({**awarded, "state": "reversed"})
    if not awarded["points"]:
        return
    original = work.ledger_entry(awarded["entry_id"])
    work.tally_add((awarded["staff_id"], awarded["month"], awarded["rule_id"]), -awarded["points"])
    entry = model.entry_id("revocation", awarded["entry_id"], at=at)
    add_entry(conn, entry_id=entry, kind="revocation", staff_id=awarded["staff_id"], branch_id=original["branch_id"],
              subject=awarded["subject"], policy_version=original["policy_version"],
              causes=store.loads(original["causes"]) + causes, reason_en=reason_en, reason_zh=reason_zh,
              occurred_at=at, period=awarded["month"], points=-awarded["points"], refers_to=awarded["entry_id"],
              rule_id=awarded["rule_id"])
    emit(conn, "lsq.points.credited.v1", {
        "entry_id": entry, "staff_id": awarded["staff_id"], "branch_id": original["branch_id"],
        "points": -awarded["points"], "reason_en": reason_en[:500], "reason_zh": reason_zh[:500],
        "period": awarded["month"], "policy_version": original["policy_version"], "credited_at": at}, causes, at)


def points_rule_ids(conn, event_type: str) -> list[str]:
    """Ids of the points rules on ``event_type`` in any policy version (for lookups by subject)."""
    ids = set()
    for version, _ in _versions(conn):
        ids.update(r.id for r in policy(conn, version).rules_for(event_type) if r.points)
    return sorted(ids)
