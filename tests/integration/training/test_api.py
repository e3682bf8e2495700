"""Training API on SQLite and PostgreSQL: catalogue, sessions and the waiting list, attendance and
certificates, external activities, requirements, transcript and compliance, access and errors."""
import csv
import io
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select, update

from services.training import model, service, store
from shared import outbox
from shared.auth import endpoints_without_access
from shared.timeutil import utcnow
from tests.helpers import auth, shanghai

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


def _events(db, event_type):
    with db.read() as conn:
        return outbox.events_for(conn, event_type=event_type)


def _course_id(client, code):
    r = client.get("/courses?page_size=100", headers=ADMIN)
    return next(c["id"] for c in r.json["items"] if c["code"] == code)


def _session(client, course_code, capacity=2, branch_id=None, trainer=None, headers=ADMIN, **extra):
    start = utcnow() + timedelta(days=3)
    body = {"course_id": _course_id(client, course_code), "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=8)).isoformat(), "capacity": capacity,
            "place": "中心馆三楼报告厅", "link": "https://meeting.example.cn/lsq", "branch_id": branch_id,
            "trainer_staff_id": trainer, **extra}
    return client.post("/sessions", json=body, headers=headers)


def _start(db, session_id):
    """Move a session into the past, as if it had taken place."""
    with db.transaction() as conn:
        conn.execute(update(store.sessions).where(store.sessions.c.id == session_id).values(
            starts_at=utcnow() - timedelta(hours=9),
            ends_at=utcnow() - timedelta(hours=1)))


def _me(staff_id, branch_id, role="staff"):
    return auth(role, staff_id=staff_id, branch_id=branch_id)


def _requirements(db, staff_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.requirements).where(
            store.requirements.c.staff_id == staff_id).order_by(store.requirements.c.kind)).mappings()]


def test_every_endpoint_declares_who_may_call_it(app):
    assert endpoints_without_access(app) == []


def test_default_catalogue_is_seeded_and_bilingual(client):
    r = client.get("/courses?page_size=100", headers=auth("staff", staff_id="s", branch_id="b"))
    assert r.status_code == 200
    by_code = {c["code"]: c for c in r.json["items"]}
    regulation = by_code["SQ-REG"]
    assert regulation["mandatory"] and regulation["is_regulation"]
    assert regulation["competency_area"] == "regulations_policy" and regulation["title_zh"]
    assert by_code["RS-REM"]["remedial_for"] == "service_attitude"
    assert by_code["PC-REM"]["remedial_for"] == "professional_competence"
    assert len(by_code) >= 6 and all(c["title_zh"] and c["title_en"] for c in by_code.values())
    assert client.get("/courses").status_code == 401


def test_course_management_and_errors(client):
    body = {"code": "LIB-300", "title_zh": "古籍保护", "title_en": "Rare book preservation",
            "competency_area": "cultural_exchange", "hours": 12, "delivery": "in_person", "validity_months": 24}
    r = client.post("/courses", json=body, headers=ADMIN)
    assert r.status_code == 201 and r.json["version"] == 1
    assert client.post("/courses", json={**body, "code": "lib-300"}, headers=ADMIN).status_code == 409
    r = client.post("/courses", json={**body, "code": "X1", "hours": 0, "competency_area": "magic"}, headers=ADMIN)
    assert r.status_code == 422 and set(r.json["errors"]) == {"hours", "competency_area"}
    r = client.post("/courses", json={**body, "code": "X2", "hours": 900}, headers=ADMIN)
    assert r.status_code == 422 and "hours" in r.json["errors"]
    r = client.post("/courses", json={**body, "code": "X3", "remedial_for": "service_attitude"}, headers=ADMIN)
    assert r.status_code == 409 and "remedial_for" in r.json["errors"]
    assert client.post("/courses", json={**body, "code": "X4"},
                       headers=auth("branch_manager", branch_id="b")).status_code == 403
    regulation = _course_id(client, "SQ-REG")
    r = client.patch(f"/courses/{regulation}", json={"active": False}, headers=ADMIN)
    assert r.status_code == 409
    assert client.get("/courses/nope", headers=ADMIN).status_code == 404


def test_new_staff_get_onboarding_with_the_regulation_course(db, directory, client, time_machine):
    time_machine.move_to(shanghai(2026, 6, 15, 10), tick=False)  # mid-year: a newcomer owes hours this year
    branch = directory.branch()
    hired = service.today() - timedelta(days=2)
    staff = directory.staff(branch, hire_date=hired)
    reqs = _requirements(db, staff)
    onboarding = [r for r in reqs if r["kind"] == "onboarding"]
    codes = {c["id"]: c["code"] for c in client.get("/courses?page_size=100", headers=ADMIN).json["items"]}
    assert {codes[r["course_id"]] for r in onboarding} == {"SQ-REG", "EM-SAFE"}
    assert all(r["due_on"] == hired + timedelta(days=30) for r in onboarding)
    [annual] = [r for r in reqs if r["kind"] == "annual_hours"]
    assert annual["required_hours"] > 0 and annual["period"] == str(service.today().year)
    assigned = [e for e in _events(db, "lsq.requirement.assigned.v1") if e.data["staff_id"] == staff]
    assert len(assigned) == 3
    assert all(e.data["caused_by"] and e.data["caused_by"][0]["source"] == "/lsq/directory" for e in assigned)


def test_sessions_waiting_list_and_enrolment_rules(db, directory, client):
    branch, other = directory.branch(), directory.branch("EAST")
    a, b, c = (directory.staff(branch, name=n) for n in ("甲", "乙", "丙"))
    outsider = directory.staff(other)
    r = _session(client, "RS-101", capacity=2, branch_id=branch)
    assert r.status_code == 201, r.json
    session = r.json["id"]
    assert r.json["title_zh"] and r.json["enrolled"] == 0
    first = client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(a, branch))
    assert first.status_code == 201 and first.json["status"] == "enrolled"
    assert client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(a, branch)).status_code == 409
    # a supervisor enrols staff of their branch, not of another
    sup = auth("supervisor", staff_id="sup", branch_id=branch)
    assert client.post(f"/sessions/{session}/enrolments", json={"staff_id": b}, headers=sup).json["status"] == "enrolled"
    assert client.post(f"/sessions/{session}/enrolments", json={"staff_id": outsider}, headers=sup).status_code == 403
    # full → waiting list, not an error
    waiting = client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(c, branch))
    assert waiting.status_code == 201 and waiting.json["status"] == "waitlisted"
    assert waiting.json["waitlist_position"] == 1
    r = client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(outsider, other))
    assert r.json["status"] == "waitlisted" and r.json["waitlist_position"] == 2
    assert client.get(f"/sessions/{session}", headers=ADMIN).json["waitlisted"] == 2
    # staff cannot cancel someone else's seat; cancelling one's own promotes the first waiting
    assert client.post(f"/enrolments/{first.json['id']}/cancel", json={}, headers=_me(b, branch)).status_code == 403
    r = client.post(f"/enrolments/{first.json['id']}/cancel", json={"reason": "出差"}, headers=_me(a, branch))
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert client.post(f"/enrolments/{first.json['id']}/cancel", json={}, headers=_me(a, branch)).status_code == 409
    listed = client.get(f"/sessions/{session}/enrolments", headers=ADMIN).json["items"]
    assert {e["staff_id"]: e["status"] for e in listed}[c] == "enrolled"
    # more seats promote the rest
    r = client.patch(f"/sessions/{session}", json={"capacity": 4}, headers=ADMIN)
    assert r.status_code == 200 and r.json["enrolled"] == 3 and r.json["waitlisted"] == 0
    assert client.patch(f"/sessions/{session}", json={"capacity": 1}, headers=ADMIN).status_code == 422
    # enrolling again after cancelling is allowed (back of the queue)
    assert client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(a, branch)).json["status"] == "enrolled"
    # supervisors see only their branch's enrolments
    assert {e["branch_id"] for e in client.get(f"/sessions/{session}/enrolments", headers=sup).json["items"]} == {branch}


def test_sessions_listed_before_or_from_a_day(db, directory, client):
    """``from_date`` and ``to_date`` split a branch's sessions into coming and past ones (local days)."""
    branch, other = directory.branch(), directory.branch("EAST")
    past, coming, network_wide, elsewhere = (_session(client, "RS-101", branch_id=b).json["id"]
                                             for b in (branch, branch, None, other))
    with db.transaction() as conn:  # it took place two days ago
        conn.execute(update(store.sessions).where(store.sessions.c.id == past).values(
            starts_at=utcnow() - timedelta(days=2), ends_at=utcnow() - timedelta(days=2) + timedelta(hours=8)))
    today = service.today()

    def listed(**args):
        found = client.get("/sessions", query_string={"branch_id": branch, "page_size": 500, **args}, headers=ADMIN)
        assert found.status_code == 200, found.json
        return [s["id"] for s in found.json["items"] if s["id"] in (past, coming, network_wide, elsewhere)]

    assert listed(to_date=today.isoformat()) == [past]
    assert set(listed(from_date=today.isoformat())) == {coming, network_wide}
    assert set(listed()) == {past, coming, network_wide}  # without either: as before
    assert listed(from_date=today.isoformat(), to_date=today.isoformat()) == []
    assert client.get("/sessions?to_date=soon", headers=ADMIN).status_code == 422


def test_session_validation(directory, client):
    branch = directory.branch()
    r = _session(client, "RS-101", capacity=0, place=None)
    assert r.status_code == 422 and "capacity" in r.json["errors"]
    r = _session(client, "RS-101", place=None)
    assert r.status_code == 422 and "place" in r.json["errors"]
    r = _session(client, "RS-101", branch_id="no-such-branch")
    assert r.status_code == 422 and "branch_id" in r.json["errors"]
    r = _session(client, "RS-101", trainer="nobody")
    assert r.status_code == 422 and "trainer_staff_id" in r.json["errors"]
    r = client.post("/sessions", json={"course_id": "nope", "starts_at": "2030-01-01T09:00:00+08:00",
                                       "ends_at": "2030-01-01T17:00:00+08:00", "capacity": 3}, headers=ADMIN)
    assert r.status_code == 422 and "course_id" in r.json["errors"]
    r = client.post("/sessions", json={"course_id": "x", "starts_at": "tomorrow", "capacity": 3}, headers=ADMIN)
    assert r.status_code == 422 and {"starts_at", "ends_at"} <= set(r.json["errors"])
    manager = auth("branch_manager", staff_id="m", branch_id=branch)
    r = _session(client, "RS-101", headers=manager)
    assert r.status_code == 201 and r.json["branch_id"] == branch
    assert _session(client, "RS-101", branch_id=directory.branch("WEST"), headers=manager).status_code == 403
    assert _session(client, "RS-101", headers=auth("supervisor", branch_id=branch)).status_code == 403


def test_attendance_completion_certificate_and_verification(db, directory, client):
    branch = directory.branch()
    trainer = directory.staff(branch, role="supervisor", name="讲师")
    good, weak, away = (directory.staff(branch, name=n) for n in ("李明", "赵强", "孙丽"))
    session = _session(client, "SQ-REG", capacity=5, trainer=trainer).json["id"]
    for person in (good, weak, away):
        assert client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(person, branch)).status_code == 201
    records = [{"staff_id": good, "attended": True, "score": 92}, {"staff_id": weak, "attended": True, "score": 61},
               {"staff_id": away, "attended": False}]
    r = client.post(f"/sessions/{session}/attendance", json={"records": records}, headers=_me(trainer, branch))
    assert r.status_code == 409 and r.json["code"] == "session_not_started"
    _start(db, session)
    # the pass mark needs a score; a stranger may not record
    r = client.post(f"/sessions/{session}/attendance", json={"records": [{"staff_id": good, "attended": True}]},
                    headers=_me(trainer, branch))
    assert r.status_code == 422 and "records.0.score" in r.json["errors"]
    assert client.post(f"/sessions/{session}/attendance", json={"records": records},
                       headers=_me(good, branch)).status_code == 403
    r = client.post(f"/sessions/{session}/attendance", json={"records": records}, headers=_me(trainer, branch))
    assert r.status_code == 200, r.json
    outcome = {e["staff_id"]: e for e in r.json["items"]}
    assert [outcome[p]["status"] for p in (good, weak, away)] == ["completed", "failed", "absent"]
    code = outcome[good]["certificate_code"]
    assert code and outcome[weak].get("certificate_code") is None
    assert client.post(f"/sessions/{session}/attendance", json={"records": records[:1]},
                       headers=_me(trainer, branch)).status_code == 409
    # one completion event with the credit hours; the onboarding requirement is met
    [done] = _events(db, "lsq.training.completed.v1")
    assert done.data["staff_id"] == good and done.data["credit_hours"] == 4.0 and done.data["source"] == "course"
    assert done.data["certificate_code"] == code and done.data["branch_id"] == branch
    regulation = [r for r in _requirements(db, good) if r["course_id"] == _course_id(client, "SQ-REG")]
    assert [r["status"] for r in regulation] == ["completed"]
    assert [r["status"] for r in _requirements(db, weak) if r["course_id"] == regulation[0]["course_id"]] == ["open"]
    # anyone can check the certificate, typed any way
    r = client.get(f"/certificates/{code.lower().replace('-', '')}")
    assert r.status_code == 200 and r.json["valid"] and r.json["holder_name"] == "李明"
    assert r.json["course_code"] == "SQ-REG" and r.json["title_zh"] and r.json["hours"] == 4.0
    r = client.get("/certificates/LSQ-AAAA-BBBB-CCCC")
    assert r.status_code == 404 and r.json["message_zh"]


def test_recurrent_mandatory_course_assigns_its_renewal(db, directory, client):
    branch = directory.branch()
    person = directory.staff(branch)
    session = _session(client, "EM-SAFE", capacity=3).json["id"]
    client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(person, branch))
    _start(db, session)
    r = client.post(f"/sessions/{session}/attendance", json={"records": [{"staff_id": person, "attended": True}]},
                    headers=ADMIN)
    assert r.status_code == 200
    reqs = [r for r in _requirements(db, person) if r["course_id"] == _course_id(client, "EM-SAFE")]
    statuses = {r["kind"]: r["status"] for r in reqs}
    assert statuses == {"onboarding": "completed", "recurrent": "open"}
    [renewal] = [r for r in reqs if r["kind"] == "recurrent"]
    with db.read() as conn:
        [completion] = conn.execute(select(store.completions)).mappings().all()
    assert completion["expires_on"] == renewal["due_on"]
    assert (renewal["due_on"] - completion["completed_on"]).days in range(365, 367)


def test_external_activities_credit_factors_cap_and_access(db, directory, client):
    branch, other = directory.branch(), directory.branch("EAST")
    person = directory.staff(branch)
    supervisor = directory.staff(branch, role="supervisor")
    me, sup = _me(person, branch), _me(supervisor, branch, "supervisor")
    day = (service.today() - timedelta(days=10)).isoformat()

    def submit(kind, hours, headers=me, **extra):
        return client.post("/external-activities", json={
            "kind": kind, "title": "全国图书馆学术年会", "organiser": "中国图书馆学会", "activity_date": day,
            "hours": hours, "evidence_note": "参会证明已上传", **extra}, headers=headers)

    seminar = submit("seminar", 6, competency_area="reader_service")
    assert seminar.status_code == 201 and seminar.json["status"] == "submitted"
    assert submit("seminar", 0).status_code == 422
    r = submit("seminar", 30)
    assert r.status_code == 422 and "hours" in r.json["errors"]
    assert submit("conference", 30, end_date=(service.today() - timedelta(days=9)).isoformat()).status_code == 201
    r = submit("seminar", 3, activity_date=(service.today() + timedelta(days=3)).isoformat())
    assert r.status_code == 422 and "activity_date" in r.json["errors"]
    assert submit("juggling", 3).status_code == 422
    # approvals: only a supervisor of the branch, never one's own
    own = submit("seminar", 2, headers=sup).json["id"]
    assert client.post(f"/external-activities/{own}/approve", json={}, headers=sup).status_code == 403
    stranger = auth("supervisor", staff_id="x", branch_id=other)
    ident = seminar.json["id"]
    assert client.post(f"/external-activities/{ident}/approve", json={}, headers=stranger).status_code == 403
    assert client.post(f"/external-activities/{ident}/approve", json={}, headers=me).status_code == 403
    r = client.post(f"/external-activities/{ident}/approve", json={"note": "同意"}, headers=sup)
    assert r.status_code == 200 and r.json["credit_hours"] == 6
    assert client.post(f"/external-activities/{ident}/approve", json={}, headers=sup).status_code == 409
    networking = submit("networking", 4).json["id"]
    assert client.post(f"/external-activities/{networking}/approve", json={}, headers=sup).json["credit_hours"] == 2
    first, second = submit("teaching", 10).json["id"], submit("teaching", 5).json["id"]
    assert client.post(f"/external-activities/{first}/approve", json={}, headers=sup).json["credit_hours"] == 10
    assert client.post(f"/external-activities/{second}/approve", json={}, headers=sup).json["credit_hours"] == 2
    reject = submit("academic_forum", 3).json["id"]
    assert client.post(f"/external-activities/{reject}/reject", json={}, headers=sup).status_code == 422
    r = client.post(f"/external-activities/{reject}/reject", json={"note": "无参会证明"}, headers=sup)
    assert r.status_code == 200 and r.json["status"] == "rejected"
    completed = [e for e in _events(db, "lsq.training.completed.v1") if e.data["staff_id"] == person]
    assert sorted((e.data["kind"], e.data["credit_hours"]) for e in completed) == [
        ("networking", 2.0), ("seminar", 6.0), ("teaching", 2.0), ("teaching", 10.0)]
    assert all(e.data["source"] == "external" and e.data["certificate_code"] is None for e in completed)
    # staff list only their own; supervisors their branch
    assert {a["staff_id"] for a in client.get("/external-activities", headers=me).json["items"]} == {person}
    assert client.get("/external-activities", headers=stranger).json["total"] == 0
    t = client.get(f"/staff/{person}/transcript", headers=me).json
    assert t["hours"]["credited"] == 20 and t["hours"]["by_area"]["reader_service"]["credited"] == 6


def test_staff_leaving_cancels_enrolments_and_promotes(db, directory, feed, client):
    from tests.integration.training.conftest import make_event
    branch = directory.branch()
    leaver, waiting = directory.staff(branch), directory.staff(branch)
    session = _session(client, "RS-101", capacity=1).json["id"]
    client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(leaver, branch))
    assert client.post(f"/sessions/{session}/enrolments", json={},
                       headers=_me(waiting, branch)).json["status"] == "waitlisted"
    feed(make_event("lsq.staff.left.v1", {"staff_id": leaver, "branch_id": branch, "left_on": service.today(),
                                          "reason": "resigned"}))
    statuses = {e["staff_id"]: e["status"] for e in
                client.get(f"/sessions/{session}/enrolments", headers=ADMIN).json["items"]}
    assert statuses == {leaver: "cancelled", waiting: "enrolled"}
    assert {r["status"] for r in _requirements(db, leaver)} == {"cancelled"}
    r = client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(leaver, branch))
    assert r.status_code == 422 and r.json["code"] == "staff_left"


def test_new_regulation_version_is_assigned_to_every_active_staff_member(db, directory, client):
    branch = directory.branch()
    people = [directory.staff(branch) for _ in range(3)]
    regulation = _course_id(client, "SQ-REG")
    with db.transaction() as conn:  # one of them already did the current version
        conn.execute(update(store.requirements).where(store.requirements.c.staff_id == people[0],
                                                      store.requirements.c.course_id == regulation)
                     .values(status="completed"))
    r = client.post(f"/courses/{regulation}/versions", json={"notes": "2025 修订版"}, headers=ADMIN)
    assert r.status_code == 201 and r.json["version"] == 2
    assert r.json["assigned"] == 1  # the two with an open requirement keep it, now for version 2
    for person in people:
        open_ = [x for x in _requirements(db, person) if x["course_id"] == regulation and x["status"] == "open"]
        assert len(open_) == 1 and open_[0]["course_version"] == 2
    new = [x for x in _requirements(db, people[0]) if x["kind"] == "regulation"]
    assert new and new[0]["due_on"] == service.today() + timedelta(days=30)


def test_transcript_compliance_and_csv(db, directory, client):
    branch, other = directory.branch(), directory.branch("EAST", "东城分馆", "East Branch")
    a, b = directory.staff(branch, name="甲"), directory.staff(branch, name="乙")
    directory.staff(other)
    session = _session(client, "SQ-REG", capacity=5).json["id"]
    client.post(f"/sessions/{session}/enrolments", json={}, headers=_me(a, branch))
    _start(db, session)
    client.post(f"/sessions/{session}/attendance", json={"records": [{"staff_id": a, "attended": True, "score": 85}]},
                headers=ADMIN)
    with db.transaction() as conn:  # b's onboarding deadline passed
        conn.execute(update(store.requirements).where(store.requirements.c.staff_id == b,
                                                      store.requirements.c.kind == "onboarding")
                     .values(due_on=service.today() - timedelta(days=1)))
    t = client.get(f"/staff/{a}/transcript", headers=_me(a, branch))
    assert t.status_code == 200
    assert [c["title_zh"] for c in t.json["completed"]] and t.json["hours"]["credited"] == 4
    # registered today (a roster entered during the year): the months left of the year are owed
    owed = model.prorated_annual_hours(40, service.today(), service.today().year)
    assert t.json["hours"]["required"] == owed and t.json["hours"]["met"] is (4 >= owed)
    assert t.json["overdue"] == [] and t.json["upcoming"]["requirements"]
    tb = client.get(f"/staff/{b}/transcript", headers=auth("supervisor", staff_id="s", branch_id=branch)).json
    assert len(tb["overdue"]) == 2
    assert client.get(f"/staff/{b}/transcript", headers=_me(a, branch)).status_code == 403
    assert client.get(f"/staff/{b}/transcript", headers=auth("supervisor", branch_id=other)).status_code == 403
    assert client.get("/staff/nobody/transcript", headers=ADMIN).status_code == 404
    report = client.get("/reports/compliance", headers=auth("branch_manager", branch_id=branch))
    assert report.status_code == 200 and {x["branch_id"] for x in report.json["lines"]} == {branch}
    regulation = next(x for x in report.json["lines"] if x["course_code"] == "SQ-REG")
    assert (regulation["staff"], regulation["met"], regulation["overdue"], regulation["share_met"]) == (2, 1, 1, 0.5)
    network = client.get("/reports/compliance", headers=auth("auditor")).json
    assert {x["branch_id"] for x in network["lines"]} == {branch, other}
    assert client.get(f"/reports/compliance?branch_id={other}",
                      headers=auth("branch_manager", branch_id=branch)).status_code == 403
    assert client.get("/reports/compliance", headers=_me(a, branch)).status_code == 403
    r = client.get("/reports/compliance.csv", headers=auth("auditor"))
    assert r.status_code == 200 and r.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows[0][0] == "branch code / 分馆代码" and "完成率" in rows[0][-1]
    assert any(row[0] == "EAST" and row[1] == "东城分馆" for row in rows[1:])
    assert len(rows) == 1 + len(network["lines"])


def test_requirements_listing_waive_and_policy(db, directory, client, time_machine):
    time_machine.move_to(shanghai(2026, 3, 31, 23, 30), tick=False)  # a quarter's last half hour
    branch = directory.branch()
    person = directory.staff(branch)
    mine = client.get("/requirements", headers=_me(person, branch))
    assert mine.status_code == 200 and mine.json["total"] == 3
    assert client.get("/requirements?staff_id=other", headers=_me(person, branch)).status_code == 403
    ident = mine.json["items"][0]["id"]
    assert client.post(f"/requirements/{ident}/waive", json={"reason": "x"},
                       headers=auth("branch_manager", branch_id=branch)).status_code == 403
    r = client.post(f"/requirements/{ident}/waive", json={"reason": "长期病假"}, headers=ADMIN)
    assert r.status_code == 200 and r.json["status"] == "waived"
    assert client.post(f"/requirements/{ident}/waive", json={"reason": "x"}, headers=ADMIN).status_code == 409
    policy = client.get("/policy", headers=_me(person, branch)).json
    assert policy["annual_hours"] == {"default": 40.0} and policy["credit_factors"]["networking"] == 0.5
    r = client.put("/policy", json={"annual_hours": {"supervisor": 50}}, headers=ADMIN)
    assert r.status_code == 422 and "annual_hours" in r.json["errors"]
    r = client.put("/policy", json={"remedial_threshold": 9}, headers=ADMIN)
    assert r.status_code == 422 and "remedial_threshold" in r.json["errors"]
    r = client.put("/policy", json={"annual_hours": {"default": 40, "supervisor": 60},
                                    "area_minima": {"default": {"regulations_policy": 4}}}, headers=ADMIN)
    assert r.status_code == 200 and r.json["annual_hours"]["supervisor"] == 60
    assert r.json["credit_factors"]["networking"] == 0.5  # left out → default
    assert client.put("/policy", json={}, headers=auth("auditor")).status_code == 403
    boss = directory.staff(branch, role="supervisor")
    kinds = sorted((r["kind"], r["required_hours"]) for r in _requirements(db, boss) if r["required_hours"])
    year = service.today().year
    assert kinds == [("annual_hours", model.prorated_annual_hours(60, service.today(), year)),
                     ("area_hours", model.prorated_annual_hours(4, service.today(), year))]


def test_health_and_docs(client):
    assert client.get("/healthz").json["status"] == "ok"
    spec = client.get("/openapi.json").json
    assert "/certificates/{code}" in spec["paths"] and "/reports/compliance.csv" in spec["paths"]


def test_nul_characters_and_far_dates_are_refused_not_500(client):
    assert client.get("/courses/%00", headers=ADMIN).status_code == 422
    assert client.get("/requirements?staff_id=a%00b", headers=ADMIN).status_code == 422
    r = client.post("/courses", json={"code": "NUL1", "title_zh": "\u0000", "title_en": "x",
                                      "competency_area": "reader_service", "hours": 1, "delivery": "online"},
                    headers=ADMIN)
    assert r.status_code == 422 and r.json["code"] == "nul_character"
    r = _session(client, "RS-101", starts_at="9999-12-31T01:00:00Z", ends_at="9999-12-31T09:00:00Z")
    assert r.status_code == 422 and "starts_at" in r.json["errors"]


def test_concurrent_enrolments_never_overbook_the_last_seats(db, directory, client):
    import threading
    from shared.auth import Principal
    branch = directory.branch()
    people = [directory.staff(branch) for _ in range(6)]
    session = _session(client, "RS-101", capacity=2).json["id"]
    barrier, results = threading.Barrier(len(people)), []

    def enrol(person):
        barrier.wait()
        results.append(service.enrol(db, Principal("staff", staff_id=person, branch_id=branch), session, None))

    threads = [threading.Thread(target=enrol, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r["status"] for r in results) == ["enrolled"] * 2 + ["waitlisted"] * 4
    assert sorted(r["waitlist_position"] for r in results if r["waitlist_position"]) == [1, 2, 3, 4]


def test_assigning_a_course_to_staff_a_branch_or_everyone(db, directory, client):
    branch, other = directory.branch(), directory.branch("EAST")
    a, b = directory.staff(branch), directory.staff(branch)
    c = directory.staff(other)
    course = _course_id(client, "CC-201")
    url = f"/courses/{course}/assignments"
    r = client.post(url, json={"staff_ids": [a], "reason": "投诉较多 / many complaints", "due_in_days": 45}, headers=ADMIN)
    assert r.status_code == 201 and r.json["assigned"] == 1
    r = client.post(url, json={"branch_id": branch, "reason": "branch plan"}, headers=ADMIN)
    assert r.json["assigned"] == 1  # a already has it open
    r = client.post(url, json={"all_staff": True, "reason": "network plan", "kind": "remedial"}, headers=ADMIN)
    assert r.json["assigned"] == 1 and [x["kind"] for x in _requirements(db, c)
                                        if x["course_id"] == course] == ["remedial"]
    assert client.post(url, json={"all_staff": True, "reason": "x", "kind": "annual_hours"},
                       headers=ADMIN).status_code == 422
    for person in (a, b, c):
        assert len([x for x in _requirements(db, person) if x["course_id"] == course]) == 1
    r = client.post(url, json={"staff_ids": ["ghost"], "reason": "x"}, headers=ADMIN)
    assert r.status_code == 422 and "staff_ids.0" in r.json["errors"]
    r = client.post(url, json={"reason": "whom?"}, headers=ADMIN)
    assert r.status_code == 422 and "staff_ids" in r.json["errors"]
    r = client.post(url, json={"all_staff": True, "reason": "x", "due_on": "2001-01-01"}, headers=ADMIN)
    assert r.status_code == 422 and "due_on" in r.json["errors"]
    assert client.post(url, json={"all_staff": True}, headers=ADMIN).status_code == 422
    assert client.post(url, json={"all_staff": True, "reason": "x"},
                       headers=auth("branch_manager", branch_id=branch)).status_code == 403
    [event] = [e for e in _events(db, "lsq.requirement.assigned.v1")
               if e.data["staff_id"] == a and e.data["course_id"] == course]
    assert event.data["kind"] == "assigned" and event.data["reason"].startswith("投诉较多")


def test_managers_assign_a_course_to_their_own_branchs_staff_only(db, directory, client):
    branch, other = directory.branch(), directory.branch("EAST")
    mine, theirs = directory.staff(branch), directory.staff(other)
    url = f"/courses/{_course_id(client, 'CC-201')}/assignments"
    for role in ("branch_manager", "supervisor"):
        headers = auth(role, staff_id=f"{role}-1", branch_id=branch)
        r = client.post(url, json={"staff_ids": [mine], "reason": "服务改进"}, headers=headers)
        assert r.status_code == 201, r.json
        r = client.post(url, json={"staff_ids": [mine, theirs], "reason": "x"}, headers=headers)
        assert r.status_code == 422 and "staff_ids.1" in r.json["errors"]  # as if unknown
        assert client.post(url, json={"branch_id": other, "reason": "x"}, headers=headers).status_code == 403
    r = client.post(url, json={"branch_id": branch, "reason": "branch plan"}, headers=auth("branch_manager",
                                                                                         branch_id=branch))
    assert r.status_code == 201
    assert client.post(url, json={"staff_ids": [mine], "reason": "x"},
                       headers=auth("staff", staff_id=mine, branch_id=branch)).status_code == 403
    assert not [x for x in _requirements(db, theirs) if x["kind"] == "assigned"]


def test_an_obligation_carried_over_from_before_lsq_may_be_overdue_already(db, directory, client):
    branch = directory.branch()
    a = directory.staff(branch)
    course = _course_id(client, "CC-201")
    url = f"/courses/{course}/assignments"
    past = (service.today() - timedelta(days=10)).isoformat()
    r = client.post(url, json={"staff_ids": [a], "reason": "paper records", "due_on": past}, headers=ADMIN)
    assert r.status_code == 422 and "due_on" in r.json["errors"]
    r = client.post(url, json={"staff_ids": [a], "reason": "paper records", "due_on": past,
                               "existing_obligation": True}, headers=ADMIN)
    assert r.status_code == 201 and r.json["assigned"] == 1
    too_old = (service.today() - timedelta(days=400)).isoformat()
    r = client.post(url, json={"staff_ids": [a], "reason": "x", "due_on": too_old, "existing_obligation": True},
                    headers=ADMIN)
    assert r.status_code == 422 and "due_on" in r.json["errors"]
    service.sweep(db)
    [overdue] = [e for e in _events(db, "lsq.requirement.overdue.v1") if e.data["staff_id"] == a]
    assert overdue.data["course_id"] == course and overdue.data["due_on"] == past


def test_december_newcomers_owe_the_regulation_course_in_both_years_reports(db, directory, client, time_machine):
    """Assigned in December, due in January: the December report lists it (due next year, saying so);
    next year's report counts it, saying it was assigned in an earlier year."""
    from zoneinfo import ZoneInfo
    shanghai = ZoneInfo("Asia/Shanghai")
    time_machine.move_to(datetime(2026, 12, 20, 10, 0, tzinfo=shanghai), tick=False)
    branch = directory.branch()
    newcomer = directory.staff(branch, name="新人", hire_date=date(2026, 12, 18))
    # entered with the roster: 30 days from registration, so also due 2027-01-19
    veteran = directory.staff(branch, name="老员工", hire_date=date(2020, 3, 1))
    courses = client.get("/courses?page_size=100", headers=auth("network_admin")).json["items"]
    sq_reg = next(c["id"] for c in courses if c["code"] == "SQ-REG")  # tokens made at the clock's time
    [regulation] = [r for r in _requirements(db, newcomer) if r["course_id"] == sq_reg]
    assert regulation["due_on"] == date(2027, 1, 17) and regulation["period"] == "2027"
    manager = auth("branch_manager", branch_id=branch)

    december = client.get("/reports/compliance?year=2026", headers=manager).json
    line = next(x for x in december["lines"] if x["course_code"] == "SQ-REG")
    assert (line["due_year"], line["due_later"], line["staff"], line["met"], line["overdue"]) == (2027, True, 2, 0, 0)
    assert line["note_zh"] == "2026 年分配、2027 年到期，计入 2027 年度达标情况"
    # 11 days before the year ends nobody is given hours for it (too late to earn them)
    assert not [x for x in december["lines"] if x["kind"] == "annual_hours"]

    time_machine.move_to(datetime(2027, 1, 18, 0, 30, tzinfo=shanghai), tick=False)
    manager = auth("branch_manager", branch_id=branch)
    january = client.get("/reports/compliance", headers=manager).json
    assert january["year"] == 2027
    line = next(x for x in january["lines"] if x["course_code"] == "SQ-REG")
    assert (line["due_year"], line["due_later"], line["staff"], line["overdue"], line["assigned_earlier"]) == \
        (2027, False, 2, 1, 2)  # the newcomer is a day late, the roster entry has a day left
    assert line["note_zh"] == "其中 2 人的要求于以前年度分配"
    rows = list(csv.reader(io.StringIO(client.get("/reports/compliance.csv?year=2026", headers=manager)
                                       .data.decode("utf-8-sig"))))
    header = rows[0].index("due year / 截止年度")
    course, note = rows[0].index("course code / 课程代码"), rows[0].index("note (Chinese) / 说明")
    assert any(row[course] == "SQ-REG" and row[header] == "2027" and "2027 年到期" in row[note] for row in rows[1:])
    assert {r["due_on"] for r in _requirements(db, veteran) if r["course_id"] == sq_reg} == {date(2027, 1, 19)}
