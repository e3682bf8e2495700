"""A complaint put to wait on the reader publishes lsq.complaint.waiting_on_reader.v1 (on SQLite and
PostgreSQL), with no contact data: notify asks feedback for the reader's address at send time."""
import pytest

from shared import outbox
from tests.integration.feedback.conftest import MANAGER_1
from tests.integration.feedback.test_complaints import _act, _file

pytestmark = pytest.mark.integration


def _events(db, subject, event_type):
    with db.read() as conn:
        return outbox.events_for(conn, subject=subject, event_type=event_type)


def test_each_wait_on_the_reader_is_published_without_contact_data(client, db):
    filed = _file(client)
    cid = filed["id"]
    _act(client, cid, "acknowledge", {"handler_id": MANAGER_1})
    _act(client, cid, "investigate")
    assert _events(db, cid, "lsq.complaint.waiting_on_reader.v1") == []
    waiting = _act(client, cid, "wait", {"note": "请问您是哪天来馆的？"})
    assert waiting.status_code == 200, waiting.json
    [event] = _events(db, cid, "lsq.complaint.waiting_on_reader.v1")
    assert event.data["complaint_id"] == cid and event.data["handler_id"] == MANAGER_1
    assert event.data["branch_id"] == filed["branch_id"]
    published = repr(event.data)
    assert "wang@example.cn" not in published and "138" not in published and "请问" not in published
    # a second wait after the reader answered is a second event; a refused one is none
    assert _act(client, cid, "wait").status_code == 409  # already waiting
    _act(client, cid, "investigate")
    _act(client, cid, "wait")
    assert len(_events(db, cid, "lsq.complaint.waiting_on_reader.v1")) == 2
