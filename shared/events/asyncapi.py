"""The AsyncAPI 3.0 document of LSQ's public event contract, generated from the registry.

``lsq asyncapi > docs/asyncapi.yaml`` writes it; ``tests/contract`` fails when the checked-in copy
drifts from the registry.
"""
from __future__ import annotations

import yaml
from shared.events.jsonschema import payload_schema
from shared.events.registry import REGISTRY

CE_HEADERS = {
    "ce_specversion": {"type": "string", "const": "1.0", "description": "CloudEvents version"},
    "ce_id": {"type": "string", "description": "event id; unique together with ce_source (deduplicate on both)"},
    "ce_source": {"type": "string", "description": "owning service, /lsq/<service>"},
    "ce_time": {"type": "string", "format": "date-time", "description": "when it happened (RFC 3339, UTC)"},
    "ce_subject": {"type": "string", "description": "id of the aggregate (complaint, cycle, ledger entry ...)"},
    "content-type": {"type": "string", "const": "application/json"},
}


def _message_name(event_type: str) -> str:
    return event_type.replace(".", "_")


def document() -> dict:
    """The AsyncAPI document as plain data (deterministic order)."""
    channels, operations, messages, schemas = {}, {}, {}, {}
    for name in sorted(REGISTRY):
        kind = REGISTRY[name]
        message = _message_name(name)
        schema = payload_schema(kind.schema)
        schemas[message] = schema
        key = (f"the {kind.key_field} when the event is about one, else the {kind.subject_field}"
               if kind.key_field and kind.key_field != kind.subject_field else f"the {kind.subject_field}")
        messages[message] = {
            "name": name,
            "title": name,
            "summary": kind.description,
            "contentType": "application/json",
            "headers": {"type": "object", "required": ["ce_specversion", "ce_id", "ce_source", "ce_type"],
                        "properties": {**CE_HEADERS,
                                       "ce_type": {"type": "string", "const": name},
                                       "ce_source": {**CE_HEADERS["ce_source"], "const": kind.source}}},
            "payload": {"$ref": f"#/components/schemas/{message}"},
            "bindings": {"kafka": {"key": {"type": "string", "description": f"Kafka record key: {key}"}}},
        }
        channel = kind.topic.replace(".", "_")
        channels.setdefault(channel, {
            "address": kind.topic,
            "description": f"Events about {kind.entity}, published by the {kind.service} service. "
                           f"Dead letters of a consumer go to {kind.topic}.dlt.",
            "messages": {},
        })["messages"][message] = {"$ref": f"#/components/messages/{message}"}
        operations.setdefault(f"{kind.service}_publishes_{channel}", {
            "action": "send",
            "summary": f"{kind.service} publishes on {kind.topic}",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [],
        })["messages"].append({"$ref": f"#/channels/{channel}/messages/{message}"})
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "LSQ quality events / 图书馆服务质量事件",
            "version": "1.0.0",
            "description": (
                "The public event contract of LSQ (Library Service Quality). CloudEvents 1.0 in Kafka "
                "binary mode: the record value is the JSON data; the attributes travel in ce_* headers. "
                "Types are lsq.<entity>.<verb>.v<N>; one topic per entity (lsq.<entity>); the key is the "
                "staff id where the event is about a staff member. Consumers must ignore unknown fields "
                "and deduplicate on (ce_source, ce_id). No reader's personal data is ever published."),
        },
        "defaultContentType": "application/json",
        "servers": {"local": {"host": "127.0.0.1:9092", "protocol": "kafka",
                              "description": "the broker `make up` starts"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": schemas},
    }


def render() -> str:
    """The document as YAML text."""
    return yaml.safe_dump(document(), sort_keys=False, allow_unicode=True, width=100)
