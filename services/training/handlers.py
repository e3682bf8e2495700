"""Incoming events → training use cases.

The directory read model (``shared.directory_view``) and the training reactions run in ONE handler
per event type (the runner calls one function per type): the view is updated first, so the
reaction sees the staff member.
"""
from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from services.training import model, service, store
from shared import directory_view
from shared.events.envelope import Event
from shared.timeutil import utcnow

log = logging.getLogger(__name__)


def assign_onboarding(conn, event: Event) -> int:
    """A new staff member must take the mandatory courses, always including the service-quality
    regulation course, within the onboarding window (default 30 days)."""
    d = event.data
    policy = service.get_policy(conn)
    c = store.courses.c
    courses = conn.execute(select(store.courses).where(
        c.active.is_(True), (c.mandatory.is_(True)) | (c.is_regulation.is_(True))).order_by(c.code)).mappings().all()
    if not any(course["is_regulation"] for course in courses):
        log.error("no active regulation course: onboarding of %s lacks it", d["staff_id"])
    registered_on = service.local_date(event.time or utcnow())
    due = model.onboarding_due(d["hire_date"], registered_on, policy.onboarding_due_days)
    specs = [service.course_spec(
        d["staff_id"], d["branch_id"], "onboarding", course, due, f"onboarding:{d['staff_id']}:{course['id']}",
        "joined the network: mandatory onboarding training", "新入职：岗前必修培训") for course in courses]
    rows = service.assign_many(conn, specs, caused_by=[event.cause()])
    year = service.today().year
    staff_row = directory_view.staff(conn, d["staff_id"])
    if staff_row is not None and staff_row["status"] != "left":
        service.ensure_annual_requirements(conn, year, [staff_row], policy=policy, caused_by=[event.cause()],
                                           registered_on=registered_on)
    return len(rows)


def record_title(conn, event: Event) -> None:
    """Remember the professional title a staff event gives; an event without the field (from before
    titles were recorded) leaves what is known as it is."""
    if "title" in event.data:
        store.set_title(conn, event.data["staff_id"], event.data["title"], event.time or utcnow())


def on_staff_joined(conn, event: Event) -> None:
    directory_view.on_directory_event(conn, event)
    record_title(conn, event)  # before the annual requirement, which may follow the title
    assign_onboarding(conn, event)


def on_staff_left(conn, event: Event) -> None:
    """Someone who left keeps no seats or waiting-list places, and owes no more training."""
    directory_view.on_directory_event(conn, event)
    release(conn, event.data["staff_id"])


def on_staff_updated(conn, event: Event) -> None:
    """The directory view follows; a status of ``left`` releases like ``staff.left`` does."""
    directory_view.on_directory_event(conn, event)
    record_title(conn, event)
    if event.data["status"] == "left":
        release(conn, event.data["staff_id"])


def release(conn, staff_id: str) -> None:
    """Cancel a leaver's enrolments (the waiting list moves up) and open requirements."""
    e = store.enrolments.c
    held = conn.execute(select(e.id, e.session_id).where(
        e.staff_id == staff_id, e.status.in_(model.ACTIVE_ENROLMENT))).all()
    if held:
        service.cancel_enrolments(conn, [x.id for x in held], "staff member left the network")
        for session_id in {x.session_id for x in held}:
            service.promote(conn, store.one(conn, store.sessions, session_id))
    r = store.requirements.c
    conn.execute(update(store.requirements).where(r.staff_id == staff_id, r.status == "open")
                 .values(status="cancelled", closed_at=utcnow()))


def on_staff_transferred(conn, event: Event) -> None:
    """Open requirements, seats and pending activities move with the person to the new branch."""
    directory_view.on_directory_event(conn, event)
    d = event.data
    r, e = store.requirements.c, store.enrolments.c
    conn.execute(update(store.requirements).where(r.staff_id == d["staff_id"], r.status == "open")
                 .values(branch_id=d["to_branch_id"]))
    conn.execute(update(store.enrolments).where(e.staff_id == d["staff_id"], e.status.in_(model.ACTIVE_ENROLMENT))
                 .values(branch_id=d["to_branch_id"]))
    # Submitted activities are decided by the new branch's supervisors.
    x = store.external_activities.c
    conn.execute(update(store.external_activities).where(x.staff_id == d["staff_id"], x.status == "submitted")
                 .values(branch_id=d["to_branch_id"]))


def assign_remedial(conn, event: Event) -> int:
    """A dimension scored below the threshold → that dimension's remedial course, with the reason."""
    d = event.data
    policy = service.get_policy(conn)
    low = model.low_dimensions(d["dimension_scores"], policy.remedial_threshold)
    if not low:
        return 0
    c, r = store.courses.c, store.requirements.c
    due = service.local_date(event.time or utcnow()) + timedelta(days=policy.remedial_due_days)
    specs = []
    for dimension, score in sorted(low.items()):
        course = conn.execute(select(store.courses).where(c.remedial_for == dimension, c.active.is_(True))
                              .order_by(c.code)).mappings().first()
        if course is None:
            log.warning("no active remedial course for %s; nothing assigned to %s", dimension, d["staff_id"])
            continue
        already = conn.execute(select(r.id).where(r.staff_id == d["staff_id"], r.course_id == course["id"],
                                                  r.status == "open")).first()
        if already:  # one open remedial course at a time is enough
            continue
        reason, reason_zh = model.remedial_reason(dimension, score, policy.remedial_threshold)
        specs.append(service.course_spec(
            d["staff_id"], d["branch_id"], "remedial", course, due,
            f"remedial:{d['evaluation_id']}:{dimension}", f"{reason} (evaluation {d['period']})",
            f"{reason_zh}（{d['period']} 考评）"))
    return len(service.assign_many(conn, specs, caused_by=[event.cause()]))


def on_evaluation_scored(conn, event: Event) -> None:
    assign_remedial(conn, event)


def on_evaluation_rescored(conn, event: Event) -> None:
    """An appeal raised a low dimension above the threshold → its open remedial course is waived;
    a revision that is (still or newly) low assigns as a first score would."""
    d = event.data
    policy = service.get_policy(conn)
    low = model.low_dimensions(d["dimension_scores"], policy.remedial_threshold)
    r = store.requirements.c
    for dimension in model.REMEDIAL_DIMENSIONS:
        if dimension in low or d["dimension_scores"].get(dimension) is None:
            continue
        conn.execute(update(store.requirements).where(
            r.dedup_key == f"remedial:{d['evaluation_id']}:{dimension}", r.status == "open").values(
            status="waived", closed_at=utcnow()))
    assign_remedial(conn, event)


HANDLERS = {
    **directory_view.DIRECTORY_HANDLERS,
    "lsq.staff.joined.v1": on_staff_joined,
    "lsq.staff.left.v1": on_staff_left,
    "lsq.staff.transferred.v1": on_staff_transferred,
    "lsq.staff.updated.v1": on_staff_updated,
    "lsq.evaluation.scored.v1": on_evaluation_scored,
    "lsq.evaluation.rescored.v1": on_evaluation_rescored,
}
