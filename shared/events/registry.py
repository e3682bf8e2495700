"""The one registry of LSQ event types: type name → schema, topic, source, key.

Producers validate against it before writing to the outbox; consumers load with it (tolerant
reader); the AsyncAPI document is generated from it. Each entity's types are defined in the module
of the same name beside this one (``staff.py``, ``complaint.py`` ...).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cached_property
from uuid import UUID

import fastjsonschema
import orjson
from marshmallow import EXCLUDE, Schema, fields, missing

from shared.timeutil import parse_rfc3339, rfc3339

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
        return self.encode(data)[0]

    def encode(self, data: dict) -> tuple[dict, str]:
        """``validate``, also giving the JSON text of the checked data (what the outbox stores)."""
        # Times go through _json_default too (RFC 3339 with milliseconds and "Z", as published).
        raw = orjson.dumps(data, default=_json_default, option=orjson.OPT_PASSTHROUGH_DATETIME)
        plain = orjson.loads(raw)
        text = raw.decode()
        try:
            self._check(plain)
        except fastjsonschema.JsonSchemaValueException as error:
            # The compiled check stops at the first problem; the (rare) refusal lists them all.
            errors = self.schema().validate(plain) or {
                ".".join(str(part) for part in error.path[1:]) or "data": [error.message]}
            raise InvalidEventData(self.name, errors) from None
        return plain, text

    @cached_property
    def _loader(self) -> Schema:
        return self.schema(unknown=EXCLUDE)

    @cached_property
    def _reading(self):
        """What ``load`` needs, prepared once: the compiled check, the fields, their converters."""
        from shared.events.jsonschema import consumer_check
        fields_ = self._loader.load_fields
        converters = [(name, converter) for name, field in fields_.items()
                      if (converter := _converter_for(field)) is not None]
        defaults = [(name, field.load_default) for name, field in fields_.items()
                    if field.load_default is not missing]
        return consumer_check(self.schema), frozenset(fields_), converters, defaults

    def load(self, data: dict) -> dict:
        """Load consumed data tolerantly: unknown fields are dropped, known ones checked, times,
        dates and amounts turned into ``datetime``, ``date`` and ``Decimal``.

        The same result as the schema's marshmallow load, at a fraction of the cost (consumers load
        every event they read): the contract's compiled JSON Schema checks, plain code converts.
        Invalid data raises marshmallow's ``ValidationError`` with every problem listed.
        """
        check, known, converters, defaults = self._reading
        plain = {name: value for name, value in data.items() if name in known}
        try:
            check(plain)
            for name, convert in converters:
                value = plain.get(name)
                if value is not None:
                    plain[name] = convert(value)
        except (fastjsonschema.JsonSchemaValueException, ValueError, ArithmeticError):
            return self._loader.load(data)  # raises, naming each invalid field
        for name, default in defaults:
            if name not in plain:
                plain[name] = default() if callable(default) else default
        return plain

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
    # Runs for every time in every event written (imports at module level: a per-call import
    # statement cost more than the conversion).
    if isinstance(value, datetime):
        return rfc3339(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def _aware_time(text: str):
    return parse_rfc3339(text)


def _date(text: str):
    return date.fromisoformat(text)


def _decimal(value):
    return Decimal(str(value))


def _float_values(mapping: dict) -> dict:
    return {key: float(value) for key, value in mapping.items()}


#: How ``EventType.load`` turns checked JSON values into the types marshmallow would give.
_CONVERTERS = {fields.AwareDateTime: _aware_time, fields.DateTime: _aware_time, fields.Date: _date,
               fields.Decimal: _decimal, fields.Float: float, fields.Integer: int}


def _converter_for(field):
    if isinstance(field, fields.Dict) and isinstance(field.value_field, fields.Float):
        return _float_values
    return _CONVERTERS.get(type(field))
