"""The portal against the real services: each service's app on a real HTTP port (a thread), on
its own SQLite database, and the portal's test client calling them through ``requests``.

Kafka is not running here (writes wait in each service's outbox): these tests are about pages;
the flows across services are the browser tests' (tests/e2e/test_portal_browser.py).
"""
from __future__ import annotations

import re
import threading
import time
import uuid

import pytest
import requests
from werkzeug.serving import make_server

from services.portal import create_app as create_portal
from shared.devstack.ports import free_port
from tests.helpers import auth, make_app, token

SERVICES = ("directory", "feedback", "evaluation", "training", "incentive", "notify", "reports")


class LiveServices:
    """The five services answering HTTP on free ports of 127.0.0.1."""

    def __init__(self, folder):
        self.urls, self.apps, self._servers = {}, {}, []
        for service in SERVICES:
            app = make_app(service, f"sqlite:///{folder / (service + '.db')}")
            port = free_port()
            server = make_server("127.0.0.1", port, app, threaded=True)
            threading.Thread(target=server.serve_forever, daemon=True, name=f"live-{service}").start()
            self._servers.append(server)
            self.apps[service] = app
            self.urls[service] = f"http://127.0.0.1:{port}"
        for url in self.urls.values():
            deadline = time.monotonic() + 20
            while requests.get(url + "/healthz", timeout=2).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)

    def call(self, service: str, method: str, path: str, role: str = "network_admin", **kwargs):
        """Call a service directly (to set up data), as ``role``; returns the JSON answer."""
        headers = kwargs.pop("headers", None) or auth(role, kwargs.pop("staff_id", None), kwargs.pop("branch_id", None))
        r = requests.request(method, self.urls[service] + path, headers=headers, timeout=10, **kwargs)
        assert r.status_code < 400, (method, path, r.status_code, r.text[:500])
        return r.json() if r.content else {}

    def stop(self):
        for server in self._servers:
            server.shutdown()


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    services = LiveServices(tmp_path_factory.mktemp("portal-services"))
    yield services
    services.stop()


@pytest.fixture
def portal(live):
    """The portal app pointed at the live services (CSRF on, as in production)."""
    app = create_portal({"TESTING": True, "SETTINGS": {"service_urls": live.urls, "secret_key": "t" * 32,
                                                       "secure_cookies": False}})
    return app


@pytest.fixture
def browser_client(portal):
    return portal.test_client()


def csrf_of(html: str) -> str:
    """The CSRF token a page's form carries."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in_as(client, role: str, *, staff_id: str | None = None, branch_id: str | None = None,
               name: str = "测试用户", branch_name_zh: str = "中心馆", branch_name_en: str = "Central Library"):
    """Put a signed-in user in the portal session (as the sign-in page does after the directory's login)."""
    with client.session_transaction() as session:
        session["token"] = token(role, staff_id, branch_id)
        session["token_expires"] = time.time() + 3600
        session["user"] = {"staff_id": staff_id, "name": name, "role": role, "branch_id": branch_id,
                           "branch_name_zh": branch_name_zh, "branch_name_en": branch_name_en}


@pytest.fixture
def network(live):
    """A small network made through the directory API: a branch, a desk and three staff."""
    code = "T" + uuid.uuid4().hex[:6].upper()
    branch = live.call("directory", "POST", "/branches", json={"code": code, "name_zh": "测试分馆", "name_en": "Test Branch"})
    desk = live.call("directory", "POST", "/service-points", json={
        "branch_id": branch["id"], "name_zh": "总服务台", "name_en": "Main desk", "kind": "circulation"})
    people = {}
    for role, name in (("staff", "王芳"), ("supervisor", "李主管"), ("branch_manager", "张馆长")):
        people[role] = live.call("directory", "POST", "/staff", json={
            "employee_number": f"{code}-{role[:3]}", "name": name, "role": role, "branch_id": branch["id"],
            "hire_date": "2020-03-01"})
    return {"branch": branch, "desk": desk, "staff": people}
