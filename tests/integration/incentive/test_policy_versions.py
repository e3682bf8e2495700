"""Policy versions with a later start day, and the dry run of a proposed version over a past period."""
import copy
import uuid
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from services.incentive import store
from services.incentive.model import DEFAULT_POLICY
from shared import bus, outbox
from shared.db import Database
from tests.helpers import auth, make_app, shanghai
from tests.integration.incentive.support import T0, branch_opened, record, resolved, scored, staff_joined

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


def _doc(amount="1500.00"):
    doc = copy.deepcopy(DEFAULT_POLICY)
    doc["rules"][0]["award"]["amount"] = amount  # excellent → tier A
    doc["rules"][4]["sanction"] = {"level": "written_warning"}  # substantiated → straight to a written warning
    return doc


def test_a_version_starts_at_local_midnight_of_its_day_and_not_before(database_url, time_machine):
    time_machine.move_to(shanghai(2026, 12, 31, 23, 30), tick=False)
    client = make_app("incentive", database_url).test_client()
    saved = client.post("/policies", json={"document": _doc(), "starts_on": "2027-01-01"}, headers=ADMIN)
    assert saved.status_code == 201, saved.json
    assert saved.json["status"] == "scheduled" and saved.json["starts_on"] == "2027-01-01"
    assert saved.json["activated_at"].startswith("2026-12-31T16:00:00")  # local midnight in Shanghai
    assert client.get("/policy", headers=ADMIN).json["version"] == 1
    time_machine.move_to(shanghai(2027, 1, 1, 0, 1), tick=False)
    assert client.get("/policy", headers=ADMIN).json["version"] == saved.json["version"]
    assert client.get(f"/policies/{saved.json['version']}", headers=ADMIN).json["status"] == "active"


@pytest.mark.parametrize("day", ["2026-12-31", "2026-06-01"])
def test_a_start_day_that_is_not_later_than_today_is_refused(database_url, time_machine, day):
    time_machine.move_to(shanghai(2026, 12, 31, 23, 30), tick=False)
    client = make_app("incentive", database_url).test_client()
    answer = client.post("/policies", json={"document": _doc(), "starts_on": day}, headers=ADMIN)
    assert answer.status_code == 422 and answer.json["errors"].keys() == {"starts_on"}, answer.json


def test_a_scheduled_version_can_be_withdrawn_before_it_starts(database_url, time_machine):
    time_machine.move_to(shanghai(2026, 12, 1, 10), tick=False)
    client = make_app("incentive", database_url).test_client()
    version = client.post("/policies", json={"document": _doc(), "starts_on": "2027-01-01"}, headers=ADMIN).json["version"]
    assert client.post(f"/policies/{version}/withdraw", headers=ADMIN).json["status"] == "withdrawn"
    time_machine.move_to(shanghai(2027, 1, 2), tick=False)
    assert client.get("/policy", headers=ADMIN).json["version"] == 1
    assert client.post("/policies/1/withdraw", headers=ADMIN).status_code == 409


@pytest.mark.parametrize("body,field", [
    ({"version": 1, "since": "2026-03-31", "until": "2026-03-01"}, "until"),
    ({"version": 99, "since": "2026-03-01", "until": "2026-03-31"}, "version"),
    ({"version": 1, "since": "2026-03-01", "until": "2999-01-01"}, "until"),
    ({"version": 1, "since": "2026-03-01"}, "until"),
])
def test_dry_run_input_errors_name_the_field(database_url, body, field):
    client = make_app("incentive", database_url).test_client()
    answer = client.post("/policies/dry-run", json=body, headers=ADMIN)
    assert answer.status_code == 422 and field in answer.json["errors"], answer.json


def test_a_dry_run_shows_the_proposal_beside_what_was_decided_and_writes_nothing(database_url, kafka_bootstrap):
    branch = f"branch-{uuid.uuid4().hex[:8]}"
    staff = str(uuid.uuid4())
    events = [branch_opened(branch), staff_joined(staff, branch),
              scored(staff, branch, "excellent", T0), resolved(staff, branch, T0 + timedelta(days=1))]
    app = make_app("incentive", database_url, kafka_bootstrap=kafka_bootstrap)
    client = app.test_client()
    db = Database(database_url, "incentive")
    from services.incentive.handlers import HANDLERS
    from services.incentive.runner import IncentiveRunner
    IncentiveRunner(db, "127.0.0.1:1", "lsq.incentive", HANDLERS).apply_batch(events)  # what was decided live
    assert client.put(f"/funds/{branch}/periods/2026-Q1", json={"budget": "10000.00"}, headers=ADMIN).status_code == 200
    bus.ensure_topics(kafka_bootstrap, sorted({record(e)[0] for e in events}))
    producer = bus.make_producer(kafka_bootstrap)
    for e in events:
        topic, key, value, headers = record(e)
        producer.send(topic, key=key, value=value, headers=headers)
    producer.flush()
    version = client.post("/policies", json={"document": _doc(), "starts_on": str(date(2099, 1, 1))},
                          headers=ADMIN).json["version"]
    with db.read() as conn:
        before = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                  for t in (store.ledger, store.awards, store.sanctions)]
        outbox_before = conn.execute(select(func.count()).select_from(outbox.outbox)).scalar_one()

    answer = client.post("/policies/dry-run", json={"version": version, "since": "2026-03-01", "until": "2026-03-31"},
                         headers=ADMIN)
    assert answer.status_code == 200, answer.json
    mine = [b for b in answer.json["branches"] if b["branch_id"] == branch]
    assert len(mine) == 1 and mine[0]["name_zh"] == "中心馆"
    current, proposed = mine[0]["current"], mine[0]["proposed"]
    assert current["awards"]["amount"] == "2000.00" and proposed["awards"]["amount"] == "1500.00"
    assert current["sanctions"] == [{"level": "verbal_warning", "count": 1}]
    assert proposed["sanctions"] == [{"level": "written_warning", "count": 1}]
    assert current["funds"] == [{"period": "2026-Q1", "budget": "10000.00", "granted": "2000.00"}]
    assert proposed["funds"] == [{"period": "2026-Q1", "budget": "10000.00", "granted": "1500.00"}]
    with db.read() as conn:
        after = [conn.execute(select(func.count()).select_from(t)).scalar_one()
                 for t in (store.ledger, store.awards, store.sanctions)]
        outbox_after = conn.execute(select(func.count()).select_from(outbox.outbox)).scalar_one()
    assert after == before and outbox_after == outbox_before
    db.dispose()
