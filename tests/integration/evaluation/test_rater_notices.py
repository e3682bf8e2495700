"""What raters are told: the peer ratings asked of them when a cycle opens or its ring changes, and
the deadline reminder a few days before (once per cycle and rater), in the outbox on both databases."""
from datetime import timedelta

import pytest

from services.evaluation import model, service
from shared import outbox
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth

from .conftest import ADMIN, cycle_body

pytestmark = pytest.mark.integration
ALL4 = {"service_attitude": 4, "professional_competence": 4, "efficiency": 4, "compliance": 4}


def events_of(app, event_type):
    with app.extensions["lsq"].db.read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def open_cycle(client, days: float = 2, **extra):
    body = cycle_body(submission_deadline=rfc3339(utcnow() + timedelta(days=days)), **extra)
    cycle = client.post("/cycles", headers=ADMIN, json=body).json
    opened = client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN)
    assert opened.status_code == 200, opened.json
    return opened.json


def test_each_rater_is_asked_once_with_how_many_colleagues_never_whom(app, client, network):
    branch = network.branch("EAST")
    staff = network.staff(branch, 6)
    [boss] = network.staff(branch, 1, role="supervisor", prefix="m")
    cycle = open_cycle(client, peers_per_person=3)
    requested = events_of(app, "lsq.cycle.peer_ratings_requested.v1")
    [opened] = events_of(app, "lsq.cycle.opened.v1")
    by_rater = {e.data["staff_id"]: e for e in requested}
    assert len(by_rater) == len(requested)  # one per rater
    for rater, event in by_rater.items():
        tasks = client.get(f"/cycles/{cycle['id']}/assignments", headers=auth("staff", staff_id=rater,
                                                                                   branch_id=branch)).json
        assert event.data["peers_to_rate"] == len(tasks["peers"]) > 0
        assert event.data["branch_id"] == branch and event.data["cycle_id"] == cycle["id"]
        assert event.caused_by == [opened.cause()]
        assert set(event.data) - {"caused_by"} == {"cycle_id", "period", "staff_id", "branch_id", "peers_to_rate",
                                   "submission_deadline", "requested_at"}  # nobody rated is named
    assert boss not in by_rater  # the supervisor rates as supervisor, never as a peer
    assert set(by_rater) <= set(staff)

    # an organiser adds a rater: that one is told, with everything they now rate
    target = staff[0]
    peers = client.get(f"/cycles/{cycle['id']}/participants/{target}/peers", headers=ADMIN).json["peers"]
    current = [p["staff_id"] for p in peers]
    newcomer = next(s for s in staff if s != target and s not in current)
    changed = client.put(f"/cycles/{cycle['id']}/participants/{target}/peers", headers=ADMIN,
                         json={"peer_ids": current[:1] + [newcomer]})
    assert changed.status_code == 200, changed.json
    later = events_of(app, "lsq.cycle.peer_ratings_requested.v1")[len(requested):]
    assert [e.data["staff_id"] for e in later] == [newcomer]
    tasks = client.get(f"/cycles/{cycle['id']}/assignments", headers=auth("staff", staff_id=newcomer,
                                                                               branch_id=branch)).json
    assert later[0].data["peers_to_rate"] == len(tasks["peers"])


def test_the_deadline_reminder_goes_once_to_each_rater_who_has_not_finished(app, client, network):
    branch = network.branch("WEST")
    staff = network.staff(branch, 3)
    [boss] = network.staff(branch, 1, role="supervisor", prefix="m")
    db = app.extensions["lsq"].db
    cycle = open_cycle(client, days=model.DEADLINE_REMINDER_DAYS + 1)
    cid = cycle["id"]
    assert service.remind_deadlines(db)["reminded"] == 0  # four days before: not yet

    # one staff member finishes everything: self and every peer rating
    done = staff[0]
    headers = auth("staff", staff_id=done, branch_id=branch)
    tasks = client.get(f"/cycles/{cid}/assignments", headers=headers).json
    for body in [{"staff_id": done, "rater_type": "self"}] + [
            {"staff_id": p["staff_id"], "rater_type": "peer"} for p in tasks["peers"]]:
        assert client.post(f"/cycles/{cid}/evaluations", headers=headers,
                           json={**body, "scores": ALL4}).status_code in (200, 201)

    soon = utcnow() + timedelta(days=1, hours=1)  # within three days of the deadline
    result = service.remind_deadlines(db, now=soon)
    reminders = {e.data["staff_id"]: e.data for e in events_of(app, "lsq.cycle.deadline_approaching.v1")}
    assert result["reminded"] == len(reminders) == 3 and done not in reminders
    assert set(reminders) == {staff[1], staff[2], boss}
    assert reminders[boss]["supervisor_pending"] == 3 and reminders[boss]["self_pending"] is True
    assert reminders[staff[1]]["supervisor_pending"] == 0 and reminders[staff[1]]["peers_pending"] >= 1

    # never twice for the same cycle, even after the ratings change or the sweep runs again
    assert service.remind_deadlines(db, now=soon + timedelta(hours=2))["reminded"] == 0
    assert len(events_of(app, "lsq.cycle.deadline_approaching.v1")) == 3
    # after the deadline nobody is reminded any more
    assert service.remind_deadlines(db, now=utcnow() + timedelta(days=10))["reminded"] == 0
