"""The worker's side on SQLite and PostgreSQL: reactions to evaluation scores and the overdue sweep
(once per requirement and period, across runs and concurrent workers)."""
import threading
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from services.training import service, store
from shared import outbox
from tests.helpers import shanghai
from tests.integration.training.conftest import make_event

pytestmark = pytest.mark.integration


def _scored(staff_id, branch_id, attitude, competence, evaluation_id=None, rescored=False):
    data = {"evaluation_id": evaluation_id or str(uuid.uuid4()), "cycle_id": "c-2026q4", "staff_id": staff_id,
            "branch_id": branch_id, "period": "2026-Q4", "score": 58.0, "grade": "unsatisfactory",
            "dimension_scores": {"service_attitude": attitude, "professional_competence": competence,
                                 "timeliness": 4.0},
            "components_used": ["reader", "supervisor"], "components_missing": ["peer", "self"],
            "revision": 1 if rescored else 0, "published_at": "2026-11-20T08:00:00Z"}
    if rescored:
        data.update(previous_score=52.0, previous_grade="unsatisfactory")
    return make_event("lsq.evaluation.rescored.v1" if rescored else "lsq.evaluation.scored.v1", data)


def _remedial(db, staff_id):
    with db.read() as conn:
        return [dict(r) for r in conn.execute(select(store.requirements).where(
            store.requirements.c.staff_id == staff_id, store.requirements.c.kind == "remedial")).mappings()]


def _course_code(db, course_id):
    with db.read() as conn:
        return conn.execute(select(store.courses.c.code).where(store.courses.c.id == course_id)).scalar_one()


def test_low_service_attitude_assigns_the_remedial_course_with_reason(db, directory, feed):
    branch = directory.branch()
    person = directory.staff(branch)
    event = _scored(person, branch, attitude=2.4, competence=3.8)
    assert feed(event) == ["applied"]
    [req] = _remedial(db, person)
    assert _course_code(db, req["course_id"]) == "RS-REM"
    assert "service attitude 2.40" in req["reason"] and "服务态度" in req["reason_zh"]
    assert req["due_on"] == service.local_date(event.time) + timedelta(days=60)
    with db.read() as conn:
        [assigned] = [e for e in outbox.events_for(conn, event_type="lsq.requirement.assigned.v1")
                      if e.data["kind"] == "remedial"]
    assert assigned.data["caused_by"] == [{"source": "/lsq/evaluation", "id": event.id}]
    assert assigned.data["staff_id"] == person and "below 3.00" in assigned.data["reason"]
    # the same event again is skipped; a later low score does not stack a second open course
    assert feed(event) == ["duplicate"]
    feed(_scored(person, branch, attitude=2.9, competence=4.0))
    assert len(_remedial(db, person)) == 1


def test_low_competence_and_both_and_neither(db, directory, feed):
    branch = directory.branch()
    weak, both, fine, edge = (directory.staff(branch) for _ in range(4))
    feed(_scored(weak, branch, attitude=4.5, competence=2.0), _scored(both, branch, attitude=1.5, competence=2.5),
         _scored(fine, branch, attitude=4.5, competence=4.0), _scored(edge, branch, attitude=3.0, competence=3.0))
    assert [_course_code(db, r["course_id"]) for r in _remedial(db, weak)] == ["PC-REM"]
    assert sorted(_course_code(db, r["course_id"]) for r in _remedial(db, both)) == ["PC-REM", "RS-REM"]
    assert _remedial(db, fine) == [] and _remedial(db, edge) == []  # 3.0 is not below 3.0


def test_rescored_above_the_threshold_waives_the_remedial_course(db, directory, feed):
    branch = directory.branch()
    person = directory.staff(branch)
    evaluation = str(uuid.uuid4())
    feed(_scored(person, branch, attitude=2.0, competence=4.0, evaluation_id=evaluation))
    feed(_scored(person, branch, attitude=3.4, competence=4.0, evaluation_id=evaluation, rescored=True))
    assert [r["status"] for r in _remedial(db, person)] == ["waived"]


def test_threshold_comes_from_the_policy(db, directory, feed, client):
    from tests.helpers import auth
    assert client.put("/policy", json={"remedial_threshold": 3.5}, headers=auth("network_admin")).status_code == 200
    branch = directory.branch()
    person = directory.staff(branch)
    feed(_scored(person, branch, attitude=3.2, competence=4.0))
    assert len(_remedial(db, person)) == 1


def _notices(db, event_type, requirement_ids=None):
    with db.read() as conn:
        found = outbox.events_for(conn, event_type=event_type)
    return [e for e in found if requirement_ids is None or e.data["requirement_id"] in requirement_ids]


def _set_due(db, staff_id, kind, due_on):
    with db.transaction() as conn:
        ids = [r for (r,) in conn.execute(select(store.requirements.c.id).where(
            store.requirements.c.staff_id == staff_id, store.requirements.c.kind == kind))]
        conn.execute(update(store.requirements).where(store.requirements.c.id.in_(ids)).values(
            due_on=due_on, period=str(due_on.year)))
    return set(ids)


def test_sweep_reminds_a_week_before_then_reports_overdue_once(db, directory):
    branch = directory.branch()
    late, soon, later = (directory.staff(branch) for _ in range(3))
    today = date(2026, 6, 15)
    overdue_ids = _set_due(db, late, "onboarding", today - timedelta(days=3))
    soon_ids = _set_due(db, soon, "onboarding", today + timedelta(days=7))
    far_ids = _set_due(db, later, "onboarding", today + timedelta(days=8))
    mine = overdue_ids | soon_ids | far_ids
    first = service.sweep(db, on=today)
    assert first["overdue"] >= 2 and first["due_soon"] >= 2
    overdue = _notices(db, "lsq.requirement.overdue.v1", mine)
    assert {e.data["requirement_id"] for e in overdue} == overdue_ids
    assert all(e.data["period"] == "2026" and e.data["overdue_since"] == (today - timedelta(days=2)).isoformat()
               and e.data["staff_id"] == late and e.data["branch_id"] == branch for e in overdue)
    assert {e.data["requirement_id"] for e in _notices(db, "lsq.requirement.due_soon.v1", mine)} == soon_ids
    # again the same day and the next days: nothing new until the far one enters its week
    service.sweep(db, on=today)
    service.sweep(db, on=today + timedelta(days=1))
    assert len(_notices(db, "lsq.requirement.overdue.v1", mine)) == len(overdue_ids)
    assert {e.data["requirement_id"] for e in _notices(db, "lsq.requirement.due_soon.v1", mine)} == soon_ids | far_ids
    # the soon ones fall overdue once; completed ones never do
    with db.transaction() as conn:
        conn.execute(update(store.requirements).where(store.requirements.c.id.in_(far_ids)).values(status="completed"))
    service.sweep(db, on=today + timedelta(days=20))
    service.sweep(db, on=today + timedelta(days=21))
    assert {e.data["requirement_id"] for e in _notices(db, "lsq.requirement.overdue.v1", mine)} == overdue_ids | soon_ids


def test_annual_hours_are_settled_at_year_end(db, directory):
    branch = directory.branch()
    diligent, idle = directory.staff(branch), directory.staff(branch)
    year = service.today().year
    with db.transaction() as conn:
        service.record_completion(conn, staff_id=diligent, branch_id=branch, source="external", kind="seminar",
                                  title="学术年会", title_zh=None, area=None, hours=24, credit=24,
                                  completed_on=date(year, 3, 1))
        service.record_completion(conn, staff_id=diligent, branch_id=branch, source="external", kind="conference",
                                  title="图书馆年会", title_zh=None, area=None, hours=16, credit=16,
                                  completed_on=date(year, 5, 1))
    service.sweep(db, on=date(year, 12, 26))
    reminded = {e.data["staff_id"] for e in _notices(db, "lsq.requirement.due_soon.v1")
                if e.data["kind"] == "annual_hours"}
    assert idle in reminded and diligent not in reminded
    service.sweep(db, on=date(year + 1, 1, 1))
    overdue = [e for e in _notices(db, "lsq.requirement.overdue.v1") if e.data["kind"] == "annual_hours"]
    assert {e.data["staff_id"] for e in overdue} == {idle}
    assert overdue[0].data["period"] == str(year) and overdue[0].data["due_on"] == f"{year}-12-31"
    # the new year's requirements were created by that sweep
    with db.read() as conn:
        assert conn.execute(select(func.count()).select_from(store.requirements).where(
            store.requirements.c.kind == "annual_hours", store.requirements.c.period == str(year + 1))).scalar_one() == 2


def test_concurrent_sweeps_publish_each_notice_once(db, directory):
    branch = directory.branch()
    people = [directory.staff(branch) for _ in range(20)]
    today = date(2026, 6, 15)
    ids = set()
    for person in people:
        ids |= _set_due(db, person, "onboarding", today - timedelta(days=1))
    barrier = threading.Barrier(3)
    errors = []

    def run():
        barrier.wait()
        try:
            service.sweep(db, on=today)
        except Exception as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    notices = _notices(db, "lsq.requirement.overdue.v1", ids)
    assert len(notices) == len(ids) == 40
    assert len({e.data["requirement_id"] for e in notices}) == 40


def test_transfer_moves_open_requirements_and_order_across_topics_is_tolerated(db, directory, feed):
    east, west = directory.branch("EAST"), directory.branch("WEST")
    person = str(uuid.uuid4())
    # the score arrives before the directory's staff.joined (another topic): still assigned
    feed(_scored(person, east, attitude=2.0, competence=4.0))
    assert len(_remedial(db, person)) == 1
    directory.staff(east, staff_id=person)
    feed(make_event("lsq.staff.transferred.v1", {"staff_id": person, "from_branch_id": east, "to_branch_id": west,
                                                 "effective_date": "2026-11-01"}))
    with db.read() as conn:
        branches = {r.branch_id for r in conn.execute(select(store.requirements.c.branch_id).where(
            store.requirements.c.staff_id == person, store.requirements.c.status == "open"))}
    assert branches == {west}


def test_status_left_through_staff_updated_releases_like_staff_left(db, directory, feed):
    branch = directory.branch()
    person = directory.staff(branch)
    feed(make_event("lsq.staff.updated.v1", {"staff_id": person, "branch_id": branch, "role": "staff",
                                             "name": "王芳", "status": "left"}))
    with db.read() as conn:
        statuses = {r.status for r in conn.execute(select(store.requirements.c.status).where(
            store.requirements.c.staff_id == person))}
    assert statuses == {"cancelled"}


def test_annual_hours_count_from_hiring_or_from_registration(db, directory, feed, time_machine):
    from services.training import model
    time_machine.move_to(shanghai(2028, 2, 29, 12), tick=False)  # a leap day; the newcomer starts in July
    year = service.today().year
    branch = directory.branch()
    veteran = str(uuid.uuid4())
    # a roster entered on 1 October: hired years ago, but owes only the last quarter this year
    feed(make_event("lsq.staff.joined.v1", {"staff_id": veteran, "employee_number": "E-old", "name": "老馆员",
                                            "role": "staff", "branch_id": branch, "hire_date": "2012-09-01"},
                    when=datetime(year, 10, 1, 2, tzinfo=timezone.utc)))
    newcomer = directory.staff(branch, hire_date=date(year, 7, 1))
    with db.read() as conn:
        owed = dict(conn.execute(select(store.requirements.c.staff_id, store.requirements.c.required_hours).where(
            store.requirements.c.kind == "annual_hours")).all())
    assert owed[veteran] == model.prorated_annual_hours(40, date(year, 10, 1), year) == 10
    assert owed[newcomer] == model.prorated_annual_hours(40, max(date(year, 7, 1), service.today()), year) == 20


def test_the_new_year_sweep_works_in_shanghai_days(db, directory, time_machine):
    """At 00:30 on 1 January in Shanghai (still 31 December in UTC) the sweep run without a date
    reports last year's hours overdue and gives everyone the new year's requirement."""
    time_machine.move_to(shanghai(2026, 6, 1, 9), tick=False)
    branch = directory.branch()
    person = directory.staff(branch)
    time_machine.move_to(shanghai(2027, 1, 1, 0, 30), tick=False)
    result = service.sweep(db)
    assert result["created"] >= 1
    overdue = [e for e in _notices(db, "lsq.requirement.overdue.v1")
               if e.data["staff_id"] == person and e.data["kind"] == "annual_hours"]
    assert [(e.data["period"], e.data["overdue_since"]) for e in overdue] == [("2026", "2027-01-01")]
    with db.read() as conn:
        periods = {p for (p,) in conn.execute(select(store.requirements.c.period).where(
            store.requirements.c.staff_id == person, store.requirements.c.kind == "annual_hours"))}
    assert periods == {"2026", "2027"}
