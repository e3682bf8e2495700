"""PlainSchema's short road gives exactly what marshmallow's full load and dump give."""
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from services.feedback import schemas as feedback_schemas
from shared.plain_schema import PlainSchema


class Inner(PlainSchema):
    name = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=5))
    email = fields.Email(load_default=None, allow_none=True)


class Sample(PlainSchema):
    code = fields.String(required=True, validate=validate.Length(min=1, max=8))
    kind = fields.String(load_default="a", validate=validate.OneOf(["a", "b"]))
    stars = fields.Integer(validate=validate.Range(min=1, max=5))
    wait = fields.Float(load_default=None, allow_none=True)
    flag = fields.Boolean(load_default=False)
    at = fields.AwareDateTime(load_default=None, allow_none=True)
    tags = fields.List(fields.String(), load_default=list)
    inner = fields.Nested(Inner, load_default=None, allow_none=True)


class WithHook(PlainSchema):
    low = fields.Integer(required=True)
    high = fields.Integer(required=True)

    @validates_schema
    def ordered(self, data, **_kwargs):
        if data["low"] > data["high"]:
            raise ValidationError("low above high", "low")


def _full_load(schema: Schema, data):
    try:
        return "ok", Schema.load(schema, data)
    except ValidationError as error:
        return "error", error.messages


def _plain_load(schema: Schema, data):
    try:
        return "ok", schema.load(data)
    except ValidationError as error:
        return "error", error.messages


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 10) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10) | st.sampled_from(["a", "b", "x@example.cn", "not an email", "2026-11-29T08:00:00+08:00",
                                             "2026-11-29T08:00:00", "1"]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from(["name", "email", "zz"]),
                                                                       children, max_size=3),
    max_leaves=6)
sample_bodies = st.dictionaries(
    st.sampled_from(["code", "kind", "stars", "wait", "flag", "at", "tags", "inner", "unknown"]), json_values,
    max_size=9)


@settings(max_examples=600, deadline=None)
@given(sample_bodies)
def test_load_agrees_with_marshmallow(body):
    schema = Sample()
    assert _plain_load(schema, body) == _full_load(schema, body)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "branch_id": st.sampled_from(["b1", "", "x" * 65, 7]), "service_point_id": st.sampled_from([None, "d1", ""]),
    "staff_id": st.sampled_from([None, "s1"]), "category": st.sampled_from(["waiting", "attitude", "nope", None]),
    "severity": st.sampled_from(["low", "urgent", "huge"]), "channel": st.sampled_from(["web", "phone", 3]),
    "description": st.sampled_from(["队伍太长", "", "x" * 5000]),
    "received_at": st.sampled_from([None, "2026-11-29T08:00:00+08:00", "2026-11-29T08:00:00", "yesterday"]),
    "contact": st.sampled_from([None, {}, {"email": "r@example.cn"}, {"email": "bad"}, {"phone": "abc"},
                                {"name": "读者", "phone": "+86 10 1234"}, {"fax": "1"}]),
    "extra": st.just(1)}))
def test_complaint_filing_body_agrees_with_marshmallow(body):
    schema = feedback_schemas.ComplaintIn()
    assert _plain_load(schema, body) == _full_load(schema, body)


def test_schema_hooks_take_the_full_road():
    with pytest.raises(ValidationError) as refused:
        WithHook().load({"low": 3, "high": 1})
    assert refused.value.messages == {"low": ["low above high"]}


def test_unknown_field_is_refused_by_name():
    with pytest.raises(ValidationError) as refused:
        Sample().load({"code": "c1", "colour": "red"})
    assert refused.value.messages == {"colour": ["Unknown field."]}


times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                     timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8))]))


@settings(max_examples=400, deadline=None)
@given(st.fixed_dictionaries({}, optional={
    "id": st.text(max_size=5) | st.integers(), "status": st.sampled_from(["new", None]),
    "filed_at": times | st.none(), "rating": st.integers(1, 5) | st.booleans() | st.none(),
    "has_contact": st.booleans() | st.none() | st.integers(0, 1), "reopen_until": times,
    "tracking_code": st.text(max_size=5), "other": st.just("x")}))
def test_dump_agrees_with_marshmallow(row):
    schema = feedback_schemas.ComplaintFiled()
    assert schema.dump(row) == Schema.dump(schema, row)
