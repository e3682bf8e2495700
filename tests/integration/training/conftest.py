"""Fixtures of the training tests: the app on SQLite and PostgreSQL, and events fed to its handlers."""
import uuid
from datetime import datetime, timedelta

import pytest

from services.training.handlers import HANDLERS
from shared.consumer import ConsumerRunner
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.web import db as current_db
from shared.timeutil import local_today, utcnow
from tests.helpers import make_app


@pytest.fixture
def app(database_url):
    return make_app("training", database_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def db(app):
    with app.app_context():
        yield current_db()


def make_event(event_type: str, data: dict, source: str | None = None, when: datetime | None = None) -> Event:
    """An incoming event as the consumer runner hands it to a handler (data loaded by its schema)."""
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    return Event(id=str(uuid.uuid4()), type=event_type, source=source or kind.source,
                 subject=kind.subject_of(plain), time=when or utcnow(), data=kind.load(plain),
                 key=kind.key_of(plain), topic=kind.topic)


@pytest.fixture
def feed(db):
    """Apply events through the real runner (inbox included), without Kafka."""
    runner = ConsumerRunner(db, "127.0.0.1:1", "lsq.training", HANDLERS)

    def apply(*events: Event) -> list[str]:
        return runner.apply_batch(list(events))
    return apply


@pytest.fixture
def directory(feed):
    """Make branches and staff known to the service, as the directory's events would."""
    class Directory:
        def branch(self, code="CEN", name_zh="中心馆", name_en="Central Library") -> str:
            branch_id = str(uuid.uuid4())
            feed(make_event("lsq.branch.opened.v1", {"branch_id": branch_id, "code": code, "name_zh": name_zh,
                                                     "name_en": name_en}))
            return branch_id

        def staff(self, branch_id, role="staff", name="王芳", hire_date=None, staff_id=None):
            staff_id = staff_id or str(uuid.uuid4())
            event = make_event("lsq.staff.joined.v1", {
                "staff_id": staff_id, "employee_number": f"E{uuid.uuid4().hex[:6]}", "name": name, "role": role,
                "branch_id": branch_id, "hire_date": hire_date or local_today() - timedelta(days=400)})
            feed(event)
            return staff_id
    return Directory()
