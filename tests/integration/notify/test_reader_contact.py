"""A reader's contact stays in feedback: at send time the notify sender asks the real feedback
API (served over HTTP here) with a service token and a purpose; feedback records the access; an
erased contact gets nothing; notify's tables never hold the address."""
import threading
from dataclasses import replace

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from services.feedback import store as feedback_store
from services.notify import store
from services.notify.delivery import Sender
from shared.directory_view import known_branches, known_service_points, known_staff
from shared.timeutil import rfc3339, utcnow
from tests.helpers import make_app, settings_for
from tests.integration.notify.conftest import BRANCH, STAFF, make_event

pytestmark = pytest.mark.integration


@pytest.fixture
def feedback(tmp_path):
    app = make_app("feedback", f"sqlite:///{tmp_path / 'feedback.db'}")
    db = app.extensions["lsq"].db
    with db.transaction() as conn:
        conn.execute(known_branches.insert().values(branch_id=BRANCH, code="NT1", name_zh="中心馆", name_en="Central"))
        conn.execute(known_service_points.insert().values(service_point_id="desk-n", branch_id=BRANCH,
                                                          name_zh="总服务台", name_en="Main desk"))
        conn.execute(known_staff.insert().values(staff_id=STAFF, name="王芳", role="staff", branch_id=BRANCH,
                                                 status="active", updated_at=utcnow()))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    db.dispose()


def _file(feedback, email):
    response = feedback.test_client().post("/complaints", json={
        "branch_id": BRANCH, "service_point_id": "desk-n", "staff_id": STAFF, "category": "attitude",
        "severity": "normal", "channel": "web", "description": "服务态度差",
        "contact": {"name": "李雷", "email": email}})
    assert response.status_code == 201, response.json
    return response.json


def _resolved(complaint_id):
    now = utcnow()
    return make_event("lsq.complaint.resolved.v1", {
        "complaint_id": complaint_id, "branch_id": BRANCH, "staff_id": STAFF, "category": "attitude",
        "severity": "normal", "outcome": "substantiated", "filed_at": rfc3339(now), "resolved_at": rfc3339(now),
        "handler_id": None})


def test_resolved_complaint_mails_the_reader_the_rating_link_and_feedback_records_it(notify, mail, feedback,
                                                                                       database_url):
    sender = Sender(notify.db, replace(notify.settings, feedback_url=feedback.url), settings_for("notify", database_url))
    filed = _file(feedback, "li.lei@example.cn")
    notify.apply(_resolved(filed["id"]))
    assert sender.send_due() == 1, notify.messages()
    [message] = mail.messages()
    assert message["To"] == "li.lei@example.cn"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "http://portal.example/track" in text and "中心馆" in text
    fdb = feedback.extensions["lsq"].db
    with fdb.read() as conn:
        [access] = conn.execute(select(feedback_store.contact_access)).mappings().all()
    assert access["complaint_id"] == filed["id"] and access["accessed_by"] == "notify" and access["found"]
    assert access["purpose"] == "notify: lsq.complaint.resolved.v1"
    with notify.db.read() as conn:  # the address is nowhere in notify's database
        rows = [str(dict(r)) for r in conn.execute(select(store.messages)).mappings()]
    assert rows and not any("li.lei" in r for r in rows)


def test_an_erased_contact_gets_nothing(notify, mail, feedback, database_url):
    sender = Sender(notify.db, replace(notify.settings, feedback_url=feedback.url), settings_for("notify", database_url))
    filed = _file(feedback, "erase.me@example.cn")
    assert feedback.test_client().delete(f"/complaints/track/{filed['tracking_code']}/contact").status_code == 200
    notify.apply(_resolved(filed["id"]))
    assert sender.send_due() == 0
    [email] = notify.messages(channel="email")
    assert email["status"] == "skipped" and "erased" in email["last_error"]
    assert mail.messages() == []


def test_feedback_down_is_retried_not_dropped(notify, mail, feedback, database_url):
    sender = Sender(notify.db, replace(notify.settings, feedback_url="http://127.0.0.1:9"),
                    settings_for("notify", database_url))
    filed = _file(feedback, "later@example.cn")
    notify.apply(_resolved(filed["id"]))
    assert sender.send_due() == 0
    [email] = notify.messages(channel="email")
    assert email["status"] == "pending" and email["attempts"] == 1
    working = Sender(notify.db, replace(notify.settings, feedback_url=feedback.url), settings_for("notify", database_url))
    assert working.send_due(email["next_attempt_at"]) == 1
    assert [m["To"] for m in mail.messages()] == ["later@example.cn"]
