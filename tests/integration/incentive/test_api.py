"""Incentive API on SQLite and PostgreSQL: policy, funds, violations, appeals, awards, standing, ledger."""
import copy
import uuid
from datetime import date, timedelta

import pytest

from services.incentive import model
from services.incentive.handlers import HANDLERS
from shared import inbox, outbox
from shared.auth import endpoints_without_access
from shared.consumer import ConsumerRunner
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth, make_app, shanghai
from tests.integration.incentive.support import branch_opened, resolved, scored, staff_joined

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")
B, OTHER = "branch-central", "branch-east"


@pytest.fixture
def app(database_url):
    return make_app("incentive", database_url)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    runner = ConsumerRunner(app.extensions["lsq"].db, "127.0.0.1:1", "lsq.incentive", HANDLERS)
    runner.apply_batch([branch_opened(B), branch_opened(OTHER, "EAST")])
    return runner


def _staff(runner, branch=B):
    staff_id = str(uuid.uuid4())
    runner.apply_batch([staff_joined(staff_id, branch)])
    return staff_id


def _events(app, event_type):
    with app.extensions["lsq"].db.read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def test_every_endpoint_declares_who_may_call_it(app, client):
    assert endpoints_without_access(app) == []
    spec = client.get("/openapi.json")
    assert spec.status_code == 200 and "/staff/{staff_id}/standing" in spec.json["paths"]


def test_policy_is_versioned_and_validated_on_save(client):
    r = client.get("/policy", headers=auth("staff", staff_id="s"))
    assert r.status_code == 200 and r.json["version"] == 1
    document = r.json["document"]
    assert client.post("/policies", json={"document": document}, headers=auth("branch_manager", branch_id=B)).status_code == 403
    bad = copy.deepcopy(document)
    bad["rules"][0]["on"] = "lsq.evaluation.graded.v1"
    r = client.post("/policies", json={"document": bad}, headers=ADMIN)
    assert r.status_code == 422 and "rules[0].on" in r.json["errors"] and r.json["message_zh"]
    bad = copy.deepcopy(document)
    bad["rules"][0]["when"] = {"mood": ["happy"]}
    r = client.post("/policies", json={"document": bad}, headers=ADMIN)
    assert r.status_code == 422 and "rules[0].when.mood" in r.json["errors"]
    assert client.post("/policies", json={"document": "all of it"}, headers=ADMIN).status_code == 422
    good = copy.deepcopy(document)
    good["rules"][0]["award"]["amount"] = 2500
    r = client.post("/policies", json={"document": good, "note": "bigger A"}, headers=ADMIN)
    assert r.status_code == 201 and r.json["version"] == 2
    assert r.json["document"]["rules"][0]["award"]["amount"] == "2500.00"
    assert client.get("/policy", headers=ADMIN).json["version"] == 2
    assert [p["version"] for p in client.get("/policies", headers=ADMIN).json["items"]] == [2, 1]
    assert client.get("/policies/7", headers=ADMIN).status_code == 404


def test_fund_budgets_statement_and_errors(client, runner):
    r = client.put(f"/funds/{B}/periods/2026-Q1", json={"budget": "10000.00"}, headers=ADMIN)
    assert r.status_code == 200 and r.json["available"] == "10000.00"
    assert client.put("/funds/nowhere/periods/2026-Q1", json={"budget": 1}, headers=ADMIN).json["errors"] == {
        "branch_id": ["unknown branch nowhere"]}
    assert "period" in client.put(f"/funds/{B}/periods/spring", json={"budget": 1}, headers=ADMIN).json["errors"]
    assert "budget" in client.put(f"/funds/{B}/periods/2026-Q1", json={"budget": -5}, headers=ADMIN).json["errors"]
    assert client.put(f"/funds/{B}/periods/2026-Q1", json={"budget": 1},
                      headers=auth("branch_manager", branch_id=B)).status_code == 403
    staff = _staff(runner)
    runner.apply_batch([scored(staff, B, "excellent", model.start_of_day(date(2026, 2, 1)))])
    r = client.put(f"/funds/{B}/periods/2026-Q1", json={"budget": "1000"}, headers=ADMIN)
    assert r.status_code == 409 and r.json["errors"] == {"budget": [r.json["message"]]}
    manager = auth("branch_manager", branch_id=B)
    r = client.get(f"/funds/{B}/statement?period=2026-Q1", headers=manager)
    assert r.status_code == 200 and r.json["granted"] == "2000.00" and r.json["available"] == "8000.00"
    [entry] = r.json["entries"]
    assert entry["kind"] == "award" and entry["tier"] == "A" and entry["causes"][0]["source"] == "/lsq/evaluation"
    assert client.get(f"/funds/{OTHER}/statement?period=2026-Q1", headers=manager).status_code == 403
    assert client.get(f"/funds/{B}/statement", headers=manager).status_code == 422
    assert client.get("/funds", headers=manager).json["total"] == 1


def test_violations_climb_the_ladder_and_an_overturned_appeal_recomputes_it(app, client, runner):
    staff = _staff(runner)
    supervisor = auth("supervisor", staff_id="sup-1", branch_id=B)
    body = {"staff_id": staff, "category": "attitude", "description": "Shouted at a reader at the loan desk"}
    first = client.post("/violations", json=body, headers=supervisor)
    assert first.status_code == 201, first.json
    assert [s["level"] for s in first.json["sanctions"]] == ["verbal_warning"]
    second = client.post("/violations", json=body, headers=supervisor)
    assert [s["level"] for s in second.json["sanctions"]] == ["written_warning"]
    assert client.post("/violations", json={**body, "staff_id": "ghost"}, headers=supervisor).json["errors"] == {
        "staff_id": ["unknown staff member ghost"]}
    assert client.post("/violations", json={**body, "category": "bad"}, headers=supervisor).status_code == 422
    assert client.post("/violations", json=body, headers=auth("supervisor", branch_id=OTHER)).status_code == 403
    assert client.post("/violations", json=body, headers=auth("staff", staff_id="x")).status_code == 403

    verbal = first.json["sanctions"][0]["id"]
    me = auth("staff", staff_id=staff)
    assert client.post(f"/sanctions/{verbal}/acknowledge", headers=auth("staff", staff_id="someone")).status_code == 403
    r = client.post(f"/sanctions/{verbal}/acknowledge", headers=me)
    assert r.status_code == 200 and r.json["status"] == "acknowledged"
    assert client.post(f"/sanctions/{verbal}/acknowledge", headers=me).status_code == 409
    r = client.post(f"/sanctions/{verbal}/appeal", json={"reason": "The reader was abusive first"}, headers=me)
    assert r.status_code == 200 and r.json["status"] == "appealed"
    assert client.post(f"/sanctions/{verbal}/appeal", json={"reason": "again"}, headers=me).status_code == 409
    assert client.get("/appeals?status=open", headers=auth("branch_manager", branch_id=B)).json["total"] == 1
    decision = {"decision": "overturned", "note": "CCTV shows the reader started it"}
    assert client.post(f"/sanctions/{verbal}/appeal/decision", json=decision,
                       headers=auth("branch_manager", branch_id=OTHER)).status_code == 403
    r = client.post(f"/sanctions/{verbal}/appeal/decision", json=decision, headers=auth("branch_manager", branch_id=B))
    assert r.status_code == 200 and r.json["status"] == "overturned"
    [revoked] = [e for e in _events(app, "lsq.sanction.revoked.v1") if e.data["cause"] == "appeal_overturned"]
    assert revoked.data["sanction_id"] == verbal and revoked.key == staff
    # the ladder is recomputed: the written warning was the second step, now it is the first
    standing = client.get(f"/staff/{staff}/standing", headers=me).json
    assert [s["level"] for s in standing["active_sanctions"]] == ["verbal_warning"]
    assert standing["ladder_step"] == 1 and standing["next_level"] == "written_warning"
    assert client.get(f"/staff/{staff}/standing", headers=auth("staff", staff_id="x")).status_code == 403
    assert client.get(f"/staff/{staff}/standing", headers=auth("supervisor", branch_id=OTHER)).status_code == 403
    assert client.get("/staff/nobody/standing", headers=ADMIN).status_code == 404
    # the commands were recorded in the worker's inbox: when they come back from Kafka, they are skipped
    with app.extensions["lsq"].db.read() as conn:
        [recorded] = outbox.events_for(conn, event_type="lsq.sanction.appeal_decided.v1")
        assert inbox.seen(conn, "lsq.incentive", recorded.source, recorded.id)


def test_appeals_only_within_the_window(client, runner):
    staff = _staff(runner)
    old = rfc3339(utcnow() - timedelta(days=20))
    r = client.post("/violations", json={"staff_id": staff, "category": "absence", "description": "No-show",
                                         "occurred_at": old}, headers=auth("branch_manager", branch_id=B))
    sanction = r.json["sanctions"][0]["id"]
    r = client.post(f"/sanctions/{sanction}/appeal", json={"reason": "late"}, headers=auth("staff", staff_id=staff))
    assert r.status_code == 409 and r.json["code"] == "appeal_window_closed"
    future = rfc3339(utcnow() + timedelta(days=2))
    assert client.post("/violations", json={"staff_id": staff, "category": "absence", "description": "x",
                                            "occurred_at": future}, headers=ADMIN).json["errors"] == {
        "occurred_at": ["occurred_at is in the future"]}


def test_ledger_filters_and_scoping(client, runner):
    staff, other = _staff(runner), _staff(runner, OTHER)
    complaint = resolved(staff, B, utcnow() - timedelta(hours=1))
    runner.apply_batch([complaint, resolved(other, OTHER, utcnow() - timedelta(hours=1))])
    r = client.get(f"/ledger?cause_id={complaint.id}", headers=ADMIN)
    assert r.json["total"] == 1
    [entry] = r.json["items"]
    assert entry["level"] == "verbal_warning" and entry["causes"] == [complaint.cause()] and entry["policy_version"] == 1
    assert client.get("/ledger", headers=auth("supervisor", branch_id=B)).json["total"] == 1
    assert client.get(f"/ledger?branch_id={OTHER}", headers=auth("supervisor", branch_id=B)).status_code == 403
    assert client.get("/ledger", headers=auth("staff", staff_id=other)).json["items"][0]["staff_id"] == other
    assert client.get(f"/ledger?staff_id={staff}", headers=auth("staff", staff_id=other)).status_code == 403
    assert client.get("/ledger?kind=bonus", headers=ADMIN).status_code == 422
    assert client.get("/sanctions?level=verbal_warning", headers=ADMIN).json["total"] == 2
    assert client.get("/sanctions/none", headers=ADMIN).status_code == 404


def test_award_approval_and_points_settlement(client, runner, time_machine):
    time_machine.move_to(shanghai(2026, 11, 20, 10), tick=False)  # the awards are paid later, in November
    staff = _staff(runner)
    manager = auth("branch_manager", branch_id=B)
    runner.apply_batch([scored(staff, B, "good", model.start_of_day(date(2026, 2, 1)))])
    [award] = client.get("/awards?status=pending", headers=manager).json["items"]
    assert award["waiting_for"] == "fund_short"
    r = client.post(f"/awards/{award['id']}/approve", json={}, headers=manager)
    assert r.status_code == 409 and r.json["code"] == "fund_short"
    client.put(f"/funds/{B}/periods/2026-Q1", json={"budget": "5000"}, headers=ADMIN)
    assert client.post(f"/awards/{award['id']}/approve", json={}, headers=auth("branch_manager", branch_id=OTHER)).status_code == 403
    r = client.post(f"/awards/{award['id']}/approve", json={"note": "budget arrived"}, headers=manager)
    assert r.status_code == 200 and r.json["status"] == "granted" and r.json["amount"] == "800.00"
    assert client.post(f"/awards/{award['id']}/reject", json={}, headers=manager).status_code == 409
    # points of 2026-Q1 become award credit at 10 CNY a point
    from tests.integration.incentive.support import praise
    runner.apply_batch([praise(staff, B, model.start_of_day(date(2026, 3, d))) for d in (1, 2, 3)])
    assert client.post("/periods/2099-Q1/settle", headers=ADMIN).status_code == 409
    assert client.post("/periods/2026-Q1/settle", headers=manager).status_code == 403
    r = client.post("/periods/2026-Q1/settle", headers=ADMIN)
    assert r.status_code == 201 and r.json["awards"] == 1
    assert client.post("/periods/2026-Q1/settle", headers=ADMIN).status_code == 409
    assert client.post("/periods/2026-05/settle", headers=ADMIN).status_code == 422  # funds are quarterly
    credit = client.get(f"/awards?tier=points_credit&staff_id={staff}", headers=manager).json["items"]
    assert [(a["status"], a["amount"]) for a in credit] == [("granted", "150.00")]
    standing = client.get(f"/staff/{staff}/standing?as_of=2026-03-31T00:00:00Z", headers=manager).json
    assert standing["points"]["this_month"] == 15
    assert standing["awards_this_year"]["granted_amount"] == "0.00"  # both were paid later, in November
    standing = client.get(f"/staff/{staff}/standing", headers=manager).json
    assert standing["awards_this_year"]["granted_amount"] == "950.00"
    assert [a["tier"] for a in standing["awards_this_year"]["items"]] == ["B", "points_credit"]


def test_supervisors_and_managers_acknowledge_and_appeal_their_own_sanctions_only(client, runner):
    boss = _staff(runner)
    r = client.post("/violations", json={"staff_id": boss, "category": "attitude", "description": "Rude on the phone"},
                    headers=ADMIN)
    sanction = r.json["sanctions"][0]["id"]
    assert client.post(f"/sanctions/{sanction}/acknowledge",
                       headers=auth("supervisor", staff_id="another-supervisor", branch_id=B)).status_code == 403
    own = auth("branch_manager", staff_id=boss, branch_id=B)
    assert client.post(f"/sanctions/{sanction}/acknowledge", headers=own).json["status"] == "acknowledged"
    assert client.post(f"/sanctions/{sanction}/appeal", json={"reason": "x"},
                       headers=auth("supervisor", staff_id="another-supervisor", branch_id=B)).status_code == 403
