"""Reports worker: its own consumer group over every lsq.* topic a report reads (from HANDLERS),
applying each poll through ``ReportsRunner`` (the batch's read-model writes in one go)."""
from __future__ import annotations

from services.reports.handlers import HANDLERS
from services.reports.runner import ReportsRunner
from shared.worker import Worker


class ReportsWorker(Worker):
    """The shared worker with the reports consumer (one ``store.Batch`` per poll)."""

    def build(self) -> None:
        super().build()
        s = self.settings
        self.consumer = ReportsRunner(self.db, s.kafka_bootstrap, self.group, self.handlers)


def build_worker() -> ReportsWorker:
    """The worker (separate from ``main`` for tests and benchmarks)."""
    return ReportsWorker("reports", handlers=HANDLERS)


def main() -> None:
    build_worker().run()


if __name__ == "__main__":
    main()
