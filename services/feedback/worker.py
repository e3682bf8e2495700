"""Feedback worker: outbox relay, directory read model, SLA sweep, survey closing, contact purge."""
import os

from services.feedback import service, surveys
from services.feedback.handlers import HANDLERS
from shared.worker import PeriodicJob, Worker

#: How often the SLA sweep runs (``LSQ_FEEDBACK_SLA_SWEEP_SECONDS``): at-risk and breach events
#: are at most this late. The sweep reads only complaints whose next due time has passed (indexed).
SLA_SWEEP_SECONDS = float(os.environ.get("LSQ_FEEDBACK_SLA_SWEEP_SECONDS", "30"))
HOUSEKEEPING_SECONDS = 3600


def housekeeping(db) -> None:
    """Close resolved complaints past the reopening window, then purge old contact details."""
    service.auto_close(db)
    service.purge_contacts(db)


def build_worker(**kwargs) -> Worker:
    """The worker with its handlers and periodic jobs (tests build it with their own settings)."""
    return Worker("feedback", handlers=HANDLERS, periodic=[
        PeriodicJob("sla-sweep", SLA_SWEEP_SECONDS, service.sla_sweep),
        PeriodicJob("survey-close", SLA_SWEEP_SECONDS, surveys.close_due_surveys),
        PeriodicJob("housekeeping", HOUSEKEEPING_SECONDS, housekeeping),
    ], **kwargs)


def main() -> None:
    build_worker().run()


if __name__ == "__main__":
    main()
