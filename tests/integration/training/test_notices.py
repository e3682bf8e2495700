"""What training tells people through its outbox (on SQLite and PostgreSQL): a waitlisted
enrolment moved into a free seat, and an external activity waiting for a supervisor's approval."""
from datetime import timedelta

import pytest

from services.training import service
from tests.integration.training.test_api import ADMIN, _events, _me, _session

pytestmark = pytest.mark.integration


def test_moving_off_the_waiting_list_is_published_for_each_person_moved(db, directory, client):
    branch = directory.branch()
    a, b, c, d = (directory.staff(branch, name=n) for n in ("甲", "乙", "丙", "丁"))
    session = _session(client, "RS-101", capacity=1, branch_id=branch).json
    first = client.post(f"/sessions/{session['id']}/enrolments", json={}, headers=_me(a, branch)).json
    waiting = {s: client.post(f"/sessions/{session['id']}/enrolments", json={}, headers=_me(s, branch)).json
               for s in (b, c, d)}
    assert {w["status"] for w in waiting.values()} == {"waitlisted"}
    assert _events(db, "lsq.training.enrolment_promoted.v1") == []  # nobody moved yet

    # a seat is given up: the first one waiting moves up and is told
    client.post(f"/enrolments/{first['id']}/cancel", json={}, headers=_me(a, branch))
    [moved] = _events(db, "lsq.training.enrolment_promoted.v1")
    assert moved.data["staff_id"] == b and moved.data["enrolment_id"] == waiting[b]["id"]
    assert moved.data["session_id"] == session["id"] and moved.data["branch_id"] == branch
    assert moved.data["title_zh"] == session["title_zh"] and moved.data["title"] == session["title_en"]
    assert moved.data["place"] == "中心馆三楼报告厅"

    # more seats: the rest move up, in queue order, one event each
    assert client.patch(f"/sessions/{session['id']}", json={"capacity": 3}, headers=ADMIN).status_code == 200
    later = _events(db, "lsq.training.enrolment_promoted.v1")[1:]
    assert [e.data["staff_id"] for e in later] == [c, d]
    # a change that frees no seat tells nobody again
    assert client.patch(f"/sessions/{session['id']}", json={"place": "二楼"}, headers=ADMIN).status_code == 200
    assert len(_events(db, "lsq.training.enrolment_promoted.v1")) == 3


def test_a_submitted_external_activity_is_published_for_its_approvers(db, directory, client):
    branch = directory.branch()
    person = directory.staff(branch)
    day = service.today() - timedelta(days=5)
    r = client.post("/external-activities", json={
        "kind": "academic_forum", "title": "长三角公共图书馆论坛", "organiser": "省图书馆学会",
        "activity_date": day.isoformat(), "hours": 4}, headers=_me(person, branch))
    assert r.status_code == 201, r.json
    [event] = _events(db, "lsq.training.external_submitted.v1")
    assert event.data["activity_id"] == r.json["id"] and event.data["staff_id"] == person
    assert event.data["branch_id"] == branch and event.data["kind"] == "academic_forum"
    assert event.data["activity_date"] == day.isoformat() and event.data["hours"] == 4
    # a refused submission publishes nothing
    assert client.post("/external-activities", json={"kind": "seminar", "title": "x", "organiser": "y",
                                                     "activity_date": day.isoformat(), "hours": 0},
                       headers=_me(person, branch)).status_code == 422
    assert len(_events(db, "lsq.training.external_submitted.v1")) == 1
