"""Incoming events → messages in the outbox, by the rules in the database; and the directory
read model (names of staff and branches, who manages which branch)."""
from __future__ import annotations

from services.notify import model, service
from services.notify.settings import NotifySettings
from shared.directory_view import DIRECTORY_HANDLERS
from shared.events.envelope import Event


def make_handlers(settings: NotifySettings | None = None) -> dict:
    """The handler table: every event type notify has rules for, plus the directory's."""
    settings = settings or NotifySettings.from_env()

    def on_event(conn, event: Event) -> None:
        service.plan_messages(conn, event, settings)

    handlers = dict(DIRECTORY_HANDLERS)
    for event_type in model.SUPPORTED_EVENTS:
        if event_type in handlers:  # a directory event that also has rules: keep the read model first
            keep = handlers[event_type]
            handlers[event_type] = lambda conn, event, keep=keep: (keep(conn, event), on_event(conn, event))
        else:
            handlers[event_type] = on_event
    return handlers


HANDLERS = make_handlers()
