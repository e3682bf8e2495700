"""The orjson response provider writes what Flask's own provider writes."""
import dataclasses
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from shared.web import FastJSONProvider


@dataclasses.dataclass
class Point:
    x: int
    label: str


VALUES = [
    {"b": 1, "a": [1.5, 2, None, True], "中文": "读者满意度 ✓", "nested": {"z": 0.1, "y": 1e-05}},
    {"when": datetime(2026, 11, 29, 8, 30, tzinfo=timezone.utc), "day": date(2026, 11, 29),
     "amount": Decimal("2000.00"), "id": uuid.UUID(int=7), "point": Point(1, "desk")},
    {1: "int key", 3: "another"},
    [{"big": 2 ** 70}],
    "plain text",
]


def _bodies(value):
    app = Flask("json-test")
    fast, default = FastJSONProvider(app), DefaultJSONProvider(app)
    for provider in (fast, default):
        provider.ensure_ascii = False
    with app.app_context():
        return fast.response(value).get_data(as_text=True), default.response(value).get_data(as_text=True)


def test_same_json_as_flask():
    for value in VALUES:
        fast, default = _bodies(value)
        assert DefaultJSONProvider(Flask("x")).loads(fast) == DefaultJSONProvider(Flask("x")).loads(default)
        assert fast.endswith("\n") and default.endswith("\n")


def test_same_key_order_and_text_for_plain_values():
    fast, default = _bodies({"b": 1, "a": "二", "c": [1, 2, {"y": None, "x": False}]})
    assert fast == default
