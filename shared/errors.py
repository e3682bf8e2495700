"""Domain errors with bilingual messages; the web layer turns them into the one JSON error format.

Use cases raise these; they never know about HTTP beyond the status each one stands for.
"""
from __future__ import annotations


class DomainError(Exception):
    """A request the domain refuses. ``field`` names the input in error, when there is one."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, message_zh: str | None = None, *, field: str | None = None,
                 code: str | None = None, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.message_zh = message_zh or message
        self.field = field
        if code:
            self.code = code
        self.details = details or {}


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Invalid(DomainError):
    """Well-formed input that breaks a rule (unknown reference, inconsistent values): 422."""

    status = 422
    code = "validation_failed"


class TooManyRequests(DomainError):
    status = 429
    code = "rate_limited"


def not_found(what: str, what_zh: str, ident) -> NotFound:
    """The usual 404: ``complaint 42 not found`` / ``未找到投诉 42``."""
    return NotFound(f"{what} {ident} not found", f"未找到{what_zh} {ident}", code=f"{what.replace(' ', '_')}_not_found")
