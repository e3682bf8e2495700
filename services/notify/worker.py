"""Notify worker: relays its outbox, turns events into messages, and sends what is due."""
from services.notify import service
from services.notify.delivery import Sender
from services.notify.handlers import make_handlers
from services.notify.settings import NotifySettings
from shared.worker import PeriodicJob, Worker


def build_worker(notify_settings: NotifySettings | None = None, **worker_args) -> Worker:
    """The worker with its consumer, relay and the sending job (tests pass their settings)."""
    settings = notify_settings or NotifySettings.from_env()
    worker = Worker("notify", handlers=make_handlers(settings), **worker_args)
    senders = {}

    def send(db):
        if "sender" not in senders:
            service.seed_default_rules(db)
            senders["sender"] = Sender(db, settings, worker.settings)
        return senders["sender"].send_due()

    worker.periodic.append(PeriodicJob("send-notifications", settings.send_seconds, send))
    return worker


def main() -> None:
    build_worker().run()


if __name__ == "__main__":
    main()
