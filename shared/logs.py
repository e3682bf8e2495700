"""JSON logs, one object a line, carrying the request id and the event id being handled."""
from __future__ import annotations

import contextvars
import json
import logging
import os
import sys

from shared.timeutil import rfc3339, utcnow

request_id = contextvars.ContextVar("request_id", default=None)
event_id = contextvars.ContextVar("event_id", default=None)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object."""

    def __init__(self, service: str):
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": rfc3339(utcnow()),
            "level": record.levelname.lower(),
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if request_id.get():
            entry["request_id"] = request_id.get()
        if event_id.get():
            entry["event_id"] = event_id.get()
        for key, value in getattr(record, "fields", {}).items():
            entry[key] = value
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(service: str) -> None:
    """Send this process's logs to stderr as JSON (level from ``LSQ_LOG_LEVEL``, default INFO)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(os.environ.get("LSQ_LOG_LEVEL", "INFO").upper())
    # kafka-python is chatty at INFO about every connection.
    logging.getLogger("kafka").setLevel(logging.WARNING)
