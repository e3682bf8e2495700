"""Issue 17 through the API: branch managers run their own branch's cycles; drafts are edited and
deleted, open cycles extended; peers never include a supervisor; scores cite their cause; the
incentive service's appeal words filter here too. On SQLite and PostgreSQL."""
from datetime import timedelta

import pytest

from shared import outbox
from shared.events import get as get_event_type
from shared.timeutil import parse_rfc3339, rfc3339, utcnow
from tests.helpers import auth

from .conftest import ADMIN, cycle_body

pytestmark = pytest.mark.integration
ALL4 = {"service_attitude": 4, "professional_competence": 4, "efficiency": 4, "compliance": 4}


def events_of(app, event_type):
    with app.extensions["lsq"].db.read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def manager_of(branch_id, staff_id="mgr"):
    return auth("branch_manager", staff_id=f"{staff_id}-{branch_id}"[:64], branch_id=branch_id)


def test_a_branch_manager_runs_their_own_branchs_cycle_and_never_another(app, client, network):
    east, west = network.branch("EAST"), network.branch("WEST")
    east_staff = network.staff(east, 3)
    network.staff(west, 3)
    mine, theirs = manager_of(east), manager_of(west)

    # a branch manager's cycle is of their own branch (the default scope for them), run by them
    created = client.post("/cycles", headers=mine, json=cycle_body(scope=None))
    assert created.status_code == 201, created.json
    cycle = created.json
    assert cycle["scope"] == "branches" and cycle["branch_ids"] == [east] and cycle["owner_branch_id"] == east
    assert cycle["status_zh"] == "草稿"
    cid = cycle["id"]
    # never a network cycle, another branch's, or the network's rater weights
    assert client.post("/cycles", headers=mine, json=cycle_body(scope="network")).status_code == 403
    assert client.post("/cycles", headers=mine, json=cycle_body(scope="branches", branch_ids=[east, west])
                       ).status_code == 403
    weights = client.post("/cycles", headers=mine, json=cycle_body(
        scope=None, rater_weights={"reader": 0, "supervisor": 0, "peer": 0, "self": 1}))
    assert weights.status_code == 403 and weights.json["message_zh"]

    # the other branch never sees it: not in lists, 404 for the cycle and all below it
    listed = client.get("/cycles?page_size=100", headers=theirs).json
    assert cid not in [c["id"] for c in listed["items"]]
    assert cid in [c["id"] for c in client.get("/cycles?page_size=100", headers=mine).json["items"]]
    assert cid in [c["id"] for c in client.get("/cycles?page_size=100", headers=auth("auditor")).json["items"]]
    west_staff = auth("staff", staff_id="w-1", branch_id=west)
    assert cid not in [c["id"] for c in client.get("/cycles?page_size=100", headers=west_staff).json["items"]]
    for method, path in (("get", ""), ("post", "/open"), ("patch", ""), ("delete", ""), ("get", "/participants"),
                         ("get", "/assignments")):
        kwargs = {"json": {}} if method == "patch" else {}
        r = getattr(client, method)(f"/cycles/{cid}{path}", headers=theirs, **kwargs)
        assert r.status_code == 404, (method, path, r.status_code)
        assert r.json["code"] == "cycle_not_found"

    # the manager runs it to the end
    assert client.post(f"/cycles/{cid}/open", headers=mine).json["status"] == "open"
    [opened] = events_of(app, "lsq.cycle.opened.v1")
    assert opened.data["owner_branch_id"] == east and opened.data["branch_ids"] == [east]
    for s in east_staff:
        r = client.post(f"/cycles/{cid}/evaluations", headers=auth("staff", staff_id=s, branch_id=east),
                        json={"staff_id": s, "rater_type": "self", "scores": ALL4})
        assert r.status_code == 201, r.json
    assert client.post(f"/cycles/{cid}/close", headers=mine).json["status"] == "closed"
    assert client.post(f"/cycles/{cid}/publish", headers=mine).json["status"] == "published"
    assert len(events_of(app, "lsq.evaluation.scored.v1")) == 3

    # another branch's result and its appeal are 404 to the other manager
    mine_staff = auth("staff", staff_id=east_staff[0], branch_id=east)
    [result] = client.get(f"/staff/{east_staff[0]}/evaluations", headers=mine_staff).json
    assert client.get(f"/evaluations/{result['id']}", headers=theirs).status_code == 404
    assert client.get(f"/staff/{east_staff[0]}/evaluations", headers=theirs).status_code == 404
    appeal = client.post(f"/evaluations/{result['id']}/appeal", headers=mine_staff,
                         json={"reason": "my desk was closed for a week / 服务台停开一周"}).json
    r = client.post(f"/appeals/{appeal['id']}/decision", headers=theirs, json={"decision": "uphold",
                                                                                "reason": "not my branch"})
    assert r.status_code == 404 and r.json["code"] == "appeal_not_found"
    assert client.get("/appeals", headers=theirs).json["total"] == 0


def test_the_network_offices_cycles_stay_with_the_network_office(client, network):
    east = network.branch("EAST")
    network.staff(east, 3)
    mine = manager_of(east)
    for body in (cycle_body(), cycle_body(scope="branches", branch_ids=[east])):
        cycle = client.post("/cycles", headers=ADMIN, json=body).json
        assert cycle["owner_branch_id"] is None
        # the manager sees it (their staff take part) but does not run it
        assert client.get(f"/cycles/{cycle['id']}", headers=mine).status_code == 200
        for method, path in (("post", "/open"), ("patch", ""), ("delete", "")):
            kwargs = {"json": {"period": "renamed"}} if method == "patch" else {}
            r = getattr(client, method)(f"/cycles/{cycle['id']}{path}", headers=mine, **kwargs)
            assert r.status_code == 403, (method, path)
    assert client.post("/cycles", headers=auth("supervisor", staff_id="sup", branch_id=east),
                       json=cycle_body(scope=None)).status_code == 403


def test_a_deadline_in_the_past_is_refused_at_creation(client, network):
    east = network.branch("EAST")
    past = rfc3339(utcnow() - timedelta(minutes=1))
    for who, extra in ((ADMIN, {}), (manager_of(east), {"scope": None})):
        r = client.post("/cycles", headers=who, json=cycle_body(submission_deadline=past, **extra))
        assert r.status_code == 422 and r.json["code"] == "deadline_in_past"
        assert list(r.json["errors"]) == ["submission_deadline"] and r.json["message_zh"]


def test_drafts_are_edited_and_deleted_open_cycles_only_extended(app, client, network):
    east = network.branch("EAST")
    staff = network.staff(east, 3)
    mine = manager_of(east)
    cid = client.post("/cycles", headers=mine, json=cycle_body(scope=None)).json["id"]

    # a draft: any field, checked as at creation
    deadline = (utcnow() + timedelta(days=10)).replace(microsecond=0)
    edited = client.patch(f"/cycles/{cid}", headers=mine, json={"period": "Spring review",
                                                               "submission_deadline": rfc3339(deadline),
                                                               "peers_per_person": 4})
    assert edited.status_code == 200, edited.json
    assert edited.json["period"] == "Spring review" and edited.json["settings"]["peers_per_person"] == 4
    assert parse_rfc3339(edited.json["submission_deadline"]) == deadline
    assert client.get(f"/cycles/{cid}", headers=mine).json["period"] == "Spring review"
    bad = client.patch(f"/cycles/{cid}", headers=mine, json={"submission_deadline": rfc3339(utcnow() - timedelta(1))})
    assert bad.status_code == 422 and "submission_deadline" in bad.json["errors"]
    bad = client.patch(f"/cycles/{cid}", headers=mine, json={"peers_per_person": 99})
    assert bad.status_code == 422 and "peers_per_person" in bad.json["errors"]
    # the network office may edit it too; it stays the branch's
    assert client.patch(f"/cycles/{cid}", headers=ADMIN, json={"period": "Spring"}).json["owner_branch_id"] == east

    # a draft can be deleted
    other = client.post("/cycles", headers=mine, json=cycle_body(scope=None)).json["id"]
    assert client.delete(f"/cycles/{other}", headers=mine).status_code == 204
    assert client.get(f"/cycles/{other}", headers=mine).status_code == 404

    # open: only the deadline, and only later
    assert client.post(f"/cycles/{cid}/open", headers=mine).status_code == 200
    r = client.patch(f"/cycles/{cid}", headers=mine, json={"period": "Autumn"})
    assert r.status_code == 409 and r.json["code"] == "cycle_state" and "period" in r.json["errors"]
    r = client.delete(f"/cycles/{cid}", headers=mine)
    assert r.status_code == 409 and r.json["message_zh"] == "周期当前为“开放评价”状态，无法删除（需为“草稿”）"
    shorter = client.patch(f"/cycles/{cid}", headers=mine,
                           json={"submission_deadline": rfc3339(deadline - timedelta(days=1))})
    assert shorter.status_code == 422 and shorter.json["code"] == "deadline_not_extended"
    later = deadline + timedelta(days=5)
    extended = client.patch(f"/cycles/{cid}", headers=mine, json={"submission_deadline": rfc3339(later)})
    assert extended.status_code == 200 and parse_rfc3339(extended.json["submission_deadline"]) == later
    [event] = events_of(app, "lsq.cycle.extended.v1")
    assert event.data["cycle_id"] == cid and event.data["branch_ids"] == [east]
    assert parse_rfc3339(event.data["previous_deadline"]) == deadline
    assert parse_rfc3339(event.data["submission_deadline"]) == later and event.data["caused_by"] == []

    # closed: nothing changes any more
    assert client.post(f"/cycles/{cid}/close", headers=mine).status_code == 200
    r = client.patch(f"/cycles/{cid}", headers=mine, json={"submission_deadline": rfc3339(later + timedelta(1))})
    assert r.status_code == 409 and "已关闭" in r.json["message_zh"] and "closed" not in r.json["message_zh"]
    assert staff  # participants existed


def test_peers_are_never_the_supervisor_nor_the_branch_manager(client, network):
    east = network.branch("EAST")
    staff = network.staff(east, 4)
    [supervisor] = network.staff(east, 1, role="supervisor", prefix="m")
    [boss] = network.staff(east, 1, role="branch_manager", prefix="b")
    cid = client.post("/cycles", headers=ADMIN, json=cycle_body()).json["id"]
    assert client.post(f"/cycles/{cid}/open", headers=ADMIN).status_code == 200
    for s in staff:
        peers = [p["staff_id"] for p in client.get(f"/cycles/{cid}/participants/{s}/peers", headers=ADMIN).json["peers"]]
        assert len(peers) == 3 and supervisor not in peers and boss not in peers
    sup_tasks = client.get(f"/cycles/{cid}/assignments",
                           headers=auth("supervisor", staff_id=supervisor, branch_id=east)).json
    assert sup_tasks["peers"] == [] and {t["staff_id"] for t in sup_tasks["supervisor"]} >= set(staff)
    # nor can they be made one by hand
    r = client.put(f"/cycles/{cid}/participants/{staff[0]}/peers", headers=ADMIN,
                   json={"peer_ids": [staff[1], staff[2], supervisor]})
    assert r.status_code == 422 and r.json["code"] == "supervisor_as_peer" and "peer_ids" in r.json["errors"]


def test_scores_cite_the_close_and_revisions_the_result_they_replace(app, client, network):
    east = network.branch("EAST")
    [person] = network.staff(east, 1)
    mine = manager_of(east)
    cid = client.post("/cycles", headers=mine, json=cycle_body(scope=None)).json["id"]
    client.post(f"/cycles/{cid}/open", headers=mine)
    me = auth("staff", staff_id=person, branch_id=east)
    client.post(f"/cycles/{cid}/evaluations", headers=me, json={"staff_id": person, "rater_type": "self",
                                                                 "scores": ALL4})
    client.post(f"/cycles/{cid}/close", headers=mine)
    client.post(f"/cycles/{cid}/publish", headers=mine)
    [closed] = events_of(app, "lsq.cycle.closed.v1")
    [scored] = events_of(app, "lsq.evaluation.scored.v1")
    assert scored.data["caused_by"] == [{"source": closed.source, "id": closed.id}]
    assert closed.source == get_event_type("lsq.cycle.closed.v1").source

    [result] = client.get(f"/staff/{person}/evaluations", headers=me).json
    appeal = client.post(f"/evaluations/{result['id']}/appeal", headers=me,
                         json={"reason": "a busy quarter / 本季度工作繁忙"}).json
    assert appeal["status"] == "pending" and appeal["status_zh"] == "待处理"
    # the incentive service's words filter the same appeals
    assert [a["id"] for a in client.get("/appeals?status=open", headers=mine).json["items"]] == [appeal["id"]]
    assert client.get("/appeals?status=decided", headers=mine).json["total"] == 0
    bad = client.get("/appeals?status=closed", headers=mine)
    assert bad.status_code == 422 and "status" in bad.json["errors"]
    decided = client.post(f"/appeals/{appeal['id']}/decision", headers=mine,
                          json={"decision": "revised", "reason": "the desk was closed", "score": 85})
    assert decided.status_code == 200 and decided.json["status"] == "revised"
    assert decided.json["status_zh"] == "已改分"
    assert [a["id"] for a in client.get("/appeals?status=decided", headers=mine).json["items"]] == [appeal["id"]]
    assert client.get("/appeals?status=open", headers=mine).json["total"] == 0
    [rescored] = events_of(app, "lsq.evaluation.rescored.v1")
    assert rescored.data["caused_by"] == [{"source": scored.source, "id": scored.id}]
    assert rescored.data["appeal_id"] == appeal["id"]
