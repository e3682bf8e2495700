"""The portal's surroundings: where each service answers, its session secret, its cookies."""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from shared.config import SERVICE_PORTS, _env, generated_secret

#: The services whose APIs the portal calls, and the word a person reads when one is down.
SERVICES = ("directory", "feedback", "evaluation", "training", "incentive", "notify", "reports")


@dataclass
class PortalSettings:
    """Everything the portal process needs to know."""

    service_urls: dict = field(default_factory=dict)
    secret_key: str = ""
    secure_cookies: bool = True
    timeout_seconds: float = 10.0
    public_url: str = ""

    @classmethod
    def from_env(cls, **overrides) -> "PortalSettings":
        """``LSQ_PORTAL_<SERVICE>_URL`` (default ``http://127.0.0.1:<port>``) for each service,
        ``LSQ_PORTAL_SECRET_KEY``, ``LSQ_PORTAL_SECURE_COOKIES`` (default 1), ``LSQ_PORTAL_TIMEOUT``,
        ``LSQ_PORTAL_PUBLIC_URL`` (the address printed in desk QR codes)."""
        urls = {}
        for service in SERVICES:
            port = os.environ.get(f"LSQ_{service.upper()}_PORT") or SERVICE_PORTS[service]
            urls[service] = (os.environ.get(f"LSQ_PORTAL_{service.upper()}_URL")
                             or f"http://127.0.0.1:{port}").rstrip("/")
        values = dict(
            service_urls=urls,
            secret_key=overrides.pop("secret_key", None) or generated_secret("LSQ_PORTAL_SECRET_KEY", "portal-secret"),
            secure_cookies=_env("portal", "SECURE_COOKIES", "1") not in ("0", "false", "no"),
            timeout_seconds=float(_env("portal", "TIMEOUT", "10")),
            public_url=(_env("portal", "PUBLIC_URL", "") or "").rstrip("/"),
        )
        values.update(overrides)
        return cls(**values)
