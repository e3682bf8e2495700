"""Feedback's clock-reading rules at period boundaries, through the API on SQLite and PostgreSQL.

The clock is set with time-machine (``time_machine.move_to(..., tick=False)``), never left at
today: 23:30 on 31 December and 00:30 on 1 January in Shanghai (still 31 December in UTC), 29
February 2028 and 1 March 2028. Expected times are worked out by hand in the comments (Asia/Shanghai
is UTC+8 all year). Tokens are issued after each move, at the clock's time.
"""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from services.feedback import service, store, surveys
from shared import outbox
from shared.timeutil import rfc3339
from tests.helpers import auth
from tests.integration.feedback.conftest import B1, DESK_1, MANAGER_1, STAFF_1

pytestmark = pytest.mark.integration

CST = ZoneInfo("Asia/Shanghai")
SECOND, MINUTE = timedelta(seconds=1), timedelta(minutes=1)
YEAR_END = datetime(2026, 12, 31, 23, 30, tzinfo=CST)
NEW_YEAR = datetime(2027, 1, 1, 0, 30, tzinfo=CST)
COMPLAINT = {"branch_id": B1, "service_point_id": DESK_1, "staff_id": STAFF_1, "category": "waiting",
             "severity": "urgent", "channel": "web", "description": "跨年夜闭馆前无人受理",
             "contact": {"name": "李雷", "phone": "+86 139 0000 0000"}}


def cst(*parts) -> datetime:
    return datetime(*parts, tzinfo=CST)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _supervisor() -> dict:
    return auth("supervisor", staff_id="sup-1", branch_id=B1)


def _file(client, **changes) -> dict:
    response = client.post("/complaints", json={**COMPLAINT, **changes})
    assert response.status_code == 201, response.json
    return response.json


def _act(client, complaint_id, action, body=None):
    response = client.post(f"/complaints/{complaint_id}/{action}", json=body or {}, headers=_supervisor())
    assert response.status_code == 200, response.json
    return response.json


def _complaint(client, complaint_id) -> dict:
    return client.get(f"/complaints/{complaint_id}", headers=_supervisor()).json


def _sla_row(db, complaint_id) -> dict:
    """The complaint's four SLA instants as stored (the API shows the due times, not the at-risk ones)."""
    with db.read() as conn:
        row = store.get(conn, store.complaints, complaint_id)
    return {k: row[k] for k in ("acknowledge_due_at", "acknowledge_at_risk_at", "resolve_due_at",
                                "resolve_at_risk_at")}


def _resolved(client) -> dict:
    filed = _file(client)
    _act(client, filed["id"], "acknowledge")
    _act(client, filed["id"], "resolve", {"outcome": "substantiated", "response": "已道歉并整改"})
    return filed


# -- contact purge ------------------------------------------------------------------------------
def _contacts(db) -> set:
    with db.read() as conn:
        return {r.complaint_id for r in conn.execute(select(store.complaint_contacts.c.complaint_id))}


@pytest.mark.parametrize("closed, purge", [
    (cst(2026, 10, 2, 23, 30), YEAR_END),                  # 2 Oct + 90 days (29 + 30 + 31) = 31 Dec
    (cst(2027, 12, 2, 0, 30), cst(2028, 3, 1, 0, 30)),     # 2 Dec + 90 days (29 + 31 + 29 + 1) = 1 March 2028
], ids=["year-end", "leap-day"])
def test_contact_details_are_purged_90_days_after_closure_to_the_minute(client, db, time_machine, monkeypatch,
                                                                        closed, purge):
    monkeypatch.delenv("LSQ_FEEDBACK_CONTACT_RETENTION_DAYS", raising=False)
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    ids = []
    for moment in (closed, closed + MINUTE):  # one closed exactly 90 days before ``purge``, one a minute later
        time_machine.move_to(moment, tick=False)
        complaint_id = _resolved(client)["id"]
        assert _at(_act(client, complaint_id, "close")["closed_at"]) == moment
        ids.append(complaint_id)
    exactly, a_minute_later = ids

    time_machine.move_to(purge - MINUTE, tick=False)
    assert service.purge_contacts(db) == 0
    time_machine.move_to(purge, tick=False)
    assert service.purge_contacts(db) == 1
    assert _contacts(db) == {a_minute_later}
    purged = _complaint(client, exactly)
    assert purged["contact"] is None and _at(purged["contact_erased_at"]) == purge
    assert _complaint(client, a_minute_later)["contact"]["phone"] == COMPLAINT["contact"]["phone"]
    time_machine.move_to(purge + MINUTE, tick=False)
    assert service.purge_contacts(db) == 1
    assert _contacts(db) == set()


# -- reopening window and auto-close ------------------------------------------------------------
def test_reopening_and_auto_close_14_days_after_a_resolution_at_2330_on_31_december(client, db, time_machine):
    time_machine.move_to(YEAR_END, tick=False)
    first, second = _resolved(client), _resolved(client)
    tracked = client.get(f"/complaints/track/{first['tracking_code']}").json
    assert _at(tracked["reopen_until"]) == cst(2027, 1, 14, 23, 30)

    time_machine.move_to(cst(2027, 1, 14, 23, 30), tick=False)  # the window's last instant
    assert service.auto_close(db) == 0
    reopened = client.post(f"/complaints/track/{first['tracking_code']}/reopen", json={"note": "仍未解决"})
    assert reopened.status_code == 200 and reopened.json["status"] == "investigating"
    # a new resolution clock from the reopening: urgent, 24 h → 23:30 on 15 January
    assert _at(_complaint(client, first["id"])["resolve_due_at"]) == cst(2027, 1, 15, 23, 30)

    time_machine.move_to(cst(2027, 1, 14, 23, 31), tick=False)
    late = client.post(f"/complaints/track/{second['tracking_code']}/reopen", json={})
    assert late.status_code == 409 and late.json["code"] == "reopen_window_passed"
    assert service.auto_close(db) == 1
    closed = _complaint(client, second["id"])
    assert closed["status"] == "closed" and _at(closed["closed_at"]) == cst(2027, 1, 14, 23, 31)


# -- SLA clocks ---------------------------------------------------------------------------------
def test_sla_sweep_of_an_urgent_complaint_filed_at_2330_on_31_december(client, db, time_machine):
    time_machine.move_to(YEAR_END, tick=False)
    complaint_id = _file(client)["id"]
    complaint = _complaint(client, complaint_id)
    # 2 h → 01:30 on 1 January (17:30 UTC on 31 December); 24 h → 23:30 on 1 January
    assert _at(complaint["acknowledge_due_at"]) == cst(2027, 1, 1, 1, 30)
    assert complaint["acknowledge_due_at"].startswith("2026-12-31T17:30:00")
    assert _at(complaint["resolve_due_at"]) == cst(2027, 1, 1, 23, 30)
    for moment, counts in ((NEW_YEAR, (0, 0)),
                           (cst(2027, 1, 1, 1, 6) - SECOND, (0, 0)),
                           (cst(2027, 1, 1, 1, 6), (1, 0)),          # 96 of 120 minutes used
                           (cst(2027, 1, 1, 1, 30) - SECOND, (0, 0)),
                           (cst(2027, 1, 1, 1, 30), (0, 1)),         # due
                           (cst(2027, 1, 1, 1, 31), (0, 0))):        # once
        time_machine.move_to(moment, tick=False)
        assert service.sla_sweep(db) == {"at_risk": counts[0], "breached": counts[1]}, moment
    breached = _complaint(client, complaint_id)
    assert _at(breached["acknowledge_breached_at"]) == cst(2027, 1, 1, 1, 30)
    assert breached["escalated_to"] == MANAGER_1
    with db.read() as conn:
        [breach] = outbox.events_for(conn, subject=complaint_id, event_type="lsq.complaint.sla_breached.v1")
    assert breach.data["due_at"] == rfc3339(cst(2027, 1, 1, 1, 30)) == "2026-12-31T17:30:00.000Z"


def test_a_complaint_acknowledged_at_its_due_instant_is_late_and_a_second_before_is_not(client, db, time_machine):
    time_machine.move_to(YEAR_END, tick=False)
    on_time, at_due = _file(client)["id"], _file(client)["id"]
    time_machine.move_to(cst(2027, 1, 1, 1, 30) - SECOND, tick=False)
    assert _act(client, on_time, "acknowledge")["acknowledge_breached_at"] is None
    time_machine.move_to(cst(2027, 1, 1, 1, 30), tick=False)  # the sweep would breach it now: so does this
    assert _at(_act(client, at_due, "acknowledge")["acknowledge_breached_at"]) == cst(2027, 1, 1, 1, 30)
    with db.read() as conn:
        late = [len(outbox.events_for(conn, subject=cid, event_type="lsq.complaint.sla_breached.v1"))
                for cid in (on_time, at_due)]
    assert late == [0, 1]
    assert service.sla_sweep(db) == {"at_risk": 0, "breached": 0}  # announced once


def test_business_hours_with_new_year_closed_and_a_pause_over_it(client, db, time_machine):
    time_machine.move_to(cst(2026, 12, 31, 20, 0), tick=False)
    admin = auth("network_admin")
    policy = client.put("/sla-policy", headers=admin, json=[
        {"severity": "urgent", "acknowledge_hours": 2, "resolve_hours": 24, "business_hours": True}])
    assert policy.status_code == 200, policy.json
    hours = client.put(f"/branches/{B1}/opening-hours", headers=admin, json={
        "timezone": "Asia/Shanghai", "week": {d: [["09:00", "21:00"]] for d in
                                              ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
        "closed_dates": ["2027-01-01", "2028-02-29"]})
    assert hours.status_code == 200, hours.json
    paused_id = _file(client)["id"]
    # 1 h on 31 Dec (20:00-21:00), 1 Jan closed: 2 h → 2 Jan 10:00, 96 min → 09:36;
    # 24 h = 1 + 12 (2 Jan) + 11 (3 Jan) → 3 Jan 20:00; 19 h 12 = 1 + 12 + 6 h 12 → 3 Jan 15:12
    assert _sla_row(db, paused_id) == {
        "acknowledge_due_at": cst(2027, 1, 2, 10, 0), "acknowledge_at_risk_at": cst(2027, 1, 2, 9, 36),
        "resolve_due_at": cst(2027, 1, 3, 20, 0), "resolve_at_risk_at": cst(2027, 1, 3, 15, 12)}
    assert _at(_complaint(client, paused_id)["acknowledge_due_at"]) == cst(2027, 1, 2, 10, 0)

    time_machine.move_to(cst(2026, 12, 31, 20, 30), tick=False)
    _act(client, paused_id, "acknowledge")
    _act(client, paused_id, "investigate")
    assert _act(client, paused_id, "wait")["resolve_due_at"] is None  # waiting on the reader over the new year
    time_machine.move_to(YEAR_END, tick=False)
    closed_then = _file(client)["id"]  # filed while the branch is closed: counting starts on 2 January
    assert _at(_complaint(client, closed_then)["acknowledge_due_at"]) == cst(2027, 1, 2, 11, 0)

    time_machine.move_to(cst(2027, 1, 1, 12, 0), tick=False)
    assert service.sla_sweep(db) == {"at_risk": 0, "breached": 0}  # no business time on New Year's Day
    time_machine.move_to(cst(2027, 1, 2, 10, 0), tick=False)
    resumed = _act(client, paused_id, "investigate")
    # 30 min used before the pause; 2 Jan 10:00-21:00 (11 h 30), 3 Jan (23 h 30), 4 Jan 09:30;
    # 19 h 12: 11 h 30 + 7 h 42 on 3 Jan → 16:42
    assert _at(resumed["resolve_due_at"]) == cst(2027, 1, 4, 9, 30)
    assert _sla_row(db, paused_id)["resolve_at_risk_at"] == cst(2027, 1, 3, 16, 42)
    time_machine.move_to(cst(2027, 1, 2, 10, 36), tick=False)
    assert service.sla_sweep(db) == {"at_risk": 1, "breached": 0}  # the one filed at 23:30
    time_machine.move_to(cst(2027, 1, 2, 11, 0), tick=False)
    assert service.sla_sweep(db) == {"at_risk": 0, "breached": 1}


# -- received_at --------------------------------------------------------------------------------
@pytest.mark.parametrize("now, earliest", [
    (NEW_YEAR, cst(2026, 12, 2, 0, 30)),                 # 1 Jan − 30 days
    (cst(2028, 3, 1, 0, 30), cst(2028, 1, 31, 0, 30)),   # 1 March − 30 days over 29 February
], ids=["new-year", "leap-year"])
def test_staff_may_date_a_complaint_30_days_back_to_the_minute(client, time_machine, now, earliest):
    time_machine.move_to(now, tick=False)
    body = {**COMPLAINT, "channel": "phone"}
    recorded = client.post("/complaints", json={**body, "received_at": earliest.isoformat()}, headers=_supervisor())
    assert recorded.status_code == 201, recorded.json
    assert _at(_complaint(client, recorded.json["id"])["filed_at"]) == earliest
    for bad in (earliest - MINUTE, now + MINUTE):
        refused = client.post("/complaints", json={**body, "received_at": bad.isoformat()}, headers=_supervisor())
        assert refused.status_code == 422 and "received_at" in refused.json["errors"], bad


# -- surveys ------------------------------------------------------------------------------------
ANSWERS = {"UG": "student", "AF1": {"minimum": 4, "desired": 8, "perceived": 6}, "GS3": 4, "NPS": 9}


@pytest.mark.parametrize("opens, closes", [
    (cst(2026, 12, 1), cst(2027, 1, 1)),   # December: closes at midnight of the new year, Shanghai
    (cst(2028, 2, 1), cst(2028, 3, 1)),    # February 2028: 29 February is its last day
], ids=["year-end", "leap-day"])
def test_a_survey_takes_answers_until_its_closing_instant(client, db, time_machine, opens, closes):
    time_machine.move_to(opens - timedelta(hours=1), tick=False)
    created = client.post("/surveys", headers=auth("network_admin"), json={
        "branch_ids": [B1], "opens_at": opens.isoformat(), "closes_at": closes.isoformat()})
    assert created.status_code == 201, created.json
    survey_id = created.json["id"]
    assert created.json["state"] == "scheduled"
    early = client.post(f"/surveys/{survey_id}/responses", json={"answers": ANSWERS})
    assert early.status_code == 409 and early.json["code"] == "survey_scheduled"

    time_machine.move_to(closes - SECOND, tick=False)
    assert client.get(f"/surveys/{survey_id}", headers=auth("network_admin")).json["state"] == "open"
    answered = client.post(f"/surveys/{survey_id}/responses", json={"answers": ANSWERS})
    assert answered.status_code == 201, answered.json
    assert surveys.close_due_surveys(db) == 0

    time_machine.move_to(closes, tick=False)
    assert client.get(f"/surveys/{survey_id}", headers=auth("network_admin")).json["state"] == "closed"
    late = client.post(f"/surveys/{survey_id}/responses", json={"answers": ANSWERS})
    assert late.status_code == 409 and late.json["code"] == "survey_closed"
    assert surveys.close_due_surveys(db) == 1
    closed = client.get(f"/surveys/{survey_id}", headers=auth("network_admin")).json
    assert _at(closed["closed_at"]) == closes
    with db.read() as conn:
        [event] = outbox.events_for(conn, subject=survey_id, event_type="lsq.survey.closed.v1")
    assert event.data["responses"] == 1


# -- desk rating periods and forum outcome dates -------------------------------------------------
def test_rating_summary_periods_are_local_days(client, time_machine, monkeypatch):
    """A rating at 00:30 on 1 January in Shanghai is January's (it is 16:30 on 31 December in UTC).

    Before, ``from``/``to`` were UTC days: 31 December counted both ratings below and 1 January none.
    """
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    monkeypatch.delenv("LSQ_FEEDBACK_TIMEZONE", raising=False)
    for moment, stars in ((YEAR_END, 5), (NEW_YEAR, 1), (cst(2028, 2, 29, 23, 30), 4), (cst(2028, 3, 1, 0, 30), 2)):
        time_machine.move_to(moment, tick=False)
        assert client.post("/ratings", json={"service_point_id": DESK_1, "stars": stars}).status_code == 201
    admin = auth("network_admin")

    def summary(first: str, last: str) -> list:
        rows = client.get(f"/ratings/summary?group_by=branch&from={first}&to={last}", headers=admin).json
        return [(r["key"], r["n"], r["mean_stars"]) for r in rows]

    assert summary("2026-12-31", "2026-12-31") == [(B1, 1, 5.0)]
    assert summary("2027-01-01", "2027-01-01") == [(B1, 1, 1.0)]
    assert summary("2028-02-29", "2028-02-29") == [(B1, 1, 4.0)]
    assert summary("2028-03-01", "2028-03-31") == [(B1, 1, 2.0)]
    assert summary("2026-12-01", "2028-12-31") == [(B1, 4, 3.0)]


def test_a_suggestion_done_at_0030_on_1_january_has_its_outcome_on_1_january(client, time_machine, monkeypatch):
    monkeypatch.delenv("LSQ_TIMEZONE", raising=False)
    monkeypatch.delenv("LSQ_FEEDBACK_TIMEZONE", raising=False)
    time_machine.move_to(YEAR_END, tick=False)
    forum = client.post("/forums", headers=_supervisor(), json={
        "branch_id": B1, "title": "跨年读者座谈会", "held_on": "2026-12-31", "attendance": 12,
        "suggestions": [{"text": "元旦开放自习室"}, {"text": "闰日延长开放"}]})
    assert forum.status_code == 201, forum.json
    forum_id, (first, second) = forum.json["id"], (s["id"] for s in forum.json["suggestions"])
    for moment, suggestion, status, day in ((NEW_YEAR, first, "done", "2027-01-01"),
                                            (cst(2028, 3, 1, 0, 30), second, "declined", "2028-03-01")):
        time_machine.move_to(moment, tick=False)
        moved = client.patch(f"/forums/{forum_id}/suggestions/{suggestion}", json={"status": status},
                             headers=_supervisor())
        assert moved.status_code == 200, moved.json
        assert moved.json["outcome_on"] == day  # the UTC date would be the day before
