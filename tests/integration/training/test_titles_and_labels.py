"""Issue 17 in training: hours that follow professional titles (职称), Chinese labels and titles in
every Chinese text and the CSV export, ad-hoc assignments not labelled as renewals."""
import csv
import io
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from services.training import store
from shared import outbox
from shared.timeutil import local_today
from tests.helpers import auth, shanghai
from tests.integration.training.conftest import make_event

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


def _join(feed, branch, title=..., role="staff"):
    staff_id = str(uuid.uuid4())
    data = {"staff_id": staff_id, "employee_number": f"E{uuid.uuid4().hex[:6]}", "name": "周敏", "role": role,
            "branch_id": branch, "hire_date": local_today() - timedelta(days=800)}
    if title is not ...:
        data["title"] = title
    feed(make_event("lsq.staff.joined.v1", data))
    return staff_id


def _annual(db, staff_id):
    year = str(local_today().year)
    with db.read() as conn:
        r = store.requirements.c
        return {(x.kind, x.area): x.required_hours for x in conn.execute(
            select(r.kind, r.area, r.required_hours).where(r.staff_id == staff_id, r.period == year,
                                                           r.kind.in_(("annual_hours", "area_hours"))))}


def test_annual_hours_follow_the_professional_title_where_it_asks_more(db, directory, feed, client, time_machine):
    time_machine.move_to(shanghai(2027, 1, 5, 10, 0), tick=False)  # registered in January: a full year owed
    policy = client.put("/policy", headers=ADMIN, json={
        "annual_hours": {"default": 40, "supervisor": 50},
        "title_annual_hours": {"senior": 60, "junior": 30},
        "title_area_minima": {"associate_senior": {"reader_service": 8}}})
    assert policy.status_code == 200, policy.json
    assert policy.json["title_annual_hours"] == {"senior": 60, "junior": 30}
    bad = client.put("/policy", headers=ADMIN, json={"title_annual_hours": {"professor": 60}})
    assert bad.status_code == 422 and "title_annual_hours" in bad.json["errors"]
    branch = directory.branch()
    senior = _join(feed, branch, "senior")
    junior_supervisor = _join(feed, branch, "junior", role="supervisor")
    untitled = _join(feed, branch)
    associate = _join(feed, branch, "associate_senior")
    assert _annual(db, senior)[("annual_hours", None)] == 60
    assert _annual(db, junior_supervisor)[("annual_hours", None)] == 50  # the role asks more than the title
    assert _annual(db, untitled)[("annual_hours", None)] == 40
    assert _annual(db, associate) == {("annual_hours", None): 40, ("area_hours", "reader_service"): 8}
    transcript = client.get(f"/staff/{senior}/transcript", headers=ADMIN).json
    assert transcript["professional_title"] == "senior" and transcript["professional_title_zh"] == "正高级"
    assert transcript["hours"]["required"] == 60


def test_a_title_change_is_remembered_and_an_event_without_the_field_keeps_it(db, directory, feed):
    branch = directory.branch()
    staff_id = _join(feed, branch, "intermediate")
    update = {"staff_id": staff_id, "branch_id": branch, "role": "staff", "name": "周敏", "status": "active"}
    feed(make_event("lsq.staff.updated.v1", update))  # an event from before titles were sent
    with db.read() as conn:
        assert store.titles_of(conn, [staff_id]) == {staff_id: "intermediate"}
    feed(make_event("lsq.staff.updated.v1", {**update, "title": "associate_senior"}))
    with db.read() as conn:
        assert store.titles_of(conn, [staff_id]) == {staff_id: "associate_senior"}
    feed(make_event("lsq.staff.updated.v1", {**update, "title": None}))
    with db.read() as conn:
        assert store.titles_of(conn, [staff_id]) == {staff_id: None}


def test_requirements_carry_chinese_labels_and_the_courses_chinese_title(db, directory, client):
    branch = directory.branch()
    staff_id = directory.staff(branch)
    courses = client.get("/courses?page_size=100", headers=ADMIN).json["items"]
    course = next(c for c in courses if not c["is_regulation"] and not c.get("remedial_for"))
    r = client.post(f"/courses/{course['id']}/assignments", headers=ADMIN,
                    json={"staff_ids": [staff_id], "reason": "service plan", "reason_zh": "服务改进计划"})
    assert r.status_code == 201, r.json
    listed = client.get(f"/requirements?staff_id={staff_id}&page_size=100", headers=ADMIN).json["items"]
    assigned = next(x for x in listed if x["course_id"] == course["id"])
    assert assigned["kind"] == "assigned" and assigned["kind_zh"] == "指派培训" and assigned["status_zh"] == "未完成"
    onboarding = next(x for x in listed if x["kind"] == "onboarding")
    assert onboarding["kind_zh"] == "入职培训" and onboarding["area_zh"] is None
    with db.read() as conn:
        [event] = [e for e in outbox.events_for(conn, event_type="lsq.requirement.assigned.v1")
                   if e.data["requirement_id"] == assigned["id"]]
    assert event.data["title_zh"] == course["title_zh"] and event.data["kind"] == "assigned"
    waived = client.post(f"/requirements/{assigned['id']}/waive", headers=ADMIN, json={"reason": "病假"})
    assert waived.status_code == 200
    again = client.post(f"/requirements/{assigned['id']}/waive", headers=ADMIN, json={"reason": "病假"})
    assert again.status_code == 409 and "waived" not in again.json["message_zh"] and "已豁免" in again.json["message_zh"]


def test_the_compliance_csv_has_bilingual_headers_and_names_beside_codes(db, directory, client, time_machine):
    time_machine.move_to(shanghai(2027, 1, 5, 10, 0), tick=False)
    assert client.put("/policy", headers=ADMIN, json={"area_minima": {"default": {"reader_service": 6}}}).status_code == 200
    branch = directory.branch("EAST", "东城分馆", "East Branch")
    directory.staff(branch)
    r = client.get("/reports/compliance.csv", headers=auth("auditor"))
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert all(" / " in header for header in rows[0])
    area = next(row for row in rows if row["competency area / 能力领域代码"] == "reader_service")
    assert area["competency area (Chinese) / 能力领域"] == "读者服务"
    assert area["requirement kind (Chinese) / 要求类型"] == "能力领域学时"
    assert area["requirement (Chinese) / 培训要求"] == "读者服务领域学时"
    assert area["branch (Chinese) / 分馆"] == "东城分馆" and area["branch / 分馆英文名"] == "East Branch"
    report = client.get("/reports/compliance", headers=auth("auditor")).json
    line = next(x for x in report["lines"] if x["area"] == "reader_service")
    assert line["area_zh"] == "读者服务" and line["kind_zh"] == "能力领域学时"
    with db.read() as conn:
        titles = [x.title_zh for x in conn.execute(select(store.requirements.c.title_zh).where(
            store.requirements.c.kind == "area_hours"))]
    assert titles and all("读者服务" in t and "reader_service" not in t for t in titles)
