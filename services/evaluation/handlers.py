"""Incoming events → use cases: the directory read model and the reader-feedback facts."""
from __future__ import annotations

from services.evaluation import service
from shared.consumer import PoisonEvent
from shared.directory_view import DIRECTORY_HANDLERS
from shared.events.envelope import Event
from shared.timeutil import utcnow


def on_rating_submitted(conn, event: Event) -> None:
    """A desk rating (1-5 stars) of a named staff member → a reader fact."""
    if not 1 <= event.data["stars"] <= 5:
        raise PoisonEvent(f"stars must be 1-5, not {event.data['stars']}")
    service.record_rating(conn, event.data, utcnow())


def on_praise_received(conn, event: Event) -> None:
    """Praise of a staff member → a reader fact (stays rejected if rejected first)."""
    service.record_praise(conn, event.data, utcnow())


def on_praise_rejected(conn, event: Event) -> None:
    """Praise rejected as spam or abuse → excluded, whatever the arrival order."""
    service.reject_praise(conn, event.data, utcnow())


def on_complaint_resolved(conn, event: Event) -> None:
    """A complaint's outcome → a reader fact dated by its resolution."""
    service.record_complaint_resolved(conn, event.data, utcnow())


def on_complaint_reopened(conn, event: Event) -> None:
    """A reopened complaint stops counting until resolved again."""
    service.record_complaint_reopened(conn, event.data, utcnow())


HANDLERS = {
    **DIRECTORY_HANDLERS,
    "lsq.rating.submitted.v1": on_rating_submitted,
    "lsq.praise.received.v1": on_praise_received,
    "lsq.praise.rejected.v1": on_praise_rejected,
    "lsq.complaint.resolved.v1": on_complaint_resolved,
    "lsq.complaint.reopened.v1": on_complaint_reopened,
}
