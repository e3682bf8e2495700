"""Identifiers of new rows and events: UUIDv7 (RFC 9562), written as text.

The incentive worker makes one or two ids per event it applies and a complaint filing makes two,
so this is written for speed: ``uuid6.uuid7`` draws its random bits from the operating system
(a system call per id) and goes through ``uuid.UUID``; here the bits come from ``random`` (ids must
be unique and time-ordered, not unguessable: nothing is authorised by knowing an id) and the text is
formatted directly. ``random`` is reseeded in a child after ``fork`` (gunicorn workers), so two
processes never share a sequence.
"""
from __future__ import annotations

import random
import time

_RAND_A = (1 << 12) - 1
_last_millis = 0
_last_counter = 0


def time_ordered_id() -> str:
    """A new UUIDv7 as text: time-ordered, so the indexes that hold it grow at one end instead of
    touching a random page on every insert. Used for ids of busy tables and events.

    Within one process the ids increase (RFC 9562 method 1): the 12 bits after the milliseconds are
    a counter that starts at a random value each millisecond, and carries into the next millisecond
    only when more than a few thousand ids fall in one.
    """
    global _last_millis, _last_counter
    millis = time.time_ns() // 1_000_000
    if millis > _last_millis:
        counter = random.getrandbits(11)  # half the range: room to count up within the millisecond
    else:
        millis, counter = _last_millis, _last_counter + 1
        if counter > _RAND_A:
            millis, counter = millis + 1, 0
    _last_millis, _last_counter = millis, counter
    return uuid_text((millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | random.getrandbits(62))


def uuid_text(value: int) -> str:
    """The canonical text of the UUID whose 128 bits are ``value`` (``str(uuid.UUID(int=value))``,
    without building the object)."""
    h = "%032x" % value
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
