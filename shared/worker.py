"""The worker process of a service: its outbox relay, its Kafka consumers, its periodic jobs.

``python -m services.<name>.worker`` builds a ``Worker`` and calls ``run``. SIGTERM (or Ctrl-C)
stops polling, lets the current batch finish and commit, and closes the clients.
"""
from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from typing import Callable

from shared import bus, events, logs, runtime
from shared.config import Settings
from shared.consumer import ConsumerRunner
from shared.db import Database
from shared.relay import OutboxRelay

log = logging.getLogger(__name__)


@dataclass
class PeriodicJob:
    """A job the worker runs every ``every_seconds`` (SLA sweeps, overdue checks, lapses)."""

    name: str
    every_seconds: float
    run: Callable[[Database], object]


@dataclass
class Worker:
    """Everything one service's worker process runs."""

    service: str
    handlers: dict = field(default_factory=dict)  # event type → handler(conn, event)
    periodic: list[PeriodicJob] = field(default_factory=list)
    settings: Settings | None = None
    group: str | None = None

    def __post_init__(self):
        self.settings = self.settings or Settings.from_env(self.service)
        self.group = self.group or f"{self.settings.consumer_group_prefix}.{self.service}"
        self.stop = threading.Event()
        self.db: Database | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: ConsumerRunner | None = None

    def build(self) -> None:
        """Open the database (migrated), create topics, and build relay and consumer."""
        s = self.settings
        self.db = Database(s.database_url, self.service)
        self.db.migrate()
        self.db.checkpoint_in_background()
        wanted = events.topics_of_service(self.service)
        if self.handlers:
            wanted += [events.get(t).topic for t in self.handlers]
        try:
            bus.ensure_topics(s.kafka_bootstrap, sorted(set(wanted)))
        except Exception as exc:  # noqa: BLE001 - Kafka may be down at start; the relay retries
            log.warning("could not ensure topics (Kafka down?): %s", exc)
        self.relay = OutboxRelay(self.db, s.kafka_bootstrap, doorbell_port=s.relay_doorbell_port,
                                 poll_seconds=s.outbox_poll_seconds)
        if self.handlers:
            self.consumer = ConsumerRunner(self.db, s.kafka_bootstrap, self.group, self.handlers)

    def run(self) -> None:
        """Run until SIGTERM/SIGINT."""
        logs.configure(f"{self.service}-worker")
        self.build()
        runtime.tune_garbage_collector()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self.shutdown())
        self._serve_metrics()
        threads = [threading.Thread(target=self.relay.run, name="relay", daemon=True)]
        for job in self.periodic:
            threads.append(threading.Thread(target=self._loop, args=(job,), name=job.name, daemon=True))
        for thread in threads:
            thread.start()
        log.info("worker started", extra={"fields": {"group": self.group}})
        if self.consumer:
            while not self.stop.is_set():
                try:
                    self.consumer.run()
                except Exception as exc:  # noqa: BLE001 - Kafka down at start: try again
                    log.warning("consumer stopped (%s); restarting in 2s", exc)
                    self.stop.wait(2)
        else:
            self.stop.wait()
        for thread in threads:
            thread.join(timeout=15)
        self.db.dispose()
        log.info("worker stopped")

    def shutdown(self) -> None:
        """Ask every loop to finish what it is doing and stop."""
        self.stop.set()
        self.relay.stop.set()
        if self.consumer:
            self.consumer.stop.set()

    def _loop(self, job: PeriodicJob) -> None:
        while not self.stop.is_set():
            try:
                job.run(self.db)
            except Exception:  # noqa: BLE001 - a failing job must not kill the worker
                log.exception("periodic job %s failed", job.name)
            self.stop.wait(job.every_seconds)

    def _serve_metrics(self) -> None:
        from prometheus_client import start_http_server
        port = self.settings.port + 1100
        try:
            start_http_server(port, addr="127.0.0.1")
        except OSError:
            log.info("worker metrics port %s busy; another worker of %s serves it", port, self.service)
