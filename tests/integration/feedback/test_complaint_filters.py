"""The complaint list's filters on SQLite and PostgreSQL: statuses, severities, SLA state, escalation,
handler, filing days (local days of Asia/Shanghai), validation, and the caller's scope kept."""
from datetime import datetime, timedelta

import pytest

from services.feedback import service
from shared.timeutil import local_today, utcnow
from tests.helpers import SHANGHAI, auth
from tests.integration.feedback.conftest import (ADMIN, B1, B2, DESK_1, DESK_2, MANAGER_1, STAFF_1, STAFF_2,
                                                  SUPERVISOR_1, SUPERVISOR_2)

pytestmark = pytest.mark.integration

MANAGER = auth("branch_manager", staff_id=MANAGER_1, branch_id=B1)
BASE = {"branch_id": B1, "service_point_id": DESK_1, "staff_id": STAFF_1, "category": "attitude",
        "severity": "normal", "channel": "phone", "description": "态度生硬"}


def _file(client, received=None, headers=SUPERVISOR_1, **changes):
    body = {**BASE, **changes}
    if received is not None:
        body["received_at"] = (received if not isinstance(received, timedelta) else utcnow() - received).isoformat()
    r = client.post("/complaints", json=body, headers=headers if received is not None else None)
    assert r.status_code == 201, r.json
    return r.json["id"]


def _act(client, cid, action, body=None, headers=SUPERVISOR_1):
    r = client.post(f"/complaints/{cid}/{action}", json=body or {}, headers=headers)
    assert r.status_code == 200, r.json
    return r.json


def _ids(client, query="", headers=SUPERVISOR_1):
    r = client.get(f"/complaints?page_size=500&{query}", headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["total"] == len(r.json["items"])
    return {item["id"] for item in r.json["items"]}


@pytest.fixture
def queue(client):
    """Complaints of branch 1 in every SLA state, and one of branch 2 that is breached too."""
    ids = {
        "fresh": _file(client, severity="urgent"),                                   # 2 h to acknowledge
        "at_risk": _file(client, timedelta(minutes=100), severity="urgent"),        # 80 % of 2 h used
        "late": _file(client, timedelta(hours=3), severity="urgent"),               # acknowledgement overdue
        "low": _file(client, timedelta(hours=1), severity="low", category="environment"),
        "waiting": _file(client, timedelta(hours=2), severity="high"),
        "done": _file(client, severity="high"),
        "other_branch": _file(client, timedelta(hours=3), headers=SUPERVISOR_2, severity="urgent",
                              branch_id=B2, service_point_id=DESK_2, staff_id=STAFF_2),
    }
    _act(client, ids["waiting"], "acknowledge", {"handler_id": MANAGER_1})
    _act(client, ids["waiting"], "investigate")
    _act(client, ids["waiting"], "wait", {"note": "asked for the date"})
    _act(client, ids["done"], "acknowledge", {"handler_id": STAFF_1})
    _act(client, ids["done"], "resolve", {"outcome": "substantiated", "response": "已致歉"})
    return ids


def test_statuses_severities_and_categories_any_of_several(client, queue):
    everything = set(queue.values()) - {queue["other_branch"]}
    assert _ids(client) == everything
    assert _ids(client, "status=new") == everything - {queue["waiting"], queue["done"]}
    assert _ids(client, "status=waiting_on_reader&status=resolved") == {queue["waiting"], queue["done"]}
    assert _ids(client, "severity=high") == {queue["waiting"], queue["done"]}
    assert _ids(client, "severity=low&severity=high") == {queue["waiting"], queue["done"], queue["low"]}
    assert _ids(client, "category=environment") == {queue["low"]}
    assert _ids(client, "status=new&severity=urgent") == {queue["fresh"], queue["at_risk"], queue["late"]}


def test_at_risk_and_breached_are_judged_now_and_are_complements(client, db, queue):
    everything = set(queue.values()) - {queue["other_branch"]}
    assert _ids(client, "at_risk=true") == {queue["at_risk"]}
    assert _ids(client, "at_risk=false") == everything - {queue["at_risk"]}
    # Past due before any sweep recorded it: the list does not wait for the worker.
    assert _ids(client, "breached=true") == {queue["late"]}
    assert _ids(client, "breached=false") == everything - {queue["late"]}
    assert _ids(client, "escalated=true") == set()
    assert service.sla_sweep(db) == {"at_risk": 1, "breached": 2}  # branch 2's late one too
    assert _ids(client, "breached=true") == {queue["late"]}
    assert _ids(client, "escalated=true") == {queue["late"]}
    assert _ids(client, "escalated=false") == everything - {queue["late"]}
    # A breach stays a breach once the complaint is acknowledged (late): no longer running, still missed.
    _act(client, queue["late"], "acknowledge")
    assert _ids(client, "breached=true") == {queue["late"]}
    assert _ids(client, "breached=true&status=acknowledged") == {queue["late"]}
    # Waiting on the reader, the resolution clock is stopped: never at risk, never past due.
    assert queue["waiting"] not in _ids(client, "at_risk=true") | _ids(client, "breached=true")
    # 100 minutes on, the fresh urgent complaint is at risk; three hours on it is past due.
    later = utcnow() + timedelta(minutes=100)
    assert queue["fresh"] in _list_at(db, {"at_risk": True}, later)
    assert queue["fresh"] in _list_at(db, {"breached": True}, utcnow() + timedelta(hours=3))
    assert queue["fresh"] not in _list_at(db, {"breached": True}, later)


def _list_at(db, filters, now):
    from shared.auth import Principal
    actor = Principal(role="supervisor", staff_id="sup-1", branch_id=B1)
    items, _total = service.list_complaints(db, actor, filters, 1, 500, now=now)
    return {item["id"] for item in items}


def test_assigned_to_and_mine(client, queue):
    assert _ids(client, f"assigned_to={MANAGER_1}") == {queue["waiting"]}
    assert _ids(client, f"assigned_to={STAFF_1}") == {queue["done"]}
    assert _ids(client, "mine=true", headers=MANAGER) == {queue["waiting"]}
    assert queue["waiting"] not in _ids(client, "mine=false", headers=MANAGER)
    assert queue["fresh"] in _ids(client, "mine=false", headers=MANAGER)  # nobody handles it yet
    assert _ids(client, "mine=true", headers=ADMIN) == set()  # no staff id in the token: nothing is theirs
    assert _ids(client, "mine=true&status=waiting_on_reader", headers=MANAGER) == {queue["waiting"]}
    assert _ids(client, "mine=true&status=new", headers=MANAGER) == set()


def test_filing_days_are_local_days_of_shanghai(client):
    today = local_today(SHANGHAI)
    day = today - timedelta(days=3)
    late_evening = datetime(day.year, day.month, day.day, 23, 30, tzinfo=SHANGHAI)   # 15:30 UTC the same day
    early_morning = datetime(day.year, day.month, day.day, 0, 30, tzinfo=SHANGHAI)   # 16:30 UTC the day before
    before = datetime(day.year, day.month, day.day, 23, 59, tzinfo=SHANGHAI) - timedelta(days=1)
    evening, morning, eve = (_file(client, late_evening), _file(client, early_morning), _file(client, before))
    now = _file(client)
    assert _ids(client, f"filed_from={day}&filed_to={day}") == {evening, morning}
    assert _ids(client, f"filed_from={day}") == {evening, morning, now}
    assert _ids(client, f"filed_to={day}") == {evening, morning, eve}
    assert _ids(client, f"filed_to={day - timedelta(days=1)}") == {eve}
    assert _ids(client, f"filed_from={today}&filed_to={today}") == {now}
    assert _ids(client, f"filed_from={day}&filed_to={day}&severity=urgent") == set()


@pytest.mark.parametrize("query, field", [
    ("at_risk=maybe", "at_risk"), ("breached=2", "breached"), ("escalated=x", "escalated"), ("mine=perhaps", "mine"),
    ("status=lost", "status"), ("status=new&status=nonsense", "status"), ("severity=critical", "severity"),
    ("category=rudeness", "category"), ("filed_from=2026-13-01", "filed_from"), ("filed_to=yesterday", "filed_to"),
    ("filed_from=2026-05-02&filed_to=2026-05-01", "filed_to"), (f"mine=true&assigned_to={MANAGER_1}", "mine"),
    ("assigned_to=", "assigned_to"), ("page_size=501", "page_size"),
])
def test_bad_filters_are_422_naming_the_field(client, query, field):
    r = client.get(f"/complaints?{query}", headers=SUPERVISOR_1)
    assert r.status_code == 422, r.json
    assert r.json["code"] == "validation_failed" and field in r.json["errors"], r.json


def test_filters_never_widen_the_callers_scope(client, queue):
    assert _ids(client, "breached=true", headers=SUPERVISOR_2) == {queue["other_branch"]}
    assert _ids(client, "status=new&severity=urgent", headers=SUPERVISOR_2) == {queue["other_branch"]}
    assert client.get(f"/complaints?branch_id={B1}&breached=true", headers=SUPERVISOR_2).status_code == 403
    assert _ids(client, "breached=true", headers=ADMIN) == {queue["late"], queue["other_branch"]}
    me = auth("staff", staff_id=STAFF_1, branch_id=B1)
    assert _ids(client, headers=me) == {queue["done"]}  # resolved complaints about themselves only
    assert _ids(client, "status=new", headers=me) == set()
    assert _ids(client, "mine=true", headers=auth("staff", staff_id=STAFF_1, branch_id=B1)) == {queue["done"]}


def test_the_filters_are_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    parameters = {p["name"]: p for p in spec["paths"]["/complaints"]["get"]["parameters"]}
    for name in ("status", "severity", "category", "at_risk", "breached", "escalated", "assigned_to", "mine",
                 "filed_from", "filed_to", "page", "page_size"):
        assert name in parameters, name
    assert parameters["at_risk"]["schema"]["type"] == "boolean"
    assert parameters["status"]["schema"]["type"] == "array"
    assert parameters["filed_from"]["schema"]["format"] == "date"
