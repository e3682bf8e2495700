"""Directory worker: relays the outbox (the directory consumes no events)."""
from shared.worker import Worker


def main() -> None:
    Worker("directory").run()


if __name__ == "__main__":
    main()
