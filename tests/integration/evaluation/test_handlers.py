"""The consumers: order across topics, redelivery, and scores that are the same byte for byte."""
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.evaluation import service, store
from shared.timeutil import utcnow
from tests.helpers import auth, make_app

from .conftest import ADMIN, Network, cycle_body

pytestmark = pytest.mark.integration


def facts(app, kind):
    with app.extensions["lsq"].db.read() as conn:
        return {r["ref_id"]: dict(r) for r in conn.execute(
            select(store.reader_facts).where(store.reader_facts.c.kind == kind)).mappings()}


def test_rejected_praise_stays_rejected_whatever_the_order(app, network):
    now = utcnow()
    first_rejected, first_received = "p-1", "p-2"
    network.apply(network.praise_rejected(first_rejected, "s1", "b1", now))
    network.apply(network.praise("s1", "b1", now, praise_id=first_rejected))
    network.apply(network.praise("s1", "b1", now, praise_id=first_received))
    network.apply(network.praise_rejected(first_received, "s1", "b1", now))
    praise = facts(app, "praise")
    assert praise[first_rejected]["rejected"] and praise[first_received]["rejected"]
    assert praise[first_rejected]["occurred_at"] is not None  # the praise's own time, kept


def test_reopened_complaint_counts_again_only_after_a_new_resolution(app, network):
    now = utcnow()
    cid = "c-1"
    network.apply(network.complaint("s1", "b1", now - timedelta(days=2), complaint_id=cid))
    from .conftest import make_event
    network.apply(make_event("lsq.complaint.reopened.v1", {"complaint_id": cid, "branch_id": "b1", "staff_id": "s1",
                                                           "reopened_at": (now - timedelta(days=1)).isoformat()}))
    fact = facts(app, "complaint")[cid]
    assert fact["reopened_at"] > fact["occurred_at"]  # not counted while reopened
    network.apply(network.complaint("s1", "b1", now, outcome="partially_substantiated", complaint_id=cid))
    fact = facts(app, "complaint")[cid]
    assert fact["outcome"] == "partially_substantiated" and fact["occurred_at"] > fact["reopened_at"]
    # an older resolution delivered late does not replace the newer one
    network.apply(network.complaint("s1", "b1", now - timedelta(days=3), outcome="unsubstantiated", complaint_id=cid))
    assert facts(app, "complaint")[cid]["outcome"] == "partially_substantiated"


def test_redelivered_event_is_applied_once(app, network):
    event = network.rating("s1", "b1", 5, utcnow())
    assert network.apply(event) == ["applied"]
    assert network.apply(event) == ["duplicate"]
    assert len(facts(app, "rating")) == 1


def test_feedback_about_staff_not_known_yet_is_kept(app, network):
    now = utcnow()
    network.apply(network.rating("later-1", "b9", 3, now))
    assert facts(app, "rating")  # joined event may come later from another topic


def _same_world(app, ids):
    """The same staff, feedback and ratings, with fixed identifiers."""
    network = Network(app)
    from .conftest import make_event
    network.apply(make_event("lsq.branch.opened.v1", {"branch_id": ids["branch"], "code": "DET", "name_zh": "确定",
                                                      "name_en": "Det"}))
    network.apply(*[make_event("lsq.staff.joined.v1", {"staff_id": s, "employee_number": s, "name": "员工",
                                                       "role": "staff", "branch_id": ids["branch"],
                                                       "hire_date": "2020-01-01"}) for s in ids["staff"]])
    when = ids["when"]
    events = []
    for i, s in enumerate(ids["staff"]):
        for j in range(5 + i):
            e = network.rating(s, ids["branch"], 1 + (i + j) % 5, when - timedelta(hours=j))
            e.data["rating_id"] = f"r-{i}-{j}"
            events.append(e)
        if i % 2:
            e = network.complaint(s, ids["branch"], when, severity=["low", "high"][i % 2], complaint_id=f"c-{i}")
            events.append(e)
    network.apply(*events)
    client = app.test_client()
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches", branch_ids=[ids["branch"]])).json
    client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN)
    for i, s in enumerate(ids["staff"]):
        scores = {"service_attitude": 1 + i % 5, "professional_competence": 1 + (i * 2) % 5,
                  "efficiency": 1 + (i * 3) % 5, "compliance": 5}
        r = client.post(f"/cycles/{cycle['id']}/evaluations", headers=auth("staff", staff_id=s, branch_id=ids["branch"]),
                        json={"staff_id": s, "rater_type": "self", "scores": scores})
        assert r.status_code == 201
    closed = client.post(f"/cycles/{cycle['id']}/close", headers=ADMIN).json
    return cycle["id"], closed["scores_digest"]


def test_scores_are_identical_byte_for_byte_on_sqlite_and_postgresql(sqlite_url, postgres_server):
    ids = {"branch": "br-det", "staff": [f"det-{i:02d}" for i in range(9)], "when": utcnow() - timedelta(days=1)}
    digests = []
    for url in (sqlite_url, postgres_server.new_database()):
        app = make_app("evaluation", url)
        cycle_id, digest = _same_world(app, ids)
        db = app.extensions["lsq"].db
        with db.read() as conn:
            cycle = store.get(conn, store.cycles, cycle_id)
            recomputed = service.compute_cycle(conn, cycle)
        from services.evaluation import model
        assert model.digest(recomputed) == digest == cycle["scores_digest"]  # closing is reproducible
        digests.append(digest)
        db.dispose()
    assert digests[0] == digests[1]


def test_late_feedback_changes_a_recomputation_but_not_the_closed_cycle(app, network):
    ids = {"branch": f"br-{uuid.uuid4().hex[:6]}", "staff": [f"late-{i}" for i in range(4)],
           "when": utcnow() - timedelta(days=1)}
    cycle_id, digest = _same_world(app, ids)
    client = app.test_client()
    before = client.get(f"/cycles/{cycle_id}/scores", headers=ADMIN).json["items"]
    network.apply(network.complaint(ids["staff"][0], ids["branch"], utcnow(), severity="urgent"),
                  *[network.rating(ids["staff"][1], ids["branch"], 1, utcnow()) for _ in range(5)])
    db = app.extensions["lsq"].db
    from services.evaluation import model
    with db.read() as conn:
        cycle = store.get(conn, store.cycles, cycle_id)
        assert model.digest(service.compute_cycle(conn, cycle)) != digest  # the inputs did change...
    after = client.get(f"/cycles/{cycle_id}/scores", headers=ADMIN).json["items"]
    assert after == before  # ...but the scores of the closed cycle did not
    assert client.get(f"/cycles/{cycle_id}", headers=ADMIN).json["scores_digest"] == digest


def test_concurrent_first_ratings_and_settings_do_not_fail(database_url):
    """Two requests racing for the same unique key: both succeed, one row results."""
    import threading
    app = make_app("evaluation", database_url)
    network = Network(app)
    branch = network.branch("RACE")
    staff = network.staff(branch, 4)
    client = app.test_client()
    cycle = client.post("/cycles", headers=ADMIN, json=cycle_body(scope="branches", branch_ids=[branch])).json
    client.post(f"/cycles/{cycle['id']}/open", headers=ADMIN)
    statuses = []
    headers = auth("staff", staff_id=staff[0], branch_id=branch)

    def rate():
        with app.test_client() as c:
            statuses.append(c.post(f"/cycles/{cycle['id']}/evaluations", headers=headers, json={
                "staff_id": staff[0], "rater_type": "self",
                "scores": {"service_attitude": 4, "professional_competence": 4, "efficiency": 4,
                           "compliance": 4}}).status_code)
            statuses.append(c.put("/settings", headers=ADMIN, json={"appeal_days": 10}).status_code)

    threads = [threading.Thread(target=rate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(statuses).count(500) == 0 and all(s in (200, 201) for s in statuses), statuses
    mine = client.get(f"/cycles/{cycle['id']}/evaluations", headers=headers).json
    assert len(mine) == 1
    assert client.get("/settings", headers=ADMIN).json["version"] == 4
    app.extensions["lsq"].db.dispose()
