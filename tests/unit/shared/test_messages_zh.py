"""Every validation message a client can get has its Chinese text."""
import inspect
import re
from pathlib import Path

import marshmallow.fields as ma_fields
import marshmallow.validate as ma_validate
import pytest
from marshmallow import Schema, ValidationError, fields, validate

from shared.messages_zh import FALLBACK, errors_in_chinese, to_chinese

REPO = Path(__file__).resolve().parents[3]


def _marshmallow_field_messages():
    for _, cls in inspect.getmembers(ma_fields, inspect.isclass):
        if issubclass(cls, ma_fields.Field):
            for message in getattr(cls, "default_error_messages", {}).values():
                if "{" not in message:
                    yield message


@pytest.mark.parametrize("message", sorted(set(_marshmallow_field_messages())))
def test_every_marshmallow_field_message_is_catalogued(message):
    assert to_chinese(message) != FALLBACK, message


def _validation_messages_of(schema, data):
    try:
        schema.load(data)
    except ValidationError as error:
        return error.messages
    raise AssertionError("expected a validation error")


class Everything(Schema):
    name = fields.String(required=True, validate=validate.Length(min=2, max=5))
    code = fields.String(validate=validate.Length(equal=4))
    stars = fields.Integer(validate=validate.Range(min=1, max=5))
    minimum = fields.Integer(validate=validate.Range(min=1))
    below = fields.Float(validate=validate.Range(max=10, max_inclusive=False))
    kind = fields.String(validate=validate.OneOf(["attitude", "wait"]))
    tags = fields.List(fields.String(), validate=validate.ContainsOnly(["a", "b"]))
    flag = fields.Boolean()
    day = fields.Date()
    at = fields.AwareDateTime()
    id = fields.UUID()
    mail = fields.Email()
    site = fields.URL()
    pattern = fields.String(validate=validate.Regexp(r"^\d+$"))
    same = fields.String(validate=validate.Equal("x"))
    nothing = fields.String(allow_none=False)


def test_validators_messages_with_their_values_come_out_in_chinese():
    messages = _validation_messages_of(Everything(), {
        "code": "abc", "stars": 9, "minimum": 0, "below": 11, "kind": "noise", "tags": ["c"], "flag": "maybe",
        "day": "3 Dec", "at": "2026-12-03T09:00:00", "id": "x", "mail": "no", "site": "no", "pattern": "a1",
        "same": "y", "nothing": None, "surplus": 1})
    chinese = errors_in_chinese(messages)
    assert chinese["name"] == ["此项必填。"]
    assert chinese["code"] == ["长度须为 4。"]
    assert chinese["stars"] == ["须大于或等于 1 且小于或等于 5。"]
    assert chinese["minimum"] == ["须大于或等于 1。"]
    assert chinese["below"] == ["须小于 10。"]
    assert chinese["kind"] == ["请从允许的选项中选择。"]
    assert chinese["at"] == ["不是有效的日期时间：须带时区（如 +08:00）。"]
    assert chinese["surplus"] == ["不认识的字段。"]
    flat = [m for value in chinese.values() for m in (value if isinstance(value, list) else [value])]
    assert FALLBACK not in flat, chinese
    assert not [m for m in flat if re.search(r"[A-Za-z]{2,}", m)], flat  # no English inside the Chinese


def test_nested_errors_keep_their_shape():
    errors = {"answers": {"0": {"stars": ["Not a valid integer."]}}, "_schema": ["Invalid input type."]}
    assert errors_in_chinese(errors) == {"answers": {"0": {"stars": ["请输入整数。"]}},
                                         "_schema": ["输入的类型不对。"]}


def test_our_own_schema_messages_are_catalogued():
    """A ValidationError raised in a service's schema must have its Chinese text here."""
    found = []
    for path in (REPO / "services").glob("*/schemas.py"):
        found += re.findall(r'ValidationError\(\s*"([^"]+)"', path.read_text())
    assert found, "the scan found nothing: the pattern is wrong"
    assert [m for m in found if to_chinese(m) == FALLBACK] == []


def test_a_message_written_in_chinese_stays_and_an_unknown_one_gets_a_chinese_text():
    assert to_chinese("星级须为 1 到 5") == "星级须为 1 到 5"
    assert to_chinese("something nobody wrote down") == FALLBACK


def test_access_errors_name_roles_in_chinese_not_by_code():
    from shared.auth import Principal
    from shared.errors import DomainError
    try:
        Principal(role="branch_manager", branch_id="b-1").require_branch("b-2")
    except DomainError as error:
        assert not re.search(r"[A-Za-z]", error.message_zh), error.message_zh
    else:
        raise AssertionError("another branch must be refused")
