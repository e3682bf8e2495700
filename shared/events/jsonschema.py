"""JSON Schema of each event type's data: the payloads of the AsyncAPI contract, the check every
producer runs before an event reaches the outbox, and the one consumers run on what they read.

The schemas are derived from the marshmallow schemas of the registry (apispec, in the JSON Schema
dialect of OpenAPI 3.1: a nullable field is ``"type": [..., "null"]``), so the contract and the
code cannot disagree. Producers validate with a compiled validator (fastjsonschema): the same
rules as the published contract, at a few microseconds an event instead of a marshmallow pass.
"""
from __future__ import annotations

import fastjsonschema
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema

_converter = None


def _schema_converter():
    global _converter
    if _converter is None:
        # Nested schemas are written inline (no $ref): each payload schema stands on its own.
        plugin = MarshmallowPlugin(schema_name_resolver=lambda _schema: None)
        APISpec("lsq-events", "1", "3.1.0", plugins=[plugin])
        _converter = plugin.converter
    return _converter


def payload_schema(schema: type[Schema]) -> dict:
    """The JSON Schema of an event's data as published (unknown fields are not forbidden:
    subscribers must ignore fields added later)."""
    document = _schema_converter().schema2jsonschema(schema())
    _tidy(document)
    return document


def _tidy(node) -> None:
    """Fixes apispec's output for plain JSON Schema validators: nullable enums admit null, and
    ``additionalProperties: false`` (marshmallow's RAISE) is left to the producer check."""
    if isinstance(node, dict):
        if "null" in (node.get("type") or []) and "enum" in node and None not in node["enum"]:
            node["enum"] = [*node["enum"], None]
        if node.get("additionalProperties") is False:
            del node["additionalProperties"]
        for value in node.values():
            _tidy(value)
    elif isinstance(node, list):
        for value in node:
            _tidy(value)


def _strict(node):
    """A copy where every object with declared properties refuses undeclared ones (producers
    must not publish fields the contract does not name)."""
    if isinstance(node, dict):
        node = {key: _strict(value) for key, value in node.items()}
        if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node:
            node["additionalProperties"] = False
        return node
    if isinstance(node, list):
        return [_strict(value) for value in node]
    return node


def consumer_check(schema: type[Schema]):
    """A compiled validator of consumed data against the published (tolerant) payload schema."""
    return fastjsonschema.compile(payload_schema(schema))


def producer_check(schema: type[Schema]):
    """A compiled validator of an event's JSON-ready data; raises
    ``fastjsonschema.JsonSchemaValueException`` naming the first offending field."""
    return fastjsonschema.compile(_strict(payload_schema(schema)))
