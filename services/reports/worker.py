"""Reports worker: its own consumer group over every lsq.* topic a report reads (from HANDLERS)."""
from services.reports.handlers import HANDLERS
from shared.worker import Worker


def main() -> None:
    Worker("reports", handlers=HANDLERS).run()


if __name__ == "__main__":
    main()
