"""The whole system as real processes: Kafka and every service's web and worker processes.

Started once per session on free ports in a temporary ``var/`` (SQLite databases, the embedded
default), through the same supervisor as ``make up``; stopped at the end.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from shared.config import SERVICE_PORTS
from shared.devstack.ports import free_port
from tests.helpers import TEST_SECRET


@dataclass
class RunningSystem:
    bootstrap: str
    urls: dict[str, str]
    var: str
    services: list[str]

    def url(self, service: str, path: str = "") -> str:
        return self.urls[service] + path


@pytest.fixture(scope="session")
def system(tmp_path_factory):
    from shared.devstack.stack import Stack, discover_services
    var = tmp_path_factory.mktemp("e2e-var")
    saved = dict(os.environ)
    kafka_port = free_port()
    os.environ.update({"LSQ_VAR_DIR": str(var), "LSQ_JWT_SECRET": TEST_SECRET, "LSQ_KAFKA_HEAP": "512m",
                       "LSQ_OUTBOX_POLL_SECONDS": "0.2",
                       # Periodic jobs run often so the flow sees their effects within seconds.
                       "LSQ_TRAINING_SWEEP_SECONDS": "2", "LSQ_FEEDBACK_SLA_SWEEP_SECONDS": "2",
                       # The stack's own local mail server (var/mail), never a fixed port another stack holds.
                       "LSQ_SMTP_PORT": str(free_port())})
    os.environ.pop("LSQ_SMTP_HOST", None)
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP"):
        os.environ.pop(name, None)
    services = discover_services()
    for service in SERVICE_PORTS:
        os.environ[f"LSQ_{service.upper()}_PORT"] = str(free_port())
    controller_port = free_port()
    while controller_port == kafka_port:
        controller_port = free_port()
    stack = Stack(var, kafka_port=kafka_port, web_workers=1, kafka_controller_port=controller_port)
    lines = []
    try:
        ready = stack.up(services, say=lines.append)
        if not ready:
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-3000:]}" for p in sorted((var / "logs").glob("*.log")))
            pytest.fail("the system did not come up:\n" + "\n".join(lines) + "\n" + logs)
        yield RunningSystem(
            bootstrap=stack.bootstrap,
            urls={s: f"http://127.0.0.1:{os.environ[f'LSQ_{s.upper()}_PORT']}" for s in services},
            var=str(var), services=services)
    finally:
        stack.down(say=lambda _line: None)
        os.environ.clear()
        os.environ.update(saved)
