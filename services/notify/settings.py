"""Notify's own settings, read from the environment (``LSQ_NOTIFY_<NAME>`` wins over ``LSQ_<NAME>``).

SMTP: ``LSQ_SMTP_HOST`` (127.0.0.1), ``LSQ_SMTP_PORT`` (8025, the local mail server of ``make up``),
``LSQ_SMTP_USER``, ``LSQ_SMTP_PASSWORD``, ``LSQ_SMTP_STARTTLS`` (0), ``LSQ_SMTP_FROM``,
``LSQ_SMTP_TIMEOUT`` (10 s). Delivery: ``LSQ_NOTIFY_MAX_ATTEMPTS`` (8), ``LSQ_NOTIFY_BACKOFF_SECONDS``
(30, doubled each failure, at most ``LSQ_NOTIFY_BACKOFF_CAP_SECONDS`` 3600),
``LSQ_NOTIFY_RATE_PER_HOUR`` (30 e-mails or chat messages per recipient and hour),
``LSQ_NOTIFY_SEND_SECONDS`` (0.5: how often the worker looks for messages due),
``LSQ_NOTIFY_ALLOW_LOOPBACK_WEBHOOKS`` (0: robots must be https; 1 allows http://127.0.0.1 for tests and
demos). Other services: ``LSQ_NOTIFY_FEEDBACK_URL``, ``LSQ_NOTIFY_DIRECTORY_URL`` (their local ports),
``LSQ_PORTAL_PUBLIC_URL`` (links in messages, default http://localhost:8100).
"""
from __future__ import annotations

from dataclasses import dataclass

from shared.config import _env, service_port


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


@dataclass(frozen=True)
class NotifySettings:
    """How notify reaches the mail server, the robots and the other services."""

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 8025
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_from: str = "LSQ 服务质量 <lsq-notify@localhost>"
    smtp_timeout: float = 10.0
    max_attempts: int = 8
    backoff_seconds: float = 30.0
    backoff_cap_seconds: float = 3600.0
    rate_per_hour: int = 30
    send_seconds: float = 0.5
    allow_loopback_webhooks: bool = False
    feedback_url: str = "http://127.0.0.1:8101"
    directory_url: str = "http://127.0.0.1:8105"
    portal_url: str = "http://localhost:8100"

    @classmethod
    def from_env(cls, **overrides) -> "NotifySettings":
        """Read the environment; keyword overrides win (tests)."""
        e = lambda name, default=None: _env("notify", name, default)  # noqa: E731
        values = dict(
            smtp_host=e("SMTP_HOST", cls.smtp_host), smtp_port=int(e("SMTP_PORT", str(cls.smtp_port))),
            smtp_user=e("SMTP_USER"), smtp_password=e("SMTP_PASSWORD"), smtp_starttls=_flag(e("SMTP_STARTTLS")),
            smtp_from=e("SMTP_FROM", cls.smtp_from), smtp_timeout=float(e("SMTP_TIMEOUT", "10")),
            max_attempts=int(e("MAX_ATTEMPTS", "8")), backoff_seconds=float(e("BACKOFF_SECONDS", "30")),
            backoff_cap_seconds=float(e("BACKOFF_CAP_SECONDS", "3600")),
            rate_per_hour=int(e("RATE_PER_HOUR", "30")), send_seconds=float(e("SEND_SECONDS", "0.5")),
            allow_loopback_webhooks=_flag(e("ALLOW_LOOPBACK_WEBHOOKS")),
            feedback_url=e("FEEDBACK_URL", f"http://127.0.0.1:{service_port('feedback')}"),
            directory_url=e("DIRECTORY_URL", f"http://127.0.0.1:{service_port('directory')}"),
            portal_url=(e("PORTAL_PUBLIC_URL", cls.portal_url) or cls.portal_url).rstrip("/"),
        )
        values.update(overrides)
        return cls(**values)
