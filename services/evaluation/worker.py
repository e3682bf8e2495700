"""Evaluation worker: relays the outbox, consumes staff, branch and reader-feedback events, and
reminds raters who have not finished a few days before a cycle's deadline."""
import os

from services.evaluation import service
from services.evaluation.handlers import HANDLERS
from shared.worker import PeriodicJob, Worker


def main() -> None:
    every = float(os.environ.get("LSQ_EVALUATION_REMINDER_SECONDS", "300"))
    Worker("evaluation", handlers=HANDLERS,
           periodic=[PeriodicJob("deadline-reminders", every, service.remind_deadlines)]).run()


if __name__ == "__main__":
    main()
