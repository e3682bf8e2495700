"""A whole cycle through the HTTP API on SQLite and PostgreSQL: open, rate, close, publish, appeal."""
import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.evaluation import store
from shared import outbox
from shared.timeutil import local_today, utcnow
from tests.helpers import auth

from .conftest import ADMIN, cycle_body

pytestmark = pytest.mark.integration
ALL5 = {"service_attitude": 5, "professional_competence": 5, "efficiency": 5, "compliance": 5}
ALL4 = {k: 4 for k in ALL5}
ALL3 = {k: 3 for k in ALL5}


def staff_auth(staff_id, branch_id, role="staff"):
    return auth(role, staff_id=staff_id, branch_id=branch_id)


def rate(client, cycle_id, rater, branch, staff_id, rater_type, scores, role="staff"):
    return client.post(f"/cycles/{cycle_id}/evaluations", headers=staff_auth(rater, branch, role),
                       json={"staff_id": staff_id, "rater_type": rater_type, "scores": scores})


def events_of(app, event_type):
    with app.extensions["lsq"].db.read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def test_full_cycle(app, client, network):
    b1, b2 = network.branch("EAST"), network.branch("WEST")
    staff1 = network.staff(b1, 4)
    [boss1] = network.staff(b1, 1, role="supervisor", prefix="m")
    staff2 = network.staff(b2, 3)
    network.staff(b2, 1, role="auditor", prefix="x")  # not evaluated
    target = staff1[0]
    now = utcnow()
    rejected_praise = "praise-rejected-1"
    # reader feedback of the period for the target: 5 ratings of 4, 2 praise (+ one rejected before it
    # arrived), one substantiated high complaint, one unsubstantiated; and a rating from before the period
    network.apply(network.praise_rejected(rejected_praise, target, b1, now))
    network.apply(*[network.rating(target, b1, 4, now - timedelta(days=d)) for d in range(1, 6)],
                  network.rating(target, b1, 1, now - timedelta(days=200)),
                  network.praise(target, b1, now), network.praise(target, b1, now),
                  network.praise(target, b1, now, praise_id=rejected_praise),
                  network.complaint(target, b1, now),
                  network.complaint(target, b1, now, outcome="unsubstantiated"))

    created = client.post("/cycles", headers=ADMIN, json=cycle_body())
    assert created.status_code == 201, created.json
    cycle = created.json
    assert cycle["status"] == "draft" and cycle["rubric_version"] == 1
    cid = cycle["id"]
    # ratings are not taken in a draft
    assert rate(client, cid, target, b1, target, "self", ALL4).status_code == 409

    opened = client.post(f"/cycles/{cid}/open", headers=ADMIN)
    assert opened.status_code == 200, opened.json
    assert opened.json["participants"] == 8 and opened.json["branch_ids"] == sorted([b1, b2])
    assert client.post(f"/cycles/{cid}/open", headers=ADMIN).status_code == 409
    [opened_event] = events_of(app, "lsq.cycle.opened.v1")
    assert opened_event.data["participants"] == 8

    # what the target has to do, and who rates the target (organiser's view only)
    tasks = client.get(f"/cycles/{cid}/assignments", headers=staff_auth(target, b1)).json
    # peers are the three other staff of the branch, never its supervisor (who rates as supervisor)
    assert tasks["self"] == {"required": True, "submitted": False} and len(tasks["peers"]) == 3
    assert client.get(f"/cycles/{cid}/participants/{target}/peers",
                      headers=staff_auth(target, b1, "branch_manager")).status_code == 403
    assert client.get(f"/cycles/{cid}/participants/{target}/peers", headers=staff_auth(target, b1)).status_code == 403
    peers = client.get(f"/cycles/{cid}/participants/{target}/peers", headers=ADMIN).json["peers"]
    peer_ids = [p["staff_id"] for p in peers]
    assert len(peer_ids) == 3 and target not in peer_ids and boss1 not in peer_ids

    # self, peers, supervisor
    assert rate(client, cid, target, b1, target, "self", ALL3).status_code == 201
    changed = rate(client, cid, target, b1, target, "self", ALL5)
    assert changed.status_code == 200 and changed.json["scores"] == ALL5
    for peer in peer_ids[:3]:
        assert rate(client, cid, peer, b1, target, "peer", ALL4).status_code == 201
    outsider = staff2[0]
    assert rate(client, cid, outsider, b2, target, "peer", ALL4).status_code == 403
    assert rate(client, cid, staff2[1], b2, target, "supervisor", ALL4, role="supervisor").status_code == 403
    assert rate(client, cid, boss1, b1, target, "supervisor", ALL5, role="supervisor").status_code == 201
    bad = rate(client, cid, target, b1, target, "self", {**ALL5, "efficiency": 7})
    assert bad.status_code == 422 and "scores.efficiency" in bad.json["errors"]
    unknown = client.post(f"/cycles/{cid}/evaluations", headers=staff_auth(target, b1),
                          json={"staff_id": "nobody", "rater_type": "self", "scores": ALL5})
    assert unknown.status_code == 422 and "staff_id" in unknown.json["errors"]
    # everybody else rates themselves so everybody gets a score
    for s in staff1[1:] + staff2 + [boss1]:
        branch = b1 if s in staff1 or s == boss1 else b2
        assert rate(client, cid, s, branch, s, "self", ALL4, role="supervisor" if s == boss1 else "staff").status_code == 201

    # auditors read every rating, peers anonymous
    audit = client.get(f"/cycles/{cid}/ratings?staff_id={target}", headers=auth("auditor")).json
    assert audit["total"] == 5
    assert sorted((i["rater_type"], i["rater_id"]) for i in audit["items"]) == [
        ("peer", None), ("peer", None), ("peer", None), ("self", target), ("supervisor", boss1)]
    assert client.get(f"/cycles/{cid}/ratings", headers=staff_auth(boss1, b1, "branch_manager")).status_code == 403

    # a rating after the deadline is refused
    with app.extensions["lsq"].db.transaction() as conn:
        conn.execute(update(store.cycles).where(store.cycles.c.id == cid)
                     .values(submission_deadline=utcnow() - timedelta(seconds=1)))
    late = rate(client, cid, target, b1, target, "self", ALL4)
    assert late.status_code == 409 and late.json["code"] == "deadline_passed"

    assert client.get(f"/cycles/{cid}/scores", headers=ADMIN).status_code == 409  # not closed yet
    closed = client.post(f"/cycles/{cid}/close", headers=ADMIN)
    assert closed.status_code == 200 and closed.json["scored"] == 8 and len(closed.json["scores_digest"]) == 64

    scores = client.get(f"/cycles/{cid}/scores?page_size=100", headers=ADMIN).json
    assert scores["total"] == 8
    mine = next(i for i in scores["items"] if i["staff_id"] == target)
    # reader = 4 + 0.2 praise - 1.0 complaint = 3.2; supervisor 5; peers 4 (3 answers); self 5
    assert mine["components"]["reader"]["value"] == 3.2
    assert mine["reader_inputs"] == {"rating_count": 5, "rating_sum": 20, "praise_count": 2,
                                     "complaints": {"substantiated:high": 1}}
    assert mine["components"]["peer"] == {"used": True, "answers": 3, "value": 4.0, "weight": 0.2,
                                          "effective_weight": 0.2, "reason": None}
    assert mine["score"] == 81.6 and mine["grade"] == "good"  # 20 × (1.28 + 1.5 + 0.8 + 0.5)
    assert mine["components_missing"] == []
    others = [i for i in scores["items"] if i["staff_id"] in staff2]
    assert all(i["score"] == 80.0 and i["components_used"] == ["self"] for i in others)
    assert sorted(i["rank_in_branch"] for i in others) == [1, 1, 1]

    # feedback arriving after the close changes nothing
    network.apply(network.complaint(target, b1, now, severity="urgent"), network.rating(target, b1, 1, now))
    again = client.get(f"/evaluations/{mine['id']}", headers=ADMIN).json
    assert again["score"] == 81.6 and again["reader_inputs"] == mine["reader_inputs"]

    # a branch manager sees their branch only; staff see nothing before publication
    east = client.get(f"/cycles/{cid}/scores", headers=staff_auth(boss1, b1, "branch_manager")).json
    assert {i["branch_id"] for i in east["items"]} == {b1}
    assert client.get(f"/cycles/{cid}/scores?branch_id={b2}",
                      headers=staff_auth(boss1, b1, "branch_manager")).status_code == 403
    assert client.get(f"/cycles/{cid}/scores", headers=staff_auth(target, b1)).status_code == 403
    assert client.get(f"/staff/{target}/evaluations", headers=staff_auth(target, b1)).json == []
    assert client.get(f"/evaluations/{mine['id']}", headers=staff_auth(target, b1)).status_code == 404

    # CSV and summary
    response = client.get(f"/cycles/{cid}/scores.csv", headers=auth("auditor"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 8 and {r["staff_id"] for r in rows} >= {target}
    assert next(r for r in rows if r["staff_id"] == target)["grade_zh"] == "良好"
    summary = client.get(f"/cycles/{cid}/branches/{b2}/summary", headers=auth("auditor")).json
    assert summary["branch"]["grades"]["good"] == 3 and summary["network"]["scored"] == 8
    assert summary["branch"]["dimension_means"]["efficiency"] == 4.0

    published = client.post(f"/cycles/{cid}/publish", headers=ADMIN)
    assert published.status_code == 200 and published.json["status"] == "published"
    scored = events_of(app, "lsq.evaluation.scored.v1")
    assert len(scored) == 8 and len({e.data["staff_id"] for e in scored}) == 8
    event = next(e for e in scored if e.data["staff_id"] == target)
    assert event.key == target and event.data["grade"] == "good" and event.data["score"] == 81.6
    assert set(event.data["dimension_scores"]) == set(ALL5) and event.data["revision"] == 0
    # peer identities never leave: not in the person's result, not in any event
    own = client.get(f"/staff/{target}/evaluations", headers=staff_auth(target, b1))
    assert own.status_code == 200 and len(own.json) == 1
    text = own.get_data(as_text=True) + json.dumps([e.data for e in scored]) + response.get_data(as_text=True)
    for peer in peer_ids:
        assert peer not in own.get_data(as_text=True)
        assert peer not in json.dumps(event.data)
    assert "rater" not in text
    assert client.get(f"/staff/{target}/evaluations", headers=staff_auth(staff1[1], b1)).status_code == 403

    # appeal and revision
    evaluation_id = own.json[0]["id"]
    assert client.post(f"/evaluations/{evaluation_id}/appeal", headers=staff_auth(staff1[1], b1),
                       json={"reason": "not mine"}).status_code == 404
    short = client.post(f"/evaluations/{evaluation_id}/appeal", headers=staff_auth(target, b1), json={"reason": "x"})
    assert short.status_code == 422 and "reason" in short.json["errors"]
    appeal = client.post(f"/evaluations/{evaluation_id}/appeal", headers=staff_auth(target, b1),
                         json={"reason": "the complaint was about a colleague / 投诉对象有误"})
    assert appeal.status_code == 201, appeal.json
    assert client.post(f"/evaluations/{evaluation_id}/appeal", headers=staff_auth(target, b1),
                       json={"reason": "again and again"}).status_code == 409
    pending = client.get("/appeals?status=pending", headers=staff_auth(boss1, b1, "branch_manager")).json
    assert [a["id"] for a in pending["items"]] == [appeal.json["id"]]
    # one branch's appeals: the network admin filters by branch; a manager may name only their own
    assert [a["id"] for a in client.get(f"/appeals?branch_id={b1}", headers=ADMIN).json["items"]] == [appeal.json["id"]]
    assert client.get(f"/appeals?branch_id={b2}", headers=ADMIN).json["items"] == []
    assert client.get(f"/appeals?status=pending&branch_id={b1}",
                      headers=staff_auth(boss1, b1, "branch_manager")).json["total"] == 1
    assert client.get(f"/appeals?branch_id={b2}", headers=staff_auth(boss1, b1, "branch_manager")).status_code == 403
    no_score = client.post(f"/appeals/{appeal.json['id']}/decision", headers=staff_auth(boss1, b1, "branch_manager"),
                           json={"decision": "revise", "reason": "complaint misattributed"})
    assert no_score.status_code == 422 and "score" in no_score.json["errors"]
    decided = client.post(f"/appeals/{appeal.json['id']}/decision", headers=staff_auth(boss1, b1, "branch_manager"),
                          json={"decision": "revise", "reason": "complaint misattributed", "score": 90.5})
    assert decided.status_code == 200, decided.json
    assert decided.json["new_grade"] == "excellent" and decided.json["revision"] == 1
    [rescored] = events_of(app, "lsq.evaluation.rescored.v1")
    assert rescored.data["revision"] == 1 and rescored.data["previous_score"] == 81.6
    assert rescored.data["score"] == 90.5 and rescored.data["grade"] == "excellent"
    after = client.get(f"/evaluations/{evaluation_id}", headers=staff_auth(target, b1)).json
    assert after["status"] == "revised" and after["rank_in_branch"] == 1 and after["appeals"][0]["status"] == "revised"
    ack = client.post(f"/evaluations/{evaluation_id}/acknowledge", headers=staff_auth(target, b1))
    assert ack.status_code == 200 and ack.json["acknowledged_at"] is not None
    [published_event] = events_of(app, "lsq.cycle.published.v1")
    assert published_event.data["results"] == 8


def test_bad_input_is_a_clear_4xx(client, network):
    b1 = network.branch("NORTH")
    assert client.post("/cycles", headers=ADMIN, json=cycle_body(period="2026-Q9", period_start=None,
                                                                 period_end=None)).json["errors"] == {
        "period": ["period '2026-Q9' is not YYYY, YYYY-Qn, YYYY-Hn or YYYY-MM (or give period_start and period_end)"]}
    r = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches", branch_ids=["nope"]))
    assert r.status_code == 422 and "branch_ids" in r.json["errors"]
    r = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches"))
    assert r.status_code == 422 and "branch_ids" in r.json["errors"]
    r = client.post("/cycles", headers=ADMIN, json=cycle_body(rater_weights={"reader": 0.9, "self": 0.2}))
    assert r.status_code == 422 and "rater_weights" in r.json["errors"]
    r = client.post("/cycles", headers=ADMIN, json=cycle_body(submission_deadline="2026-01-01T00:00:00"))
    assert r.status_code == 422 and "submission_deadline" in r.json["errors"]
    r = client.post("/cycles", headers=ADMIN, json=cycle_body(rubric_id="nope"))
    assert r.status_code == 422 and "rubric_id" in r.json["errors"]
    # a branch manager creates cycles of their own branch, never a network one
    assert client.post("/cycles", headers=auth("branch_manager", branch_id=b1),
                       json=cycle_body(scope="network")).status_code == 403
    assert client.post("/cycles", json=cycle_body()).status_code == 401
    r = client.post("/rubrics", headers=ADMIN, json={"dimensions": [
        {"code": "a_dim", "label_en": "A", "label_zh": "甲", "weight": 0.5},
        {"code": "b_dim", "label_en": "B", "label_zh": "乙", "weight": 0.4}]})
    assert r.status_code == 422 and r.json["code"] == "weights_do_not_sum_to_1" and r.json["message_zh"]
    r = client.put("/settings", headers=ADMIN, json={"rater_weights": {"reader": 0.5, "supervisor": 0.3, "peer": 0.2,
                                                                       "self": 0.1}})
    assert r.status_code == 422 and "rater_weights" in r.json["errors"]
    assert client.put("/settings", headers=auth("auditor"), json={"appeal_days": 7}).status_code == 403
    assert client.get("/cycles/nope", headers=ADMIN).status_code == 404
    assert client.post("/cycles/nope/open", headers=ADMIN).status_code == 404
    # a cycle with nobody in scope cannot open
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches", branch_ids=[b1])).json
    r = client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN)
    assert r.status_code == 409 and r.json["code"] == "no_participants"


def test_settings_rubrics_and_manual_peers(client, network):
    b1 = network.branch("SOUTH")
    staff = network.staff(b1, 6)
    s = client.put("/settings", headers=ADMIN, json={"rater_weights": {"reader": 0.5, "supervisor": 0.3, "peer": 0.2,
                                                                       "self": 0}, "peers_per_person": 3})
    assert s.status_code == 200 and s.json["version"] == 1 and s.json["rater_weights"]["self"] == "0"
    assert client.get("/settings", headers=auth("staff", staff_id=staff[0], branch_id=b1)).json["peers_per_person"] == 3
    rubric = client.post("/rubrics", headers=ADMIN, json={"dimensions": [
        {"code": "service_attitude", "label_en": "Attitude", "label_zh": "服务态度", "weight": 0.6},
        {"code": "professional_competence", "label_en": "Competence", "label_zh": "专业能力", "weight": 0.4}]})
    assert rubric.status_code == 201 and rubric.json["version"] == 2
    year = local_today().year  # this year's last quarter: its default deadline is still ahead
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body(period=f"{year}-Q4", period_start=None,
                                                                  period_end=None, submission_deadline=None)).json
    assert cycle["rubric_version"] == 2 and cycle["settings"]["rater_weights"]["reader"] == "0.5"
    assert cycle["period_start"] == f"{year}-10-01" and cycle["period_end"] == f"{year}-12-31"
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body()).json
    cid = cycle["id"]
    assert client.post(f"/cycles/{cid}/open", headers=ADMIN).status_code == 200
    manager = auth("branch_manager", branch_id=b1, staff_id="mgr-x")
    current = client.get(f"/cycles/{cid}/participants/{staff[0]}/peers", headers=manager).json["peers"]
    assert len(current) == 3
    bad = client.put(f"/cycles/{cid}/participants/{staff[0]}/peers", headers=manager, json={"peer_ids": [staff[0]]})
    assert bad.status_code == 422 and "peer_ids" in bad.json["errors"]
    changed = client.put(f"/cycles/{cid}/participants/{staff[0]}/peers", headers=manager,
                         json={"peer_ids": staff[1:6]})
    assert [p["staff_id"] for p in changed.json["peers"]] == sorted(staff[1:6])
    # only the two dimensions of rubric v2 are asked for
    r = client.post(f"/cycles/{cid}/evaluations", headers=auth("staff", staff_id=staff[5], branch_id=b1),
                    json={"staff_id": staff[0], "rater_type": "peer",
                          "scores": {"service_attitude": 5, "professional_competence": 4}})
    assert r.status_code == 201, r.json
    participants = client.get(f"/cycles/{cid}/participants", headers=manager).json
    assert participants["total"] == 6
    assert next(p for p in participants["items"] if p["staff_id"] == staff[0])["ratings_received"]["peer"] == 1


@pytest.mark.parametrize("body, field", [
    ({"period": "0000"}, "period"),
    ({"period": "x", "period_start": "9999-12-01", "period_end": "9999-12-31"}, "period_start"),
    ({"period": "x", "period_start": "2026-01-01", "period_end": "2027-06-01"}, "period_end"),
    ({"period": "x", "period_start": "2026-01-01"}, "period_end"),
    ({"period": "bad\u0000label"}, "json"),
    ({"period": "2026", "submission_deadline": "2025-01-01T00:00:00Z"}, "submission_deadline"),
])
def test_bad_periods_are_422_never_500(client, body, field):
    r = client.post("/cycles", headers=ADMIN, json=body)
    assert r.status_code == 422, r.json
    assert field in r.json.get("errors", {}), r.json


def test_nul_in_path_and_comments_is_422(client):
    assert client.get("/cycles/a%00b", headers=ADMIN).status_code == 422
    r = client.post("/cycles/x/evaluations", headers=auth("staff", staff_id="s", branch_id="b"),
                    json={"staff_id": "s", "rater_type": "self", "scores": {}, "comment": "\u0000"})
    assert r.status_code == 422 and r.json["code"] == "nul_character"
