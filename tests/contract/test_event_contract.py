"""The public event contract: the registry's rules, and the checked-in AsyncAPI document."""
import re
from pathlib import Path

import yaml

from shared import events
from shared.events import asyncapi
from shared.events.registry import TYPE_PATTERN

ASYNCAPI_FILE = Path(__file__).resolve().parents[2] / "docs" / "asyncapi.yaml"
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


def test_checked_in_asyncapi_matches_the_registry():
    assert ASYNCAPI_FILE.exists(), "docs/asyncapi.yaml missing: run `make asyncapi`"
    assert yaml.safe_load(ASYNCAPI_FILE.read_text()) == asyncapi.document(), (
        "docs/asyncapi.yaml drifted from shared/events: run `make asyncapi` and commit it")


def test_every_type_follows_the_naming_rules():
    for name, kind in events.REGISTRY.items():
        assert TYPE_PATTERN.match(name), name
        assert kind.topic == f"lsq.{kind.entity}"
        assert kind.source == f"/lsq/{kind.service}"
        fields = kind.schema().fields
        assert kind.subject_field in fields, f"{name}: subject field {kind.subject_field} not in data"
        if kind.key_field:
            assert kind.key_field in fields, f"{name}: key field {kind.key_field} not in data"
        for field_name in fields:
            assert SNAKE.match(field_name), f"{name}: field {field_name} is not snake_case"


def test_each_entity_has_exactly_one_owning_service():
    owners = {}
    for kind in events.REGISTRY.values():
        owners.setdefault(kind.entity, set()).add(kind.service)
    assert all(len(services) == 1 for services in owners.values()), owners


def test_references_are_entity_ids_and_no_reader_personal_data():
    forbidden = {"email", "phone", "reader_name", "contact", "reader_email", "reader_phone", "address"}
    for name, kind in events.REGISTRY.items():
        fields = set(kind.schema().fields)
        assert not fields & forbidden, f"{name} carries personal data fields {fields & forbidden}"


def test_time_fields_are_rfc3339_in_the_document():
    doc = asyncapi.document()
    for message in doc["components"]["schemas"].values():
        for field_name, prop in message.get("properties", {}).items():
            if field_name.endswith("_at"):
                assert prop.get("format") == "date-time", field_name
