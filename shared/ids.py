"""Identifiers of new rows."""
import uuid6


def time_ordered_id() -> str:
    """A new UUIDv7 (RFC 9562) as text: time-ordered, so the indexes that hold it grow at one end
    instead of touching a random page on every insert. Used for ids of busy tables and events."""
    return str(uuid6.uuid7())
