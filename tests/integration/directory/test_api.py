"""Directory API on SQLite and PostgreSQL: every error status, events through the outbox, access."""
import pytest

from shared import outbox
from shared.auth import endpoints_without_access
from shared.web import db as current_db
from tests.helpers import auth, make_app

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


@pytest.fixture
def app(database_url):
    return make_app("directory", database_url)


@pytest.fixture
def client(app):
    return app.test_client()


def _branch(client, code="CEN"):
    r = client.post("/branches", json={"code": code, "name_zh": "中心馆", "name_en": "Central"}, headers=ADMIN)
    assert r.status_code == 201, r.json
    return r.json["id"]


def _staff(client, branch_id, number="E001", role="staff", headers=ADMIN):
    return client.post("/staff", json={"employee_number": number, "name": "王芳", "role": role,
                                       "branch_id": branch_id, "hire_date": "2024-03-01"}, headers=headers)


def _events(app, event_type):
    with app.app_context(), current_db().read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def test_every_endpoint_declares_who_may_call_it(app):
    assert endpoints_without_access(app) == []


def test_staff_lifecycle_publishes_events(app, client):
    central, east = _branch(client), _branch(client, "EAST")
    r = _staff(client, central)
    assert r.status_code == 201
    staff_id = r.json["id"]
    r = client.post(f"/staff/{staff_id}/transfer", json={"to_branch_id": east, "effective_date": "2025-01-01"},
                    headers=ADMIN)
    assert r.status_code == 200 and r.json["branch_id"] == east
    r = client.patch(f"/staff/{staff_id}", json={"role": "supervisor"}, headers=ADMIN)
    assert r.status_code == 200 and r.json["role"] == "supervisor"
    r = client.post(f"/staff/{staff_id}/leave", json={"left_on": "2026-06-30", "reason": "retired"}, headers=ADMIN)
    assert r.status_code == 200 and r.json["status"] == "left"

    [joined] = _events(app, "lsq.staff.joined.v1")
    assert joined.key == staff_id and joined.data["branch_id"] == central
    [moved] = _events(app, "lsq.staff.transferred.v1")
    assert (moved.data["from_branch_id"], moved.data["to_branch_id"]) == (central, east)
    [updated] = _events(app, "lsq.staff.updated.v1")
    assert updated.data["role"] == "supervisor"
    [left] = _events(app, "lsq.staff.left.v1")
    assert left.data == {"staff_id": staff_id, "branch_id": east, "left_on": "2026-06-30", "reason": "retired",
                         "caused_by": []}
    assert len(_events(app, "lsq.branch.opened.v1")) == 2


def test_error_statuses(client):
    branch = _branch(client)
    # 400: not JSON at all
    r = client.post("/staff", data="{broken", content_type="application/json", headers=ADMIN)
    assert r.status_code == 400 and r.json["code"] == "bad_request"
    # 401: no token, and a bad token
    assert client.post("/staff", json={}).status_code == 401
    r = client.get("/staff", headers={"Authorization": "Bearer nonsense"})
    assert r.status_code == 401 and r.json["message_zh"]
    # 403: a plain staff member may not register staff
    assert _staff(client, branch, headers=auth("staff", staff_id="x", branch_id=branch)).status_code == 403
    # 404
    r = client.get("/staff/does-not-exist", headers=ADMIN)
    assert r.status_code == 404 and r.json["code"] == "staff_member_not_found"
    # 409: duplicate employee number
    assert _staff(client, branch).status_code == 201
    r = _staff(client, branch)
    assert r.status_code == 409 and r.json["errors"] == {"employee_number": [r.json["message"]]}
    # 422: unknown branch, and field-level validation
    r = _staff(client, "no-such-branch", number="E002")
    assert r.status_code == 422 and "branch_id" in r.json["errors"]
    r = client.post("/staff", json={"employee_number": "E 3", "name": "", "branch_id": branch,
                                    "hire_date": "yesterday", "role": "king"}, headers=ADMIN)
    assert r.status_code == 422
    assert set(r.json["errors"]) == {"employee_number", "name", "hire_date", "role"}
    assert r.json["location"] == "json"
    # 409 for a duplicate branch code
    r = client.post("/branches", json={"code": "cen", "name_zh": "重复", "name_en": "Dup"}, headers=ADMIN)
    assert r.status_code == 409 and r.json["errors"]["code"]


def test_branch_manager_is_limited_to_own_branch(client):
    central, east = _branch(client), _branch(client, "EAST")
    manager = auth("branch_manager", staff_id="m1", branch_id=central)
    assert _staff(client, central, headers=manager).status_code == 201
    assert _staff(client, east, number="E9", headers=manager).status_code == 403
    assert _staff(client, central, number="E8", role="network_admin", headers=manager).status_code == 403
    assert _staff(client, east, number="E7").status_code == 201
    r = client.get("/staff", headers=manager)
    assert r.status_code == 200 and {s["branch_id"] for s in r.json["items"]} == {central}
    assert client.get(f"/staff?branch_id={east}", headers=manager).status_code == 403
    # auditors read everything but change nothing
    assert client.get("/staff", headers=auth("auditor")).json["total"] == 2
    assert _staff(client, east, number="E6", headers=auth("auditor")).status_code == 403


def test_staff_read_their_own_record_only(client):
    branch = _branch(client)
    me = _staff(client, branch).json["id"]
    other = _staff(client, branch, number="E002").json["id"]
    mine = auth("staff", staff_id=me, branch_id=branch)
    assert client.get(f"/staff/{me}", headers=mine).status_code == 200
    assert client.get(f"/staff/{other}", headers=mine).status_code == 403
    assert client.get("/staff", headers=mine).status_code == 403


def test_lists_filter_and_paginate(client):
    central, east = _branch(client), _branch(client, "EAST")
    for i in range(7):
        _staff(client, central if i % 2 else east, number=f"E{i:03}", role="supervisor" if i == 3 else "staff")
    r = client.get(f"/staff?branch_id={central}&page_size=2&page=2", headers=ADMIN)
    assert r.json["total"] == 3 and r.json["page"] == 2 and len(r.json["items"]) == 1
    assert client.get("/staff?role=supervisor", headers=ADMIN).json["total"] == 1
    assert client.get("/staff?status=left", headers=ADMIN).json["total"] == 0
    assert client.get("/staff?page_size=1000", headers=ADMIN).status_code == 422
    r = client.post("/service-points", json={"branch_id": central, "name_zh": "总服务台", "name_en": "Main desk"},
                    headers=ADMIN)
    assert r.status_code == 201
    assert client.get(f"/service-points?branch_id={central}", headers=ADMIN).json["total"] == 1
    assert client.get(f"/service-points?branch_id={east}", headers=ADMIN).json["total"] == 0


def test_invalid_transitions(client):
    branch, east = _branch(client), _branch(client, "EAST")
    staff_id = _staff(client, branch).json["id"]
    r = client.post(f"/staff/{staff_id}/transfer", json={"to_branch_id": branch}, headers=ADMIN)
    assert r.status_code == 422 and "to_branch_id" in r.json["errors"]
    r = client.patch(f"/staff/{staff_id}", json={"branch_id": east}, headers=ADMIN)
    assert r.status_code == 422 and "branch_id" in r.json["errors"]
    assert client.post(f"/staff/{staff_id}/leave", json={}, headers=ADMIN).status_code == 200
    assert client.post(f"/staff/{staff_id}/leave", json={}, headers=ADMIN).status_code == 409
    r = client.post(f"/staff/{staff_id}/transfer", json={"to_branch_id": east}, headers=ADMIN)
    assert r.status_code == 409


def test_health_and_docs(client):
    assert client.get("/healthz").json["status"] == "ok"
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.json["checks"] == {"database": "ok", "kafka": "unreachable"}
    spec = client.get("/openapi.json").json
    assert "/staff/{staff_id}/transfer" in spec["paths"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]
    metrics = client.get("/metrics")
    assert b"lsq_outbox_backlog" in metrics.data and b"lsq_http_request_duration_seconds" in metrics.data


def test_nul_characters_are_refused_before_they_reach_the_database(client):
    r = client.post("/branches", json={"code": "NUL", "name_zh": "空\u0000字符", "name_en": "x"}, headers=ADMIN)
    assert r.status_code == 422 and r.json["code"] == "nul_character"
    assert client.get("/staff?role=st%00aff", headers=ADMIN).status_code == 422
