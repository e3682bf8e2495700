"""The one registry of LSQ event types: type name → schema, topic, source, key.

Producers validate against it before writing to the outbox; consumers load with it (tolerant
reader); the AsyncAPI document is generated from it. Each entity's types are defined in the module
of the same name beside this one (``staff.py``, ``complaint.py`` ...).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cached_property

from marshmallow import EXCLUDE, Schema, fields

TYPE_PATTERN = re.compile(r"^lsq\.(?P<entity>[a-z_]+)\.(?P<verb>[a-z_]+)\.v(?P<version>[0-9]+)$")


class UnknownEventType(LookupError):
    """A type name that is not in the registry."""


class InvalidEventData(ValueError):
    """Event data that does not match its type's schema."""

    def __init__(self, event_type: str, errors: dict):
        super().__init__(f"{event_type}: {json.dumps(errors, ensure_ascii=False, default=str)}")
        self.event_type = event_type
        self.errors = errors


class Cause(Schema):
    """A reference to an event that caused this one (CloudEvents source + id)."""

    source = fields.String(required=True, metadata={"description": "ce_source of the cause"})
    id = fields.String(required=True, metadata={"description": "ce_id of the cause"})


class EventData(Schema):
    """Base of every event's data: carries the causal chain."""

    caused_by = fields.List(
        fields.Nested(Cause),
        load_default=list,
        metadata={"description": "events that caused this one, so a decision can be traced"},
    )


@dataclass(frozen=True)
class EventType:
    """One versioned event type of the public contract."""

    name: str
    schema: type[Schema]
    service: str
    subject_field: str
    key_field: str | None
    description: str

    @property
    def entity(self) -> str:
        return TYPE_PATTERN.match(self.name).group("entity")

    @property
    def verb(self) -> str:
        return TYPE_PATTERN.match(self.name).group("verb")

    @property
    def version(self) -> int:
        return int(TYPE_PATTERN.match(self.name).group("version"))

    @property
    def topic(self) -> str:
        return f"lsq.{self.entity}"

    @property
    def source(self) -> str:
        return f"/lsq/{self.service}"

    @cached_property
    def _check(self):
        from shared.events.jsonschema import producer_check
        return producer_check(self.schema)

    def validate(self, data: dict) -> dict:
        """Check data a producer is about to publish against the contract's JSON Schema (unknown
        fields refused); returns it as JSON-ready values."""
        import fastjsonschema

        plain = json.loads(json.dumps(data, default=_json_default))
        try:
            self._check(plain)
        except fastjsonschema.JsonSchemaValueException as error:
            # The compiled check stops at the first problem; the (rare) refusal lists them all.
            errors = self.schema().validate(plain) or {
                ".".join(str(part) for part in error.path[1:]) or "data": [error.message]}
            raise InvalidEventData(self.name, errors) from None
        return plain

    @cached_property
    def _loader(self) -> Schema:
        return self.schema(unknown=EXCLUDE)

    def load(self, data: dict) -> dict:
        """Load consumed data tolerantly: unknown fields are dropped, known ones checked."""
        return self._loader.load(data)

    def subject_of(self, data: dict) -> str:
        return str(data[self.subject_field])

    def key_of(self, data: dict) -> str:
        """The Kafka key: the staff id when the event is about a staff member, else the subject."""
        if self.key_field and data.get(self.key_field):
            return str(data[self.key_field])
        return self.subject_of(data)


REGISTRY: dict[str, EventType] = {}
_OWNERS: dict[str, str] = {}


def define(name: str, schema: type[Schema], *, service: str, subject: str, description: str,
           key: str | None = "staff_id") -> EventType:
    """Register an event type; each entity belongs to exactly one service."""
    if not TYPE_PATTERN.match(name):
        raise ValueError(f"event type {name!r} is not lsq.<entity>.<verb>.v<N>")
    if not issubclass(schema, EventData):
        raise TypeError(f"{name}: schema must derive from EventData")
    event_type = EventType(name, schema, service, subject, key, description)
    owner = _OWNERS.setdefault(event_type.entity, service)
    if owner != service:
        raise ValueError(f"entity {event_type.entity!r} is owned by {owner}, not {service}")
    if name in REGISTRY and REGISTRY[name].schema is not schema:
        raise ValueError(f"event type {name} defined twice")
    REGISTRY[name] = event_type
    return event_type


def get(name: str) -> EventType:
    """The registered type called ``name``."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownEventType(name) from None


def topics() -> list[str]:
    """Every entity topic, sorted."""
    return sorted({t.topic for t in REGISTRY.values()})


def topics_of_service(service: str) -> list[str]:
    """The topics a service publishes on."""
    return sorted({t.topic for t in REGISTRY.values() if t.service == service})


def _json_default(value):
    from datetime import date, datetime
    from decimal import Decimal
    from uuid import UUID

    from shared.timeutil import rfc3339

    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
