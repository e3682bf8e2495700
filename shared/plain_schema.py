"""Marshmallow schemas with a direct path for plain bodies, for the busiest endpoints.

A reader filing a complaint, praising or rating a desk is the hottest request in LSQ, and there
marshmallow's general machinery (error stores, hook lookups, per-field bookkeeping) costs as much
as the checks themselves. ``PlainSchema`` keeps marshmallow as the one definition and the one
source of error messages, and only takes a shorter road when the body is plainly valid:

* ``load``: strings, integers, floats and booleans of the right JSON type are checked with the
  field's own validators; other fields use the field's own ``deserialize``. Anything unusual (a
  wrong type, a failing validator, an unknown key, ``partial``, ``many``) is handed to the full
  ``Schema.load``, which then raises with every problem listed, exactly as before.
* ``dump``: a dict whose strings, numbers, booleans and UTC times need no conversion is copied
  with times written as ISO 8601; other values use the field's own ``serialize``.

Schemas with hooks (``@validates``, ``@validates_schema``, ``@pre_load``, ...) or renamed fields
always take the full path. ``tests/unit/test_plain_schema.py`` checks that both roads agree.
"""
from __future__ import annotations

import math
from datetime import datetime

from marshmallow import RAISE, Schema, ValidationError, fields, missing


class _Unplain(Exception):
    """The value needs marshmallow's full treatment."""


def _string(value):
    if type(value) is not str:
        raise _Unplain
    return value


def _integer(value):
    if type(value) is not int:
        raise _Unplain
    return value


def _float(value):
    if type(value) not in (int, float) or not math.isfinite(value):
        raise _Unplain
    return float(value)


def _boolean(value):
    if type(value) is not bool:
        raise _Unplain
    return value


def _loader(name: str, field: fields.Field):
    """A function turning one present, non-null JSON value into its loaded value, or raising."""
    # A JSON integer loads as itself whether the Integer field is strict or not.
    plain = {fields.String: _string, fields.Email: _string, fields.Integer: _integer,
             fields.Float: _float, fields.Boolean: _boolean}.get(type(field))
    if plain is None:
        def through_field(value, data):
            return field.deserialize(value, name, data)
        return through_field
    validators = tuple(field.validators)

    def checked(value, data):
        value = plain(value)
        for validator in validators:
            if validator(value) is False:
                raise _Unplain
        return value
    return checked


def _load_plan(schema: Schema):
    """Per field: (name, loader, required, allow_none, load_default); None if not eligible."""
    if any(schema._hooks.values()) or schema.many:
        return None
    plan = []
    for name, field in schema.load_fields.items():
        if field.data_key is not None or field.attribute is not None:
            return None
        if isinstance(field, fields.Nested) and (field.many or not isinstance(field.schema, PlainSchema)):
            return None
        plan.append((name, _loader(name, field), field.required, field.allow_none, field.load_default))
    return tuple(plan)


def _iso(value):
    return value.isoformat()


def _dump_plan(schema: Schema):
    """Per field: (name, how to write a present value or None for the field's own serialize)."""
    if any(schema._hooks.values()) or schema.many:
        return None
    plan = []
    for name, field in schema.dump_fields.items():
        if field.data_key is not None or field.attribute is not None or field.dump_default is not missing:
            return None
        kind = type(field)
        if kind in (fields.String, fields.Integer, fields.Boolean) and not getattr(field, "as_string", False):
            plan.append((name, {fields.String: str, fields.Integer: int, fields.Boolean: bool}[kind], None))
        elif kind in (fields.DateTime, fields.AwareDateTime) and field.format in (None, "iso", "iso8601"):
            plan.append((name, datetime, _iso))
        else:
            plan.append((name, None, field))
    return tuple(plan)


class PlainSchema(Schema):
    """A marshmallow ``Schema`` whose ``load`` and ``dump`` shortcut plain, valid bodies."""

    def load(self, data, *, many=None, partial=None, unknown=None):
        plan = self.__dict__.get("_plain_load")
        if plan is None:
            plan = self.__dict__["_plain_load"] = _load_plan(self) or False
        if plan and not many and partial is None and (unknown or self.unknown) == RAISE and type(data) is dict:
            try:
                return self._load_plain(plan, data)
            except (_Unplain, ValidationError, ValueError, TypeError, ArithmeticError):
                pass  # the full load below names every problem
        return super().load(data, many=many, partial=partial, unknown=unknown)

    @staticmethod
    def _load_plain(plan, data: dict) -> dict:
        result = {}
        for name, loader, required, allow_none, default in plan:
            value = data.get(name, missing)
            if value is missing:
                if required:
                    raise _Unplain
                if default is not missing:
                    result[name] = default() if callable(default) else default
            elif value is None:
                if not allow_none:
                    raise _Unplain
                result[name] = None
            else:
                result[name] = loader(value, data)
        if not data.keys() <= result.keys():
            raise _Unplain  # an unknown key: the full load refuses it by name
        return result

    def dump(self, obj, *, many=None):
        plan = self.__dict__.get("_plain_dump")
        if plan is None:
            plan = self.__dict__["_plain_dump"] = _dump_plan(self) or False
        if not plan or many or type(obj) is not dict:
            return super().dump(obj, many=many)
        result = {}
        for name, kind, how in plan:
            if kind is None:  # the field's own way (it may not even read obj[name])
                value = how.serialize(name, obj)
            else:
                value = obj.get(name, missing)
                if value is None or value is missing or (type(value) is kind and how is None):
                    pass
                elif type(value) is kind:
                    value = how(value)
                else:
                    value = self.dump_fields[name].serialize(name, obj)
            if value is not missing:
                result[name] = value
        return result
