"""Times in LSQ are timezone-aware UTC inside the code and RFC 3339 with ``Z`` on the wire.

Calendar rules (a month's points cap, a fund quarter, a training year, a deadline day) are decided
in the network's local time zone, ``LSQ_TIMEZONE`` (default Asia/Shanghai): an award at 00:30 on
1 January in Shanghai belongs to January, although it is still 31 December in UTC.

Every reading of the clock goes through ``utcnow()`` or ``local_today()``: tests set the clock with
time-machine (``pytest --clock-start``, ``make test-dates``), which moves both.
"""
from __future__ import annotations

import functools
import os
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
DEFAULT_NETWORK_TIMEZONE = "Asia/Shanghai"


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


@functools.lru_cache(maxsize=8)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def network_zone(service: str | None = None) -> ZoneInfo:
    """The network's local time zone: ``LSQ_<SERVICE>_TIMEZONE``, else ``LSQ_TIMEZONE``, else Asia/Shanghai."""
    name = (service and os.environ.get(f"LSQ_{service.upper()}_TIMEZONE")) or os.environ.get("LSQ_TIMEZONE")
    return _zone(name or DEFAULT_NETWORK_TIMEZONE)


def local_date(moment: datetime, zone: ZoneInfo | None = None) -> date:
    """The calendar day of ``moment`` in the network's time zone (a naive time is taken as UTC)."""
    return as_utc(moment).astimezone(zone or network_zone()).date()


def local_today(zone: ZoneInfo | None = None) -> date:
    """Today in the network's time zone."""
    return utcnow().astimezone(zone or network_zone()).date()


def local_midnight(day: date, zone: ZoneInfo | None = None) -> datetime:
    """The first instant of ``day`` in the network's time zone, as aware UTC."""
    return datetime(day.year, day.month, day.day, tzinfo=zone or network_zone()).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """``2026-11-28T10:00:00.123Z``; a naive time is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 time (``Z`` or an offset) into an aware UTC datetime."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def as_utc(moment: datetime) -> datetime:
    """Make a time aware UTC; databases such as SQLite hand back naive ones."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)
