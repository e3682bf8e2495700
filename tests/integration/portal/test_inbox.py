"""The inbox area against the real notify app (and the other live services): my messages with the
unread count in the header, mark read in place, my notification settings, and the network
office's failed messages and rules; notify down → every page still renders with a notice."""
import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.notify import store
from services.notify.handlers import make_handlers
from services.portal import create_app as create_portal
from shared.consumer import ConsumerRunner
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import rfc3339, utcnow
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _event(event_type: str, data: dict) -> Event:
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    return Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                 time=utcnow(), data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)


def _feed(live, *events: Event) -> None:
    """Hand events to notify's own handlers (no Kafka here), as its worker would."""
    app = live.apps["notify"]
    runner = ConsumerRunner(app.extensions["lsq"].db, "127.0.0.1:1", "lsq.notify",
                            make_handlers(app.extensions["notify"]))
    runner.apply_batch(list(events))


@pytest.fixture
def person(live, network):
    """王芳 of the test branch, known to notify, with two sanctions in her inbox."""
    staff, branch = network["staff"]["staff"], network["branch"]
    _feed(live, _event("lsq.branch.opened.v1", {"branch_id": branch["id"], "code": branch["code"],
                                                 "name_zh": "测试分馆", "name_en": "Test Branch"}),
          _event("lsq.staff.joined.v1", {"staff_id": staff["id"], "employee_number": staff["employee_number"],
                                          "name": "王芳", "role": "staff", "branch_id": branch["id"],
                                          "hire_date": "2020-03-01"}))
    now = utcnow()
    for level in ("verbal_warning", "written_warning"):
        _feed(live, _event("lsq.sanction.issued.v1", {
            "sanction_id": str(uuid.uuid4()), "staff_id": staff["id"], "branch_id": branch["id"], "level": level,
            "policy_version": 1, "reason_en": "substantiated complaint", "reason_zh": "投诉属实",
            "issued_at": rfc3339(now), "expires_at": rfc3339(now + timedelta(days=365)),
            "appeal_deadline": "2030-01-15T02:00:00Z"}))
    return {"id": staff["id"], "branch": branch["id"]}


def _signed_in(client, person):
    sign_in_as(client, "staff", staff_id=person["id"], branch_id=person["branch"], name="王芳")


def test_the_inbox_lists_my_messages_with_the_count_in_the_header_in_both_languages(browser_client, person):
    _signed_in(browser_client, person)
    page = browser_client.get("/inbox")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count("您收到一项处分通知") == 2 and "2 条未读" in html and "处分已下达" in html
    assert 'id="inbox-count"' in html and "标为已读" in html
    text = re.sub(r"<[^>]+>", " ", html)
    assert not _UUID.search(text), "ids shown to a person"
    english = browser_client.get("/inbox?lang=en").get_data(as_text=True)
    assert "A sanction was issued to you" in english and "2 unread" in english and "您收到" not in english
    # the count is in the header of other pages too
    assert "2 条未读" in browser_client.get("/me").get_data(as_text=True)


def test_mark_one_read_in_place_then_all(browser_client, person):
    _signed_in(browser_client, person)
    html = browser_client.get("/inbox").get_data(as_text=True)
    token = csrf_of(html)
    first = re.search(r'/inbox/([0-9a-f-]{36})/read', html).group(1)
    r = browser_client.post(f"/inbox/{first}/read", data={"csrf_token": token}, headers={"HX-Request": "true"})
    fragment = r.get_data(as_text=True)
    assert r.status_code == 200 and "<html" not in fragment
    assert f'id="msg-{first}"' in fragment and "已读" in fragment and f"/inbox/{first}/read" not in fragment
    assert 'hx-swap-oob="true"' in fragment and "1 条未读" in fragment
    unread = browser_client.get("/inbox?unread=1").get_data(as_text=True)
    assert unread.count("您收到一项处分通知") == 1
    # without script: a plain post, back to the list
    assert browser_client.post("/inbox/read-all", data={"csrf_token": token}).status_code == 302
    after = browser_client.get("/inbox").get_data(as_text=True)
    assert "其中 0 条未读" in after and "已将 1 条消息标为已读" in after and "badge warn" not in after
    assert not re.search(r'/inbox/[0-9a-f-]{36}/read', after)
    assert browser_client.post(f"/inbox/{uuid.uuid4()}/read", data={"csrf_token": token}).status_code == 404
    assert browser_client.post(f"/inbox/{first}/read", data={}).status_code == 400  # no CSRF token


def test_another_persons_message_is_a_404(browser_client, person, network):
    _signed_in(browser_client, person)
    html = browser_client.get("/inbox").get_data(as_text=True)
    mine = re.search(r'/inbox/([0-9a-f-]{36})/read', html).group(1)
    other = network["staff"]["supervisor"]
    sign_in_as(browser_client, "supervisor", staff_id=other["id"], branch_id=person["branch"], name="李主管")
    r = browser_client.post(f"/inbox/{mine}/read", data={"csrf_token": csrf_of(html)})
    assert r.status_code in (400, 404)  # a new session has a new CSRF token; with it, a 404
    token = csrf_of(browser_client.get("/inbox").get_data(as_text=True))
    assert browser_client.post(f"/inbox/{mine}/read", data={"csrf_token": token}).status_code == 404


def test_my_settings_are_saved_and_bad_input_is_shown_beside_its_field(browser_client, person):
    _signed_in(browser_client, person)
    page = browser_client.get("/inbox/settings")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "免打扰时段" in html and "处分已下达" in html
    token = csrf_of(html)
    bad = browser_client.post("/inbox/settings", data={
        "csrf_token": token, "email": "<script>alert(1)</script>", "quiet_start": "25:00", "quiet_end": "07:00",
        "language": "zh-CN"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "请按“时:分”填写时间" in html and 'id="quiet_start-error"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    bad_mail = browser_client.post("/inbox/settings", data={"csrf_token": token, "email": "not-an-address",
                                                            "language": "zh-CN"})
    assert bad_mail.status_code == 422 and 'id="email-error"' in bad_mail.get_data(as_text=True)
    same = browser_client.post("/inbox/settings?lang=en", data={"csrf_token": token, "quiet_start": "22:00",
                                                                "quiet_end": "22:00", "language": "en"})
    assert same.status_code == 422 and "must differ" in same.get_data(as_text=True)
    saved = browser_client.post("/inbox/settings", data={
        "csrf_token": token, "email_channel": "1", "digest": "1", "email": "wang@lib.example", "quiet_start": "22:00",
        "quiet_end": "07:30", "language": "en", "muted": ["lsq.praise.received.v1"]}, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200 and "已保存" in html and 'value="wang@lib.example"' in html
    assert 'value="22:00"' in html and 'value="07:30"' in html
    assert re.search(r'value="lsq.praise.received.v1" checked', html)


def test_failed_messages_with_their_error_and_a_retry_for_the_network_office(browser_client, live, person):
    db = live.apps["notify"].extensions["lsq"].db
    m = store.messages
    with db.transaction() as conn:  # notify gave up on her sanction e-mail (the mail server refused it)
        conn.execute(update(m).where(m.c.staff_id == person["id"], m.c.channel == "email")
                     .values(status="failed", attempts=8, last_error="smtp: SMTPRecipientsRefused 550 mailbox unavailable"))
    sign_in_as(browser_client, "staff", staff_id=person["id"], branch_id=person["branch"])
    assert browser_client.get("/inbox/admin/failed").status_code == 404  # not for staff
    sign_in_as(browser_client, "network_admin", name="网络办")
    page = browser_client.get("/inbox/admin/failed")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "550 mailbox unavailable" in html and "王芳" in html and "重新发送" in html
    assert not _UUID.search(re.sub(r"<[^>]+>", " ", html))
    message_id = re.search(r'/inbox/admin/messages/([0-9a-f-]{36})/retry', html).group(1)
    r = browser_client.post(f"/inbox/admin/messages/{message_id}/retry", data={"csrf_token": csrf_of(html)},
                            follow_redirects=True)
    assert r.status_code == 200 and "重新发送" in r.get_data(as_text=True)
    assert live.call("notify", "GET", "/messages", params={"status": "pending", "page_size": 100})["total"] >= 1
    # a second retry of the same message: it is pending now, a clear notice, not an error page
    again = browser_client.post(f"/inbox/admin/messages/{message_id}/retry", data={"csrf_token": csrf_of(html)},
                                follow_redirects=True)
    assert again.status_code == 200 and "只有发送失败的消息可以重发" in again.get_data(as_text=True)


def test_rules_are_listed_toggled_and_a_broken_template_is_refused_beside_its_field(browser_client, live):
    sign_in_as(browser_client, "network_admin", name="网络办")
    html = browser_client.get("/inbox/admin/rules").get_data(as_text=True)
    assert "处分已下达" in html and "相关馆员" in html and "已启用" in html
    rule = next(r for r in live.call("notify", "GET", "/rules") if r["event_type"] == "lsq.sanction.issued.v1")
    token = csrf_of(html)
    off = browser_client.post(f"/inbox/admin/rules/{rule['id']}/enabled", data={"csrf_token": token, "enabled": "0"},
                              headers={"HX-Request": "true"})
    assert off.status_code == 200 and "已停用" in off.get_data(as_text=True) and "<html" not in off.get_data(as_text=True)
    assert next(r for r in live.call("notify", "GET", "/rules") if r["id"] == rule["id"])["enabled"] is False
    browser_client.post(f"/inbox/admin/rules/{rule['id']}/enabled", data={"csrf_token": token, "enabled": "1"})
    form = browser_client.get(f"/inbox/admin/rules/{rule['id']}").get_data(as_text=True)
    assert "appeal_deadline" in form and rule["subject_zh"] in form
    broken = browser_client.post(f"/inbox/admin/rules/{rule['id']}", data={
        "csrf_token": token, "subject_zh": rule["subject_zh"], "subject_en": rule["subject_en"],
        "body_zh": "{{ appeal_deadline | nosuchfilter }}", "body_en": rule["body_en"]})
    html = broken.get_data(as_text=True)
    assert broken.status_code == 422 and 'id="body_zh-error"' in html and "nosuchfilter" in html
    kept = next(r for r in live.call("notify", "GET", "/rules") if r["id"] == rule["id"])
    assert kept["body_zh"] == rule["body_zh"]


@pytest.mark.parametrize("lang, notice", [("zh_CN", "消息通知暂时无法使用"), ("en", "Notifications are not available right now")])
def test_notify_down_every_page_still_renders_with_a_notice(live, network, lang, notice):
    urls = {**live.urls, "notify": "http://127.0.0.1:1"}
    app = create_portal({"TESTING": True, "SETTINGS": {"service_urls": urls, "secret_key": "n" * 32,
                                                       "secure_cookies": False}})
    client = app.test_client()
    staff = network["staff"]["staff"]
    sign_in_as(client, "staff", staff_id=staff["id"], branch_id=network["branch"]["id"], name="王芳")
    me = client.get(f"/me?lang={lang}")
    assert me.status_code == 200 and 'id="inbox-count"' in me.get_data(as_text=True)  # no count, no error
    for path in ("/inbox", "/inbox/settings"):
        r = client.get(f"{path}?lang={lang}")
        html = r.get_data(as_text=True)
        assert r.status_code == 503 and notice in html and "Traceback" not in html, path
    sign_in_as(client, "network_admin", name="网络办")
    for path in ("/inbox/admin/failed", "/inbox/admin/rules"):
        r = client.get(f"{path}?lang={lang}")
        assert r.status_code == 503 and notice in r.get_data(as_text=True), path
