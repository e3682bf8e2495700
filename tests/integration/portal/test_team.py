"""The team area (approvals, evaluations, training of a branch's staff) against the real services.

Data is set up through the services' APIs; what only arrives by events here (no Kafka) is handed
to the receiving service's own consumer handlers on the live app's database: the directory's
staff and branch events to every service, an evaluation's scores to the incentive service (its
awards), as each worker would.
"""
from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import update

from services.evaluation.handlers import HANDLERS as EVALUATION_HANDLERS
from services.feedback.handlers import HANDLERS as FEEDBACK_HANDLERS
from services.incentive.handlers import HANDLERS as INCENTIVE_HANDLERS
from services.incentive.runner import IncentiveRunner
from services.training import store as training_store
from services.training.handlers import HANDLERS as TRAINING_HANDLERS
from shared import outbox
from shared.consumer import ConsumerRunner
from shared.events import get as event_type
from shared.events.envelope import Event
from shared.timeutil import local_today, utcnow
from tests.integration.incentive.support import scored
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
HANDLERS = {"feedback": FEEDBACK_HANDLERS, "evaluation": EVALUATION_HANDLERS, "training": TRAINING_HANDLERS,
            "incentive": INCENTIVE_HANDLERS}


# -- events between the live services, as their workers would pass them --------------------------
def _db(live, service):
    return live.apps[service].extensions["lsq"].db


def deliver(live, source: str, to=("feedback", "evaluation", "training", "incentive")) -> None:
    """Apply the events ``source`` wrote to its outbox to each service in ``to`` that consumes
    them, through that service's handlers and inbox (applying twice changes nothing)."""
    with _db(live, source).read() as conn:
        written = outbox.events_for(conn)
    for target in to:
        wanted = [Event(id=e.id, type=e.type, source=e.source, subject=e.subject, time=e.time,
                        data=event_type(e.type).load(e.data), key=e.key, topic=e.topic)
                  for e in written if e.type in HANDLERS[target]]
        if wanted:
            runner = (IncentiveRunner if target == "incentive" else ConsumerRunner)(
                _db(live, target), "127.0.0.1:1", f"lsq.{target}", HANDLERS[target])
            runner.apply_batch(wanted)


def text_of(html: str) -> str:
    """What a person reads: the page without tags, attributes, scripts and styles."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def assert_names_not_ids(html: str, *names: str) -> None:
    shown = text_of(html)
    for name in names:
        assert name in shown, name
    found = UUID.search(shown)
    assert not found, " ".join(shown[max(0, found.start() - 200):found.end() + 40].split())


# -- the branch and its people -------------------------------------------------------------------
@pytest.fixture(scope="module")
def town(live):
    """Two branches made through the directory API: 测试分馆 (a manager, a supervisor, three staff)
    and 东城分馆 (a supervisor), known to every service."""
    code = "TM" + uuid.uuid4().hex[:5].upper()
    branch = live.call("directory", "POST", "/branches", json={"code": code, "name_zh": "测试分馆",
                                                               "name_en": "Test Branch"})
    other = live.call("directory", "POST", "/branches", json={"code": code + "E", "name_zh": "东城分馆",
                                                              "name_en": "East Branch"})
    desk = live.call("directory", "POST", "/service-points", json={
        "branch_id": branch["id"], "name_zh": "总服务台", "name_en": "Main desk", "kind": "circulation"})
    people = {}
    for key, role, name, home in (("wang", "staff", "王芳", branch), ("chen", "staff", "陈静", branch),
                                  ("liu", "staff", "刘洋", branch), ("li", "supervisor", "李主管", branch),
                                  ("zhang", "branch_manager", "张馆长", branch),
                                  ("zhao", "supervisor", "赵主管", other)):
        people[key] = live.call("directory", "POST", "/staff", json={
            "employee_number": f"{code}-{key}", "name": name, "role": role, "branch_id": home["id"],
            "hire_date": "2020-03-01"})["id"]
    deliver(live, "directory")
    return {"branch": branch["id"], "other": other["id"], "desk": desk["id"], "people": people}


def as_(client, town, who: str):
    """Sign in as one of the town's people."""
    roles = {"li": "supervisor", "zhang": "branch_manager", "zhao": "supervisor", "wang": "staff"}
    branch = town["other"] if who == "zhao" else town["branch"]
    names = {"li": "李主管", "zhang": "张馆长", "zhao": "赵主管", "wang": "王芳"}
    sign_in_as(client, roles[who], staff_id=town["people"][who], branch_id=branch, name=names[who],
               branch_name_zh="东城分馆" if who == "zhao" else "测试分馆",
               branch_name_en="East Branch" if who == "zhao" else "Test Branch")


def _token(live, town, who: str) -> dict:
    roles = {"li": "supervisor", "zhang": "branch_manager", "zhao": "supervisor"}
    branch = town["other"] if who == "zhao" else town["branch"]
    return {"role": roles.get(who, "staff"), "staff_id": town["people"][who], "branch_id": branch}


# -- things waiting for a decision -------------------------------------------------------------------
def new_praise(live, town, message="王老师耐心帮我找到了绝版地方志，谢谢！"):
    return live.call("feedback", "POST", "/praise", role="reader", headers={}, json={
        "branch_id": town["branch"], "staff_id": town["people"]["wang"], "message": message})


def new_external(live, town, who="chen", title="全国公共图书馆读者服务研讨会"):
    return live.call("training", "POST", "/external-activities", **_token(live, town, who), json={
        "kind": "seminar", "title": title, "organiser": "中国图书馆学会",
        "activity_date": (local_today() - timedelta(days=3)).isoformat(), "hours": 6})


def new_award(live, town, who="wang", grade="excellent"):
    """An award from an evaluation result, as the incentive worker makes it from the event."""
    runner = IncentiveRunner(_db(live, "incentive"), "127.0.0.1:1", "lsq.incentive", INCENTIVE_HANDLERS)
    runner.apply_batch([scored(town["people"][who], town["branch"], grade, utcnow())])
    awards = live.call("incentive", "GET", "/awards", params={"staff_id": town["people"][who], "status": "pending",
                                                              "page_size": 500})["items"]
    return awards[-1]


def new_sanction_appeal(live, town, who="liu"):
    """A violation recorded by the supervisor, appealed by the staff member (both through the API)."""
    recorded = live.call("incentive", "POST", "/violations", **_token(live, town, "li"), json={
        "staff_id": town["people"][who], "category": "punctuality", "description": "连续三天迟到"})
    sanction = recorded["sanctions"][0]
    live.call("incentive", "POST", f"/sanctions/{sanction['id']}/appeal", **_token(live, town, who),
              json={"reason": "那几天地铁停运，有公告为证"})
    return sanction


@pytest.fixture(scope="module")
def results(live, town):
    """A published evaluation cycle of last year for the branch (王芳 rated 5s, 陈静 4s by the
    supervisor), 王芳's appeal of her result, and a cycle of this month open for ratings."""
    today = local_today()
    deadline = (utcnow() + timedelta(days=7)).isoformat()
    past = live.call("evaluation", "POST", "/cycles", json={
        "period": str(today.year - 1), "scope": "branches", "branch_ids": [town["branch"]],
        "submission_deadline": deadline})
    live.call("evaluation", "POST", f"/cycles/{past['id']}/open")
    rubric = live.call("evaluation", "GET", f"/rubrics/{past['rubric_id']}")
    codes = [d["code"] for d in rubric["dimensions"]]
    for who, value in (("wang", 5), ("chen", 4)):
        live.call("evaluation", "POST", f"/cycles/{past['id']}/evaluations", **_token(live, town, "li"), json={
            "staff_id": town["people"][who], "rater_type": "supervisor", "scores": {c: value for c in codes}})
    live.call("evaluation", "POST", f"/cycles/{past['id']}/close")
    live.call("evaluation", "POST", f"/cycles/{past['id']}/publish")
    deliver(live, "evaluation", to=("incentive", "training"))  # the scores: awards for 王芳 and 陈静
    mine = live.call("evaluation", "GET", f"/staff/{town['people']['wang']}/evaluations", **_token(live, town, "wang"))
    appeal = live.call("evaluation", "POST", f"/evaluations/{mine[0]['id']}/appeal", **_token(live, town, "wang"),
                       json={"reason": "本人当期还承担了少儿阅读推广，未计入"})
    current = live.call("evaluation", "POST", "/cycles", json={
        "period": f"{today.year}-{today.month:02d}", "scope": "branches", "branch_ids": [town["branch"]]})
    live.call("evaluation", "POST", f"/cycles/{current['id']}/open")
    return {"past": past, "current": current, "codes": codes, "appeal": appeal,
            "period_zh": f"{today.year - 1}年度"}


@pytest.fixture
def manager(browser_client, town):
    as_(browser_client, town, "zhang")
    return browser_client


def _post(client, url, data, page, htmx=False):
    """Send a form as the page that shows it would (its CSRF token); htmx like the browser does."""
    token = csrf_of(client.get(page).get_data(as_text=True))
    headers = {"HX-Request": "true", "X-CSRFToken": token} if htmx else {}
    return client.post(url, data={**data, **({} if htmx else {"csrf_token": token})}, headers=headers)


# ================================================================================================
# access
# ================================================================================================
@pytest.mark.parametrize("path", ["/team/approvals", "/team/evaluations", "/team/training"])
def test_staff_get_the_not_found_page_and_the_menu_has_no_team_entries(browser_client, town, path):
    as_(browser_client, town, "wang")
    r = browser_client.get(path)
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    assert "/team/" not in browser_client.get("/about").get_data(as_text=True)


def test_signed_out_visitors_are_sent_to_sign_in(browser_client):
    r = browser_client.get("/team/approvals")
    assert r.status_code == 302 and "/sign-in" in r.headers["Location"]


def test_the_menu_offers_the_team_pages_to_supervisors_and_managers(browser_client, town):
    for who in ("li", "zhang"):
        as_(browser_client, town, who)
        html = browser_client.get("/about").get_data(as_text=True)
        assert all(f'href="/team/{p}"' in html for p in ("approvals", "evaluations", "training"))
        assert "审批事项" in html and "员工考核" in html and "员工培训" in html


def test_a_form_without_its_csrf_token_gets_400(manager, live, town):
    activity = new_external(live, town)
    r = manager.post(f"/team/approvals/external/{activity['id']}", data={"decision": "approve"})
    assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True)
    again = manager.post(f"/team/approvals/external/{activity['id']}", data={"decision": "approve"},
                         headers={"HX-Request": "true"})
    assert again.status_code == 400
    still = live.call("training", "GET", "/external-activities", params={"branch_id": town["branch"],
                                                                          "status": "submitted"})
    assert activity["id"] in [a["id"] for a in still["items"]]


# ================================================================================================
# 1. approvals
# ================================================================================================
def test_approvals_list_every_section_with_counts_and_names_in_chinese_and_english(manager, live, town, results):
    new_praise(live, town)
    new_external(live, town, title="长三角古籍保护学术论坛")
    new_sanction_appeal(live, town)
    [award] = live.call("incentive", "GET", "/awards", params={"staff_id": town["people"]["chen"]})["items"]
    assert award["status"] == "pending" and award["tier"] == "B"  # from the published evaluation, no budget yet
    html = manager.get("/team/approvals").get_data(as_text=True)
    assert_names_not_ids(html, "王芳", "陈静", "刘洋", "表扬审核", "外部学习活动审批", "待审批奖励", "处分申诉", "考核结果申诉",
                         "长三角古籍保护学术论坛", "研讨会", "口头警告", "B 档奖励", "本人当期还承担了少儿阅读推广",
                         f"{results['period_zh']}考核结果：良好（80.0 分）", "违规记录（迟到）：连续三天迟到")
    assert re.search(r'id="count-praise"[^>]*>\s*\d+ 项待处理', html)
    # the award beside its period's fund, by the period's label: nothing available yet
    fund = re.search(r"分馆奖励基金（(\d{4})年第([1-4])季度）</h4>.*?可用余额</dt><dd[^>]*>([^<]+)<", html, flags=re.S)
    assert fund and f"{fund.group(1)}-Q{fund.group(2)}" == award["period"] and fund.group(3) == "¥0.00"
    assert "¥800.00" in html and "基金余额不足以发放该奖励" in html
    assert award["period"] not in text_of(html) and "rule" not in text_of(html) and "规则" not in text_of(html)
    english = manager.get("/team/approvals?lang=en").get_data(as_text=True)
    assert_names_not_ids(english, "王芳", "Praise to review", "External activities to approve", "Awards waiting for approval",
                         "Sanction appeals", "Score appeals", "Seminar", "Verbal warning", "Tier B award",
                         "Evaluation result (Year", "Recorded violation (Lateness)")
    assert "审批事项" not in english and re.search(r"\d+ waiting", english)


def test_a_supervisor_sees_praise_and_activities_only(browser_client, live, town, results):
    new_external(live, town, title="数字人文工作坊")
    as_(browser_client, town, "li")
    html = browser_client.get("/team/approvals").get_data(as_text=True)
    assert "数字人文工作坊" in html and "表扬审核" in html
    assert 'id="praise"' in html and 'id="external"' in html
    assert 'id="award"' not in html and 'id="sanction"' not in html and 'id="score"' not in html
    assert "由分馆馆长决定" in html


def test_praise_is_rejected_in_place_with_htmx_and_by_a_plain_post(manager, live, town):
    first, second = new_praise(live, town, "谢谢！"), new_praise(live, town, "买卖二手书加微信 12345")
    r = _post(manager, f"/team/approvals/praise/{first['id']}", {"reason": "duplicate"}, "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and html.lstrip().startswith('<article class="card item" id="praise-')
    assert "已驳回" in html and "重复" in html and "<form" not in html
    assert 'hx-swap-oob="true"' in html and "项待处理" in html
    # without script: the form posts, the page comes back with a message
    r = _post(manager, f"/team/approvals/praise/{second['id']}", {"reason": "spam", "note": "广告"}, "/team/approvals")
    assert r.status_code == 303 and r.headers["Location"].endswith(f"#praise-{second['id']}")
    page = manager.get(r.headers["Location"]).get_data(as_text=True)
    assert "该表扬已驳回" in page
    rejected = {p["id"]: p for p in live.call("feedback", "GET", "/praise", params={
        "branch_id": town["branch"], "status": "rejected", "page_size": 500})["items"]}
    assert rejected[first["id"]]["reject_reason"] == "duplicate" and rejected[second["id"]]["reject_reason"] == "spam"
    # twice: the service refuses, the portal says so next to the form in the page's language
    again = _post(manager, f"/team/approvals/praise/{first['id']}", {"reason": "spam"}, "/team/approvals", htmx=True)
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "不再等待处理" in html and f'id="praise-{first["id"]}"' in html
    plain = _post(manager, f"/team/approvals/praise/{first['id']}?lang=en", {"reason": "spam"}, "/team/approvals")
    assert plain.status_code == 409 and 'class="flash error"' in plain.get_data(as_text=True)


def test_praise_rejected_without_a_reason_names_the_field_and_keeps_the_note(manager, live, town):
    praise = new_praise(live, town)
    r = _post(manager, f"/team/approvals/praise/{praise['id']}", {"reason": "", "note": "<script>alert(1)</script>"},
              "/team/approvals")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请选择驳回的理由" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert live.call("feedback", "GET", "/praise", params={"branch_id": town["branch"], "status": "received",
                                                           "page_size": 500})["total"] >= 1


def test_an_external_activity_is_approved_and_another_rejected(manager, live, town):
    good, bad = new_external(live, town, title="省图书馆学会年会"), new_external(live, town, title="旅游")
    r = _post(manager, f"/team/approvals/external/{good['id']}", {"decision": "approve", "note": "同意"},
              "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已批准" in html and "学时已计入" in html and "<form" not in html
    r = _post(manager, f"/team/approvals/external/{bad['id']}", {"decision": "reject", "note": "与岗位无关"},
              "/team/approvals")
    assert r.status_code == 303
    decided = {a["id"]: a for a in live.call("training", "GET", "/external-activities", params={
        "branch_id": town["branch"], "page_size": 500})["items"]}
    assert decided[good["id"]]["status"] == "approved" and decided[good["id"]]["credit_hours"] == 6
    assert decided[bad["id"]]["status"] == "rejected" and decided[bad["id"]]["decision_note"] == "与岗位无关"


def test_rejecting_an_activity_without_a_note_shows_the_error_and_keeps_the_form(manager, live, town):
    activity = new_external(live, town, title="城市阅读节志愿服务")
    for htmx in (False, True):
        r = _post(manager, f"/team/approvals/external/{activity['id']}", {"decision": "reject", "note": "  "},
                  "/team/approvals", htmx=htmx)
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and "请说明驳回的理由" in html and "城市阅读节志愿服务" in html
        assert 'aria-invalid="true"' in html
    english = _post(manager, f"/team/approvals/external/{activity['id']}?lang=en", {"decision": "reject"},
                    "/team/approvals", htmx=True).get_data(as_text=True)
    assert "Say why you reject it" in english
    still = live.call("training", "GET", "/external-activities", params={"branch_id": town["branch"],
                                                                          "status": "submitted", "page_size": 500})
    assert activity["id"] in [a["id"] for a in still["items"]]


def test_an_award_is_approved_once_the_fund_covers_it_and_another_rejected(manager, live, town):
    award, other = new_award(live, town, who="wang"), new_award(live, town, who="liu", grade="good")
    assert award["waiting_for"] == "fund_short" and other["waiting_for"] == "fund_short"
    # the fund is short: the service refuses and the page says why, in Chinese, next to the form
    r = _post(manager, f"/team/approvals/awards/{award['id']}", {"decision": "approve"}, "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "基金余额" in html and "请先提高预算" in html and "<form" in html
    live.call("incentive", "PUT", f"/funds/{town['branch']}/periods/{award['period']}", json={"budget": "10000.00"})
    page = manager.get("/team/approvals").get_data(as_text=True)
    assert "¥10,000.00" in page
    r = _post(manager, f"/team/approvals/awards/{award['id']}", {"decision": "approve", "note": "表现突出"},
              "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已发放" in html and "¥2,000.00" in html and "<form" not in html
    assert "¥8,000.00" in html  # the fund's new balance beside it
    r = _post(manager, f"/team/approvals/awards/{other['id']}", {"decision": "reject", "note": "已另行表彰"},
              "/team/approvals")
    assert r.status_code == 303
    statuses = {a["id"]: a["status"] for a in live.call("incentive", "GET", "/awards", params={
        "branch_id": town["branch"], "page_size": 500})["items"]}
    assert statuses[award["id"]] == "granted" and statuses[other["id"]] == "rejected"


def test_a_sanction_appeal_is_decided_and_a_missing_note_keeps_the_choice(manager, live, town):
    sanction = new_sanction_appeal(live, town)
    url = f"/team/approvals/sanction-appeals/{sanction['id']}"
    r = _post(manager, url, {"decision": "overturned", "note": ""}, "/team/approvals")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请写明裁决理由" in html
    chosen = re.search(rf'<article[^>]+id="sanction-{sanction["id"]}".*?</article>', html, flags=re.S).group(0)
    assert re.search(r'value="overturned" checked', chosen) and not re.search(r'value="upheld" checked', chosen)
    assert html.count("请写明裁决理由") == 1  # only that form shows the error, not the score appeal's beside it
    r = _post(manager, url, {"decision": "overturned", "note": "地铁停运属实，撤销处分"}, "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "撤销" in html and "<form" not in html
    assert live.call("incentive", "GET", f"/sanctions/{sanction['id']}")["decision"] == "overturned"


def test_a_score_appeal_needs_grounds_and_a_score_to_revise(manager, live, town, results):
    url = f"/team/approvals/score-appeals/{results['appeal']['id']}"
    html = manager.get("/team/approvals").get_data(as_text=True)
    assert results["period_zh"] in html and "100.0" in html and "优秀" in html
    r = _post(manager, url, {"decision": "revise", "reason": "属实"}, "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请填写新的分数" in html and ">属实</textarea>" in html
    r = _post(manager, url, {"decision": "revise", "reason": "ab", "score": "92"}, "/team/approvals", htmx=True)
    assert r.status_code == 422 and ">ab</textarea>" in r.get_data(as_text=True)  # the service: at least 5 characters
    r = _post(manager, url, {"decision": "uphold", "reason": "推广工作已计入服务效率维度"}, "/team/approvals", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "维持原结果" in html and "<form" not in html


def test_another_branchs_supervisor_sees_nothing_of_this_branch(browser_client, live, town, results):
    activity = new_external(live, town, title="仅本馆可见的研讨会")
    new_praise(live, town, "只属于测试分馆的表扬")
    as_(browser_client, town, "zhao")
    html = browser_client.get("/team/approvals").get_data(as_text=True)
    assert "仅本馆可见的研讨会" not in html and "王芳" not in html and "只属于测试分馆的表扬" not in html
    assert "东城分馆" in html
    r = _post(browser_client, f"/team/approvals/external/{activity['id']}", {"decision": "approve"}, "/team/approvals")
    assert r.status_code in (403, 404)
    assert "李主管" not in browser_client.get("/team/evaluations").get_data(as_text=True)


# ================================================================================================
# 2. evaluations
# ================================================================================================
def test_the_supervisor_rates_staff_over_the_rubric_and_sees_the_progress(browser_client, live, town, results):
    as_(browser_client, town, "li")
    html = browser_client.get("/team/evaluations").get_data(as_text=True)
    today = local_today()
    assert_names_not_ids(html, "王芳", "陈静", "刘洋", "张馆长", f"{today.year}年{today.month}月", "服务态度", "专业能力",
                         "截止时间", "自我评价", "进行中")
    assert html.count('type="radio"') >= 5 * len(results["codes"]) * 3
    cycle, staff = results["current"]["id"], town["people"]["liu"]
    scores = {f"scores.{c}": "4" for c in results["codes"]}
    missing = dict(scores, **{f"scores.{results['codes'][0]}": ""}, comment="工作认真")
    r = _post(browser_client, f"/team/evaluations/{cycle}/{staff}", missing, "/team/evaluations", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请选择 1 到 5 的评分" in html and ">工作认真</textarea>" in html
    assert 'value="4" checked' in html
    r = _post(browser_client, f"/team/evaluations/{cycle}/{staff}", dict(scores, comment="工作认真"),
              "/team/evaluations", htmx=True)
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "已保存您对刘洋的评分" in html and "已评分" in html
    given = live.call("evaluation", "GET", f"/cycles/{cycle}/evaluations", **_token(live, town, "li"))
    assert [(g["staff_id"], g["rater_type"], set(g["scores"].values())) for g in given] == [(staff, "supervisor", {4})]
    # a plain post changes it; the progress counts it
    r = _post(browser_client, f"/team/evaluations/{cycle}/{staff}", {**scores, f"scores.{results['codes'][1]}": "5"},
              "/team/evaluations")
    assert r.status_code == 303
    page = browser_client.get("/team/evaluations").get_data(as_text=True)
    assert re.search(r"主管评价</th>\s*<td>1</td>", page)
    english = browser_client.get("/team/evaluations?lang=en").get_data(as_text=True)
    assert_names_not_ids(english, "刘洋", "Supervisor ratings due from you", "Service attitude", "Deadline")
    assert "Each person sees their own result" in english  # a supervisor is not shown the branch's results


def test_the_manager_sees_the_branchs_published_results(manager, results):
    html = manager.get("/team/evaluations").get_data(as_text=True)
    assert_names_not_ids(html, "已公布的结果", results["period_zh"], "王芳", "陈静", "优秀", "良好")
    row = re.search(r"<td>陈静</td>\s*<td>([^<]+)</td>", html)
    assert row and row.group(1) == "80.0"
    english = manager.get("/team/evaluations?lang=en").get_data(as_text=True)
    assert "Excellent" in english and "Good" in english and f"Year {local_today().year - 1}" in english


# ================================================================================================
# 3. training
# ================================================================================================
def _course(live, code):
    return next(c for c in live.call("training", "GET", "/courses", params={"page_size": 500})["items"]
                if c["code"] == code)


def _session(live, town, capacity=2, branch=True, days=3):
    start = utcnow() + timedelta(days=days)
    return live.call("training", "POST", "/sessions", json={
        "course_id": _course(live, "SQ-REG")["id"], "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=4)).isoformat(), "capacity": capacity, "place": "三楼报告厅",
        "link": "https://meeting.example.cn/lsq", "branch_id": town["branch"] if branch else None})


def _started(live, session_id):
    """As if the session had taken place (the API schedules sessions only in the future)."""
    with _db(live, "training").transaction() as conn:
        conn.execute(update(training_store.sessions).where(training_store.sessions.c.id == session_id).values(
            starts_at=utcnow() - timedelta(hours=5), ends_at=utcnow() - timedelta(hours=1)))


def test_sessions_enrolments_waiting_list_and_attendance(browser_client, live, town):
    session = _session(live, town, capacity=2)
    network_wide = _session(live, town, branch=False, days=5)
    as_(browser_client, town, "li")
    page = browser_client.get("/team/training").get_data(as_text=True)
    assert_names_not_ids(page, "2024年图书馆员工服务质量管理规定", "三楼报告厅", "测试分馆", "全馆通用")
    assert f"/team/training/sessions/{network_wide['id']}" in page
    english = browser_client.get("/team/training?lang=en").get_data(as_text=True)
    assert_names_not_ids(english, "Library Staff Service Quality Regulations 2024", "Network-wide", "Test Branch",
                         "Sessions today and later", "Earlier sessions")
    url = f"/team/training/sessions/{session['id']}"
    for who in ("wang", "chen", "liu"):  # the third waits
        r = _post(browser_client, f"{url}/enrolments", {"staff_id": town["people"][who]}, url)
        assert r.status_code == 303, r.get_data(as_text=True)
    html = browser_client.get(url).get_data(as_text=True)
    assert_names_not_ids(html, "王芳", "陈静", "刘洋", "候补名单", "后才能登记出勤")
    assert re.search(r'<ol class="card waiting">\s*<li>刘洋</li>', html)
    _started(live, session["id"])
    html = browser_client.get(url).get_data(as_text=True)
    assert "登记出勤" in html and html.count('name="staff"') == 2
    wang, chen = town["people"]["wang"], town["people"]["chen"]
    form = {"staff": [wang, chen], f"attended.{wang}": "1", f"score.{wang}": "", f"score.{chen}": ""}
    r = _post(browser_client, f"{url}/attendance", form, url)
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "该课程设有及格线" in html  # 王芳 attended: her score is needed
    assert re.search(rf'name="attended\.{chen}" value="1"(?! checked)', html)  # kept: 陈静 was not ticked
    r = _post(browser_client, f"{url}/attendance", {**form, f"score.{wang}": "92"}, url)
    assert r.status_code == 303
    html = browser_client.get(url).get_data(as_text=True)
    assert "已完成" in html and "缺席" in html and "92.0" in html and "LSQ-" in html
    english = browser_client.get(url + "?lang=en").get_data(as_text=True)
    assert_names_not_ids(english, "王芳", "Completed", "Absent", "Waiting list", "Library Staff Service Quality Regulations 2024")
    outcomes = {e["staff_id"]: e["status"] for e in live.call("training", "GET", f"/sessions/{session['id']}/enrolments")["items"]}
    assert outcomes[wang] == "completed" and outcomes[chen] == "absent"


def test_another_branchs_supervisor_gets_404_for_the_session_page(browser_client, live, town):
    session = _session(live, town)
    as_(browser_client, town, "zhao")
    r = browser_client.get(f"/team/training/sessions/{session['id']}")
    assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True)
    assert browser_client.get("/team/training/sessions/no-such-session").status_code == 404
    assert f"/team/training/sessions/{session['id']}" not in browser_client.get("/team/training").get_data(as_text=True)
    r = _post(browser_client, f"/team/training/sessions/{session['id']}/enrolments",
              {"staff_id": town["people"]["zhao"]}, "/team/training")
    assert r.status_code == 404


def test_a_course_is_assigned_to_staff_chosen_by_name(browser_client, live, town):
    sign_in_as(browser_client, "network_admin", name="总馆管理员")
    page = browser_client.get(f"/team/training?branch={town['branch']}").get_data(as_text=True)
    assert_names_not_ids(page, "王芳", "陈静", "刘洋", "信息检索与参考咨询")
    course = _course(live, "IR-201")
    due = (local_today() + timedelta(days=20)).isoformat()
    url = f"/team/training/assign?branch={town['branch']}"
    empty = _post(browser_client, url, {"course_id": course["id"], "due_on": due, "reason": ""},
                  f"/team/training?branch={town['branch']}")
    html = empty.get_data(as_text=True)
    assert empty.status_code == 422 and "请至少选择一人" in html and "请说明要求学习该课程的原因" in html
    assert f'value="{due}"' in html
    r = _post(browser_client, url, {"course_id": course["id"], "due_on": due, "reason": "参考咨询服务提升计划",
                                    "staff_ids": [town["people"]["wang"], town["people"]["chen"]]},
              f"/team/training?branch={town['branch']}")
    assert r.status_code == 303
    assert "该课程已要求 2 人学习" in browser_client.get(r.headers["Location"]).get_data(as_text=True)
    required = live.call("training", "GET", "/requirements", params={"course_id": course["id"], "page_size": 500})
    assert {q["staff_id"] for q in required["items"]} >= {town["people"]["wang"], town["people"]["chen"]}
    assert all(q["due_on"] == due for q in required["items"] if q["staff_id"] == town["people"]["wang"])


def test_a_branch_manager_requires_a_course_of_their_own_staff(browser_client, live, town):
    as_(browser_client, town, "zhang")
    html = browser_client.get("/team/training").get_data(as_text=True)
    assert 'action="/team/training/assign' in html and "由总馆管理员" not in html
    course = _course(live, "IR-201")
    due = (local_today() + timedelta(days=25)).isoformat()
    r = _post(browser_client, "/team/training/assign", {"course_id": course["id"], "due_on": due,
                                                        "reason": "读者咨询服务提升", "staff_ids": [town["people"]["liu"]]},
              "/team/training")
    assert r.status_code == 303
    required = live.call("training", "GET", "/requirements", params={"course_id": course["id"], "page_size": 500})
    assert any(q["staff_id"] == town["people"]["liu"] and q["due_on"] == due for q in required["items"])


def test_a_service_that_is_down_leaves_a_notice_in_its_section_and_the_rest_works(live, town):
    from services.portal import create_app as create_portal
    urls = {**live.urls, "training": "http://127.0.0.1:1"}
    client = create_portal({"TESTING": True, "SETTINGS": {"service_urls": urls, "secret_key": "d" * 32,
                                                          "secure_cookies": False}}).test_client()
    new_praise(live, town, "服务台的同事很热情")
    as_(client, town, "zhang")
    r = client.get("/team/approvals")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "服务台的同事很热情" in html
    section = re.search(r'<section id="external".*?</section>', html, flags=re.S).group(0)
    assert "暂时没有响应" in section
    assert client.get("/team/training").status_code == 503  # that page needs it
