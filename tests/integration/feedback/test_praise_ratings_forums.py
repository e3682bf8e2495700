"""Praise, desk ratings and reader forums through the API on SQLite and PostgreSQL."""
import pytest

from shared import outbox
from tests.helpers import auth
from tests.integration.feedback.conftest import (ADMIN, B1, B2, DESK_1, DESK_2, STAFF_1, SUPERVISOR_1,
                                                  SUPERVISOR_2)

pytestmark = pytest.mark.integration


def test_praise_and_rejection(client, db):
    response = client.post("/praise", json={"branch_id": B1, "staff_id": STAFF_1, "message": "耐心细致"})
    assert response.status_code == 201
    pid = response.json["id"]
    assert client.post("/praise", json={"branch_id": B1}).status_code == 422
    unknown = client.post("/praise", json={"branch_id": B1, "staff_id": "ghost"})
    assert unknown.status_code == 422 and "staff_id" in unknown.json["errors"]
    me = auth("staff", staff_id=STAFF_1, branch_id=B1)
    assert client.get("/praise", headers=me).json["total"] == 1
    assert client.post(f"/praise/{pid}/reject", json={"reason": "spam"}, headers=SUPERVISOR_2).status_code == 404
    rejected = client.post(f"/praise/{pid}/reject", json={"reason": "spam"}, headers=SUPERVISOR_1)
    assert rejected.status_code == 200 and rejected.json["status"] == "rejected"
    assert client.post(f"/praise/{pid}/reject", json={"reason": "abuse"}, headers=SUPERVISOR_1).status_code == 409
    assert client.get("/praise", headers=me).json["total"] == 0
    with db.read() as conn:
        assert [e.type for e in outbox.events_for(conn, subject=pid)] == [
            "lsq.praise.received.v1", "lsq.praise.rejected.v1"]


def test_desk_ratings_and_summary(client):
    for stars, wait, staff in ((5, 2, STAFF_1), (4, 10, STAFF_1), (2, 30, None)):
        body = {"service_point_id": DESK_1, "stars": stars, "wait_minutes": wait, "staff_id": staff}
        assert client.post("/ratings", json=body).status_code == 201
    assert client.post("/ratings", json={"service_point_id": DESK_2, "stars": 1}).status_code == 201
    bad = client.post("/ratings", json={"service_point_id": DESK_1, "stars": 6})
    assert bad.status_code == 422 and "stars" in bad.json["errors"]
    wrong = client.post("/ratings", json={"service_point_id": DESK_1, "branch_id": B2, "stars": 3})
    assert wrong.status_code == 422 and "service_point_id" in wrong.json["errors"]
    by_desk = client.get("/ratings/summary?group_by=service_point", headers=ADMIN).json
    desk = next(r for r in by_desk if r["key"] == DESK_1)
    assert desk["n"] == 3 and desk["mean_stars"] == pytest.approx(3.67) and desk["mean_wait_minutes"] == 14.0
    assert desk["stars"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    mine = client.get("/ratings/summary?group_by=branch", headers=SUPERVISOR_1).json
    assert [(r["key"], r["n"]) for r in mine] == [(B1, 3)]
    staff = client.get("/ratings/summary?group_by=staff", headers=auth("staff", staff_id=STAFF_1, branch_id=B1)).json
    assert [(r["key"], r["n"]) for r in staff] == [(STAFF_1, 2)]
    period = client.get("/ratings/summary?from=2020-01-01&to=2020-12-31", headers=ADMIN).json
    assert period == []
    assert client.get("/ratings/summary?from=2020-02-01&to=2020-01-01", headers=ADMIN).status_code == 422


def test_reader_forum_and_suggestions(client):
    forum = client.post("/forums", headers=SUPERVISOR_1, json={
        "branch_id": B1, "title": "2026 年第四季度读者座谈会", "held_on": "2026-11-20", "attendance": 23,
        "minutes": "读者反映周末自习座位不足……",
        "suggestions": [{"text": "周末延长开放时间", "owner_id": STAFF_1, "due_on": "2027-01-31"}]})
    assert forum.status_code == 201, forum.json
    fid = forum.json["id"]
    sid = forum.json["suggestions"][0]["id"]
    added = client.post(f"/forums/{fid}/suggestions", json={"text": "增加电源插座"}, headers=SUPERVISOR_1)
    assert added.status_code == 201 and added.json["status"] == "raised"
    moved = client.patch(f"/forums/{fid}/suggestions/{sid}", json={"status": "accepted"}, headers=SUPERVISOR_1)
    assert moved.json["status"] == "accepted"
    done = client.patch(f"/forums/{fid}/suggestions/{sid}", json={"status": "done", "note": "已延长至 21:00"},
                        headers=SUPERVISOR_1)
    assert done.json["status"] == "done" and done.json["outcome_on"]
    back = client.patch(f"/forums/{fid}/suggestions/{sid}", json={"status": "in_progress"}, headers=SUPERVISOR_1)
    assert back.status_code == 409
    bad_owner = client.patch(f"/forums/{fid}/suggestions/{added.json['id']}", json={"owner_id": "ghost"},
                             headers=SUPERVISOR_1)
    assert bad_owner.status_code == 422 and "owner_id" in bad_owner.json["errors"]
    assert client.get(f"/forums/{fid}", headers=SUPERVISOR_2).status_code == 404
    assert client.post("/forums", headers=SUPERVISOR_2, json={
        "branch_id": B1, "title": "x", "held_on": "2026-11-20", "attendance": 1}).status_code == 403
    listed = client.get("/forums", headers=auth("auditor")).json
    assert listed["total"] == 1 and len(listed["items"][0]["suggestions"]) == 2
    assert client.post("/forums", headers=SUPERVISOR_1, json={
        "branch_id": B1, "title": "x", "held_on": "2026-11-20", "attendance": -1}).status_code == 422


def test_every_endpoint_declares_access(app):
    from shared.auth import endpoints_without_access
    assert endpoints_without_access(app) == []


def test_sla_policy_is_admin_only_and_checked(client):
    policy = client.get("/sla-policy", headers=SUPERVISOR_1).json
    assert {p["severity"]: p["acknowledge_hours"] for p in policy} == {"low": 48, "normal": 24, "high": 8, "urgent": 2}
    body = [{"severity": "high", "acknowledge_hours": 10, "resolve_hours": 5}]
    assert client.put("/sla-policy", json=body, headers=SUPERVISOR_1).status_code == 403
    bad = client.put("/sla-policy", json=body, headers=ADMIN)
    assert bad.status_code == 422 and "0.acknowledge_hours" in bad.json["errors"]
