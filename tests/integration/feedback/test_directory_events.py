"""The worker's handlers keep the directory read model the references are checked against."""
import uuid
from datetime import date

import pytest

from services.feedback.handlers import HANDLERS
from shared.consumer import ConsumerRunner
from shared.events.envelope import Event
from shared.timeutil import utcnow
from tests.integration.feedback.conftest import B1, B2, SUPERVISOR_1

pytestmark = pytest.mark.integration


def _event(event_type, subject, data):
    return Event(id=str(uuid.uuid4()), type=event_type, source="/lsq/directory", subject=subject, time=utcnow(),
                 data=data)


def test_joined_transferred_and_left_staff(app, db, client):
    runner = ConsumerRunner(db, "127.0.0.1:1", "test-feedback", HANDLERS)
    complaint = {"branch_id": B1, "staff_id": "staff-new", "category": "attitude", "description": "态度冷淡"}
    assert client.post("/complaints", json=complaint).status_code == 422
    joined = _event("lsq.staff.joined.v1", "staff-new", {
        "staff_id": "staff-new", "employee_number": "E77", "name": "钱进", "role": "staff", "branch_id": B1,
        "hire_date": date(2026, 11, 1)})
    assert runner.apply_batch([joined, joined]) == ["applied", "duplicate"]
    assert client.post("/complaints", json=complaint).status_code == 201
    # A handler must belong to the complaint's branch: after a transfer the staff member no longer does.
    filed = client.post("/complaints", json={**complaint, "staff_id": None}).json
    runner.apply_batch([_event("lsq.staff.transferred.v1", "staff-new", {
        "staff_id": "staff-new", "from_branch_id": B1, "to_branch_id": B2, "effective_date": date(2026, 11, 20)})])
    assigned = client.post(f"/complaints/{filed['id']}/assign", json={"handler_id": "staff-new"}, headers=SUPERVISOR_1)
    assert assigned.status_code == 422 and "handler_id" in assigned.json["errors"]
    runner.apply_batch([_event("lsq.staff.left.v1", "staff-new", {
        "staff_id": "staff-new", "branch_id": B2, "left_on": date(2026, 11, 25), "reason": "resigned"})])
    left = client.post("/complaints", json={**complaint, "branch_id": B2})
    assert left.status_code == 422 and left.json["code"] == "staff_left"


def test_a_new_branch_and_desk_become_known(db, client):
    runner = ConsumerRunner(db, "127.0.0.1:1", "test-feedback", HANDLERS)
    body = {"service_point_id": "desk-new", "stars": 4}
    assert client.post("/ratings", json=body).status_code == 422
    runner.apply_batch([
        _event("lsq.branch.opened.v1", "branch-new", {"branch_id": "branch-new", "code": "NEW", "name_zh": "新馆",
                                                       "name_en": "New branch"}),
        _event("lsq.branch.service_point_opened.v1", "desk-new", {
            "branch_id": "branch-new", "service_point_id": "desk-new", "name_zh": "咨询台", "name_en": "Enquiries",
            "kind": "reference"})])
    rating = client.post("/ratings", json=body)
    assert rating.status_code == 201 and rating.json["branch_id"] == "branch-new"
