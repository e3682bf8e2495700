"""Surveys through the API on SQLite and PostgreSQL: default instrument, answers, tokens, results."""
import csv
import io
from datetime import timedelta

import pytest

from shared import outbox
from shared.timeutil import rfc3339, utcnow
from tests.helpers import auth
from tests.integration.feedback.conftest import ADMIN, B1, B2

pytestmark = pytest.mark.integration
MANAGER = auth("branch_manager", branch_id=B1)


def _survey(client, **changes):
    body = {"branch_ids": [B1, B2], "opens_at": rfc3339(utcnow() - timedelta(hours=1)),
            "closes_at": rfc3339(utcnow() + timedelta(days=14)), **changes}
    response = client.post("/surveys", json=body, headers=ADMIN)
    assert response.status_code == 201, response.json
    return response.json


def _answer(client, survey_id, answers, **extra):
    return client.post(f"/surveys/{survey_id}/responses", json={"answers": answers, **extra})


def _triad(minimum, desired, perceived):
    return {"minimum": minimum, "desired": desired, "perceived": perceived}


def test_default_instrument_is_seeded_bilingual(client):
    instruments = client.get("/instruments", headers=ADMIN).json["items"]
    core = next(i for i in instruments if i["code"] == "lsq-core")
    assert core["version"] == 1 and core["title_zh"] and core["title_en"]
    dims = {i["dimension"] for i in core["items"] if i["type"] == "triad"}
    assert dims == {"affect", "information_control", "place"}
    form = client.get(f"/surveys/{_survey(client)['id']}/form")  # anonymous
    assert form.status_code == 200 and len(form.json["instrument"]["items"]) == len(core["items"])


def test_results_by_item_dimension_branch_and_user_group_with_suppression(client, db):
    survey = _survey(client)
    sid = survey["id"]
    # Branch 1: six students; branch 2: four members of the public (a group too small to show).
    for perceived in (5, 6, 7, 8, 6, 7):
        response = _answer(client, sid, {"UG": "student", "AF1": _triad(4, 8, perceived),
                                         "PL1": {"na": True}, "GS3": 4, "NPS": 10 if perceived > 6 else 5},
                           branch_id=B1)
        assert response.status_code == 201, response.json
    for _ in range(4):
        assert _answer(client, sid, {"UG": "senior", "AF1": _triad(3, 7, 9), "GS3": 5, "NPS": 9},
                       branch_id=B2).status_code == 201
    results = client.get(f"/surveys/{sid}/results", headers=ADMIN).json
    assert results["responses"] == 10

    def item(code, group_by="all", group=None):
        return next(i for i in results["items"] if i["item_code"] == code and i["group_by"] == group_by
                    and i["group"] == group)

    overall = item("AF1")
    perceived = [5, 6, 7, 8, 6, 7, 9, 9, 9, 9]
    assert overall["n"] == 10
    assert overall["minimum"] == pytest.approx(round((6 * 4 + 4 * 3) / 10, 2))
    assert overall["desired"] == pytest.approx(round((6 * 8 + 4 * 7) / 10, 2))
    assert overall["perceived"] == pytest.approx(round(sum(perceived) / 10, 2))
    assert overall["adequacy_gap"] == pytest.approx(round(overall["perceived"] - overall["minimum"], 2), abs=0.011)
    assert overall["superiority_gap"] == pytest.approx(round(overall["perceived"] - overall["desired"], 2), abs=0.011)
    # NPS: promoters 3 (10s in branch 1: perceived 7, 8, 7) + 4 (9s) = 7, detractors 3 → 40.
    assert item("NPS")["nps"] == pytest.approx(40.0)
    assert item("GS3")["mean"] == pytest.approx(round((6 * 4 + 4 * 5) / 10, 2))
    small = item("AF1", "branch", B2)
    assert small["suppressed"] is True and small["n"] is None and small["perceived"] is None
    # Branch 1 beside the overall figure would give branch 2 away by subtraction: hidden too.
    assert item("AF1", "branch", B1)["suppressed"] is True and item("AF1", "branch", B1)["perceived"] is None
    assert item("AF1", "user_group", "student")["suppressed"] is True
    assert item("AF1", "user_group", "senior")["suppressed"] is True
    # Not-applicable answers are counted apart and do not enter the means.
    assert item("PL1")["suppressed"] is True  # nobody rated it: n = 0
    affect = next(d for d in results["dimensions"] if d["dimension"] == "affect" and d["group_by"] == "all")
    assert affect["n"] == 10 and affect["perceived"] == overall["perceived"]
    groups = {(g["group_by"], g["group"]): g for g in results["groups"]}
    assert groups[("branch", B1)]["suppressed"] is True and groups[("branch", B2)]["suppressed"] is True
    students = next(c for c in results["choices"] if c["item_code"] == "UG" and c["choice"] == "student"
                    and c["group_by"] == "all")
    assert students["n"] == 6

    exported = client.get(f"/surveys/{sid}/results.csv", headers=ADMIN)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    af1 = next(r for r in rows if r["section"] == "items" and r["item_code"] == "AF1" and r["group_by"] == "all")
    assert float(af1["perceived"]) == overall["perceived"]
    assert any(r["suppressed"] == "yes" and r["n"] == "" for r in rows)

    closed = client.post(f"/surveys/{sid}/close", headers=ADMIN)
    assert closed.status_code == 200 and closed.json["state"] == "closed"
    assert _answer(client, sid, {"UG": "student", "GS3": 3}, branch_id=B1).status_code == 409
    with db.read() as conn:
        closes = outbox.events_for(conn, subject=sid, event_type="lsq.survey.closed.v1")
        submitted = [e for e in outbox.events_for(conn, event_type="lsq.survey.response_submitted.v1")
                     if e.data["survey_id"] == sid]
    assert len(closes) == 1 and closes[0].data["responses"] == 10
    summary = closes[0].data["summary"]
    assert any(d["group"] == B2 and d["suppressed"] for d in summary["dimensions"])
    assert len(submitted) == 10 and all(set(e.data) >= {"branch_id", "user_group"} for e in submitted)


def test_a_hidden_group_cannot_be_derived_by_subtraction(client):
    """Overall 7 answers, 5 students shown, 2 seniors hidden: the seniors' mean would be exact from
    7 × overall − 5 × students, so the students are hidden too (complementary suppression), in
    every section that breaks the overall figure down."""
    survey = _survey(client, branch_ids=[B1])
    sid = survey["id"]
    for perceived in (5, 6, 7, 6, 6):
        assert _answer(client, sid, {"UG": "student", "AF1": _triad(4, 8, perceived), "GS3": 4}).status_code == 201
    for _ in range(2):
        assert _answer(client, sid, {"UG": "senior", "AF1": _triad(3, 7, 9), "GS3": 5}).status_code == 201
    results = client.get(f"/surveys/{sid}/results", headers=ADMIN).json
    overall = next(i for i in results["items"] if i["item_code"] == "AF1" and i["group_by"] == "all")
    assert overall["n"] == 7 and overall["perceived"] == pytest.approx(round(48 / 7, 2))
    by_group = {i["group"]: i for i in results["items"] if i["item_code"] == "AF1" and i["group_by"] == "user_group"}
    assert by_group["senior"]["suppressed"] and by_group["student"]["suppressed"]
    assert by_group["student"]["n"] is None and by_group["student"]["perceived"] is None
    dims = {d["group"]: d for d in results["dimensions"] if d["dimension"] == "affect" and d["group_by"] == "user_group"}
    assert all(d["suppressed"] and d["perceived"] is None for d in dims.values())
    groups = {g["group"]: g for g in results["groups"] if g["group_by"] == "user_group"}
    assert groups["student"]["suppressed"] and groups["student"]["n"] is None
    # One branch only: the branch breakdown equals the overall figure, which gives nothing away.
    branch = next(i for i in results["items"] if i["item_code"] == "AF1" and i["group_by"] == "branch")
    assert branch["n"] == 7 and not branch["suppressed"]


def test_complementary_suppression_rule():
    from services.feedback.surveys import complementary_suppression
    assert complementary_suppression([("student", 5, False), ("senior", None, True)]) == {"student", "senior"}
    # The smallest shown group goes with the lone hidden one; the others stay.
    assert complementary_suppression([("a", 9, False), ("b", 6, False), ("c", None, True)]) == {"b", "c"}
    assert complementary_suppression([("a", 9, False), ("b", None, True), ("c", None, True)]) == {"b", "c"}
    assert complementary_suppression([("a", 9, False), ("b", 6, False)]) == set()
    assert complementary_suppression([(None, 6, False), ("a", 6, False), ("b", None, True)]) == {None, "b"}


@pytest.mark.parametrize("answers, field", [
    ({"UG": "student", "GS3": 4, "AF1": _triad(8, 5, 6)}, "answers.AF1"),       # minimum above desired
    ({"UG": "student", "GS3": 4, "AF2": _triad(1, 5, 10)}, "answers.AF2"),      # out of range
    ({"UG": "student"}, "answers.GS3"),                                          # required item missing
    ({"UG": "student", "GS3": 4, "NPS": -1}, "answers.NPS"),
    ({"UG": "student", "GS3": 4, "XX": 1}, "answers.XX"),
])
def test_invalid_answers_are_422_naming_the_item(client, answers, field):
    sid = _survey(client)["id"]
    response = _answer(client, sid, answers, branch_id=B1)
    assert response.status_code == 422
    assert field in response.json["errors"]


def test_branch_must_be_one_of_the_survey(client):
    sid = _survey(client)["id"]
    response = _answer(client, sid, {"UG": "student", "GS3": 4})
    assert response.status_code == 422 and "branch_id" in response.json["errors"]
    response = _answer(client, sid, {"UG": "student", "GS3": 4}, branch_id="branch-9")
    assert response.status_code == 422 and "branch_id" in response.json["errors"]


def test_invitation_tokens_answer_once(client):
    sid = _survey(client, open_link=False)["id"]
    minted = client.post(f"/surveys/{sid}/invitations", json={"count": 2, "branch_id": B1}, headers=MANAGER)
    assert minted.status_code == 201
    first, second = minted.json["tokens"]
    answers = {"UG": "student", "GS3": 4}
    no_token = _answer(client, sid, answers)
    assert no_token.status_code == 422 and "token" in no_token.json["errors"]
    bad = _answer(client, sid, {"UG": "student"}, token=first)
    assert bad.status_code == 422  # an invalid answer does not use up the token
    assert _answer(client, sid, answers, token=first).json["branch_id"] == B1
    reused = _answer(client, sid, answers, token=first)
    assert reused.status_code == 409 and reused.json["code"] == "token_used"
    assert _answer(client, sid, answers, token=second.lower()).status_code == 201
    assert _answer(client, sid, answers, token="ZZZZ-ZZZZ-ZZZZ-ZZZZ").status_code == 422
    assert client.post(f"/surveys/{sid}/invitations", json={"count": 1, "branch_id": B2},
                       headers=MANAGER).status_code == 403


def test_instruments_are_versioned_and_checked(client):
    body = {"code": "desk-quick", "title_zh": "服务台快速评价", "title_en": "Quick desk survey",
            "items": [{"code": "Q1", "type": "likert", "dimension": "general", "text_zh": "满意吗", "text_en": "Happy?"}]}
    v1 = client.post("/instruments", json=body, headers=ADMIN)
    v2 = client.post("/instruments", json=body, headers=ADMIN)
    assert (v1.status_code, v2.status_code) == (201, 201) and v2.json["version"] == 2
    bad = client.post("/instruments", headers=ADMIN, json={**body, "items": [
        {"code": "Q1", "type": "triad", "text_zh": "x", "text_en": "x"}]})
    assert bad.status_code == 422 and "items.0.dimension" in bad.json["errors"]
    assert client.post("/instruments", json=body, headers=MANAGER).status_code == 403
    survey = _survey(client, instrument_code="desk-quick", branch_ids=[B1])
    assert survey["instrument_id"] == v2.json["id"]
    assert _answer(client, survey["id"], {"Q1": 5}).status_code == 201  # single branch: implied


def test_survey_dates_and_scope(client):
    now = utcnow()
    response = client.post("/surveys", headers=ADMIN, json={
        "branch_ids": [B1], "opens_at": rfc3339(now), "closes_at": rfc3339(now - timedelta(days=1))})
    assert response.status_code == 422 and "closes_at" in response.json["errors"]
    response = client.post("/surveys", headers=MANAGER, json={
        "branch_ids": [B2], "opens_at": rfc3339(now), "closes_at": rfc3339(now + timedelta(days=1))})
    assert response.status_code == 403
    response = client.post("/surveys", headers=ADMIN, json={
        "branch_ids": ["branch-9"], "opens_at": rfc3339(now), "closes_at": rfc3339(now + timedelta(days=1))})
    assert response.status_code == 422 and "branch_ids.0" in response.json["errors"]
    scheduled = _survey(client, opens_at=rfc3339(now + timedelta(days=1)))
    assert scheduled["state"] == "scheduled"
    assert _answer(client, scheduled["id"], {"UG": "student", "GS3": 3}, branch_id=B1).status_code == 409


def test_the_worker_closes_surveys_past_their_closing_time_once(client, db):
    from sqlalchemy import update

    from services.feedback import store, surveys
    sid = _survey(client)["id"]
    assert surveys.close_due_surveys(db) == 0
    with db.transaction() as conn:
        conn.execute(update(store.surveys).where(store.surveys.c.id == sid)
                     .values(closes_at=utcnow() - timedelta(minutes=1)))
    assert surveys.close_due_surveys(db) == 1
    assert surveys.close_due_surveys(db) == 0
    assert client.post(f"/surveys/{sid}/close", headers=ADMIN).status_code == 409
    with db.read() as conn:
        assert len(outbox.events_for(conn, subject=sid, event_type="lsq.survey.closed.v1")) == 1
