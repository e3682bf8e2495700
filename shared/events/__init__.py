"""The event contract: every event type of LSQ, its schema, and the CloudEvents envelope.

Importing this package loads every entity module in it, so the registry is always complete.
"""
import importlib
import pkgutil

from shared.events.registry import (  # noqa: F401
    REGISTRY, Cause, EventData, EventType, InvalidEventData, UnknownEventType, define, get,
    topics, topics_of_service,
)

for _module in pkgutil.iter_modules(__path__):
    if _module.name not in ("registry", "envelope", "asyncapi", "fields", "jsonschema"):
        importlib.import_module(f"{__name__}.{_module.name}")
