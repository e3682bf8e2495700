"""The complaint desk (manage area) against the real services: the work queue with its filters,
htmx fragments and pages, and a complaint's page with every action from new to closed."""
from __future__ import annotations

import html as html_lib
import re
import uuid
from datetime import datetime, timedelta

import pytest

from services.feedback import service as feedback_service
from shared import outbox
from shared.directory_view import DIRECTORY_HANDLERS
from shared.events import get as get_event_type
from shared.timeutil import local_today, utcnow
from tests.helpers import SHANGHAI
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


# -- helpers ---------------------------------------------------------------------------------------
def deliver_directory_events(live) -> None:
    """What the feedback worker does from Kafka (not running here): the directory's events into
    feedback's read model, so complaints can name the branch, desk and staff made through the API."""
    directory_db = live.apps["directory"].extensions["lsq"].db
    with directory_db.read() as conn:
        events = outbox.events_for(conn)
    with live.apps["feedback"].extensions["lsq"].db.transaction() as conn:
        for event in events:
            handler = DIRECTORY_HANDLERS.get(event.type)
            if handler:
                event.data = get_event_type(event.type).load(event.data)  # as the consumer does
                handler(conn, event)


def feedback_db(live):
    return live.apps["feedback"].extensions["lsq"].db


@pytest.fixture
def net(live, network):
    deliver_directory_events(live)
    return network


def file(live, net, ago: timedelta | None = None, *, staff=True, **changes) -> str:
    """A complaint of the network's branch through the feedback API; ``ago`` back-dates it."""
    body = {"branch_id": net["branch"]["id"], "service_point_id": net["desk"]["id"], "category": "attitude",
            "severity": "normal", "channel": "desk", "description": "工作人员态度冷淡",
            "contact": {"name": "读者甲", "phone": "13800000000"}, **changes}
    if staff:
        body.setdefault("staff_id", net["staff"]["staff"]["id"])
    if ago is not None:
        body["received_at"] = (utcnow() - ago).isoformat()
    return live.call("feedback", "POST", "/complaints", json=body)["id"]


def act(live, net, complaint_id: str, action: str, **body) -> dict:
    """An action through the feedback API, as the branch's supervisor."""
    supervisor = net["staff"]["supervisor"]
    return live.call("feedback", "POST", f"/complaints/{complaint_id}/{action}", role="supervisor",
                     staff_id=supervisor["id"], branch_id=net["branch"]["id"], json=body)


def as_supervisor(client, net):
    supervisor = net["staff"]["supervisor"]
    sign_in_as(client, "supervisor", staff_id=supervisor["id"], branch_id=net["branch"]["id"], name="李主管",
               branch_name_zh="测试分馆", branch_name_en="Test Branch")


def as_manager(client, net):
    manager = net["staff"]["branch_manager"]
    sign_in_as(client, "branch_manager", staff_id=manager["id"], branch_id=net["branch"]["id"], name="张馆长",
               branch_name_zh="测试分馆", branch_name_en="Test Branch")


def text_of(html: str) -> str:
    """What a person reads: the page without its tags, attributes and scripts."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return html_lib.unescape(re.sub(r"<[^>]+>", " ", html))


def listed(html: str) -> set[str]:
    """The complaints a queue page links to."""
    return set(re.findall(r'href="/complaints/([0-9a-f-]{36})"', html))


def get(client, url: str, **headers):
    r = client.get(url, headers=headers)
    return r, r.get_data(as_text=True)


# -- the queue -------------------------------------------------------------------------------------
def test_the_queue_names_people_desks_and_branches_in_chinese_and_english(browser_client, live, net):
    first = file(live, net, severity="urgent")
    second = file(live, net, category="waiting", severity="low", staff=False)
    act(live, net, second, "acknowledge", handler_id=net["staff"]["staff"]["id"])
    as_supervisor(browser_client, net)
    r, html = get(browser_client, "/complaints")
    text = text_of(html)
    assert r.status_code == 200 and listed(html) == {first, second}
    for words in ("投诉", "测试分馆", "总服务台", "王芳", "服务态度", "等候与效率", "紧急", "低", "新投诉", "已受理",
                  "未指派", "剩余"):
        assert words in text, words
    assert not UUID.search(text), UUID.search(text).group(0)
    assert 'aria-current="page"' in html and ">投诉</a>" in html  # the menu entry, current

    r, html = get(browser_client, "/complaints?lang=en")
    text = text_of(html)
    for words in ("Complaints", "Test Branch", "Main desk", "王芳", "Service attitude", "Waiting and efficiency",
                  "Urgent", "Low", "New", "Acknowledged", "Not assigned", "left to acknowledge"):
        assert words in text, words
    assert "测试分馆" not in text and not UUID.search(text)


def test_each_filter_narrows_the_queue_and_they_combine(browser_client, live, net):
    supervisor = net["staff"]["supervisor"]["id"]
    fresh = file(live, net)
    at_risk = file(live, net, timedelta(minutes=100), severity="urgent")      # 80 % of 2 h used
    breached = file(live, net, timedelta(hours=3), severity="urgent")        # acknowledgement overdue
    mine = file(live, net, severity="high")
    act(live, net, mine, "acknowledge", handler_id=supervisor)
    waiting = file(live, net, severity="high")
    act(live, net, waiting, "acknowledge")
    act(live, net, waiting, "investigate")
    act(live, net, waiting, "wait", note="请读者补充时间")
    done = file(live, net, severity="low")
    act(live, net, done, "acknowledge")
    act(live, net, done, "resolve", outcome="unsubstantiated", response="经核实不属实")
    day = local_today(SHANGHAI) - timedelta(days=6)
    old = file(live, net, utcnow() - datetime(day.year, day.month, day.day, 0, 20, tzinfo=SHANGHAI))  # 16:20 UTC the day before
    everything_open = {fresh, at_risk, breached, mine, waiting, old}
    as_supervisor(browser_client, net)

    def queue(query=""):
        r, html = get(browser_client, f"/complaints?{query}")
        assert r.status_code == 200, text_of(html)[:500]
        return listed(html), text_of(html)

    ids, text = queue()
    assert ids == everything_open  # open ones by default
    assert "有风险" in text and "已超时" in text and "暂停计时：等待读者答复" in text
    assert queue("status=all")[0] == everything_open | {done}
    ids, text = queue("status=resolved")
    assert ids == {done} and "达标" in text
    assert queue("status=waiting_on_reader")[0] == {waiting}
    assert queue("severity=urgent")[0] == {at_risk, breached}
    assert queue("severity=high")[0] == {mine, waiting}
    # the old one missed its acknowledgement, and 6 of its 7 days to resolve are used up: at risk too
    assert queue("at_risk=1")[0] == {at_risk, old}
    assert queue("breached=1")[0] == {breached, old}  # the old one is long past its 24 h too
    assert queue("mine=1")[0] == {mine}
    assert queue("escalated=1")[0] == set()
    assert feedback_service.sla_sweep(feedback_db(live))["breached"] >= 2
    ids, text = queue("escalated=1")
    assert ids == {breached, old} and "已上报" in text
    assert queue(f"filed_from={day}&filed_to={day}")[0] == {old}
    assert queue(f"filed_from={day + timedelta(days=1)}")[0] == everything_open - {old}
    assert queue(f"filed_to={day - timedelta(days=1)}")[0] == set()
    # combined
    assert queue("severity=urgent&breached=1")[0] == {breached}
    assert queue("status=all&severity=low")[0] == {done}
    assert queue(f"breached=1&filed_from={day}&filed_to={day}")[0] == {old}
    ids, text = queue("severity=urgent&mine=1")
    assert ids == set() and "没有符合这些条件的投诉" in text
    # a hand-made URL with a bad value: the API's 422, named, in Chinese, next to nothing broken
    r, html = get(browser_client, "/complaints?filed_from=2026-13-40")
    assert r.status_code == 422 and "投诉日期（起）" in text_of(html) and "日期无效" in text_of(html)


def test_htmx_gets_only_the_table_and_the_form_works_without_script(browser_client, live, net):
    ids = {file(live, net) for _ in range(23)}
    as_supervisor(browser_client, net)
    r, html = get(browser_client, "/complaints")
    form = re.search(r"<form method=\"get\"[^>]*>", html).group(0)
    assert 'action="/complaints"' in form and 'hx-get="/complaints"' in form
    assert 'hx-trigger="change"' in form and 'hx-push-url="true"' in form and 'hx-target="#queue-table"' in form
    assert 'type="submit"' in html  # the plain GET form without script
    assert len(listed(html)) == 20 and "第 1 / 2 页" in text_of(html)
    page_two = re.search(r'<a class="button" href="([^"]+)" hx-get="[^"]+" hx-target="#queue-table"', html).group(1)
    r, fragment = get(browser_client, html_lib.unescape(page_two), **{"HX-Request": "true"})
    assert r.status_code == 200 and fragment.lstrip().startswith("{#") is False
    assert "<html" not in fragment and "<nav aria-label=\"主菜单\"" not in fragment
    assert fragment.lstrip().startswith('<section id="queue-table"')
    assert len(listed(fragment)) == 3 and listed(html) | listed(fragment) == ids and "第 2 / 2 页" in text_of(fragment)
    r, fragment = get(browser_client, "/complaints?severity=urgent&status=open", **{"HX-Request": "true"})
    assert fragment.lstrip().startswith('<section id="queue-table"') and listed(fragment) == set()
    # the same URL without htmx (reload, shared link): the whole page, the filter kept
    r, page = get(browser_client, "/complaints?severity=urgent&status=open")
    assert "<html" in page and '<option value="urgent" selected>' in page


# -- a complaint's page ----------------------------------------------------------------------------
def _post(client, url, data, htmx=False):
    page = client.get(url.rsplit("/", 1)[0]).get_data(as_text=True)
    headers = {"HX-Request": "true"} if htmx else {}
    return client.post(url, data={**data, "csrf_token": csrf_of(page)}, headers=headers)


def test_the_actions_take_a_complaint_from_new_to_closed_substantiated(browser_client, live, net):
    cid = file(live, net, severity="high")
    staff = net["staff"]["staff"]
    as_supervisor(browser_client, net)
    r, html = get(browser_client, f"/complaints/{cid}")
    text = text_of(html)
    assert r.status_code == 200
    for words in ("服务态度", "高", "现场", "测试分馆", "总服务台", "王芳", "工作人员态度冷淡", "读者甲", "13800000000",
                  "受理时限", "办结时限", "受理投诉", "指派处理人"):
        assert words in text, words
    assert "办结投诉" not in text and not UUID.search(text)
    assert f'<option value="{staff["id"]}">王芳</option>' in html  # handlers chosen by name

    base = f"/complaints/{cid}"
    r = _post(browser_client, f"{base}/acknowledge", {"note": "已电话联系读者"})
    assert r.status_code == 302 and r.headers["Location"].endswith(base)
    assert "投诉已受理" in browser_client.get(base).get_data(as_text=True)
    r = _post(browser_client, f"{base}/assign", {"handler_id": staff["id"]}, htmx=True)
    fragment = r.get_data(as_text=True)
    assert r.status_code == 200 and fragment.lstrip().startswith('<div id="complaint"') and "<html" not in fragment
    assert "处理人已指派" in fragment and "王芳" in text_of(fragment)
    assert _post(browser_client, f"{base}/investigate", {}, htmx=True).status_code == 200
    r = _post(browser_client, f"{base}/wait", {"note": "请读者提供具体时间"}, htmx=True)
    assert r.status_code == 200 and "暂停计时" in text_of(r.get_data(as_text=True))
    assert "继续调查" in text_of(r.get_data(as_text=True))
    assert _post(browser_client, f"{base}/investigate", {"note": "读者已回复"}).status_code == 302
    # resolving needs an outcome and an answer: the view says so and keeps what was typed
    r = _post(browser_client, f"{base}/resolve", {"outcome": "", "response": "已约谈当事馆员"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请选择处理结果" in html and "已约谈当事馆员" in html
    r = _post(browser_client, f"{base}/resolve", {"outcome": "substantiated", "response": "已约谈当事馆员并向读者致歉"})
    assert r.status_code == 302
    r = _post(browser_client, f"{base}/close", {})
    assert r.status_code == 302

    final = live.call("feedback", "GET", base)
    assert final["status"] == "closed" and final["outcome"] == "substantiated" and final["handler_id"] == staff["id"]
    html = browser_client.get(base).get_data(as_text=True)
    text = text_of(html)
    for words in ("已关闭", "属实", "已约谈当事馆员并向读者致歉", "李主管", "已电话联系读者", "请读者提供具体时间",
                  "处理人：王芳", "读者", "调查中 → 等待读者答复"):
        assert words in text, words
    assert "重新开启" in text and not UUID.search(text)  # within 14 days it may still be reopened
    english = text_of(browser_client.get(base + "?lang=en").get_data(as_text=True))
    for words in ("Closed", "Substantiated", "Handler: 王芳", "Waiting on the reader", "History", "Resolve by"):
        assert words in english, words


def test_an_action_not_allowed_now_shows_the_apis_message_in_the_users_language(browser_client, live, net):
    cid = file(live, net)
    as_supervisor(browser_client, net)
    r = _post(browser_client, f"/complaints/{cid}/close", {"note": "想直接关闭"})
    text = text_of(r.get_data(as_text=True))
    assert r.status_code == 409 and "投诉当前状态为“新投诉”，不能关闭" in text
    assert "new" not in re.findall(r"投诉当前状态为[^）]*）", text)[0]
    r = _post(browser_client, f"/complaints/{cid}/resolve?lang=en", {"outcome": "withdrawn", "response": "x"},
              htmx=True)
    fragment = r.get_data(as_text=True)
    assert r.status_code == 409 and "A complaint that is new cannot be resolved" in fragment
    assert fragment.lstrip().startswith('<div id="complaint"')
    # an error of a form that is on the page is shown in that form, with what was typed
    act(live, net, cid, "acknowledge")
    r = _post(browser_client, f"/complaints/{cid}/assign", {"handler_id": "ghost-staff", "note": "改派"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    form = html[html.index('id="action-assign"'):]
    form = form[:form.index("</form>")]
    assert "field-error" in form and "改派" in form


def test_a_supervisor_of_another_branch_gets_the_same_404_page_as_for_a_missing_complaint(
        browser_client, live, net):
    cid = file(live, net)
    code = "O" + uuid.uuid4().hex[:6].upper()
    other = live.call("directory", "POST", "/branches", json={"code": code, "name_zh": "他馆", "name_en": "Other"})
    boss = live.call("directory", "POST", "/staff", json={"employee_number": f"{code}-sup", "name": "赵主管",
                                                           "role": "supervisor", "branch_id": other["id"],
                                                           "hire_date": "2021-01-04"})
    sign_in_as(browser_client, "supervisor", staff_id=boss["id"], branch_id=other["id"], name="赵主管")
    theirs = browser_client.get(f"/complaints/{cid}")
    missing = browser_client.get(f"/complaints/{uuid.uuid4()}")
    assert theirs.status_code == missing.status_code == 404
    assert text_of(theirs.get_data(as_text=True)) == text_of(missing.get_data(as_text=True))
    assert "页面不存在" in theirs.get_data(as_text=True)
    token = csrf_of(browser_client.get("/complaints").get_data(as_text=True))
    assert browser_client.post(f"/complaints/{cid}/acknowledge", data={"csrf_token": token}).status_code == 404
    assert cid not in browser_client.get("/complaints?status=all").get_data(as_text=True)
    assert live.call("feedback", "GET", f"/complaints/{cid}")["status"] == "new"


def test_a_staff_member_gets_404_for_the_queue_and_no_menu_entry(browser_client, live, net):
    cid = file(live, net)
    staff = net["staff"]["staff"]
    sign_in_as(browser_client, "staff", staff_id=staff["id"], branch_id=net["branch"]["id"], name="王芳")
    r = browser_client.get("/complaints")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    assert browser_client.get(f"/complaints/{cid}").status_code == 404
    assert 'href="/complaints"' not in browser_client.get("/about").get_data(as_text=True)
    signed_out = browser_client.application.test_client().get("/complaints")
    assert signed_out.status_code == 302 and "/sign-in" in signed_out.headers["Location"]


def test_a_branch_manager_works_the_queue_too_and_sees_the_escalation(browser_client, live, net):
    cid = file(live, net, timedelta(hours=3), severity="urgent")
    feedback_service.sla_sweep(feedback_db(live))
    as_manager(browser_client, net)
    r, html = get(browser_client, "/complaints?escalated=1")
    assert r.status_code == 200 and listed(html) == {cid}
    text = text_of(browser_client.get(f"/complaints/{cid}").get_data(as_text=True))
    assert "已上报" in text and "张馆长" in text and "受理时限" in text and "已超时" in text
    assert "上报分馆馆长张馆长" in text and not UUID.search(text)


def test_a_form_without_the_csrf_token_gets_400(browser_client, live, net):
    cid = file(live, net)
    as_supervisor(browser_client, net)
    r = browser_client.post(f"/complaints/{cid}/acknowledge", data={"note": "x"})
    assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True)
    r = browser_client.post(f"/complaints/{cid}/acknowledge", data={"note": "x", "csrf_token": "forged"},
                            headers={"HX-Request": "true"})
    assert r.status_code == 400
    assert live.call("feedback", "GET", f"/complaints/{cid}")["status"] == "new"


def test_hostile_text_in_a_note_or_a_complaint_is_shown_escaped(browser_client, live, net):
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)> '; DROP TABLE complaints; --"
    cid = file(live, net, description=hostile)
    act(live, net, cid, "acknowledge")
    as_supervisor(browser_client, net)
    r = _post(browser_client, f"/complaints/{cid}/investigate", {"note": hostile})
    assert r.status_code == 302
    html = browser_client.get(f"/complaints/{cid}").get_data(as_text=True)
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;") == 2  # description and the note
    assert "DROP TABLE complaints" in html
    assert live.call("feedback", "GET", f"/complaints/{cid}")["status"] == "investigating"
