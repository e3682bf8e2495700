"""CloudEvents 1.0 in Kafka binary mode: attributes in ``ce_*`` headers, the JSON data as value."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import orjson

from shared.timeutil import parse_rfc3339, rfc3339

SPECVERSION = "1.0"
CONTENT_TYPE = "application/json"


class MalformedEnvelope(ValueError):
    """A Kafka record that is not a CloudEvent in binary mode."""


@dataclass
class Event:
    """One CloudEvent as LSQ reads and writes it."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    data: dict
    key: str | None = None
    topic: str | None = None
    partition: int | None = None
    offset: int | None = None
    extra_headers: dict = field(default_factory=dict)
    #: ``data`` as JSON text already, when it was read from an outbox row: published as stored.
    encoded: bytes | None = field(default=None, repr=False, compare=False)

    def headers(self) -> list[tuple[str, bytes]]:
        """The Kafka record headers of this event."""
        return [
            ("ce_specversion", SPECVERSION.encode()),
            ("ce_id", self.id.encode()),
            ("ce_source", self.source.encode()),
            ("ce_type", self.type.encode()),
            ("ce_subject", self.subject.encode()),
            ("ce_time", rfc3339(self.time).encode()),
            ("content-type", CONTENT_TYPE.encode()),
        ]

    def value(self) -> bytes:
        """The record value: the event data as UTF-8 JSON."""
        return self.encoded if self.encoded is not None else orjson.dumps(self.data)

    @property
    def caused_by(self) -> list[dict]:
        return list(self.data.get("caused_by") or [])

    def cause(self) -> dict:
        """This event as a ``caused_by`` entry of the events it causes."""
        return {"source": self.source, "id": self.id}

    @classmethod
    def from_record(cls, record) -> "Event":
        """Read a kafka-python ``ConsumerRecord``; raises MalformedEnvelope when it is not one."""
        headers = {k: (v.decode("utf-8", "replace") if v is not None else "") for k, v in
                   (record.headers or [])}
        missing = [h for h in ("ce_id", "ce_source", "ce_type", "ce_specversion") if not headers.get(h)]
        if missing:
            raise MalformedEnvelope(f"missing CloudEvents headers: {', '.join(missing)}")
        if headers["ce_specversion"] != SPECVERSION:
            raise MalformedEnvelope(f"unsupported specversion {headers['ce_specversion']}")
        try:
            data = orjson.loads(record.value) if record.value else {}
        except (orjson.JSONDecodeError, UnicodeDecodeError) as exc:
            raise MalformedEnvelope(f"value is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise MalformedEnvelope("value is not a JSON object")
        try:
            time = parse_rfc3339(headers["ce_time"]) if headers.get("ce_time") else None
        except ValueError:
            raise MalformedEnvelope(f"bad ce_time {headers['ce_time']!r}") from None
        return cls(
            id=headers["ce_id"], type=headers["ce_type"], source=headers["ce_source"],
            subject=headers.get("ce_subject", ""), time=time, data=data,
            key=record.key.decode() if record.key else None, topic=record.topic,
            partition=record.partition, offset=record.offset,
            extra_headers={k: v for k, v in headers.items() if not k.startswith("ce_")},
        )
