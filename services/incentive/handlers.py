"""Incoming events → decisions. ``HANDLERS`` maps each consumed type to a function (conn, event).

Ordering assumed (see docs/services/incentive.md): Kafka keeps per-key order within a topic, and
every topic is keyed by staff id, so e.g. a praise's received/rejected pair or an evaluation's
scored/rescored pair reach us in order per staff member; still, each handler tolerates the other
order too. Across topics nothing is guaranteed: every decision is dated by its cause event's time,
the ladder is recomputed from all of a staff member's facts in time order, and a late fact only
ever adds compensating entries.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from services.incentive import ledger, model, store, unit
from services.incentive.model import start_of_day
from shared.directory_view import DIRECTORY_HANDLERS
from shared.events.envelope import Event
from shared.numbers import round_half_up
from shared.timeutil import local_date, rfc3339

log = logging.getLogger(__name__)

#: Where the time of each consumed type's cause lies in its data (the ladder, lapses, monthly caps
#: and policy versions all follow it; ce_time is only the fallback).
TIME_FIELDS = {
    "lsq.evaluation.scored.v1": "published_at",
    "lsq.evaluation.rescored.v1": "published_at",
    "lsq.praise.received.v1": "received_at",
    "lsq.praise.rejected.v1": "rejected_at",
    "lsq.complaint.resolved.v1": "resolved_at",
    "lsq.complaint.reopened.v1": "reopened_at",
    "lsq.complaint.sla_breached.v1": "breached_at",
    "lsq.requirement.overdue.v1": "overdue_since",
    "lsq.training.completed.v1": "completed_on",
    "lsq.sanction.violation_recorded.v1": "occurred_at",
    "lsq.sanction.acknowledged.v1": "acknowledged_at",
    "lsq.sanction.appealed.v1": "appealed_at",
    "lsq.sanction.appeal_decided.v1": "decided_at",
    "lsq.award.decided.v1": "decided_at",
    "lsq.points.period_settled.v1": "settled_at",
}


def cause_time(event: Event) -> datetime:
    """The time a decision caused by ``event`` is dated at."""
    value = event.data.get(TIME_FIELDS.get(event.type, ""))
    if isinstance(value, datetime):
        return value
    if value is not None:  # a date
        return start_of_day(value)
    if event.time is None:
        from shared.consumer import PoisonEvent
        raise PoisonEvent(f"{event.type} {event.id} has no time")
    return event.time


def subject_of(event: Event) -> str:
    """What a decision is about: the same subject on a revision replaces the earlier decision."""
    d = event.data
    kind = event.type
    if kind.startswith("lsq.evaluation."):
        return f"evaluation:{d['evaluation_id']}"
    if kind in ("lsq.complaint.resolved.v1", "lsq.complaint.reopened.v1"):
        return f"complaint:{d['complaint_id']}"
    if kind == "lsq.complaint.sla_breached.v1":
        return f"complaint:{d['complaint_id']}:sla:{d['target']}"
    if kind.startswith("lsq.praise."):
        return f"praise:{d['praise_id']}"
    if kind == "lsq.requirement.overdue.v1":
        return f"requirement:{d['requirement_id']}:{d['period']}"
    if kind == "lsq.training.completed.v1":
        return f"training:{d['completion_id']}"
    if kind == "lsq.sanction.violation_recorded.v1":
        return f"violation:{d['violation_id']}"
    return f"{kind}:{event.id}"


# -- reasons -------------------------------------------------------------------------------------
#: The Chinese words of the codes that reasons quote: the portal's and feedback's words, so a staff
#: member reads the same label in their ledger as on the complaint or the praise.
LABELS_ZH: dict[str, dict[str, str]] = {
    "grade": {"excellent": "优秀", "good": "良好", "satisfactory": "合格", "unsatisfactory": "不合格"},
    "outcome": {"substantiated": "经核实成立", "partially_substantiated": "部分成立", "unsubstantiated": "不成立",
                "withdrawn": "已撤回"},
    "category": {"attitude": "服务态度", "waiting": "等候与效率", "competence": "专业能力",
                 "environment": "环境与设施", "policy": "规章制度", "other": "其他"},
    "severity": {"low": "低", "normal": "一般", "high": "高", "urgent": "紧急"},
    "reject_reason": {"spam": "垃圾信息", "abuse": "辱骂或不当内容", "duplicate": "重复", "other": "其他原因"},
    "violation_category": {"attitude": "服务态度", "absence": "脱岗缺勤", "punctuality": "迟到", "negligence": "工作疏忽",
                           "misconduct": "行为不当", "dress_code": "仪容着装", "confidentiality": "泄露信息",
                           "other": "其他"},
}


def label_zh(kind: str, code) -> str:
    """The Chinese label of an enumerated ``code``; an unknown code (a newer producer) reads as 其他."""
    return LABELS_ZH[kind].get(code, "其他")


def _title_zh(d: dict) -> str:
    """A requirement's Chinese title; events from before ``title_zh`` was sent keep the English one."""
    return d.get("title_zh") or d["title"]


def _reason(event: Event, rule: model.Rule) -> tuple[str, str]:
    d = event.data
    kind = event.type
    if kind.startswith("lsq.evaluation."):
        score = round_half_up(d["score"], 1)  # 40.25 → 40.3, as a reader expects
        return (f"evaluation {d['period']} graded {d['grade']} (score {score}), rule {rule.id}",
                f"{d['period']} 考评结果为{label_zh('grade', d['grade'])}（{score} 分），规则 {rule.id}")
    if kind == "lsq.praise.received.v1":
        return f"reader praise {d['praise_id']}, rule {rule.id}", f"读者表扬 {d['praise_id']}，规则 {rule.id}"
    if kind == "lsq.complaint.resolved.v1":
        return (f"complaint {d['complaint_id']} ({d['category']}, {d['severity']}) found {d['outcome']}, rule {rule.id}",
                f"投诉 {d['complaint_id']}（{label_zh('category', d['category'])}，严重程度{label_zh('severity', d['severity'])}）"
                f"{label_zh('outcome', d['outcome'])}，规则 {rule.id}")
    if kind == "lsq.complaint.sla_breached.v1":
        return (f"complaint {d['complaint_id']}: {d['target']} deadline missed, rule {rule.id}",
                f"投诉 {d['complaint_id']} 超过{'受理' if d['target'] == 'acknowledge' else '办结'}时限，规则 {rule.id}")
    if kind == "lsq.requirement.overdue.v1":
        return (f"required training overdue since {d['overdue_since']}: {d['title']}",
                f"必修培训自 {d['overdue_since']} 起逾期：{_title_zh(d)}")
    if kind == "lsq.training.completed.v1":
        return (f"training completed: {d['title']} ({d['credit_hours']:g} credit hours), rule {rule.id}",
                f"完成培训：{d['title']}（{d['credit_hours']:g} 学时），规则 {rule.id}")
    if kind == "lsq.sanction.violation_recorded.v1":
        return (f"violation {d['violation_id']} recorded ({d['category']}), rule {rule.id}",
                f"违规记录 {d['violation_id']}（{label_zh('violation_category', d['category'])}），规则 {rule.id}")
    return f"{kind}, rule {rule.id}", f"{kind}，规则 {rule.id}"


# -- the rules -----------------------------------------------------------------------------------
def apply_rules(conn, event: Event, rule_type: str | None = None) -> None:
    """Apply every matching rule of the policy in force at the event's time.

    For subjects that can be revised (an evaluation rescored, a complaint resolved again after being
    reopened), the decisions of the earlier revision that no longer hold are withdrawn first.
    """
    at = cause_time(event)
    pol = ledger.policy_at(conn, at)
    rule_type = rule_type or event.type
    matching = [r for r in pol.rules_for(rule_type) if r.matches(event.data)]
    subject = subject_of(event)
    if rule_type == "lsq.evaluation.scored.v1":
        matching = _withdraw_superseded(conn, event, subject, matching, at)
    elif rule_type == "lsq.complaint.resolved.v1":
        matching = _supersede_resolution(conn, event, subject, matching, at)
    for rule in matching:
        if rule.award:
            _award(conn, event, rule, pol, at, subject)
        elif rule.points:
            _points(conn, event, rule, pol, at, subject)
        elif rule.sanction:
            _sanction(conn, event, rule, pol, at, subject)


def _withdraw_superseded(conn, event: Event, subject: str, matching: list, at: datetime) -> list:
    """Withdraw earlier decisions on ``subject`` the new revision does not repeat; return the rules
    still to apply (those whose decision is not already in place)."""
    revision = event.data.get("revision", 0)
    work = unit.current(conn)
    seen = work.revision(subject)
    if seen is not None and revision < seen:
        return []  # an older revision arriving late: the newer one already decided
    work.set_revision(subject, revision)
    if seen is None:
        return matching
    causes = [event.cause()]
    wanted = {r.id: r for r in matching}
    keep = set()
    work.flush()  # a revision (rare): awards are read with SQL
    for award in conn.execute(select(store.awards).where(store.awards.c.subject == subject,
                                                         store.awards.c.status.in_(("granted", "pending")))).mappings():
        rule = wanted.get(award["rule_id"])
        if rule is not None and rule.award["tier"] == award["tier"] and \
                Decimal(rule.award["amount"]) == Decimal(award["requested_amount"]):
            keep.add(rule.id)
            continue
        ledger.revoke_award(conn, dict(award), at, causes,
                            f"award withdrawn: {subject} was revised", f"奖励撤回：{subject} 结果已更正")
    changed_staff = set()
    people = sorted({v for k, v in event.data.items() if k in ("staff_id", "handler_id") and v})
    facts = [f for person in people for f in work.facts_of(person) if f["subject"] == subject and not f["excluded"]]
    for fact in facts:
        rule = wanted.get(fact["rule_id"])
        if rule is not None and _fact_shape(event, rule) == (fact["kind"], fact["bump"], fact["level"]):
            keep.add(rule.id)
            continue
        ledger.exclude_fact(conn, fact["staff_id"], fact["key"])
        changed_staff.add(fact["staff_id"])
    for staff_id in sorted(changed_staff):
        ledger.recompute_ladder(conn, staff_id, at, causes)
    return [r for r in matching if r.id not in keep]


def _supersede_resolution(conn, event: Event, subject: str, matching: list, at: datetime) -> list:
    """A complaint's resolution at ``at``: the rules still to apply.

    A resolution's decisions stand while no later resolution or reopening of the complaint is
    known. So, whatever order the events come in: a resolution older than one already known (or
    than a reopening) decides nothing; the same resolution published again decides nothing twice;
    a new resolution withdraws what earlier ones decided (their sanctions revoked, the ladder
    recomputed, their awards revoked) and decides again, dated at its own time by the policy in
    force then.
    """
    work = unit.current(conn)
    marks = work.marks_of(subject)
    earlier = any(m["at"] < at for m in marks)
    if any(m["at"] > at for m in marks):
        work.add_mark(subject, "resolved", at, event.source, event.id)
        return []  # stale: a later resolution or a reopening supersedes it already
    if not work.add_mark(subject, "resolved", at, event.source, event.id):
        return []  # this very resolution again, under another event id
    if earlier:
        complaint = event.data["complaint_id"]
        withdraw_decisions(conn, subject, at, [event.cause()],
                           f"complaint {complaint} was resolved again", f"投诉 {complaint} 已重新办结")
    return matching


def withdraw_decisions(conn, subject: str, before: datetime, causes: list[dict], reason_en: str,
                       reason_zh: str) -> None:
    """Withdraw what was decided on ``subject`` from causes dated before ``before``: awards are
    revoked (the money goes back to the fund) and sanctions' facts withdrawn, each person's ladder
    recomputed (``lsq.sanction.revoked.v1`` with ``cause_withdrawn``; later sanctions re-levelled).
    Dated at ``before``. Facts and awards already withdrawn are left alone, so doing it twice
    changes nothing."""
    work = unit.current(conn)
    work.flush()  # rare (a reopening, a re-resolution): awards and facts are found with SQL
    for award in conn.execute(select(store.awards).where(
            store.awards.c.subject == subject, store.awards.c.status.in_(("granted", "pending")),
            store.awards.c.requested_at < before).order_by(store.awards.c.id)).mappings():
        ledger.revoke_award(conn, dict(award), before, causes, f"award withdrawn: {reason_en}",
                            f"奖励撤回：{reason_zh}")
    people = conn.execute(select(store.ladder_facts.c.staff_id).where(store.ladder_facts.c.subject == subject)
                          .distinct()).scalars().all()
    work.load_staff(people)
    for staff_id in sorted(people):
        withdrawn = [f for f in work.facts_of(staff_id)
                     if f["subject"] == subject and not f["excluded"] and f["at"] < before]
        for fact in withdrawn:
            ledger.exclude_fact(conn, staff_id, fact["key"])
        if withdrawn:
            ledger.recompute_ladder(conn, staff_id, before, causes, withdrawn_reason=(reason_en, reason_zh))


def _award(conn, event: Event, rule, pol, at, subject) -> None:
    d = event.data
    if not d.get("staff_id"):
        return
    reason_en, reason_zh = _reason(event, rule)
    award_id = model.entry_id("award", event.source, event.id, rule.id, at=at)
    ledger.request_award(conn, award_id=award_id, staff_id=d["staff_id"], branch_id=d["branch_id"],
                         period=model.fund_period(at, pol.fund_period_kind), tier=rule.award["tier"],
                         amount=Decimal(rule.award["amount"]), subject=subject, rule_id=rule.id, policy=pol,
                         causes=[event.cause()], reason_en=f"Award {rule.award['tier']}: {reason_en}",
                         reason_zh=f"{rule.award['tier']} 级奖励：{reason_zh}", at=at)


def _points(conn, event: Event, rule, pol, at, subject) -> None:
    d = event.data
    if not d.get("staff_id"):
        return  # praise of a service point, not of a person
    points = model.points_for(rule, d)
    if points <= 0:
        return
    psubject = f"{subject}|{rule.id}"
    work = unit.current(conn)
    known = work.awarded_get(psubject)
    if known is not None:
        if known["state"] == "rejected":  # the rejection arrived first: nothing to credit
            work.awarded_put({**known, "state": "reversed"})
        return
    reason_en, reason_zh = _reason(event, rule)
    ledger.credit_points(conn, subject=psubject, staff_id=d["staff_id"], branch_id=d["branch_id"], points=points,
                         month=model.month_of(at), rule_id=rule.id, cap=rule.points.get("monthly_cap"),
                         policy=pol, causes=[event.cause()], reason_en=f"+{points} points: {reason_en}",
                         reason_zh=f"加 {points} 分：{reason_zh}", at=at)


def _fact_shape(event: Event, rule) -> tuple:
    spec = rule.sanction
    level = spec["level"]
    if level == "next_step":
        bump = 1 if "one_step_higher_when" in spec and all(
            event.data.get(k) in v for k, v in spec["one_step_higher_when"].items()) else 0
        return ("next_step", bump, None)
    if level == "notice":
        return ("repeatable_notice" if "repeat_climbs_after" in spec else "notice", 0, None)
    return ("fixed", 0, level)


def _sanction(conn, event: Event, rule, pol, at, subject) -> None:
    d = event.data
    spec = rule.sanction
    staff_id = d.get(spec.get("target", "staff_id"))
    if not staff_id:
        return  # nobody named (an anonymous desk complaint, a breach with no handler)
    kind, bump, level = _fact_shape(event, rule)
    reason_en, reason_zh = _reason(event, rule)
    key = f"{subject}|{rule.id}"
    if event.type == "lsq.complaint.resolved.v1":
        # A complaint may be resolved again after a reopening: each resolution is its own fact.
        key = f"{key}|{rfc3339(at)}"
    escalate_due(conn, at, staff_id)
    new = ledger.add_fact(conn, key=key, staff_id=staff_id, branch_id=d["branch_id"], at=at, kind=kind,
                          subject=subject, rule_id=rule.id, policy=pol, causes=[event.cause()],
                          reason_en=reason_en, reason_zh=reason_zh, bump=bump, level=level,
                          group=rule.id, free_notices=spec.get("repeat_climbs_after", 0))
    if not new:
        return
    ledger.decide_new_fact(conn, staff_id, key, at, [event.cause()])
    if "escalate_to" in spec:
        _watch_requirement(conn, event, rule, pol, at, subject, staff_id)


def _watch_requirement(conn, event: Event, rule, pol, at, subject, staff_id) -> None:
    """A training requirement overdue: escalate after N days unless the training is completed."""
    d = event.data
    # Local midnight of the day the grace period ends (days of the calendar, not 24-hour spans).
    escalate_at = start_of_day(d["overdue_since"] + timedelta(days=rule.sanction["escalate_after_days"]))
    status = "cleared" if _completion_clears(conn, staff_id, d.get("course_id"), start_of_day(d["overdue_since"]),
                                            escalate_at) else "waiting"
    unit.current(conn).add_watch(dict(
        subject=subject, requirement_id=d["requirement_id"], staff_id=staff_id, branch_id=d["branch_id"],
        course_id=d.get("course_id"), overdue_since=start_of_day(d["overdue_since"]), escalate_at=escalate_at,
        escalate_to=rule.sanction["escalate_to"], rule_id=rule.id, policy_version=pol.version,
        causes=store.dumps([event.cause()]), title=d["title"][:300], status=status,
        cleared_by=None))


def _completion_clears(conn, staff_id: str, course_id: str | None, since: datetime, until: datetime) -> bool:
    """A completion of the required course in the year before the grace period ends (any training
    completed since the requirement became overdue, for an hours requirement)."""
    if course_id:
        return unit.current(conn).completion_between(staff_id, course_id, since - timedelta(days=366), until)
    return unit.current(conn).completion_between(staff_id, None, since, until)


def escalate_due(conn, now: datetime, staff_id: str | None = None) -> int:
    """Escalate overdue requirements whose grace period ended before ``now``.

    The worker's sweep calls it with the wall clock; before any new ladder fact of a staff member is
    decided, it is called for that staff member with the fact's time, so the fact sees the
    escalations that precede it whatever the sweep's timing (a replay decides the same). The
    sanction is dated at the end of the grace period, never at ``now``.
    """
    work = unit.current(conn)
    if staff_id is not None:
        candidates = work.watches_of(staff_id)
    else:  # the sweep: find who has something due, then work on the cached rows
        work.flush()
        people = conn.execute(select(store.requirement_watch.c.staff_id).where(
            store.requirement_watch.c.status == "waiting", store.requirement_watch.c.escalate_at <= now)
            .distinct()).scalars().all()
        work.load_staff(people)
        candidates = [w for person in sorted(people) for w in work.watches_of(person)]
    due = sorted((w for w in candidates if w["status"] == "waiting" and w["escalate_at"] <= now),
                 key=lambda w: (w["escalate_at"], w["subject"]))
    for watch in due:
        pol = ledger.policy(conn, watch["policy_version"])
        causes = store.loads(watch["causes"])
        days = (local_date(watch["escalate_at"], model.calendar_zone())
                - local_date(watch["overdue_since"], model.calendar_zone())).days
        ledger.add_fact(conn, key=f"{watch['subject']}|{watch['rule_id']}|escalation", staff_id=watch["staff_id"],
                        branch_id=watch["branch_id"], at=watch["escalate_at"], kind="fixed", subject=watch["subject"],
                        rule_id=watch["rule_id"], policy=pol, causes=causes,
                        reason_en=f"required training still overdue after {days} days: {watch['title']}",
                        reason_zh=f"必修培训逾期 {days} 天仍未完成：{watch['title']}", level=watch["escalate_to"])
        work.update_watch(watch["subject"], status="escalated")
        ledger.recompute_ladder(conn, watch["staff_id"], watch["escalate_at"], causes)
    return len(due)


# -- handlers ------------------------------------------------------------------------------------
def on_rule_event(conn, event: Event) -> None:
    """Any event the policy's rules can name."""
    apply_rules(conn, event)


def on_evaluation_rescored(conn, event: Event) -> None:
    """A revised result replaces the earlier one: rules of ``scored`` are applied to it."""
    apply_rules(conn, event, rule_type="lsq.evaluation.scored.v1")


def on_complaint_reopened(conn, event: Event) -> None:
    """A reader reopened a complaint: what its resolution decided is withdrawn (sanctions revoked,
    the ladder recomputed without them, awards revoked) until it is resolved again, when it is
    decided anew. A reopening already known (the same time, under any event id) changes nothing."""
    d = event.data
    at = cause_time(event)
    subject = subject_of(event)
    if not unit.current(conn).add_mark(subject, "reopened", at, event.source, event.id):
        return
    withdraw_decisions(conn, subject, at, [event.cause()],
                       f"complaint {d['complaint_id']} was reopened; it is decided again when resolved again",
                       f"投诉 {d['complaint_id']} 已重新开启，待再次办结后重新认定")


def on_training_completed(conn, event: Event) -> None:
    """Points for the hours, and a completion clears an overdue requirement (compensating if late)."""
    d = event.data
    at = cause_time(event)
    work = unit.current(conn)
    if work.completion_known(d["staff_id"], d["completion_id"]):
        return  # the same completion published again under another event id: already counted
    work.add_completion(dict(completion_id=d["completion_id"], staff_id=d["staff_id"], course_id=d.get("course_id"),
                             completed_at=at, source=event.source, event_id=event.id))
    escalate_due(conn, at, d["staff_id"])  # a completion after the grace period comes too late
    watches = [w for w in work.watches_of(d["staff_id"]) if w["status"] in ("waiting", "escalated")]
    for watch in watches:
        if watch["course_id"] and watch["course_id"] != d.get("course_id"):
            continue
        if not watch["course_id"] and at < watch["overdue_since"]:
            continue
        if watch["status"] == "waiting":
            work.update_watch(watch["subject"], status="cleared", cleared_by=d["completion_id"])
        elif at <= watch["escalate_at"]:
            # Completed in time but the news came late: the escalation is withdrawn.
            ledger.exclude_fact(conn, watch["staff_id"], f"{watch['subject']}|{watch['rule_id']}|escalation")
            work.update_watch(watch["subject"], status="cleared", cleared_by=d["completion_id"])
            ledger.recompute_ladder(conn, watch["staff_id"], at, [event.cause()])
    apply_rules(conn, event)


def on_praise_rejected(conn, event: Event) -> None:
    """Undo the points of rejected praise, whichever of received/rejected comes first."""
    d = event.data
    at = cause_time(event)
    subject = subject_of(event)
    work = unit.current(conn)
    rule_ids = ledger.points_rule_ids(conn, "lsq.praise.received.v1")
    rows = [row for row in (work.awarded_get(f"{subject}|{rid}") for rid in rule_ids) if row is not None]
    if not rows:
        if not d.get("staff_id"):
            return
        # Rejected before we saw it received: remember, so that the receipt credits nothing.
        for rid in rule_ids:
            work.awarded_put(dict(subject=f"{subject}|{rid}", staff_id=d["staff_id"], state="rejected",
                                  entry_id=None, points=0, month=None, rule_id=rid))
        return
    for row in rows:
        if row["state"] == "credited":
            ledger.reverse_points(conn, row, at, [event.cause()],
                                  f"praise {d['praise_id']} rejected ({d['reason']}): points reversed",
                                  f"表扬 {d['praise_id']} 被驳回（{label_zh('reject_reason', d['reason'])}），撤回积分")


def on_violation_recorded(conn, event: Event) -> None:
    """A violation recorded through the API (or replayed from lsq.sanction) climbs the ladder."""
    d = event.data
    if store.one(conn, store.violations, id=d["violation_id"]) is None:
        conn.execute(store.violations.insert().values(
            id=d["violation_id"], staff_id=d["staff_id"], branch_id=d["branch_id"], category=d["category"],
            description=d["description"], occurred_at=d["occurred_at"], recorded_by=d["recorded_by"],
            recorded_at=d["recorded_at"], fact_key=f"{subject_of(event)}"))
    apply_rules(conn, event)


def on_sanction_acknowledged(conn, event: Event) -> None:
    d = event.data
    work = unit.current(conn)
    sanction = work.sanction(d["sanction_id"])
    if sanction is not None and sanction["status"] == "issued":
        work.update_sanction(d["sanction_id"], status="acknowledged", acknowledged_at=d["acknowledged_at"])


def on_sanction_appealed(conn, event: Event) -> None:
    d = event.data
    work = unit.current(conn)
    sanction = work.sanction(d["sanction_id"])
    if sanction is not None and sanction["status"] in ("issued", "acknowledged"):
        work.update_sanction(d["sanction_id"], status="appealed", appeal_reason=d["reason"],
                             appealed_at=d["appealed_at"])


def on_appeal_decided(conn, event: Event) -> None:
    """Upheld: the sanction stands. Overturned: revoked, and the ladder is recomputed."""
    d = event.data
    work = unit.current(conn)
    sanction = work.sanction(d["sanction_id"])
    if sanction is None or sanction["status"] not in ("appealed",):
        log.warning("appeal decision %s for sanction %s in state %s ignored", event.id, d["sanction_id"],
                    sanction and sanction["status"])
        return
    values = dict(decision=d["decision"], decision_note=d["note"], decided_by=d["decided_by"],
                  decided_at=d["decided_at"])
    if d["decision"] == "upheld":
        work.update_sanction(sanction["id"], status="upheld", **values)
        return
    work.update_sanction(sanction["id"], **values)
    causes = store.loads(sanction["causes"]) + [event.cause()]
    ledger.revoke_sanction(conn, sanction, d["decided_at"], causes, cause="appeal_overturned",
                           reason_en=f"overturned on appeal: {d['note']}", reason_zh=f"申诉成立，予以撤销：{d['note']}",
                           status="overturned")
    ledger.exclude_fact(conn, sanction["staff_id"], sanction["fact_key"])
    ledger.recompute_ladder(conn, sanction["staff_id"], d["decided_at"], [event.cause()])


def on_award_decided(conn, event: Event) -> None:
    """A branch manager's decision on a pending award."""
    d = event.data
    unit.current(conn).flush()  # the award may have been decided earlier in this batch
    award = store.one(conn, store.awards, for_update=True, id=d["award_id"])
    if award is None or award["status"] != "pending":
        log.warning("award decision %s for %s in state %s ignored", event.id, d["award_id"], award and award["status"])
        return
    if d["decision"] == "approved":
        from shared.errors import Conflict
        try:
            ledger.approve_award(conn, dict(award), d["decided_at"], d["decided_by"], d.get("note"), event.cause())
        except Conflict as exc:  # replayed without the budget it had: leave it pending, say so
            log.warning("approval %s of award %s could not be paid: %s", event.id, award["id"], exc)
    else:
        ledger.reject_award(conn, dict(award), d["decided_at"], d["decided_by"], d.get("note"))


def on_period_settled(conn, event: Event) -> None:
    """Turn the period's points into award credit, per staff member and branch, subject to the fund."""
    d = event.data
    if store.one(conn, store.settlements, period=d["period"]) is not None:
        return
    unit.current(conn).flush()  # the sums below read the ledger
    at = d["settled_at"]
    pol = ledger.policy_at(conn, at)
    start, end = model.period_bounds(d["period"])
    from sqlalchemy import func
    rows = conn.execute(select(store.ledger.c.staff_id, store.ledger.c.branch_id,
                               func.sum(store.ledger.c.points).label("points"))
                        .where(store.ledger.c.points.is_not(None), store.ledger.c.occurred_at >= start,
                               store.ledger.c.occurred_at < end)
                        .group_by(store.ledger.c.staff_id, store.ledger.c.branch_id)
                        .order_by(store.ledger.c.staff_id, store.ledger.c.branch_id)).all()
    count = 0
    for row in rows:
        points = int(row.points or 0)
        amount = (pol.points_rate * points).quantize(model.CENT)
        if points <= 0 or amount <= 0:
            continue
        count += 1
        ledger.request_award(
            conn, award_id=model.entry_id("award", "points", row.staff_id, row.branch_id, d["period"]),
            staff_id=row.staff_id, branch_id=row.branch_id, period=d["period"], tier=pol.points_tier,
            amount=amount, subject=f"points:{row.staff_id}:{d['period']}", rule_id=None, policy=pol,
            causes=[event.cause()], reason_en=f"{points} recognition points of {d['period']} at {pol.points_rate} CNY each",
            reason_zh=f"{d['period']} 积分 {points} 分，每分 {pol.points_rate} 元", at=at)
    conn.execute(store.settlements.insert().values(id=d["settlement_id"], period=d["period"],
                                                   settled_by=d["settled_by"], settled_at=at, awards=count))


def _in_unit(handler):
    """Run a handler inside the transaction's unit of work (opened here when outside a batch)."""
    def run(conn, event: Event) -> None:
        if unit.KEY in conn.info:  # inside a batch: its unit is open already (the usual case)
            handler(conn, event)
            return
        with unit.scope(conn):
            handler(conn, event)
    run.__name__ = run.__qualname__ = handler.__name__
    run.__doc__ = handler.__doc__
    return run


def prefetch(conn, events: list[Event]) -> None:
    """Load, in a few queries, the points state a batch of events will look at."""
    subjects, tallies = [], []
    praise_rules = ledger.points_rule_ids(conn, "lsq.praise.received.v1")
    training_rules = ledger.points_rule_ids(conn, "lsq.training.completed.v1")
    for event in events:
        if event.type in ("lsq.praise.received.v1", "lsq.praise.rejected.v1"):
            rules = praise_rules
        elif event.type == "lsq.training.completed.v1":
            rules = training_rules
        else:
            continue
        base = subject_of(event)
        subjects += [f"{base}|{rid}" for rid in rules]
        staff_id = event.data.get("staff_id")
        if staff_id and event.type != "lsq.praise.rejected.v1":
            month = model.month_of(cause_time(event))
            tallies += [(staff_id, month, rid) for rid in rules]
    work = unit.current(conn)
    if subjects or tallies:
        work.prefetch_points(subjects, tallies)
    # Rejected praise reverses its points entry (which the reversal cites) and gives the month's
    # cap room back.
    reversed_ = [row for event in events if event.type == "lsq.praise.rejected.v1"
                 for rid in praise_rules if (row := work.awarded.get(f"{subject_of(event)}|{rid}"))
                 and row["state"] == "credited"]
    if reversed_:
        work.prefetch_ledger(row["entry_id"] for row in reversed_)
        work.prefetch_points([], [(row["staff_id"], row["month"], row["rule_id"]) for row in reversed_])
    people, ladder_people, revisable, complaints, funds = set(), set(), [], [], set()
    for event in events:
        if event.type.startswith(("lsq.staff.", "lsq.branch.", "lsq.praise.")):
            continue
        people.update(v for k, v in event.data.items() if k in ("staff_id", "handler_id") and isinstance(v, str))
        ladder_people.update(_ladder_targets(conn, event))
        if event.type in ("lsq.evaluation.scored.v1", "lsq.evaluation.rescored.v1"):
            revisable.append(subject_of(event))
        if event.type in ("lsq.complaint.resolved.v1", "lsq.complaint.reopened.v1"):
            complaints.append(subject_of(event))
        if event.type.startswith("lsq.evaluation.") and event.data.get("branch_id"):
            at = cause_time(event)
            funds.add((event.data["branch_id"], model.fund_period(at, ledger.policy_at(conn, at).fund_period_kind)))
    work.lock(people)
    # Ladder histories only for those a sanction rule may name; anyone else's is read if a rare
    # path needs it (a revised decision, an escalation falling due).
    work.load_staff(ladder_people)
    completions = [e for e in events if e.type == "lsq.training.completed.v1"]
    work.load_watches([e.data.get("staff_id") for e in completions])
    # A completion first escalates the overdue requirements whose grace period ended before it
    # (escalate_due), and withdraws an escalation it arrived too late to prevent: both change the
    # ladder, so those people's ladders are read now too.
    work.load_staff([e.data["staff_id"] for e in completions if any(
        (w["status"] == "waiting" and w["escalate_at"] <= cause_time(e)) or
        (w["status"] == "escalated" and cause_time(e) <= w["escalate_at"]) for w in work.watches_of(e.data["staff_id"]))])
    work.load_completions([e.data.get("staff_id") for e in events
                           if e.type in ("lsq.requirement.overdue.v1", "lsq.training.completed.v1")])
    work.prefetch_revisions(revisable)
    work.prefetch_marks(complaints)
    work.prefetch_funds(funds)


def _ladder_targets(conn, event: Event) -> list[str]:
    """The staff members whose ladder a sanction rule of the policy may change for this event."""
    rule_type = "lsq.evaluation.scored.v1" if event.type == "lsq.evaluation.rescored.v1" else event.type
    pol = ledger.policy_at(conn, cause_time(event))
    targets = [event.data.get(rule.sanction.get("target", "staff_id"))
               for rule in pol.rules_for(rule_type) if rule.sanction and rule.matches(event.data)]
    return [t for t in targets if isinstance(t, str)]


HANDLERS = {
    **DIRECTORY_HANDLERS,
    "lsq.evaluation.scored.v1": on_rule_event,
    "lsq.evaluation.rescored.v1": on_evaluation_rescored,
    "lsq.praise.received.v1": on_rule_event,
    "lsq.praise.rejected.v1": on_praise_rejected,
    "lsq.complaint.resolved.v1": on_rule_event,
    "lsq.complaint.reopened.v1": on_complaint_reopened,
    "lsq.complaint.sla_breached.v1": on_rule_event,
    "lsq.requirement.overdue.v1": on_rule_event,
    "lsq.training.completed.v1": on_training_completed,
    # What people did through this service's API, consumed back for replays (the API applies them
    # at once and records them in the inbox, so the live worker skips them as duplicates).
    "lsq.sanction.violation_recorded.v1": on_violation_recorded,
    "lsq.sanction.acknowledged.v1": on_sanction_acknowledged,
    "lsq.sanction.appealed.v1": on_sanction_appealed,
    "lsq.sanction.appeal_decided.v1": on_appeal_decided,
    "lsq.award.decided.v1": on_award_decided,
    "lsq.points.period_settled.v1": on_period_settled,
}
HANDLERS = {name: (handler if name in DIRECTORY_HANDLERS else _in_unit(handler)) for name, handler in HANDLERS.items()}
