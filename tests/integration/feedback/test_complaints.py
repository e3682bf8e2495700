"""Complaints through the API on SQLite and PostgreSQL: lifecycle, access, SLA, privacy."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from services.feedback import service, store
from shared import outbox
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth
from tests.integration.feedback.conftest import (ADMIN, B1, B2, DESK_1, DESK_2, MANAGER_1, STAFF_1,
                                                  SUPERVISOR_1, SUPERVISOR_2)

pytestmark = pytest.mark.integration

COMPLAINT = {"branch_id": B1, "service_point_id": DESK_1, "staff_id": STAFF_1, "category": "waiting",
             "severity": "urgent", "channel": "wechat", "description": "排队四十分钟无人处理",
             "contact": {"name": "王芳", "phone": "+86 138 0000 0000", "email": "wang@example.cn"}}


def _file(client, **changes):
    response = client.post("/complaints", json={**COMPLAINT, **changes})
    assert response.status_code == 201, response.json
    return response.json


def _act(client, complaint_id, action, body=None, headers=SUPERVISOR_1):
    return client.post(f"/complaints/{complaint_id}/{action}", json=body or {}, headers=headers)


def _types(db, subject):
    with db.read() as conn:
        return [e.type for e in outbox.events_for(conn, subject=subject)]


def test_full_lifecycle_with_rating(client, db):
    filed = _file(client)
    cid, code = filed["id"], filed["tracking_code"]
    assert filed["status"] == "new" and "staff_id" not in filed
    assert _act(client, cid, "acknowledge").json["status"] == "acknowledged"
    assert _act(client, cid, "assign", {"handler_id": MANAGER_1}).json["handler_id"] == MANAGER_1
    assert _act(client, cid, "investigate").json["status"] == "investigating"
    waiting = _act(client, cid, "wait", {"note": "asked the reader for the date"}).json
    assert waiting["status"] == "waiting_on_reader" and waiting["resolve_due_at"] is None
    resumed = _act(client, cid, "investigate").json
    assert resumed["resolve_due_at"] is not None
    resolved = _act(client, cid, "resolve", {"outcome": "partially_substantiated", "response": "已加派人手"}).json
    assert resolved["status"] == "resolved" and resolved["outcome"] == "partially_substantiated"

    tracked = client.get(f"/complaints/track/{code.lower()}").json
    assert tracked["status"] == "resolved" and tracked["response"] == "已加派人手"
    assert "handler_id" not in tracked and "contact" not in tracked
    rated = client.post(f"/complaints/track/{code}/rating", json={"rating": 4, "comment": "快了"})
    assert rated.status_code == 200 and rated.json["rating"] == 4
    again = client.post(f"/complaints/track/{code}/rating", json={"rating": 5})
    assert again.status_code == 409
    assert _act(client, cid, "close").json["status"] == "closed"
    assert _types(db, cid) == ["lsq.complaint.filed.v1", "lsq.complaint.acknowledged.v1",
                               "lsq.complaint.waiting_on_reader.v1", "lsq.complaint.resolved.v1", "lsq.complaint.rated.v1", "lsq.complaint.closed.v1"]
    history = client.get(f"/complaints/{cid}/history", headers=SUPERVISOR_1).json
    assert [h["action"] for h in history] == ["file", "acknowledge", "assign", "investigate", "wait",
                                              "investigate", "resolve", "rate", "close"]
    assert history[0] == {"at": filed["filed_at"], "action": "file", "actor_role": None, "actor_id": None,
                          "from_status": None, "to_status": "new", "note": None}
    assert [h["at"] for h in history] == sorted(h["at"] for h in history)


def test_invalid_transition_is_409_and_bad_input_is_422(client):
    cid = _file(client)["id"]
    other_branch = _act(client, cid, "acknowledge", {"handler_id": "staff-2"})  # works at branch 2
    assert other_branch.status_code == 422 and "handler_id" in other_branch.json["errors"]
    response = _act(client, cid, "resolve", {"outcome": "substantiated", "response": "x"})
    assert response.status_code == 409 and response.json["code"] == "invalid_transition"
    assert response.json["message_zh"]
    _act(client, cid, "acknowledge")
    response = _act(client, cid, "resolve", {"outcome": "maybe", "response": "x"})
    assert response.status_code == 422 and "outcome" in response.json["errors"]
    response = client.post("/complaints", json={**COMPLAINT, "description": "x" * 4001})
    assert response.status_code == 422 and "description" in response.json["errors"]
    response = client.post("/complaints", json={**COMPLAINT, "category": "rudeness"})
    assert response.status_code == 422 and "category" in response.json["errors"]
    response = client.post("/complaints", data="not json", content_type="application/json")
    assert 400 <= response.status_code < 500


@pytest.mark.parametrize("field, value", [("branch_id", "nowhere"), ("staff_id", "ghost"),
                                          ("service_point_id", DESK_2)])
def test_unknown_references_are_422_naming_the_field(client, field, value):
    response = client.post("/complaints", json={**COMPLAINT, field: value})
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_access_by_branch_and_staff_privacy(client):
    cid = _file(client)["id"]
    assert client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json["contact"]["name"] == "王芳"
    assert client.get(f"/complaints/{cid}", headers=SUPERVISOR_2).status_code == 404
    assert _act(client, cid, "acknowledge", headers=SUPERVISOR_2).status_code == 404
    assert _act(client, cid, "acknowledge", headers=auth("auditor")).status_code == 403
    assert client.get(f"/complaints/{cid}").status_code == 401
    me = auth("staff", staff_id=STAFF_1, branch_id=B1)
    assert client.get(f"/complaints/{cid}", headers=me).status_code == 404      # not yet resolved
    assert client.get("/complaints", headers=me).json["total"] == 0
    _act(client, cid, "acknowledge")
    _act(client, cid, "resolve", {"outcome": "unsubstantiated", "response": "监控显示已按序办理"})
    seen = client.get(f"/complaints/{cid}", headers=me).json
    assert seen["status"] == "resolved" and seen["contact"] is None
    assert "王芳" not in str(seen) and "wang@example.cn" not in str(seen)
    assert client.get("/complaints", headers=me).json["total"] == 1
    other = auth("staff", staff_id="staff-9", branch_id=B1)
    assert client.get(f"/complaints/{cid}", headers=other).status_code == 404
    assert client.get("/complaints", headers=auth("auditor")).json["items"][0]["contact"] is None
    listed = client.get("/complaints", headers=SUPERVISOR_2).json
    assert listed["total"] == 0
    assert client.get(f"/complaints?branch_id={B1}", headers=SUPERVISOR_2).status_code == 403


def test_tracking_code_opens_only_its_own_complaint(client):
    first, second = _file(client), _file(client)
    assert client.get(f"/complaints/track/{first['tracking_code']}").json["id"] == first["id"]
    assert client.get(f"/complaints/track/{second['tracking_code']}").json["id"] == second["id"]
    assert client.get("/complaints/track/AAAA-BBBB-CCCC").status_code == 404


def test_reopen_within_14_days_only(client, db):
    filed = _file(client)
    cid, code = filed["id"], filed["tracking_code"]
    _act(client, cid, "acknowledge")
    _act(client, cid, "resolve", {"outcome": "substantiated", "response": "已道歉"})
    client.post(f"/complaints/track/{code}/rating", json={"rating": 2})
    reopened = client.post(f"/complaints/track/{code}/reopen", json={"note": "问题仍在"})
    assert reopened.status_code == 200 and reopened.json["status"] == "investigating"
    assert reopened.json["rating"] is None
    _act(client, cid, "resolve", {"outcome": "substantiated", "response": "已整改"})
    with db.transaction() as conn:
        conn.execute(update(store.complaints).where(store.complaints.c.id == cid)
                     .values(resolved_at=utcnow() - timedelta(days=15)))
    late = client.post(f"/complaints/track/{code}/reopen", json={})
    assert late.status_code == 409 and late.json["code"] == "reopen_window_passed"
    assert _types(db, cid).count("lsq.complaint.reopened.v1") == 1


def test_sla_at_risk_breach_once_and_escalation(client, db):
    cid = _file(client)["id"]  # urgent: acknowledge in 2 h, resolve in 24 h
    assert service.sla_sweep(db, utcnow() + timedelta(minutes=90)) == {"at_risk": 0, "breached": 0}
    assert service.sla_sweep(db, utcnow() + timedelta(minutes=97)) == {"at_risk": 1, "breached": 0}
    assert service.sla_sweep(db, utcnow() + timedelta(minutes=100)) == {"at_risk": 0, "breached": 0}
    assert service.sla_sweep(db, utcnow() + timedelta(hours=3)) == {"at_risk": 0, "breached": 1}
    assert service.sla_sweep(db, utcnow() + timedelta(hours=4)) == {"at_risk": 0, "breached": 0}
    complaint = client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json
    assert complaint["escalated_to"] == MANAGER_1 and complaint["acknowledge_breached_at"]
    with db.read() as conn:
        breaches = outbox.events_for(conn, subject=cid, event_type="lsq.complaint.sla_breached.v1")
    assert len(breaches) == 1
    assert breaches[0].data["target"] == "acknowledge" and breaches[0].data["escalated_to_staff_id"] == MANAGER_1
    assert breaches[0].key == cid  # keyed by the handler, and nobody handles it yet
    # Resolution target: at risk after 80% of 24 h, breached after 24 h, once.
    _act(client, cid, "acknowledge")
    assert service.sla_sweep(db, utcnow() + timedelta(hours=20)) == {"at_risk": 1, "breached": 0}
    assert service.sla_sweep(db, utcnow() + timedelta(hours=25)) == {"at_risk": 0, "breached": 1}
    assert service.sla_sweep(db, utcnow() + timedelta(hours=30)) == {"at_risk": 0, "breached": 0}
    assert any(h["action"] == "escalate" for h in client.get(f"/complaints/{cid}/history", headers=SUPERVISOR_1).json)


def test_waiting_on_reader_stops_the_resolution_clock(client, db):
    cid = _file(client)["id"]
    _act(client, cid, "acknowledge")
    _act(client, cid, "investigate")
    before = client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json["resolve_due_at"]
    _act(client, cid, "wait")
    # While waiting nothing is owed, however long it takes.
    assert service.sla_sweep(db, utcnow() + timedelta(days=10)) == {"at_risk": 0, "breached": 0}
    with db.transaction() as conn:  # the reader answered two days later
        conn.execute(update(store.complaint_pauses).values(started_at=utcnow() - timedelta(days=2)))
    after = _act(client, cid, "investigate").json["resolve_due_at"]
    assert after > before


def test_business_hours_sla(client, db):
    put = client.put("/sla-policy", headers=ADMIN, json=[
        {"severity": "normal", "acknowledge_hours": 2, "resolve_hours": 8, "business_hours": True}])
    assert put.status_code == 200
    hours = client.put(f"/branches/{B1}/opening-hours", headers=auth("branch_manager", branch_id=B1), json={
        "timezone": "Asia/Shanghai", "week": {"mon": [["09:00", "10:00"]]}})
    assert hours.status_code == 200, hours.json
    assert client.put(f"/branches/{B1}/opening-hours", headers=auth("branch_manager", branch_id=B2),
                      json={"week": {"mon": [["09:00", "10:00"]]}}).status_code == 403
    bad = client.put(f"/branches/{B1}/opening-hours", headers=ADMIN, json={"week": {"mon": [["10:00", "09:00"]]}})
    assert bad.status_code == 422 and "week.mon.0" in bad.json["errors"]
    cid = _file(client, severity="normal")["id"]
    complaint = client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json
    # One open hour a week: 2 h of acknowledgement time ends on a Monday two weeks out at 10:00 local.
    from datetime import datetime
    due = datetime.fromisoformat(complaint["acknowledge_due_at"])
    assert due.weekday() == 0 and (due.hour, due.minute) == (2, 0)  # 10:00 in Shanghai is 02:00 UTC
    assert timedelta(days=7) < due - datetime.fromisoformat(complaint["filed_at"]) <= timedelta(days=14)
    # Another branch keeps 24x7 (no hours set) even for a business-hours severity.
    other = _file(client, severity="normal", branch_id=B2, service_point_id=None, staff_id=None)["id"]
    due2 = client.get(f"/complaints/{other}", headers=ADMIN).json
    assert datetime.fromisoformat(due2["acknowledge_due_at"]) - datetime.fromisoformat(due2["filed_at"]) \
        == timedelta(hours=2)


def test_contact_erasure_and_purge(client, db):
    by_reader, by_staff, closed_long_ago, closed_recently = (_file(client) for _ in range(4))
    erased = client.delete(f"/complaints/track/{by_reader['tracking_code']}/contact")
    assert erased.status_code == 200 and erased.json["has_contact"] is False
    assert client.get(f"/complaints/{by_reader['id']}", headers=SUPERVISOR_1).json["contact"] is None
    assert _act(client, by_staff["id"], "erase-contact").json["contact"] is None
    for filed in (closed_long_ago, closed_recently):
        _act(client, filed["id"], "acknowledge")
        _act(client, filed["id"], "resolve", {"outcome": "withdrawn", "response": "读者撤回"})
        _act(client, filed["id"], "close")
    with db.transaction() as conn:
        conn.execute(update(store.complaints).where(store.complaints.c.id == closed_long_ago["id"])
                     .values(closed_at=utcnow() - timedelta(days=31)))
    assert service.purge_contacts(db, retention_days=30) == 1
    assert client.get(f"/complaints/{closed_long_ago['id']}", headers=SUPERVISOR_1).json["contact"] is None
    assert client.get(f"/complaints/{closed_recently['id']}", headers=SUPERVISOR_1).json["contact"]["phone"]
    with db.read() as conn:
        left = {r.complaint_id for r in conn.execute(select(store.complaint_contacts.c.complaint_id))}
        events = [e.data for cid in left | {closed_long_ago["id"]} for e in outbox.events_for(conn, subject=cid)]
    assert left == {closed_recently["id"]}
    contact = COMPLAINT["contact"]
    assert not any(value in str(e) for e in events for value in contact.values())  # never in events


def test_auto_close_after_the_reopening_window(client, db):
    cid = _file(client)["id"]
    _act(client, cid, "acknowledge")
    _act(client, cid, "resolve", {"outcome": "substantiated", "response": "ok"})
    assert service.auto_close(db, utcnow() + timedelta(days=13)) == 0
    assert service.auto_close(db, utcnow() + timedelta(days=15)) == 1
    assert client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json["status"] == "closed"


def test_rate_limit_on_filing(database_url):
    from tests.helpers import make_app
    from tests.integration.feedback.conftest import seed_directory
    app = make_app("feedback", database_url, RATE_LIMITS_ENABLED=True)
    seed_directory(app.extensions["lsq"].db)
    client = app.test_client()
    # The limiter lives in the process (one bucket per view and client): a fresh client address.
    client_address = f"198.51.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"
    reader = {"REMOTE_ADDR": client_address}
    codes = [client.post("/complaints", json=COMPLAINT, environ_base=reader).status_code for _ in range(11)]
    assert codes[:10] == [201] * 10 and codes[10] == 429
    # A client's own X-Forwarded-For does not buy it a fresh allowance (no trusted proxy here) ...
    assert client.post("/complaints", json=COMPLAINT, environ_base=reader,
                       headers={"X-Forwarded-For": "203.0.113.9"}).status_code == 429
    # ... while another reader is not affected.
    assert client.post("/complaints", json=COMPLAINT,
                       environ_base={"REMOTE_ADDR": client_address + "1"}).status_code == 201
    app.extensions["lsq"].db.dispose()


def test_a_sweep_after_an_outage_announces_the_breach_once_without_a_late_warning(client, db):
    cid = _file(client)["id"]
    assert service.sla_sweep(db, utcnow() + timedelta(hours=5)) == {"at_risk": 0, "breached": 1}
    assert service.sla_sweep(db, utcnow() + timedelta(hours=6)) == {"at_risk": 0, "breached": 0}
    assert _types(db, cid) == ["lsq.complaint.filed.v1", "lsq.complaint.sla_breached.v1"]


def test_a_target_met_late_is_still_announced_as_breached_once(client, db):
    cid = _file(client)["id"]
    with db.transaction() as conn:  # the worker was down while the acknowledgement target passed
        conn.execute(update(store.complaints).where(store.complaints.c.id == cid)
                     .values(acknowledge_due_at=utcnow() - timedelta(minutes=5)))
    acknowledged = _act(client, cid, "acknowledge").json
    assert acknowledged["acknowledge_breached_at"] and acknowledged["escalated_to"] == MANAGER_1
    assert service.sla_sweep(db, utcnow() + timedelta(minutes=1)) == {"at_risk": 0, "breached": 0}
    with db.read() as conn:
        breaches = outbox.events_for(conn, subject=cid, event_type="lsq.complaint.sla_breached.v1")
    assert [b.data["target"] for b in breaches] == ["acknowledge"]


def test_staff_record_a_complaint_received_earlier_and_its_clocks_run_from_then(client, db):
    received = utcnow() - timedelta(hours=3)
    body = {**COMPLAINT, "channel": "phone", "received_at": received.isoformat()}
    recorded = client.post("/complaints", json=body, headers=SUPERVISOR_1)
    assert recorded.status_code == 201, recorded.json
    cid = recorded.json["id"]
    complaint = client.get(f"/complaints/{cid}", headers=SUPERVISOR_1).json
    filed_at = complaint["filed_at"]
    assert filed_at.startswith(received.strftime("%Y-%m-%dT%H:%M"))  # urgent: acknowledge due 2 h after receipt
    assert _act(client, cid, "assign", {"handler_id": MANAGER_1}).status_code == 200
    assert service.sla_sweep(db, utcnow()) == {"at_risk": 0, "breached": 1}  # at once, not in two hours
    with db.read() as conn:
        breach = outbox.events_for(conn, subject=cid, event_type="lsq.complaint.sla_breached.v1")[0]
        filed = outbox.events_for(conn, subject=cid, event_type="lsq.complaint.filed.v1")[0]
    assert breach.key == MANAGER_1 and breach.data["handler_id"] == MANAGER_1  # the handler's partition
    assert filed.data["filed_at"] < rfc3339(utcnow() - timedelta(hours=2))
    history = client.get(f"/complaints/{cid}/history", headers=SUPERVISOR_1).json
    assert history[0]["action"] == "file" and history[0]["actor_id"] == "sup-1" and "recorded" in history[0]["note"]


@pytest.mark.parametrize("headers, received, status, field", [
    (None, timedelta(hours=1), 403, None),                    # a reader cannot back-date their own filing
    (SUPERVISOR_2, timedelta(hours=1), 403, None),            # another branch's supervisor
    (SUPERVISOR_1, timedelta(hours=-1), 422, "received_at"),  # in the future
    (SUPERVISOR_1, timedelta(days=31), 422, "received_at"),   # too far back
])
def test_received_at_is_for_staff_of_the_branch_and_bounded(client, headers, received, status, field):
    body = {**COMPLAINT, "received_at": (utcnow() - received).isoformat()}
    response = client.post("/complaints", json=body, headers=headers or {})
    assert response.status_code == status, response.json
    if field:
        assert field in response.json["errors"]
