"""Notify's API on SQLite and PostgreSQL: rules and templates, preferences, duty groups, inbox."""
import pytest

from tests.helpers import auth
from tests.integration.notify.conftest import ADMIN, BRANCH, MANAGER, STAFF, sanction

pytestmark = pytest.mark.integration

RULE = {"event_type": "lsq.praise.received.v1", "recipient_kind": "branch_manager", "channels": ["inbox"],
        "subject_zh": "{{ staff_name }}收到表扬", "subject_en": "{{ staff_name }} was praised",
        "body_zh": "{{ branch_name }}的{{ staff_name }}收到一条读者表扬。", "body_en": "{{ staff_name }} of {{ branch_name }} was praised."}


def test_default_rules_are_seeded_once_and_listed(client, app):
    rules = client.get("/rules", headers=ADMIN).json
    assert len(rules) >= 20
    assert {(r["event_type"], r["recipient_kind"]) for r in rules} >= {("lsq.complaint.resolved.v1", "reader"),
                                                                      ("lsq.sanction.issued.v1", "staff")}
    from services.notify import service
    assert service.seed_default_rules(app.extensions["lsq"].db) == 0
    assert len(client.get("/rules", headers=ADMIN).json) == len(rules)
    types = client.get("/event-types", headers=auth("staff", staff_id=STAFF)).json
    sanction_type = next(t for t in types if t["event_type"] == "lsq.sanction.issued.v1")
    assert "appeal_deadline" in sanction_type["variables"] and "reader" not in sanction_type["recipient_kinds"]


def test_rule_lifecycle_and_conflict(client):
    created = client.post("/rules", json=RULE, headers=ADMIN)
    assert created.status_code == 201, created.json
    assert client.post("/rules", json=RULE, headers=ADMIN).status_code == 409
    patched = client.patch(f"/rules/{created.json['id']}", json={"enabled": False, "channels": ["inbox", "email"]},
                           headers=ADMIN)
    assert patched.status_code == 200 and patched.json["enabled"] is False
    assert patched.json["channels"] == ["inbox", "email"]
    assert client.delete(f"/rules/{created.json['id']}", headers=ADMIN).status_code == 204
    assert client.delete(f"/rules/{created.json['id']}", headers=ADMIN).status_code == 404


@pytest.mark.parametrize("change, field", [
    ({"event_type": "lsq.praise.exploded.v1"}, "event_type"),
    ({"recipient_kind": "janitor"}, "recipient_kind"),
    ({"recipient_kind": "reader"}, "recipient_kind"),       # praise has no reader contact
    ({"channels": ["chat"]}, "channels"),                  # people are not robots
    ({"channels": ["pigeon"]}, "channels"),
    ({"body_zh": "{{ staff_name "}, "body_zh"),
    ({"subject_en": "{{ reader_phone }}"}, "subject_en"),
    ({"body_en": "{% for x in %}{% endfor %}"}, "body_en"),
    ({"body_en": ""}, "body_en"),
])
def test_bad_rules_are_422_naming_the_field(client, change, field):
    response = client.post("/rules", json={**RULE, **change}, headers=ADMIN)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]
    assert response.json["message_zh"]


def test_a_template_edit_that_breaks_is_refused_and_the_rule_kept(client):
    rule = next(r for r in client.get("/rules", headers=ADMIN).json if r["event_type"] == "lsq.sanction.issued.v1")
    response = client.patch(f"/rules/{rule['id']}", json={"body_en": "{{ appeal_deadline | nosuchfilter }}"},
                            headers=ADMIN)
    assert response.status_code == 422 and "body_en" in response.json["errors"]
    again = next(r for r in client.get("/rules", headers=ADMIN).json if r["id"] == rule["id"])
    assert again["body_en"] == rule["body_en"]


@pytest.mark.parametrize("who", [auth("staff", staff_id=STAFF), auth("branch_manager", staff_id=MANAGER, branch_id=BRANCH),
                                 auth("auditor")])
def test_only_network_admin_edits_rules(client, who):
    assert client.post("/rules", json=RULE, headers=who).status_code == 403


def test_preferences_by_the_staff_member_or_an_admin(client, notify):
    me = auth("staff", staff_id=STAFF)
    assert client.get(f"/preferences/{STAFF}", headers=me).json["channels"] == ["email", "inbox"]
    body = {"email": "wang@lib.example", "language": "en", "channels": ["inbox"], "quiet_start": "22:00",
            "quiet_end": "07:30", "digest": True, "muted_event_types": ["lsq.praise.received.v1"], "chat_id": "wangfang"}
    saved = client.put(f"/preferences/{STAFF}", json=body, headers=me)
    assert saved.status_code == 200, saved.json
    assert client.get(f"/preferences/{STAFF}", headers=ADMIN).json["quiet_end"] == "07:30"
    assert client.get(f"/preferences/{STAFF}", headers=auth("staff", staff_id=MANAGER)).status_code == 403
    assert client.put(f"/preferences/{MANAGER}", json=body, headers=me).status_code == 403
    assert client.put("/preferences/nobody", json=body, headers=ADMIN).status_code == 422


@pytest.mark.parametrize("change, field", [({"quiet_start": "24:00", "quiet_end": "07:00"}, "quiet_start"),
                                           ({"quiet_start": "22:00", "quiet_end": "7"}, "quiet_end"),
                                           ({"quiet_start": "22:00"}, "quiet_end"),
                                           ({"muted_event_types": ["lsq.nope.v1"]}, "muted_event_types"),
                                           ({"channels": ["chat"]}, "channels"), ({"language": "fr"}, "language"),
                                           ({"email": "not-an-address"}, "email")])
def test_bad_preferences_are_422_naming_the_field(client, notify, change, field):
    response = client.put(f"/preferences/{STAFF}", json=change, headers=auth("staff", staff_id=STAFF))
    assert response.status_code == 422 and field in response.json["errors"], response.json


def test_duty_groups_need_https_unless_loopback_is_allowed(client, notify):
    body = {"branch_id": BRANCH, "name": "中心馆值班群", "platform": "dingtalk", "secret": "SECx",
            "url": "http://robot.example.com/send?access_token=t"}
    response = client.post("/chat-groups", json=body, headers=ADMIN)
    assert response.status_code == 422 and "url" in response.json["errors"]
    ok = client.post("/chat-groups", json={**body, "url": "https://oapi.dingtalk.com/robot/send?access_token=t"},
                     headers=ADMIN)
    assert ok.status_code == 201 and ok.json["has_secret"] is True and "secret" not in ok.json
    loop = client.post("/chat-groups", json={**body, "url": "http://127.0.0.1:9/hook"}, headers=ADMIN)
    assert loop.status_code == 201  # this app allows loopback (LSQ_NOTIFY_ALLOW_LOOPBACK_WEBHOOKS)
    assert client.post("/chat-groups", json={**body, "branch_id": "nowhere"}, headers=ADMIN).status_code == 422
    assert client.post("/chat-groups", json={**body, "platform": "slack"}, headers=ADMIN).status_code == 422
    assert len(client.get("/chat-groups", headers=ADMIN).json) == 2


def test_loopback_http_is_refused_when_not_allowed(database_url, notify):
    from tests.helpers import make_app
    strict = make_app("notify", database_url)
    try:
        response = strict.test_client().post("/chat-groups", headers=ADMIN, json={
            "branch_id": BRANCH, "name": "群", "platform": "wecom", "url": "http://127.0.0.1:9/hook"})
        assert response.status_code == 422 and "url" in response.json["errors"]
    finally:
        strict.extensions["lsq"].db.dispose()


def test_inbox_count_read_and_read_all(client, notify):
    notify.apply(sanction(), sanction())
    me = auth("staff", staff_id=STAFF)
    assert client.get("/inbox/unread-count", headers=me).json == {"unread": 2}
    page = client.get("/inbox?unread=true", headers=me).json
    assert page["total"] == 2 and page["items"][0]["subject_zh"] == "您收到一项处分通知"
    assert "口头警告" in page["items"][0]["body_zh"] and "verbal warning" in page["items"][0]["body_en"]
    first = page["items"][0]["id"]
    assert client.post(f"/inbox/{first}/read", headers=me).json["read_at"]
    assert client.get("/inbox/unread-count", headers=me).json == {"unread": 1}
    assert client.post(f"/inbox/{first}/read", headers=auth("staff", staff_id=MANAGER)).status_code == 404
    assert client.post("/inbox/read-all", headers=me).json["marked"] == 1
    assert client.get("/inbox/unread-count", headers=me).json == {"unread": 0}
    assert client.get("/inbox", headers=me).json["total"] == 2
    assert client.get("/inbox?page=0", headers=me).status_code == 422
    assert client.get("/inbox/unread-count", headers=ADMIN).status_code == 403  # an admin token without staff id


def test_admins_see_messages_and_staff_do_not(client, notify):
    notify.apply(sanction())
    listing = client.get("/messages?channel=inbox", headers=ADMIN).json
    assert listing["total"] == 1 and listing["items"][0]["status"] == "sent"
    assert client.get("/messages", headers=auth("staff", staff_id=STAFF)).status_code == 403
    assert client.get("/messages?status=lost", headers=ADMIN).status_code == 422


def test_every_endpoint_declares_access_and_docs_answer(app, client):
    from shared.auth import endpoints_without_access
    assert endpoints_without_access(app) == []
    paths = client.get("/openapi.json").json["paths"]
    assert {"/inbox", "/inbox/unread-count", "/inbox/{message_id}/read", "/inbox/read-all"} <= set(paths)
    assert client.get("/healthz").status_code == 200
