"""Fixtures of the evaluation tests: the app on both databases and a way to feed it events."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from services.evaluation.handlers import HANDLERS
from shared.consumer import ConsumerRunner
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import local_today, rfc3339, utcnow
from tests.helpers import auth, make_app

SOURCES = {"directory": "/lsq/directory", "feedback": "/lsq/feedback"}


def make_event(event_type: str, data: dict) -> Event:
    """An event as the consumer runner hands it to handlers (data loaded by its schema)."""
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    return Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                 time=utcnow(), data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)


class Network:
    """Feeds directory and feedback events to the evaluation service's handlers."""

    def __init__(self, app):
        self.app = app
        self.db = app.extensions["lsq"].db
        self.runner = ConsumerRunner(self.db, "127.0.0.1:1", "lsq.evaluation", HANDLERS)

    def apply(self, *events: Event) -> list[str]:
        return self.runner.apply_batch(list(events))

    def branch(self, code: str) -> str:
        branch_id = f"br-{code.lower()}-{uuid.uuid4().hex[:6]}"
        self.apply(make_event("lsq.branch.opened.v1", {"branch_id": branch_id, "code": code, "name_zh": f"{code}分馆",
                                                       "name_en": f"{code} branch"}))
        return branch_id

    def staff(self, branch_id: str, n: int, role: str = "staff", prefix: str = "s") -> list[str]:
        ids = [f"{prefix}{i}-{uuid.uuid4().hex[:6]}" for i in range(n)]
        self.apply(*[make_event("lsq.staff.joined.v1", {
            "staff_id": s, "employee_number": s[:30], "name": f"员工{s[:6]}", "role": role, "branch_id": branch_id,
            "hire_date": "2020-01-01"}) for s in ids])
        return ids

    def rating(self, staff_id: str, branch_id: str, stars: int, when) -> Event:
        return make_event("lsq.rating.submitted.v1", {
            "rating_id": str(uuid.uuid4()), "branch_id": branch_id, "service_point_id": "sp-1", "staff_id": staff_id,
            "stars": stars, "submitted_at": rfc3339(when)})

    def praise(self, staff_id: str, branch_id: str, when, praise_id: str | None = None) -> Event:
        return make_event("lsq.praise.received.v1", {"praise_id": praise_id or str(uuid.uuid4()),
                                                     "branch_id": branch_id, "staff_id": staff_id,
                                                     "received_at": rfc3339(when)})

    def praise_rejected(self, praise_id: str, staff_id: str, branch_id: str, when) -> Event:
        return make_event("lsq.praise.rejected.v1", {"praise_id": praise_id, "branch_id": branch_id,
                                                     "staff_id": staff_id, "reason": "spam",
                                                     "rejected_at": rfc3339(when)})

    def complaint(self, staff_id: str, branch_id: str, when, outcome="substantiated", severity="high",
                  complaint_id: str | None = None) -> Event:
        return make_event("lsq.complaint.resolved.v1", {
            "complaint_id": complaint_id or str(uuid.uuid4()), "branch_id": branch_id, "staff_id": staff_id,
            "category": "attitude", "severity": severity, "outcome": outcome,
            "filed_at": rfc3339(when - timedelta(days=1)), "resolved_at": rfc3339(when)})


@pytest.fixture
def app(database_url):
    app = make_app("evaluation", database_url)
    yield app
    app.extensions["lsq"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def network(app):
    return Network(app)


ADMIN = auth("network_admin", staff_id=None)  # test tokens are valid whatever the clock


def cycle_body(**extra) -> dict:
    """A cycle whose period covers the last 60 local days and whose deadline is a day from now.

    "Today" is the network's local day at the test clock (``shared.timeutil.local_today``), not
    the machine's ``date.today()``: at 00:30 on 1 March 2028 in Shanghai it is still 29 February
    in UTC.
    """
    today = local_today()
    body = {"period": "T-RUN", "period_start": str(today - timedelta(days=60)), "period_end": str(today + timedelta(days=1)),
            "scope": "network", "submission_deadline": rfc3339(utcnow() + timedelta(days=1))}
    body.update(extra)
    return body
