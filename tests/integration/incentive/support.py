"""Building consumed events for the incentive tests: valid against the registry, like producers."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from shared import events
from shared.events.envelope import Event
from shared.timeutil import UTC, rfc3339

SOURCES = {"evaluation": "/lsq/evaluation", "feedback": "/lsq/feedback", "training": "/lsq/training",
           "directory": "/lsq/directory", "incentive": "/lsq/incentive"}
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def event(event_type: str, data: dict, at: datetime | None = None, event_id: str | None = None) -> Event:
    """An Event as the consumer runner hands it to handlers (data loaded by the schema)."""
    kind = events.get(event_type)
    plain = kind.validate({"caused_by": [], **data})
    return Event(id=event_id or str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                 time=at or T0, data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)


def record(ev: Event):
    """The Kafka record a producer would write for ``ev`` (CloudEvents binary mode)."""
    kind = events.get(ev.type)
    plain = kind.validate(ev.data)
    wire = Event(id=ev.id, type=ev.type, source=ev.source, subject=ev.subject, time=ev.time, data=plain)
    return kind.topic, kind.key_of(plain).encode(), wire.value(), wire.headers()


def staff_joined(staff_id: str, branch_id: str, name: str = "王芳") -> Event:
    return event("lsq.staff.joined.v1", {"staff_id": staff_id, "employee_number": staff_id[:8], "name": name,
                                         "role": "staff", "branch_id": branch_id, "hire_date": "2024-01-02"})


def branch_opened(branch_id: str, code: str = "CEN") -> Event:
    return event("lsq.branch.opened.v1", {"branch_id": branch_id, "code": code, "name_zh": "中心馆",
                                          "name_en": "Central"})


def resolved(staff_id: str, branch_id: str, at: datetime, outcome: str = "substantiated", severity: str = "normal",
             complaint_id: str | None = None, handler_id: str | None = None) -> Event:
    return event("lsq.complaint.resolved.v1", {
        "complaint_id": complaint_id or str(uuid.uuid4()), "branch_id": branch_id, "staff_id": staff_id,
        "category": "attitude", "severity": severity, "outcome": outcome, "filed_at": rfc3339(at - timedelta(days=2)),
        "resolved_at": rfc3339(at), "handler_id": handler_id}, at)


def breached(handler_id: str | None, branch_id: str, at: datetime, staff_id: str | None = None,
             target: str = "resolve") -> Event:
    return event("lsq.complaint.sla_breached.v1", {
        "complaint_id": str(uuid.uuid4()), "branch_id": branch_id, "staff_id": staff_id, "target": target,
        "severity": "normal", "due_at": rfc3339(at - timedelta(hours=1)), "handler_id": handler_id,
        "breached_at": rfc3339(at)}, at)


def scored(staff_id: str, branch_id: str, grade: str, at: datetime, evaluation_id: str | None = None,
           revision: int = 0, previous_grade: str | None = None) -> Event:
    data = {"evaluation_id": evaluation_id or str(uuid.uuid4()), "cycle_id": "cycle-1", "staff_id": staff_id,
            "branch_id": branch_id, "period": "2026-Q1",
            "score": {"excellent": 95, "good": 82, "satisfactory": 70, "unsatisfactory": 50}[grade], "grade": grade,
            "dimension_scores": {"attitude": 4.5}, "components_used": ["reader", "supervisor"],
            "components_missing": [], "revision": revision, "published_at": rfc3339(at)}
    if previous_grade:
        data.update(previous_grade=previous_grade, previous_score=60.0)
        return event("lsq.evaluation.rescored.v1", data, at)
    return event("lsq.evaluation.scored.v1", data, at)


def praise(staff_id: str | None, branch_id: str, at: datetime, praise_id: str | None = None) -> Event:
    return event("lsq.praise.received.v1", {"praise_id": praise_id or str(uuid.uuid4()), "branch_id": branch_id,
                                            "staff_id": staff_id, "received_at": rfc3339(at)}, at)


def praise_rejected(praise_id: str, staff_id: str, branch_id: str, at: datetime) -> Event:
    return event("lsq.praise.rejected.v1", {"praise_id": praise_id, "branch_id": branch_id, "staff_id": staff_id,
                                            "reason": "spam", "rejected_at": rfc3339(at)}, at)


def overdue(staff_id: str, branch_id: str, since: str, course_id: str | None = "course-regs",
            requirement_id: str | None = None) -> Event:
    return event("lsq.requirement.overdue.v1", {
        "requirement_id": requirement_id or str(uuid.uuid4()), "staff_id": staff_id, "branch_id": branch_id,
        "kind": "regulation", "course_id": course_id, "title": "2024 service regulation / 服务规范培训",
        "due_on": since, "period": since[:4], "overdue_since": since})


def completed(staff_id: str, branch_id: str, on: str, credit_hours: float = 2.0,
              course_id: str | None = "course-regs") -> Event:
    return event("lsq.training.completed.v1", {
        "completion_id": str(uuid.uuid4()), "staff_id": staff_id, "branch_id": branch_id, "source": "course",
        "kind": "course", "course_id": course_id, "title": "Reader service basics", "hours": credit_hours,
        "credit_hours": credit_hours, "completed_on": on})


def reopened(staff_id: str | None, branch_id: str, complaint_id: str, at: datetime) -> Event:
    return event("lsq.complaint.reopened.v1", {"complaint_id": complaint_id, "branch_id": branch_id,
                                               "staff_id": staff_id, "reopened_at": rfc3339(at)}, at)
