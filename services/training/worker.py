"""Training worker: the outbox relay, the directory and evaluation consumers, the overdue sweep."""
import os

from services.training import service
from services.training.handlers import HANDLERS
from shared.worker import PeriodicJob, Worker


def main() -> None:
    every = float(os.environ.get("LSQ_TRAINING_SWEEP_SECONDS", "60"))
    Worker("training", handlers=HANDLERS,
           periodic=[PeriodicJob("requirement-sweep", every, service.sweep)]).run()


if __name__ == "__main__":
    main()
