"""The directory's own settings, read from the environment once, when the app is made.

``LSQ_DIRECTORY_INVITATION_DAYS`` (default 7): how long an invitation to set a password works.
``LSQ_DIRECTORY_SESSION_MINUTES`` (default 30): how long a sign-in token is valid.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

from services.directory.model import DEFAULT_INVITATION_DAYS, DEFAULT_SESSION_MINUTES


@dataclass(frozen=True)
class AccountSettings:
    """How long invitations and sign-in sessions last."""

    invitation_days: int = DEFAULT_INVITATION_DAYS
    session_minutes: int = DEFAULT_SESSION_MINUTES

    @classmethod
    def from_env(cls) -> "AccountSettings":
        """Read ``LSQ_DIRECTORY_INVITATION_DAYS`` and ``LSQ_DIRECTORY_SESSION_MINUTES``; a value that
        is not a whole number from 1 up stops the app from starting (rather than failing sign-ins)."""
        return cls(invitation_days=_whole_number("LSQ_DIRECTORY_INVITATION_DAYS", DEFAULT_INVITATION_DAYS),
                   session_minutes=_whole_number("LSQ_DIRECTORY_SESSION_MINUTES", DEFAULT_SESSION_MINUTES))


def _whole_number(name: str, default: int) -> int:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"{name} must be a whole number from 1 up, not {text!r}")
    return value
