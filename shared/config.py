"""Configuration from the environment, one place for every service.

Defaults are the embedded ones (SQLite files and a local broker under ``var/``) so that a fresh
checkout runs with nothing to configure.
"""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

#: Default HTTP port of each service (ARCHITECTURE.md, "Processes and ports").
SERVICE_PORTS: dict[str, int] = {
    "portal": 8100,
    "feedback": 8101,
    "evaluation": 8102,
    "training": 8103,
    "incentive": 8104,
    "directory": 8105,
    "reports": 8106,
    "notify": 8107,
}

REPO_ROOT = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    """Where logs, data and generated secrets live (``LSQ_VAR_DIR``, default ``./var``)."""
    path = Path(os.environ.get("LSQ_VAR_DIR", REPO_ROOT / "var"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def _env(service: str, name: str, default: str | None = None) -> str | None:
    """``LSQ_<SERVICE>_<NAME>`` wins over ``LSQ_<NAME>`` and ``<NAME>``, so one service can be pointed
    elsewhere (``LSQ_JWT_PUBLIC_KEY`` as the README names it, ``DATABASE_URL`` as deployments do)."""
    return (os.environ.get(f"LSQ_{service.upper()}_{name}") or os.environ.get(f"LSQ_{name}")
            or os.environ.get(name) or default)


def service_port(service: str) -> int:
    """The service's HTTP port: ``LSQ_<SERVICE>_PORT`` or the default of the table above."""
    return int(os.environ.get(f"LSQ_{service.upper()}_PORT") or SERVICE_PORTS.get(service, 8199))


def database_url(service: str) -> str:
    """The service's own database.

    ``DATABASE_URL`` may hold ``{service}`` (``postgresql+psycopg://u@h/lsq_{service}``) so that one
    setting gives every service its own database; the default is a SQLite file under ``var/data``.
    """
    url = _env(service, "DATABASE_URL")
    if url:
        return url.replace("{service}", service)
    data = var_dir() / "data"
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / (service + '.db')}"


def generated_secret(variable: str, file_name: str) -> str:
    """The secret in ``variable``, else one generated once into ``var/<file_name>`` (only the owner reads it)."""
    secret = os.environ.get(variable)
    if secret:
        return secret
    path = var_dir() / file_name
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def jwt_secret() -> str:
    """HS256 secret: ``LSQ_JWT_SECRET``, else one generated once into ``var/jwt-secret``."""
    return generated_secret("LSQ_JWT_SECRET", "jwt-secret")


@dataclass
class Settings:
    """Everything a service process needs to know about its surroundings."""

    service: str
    database_url: str
    kafka_bootstrap: str
    port: int
    jwt_secret: str | None
    jwt_public_key: str | None
    jwt_issuer: str | None
    relay_doorbell_port: int
    outbox_poll_seconds: float
    consumer_group_prefix: str
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, service: str, **overrides) -> "Settings":
        """Read the settings of ``service`` from the environment; keyword overrides win."""
        port = service_port(service)
        public_key = _env(service, "JWT_PUBLIC_KEY")
        key_file = _env(service, "JWT_PUBLIC_KEY_FILE")
        if key_file and not public_key:
            public_key = Path(key_file).read_text()
        values = dict(
            service=service,
            database_url=database_url(service),
            kafka_bootstrap=_env(service, "KAFKA_BOOTSTRAP", "127.0.0.1:9092"),
            port=port,
            jwt_secret=None if public_key else jwt_secret(),
            jwt_public_key=public_key,
            jwt_issuer=_env(service, "JWT_ISSUER"),
            relay_doorbell_port=int(_env(service, "RELAY_DOORBELL_PORT", str(port + 1000))),
            outbox_poll_seconds=float(_env(service, "OUTBOX_POLL_SECONDS", "0.5")),
            consumer_group_prefix=_env(service, "CONSUMER_GROUP_PREFIX", "lsq"),
        )
        values.update(overrides)
        return cls(**values)
