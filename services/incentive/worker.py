"""Incentive worker: the outbox relay, the consumer of evaluation, feedback, training, directory and
its own command events, and two sweeps (training escalations, period settlement)."""
from __future__ import annotations

import os

from services.incentive import service
from services.incentive.handlers import HANDLERS
from services.incentive.runner import IncentiveRunner
from shared.worker import PeriodicJob, Worker


def build_worker() -> Worker:
    """The worker with its handlers and sweeps (separate from ``main`` for tests and benchmarks)."""
    holder: dict = {}

    def group() -> str:
        return holder["worker"].group

    grace = int(os.environ.get("LSQ_INCENTIVE_SETTLE_GRACE_DAYS", "7"))
    worker = IncentiveWorker("incentive", handlers=HANDLERS, periodic=[
        PeriodicJob("escalations", 300, lambda db: service.escalate_due(db)),
        PeriodicJob("settlement", 3600, lambda db: service.settle_due(db, group(), grace_days=grace)),
    ])
    holder["worker"] = worker
    return worker


class IncentiveWorker(Worker):
    """The shared worker with the incentive consumer (one unit of work per batch)."""

    def build(self) -> None:
        super().build()
        s = self.settings
        self.consumer = IncentiveRunner(self.db, s.kafka_bootstrap, self.group, self.handlers)


def main() -> None:
    build_worker().run()


if __name__ == "__main__":
    main()
