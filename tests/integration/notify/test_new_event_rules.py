"""The messages of the events added for issue 16 (peer ratings asked, evaluation deadline near,
enrolment off the waiting list, external activity waiting for approval, complaint waiting on the
reader): each turned by notify's handlers into the right message to the right person."""
import uuid
from dataclasses import replace
from datetime import timedelta

import pytest

from services.notify.delivery import Sender
from shared.timeutil import rfc3339, utcnow
from tests.helpers import settings_for
from tests.integration.notify.conftest import ADMIN_STAFF, BRANCH, HANDLER, MANAGER, STAFF, make_event
from tests.integration.notify.test_reader_contact import _file, feedback  # noqa: F401 - the fixture

pytestmark = pytest.mark.integration
DEADLINE = "2030-01-15T02:00:00Z"  # 10:00 in Shanghai


def inbox_of(notify, staff_id):
    return notify.messages(staff_id=staff_id, channel="inbox")


def test_peer_ratings_asked_and_the_deadline_reminder_reach_the_rater(notify):
    now = rfc3339(utcnow())
    notify.apply(make_event("lsq.cycle.peer_ratings_requested.v1", {
        "cycle_id": "c1", "period": "2029-Q4", "staff_id": STAFF, "branch_id": BRANCH, "peers_to_rate": 4,
        "submission_deadline": DEADLINE, "requested_at": now}))
    [asked] = inbox_of(notify, STAFF)
    assert "4 位同事" in asked["subject_zh"] and "2030-01-15 10:00" in asked["body_zh"] and "王芳" in asked["body_zh"]
    assert "4 colleague" in asked["body_en"]
    assert notify.messages(staff_id=MANAGER) == []  # nobody else hears who rates whom
    notify.apply(make_event("lsq.cycle.deadline_approaching.v1", {
        "cycle_id": "c1", "period": "2029-Q4", "staff_id": STAFF, "branch_id": BRANCH,
        "submission_deadline": DEADLINE, "self_pending": True, "peers_pending": 2, "supervisor_pending": 0,
        "reminded_at": now}))
    reminder = inbox_of(notify, STAFF)[-1]
    assert reminder["event_type"] == "lsq.cycle.deadline_approaching.v1"
    assert "自评未完成" in reminder["body_zh"] and "尚缺 2 项" in reminder["body_zh"]
    assert "True" not in reminder["body_zh"] and "self-rating not yet given" in reminder["body_en"]


def test_an_enrolment_off_the_waiting_list_reads_with_the_chinese_course_title(notify):
    notify.apply(make_event("lsq.training.enrolment_promoted.v1", {
        "enrolment_id": "e1", "session_id": "s1", "course_id": "k1", "staff_id": STAFF, "branch_id": BRANCH,
        "title": "Handling reader complaints", "title_zh": "读者投诉处理", "starts_at": DEADLINE,
        "place": "中心馆三楼报告厅", "promoted_at": rfc3339(utcnow())}))
    [message] = inbox_of(notify, STAFF)
    assert "读者投诉处理" in message["subject_zh"] and "Handling" not in message["body_zh"]
    assert "Handling reader complaints" in message["subject_en"] and "中心馆三楼报告厅" in message["body_zh"]
    assert sorted(m["channel"] for m in notify.messages(staff_id=STAFF)) == ["email", "inbox"]


def test_an_external_activity_waits_for_the_supervisors_and_manager_never_its_author(notify):
    def submitted(author):
        return make_event("lsq.training.external_submitted.v1", {
            "activity_id": str(uuid.uuid4()), "staff_id": author, "branch_id": BRANCH, "kind": "academic_forum",
            "title": "长三角公共图书馆论坛", "activity_date": "2029-12-01", "hours": 4,
            "submitted_at": rfc3339(utcnow())})

    notify.apply(submitted(STAFF))
    told = sorted({m["staff_id"] for m in notify.messages(event_type="lsq.training.external_submitted.v1")})
    assert told == sorted([MANAGER, HANDLER])  # the branch's supervisor and manager
    [message] = inbox_of(notify, MANAGER)
    assert "王芳" in message["body_zh"] and "学术论坛" in message["body_zh"] and "academic_forum" not in message["body_zh"]
    # the manager's own activity goes to the supervisor; with nobody else left, to the network office
    notify.apply(submitted(MANAGER))
    assert len(inbox_of(notify, MANAGER)) == 1 and len(inbox_of(notify, HANDLER)) == 2
    notify.apply(submitted(HANDLER))
    assert len(inbox_of(notify, MANAGER)) == 2 and len(inbox_of(notify, HANDLER)) == 2
    assert inbox_of(notify, ADMIN_STAFF) == []


def test_a_complaint_waiting_on_the_reader_mails_the_reader_through_feedback(notify, mail, feedback, database_url):
    sender = Sender(notify.db, replace(notify.settings, feedback_url=feedback.url), settings_for("notify", database_url))
    filed = _file(feedback, "han.mei@example.cn")
    notify.apply(make_event("lsq.complaint.waiting_on_reader.v1", {
        "complaint_id": filed["id"], "branch_id": BRANCH, "staff_id": STAFF, "service_point_id": "desk-n",
        "waiting_since": rfc3339(utcnow() - timedelta(minutes=1)), "handler_id": HANDLER}))
    [row] = notify.messages(event_type="lsq.complaint.waiting_on_reader.v1")
    assert row["recipient"] == f"reader:{filed['id']}" and row["channel"] == "email"
    assert sender.send_due() == 1, notify.messages()
    [message] = mail.messages()
    assert message["To"] == "han.mei@example.cn"
    text = next(p for p in message.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "补充信息" in text and "http://portal.example/track" in text
