"""Issue 17 in feedback: the reader is told the due times, closing publishes an event, branches set
their own SLA targets, and every code a person reads has its Chinese label."""
from datetime import datetime, timedelta

import pytest

from services.feedback import service
from shared import outbox
from shared.timeutil import utcnow
from tests.helpers import auth
from tests.integration.feedback.conftest import ADMIN, B1, B2, DESK_1, STAFF_1, SUPERVISOR_1

pytestmark = pytest.mark.integration

COMPLAINT = {"branch_id": B1, "service_point_id": DESK_1, "staff_id": STAFF_1, "category": "attitude",
             "severity": "normal", "channel": "desk", "description": "态度生硬"}
MANAGER_B1 = auth("branch_manager", staff_id="manager-1", branch_id=B1)
MANAGER_B2 = auth("branch_manager", staff_id="manager-2", branch_id=B2)


def _file(client, **changes):
    response = client.post("/complaints", json={**COMPLAINT, **changes})
    assert response.status_code == 201, response.json
    return response.json


def _act(client, cid, action, body=None, headers=SUPERVISOR_1):
    response = client.post(f"/complaints/{cid}/{action}", json=body or {}, headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def _span(view, target):
    return datetime.fromisoformat(view[f"{target}_due_at"]) - datetime.fromisoformat(view["filed_at"])


def test_the_filing_reply_and_the_tracking_view_carry_the_due_times(client):
    filed = _file(client)
    assert _span(filed, "acknowledge") == timedelta(hours=24) and _span(filed, "resolve") == timedelta(days=7)
    assert filed["acknowledge_due_at"].endswith("+00:00") or filed["acknowledge_due_at"].endswith("Z")
    tracked = client.get(f"/complaints/track/{filed['tracking_code']}").json
    assert tracked["acknowledge_due_at"] == filed["acknowledge_due_at"]
    assert tracked["resolve_due_at"] == filed["resolve_due_at"]
    _act(client, filed["id"], "acknowledge")
    _act(client, filed["id"], "investigate")
    _act(client, filed["id"], "wait")
    # While the library waits on the reader, their time does not count: no resolve-by yet.
    assert client.get(f"/complaints/track/{filed['tracking_code']}").json["resolve_due_at"] is None


def test_closing_publishes_complaint_closed_by_staff_and_by_the_system(client, db):
    by_staff, by_system = _file(client), _file(client)
    for filed in (by_staff, by_system):
        _act(client, filed["id"], "acknowledge", {"handler_id": STAFF_1})
        _act(client, filed["id"], "resolve", {"outcome": "substantiated", "response": "已致歉"})
    _act(client, by_staff["id"], "close")
    assert service.auto_close(db, utcnow() + timedelta(days=15)) == 1
    with db.read() as conn:
        closed = {cid: [e for e in outbox.events_for(conn, subject=cid) if e.type == "lsq.complaint.closed.v1"]
                  for cid in (by_staff["id"], by_system["id"])}
    assert [e.data["closed_by"] for e in closed[by_staff["id"]]] == ["staff"]
    assert [e.data["closed_by"] for e in closed[by_system["id"]]] == ["system"]
    data = closed[by_system["id"]][0].data
    assert data["outcome"] == "substantiated" and data["handler_id"] == STAFF_1 and data["staff_id"] == STAFF_1
    assert data["branch_id"] == B1 and data["resolved_at"] <= data["closed_at"]


def test_a_branch_sets_its_own_sla_targets_over_the_networks(client):
    assert client.put(f"/branches/{B1}/sla-policy", headers=MANAGER_B2, json=[
        {"severity": "normal", "acknowledge_hours": 4, "resolve_hours": 48}]).status_code == 403
    assert client.put(f"/branches/{B1}/sla-policy", headers=SUPERVISOR_1, json=[
        {"severity": "normal", "acknowledge_hours": 4, "resolve_hours": 48}]).status_code == 403
    bad = client.put(f"/branches/{B1}/sla-policy", headers=MANAGER_B1, json=[
        {"severity": "normal", "acknowledge_hours": 50, "resolve_hours": 48}])
    assert bad.status_code == 422 and "0.acknowledge_hours" in bad.json["errors"]
    put = client.put(f"/branches/{B1}/sla-policy", headers=MANAGER_B1, json=[
        {"severity": "normal", "acknowledge_hours": 4, "resolve_hours": 48}])
    assert put.status_code == 200, put.json
    by_severity = {t["severity"]: t for t in put.json}
    assert by_severity["normal"]["source"] == "branch" and by_severity["normal"]["acknowledge_hours"] == 4
    assert by_severity["urgent"]["source"] == "network" and by_severity["urgent"]["acknowledge_hours"] == 2
    assert by_severity["normal"]["severity_zh"] == "一般"
    own = _file(client)
    assert _span(own, "acknowledge") == timedelta(hours=4) and _span(own, "resolve") == timedelta(hours=48)
    other = _file(client, branch_id=B2, service_point_id=None, staff_id=None)
    assert _span(other, "acknowledge") == timedelta(hours=24)
    # A change of the network's targets reaches the severities the branch did not set, not the others.
    assert client.put("/sla-policy", headers=ADMIN, json=[
        {"severity": "normal", "acknowledge_hours": 12, "resolve_hours": 72},
        {"severity": "urgent", "acknowledge_hours": 1, "resolve_hours": 12}]).status_code == 200
    assert _span(_file(client), "acknowledge") == timedelta(hours=4)
    assert _span(_file(client, severity="urgent"), "acknowledge") == timedelta(hours=1)
    assert _span(_file(client, branch_id=B2, service_point_id=None, staff_id=None), "acknowledge") \
        == timedelta(hours=12)
    reset = client.delete(f"/branches/{B1}/sla-policy?severity=normal", headers=ADMIN)
    assert reset.status_code == 200 and {t["source"] for t in reset.json} == {"network"}
    assert _span(_file(client), "acknowledge") == timedelta(hours=12)
    assert client.get(f"/branches/nowhere/sla-policy", headers=ADMIN).status_code == 422


def test_branch_targets_in_business_hours_follow_the_branchs_opening_hours(client):
    # The network counts round the clock; branch 1 counts its opening hours: one hour on Mondays.
    assert client.put(f"/branches/{B1}/opening-hours", headers=MANAGER_B1, json={
        "timezone": "Asia/Shanghai", "week": {"mon": [["09:00", "10:00"]]}}).status_code == 200
    assert client.put(f"/branches/{B1}/sla-policy", headers=MANAGER_B1, json=[
        {"severity": "normal", "acknowledge_hours": 2, "resolve_hours": 8, "business_hours": True}]).status_code == 200
    due = datetime.fromisoformat(_file(client)["acknowledge_due_at"])
    assert due.weekday() == 0 and (due.hour, due.minute) == (2, 0)  # a Monday 10:00 in Shanghai, two weeks out
    assert timedelta(days=7) < _span(_file(client), "acknowledge") <= timedelta(days=14)
    # Opening hours alone change nothing where the target counts round the clock (urgent, network's).
    assert _span(_file(client, severity="urgent"), "acknowledge") == timedelta(hours=2)


def test_codes_have_their_chinese_labels_in_every_view(client):
    filed = _file(client, category="waiting", severity="urgent", channel="wechat")
    assert (filed["status_zh"], filed["category_zh"], filed["severity_zh"], filed["channel_zh"]) == \
        ("新投诉", "等候与效率", "紧急", "微信")
    _act(client, filed["id"], "acknowledge")
    resolved = _act(client, filed["id"], "resolve", {"outcome": "partially_substantiated", "response": "已改进"})
    assert resolved["status_zh"] == "已处理" and resolved["outcome_zh"] == "部分属实"
    tracked = client.get(f"/complaints/track/{filed['tracking_code']}").json
    assert tracked["outcome_zh"] == "部分属实" and tracked["category_zh"] == "等候与效率"
    listed = client.get("/complaints", headers=SUPERVISOR_1).json["items"][0]
    assert listed["status_zh"] == "已处理"
    # Messages name statuses in Chinese, not by their codes.
    conflict = client.post(f"/complaints/{filed['id']}/acknowledge", json={}, headers=SUPERVISOR_1)
    assert conflict.status_code == 409 and "resolved" not in conflict.json["message_zh"]
    twice = client.put("/sla-policy", headers=ADMIN, json=[
        {"severity": "high", "acknowledge_hours": 1, "resolve_hours": 2},
        {"severity": "high", "acknowledge_hours": 1, "resolve_hours": 2}])
    assert twice.status_code == 422 and "high" not in twice.json["message_zh"] and "高" in twice.json["message_zh"]


def test_praise_and_forum_suggestions_have_chinese_labels(client):
    praise = client.post("/praise", json={"branch_id": B1, "staff_id": STAFF_1, "message": "耐心"}).json
    assert praise["status_zh"] == "有效" and praise["reject_reason_zh"] is None
    rejected = client.post(f"/praise/{praise['id']}/reject", json={"reason": "spam"}, headers=SUPERVISOR_1)
    assert rejected.status_code == 200 and rejected.json["reject_reason_zh"] == "垃圾信息"
    assert rejected.json["status_zh"] == "已驳回"
    forum = client.post("/forums", headers=SUPERVISOR_1, json={
        "branch_id": B1, "title": "读者座谈会", "held_on": "2026-11-20", "attendance": 12,
        "suggestions": [{"text": "延长开放时间"}]})
    assert forum.status_code == 201, forum.json
    suggestion = forum.json["suggestions"][0]
    assert suggestion["status_zh"] == "已提出"
    done = client.patch(f"/forums/{forum.json['id']}/suggestions/{suggestion['id']}", headers=SUPERVISOR_1,
                        json={"status": "done"})
    assert done.status_code == 200 and done.json["status_zh"] == "已落实"
    back = client.patch(f"/forums/{forum.json['id']}/suggestions/{suggestion['id']}", headers=SUPERVISOR_1,
                        json={"status": "accepted"})
    assert back.status_code == 409 and "done" not in back.json["message_zh"] and "已落实" in back.json["message_zh"]
