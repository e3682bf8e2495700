"""The reader area against the real services: the desk page from a QR code (rate, praise, complain),
tracking a complaint by its code, a survey, certificate checks, and the desks' QR codes."""
from __future__ import annotations

import html as html_lib
import re
from datetime import timedelta

import pytest
import segno
from markupsafe import escape
from sqlalchemy import update

from services.portal import create_app as create_portal
from shared import outbox
from shared.directory_view import DIRECTORY_HANDLERS
from shared.events import get as get_event_type
from shared.timeutil import utcnow
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
CODE = re.compile(r'<p class="tracking-code"[^>]*>([A-Z0-9-]{12,20})</p>')
HOSTILE = "<script>alert('x')</script> ' OR 1=1; DROP TABLE complaints; --"


# -- helpers ------------------------------------------------------------------------------------
def sync_read_models(live, services=("feedback", "training")) -> None:
    """What the workers do through Kafka: feed the directory's events into the services' read models."""
    directory_db = live.apps["directory"].extensions["lsq"].db
    with directory_db.read() as conn:
        events = [e for e in outbox.events_for(conn) if e.type in DIRECTORY_HANDLERS]
    for event in events:  # as a consumer reads them: times and dates typed
        event.data = get_event_type(event.type).load(event.data)
    for service in services:
        with live.apps[service].extensions["lsq"].db.transaction() as conn:
            for event in events:
                DIRECTORY_HANDLERS[event.type](conn, event)


def visible(html: str) -> str:
    """The text a person reads on the page (no markup, no attributes, no head)."""
    body = re.sub(r"(?is)<head>.*?</head>|<script.*?</script>|<style.*?</style>", " ", html)
    return html_lib.unescape(re.sub(r"(?s)<[^>]+>", " ", body))


def page(client, path: str, **kwargs):
    r = client.get(path, **kwargs)
    return r, r.get_data(as_text=True)


def post(client, path: str, data: dict, form_path: str | None = None, **kwargs):
    """Post a form the way a browser does: with the CSRF token of the page the form is on."""
    token = csrf_of(client.get(form_path or path).get_data(as_text=True))
    r = client.post(path, data={**data, "csrf_token": token}, **kwargs)
    return r, r.get_data(as_text=True)


def field_error(html: str, name: str) -> str:
    """The error shown next to the field ``name`` ('' when none)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(name.replace(".", "-"))}-error">(.*?)</p>', html, re.S)
    return html_lib.unescape(found.group(1)) if found else ""


@pytest.fixture
def desk(live, network):
    """The network's desk, known to the feedback and training services (as the workers would make it)."""
    sync_read_models(live)
    return network


def _file(client, desk, **extra):
    """File a complaint through the desk page; returns (tracking code, the complaint as staff see it)."""
    point = desk["desk"]["id"]
    data = {"category": "attitude", "severity": "high", "description": "柜台无人应答，等了二十分钟。", **extra}
    r, html = post(client, f"/desk/{point}/complaint", data, follow_redirects=True)
    assert r.status_code == 200, visible(html)[:800]
    code = CODE.search(html).group(1)
    return code, html


def _complaint_of(live, desk, description: str) -> dict:
    items = live.call("feedback", "GET", "/complaints", params={"branch_id": desk["branch"]["id"],
                                                                "page_size": 500})["items"]
    [found] = [c for c in items if c["description"] == description]
    return live.call("feedback", "GET", f"/complaints/{found['id']}")


# -- the desk page -------------------------------------------------------------------------------
def test_the_desk_page_shows_names_in_both_languages_and_no_ids(browser_client, desk):
    point = desk["desk"]["id"]
    r, html = page(browser_client, f"/desk/{point}")
    text = visible(html)
    assert r.status_code == 200 and 'lang="zh-CN"' in html
    assert "总服务台" in text and "测试分馆" in text and "借还服务台" in text
    assert html.count("<h1") == 1 and "评价服务" in text and "表扬馆员" in text and "我要投诉" in text
    for name in ("王芳", "李主管", "张馆长"):
        assert name in text
    assert not UUID.search(text), UUID.search(text)
    assert 'type="radio"' in html and "<legend>" in html and "fieldset" in html  # stars are a radio group

    r, html = page(browser_client, f"/desk/{point}?lang=en")
    text = visible(html)
    assert r.status_code == 200 and 'lang="en"' in html
    assert "Main desk" in text and "Test Branch" in text and "Circulation desk" in text
    assert "Rate the service" in text and "总服务台" not in text and "王芳" in text
    assert not UUID.search(text)

    for sub in ("praise", "complaint"):
        r, html = page(browser_client, f"/desk/{point}/{sub}?lang=en")
        assert r.status_code == 200 and not UUID.search(visible(html)) and "Test Branch" in visible(html)
        assert html.count("<h1") == 1
    praise_text = visible(page(browser_client, f"/desk/{point}/praise")[1])
    assert "王芳" in praise_text and "张馆长" in praise_text


def test_an_unknown_desk_is_the_404_page(browser_client, desk):
    r, html = page(browser_client, "/desk/no-such-desk")
    assert r.status_code == 404 and "页面不存在" in html


def test_a_rating_reaches_the_feedback_service(browser_client, live, desk):
    point, staff = desk["desk"]["id"], desk["staff"]["staff"]["id"]
    r, html = post(browser_client, f"/desk/{point}", {"stars": "4", "wait_minutes": "6", "staff_id": staff,
                                                     "comment": "很耐心"})
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/desk/{point}/thanks/rating")
    r, html = page(browser_client, r.headers["Location"])
    assert r.status_code == 200 and "谢谢" in visible(html) and html.count("<h1") == 1
    [row] = live.call("feedback", "GET", "/ratings/summary", params={"service_point_id": point})
    assert row["n"] == 1 and row["mean_stars"] == 4 and row["mean_wait_minutes"] == 6
    [by_staff] = live.call("feedback", "GET", "/ratings/summary", params={"group_by": "staff",
                                                                          "service_point_id": point})
    assert by_staff["key"] == staff


def test_a_rating_without_stars_or_with_bad_numbers_says_so_and_keeps_the_input(browser_client, live, desk):
    point = desk["desk"]["id"]
    r, html = post(browser_client, f"/desk/{point}", {"wait_minutes": "12", "comment": "<b>排队</b>"})
    assert r.status_code == 422 and "请选择 1 到 5 颗星" in field_error(html, "stars")
    assert 'value="12"' in html and "&lt;b&gt;排队&lt;/b&gt;" in html and "<b>排队" not in html
    r, html = post(browser_client, f"/desk/{point}", {"stars": "5", "wait_minutes": "abc"})
    assert r.status_code == 422 and field_error(html, "wait_minutes")
    assert re.search(r'id="f-stars-5"[^>]*checked', html) and 'value="abc"' in html
    r, html = post(browser_client, f"/desk/{point}", {"stars": "5", "wait_minutes": "99999"})
    assert r.status_code == 422 and field_error(html, "wait_minutes")
    r, html = post(browser_client, f"/desk/{point}", {"stars": "5", "staff_id": "someone-else"})
    assert r.status_code == 422 and field_error(html, "staff_id")
    assert live.call("feedback", "GET", "/ratings/summary", params={"service_point_id": point}) == []


def test_a_desk_the_feedback_service_does_not_know_yet_says_so_and_keeps_the_input(browser_client, live, desk):
    fresh = live.call("directory", "POST", "/service-points", json={
        "branch_id": desk["branch"]["id"], "name_zh": "咨询台", "name_en": "Enquiries", "kind": "information"})
    r, html = post(browser_client, f"/desk/{fresh['id']}", {"stars": "3", "comment": "刚开的服务台"})
    assert r.status_code == 422 and "暂时无法在线接收反馈" in html and "刚开的服务台" in html
    assert "咨询台" in visible(html) and not UUID.search(visible(html))


def test_praise_reaches_the_feedback_service(browser_client, live, desk):
    point, staff = desk["desk"]["id"], desk["staff"]["staff"]["id"]
    r, _html = post(browser_client, f"/desk/{point}/praise", {"staff_id": "", "message": "谢谢"})
    assert r.status_code == 422 and field_error(_html, "staff_id") and "谢谢" in _html
    r, html = post(browser_client, f"/desk/{point}/praise", {"staff_id": staff, "message": "王老师帮我找到了绝版书！"},
                   follow_redirects=True)
    assert r.status_code == 200 and "表扬已转达" in visible(html)
    items = live.call("feedback", "GET", "/praise", params={"staff_id": staff})["items"]
    assert [(p["message"], p["service_point_id"], p["branch_id"]) for p in items] == [
        ("王老师帮我找到了绝版书！", point, desk["branch"]["id"])]


def test_a_complaint_is_filed_and_its_tracking_code_shown(browser_client, live, desk):
    description = "借书时馆员态度冷淡。"
    code, html = _file(browser_client, desk, description=description, **{
        "contact.name": "陈读者", "contact.phone": "+86 138-0000-0000", "contact.email": "reader@example.cn",
        "staff_id": desk["staff"]["staff"]["id"]})
    text = visible(html)
    assert "请保存此跟踪码" in text and code in text and html.count("<h1") == 1
    assert "服务态度" in text and "高" in text and "总服务台" in text
    complaint = _complaint_of(live, desk, description)
    assert complaint["category"] == "attitude" and complaint["severity"] == "high" and complaint["channel"] == "web"
    assert complaint["service_point_id"] == desk["desk"]["id"] and complaint["staff_id"] == desk["staff"]["staff"]["id"]
    assert complaint["contact"] == {"name": "陈读者", "phone": "+86 138-0000-0000", "email": "reader@example.cn"}
    # the page after filing shows the code again on a reload, in English too
    r, again = page(browser_client, f"/desk/{desk['desk']['id']}/complaint/filed?lang=en")
    assert r.status_code == 200 and code in again and "Keep this code." in again


def test_a_complaint_posted_with_bad_input_shows_the_errors_and_keeps_everything(browser_client, live, desk):
    point = desk["desk"]["id"]
    path = f"/desk/{point}/complaint"
    typed = {"category": "waiting", "severity": "urgent", "contact.name": "李四", "contact.phone": "13900000000",
             "contact.email": "li@example.cn"}
    # empty description
    r, html = post(browser_client, path, {**typed, "description": "   "})
    assert r.status_code == 422 and "请描述" in field_error(html, "description")
    assert 'value="李四"' in html and 'value="13900000000"' in html and 'value="li@example.cn"' in html
    assert re.search(r'<option value="waiting" selected', html) and re.search(r'<option value="urgent" selected', html)
    assert 'aria-invalid="true" aria-describedby="description-error"' in html and "请修改下面标出的内容" in html
    # too long
    long_text = "很" * 4001
    r, html = post(browser_client, path, {**typed, "description": long_text})
    assert r.status_code == 422 and field_error(html, "description") and long_text in html
    # a severity that is not one
    r, html = post(browser_client, path, {**typed, "severity": "9999", "description": "无人值守"})
    assert r.status_code == 422 and field_error(html, "severity") and "无人值守" in html and 'value="李四"' in html
    # the API's own checks: a phone and an e-mail that are not
    r, html = post(browser_client, path, {**typed, "contact.phone": "call me", "contact.email": "nope",
                                          "description": HOSTILE})
    assert r.status_code == 422 and field_error(html, "contact.phone") and field_error(html, "contact.email")
    assert str(escape(HOSTILE)) in html and "<script>alert" not in html
    assert 'value="call me"' in html and 'value="nope"' in html
    # in English the messages are English
    r, html = post(browser_client, path + "?lang=en", {**typed, "description": ""}, form_path=path + "?lang=en")
    assert r.status_code == 422 and "Describe what happened." in field_error(html, "description")
    # hostile text is stored as typed, shown only escaped
    code, html = _file(browser_client, desk, description=HOSTILE)
    assert "<script>alert" not in html
    assert _complaint_of(live, desk, HOSTILE)["description"] == HOSTILE


def test_forms_without_a_csrf_token_are_refused(browser_client, live, desk):
    point = desk["desk"]["id"]
    for path, data in ((f"/desk/{point}", {"stars": "5"}), (f"/desk/{point}/praise", {"staff_id": "x"}),
                       (f"/desk/{point}/complaint", {"category": "other", "description": "x"}),
                       ("/track", {"code": "AAAA-BBBB-CCCC"}), ("/track/reopen", {"reopen_note": "x"}),
                       ("/track/contact/erase", {})):
        r = browser_client.post(path, data=data)
        assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True), path
    assert live.call("feedback", "GET", "/ratings/summary", params={"service_point_id": point}) == []


# -- tracking ----------------------------------------------------------------------------------------
def test_tracking_an_unknown_code_says_so(browser_client, desk):
    r, html = post(browser_client, "/track", {"code": "ZZZZ-ZZZZ-ZZZZ"})
    assert r.status_code == 404 and "没有与此跟踪码对应的投诉" in field_error(html, "code") and "ZZZZ-ZZZZ-ZZZZ" in html
    r, html = post(browser_client, "/track", {"code": ""})
    assert r.status_code == 422 and field_error(html, "code")
    r, html = post(browser_client, "/track?lang=en", {"code": "<script>x</script>"}, form_path="/track?lang=en")
    assert r.status_code == 404 and "No complaint has this tracking code" in html and "<script>x" not in html
    assert page(browser_client, "/track/complaint")[0].status_code == 302  # nothing tracked on this device


def test_track_rate_reopen_and_erase(browser_client, live, desk):
    description = "自助借还机坏了一周无人修理。"
    code, _html = _file(browser_client, desk, description=description, category="environment", severity="normal",
                        **{"contact.email": "me@example.cn"})
    r, html = post(browser_client, "/track", {"code": code.lower().replace("-", "")}, follow_redirects=True)
    text = visible(html)
    assert r.status_code == 200 and "新投诉" in text and "我们已收到您的投诉" in text and "环境与设施" in text
    assert code not in r.request.url and "总服务台" in text and not UUID.search(text)
    assert "评价处理结果" not in text and "重新开启" not in text  # not resolved yet
    assert 'data-confirm="' in html

    complaint = _complaint_of(live, desk, description)
    live.call("feedback", "POST", f"/complaints/{complaint['id']}/acknowledge", json={})
    live.call("feedback", "POST", f"/complaints/{complaint['id']}/resolve",
              json={"outcome": "substantiated", "response": "已更换设备，感谢您的反馈。"})
    r, html = page(browser_client, "/track/complaint")
    text = visible(html)
    assert "已处理" in text and "属实" in text and "已更换设备，感谢您的反馈。" in text and "图书馆已确认受理" in text
    assert "评价处理结果" in text or "处理得怎么样" in text

    # rate: a bad value is refused next to the stars, then a good one
    r, html = post(browser_client, "/track/rating", {"rating": "7", "rating_comment": "好"}, form_path="/track/complaint")
    assert r.status_code == 422 and field_error(html, "rating") and ">好</textarea>" in html
    r, html = post(browser_client, "/track/rating", {"rating": "4", "rating_comment": "处理及时"},
                   form_path="/track/complaint", follow_redirects=True)
    assert r.status_code == 200 and "感谢您评价" in html and "4" in visible(html)
    assert live.call("feedback", "GET", f"/complaints/{complaint['id']}")["rating"] == 4

    # reopen: a reason is needed
    r, html = post(browser_client, "/track/reopen", {"reopen_note": " "}, form_path="/track/complaint")
    assert r.status_code == 422 and field_error(html, "reopen_note")
    r, html = post(browser_client, "/track/reopen", {"reopen_note": "机器又坏了"}, form_path="/track/complaint",
                   follow_redirects=True)
    text = visible(html)
    assert r.status_code == 200 and "重新开启" in text and "调查中" in text
    reopened = live.call("feedback", "GET", f"/complaints/{complaint['id']}")
    assert reopened["status"] == "investigating" and reopened["reopen_count"] == 1
    history = live.call("feedback", "GET", f"/complaints/{complaint['id']}/history")
    assert any("机器又坏了" in (h.get("note") or "") for h in (history.get("items") if isinstance(history, dict) else history))

    # erase the contact details
    assert live.call("feedback", "GET", f"/complaints/{complaint['id']}")["contact"]["email"] == "me@example.cn"
    r, html = post(browser_client, "/track/contact/erase", {}, form_path="/track/complaint", follow_redirects=True)
    assert r.status_code == 200 and "联系方式已删除" in html and "不保留联系方式" in visible(html)
    after = live.call("feedback", "GET", f"/complaints/{complaint['id']}")
    assert not after["has_contact"] and not after.get("contact")

    # the device forgets it; the code still works
    r, html = post(browser_client, "/track/forget", {}, form_path="/track/complaint", follow_redirects=True)
    assert r.status_code == 200 and "跟踪码仍然有效" in html
    assert page(browser_client, "/track/complaint")[0].status_code == 302


# -- surveys ---------------------------------------------------------------------------------------
EVERY_KIND = {"code": "reader-every-kind", "title_zh": "读者问卷（测试）", "title_en": "Reader survey (test)", "items": [
    {"code": "UG", "type": "choice", "required": True, "user_group": True, "text_zh": "您的身份", "text_en": "You are",
     "options": [{"value": "student", "label_zh": "学生", "label_en": "Student"},
                 {"value": "senior", "label_zh": "老年读者", "label_en": "Senior"}]},
    {"code": "AF1", "type": "triad", "dimension": "affect", "text_zh": "馆员待人礼貌", "text_en": "Staff are polite"},
    {"code": "PL1", "type": "triad", "dimension": "place", "text_zh": "环境安静", "text_en": "It is quiet"},
    {"code": "GS1", "type": "likert", "dimension": "general", "required": True, "text_zh": "总体满意",
     "text_en": "Satisfied overall"},
    {"code": "NPS", "type": "nps", "dimension": "general", "text_zh": "推荐意愿", "text_en": "Would recommend"},
    {"code": "USE", "type": "multi_choice", "text_zh": "您使用哪些服务", "text_en": "Services you use",
     "options": [{"value": "loans", "label_zh": "借阅", "label_en": "Loans"},
                 {"value": "wifi", "label_zh": "无线网络", "label_en": "Wi-Fi"},
                 {"value": "events", "label_zh": "讲座活动", "label_en": "Events"}]},
    {"code": "NOTE", "type": "text", "text_zh": "其他建议", "text_en": "Anything else"},
]}


def _survey(live, desk, **extra):
    now = utcnow()
    body = {"instrument_code": "reader-every-kind", "branch_ids": [desk["branch"]["id"]],
            "opens_at": (now - timedelta(hours=1)).isoformat(), "closes_at": (now + timedelta(days=7)).isoformat(),
            **extra}
    return live.call("feedback", "POST", "/surveys", json=body)


@pytest.fixture
def every_kind(live):
    try:
        live.call("feedback", "GET", "/instruments", params={"page_size": 500})
        known = [i["code"] for i in live.call("feedback", "GET", "/instruments", params={"page_size": 500})["items"]]
    except AssertionError:
        known = []
    if "reader-every-kind" not in known:
        live.call("feedback", "POST", "/instruments", json=EVERY_KIND)


def test_a_survey_round_trip_with_every_item_kind(browser_client, live, desk, every_kind):
    survey = _survey(live, desk)
    path = f"/survey/{survey['id']}"
    r, html = page(browser_client, path)
    text = visible(html)
    assert r.status_code == 200 and html.count("<h1") == 1 and "读者问卷（测试）" in text
    assert "馆员待人礼貌" in text and "最低可接受水平" in text and "期望水平" in text and "不适用" in text
    assert "服务与态度" in text and "图书馆环境" in text  # dimension headings
    assert html.count('name="a.AF1.minimum"') == 9 and html.count('name="a.NPS"') == 11 and html.count('name="a.GS1"') == 5
    assert html.count("<legend") >= 3 * 2 + 5 and not UUID.search(text)
    assert 'type="checkbox" id="f-a.USE-wifi"' in html

    # wrong answers: the errors are next to the items, everything is kept
    answers = {"a.AF1.minimum": "8", "a.AF1.desired": "5", "a.AF1.perceived": "6", "a.PL1.minimum": "3",
               "a.NPS": "9", "a.USE": ["loans", "events"], "a.NOTE": "<script>alert(1)</script>希望延长开放时间"}
    r, html = post(browser_client, path, answers)
    assert r.status_code == 422
    assert "必答" in field_error(html, "a.UG") and "必答" in field_error(html, "a.GS1")
    assert "高于" in field_error(html, "a.AF1") and "三项" in field_error(html, "a.PL1")
    assert re.search(r'id="f-a.AF1.minimum-8"[^>]*checked', html) and re.search(r'id="f-a.NPS-9"[^>]*checked', html)
    assert re.search(r'id="f-a.USE-loans"[^>]*checked', html) and re.search(r'id="f-a.USE-events"[^>]*checked', html)
    assert not re.search(r'id="f-a.USE-wifi"[^>]*checked', html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;希望延长开放时间" in html and "<script>alert" not in html

    good = {**answers, "a.UG": "senior", "a.AF1.minimum": "4", "a.PL1.na": "1", "a.PL1.minimum": "", "a.GS1": "4"}
    r, html = post(browser_client, path, good, follow_redirects=True)
    assert r.status_code == 200 and "感谢您的作答" in visible(html)
    results = live.call("feedback", "GET", f"/surveys/{survey['id']}/results")
    assert results["responses"] == 1 or results["responses"] is None  # counts under 5 may be suppressed
    with live.apps["feedback"].extensions["lsq"].db.read() as conn:
        from services.feedback import store
        from sqlalchemy import select
        rows = conn.execute(select(store.survey_answers).where(
            store.survey_answers.c.survey_id == survey["id"])).mappings().all()
    by_item = {}
    for row in rows:
        by_item.setdefault(row["item_code"], []).append(row)
    assert (by_item["AF1"][0]["minimum"], by_item["AF1"][0]["desired"], by_item["AF1"][0]["perceived"]) == (4, 5, 6)
    assert by_item["PL1"][0]["na"] and by_item["GS1"][0]["value"] == 4 and by_item["NPS"][0]["value"] == 9
    assert sorted(r["choice"] for r in by_item["USE"]) == ["events", "loans"]
    assert by_item["NOTE"][0]["text"] == "<script>alert(1)</script>希望延长开放时间"


def test_the_default_questionnaire_renders_in_english(browser_client, live, desk):
    survey = _survey(live, desk, instrument_code="lsq-core")
    r, html = page(browser_client, f"/survey/{survey['id']}?lang=en")
    text = visible(html)
    assert r.status_code == 200 and "Staff are polite and friendly" in text and "Minimum acceptable level" in text
    assert "Send my answers" in text and "馆员" not in text


def test_a_closed_or_not_yet_open_survey_says_so(browser_client, live, desk, every_kind):
    closed = _survey(live, desk)
    live.call("feedback", "POST", f"/surveys/{closed['id']}/close")
    r, html = page(browser_client, f"/survey/{closed['id']}")
    assert r.status_code == 200 and "已结束" in visible(html) and "<form method=\"post\"" not in html.split("</header>")[1]
    r, html = post(browser_client, f"/survey/{closed['id']}", {"a.UG": "student"}, form_path="/track")
    assert r.status_code == 409 and "已结束" in visible(html)
    later = utcnow() + timedelta(days=3)
    scheduled = _survey(live, desk, opens_at=later.isoformat(), closes_at=(later + timedelta(days=3)).isoformat())
    r, html = page(browser_client, f"/survey/{scheduled['id']}?lang=en")
    assert r.status_code == 200 and "not open yet" in visible(html)
    assert page(browser_client, "/survey/no-such-survey")[0].status_code == 404


# -- certificates ----------------------------------------------------------------------------------
def test_certificate_check_unknown_and_genuine(browser_client, live, desk):
    r, html = page(browser_client, "/verify?code=LSQ-AAAA-BBBB-CCCC")
    assert r.status_code == 404 and "没有与此编号对应的证书" in field_error(html, "code")
    assert 'value="LSQ-AAAA-BBBB-CCCC"' in html
    r, html = page(browser_client, "/verify?code=" + "%3Cscript%3E")
    assert r.status_code == 404 and "<script>" not in html.split("</head>")[1]
    assert page(browser_client, "/verify?code=")[0].status_code == 422
    assert page(browser_client, "/verify")[0].status_code == 200

    # a real certificate: a session of the regulation course, attended and passed
    branch, person = desk["branch"]["id"], desk["staff"]["staff"]["id"]
    courses = live.call("training", "GET", "/courses", params={"page_size": 100})["items"]
    course = next(c for c in courses if c["code"] == "SQ-REG")
    start = utcnow() + timedelta(days=2)
    session = live.call("training", "POST", "/sessions", json={
        "course_id": course["id"], "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(),
        "capacity": 5, "place": "报告厅", "link": "https://meeting.example.cn/lsq", "branch_id": branch})
    live.call("training", "POST", f"/sessions/{session['id']}/enrolments", json={}, role="staff",
              staff_id=person, branch_id=branch)
    from services.training import store as training_store
    with live.apps["training"].extensions["lsq"].db.transaction() as conn:
        conn.execute(update(training_store.sessions).where(training_store.sessions.c.id == session["id"]).values(
            starts_at=utcnow() - timedelta(hours=5), ends_at=utcnow() - timedelta(hours=1)))
    done = live.call("training", "POST", f"/sessions/{session['id']}/attendance",
                     json={"records": [{"staff_id": person, "attended": True, "score": 90}]})
    code = done["items"][0]["certificate_code"]
    r, html = page(browser_client, "/verify?code=" + code.lower().replace("-", " "))
    text = visible(html)
    assert r.status_code == 200 and "真实有效" in text and "王芳" in text and course["title_zh"] in text and code in text
    r, html = page(browser_client, "/verify?lang=en&code=" + code)
    assert "genuine and valid" in visible(html) and course["title_en"] in visible(html)


# -- desk QR codes -----------------------------------------------------------------------------------
def test_the_qr_page_is_an_svg_of_the_desk_address(browser_client, live, desk):
    point = desk["desk"]["id"]
    manager = desk["staff"]["branch_manager"]
    sign_in_as(browser_client, "branch_manager", staff_id=manager["id"], branch_id=desk["branch"]["id"], name="张馆长")
    r, html = page(browser_client, f"/desk/{point}/qr")
    assert r.status_code == 200 and html.count("<h1") == 1
    url = f"http://localhost/desk/{point}"
    svg = re.search(r"<svg .*?</svg>", html, re.S).group(0)
    assert f"<desc>{url}</desc>" in svg and 'role="img"' in svg and "<title>" in svg
    expected = segno.make(url, error="m").svg_inline(scale=8, border=4, omitsize=True, light="#fff")
    assert re.search(r' d="([^"]+)"', expected.split("qrline")[1]).group(1) in svg  # the code is the address
    text = visible(html)
    for name in ("总服务台", "Main desk", "测试分馆", "Test Branch"):
        assert name in text
    assert url in text and "data-print" in html and "<img" not in html

    # the public address when one is configured
    app = create_portal({"TESTING": True, "SETTINGS": {"service_urls": live.urls, "secret_key": "q" * 32,
                                                       "secure_cookies": False,
                                                       "public_url": "https://lib.example.cn/"}})
    client = app.test_client()
    sign_in_as(client, "network_admin", name="管理员")
    html = client.get(f"/desk/{point}/qr").get_data(as_text=True)
    assert f"<desc>https://lib.example.cn/desk/{point}</desc>" in html


def test_the_qr_page_is_for_managers_of_the_desk_s_branch_only(browser_client, live, desk):
    point = desk["desk"]["id"]
    assert browser_client.get(f"/desk/{point}/qr").status_code == 302  # sign in first
    staff = desk["staff"]["staff"]
    sign_in_as(browser_client, "staff", staff_id=staff["id"], branch_id=desk["branch"]["id"], name="王芳")
    r = browser_client.get(f"/desk/{point}/qr")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    assert browser_client.get("/desks").status_code == 404
    sign_in_as(browser_client, "branch_manager", staff_id="other", branch_id="another-branch", name="外馆馆长")
    assert browser_client.get(f"/desk/{point}/qr").status_code == 404


def test_the_desk_list_groups_desks_by_branch(browser_client, live, desk):
    point = desk["desk"]["id"]
    manager = desk["staff"]["branch_manager"]
    sign_in_as(browser_client, "branch_manager", staff_id=manager["id"], branch_id=desk["branch"]["id"], name="张馆长")
    r, html = page(browser_client, "/desks")
    text = visible(html)
    assert r.status_code == 200 and "测试分馆" in text and "总服务台" in text and not UUID.search(text)
    assert f'href="/desk/{point}/qr"' in html and f'href="/desk/{point}"' in html
    assert 'href="/desks"' in html and "服务台二维码" in text  # in the menu
    other = live.call("directory", "POST", "/branches", json={"code": "Q" + point[:5].upper(), "name_zh": "西城分馆",
                                                              "name_en": "West Branch"})
    assert "西城分馆" not in visible(page(browser_client, "/desks")[1])
    sign_in_as(browser_client, "network_admin", name="管理员")
    text = visible(page(browser_client, "/desks?lang=en")[1])
    assert "Test Branch" in text and "West Branch" in text and "Main desk" in text
    assert other["id"] not in text


# -- the start page --------------------------------------------------------------------------------
def test_the_start_page_explains_and_links_to_tracking_and_verification(browser_client):
    r, html = page(browser_client, "/")
    text = visible(html)
    assert r.status_code == 200 and 'href="/track"' in html and 'href="/verify"' in html
    assert "无需注册账号" in text and "二维码" in text and html.count("<h1") == 1
    text = visible(page(browser_client, "/?lang=en")[1])
    assert "Track a complaint with its code" in text and "Check a staff training certificate" in text
