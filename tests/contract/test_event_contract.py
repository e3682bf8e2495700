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


# -- the documented payloads are what producers publish ------------------------------------------
def _documented_payload(event_type: str):
    import fastjsonschema

    doc = yaml.safe_load(ASYNCAPI_FILE.read_text())
    return fastjsonschema.compile(doc["components"]["schemas"][asyncapi._message_name(event_type)])


def _filed(**changes):
    from shared.timeutil import utcnow

    now = utcnow()
    return {"complaint_id": "c-1", "branch_id": "b-1", "staff_id": None, "service_point_id": None,
            "category": "waiting", "severity": "normal", "channel": "web", "filed_at": now,
            "acknowledge_due_at": now, "resolve_due_at": now, "reader_ref": None, **changes}


def test_a_subscriber_validating_with_the_document_accepts_what_producers_publish():
    from shared.outbox import event_row
    from shared.timeutil import utcnow
    import json

    filed = event_row("lsq.complaint.filed.v1", _filed(), None, utcnow())  # nulls, enums, times
    _documented_payload("lsq.complaint.filed.v1")(json.loads(filed["data"]))
    award = event_row("lsq.award.granted.v1", {
        "award_id": "a-1", "staff_id": "s-1", "branch_id": "b-1", "tier": "A", "amount": "2000.00",
        "period": "2026-Q4", "policy_version": 1, "granted_at": utcnow(), "reason_en": "excellent", "reason_zh": "优秀"},
        [{"source": "/lsq/evaluation", "id": "e"}],
        utcnow())
    payload = json.loads(award["data"])
    assert payload["amount"] == "2000.00"  # money travels as an exact decimal string, as documented
    _documented_payload("lsq.award.granted.v1")(payload)


def test_producers_refuse_what_the_contract_does_not_name_but_subscribers_tolerate_it():
    import fastjsonschema
    import pytest

    kind = events.get("lsq.complaint.filed.v1")
    plain = kind.validate(_filed())
    _documented_payload(kind.name)({**plain, "added_in_a_later_version": 1})  # tolerant reader
    with pytest.raises(events.InvalidEventData) as refused:
        kind.validate(_filed(added_in_a_later_version=1))
    assert "added_in_a_later_version" in str(refused.value)
    for bad, field in (({"category": "noise"}, "category"), ({"filed_at": "yesterday"}, "filed_at"),
                       ({"staff_id": ""}, "staff_id")):
        with pytest.raises(events.InvalidEventData) as refused:
            kind.validate(_filed(**bad))
        assert field in refused.value.errors, refused.value.errors
    with pytest.raises(fastjsonschema.JsonSchemaValueException):
        _documented_payload(kind.name)({**plain, "severity": "apocalyptic"})


def test_every_payload_schema_compiles_for_a_plain_json_schema_validator():
    import fastjsonschema

    for message, schema in asyncapi.document()["components"]["schemas"].items():
        fastjsonschema.compile(schema)  # raises on anything a validator cannot read (e.g. `nullable`)
        assert "nullable" not in yaml.safe_dump(schema), message


def test_event_ids_are_time_ordered_uuid7():
    import uuid

    from shared.outbox import event_row
    from shared.timeutil import utcnow

    ids = [event_row("lsq.complaint.filed.v1", _filed(), None, utcnow())["event_id"] for _ in range(50)]
    assert all(uuid.UUID(i).version == 7 for i in ids)
    assert ids == sorted(ids) and len(set(ids)) == len(ids)  # indexes holding them grow at one end
