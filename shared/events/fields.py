"""Field helpers shared by the event schemas, so every type spells ids, times and enums alike."""
from marshmallow import fields, validate


def ref(description: str, required: bool = True, allow_none: bool = False) -> fields.String:
    """A reference to another aggregate: ``<entity>_id``."""
    return fields.String(required=required, allow_none=allow_none,
                         validate=validate.Length(min=1, max=64),
                         metadata={"description": description})


def time(description: str, required: bool = True, allow_none: bool = False) -> fields.AwareDateTime:
    """An RFC 3339 UTC time."""
    return fields.AwareDateTime(required=required, allow_none=allow_none,
                                metadata={"description": description, "format": "date-time"})


def day(description: str, required: bool = True, allow_none: bool = False) -> fields.Date:
    """A calendar date (YYYY-MM-DD)."""
    return fields.Date(required=required, allow_none=allow_none, metadata={"description": description})


def enum(values, description: str, required: bool = True, allow_none: bool = False) -> fields.String:
    """A lower-case word out of a fixed list."""
    values = list(values)
    return fields.String(required=required, allow_none=allow_none, validate=validate.OneOf(values),
                         metadata={"description": description, "enum": values})


def text(description: str, required: bool = True, allow_none: bool = False, max_length: int = 2000):
    """Free text."""
    return fields.String(required=required, allow_none=allow_none,
                         validate=validate.Length(max=max_length), metadata={"description": description})


def number(description: str, required: bool = True, allow_none: bool = False):
    """A JSON number."""
    return fields.Float(required=required, allow_none=allow_none, metadata={"description": description})


def integer(description: str, required: bool = True, allow_none: bool = False):
    """A JSON integer."""
    return fields.Integer(required=required, allow_none=allow_none, metadata={"description": description})


def money(description: str, required: bool = True):
    """An amount in CNY as a decimal string with two places ("2000.00"), exact for subscribers."""
    return fields.Decimal(required=required, places=2, as_string=True,
                          metadata={"description": description + " (CNY, decimal string)",
                                    "type": "string", "pattern": r"^-?[0-9]+\.[0-9]{2}$"})
