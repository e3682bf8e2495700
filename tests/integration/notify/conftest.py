"""Fixtures of the notify tests: the app on both databases, events fed to its handlers, a real
SMTP server on loopback (the one ``make up`` runs) and a real HTTP receiver for the robots."""
from __future__ import annotations

import json
import socket
import threading
import uuid
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from services.notify import store
from services.notify.delivery import Sender
from services.notify.handlers import make_handlers
from services.notify.mailbox import LocalMailServer
from services.notify.settings import NotifySettings
from shared.consumer import ConsumerRunner
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth, make_app, settings_for

ADMIN = auth("network_admin")
BRANCH, OTHER_BRANCH = "br-notify-1", "br-notify-2"
STAFF, MANAGER, HANDLER, ADMIN_STAFF = "st-wang", "st-manager", "st-handler", "st-office"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_event(event_type: str, data: dict, event_id: str | None = None) -> Event:
    """An event as the consumer runner hands it to handlers (data loaded by its schema)."""
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    return Event(id=event_id or str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                 time=utcnow(), data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)


def sanction(staff_id: str = STAFF, branch_id: str = BRANCH) -> Event:
    now = utcnow()
    return make_event("lsq.sanction.issued.v1", {
        "sanction_id": str(uuid.uuid4()), "staff_id": staff_id, "branch_id": branch_id, "level": "verbal_warning",
        "policy_version": 1, "reason_en": "substantiated complaint", "reason_zh": "投诉属实", "issued_at": rfc3339(now),
        "expires_at": rfc3339(now + timedelta(days=365)), "appeal_deadline": "2030-01-15T02:00:00Z"})


def complaint_filed(branch_id: str = BRANCH, complaint_id: str | None = None) -> Event:
    now = utcnow()
    return make_event("lsq.complaint.filed.v1", {
        "complaint_id": complaint_id or str(uuid.uuid4()), "branch_id": branch_id, "staff_id": STAFF,
        "category": "waiting", "severity": "urgent", "channel": "web", "filed_at": rfc3339(now),
        "acknowledge_due_at": "2030-01-01T02:00:00Z", "resolve_due_at": "2030-01-02T02:00:00Z"})


class Receiver:
    """A real HTTP server on loopback standing in for the robots (and the directory's staff
    lookup): records each request; answers with ``reply`` (status, body)."""

    def __init__(self):
        self.requests: list[dict] = []
        self.reply = (200, {"errcode": 0, "errmsg": "ok"})
        self.staff_emails: dict[str, str] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status, body):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - the directory's GET /staff/<id>
                staff_id = urlsplit(self.path).path.rsplit("/", 1)[-1]
                if staff_id in receiver.staff_emails:
                    self._answer(200, {"id": staff_id, "email": receiver.staff_emails[staff_id]})
                else:
                    self._answer(404, {"status": 404})

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                parts = urlsplit(self.path)
                receiver.requests.append({"path": parts.path, "query": parse_qs(parts.query),
                                          "json": json.loads(self.rfile.read(length) or b"null"),
                                          "content_type": self.headers.get("Content-Type")})
                self._answer(*receiver.reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


@pytest.fixture
def mail(tmp_path):
    server = LocalMailServer(tmp_path / "mail", free_port()).start()
    yield server
    server.stop()


@pytest.fixture
def notify_settings(mail, receiver):
    return NotifySettings(smtp_port=mail.port, backoff_seconds=0.2, backoff_cap_seconds=1.0, max_attempts=4,
                          allow_loopback_webhooks=True, directory_url=receiver.url, feedback_url=receiver.url,
                          portal_url="http://portal.example")


@pytest.fixture
def app(database_url, notify_settings):
    app = make_app("notify", database_url, NOTIFY=dict(allow_loopback_webhooks=True))
    yield app
    app.extensions["lsq"].db.dispose()


@pytest.fixture
def client(app):
    return app.test_client()


class Notify:
    """The notify service under test: its handlers fed by hand and its sender."""

    def __init__(self, app, settings: NotifySettings, database_url: str):
        self.app = app
        self.db = app.extensions["lsq"].db
        self.settings = settings
        self.runner = ConsumerRunner(self.db, "127.0.0.1:1", "lsq.notify", make_handlers(settings))
        self.sender = Sender(self.db, settings, settings_for("notify", database_url))

    def apply(self, *events: Event) -> list[str]:
        return self.runner.apply_batch(list(events))

    def seed_directory(self) -> None:
        self.apply(make_event("lsq.branch.opened.v1", {"branch_id": BRANCH, "code": "NT1", "name_zh": "中心馆",
                                                       "name_en": "Central Library"}),
                   make_event("lsq.branch.opened.v1", {"branch_id": OTHER_BRANCH, "code": "NT2", "name_zh": "东城分馆",
                                                       "name_en": "East Branch"}),
                   *[make_event("lsq.staff.joined.v1", {"staff_id": s, "employee_number": s, "name": name, "role": role,
                                                        "branch_id": branch, "hire_date": "2020-01-01"})
                     for s, name, role, branch in ((STAFF, "王芳", "staff", BRANCH),
                                                   (MANAGER, "李馆长", "branch_manager", BRANCH),
                                                   (HANDLER, "赵处理", "supervisor", BRANCH),
                                                   (ADMIN_STAFF, "网络办", "network_admin", BRANCH))])

    def messages(self, **where) -> list[dict]:
        m = store.messages
        query = select(m).order_by(m.c.created_at, m.c.id)
        for name, value in where.items():
            query = query.where(m.c[name] == value)
        with self.db.read() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def published(self, event_type: str) -> list[dict]:
        """Data of the events of ``event_type`` notify wrote to its outbox."""
        from shared.outbox import outbox
        with self.db.read() as conn:
            return [json.loads(r[0]) for r in conn.execute(select(outbox.c.data).where(outbox.c.type == event_type)
                                                           .order_by(outbox.c.position))]


@pytest.fixture
def notify(app, notify_settings, database_url):
    n = Notify(app, notify_settings, database_url)
    n.seed_directory()
    return n


def put_email(client, staff_id: str, email: str, **prefs) -> None:
    response = client.put(f"/preferences/{staff_id}", json={"email": email, **prefs}, headers=ADMIN)
    assert response.status_code == 200, response.json
