"""What the services learned in issue 17, on the pages: the reader's due times, a branch's own
complaint time limits, the professional title on the staff forms, the new labels."""
from __future__ import annotations

import html as html_module
import re
import uuid

import pytest

from services.portal import labels
from tests.integration.portal.conftest import csrf_of, sign_in_as
from tests.integration.portal.test_admin import text_of
from tests.integration.portal.test_reader import _file, desk, sync_read_models  # noqa: F401  (fixture)
from shared.timeutil import parse_rfc3339

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)


def post(client, url: str, data: dict, page: str | None = None, **kwargs):
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_of(html)}, **kwargs)


def beijing(value: str, chinese: bool) -> str:
    moment = parse_rfc3339(value).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai"))
    return f"{moment.year}年{moment.month}月{moment.day}日 {moment:%H:%M}" if chinese else f"{moment:%H:%M}"


# -- labels ------------------------------------------------------------------------------------------
def test_every_new_code_has_a_label_in_both_languages(portal):
    with portal.test_request_context("/?lang=zh_CN"):
        assert labels.label("requirement_kind", "assigned") == "指派培训"
        assert [labels.label("professional_title", c) for c in ("junior", "intermediate", "associate_senior", "senior")] \
            == ["初级", "中级", "副高级", "正高级"]
        assert labels.label("sla_source", "branch") == "本馆自定" and labels.label("sla_source", "network") == "沿用全馆"
    with portal.test_request_context("/?lang=en"):
        assert labels.label("requirement_kind", "assigned") == "Assigned"
        assert labels.label("professional_title", "senior") == "Senior title"


# -- the reader's due times ----------------------------------------------------------------------------
def test_the_reader_sees_the_due_times_in_beijing_time(browser_client, live, desk):  # noqa: F811
    description = "还书箱满了没有人清理。"
    code, html = _file(browser_client, desk, description=description, severity="urgent")
    tracked = live.call("feedback", "GET", f"/complaints/track/{code}")
    ack, res = tracked["acknowledge_due_at"], tracked["resolve_due_at"]
    text = text_of(html)
    assert "受理期限" in text and "办结期限" in text and "北京时间" in text
    assert beijing(ack, True) in text and beijing(res, True) in text
    r = post(browser_client, "/track", {"code": code}, follow_redirects=True)
    text = text_of(r.get_data(as_text=True))
    assert r.status_code == 200 and beijing(ack, True) in text and beijing(res, True) in text and not UUID.search(text)
    english = text_of(browser_client.get("/track/complaint?lang=en").get_data(as_text=True))
    assert "Acknowledged by" in english and "Beijing time" in english and beijing(res, False) in english
    # acknowledged and waiting on the reader: no acknowledgement due any more, the resolution paused
    items = live.call("feedback", "GET", "/complaints", params={"branch_id": desk["branch"]["id"], "page_size": 500})
    [complaint] = [c for c in items["items"] if c["description"] == description]
    live.call("feedback", "POST", f"/complaints/{complaint['id']}/acknowledge", json={})
    live.call("feedback", "POST", f"/complaints/{complaint['id']}/investigate", json={})
    live.call("feedback", "POST", f"/complaints/{complaint['id']}/wait", json={})
    text = text_of(browser_client.get("/track/complaint").get_data(as_text=True))
    assert "受理期限" not in text and "暂停计时" in text


# -- a branch's own time limits ------------------------------------------------------------------------
def manager_of(client, network):
    manager = network["staff"]["branch_manager"]
    sign_in_as(client, "branch_manager", staff_id=manager["id"], branch_id=network["branch"]["id"], name="张馆长",
               branch_name_zh="测试分馆", branch_name_en="Test Branch")


def test_a_branch_manager_sets_own_targets_and_goes_back_to_the_network(browser_client, live, network):
    sync_read_models(live, ("feedback",))
    branch = network["branch"]["id"]
    manager_of(browser_client, network)
    r = browser_client.get("/admin/branch-sla")
    html = r.get_data(as_text=True)
    text = text_of(html)
    assert r.status_code == 200 and "测试分馆" in text and html.count('badge muted">沿用全馆<') == 4
    assert 'badge ok">本馆自定<' not in html
    assert "紧急" in text and not UUID.search(text) and "恢复沿用全馆" not in text

    # bad input beside its field, what was typed kept
    bad = post(browser_client, f"/admin/branch-sla/{branch}/urgent",
               {"urgent.acknowledge_hours": "30", "urgent.resolve_hours": "24"}, page="/admin/branch-sla")
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="urgent-acknowledge_hours-error"' in html and 'value="30"' in html
    wrong = post(browser_client, f"/admin/branch-sla/{branch}/high",
                 {"high.acknowledge_hours": "<script>", "high.resolve_hours": ""}, page="/admin/branch-sla")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and 'id="high-resolve_hours-error"' in html and "<script>" not in html

    ok = post(browser_client, f"/admin/branch-sla/{branch}/urgent",
              {"urgent.acknowledge_hours": "1.5", "urgent.resolve_hours": "12", "urgent.business_hours": "on"},
              page="/admin/branch-sla")
    assert ok.status_code == 302
    urgent = next(t for t in live.call("feedback", "GET", f"/branches/{branch}/sla-policy") if t["severity"] == "urgent")
    assert (urgent["source"], urgent["acknowledge_hours"], urgent["resolve_hours"], urgent["business_hours"]) \
        == ("branch", 1.5, 12.0, True)
    html = browser_client.get("/admin/branch-sla").get_data(as_text=True)
    text = text_of(html)
    assert html.count('badge ok">本馆自定<') == 1 and "全馆标准" in text and "恢复沿用全馆" in text
    english = html_module.unescape(text_of(browser_client.get("/admin/branch-sla?lang=en").get_data(as_text=True)))
    assert "The branch's own" in english and "Use the network's" in english

    back = post(browser_client, f"/admin/branch-sla/{branch}/network", {"severity": "urgent"}, page="/admin/branch-sla")
    assert back.status_code == 302
    assert all(t["source"] == "network" for t in live.call("feedback", "GET", f"/branches/{branch}/sla-policy"))
    # no CSRF token: refused
    assert browser_client.post(f"/admin/branch-sla/{branch}/network", data={"severity": "urgent"}).status_code == 400


def test_another_branch_is_the_404_page_and_the_network_admin_chooses_any(browser_client, live, network):
    other = live.call("directory", "POST", "/branches", json={"code": "S" + uuid.uuid4().hex[:6].upper(),
                                                              "name_zh": "东城分馆", "name_en": "East City"})
    sync_read_models(live, ("feedback",))
    manager_of(browser_client, network)
    assert browser_client.get(f"/admin/branch-sla?branch={other['id']}").status_code == 404
    html = browser_client.get("/admin/branch-sla").get_data(as_text=True)
    assert browser_client.post(f"/admin/branch-sla/{other['id']}/urgent", data={
        "urgent.acknowledge_hours": "1", "urgent.resolve_hours": "2", "csrf_token": csrf_of(html)}).status_code == 404
    assert all(t["source"] == "network" for t in live.call("feedback", "GET", f"/branches/{other['id']}/sla-policy"))

    sign_in_as(browser_client, "network_admin", name="周管理")
    r = browser_client.get(f"/admin/branch-sla?branch={other['id']}")
    text = text_of(r.get_data(as_text=True))
    assert r.status_code == 200 and "东城分馆的投诉处理时限" in text
    ok = post(browser_client, f"/admin/branch-sla/{other['id']}/low",
              {"low.acknowledge_hours": "48", "low.resolve_hours": "240"}, page=f"/admin/branch-sla?branch={other['id']}")
    assert ok.status_code == 302 and other["id"] in ok.headers["Location"]
    low = next(t for t in live.call("feedback", "GET", f"/branches/{other['id']}/sla-policy") if t["severity"] == "low")
    assert low["source"] == "branch" and low["business_hours"] is False
    all_back = post(browser_client, f"/admin/branch-sla/{other['id']}/network", {},
                    page=f"/admin/branch-sla?branch={other['id']}")
    assert all_back.status_code == 302
    assert all(t["source"] == "network" for t in live.call("feedback", "GET", f"/branches/{other['id']}/sla-policy"))


# -- the professional title ----------------------------------------------------------------------------
def test_the_professional_title_on_the_staff_forms(browser_client, live, network):
    sign_in_as(browser_client, "network_admin", name="周管理")
    number = "P-" + uuid.uuid4().hex[:8]
    typed = {"name": "赵研究", "employee_number": number, "branch_id": network["branch"]["id"], "role": "staff",
             "hire_date": "2021-09-01"}
    bad = post(browser_client, "/admin/staff/new", {**typed, "title": "professor"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="title-error"' in html and 'value="赵研究"' in html
    r = post(browser_client, "/admin/staff/new", {**typed, "title": "associate_senior"})
    assert r.status_code == 302
    staff_id = r.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    assert live.call("directory", "GET", f"/staff/{staff_id}")["title"] == "associate_senior"
    html = browser_client.get(f"/admin/staff/{staff_id}").get_data(as_text=True)
    assert "副高级" in text_of(html) and re.search(r'<option value="associate_senior" selected', html)
    assert "Associate senior title" in text_of(browser_client.get(f"/admin/staff/{staff_id}?lang=en").get_data(as_text=True))

    edit = post(browser_client, f"/admin/staff/{staff_id}/edit", {"name": "赵研究", "role": "staff", "status": "active",
                                                                   "title": "senior"}, page=f"/admin/staff/{staff_id}")
    assert edit.status_code == 302 and live.call("directory", "GET", f"/staff/{staff_id}")["title"] == "senior"
    cleared = post(browser_client, f"/admin/staff/{staff_id}/edit", {"name": "赵研究", "role": "staff",
                                                                      "status": "active", "title": ""},
                   page=f"/admin/staff/{staff_id}")
    assert cleared.status_code == 302 and live.call("directory", "GET", f"/staff/{staff_id}")["title"] is None
    assert "未登记" in text_of(browser_client.get(f"/admin/staff/{staff_id}").get_data(as_text=True))


# -- a branch manager's evaluation cycles ------------------------------------------------------------
def test_a_branch_manager_creates_edits_deletes_opens_and_extends_own_cycles(browser_client, live, network):
    from shared.timeutil import local_today
    from tests.integration.portal.test_admin import relay
    relay(live)
    manager_of(browser_client, network)
    branch = network["branch"]["id"]
    year = local_today().year + 1
    r = browser_client.get("/admin/cycles")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "测试分馆的馆员" in text_of(html) and 'name="rater_weights.reader"' not in html

    bad = post(browser_client, "/admin/cycles", {"period": "", "submission_deadline": "next week"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="period-error"' in html and 'id="submission_deadline-error"' in html
    made = post(browser_client, "/admin/cycles", {"period": f"{year}-Q1"})
    assert made.status_code == 302, text_of(made.get_data(as_text=True))[:600]
    cycle_id = made.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    cycle = live.call("evaluation", "GET", f"/cycles/{cycle_id}")
    assert cycle["owner_branch_id"] == branch and cycle["branch_ids"] == [branch]

    page = f"/admin/cycles/{cycle_id}"
    past = post(browser_client, f"{page}/edit", {"period": f"{year}-Q1", "submission_deadline": "2020-01-01T12:00"},
                page=page)
    html = past.get_data(as_text=True)
    assert past.status_code == 422 and 'id="submission_deadline-error"' in html and 'value="2020-01-01T12:00"' in html
    edited = post(browser_client, f"{page}/edit", {"period": f"{year}-Q2"}, page=page)
    assert edited.status_code == 302 and live.call("evaluation", "GET", f"/cycles/{cycle_id}")["period"] == f"{year}-Q2"
    english = html_module.unescape(text_of(browser_client.get(f"{page}?lang=en").get_data(as_text=True)))
    assert "Change the draft" in english and "Delete the draft" in english and not UUID.search(english)

    gone = post(browser_client, f"{page}/delete", {}, page=page)
    assert gone.status_code == 302 and browser_client.get(page).status_code == 404

    # an open cycle: only a later deadline
    made = post(browser_client, "/admin/cycles", {"period": f"{year}-Q3"})
    cycle_id = made.headers["Location"].rstrip("/").rsplit("/", 1)[1]
    page = f"/admin/cycles/{cycle_id}"
    assert post(browser_client, f"{page}/open", {}, page=page).status_code == 302
    cycle = live.call("evaluation", "GET", f"/cycles/{cycle_id}")
    assert cycle["status"] == "open"
    html = browser_client.get(page).get_data(as_text=True)
    assert "延长" in text_of(html) and "修改草稿" not in text_of(html)
    shorter = post(browser_client, f"{page}/extend", {"submission_deadline": f"{year}-07-02T10:00"}, page=page)
    html = shorter.get_data(as_text=True)
    assert shorter.status_code == 422 and 'id="submission_deadline-error"' in html
    later = post(browser_client, f"{page}/extend", {"submission_deadline": f"{year + 1}-01-31T18:00"}, page=page)
    assert later.status_code == 302
    deadline = live.call("evaluation", "GET", f"/cycles/{cycle_id}")["submission_deadline"]
    assert parse_rfc3339(deadline).astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).strftime(
        "%Y-%m-%d %H:%M") == f"{year + 1}-01-31 18:00"


def test_a_branch_manager_only_reads_the_network_offices_cycles(browser_client, live, network):
    from shared.timeutil import local_today
    from tests.integration.portal.test_admin import relay
    relay(live)
    year = local_today().year + 2
    cycle = live.call("evaluation", "POST", "/cycles", json={"period": f"{year}-H1"})
    manager_of(browser_client, network)
    html = browser_client.get(f"/admin/cycles/{cycle['id']}").get_data(as_text=True)
    assert "由总馆负责" in text_of(html) and "修改草稿" not in text_of(html) and "删除草稿" not in text_of(html)
    r = browser_client.post(f"/admin/cycles/{cycle['id']}/delete", data={"csrf_token": csrf_of(
        browser_client.get("/admin/cycles").get_data(as_text=True))})
    assert r.status_code == 404 and live.call("evaluation", "GET", f"/cycles/{cycle['id']}")["status"] == "draft"


# -- incentive policy versions ---------------------------------------------------------------------------
def _document(live) -> str:
    import json
    return json.dumps(live.call("incentive", "GET", "/policy")["document"], indent=2, ensure_ascii=False)


def test_a_policy_version_saved_for_a_later_day_is_listed_and_can_be_withdrawn(browser_client, live):
    from datetime import timedelta
    from shared.timeutil import local_today
    sign_in_as(browser_client, "network_admin", name="周管理")
    text = _document(live)
    before = len(live.call("incentive", "GET", "/policies")["items"])
    today = local_today()
    for bad in (today.isoformat(), "2020-01-01", "tomorrow"):
        r = post(browser_client, "/admin/policy", {"document": text, "note": "下月起", "starts_on": bad})
        html = r.get_data(as_text=True)
        assert r.status_code == 422 and 'id="starts_on-error"' in html and f'value="{bad}"' in html, bad
    assert len(live.call("incentive", "GET", "/policies")["items"]) == before

    start = (today + timedelta(days=3)).isoformat()
    r = post(browser_client, "/admin/policy", {"document": text, "note": "下月起", "starts_on": start})
    assert r.status_code == 302 and "/admin/policy/dry-run" in r.headers["Location"]
    saved = live.call("incentive", "GET", "/policies")["items"]
    version = max(v["version"] for v in saved)
    assert next(v for v in saved if v["version"] == version)["status"] == "scheduled"
    html = browser_client.get("/admin/policy").get_data(as_text=True)
    text_zh = text_of(html)
    assert "待生效" in text_zh and "生效中" in text_zh and "撤回" in text_zh
    english = text_of(browser_client.get("/admin/policy?lang=en").get_data(as_text=True))
    assert "Starts later" in english and "Withdraw" in english
    dry = browser_client.get(r.headers["Location"]).get_data(as_text=True)
    assert re.search(rf'<option value="{version}" selected', dry)

    gone = post(browser_client, f"/admin/policy/{version}/withdraw", {}, page="/admin/policy")
    assert gone.status_code == 302
    assert next(v for v in live.call("incentive", "GET", "/policies")["items"]
                if v["version"] == version)["status"] == "withdrawn"
    again = post(browser_client, f"/admin/policy/{version}/withdraw", {}, page="/admin/policy")
    assert again.status_code == 409 and "不能再撤回" in text_of(again.get_data(as_text=True))


def test_the_dry_run_form_names_bad_fields_and_says_when_the_history_cannot_be_read(browser_client, live):
    sign_in_as(browser_client, "network_admin", name="周管理")
    version = live.call("incentive", "GET", "/policy")["version"]
    r = browser_client.get("/admin/policy/dry-run")
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'hx-indicator="#dry-run-waiting"' in html and "可能需要" in text_of(html)
    bad = post(browser_client, "/admin/policy/dry-run", {"version": str(version), "since": "", "until": "2026-13-01"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="since-error"' in html and 'id="until-error"' in html
    wrong = post(browser_client, "/admin/policy/dry-run", {"version": str(version), "since": "2026-03-10",
                                                            "until": "2026-03-01"})
    assert wrong.status_code == 422 and 'id="until-error"' in wrong.get_data(as_text=True)
    # no Kafka behind these services: the service answers 503, the page says so in words, in place (htmx)
    html_page = browser_client.get("/admin/policy/dry-run").get_data(as_text=True)
    down = browser_client.post("/admin/policy/dry-run", headers={"HX-Request": "true"}, data={
        "version": str(version), "since": "2026-03-01", "until": "2026-03-31", "csrf_token": csrf_of(html_page)})
    html = down.get_data(as_text=True)
    assert down.status_code == 503 and "无法读取" in text_of(html) and "<html" not in html and 'value="2026-03-01"' in html
    english = browser_client.post("/admin/policy/dry-run?lang=en", data={
        "version": str(version), "since": "2026-03-01", "until": "2026-03-31", "csrf_token": csrf_of(html_page)})
    assert english.status_code == 503 and "cannot be read now" in english.get_data(as_text=True)


def test_the_dry_run_figures_side_by_side_per_branch_by_name(portal):
    """The dry run's answer (shaped as incentive's DryRun schema) as the page's rows."""
    from services.portal.views.admin import dry_run_rows

    def decisions(count, amount, level_counts, points, granted):
        return {"awards": {"count": count, "amount": amount, "by_tier": []},
                "pending_awards": {"count": 0, "amount": "0.00"},
                "sanctions": [{"level": lvl, "count": n} for lvl, n in level_counts.items()], "points": points,
                "funds": [{"period": "2026-Q1", "budget": "10000.00", "granted": granted}]}

    answer = {"version": 4, "compared_with": 3, "since": "2026-01-01", "until": "2026-03-31", "events": 1200,
              "branches": [
                  {"branch_id": "b1", "name_zh": "东城分馆", "name_en": "East City",
                   "current": decisions(2, "1000.00", {"verbal_warning": 1}, 30, "1000.00"),
                   "proposed": decisions(3, "1600.00", {"verbal_warning": 1, "written_warning": 1}, 30, "1600.00")},
                  {"branch_id": "b2", "name_zh": "西城分馆", "name_en": "West City",
                   "current": decisions(1, "500.00", {}, 0, "500.00"),
                   "proposed": decisions(1, "500.00", {}, 0, "500.00")}]}
    with portal.test_request_context("/?lang=zh_CN"):
        east, west = dry_run_rows(answer)
        assert east["name"] == "东城分馆" and east["differs"] and not west["differs"]
        lines = {line["text"]: line for line in east["lines"]}
        assert (lines["发放的奖励（项）"]["current"], lines["发放的奖励（项）"]["proposed"]) == (2, 3)
        assert lines["发放金额"]["proposed"] == "¥1,600.00" and lines["发放金额"]["differs"]
        assert not lines["积分"]["differs"]
        assert lines["生效中的处分：书面警告"]["current"] == 0 and lines["生效中的处分：书面警告"]["proposed"] == 1
    with portal.test_request_context("/?lang=en"):
        assert dry_run_rows(answer)[1]["name"] == "West City"
