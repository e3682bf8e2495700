"""Evaluation worker: relays the outbox and consumes staff, branch and reader-feedback events."""
from services.evaluation.handlers import HANDLERS
from shared.worker import Worker


def main() -> None:
    Worker("evaluation", handlers=HANDLERS).run()


if __name__ == "__main__":
    main()
