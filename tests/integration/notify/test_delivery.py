"""Delivery on SQLite and PostgreSQL: a real SMTP server on loopback and a real HTTP receiver for
the robots; dedupe, backoff through an outage, giving up, quiet hours, rate limits."""
import time
from datetime import timedelta
from email.header import decode_header, make_header

import pytest

from services.notify import model, service
from shared.timeutil import network_zone, utcnow
from tests.integration.notify.conftest import (ADMIN, BRANCH, HANDLER, MANAGER, STAFF, complaint_filed, make_event,
                                               put_email, sanction)

pytestmark = pytest.mark.integration


def subject_of(message) -> str:
    return str(make_header(decode_header(message["Subject"])))


def bodies(message) -> tuple[str, str]:
    parts = {p.get_content_type(): p.get_payload(decode=True).decode() for p in message.walk()
             if p.get_content_maintype() == "text"}
    return parts["text/plain"], parts["text/html"]


def test_sanction_mail_reaches_the_smtp_server_bilingual_and_once(client, notify, mail):
    put_email(client, STAFF, "wang.fang@lib.example")
    event = sanction()
    notify.apply(event)
    assert notify.sender.send_due() == 1
    [message] = mail.messages()
    assert message["To"] == "wang.fang@lib.example" and subject_of(message) == "您收到一项处分通知"
    text, html = bodies(message)
    assert "王芳，您收到一项处分：口头警告" in text and "2030-01-15 10:00" in text  # the appeal deadline, Shanghai time
    assert "A sanction was issued to you" in text and "verbal warning" in text
    assert "<html>" in html and "口头警告" in html
    # redelivery of the same event (a consumer restart before its offset commit) and a resend pass
    notify.runner.apply_batch([event])
    with notify.db.transaction() as conn:
        assert service.plan_messages(conn, event, notify.settings) == 0  # unique (event, recipient, channel)
    assert notify.sender.send_due(utcnow() + timedelta(hours=2)) == 0
    assert len(mail.messages()) == 1
    kinds = [(e["channel"], e["recipient_kind"]) for e in notify.published("lsq.notification.sent.v1")]
    assert sorted(kinds) == [("email", "staff"), ("inbox", "staff")]
    for published in notify.published("lsq.notification.sent.v1"):
        assert "wang.fang" not in str(published) and "处分" not in str(published)


def test_staff_email_falls_back_to_the_directory(client, notify, mail, receiver):
    receiver.staff_emails[STAFF] = "from.directory@lib.example"
    notify.apply(sanction())
    assert notify.sender.send_due() == 1
    assert [m["To"] for m in mail.messages()] == ["from.directory@lib.example"]


def test_no_address_anywhere_is_skipped_with_a_reason(client, notify, mail, receiver):
    receiver.staff_emails[STAFF] = None  # the directory knows them, without an address
    notify.apply(sanction())
    assert notify.sender.send_due() == 0
    [email] = notify.messages(channel="email")
    assert email["status"] == "skipped" and "no e-mail" in email["last_error"]
    assert mail.messages() == []


def test_mail_server_outage_every_message_arrives_after_exactly_once(client, notify, mail, database_url):
    from dataclasses import replace
    from services.notify.delivery import Sender
    from tests.helpers import settings_for
    put_email(client, STAFF, "wang.fang@lib.example")
    # The outage: 30 s with events arriving during it (once, on SQLite; 5 s on PostgreSQL, where
    # the same code path only needs to be shown to hold). Backoff 0.2 s doubling to 1 s: 100
    # attempts outlast it.
    outage = 30 if database_url.startswith("sqlite") else 5
    notify.sender = Sender(notify.db, replace(notify.settings, max_attempts=100), settings_for("notify", database_url))
    mail.stop()
    events = [sanction() for _ in range(5)]
    started = time.monotonic()
    while time.monotonic() - started < outage:  # the server is down: attempts fail and back off
        due = int((time.monotonic() - started) / outage * len(events)) + 1
        arrived = sum(1 for _ in notify.messages(channel="email"))
        if arrived < min(due, len(events)):
            notify.apply(events[arrived])
        notify.sender.send_due()
        time.sleep(0.2)
    pending = notify.messages(channel="email")
    assert len(pending) == 5 and all(m["status"] == "pending" and m["attempts"] >= 1 for m in pending)
    assert all("Error" in m["last_error"] or "refused" in m["last_error"].lower() for m in pending)
    mail.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and len(mail.messages()) < 5:
        notify.sender.send_due()
        time.sleep(0.2)
    for _ in range(5):  # more passes send nothing twice
        notify.sender.send_due()
    received = mail.messages()
    assert len(received) == 5 and len({m["Message-ID"] for m in received}) == 5
    assert all(m["status"] == "sent" for m in notify.messages(channel="email"))


def test_a_message_is_given_up_after_the_limit_and_shown_failed(client, notify, mail):
    put_email(client, STAFF, "wang.fang@lib.example")
    mail.stop()
    notify.apply(sanction())
    moment = utcnow()
    for attempt in range(notify.settings.max_attempts + 2):
        notify.sender.send_due(moment)
        moment += timedelta(seconds=notify.settings.backoff_cap_seconds + 1)
    [email] = notify.messages(channel="email")
    assert email["status"] == "failed" and email["attempts"] == notify.settings.max_attempts
    listing = client.get("/messages?status=failed", headers=ADMIN).json
    assert listing["total"] == 1 and listing["items"][0]["last_error"].startswith("ConnectionRefusedError")
    [failed] = notify.published("lsq.notification.failed.v1")
    assert failed["error_kind"] == "ConnectionRefusedError" and failed["attempts"] == notify.settings.max_attempts
    mail.start()
    assert client.post(f"/messages/{email['id']}/retry", headers=ADMIN).json["status"] == "pending"
    assert client.post(f"/messages/{email['id']}/retry", headers=ADMIN).status_code == 409
    assert notify.sender.send_due() == 1 and len(mail.messages()) == 1


def test_quiet_hours_delay_and_never_drop(client, notify, mail):
    local = utcnow().astimezone(network_zone())
    start, end = (local - timedelta(hours=1)).strftime("%H:%M"), (local + timedelta(hours=2)).strftime("%H:%M")
    put_email(client, STAFF, "wang.fang@lib.example", quiet_start=start, quiet_end=end)
    notify.apply(sanction())
    [email] = notify.messages(channel="email")
    assert email["next_attempt_at"] > utcnow() + timedelta(minutes=100)
    assert notify.sender.send_due() == 0 and mail.messages() == []
    assert notify.sender.send_due(email["next_attempt_at"] + timedelta(seconds=1)) == 1
    assert len(mail.messages()) == 1
    assert len(notify.messages(channel="inbox")) == 1  # the inbox has it at once


def test_digest_sends_one_mail_a_day_with_every_message(client, notify, mail):
    put_email(client, STAFF, "wang.fang@lib.example", digest=True)
    notify.apply(sanction(), sanction(), sanction())
    assert notify.sender.send_due() == 0
    due = max(m["next_attempt_at"] for m in notify.messages(channel="email"))
    assert notify.sender.send_due(due + timedelta(seconds=1)) == 3
    [digest] = mail.messages()
    assert "（3 条）" in subject_of(digest) and bodies(digest)[0].count("您收到一项处分通知") == 3


def test_rate_limit_per_recipient_delays_the_rest(client, notify, mail, app, database_url):
    from services.notify.delivery import Sender
    from dataclasses import replace
    from tests.helpers import settings_for
    put_email(client, STAFF, "wang.fang@lib.example")
    sender = Sender(notify.db, replace(notify.settings, rate_per_hour=2), settings_for("notify", database_url))
    notify.apply(sanction(), sanction(), sanction())
    now = utcnow()
    assert sender.send_due(now) == 2
    waiting = [m for m in notify.messages(channel="email") if m["status"] == "pending"]
    assert len(waiting) == 1 and waiting[0]["next_attempt_at"] > now + timedelta(minutes=59)
    assert sender.send_due(waiting[0]["next_attempt_at"]) == 1 and len(mail.messages()) == 3


def _groups(client, receiver):
    made = {}
    for platform, secret in (("wecom", None), ("dingtalk", "SECdemo"), ("feishu", "fs-secret")):
        response = client.post("/chat-groups", headers=ADMIN, json={
            "branch_id": BRANCH, "name": f"{platform} 值班群", "platform": platform, "secret": secret,
            "url": f"{receiver.url}/{platform}?access_token=tok"})
        assert response.status_code == 201, response.json
        made[platform] = response.json["id"]
    return made


def test_duty_group_robots_get_each_platforms_payload(client, notify, receiver):
    _groups(client, receiver)
    before = int(time.time())
    notify.apply(complaint_filed())
    assert notify.sender.send_due() == 3
    by_path = {r["path"]: r for r in receiver.requests}
    title = "中心馆新投诉"
    text = ("中心馆收到新投诉（紧急），请于 2030-01-01 10:00 前受理。\n\n"
            "New complaint at Central Library: New complaint at Central Library (urgent): acknowledge by 2030-01-01 10:00.")
    assert by_path["/wecom"]["json"] == {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}
    assert by_path["/wecom"]["content_type"] == "application/json"
    assert by_path["/dingtalk"]["json"] == {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{text}"}}
    query = by_path["/dingtalk"]["query"]
    timestamp = int(query["timestamp"][0])
    assert before * 1000 - 1000 <= timestamp <= time.time() * 1000 + 1000
    assert query["access_token"] == ["tok"]
    from urllib.parse import unquote_plus
    assert query["sign"] == [unquote_plus(model.dingtalk_sign("SECdemo", timestamp))]
    feishu = by_path["/feishu"]["json"]
    assert feishu["msg_type"] == "post" and feishu["sign"] == model.feishu_sign("fs-secret", int(feishu["timestamp"]))
    assert feishu["content"]["post"]["zh_cn"]["title"] == title
    assert feishu["content"]["post"]["zh_cn"]["content"][0] == [{"tag": "text", "text": text.split("\n")[0]}]


def test_a_robot_error_code_is_retried_then_delivered_once(client, notify, receiver):
    response = client.post("/chat-groups", headers=ADMIN, json={
        "branch_id": BRANCH, "name": "企业微信群", "platform": "wecom", "url": f"{receiver.url}/wecom"})
    assert response.status_code == 201
    receiver.reply = (200, {"errcode": 45009, "errmsg": "api freq out of limit"})
    notify.apply(complaint_filed())
    assert notify.sender.send_due() == 0
    [chat] = notify.messages(channel="chat")
    assert chat["status"] == "pending" and "45009" in chat["last_error"]
    receiver.reply = (200, {"errcode": 0, "errmsg": "ok"})
    assert notify.sender.send_due(utcnow() + timedelta(seconds=5)) == 1
    assert notify.sender.send_due(utcnow() + timedelta(hours=1)) == 0
    assert len(receiver.requests) == 2


def test_breach_goes_to_handler_and_escalated_manager(client, notify, mail):
    for who, address in ((HANDLER, "handler@lib.example"), (MANAGER, "manager@lib.example")):
        put_email(client, who, address)
    now = utcnow()
    notify.apply(make_event("lsq.complaint.sla_breached.v1", {
        "complaint_id": "c-1", "branch_id": BRANCH, "target": "acknowledge", "severity": "urgent",
        "due_at": "2030-01-01T02:00:00Z", "handler_id": HANDLER, "breached_at": now.isoformat(),
        "escalated_to_staff_id": MANAGER}))
    notify.sender.send_due()
    assert sorted(m["To"] for m in mail.messages()) == ["handler@lib.example", "manager@lib.example"]
    manager_mail = next(m for m in mail.messages() if m["To"] == "manager@lib.example")
    assert "赵处理" in bodies(manager_mail)[0]  # the handler by name, not id
    inboxes = {m["staff_id"] for m in notify.messages(channel="inbox")}
    assert inboxes >= {HANDLER, MANAGER, "st-office"}  # the network office's inbox too
