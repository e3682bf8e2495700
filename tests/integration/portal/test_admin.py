"""The admin area against the real services: what a network administrator (and a branch manager,
for their branch's staff) does on the pages, checked in the services' APIs."""
from __future__ import annotations

import importlib
import io
import json
import re
import uuid
from pathlib import Path

import pytest

from services.portal.views.admin import current_period
from shared import events, outbox
from shared.consumer import ConsumerRunner
from shared.events.envelope import Event
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
DIRECTORY_API = Path(__file__).resolve().parents[3] / "services" / "directory" / "api.py"
# (the evaluation cycles are a branch manager's too since issue 17: their branch's own cycles)
NETWORK_PAGES = ("/admin/branches", "/admin/rubrics", "/admin/courses", "/admin/courses/new",
                 "/admin/requirements", "/admin/funds", "/admin/policy", "/admin/policy/compare", "/admin/sla")


def _has_endpoint(path: str) -> bool:
    return path in DIRECTORY_API.read_text(encoding="utf-8")


needs_accounts = pytest.mark.skipif(
    not (_has_endpoint('"/staff/<staff_id>/invitations"') and _has_endpoint('"/staff/<staff_id>/password-reset"')
         and _has_endpoint('"/staff/<staff_id>/account"')),
    reason="the directory has no POST /staff/{staff_id}/invitations, POST /staff/{staff_id}/password-reset "
           "or GET /staff/{staff_id}/account yet")


def text_of(html: str) -> str:
    """What a person reads: the page without tags and attributes."""
    return re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S))


def relay(live) -> None:
    """What Kafka and the workers would do: give the directory's new events to the services that keep
    a copy of the directory (evaluation, training, incentive)."""
    with live.apps["directory"].extensions["lsq"].db.transaction() as conn:
        pending = outbox.pending(conn, limit=100_000)
        outbox.mark_published(conn, [position for position, _ in pending])
    for target in ("evaluation", "training", "incentive"):
        handlers = importlib.import_module(f"services.{target}.handlers").HANDLERS
        batch = [Event(id=e.id, type=e.type, source=e.source, subject=e.subject, time=e.time,
                       data=events.get(e.type).load(e.data), key=e.key, topic=e.topic)
                 for _, e in pending if e.type in handlers]
        if batch:
            ConsumerRunner(live.apps[target].extensions["lsq"].db, "127.0.0.1:1", f"lsq.{target}",
                           handlers).apply_batch(batch)


def admin(client):
    sign_in_as(client, "network_admin", name="周管理")


def post(client, url: str, data: dict, page: str | None = None, **kwargs):
    """Post a page's form as a browser does: with the CSRF token the page carries."""
    html = client.get(page or url).get_data(as_text=True)
    return client.post(url, data={**data, "csrf_token": csrf_of(html)}, **kwargs)


# -- branches, desks, staff --------------------------------------------------------------------
def test_a_branch_a_desk_and_a_staff_member_made_on_the_pages_are_in_the_directory(browser_client, live):
    admin(browser_client)
    code = "A" + uuid.uuid4().hex[:6].upper()
    r = post(browser_client, "/admin/branches", {"code": code, "name_zh": "东城分馆", "name_en": "East City Branch",
                                                 "address": "东城区图书馆路 1 号", "opened_on": "2021-09-01"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    branch = next(b for b in live.call("directory", "GET", "/branches", params={"page_size": 500})["items"]
                  if b["code"] == code)
    assert branch["name_zh"] == "东城分馆" and branch["opened_on"] == "2021-09-01"
    assert r.headers["Location"].endswith(f"/admin/branches/{branch['id']}")

    page = f"/admin/branches/{branch['id']}"
    r = post(browser_client, page, {"name_zh": "少儿服务台", "name_en": "Children's desk", "kind": "children"})
    assert r.status_code == 302
    desks = live.call("directory", "GET", "/service-points", params={"branch_id": branch["id"]})["items"]
    assert [(d["name_zh"], d["kind"]) for d in desks] == [("少儿服务台", "children")]
    html = browser_client.get(page).get_data(as_text=True)
    assert "少儿服务台" in html and "少儿服务台" in html and "东城分馆" in html and not UUID.search(text_of(html))

    r = post(browser_client, "/admin/staff/new", {"employee_number": f"{code}-001", "name": "陈静", "role": "supervisor",
                                                  "branch_id": branch["id"], "hire_date": "2022-04-18",
                                                  "email": "chenjing@example.cn"})
    assert r.status_code == 302
    staff = live.call("directory", "GET", "/staff", params={"branch_id": branch["id"]})["items"]
    assert [(s["name"], s["role"], s["hire_date"]) for s in staff] == [("陈静", "supervisor", "2022-04-18")]
    detail = browser_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "陈静" in detail and "东城分馆" in detail and "主管" in detail and not UUID.search(text_of(detail))

    listed = browser_client.get(f"/admin/branches?lang=en").get_data(as_text=True)
    assert "East City Branch" in listed and "Open a branch" in listed and not UUID.search(text_of(listed))
    found = browser_client.get("/admin/staff", query_string={"q": "陈", "branch_id": branch["id"]}).get_data(as_text=True)
    assert "陈静" in found and "东城分馆" in found and not UUID.search(text_of(found))


def test_a_duplicate_branch_code_is_named_next_to_the_field(browser_client, network):
    admin(browser_client)
    r = post(browser_client, "/admin/branches", {"code": network["branch"]["code"].lower(), "name_zh": "重复",
                                                 "name_en": "Again"})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="code-error"' in html and "已存在" in html
    assert f'value="{network["branch"]["code"].lower()}"' in html and 'value="重复"' in html


def test_the_staff_form_with_bad_input_names_each_field_and_keeps_what_was_typed(browser_client, network):
    admin(browser_client)
    r = post(browser_client, "/admin/staff/new", {"employee_number": "X" * 40, "name": "", "role": "staff",
                                                  "branch_id": network["branch"]["id"], "hire_date": "2024-13-45",
                                                  "email": "<script>alert(1)</script>"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    for field in ("name", "employee_number", "hire_date"):
        assert f'id="{field}-error"' in html, field
    assert "请填写此项" in html and "最多 32 个字符" in html and "YYYY-MM-DD" in html
    assert 'value="' + "X" * 40 + '"' in html and 'value="2024-13-45"' in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert f'<option value="{network["branch"]["id"]}" selected>' in html

    # what only the directory knows: an e-mail that is not one, a number already taken, SQL as a name
    r = post(browser_client, "/admin/staff/new", {"employee_number": network["staff"]["staff"]["employee_number"],
                                                  "name": "Robert'); DROP TABLE staff;--", "role": "staff",
                                                  "branch_id": network["branch"]["id"], "hire_date": "2024-01-02",
                                                  "email": "<script>alert(1)</script>"}, page="/admin/staff/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and 'id="email-error"' in html and "电子邮件地址无效" in html
    assert "Robert&#39;); DROP TABLE staff;--" in html
    r = post(browser_client, "/admin/staff/new", {"employee_number": network["staff"]["staff"]["employee_number"],
                                                  "name": "重名者", "role": "staff", "branch_id": network["branch"]["id"],
                                                  "hire_date": "2024-01-02"}, page="/admin/staff/new")
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and 'id="employee_number-error"' in html and "已存在" in html and 'value="重名者"' in html

    english = post(browser_client, "/admin/staff/new?lang=en", {"employee_number": "", "name": "", "hire_date": "soon",
                                                                "branch_id": network["branch"]["id"]})
    text = english.get_data(as_text=True)
    assert english.status_code == 422 and "Please fill in this field." in text and "Enter a date as YYYY-MM-DD." in text


def test_staff_are_edited_transferred_and_leave_with_a_reason(browser_client, live, network):
    admin(browser_client)
    other = live.call("directory", "POST", "/branches", json={"code": "M" + uuid.uuid4().hex[:6].upper(),
                                                              "name_zh": "西城分馆", "name_en": "West City"})
    person = network["staff"]["staff"]
    page = f"/admin/staff/{person['id']}"
    r = post(browser_client, f"{page}/edit", {"name": "王芳芳", "email": "", "role": "supervisor", "status": "on_leave"},
             page=page)
    assert r.status_code == 302
    record = live.call("directory", "GET", f"/staff/{person['id']}")
    assert (record["name"], record["role"], record["status"]) == ("王芳芳", "supervisor", "on_leave")

    r = post(browser_client, f"{page}/edit", {"name": "", "email": "", "role": "staff", "status": "active"}, page=page)
    assert r.status_code == 422 and 'id="name-error"' in r.get_data(as_text=True)

    early = post(browser_client, f"{page}/transfer", {"to_branch_id": other["id"], "effective_date": "2001-01-01"}, page=page)
    html = early.get_data(as_text=True)
    assert early.status_code == 422 and 'id="effective_date-error"' in html and "调动日期早于入职日期" in html
    r = post(browser_client, f"{page}/transfer", {"to_branch_id": other["id"], "effective_date": ""}, page=page)
    assert r.status_code == 302
    assert live.call("directory", "GET", f"/staff/{person['id']}")["branch_id"] == other["id"]
    assert "西城分馆" in browser_client.get(page).get_data(as_text=True)

    r = post(browser_client, f"{page}/leave", {"reason": "", "left_on": ""}, page=page)
    assert r.status_code == 422 and 'id="reason-error"' in r.get_data(as_text=True)
    r = post(browser_client, f"{page}/leave", {"reason": "retired", "left_on": ""}, page=page)
    assert r.status_code == 302
    assert live.call("directory", "GET", f"/staff/{person['id']}")["status"] == "left"
    html = browser_client.get(page).get_data(as_text=True)
    assert "已离职" in html and "记录离职" not in html  # no more forms for someone who left


def test_a_csv_import_registers_the_good_rows_and_shows_each_bad_rows_reason(browser_client, live, network):
    admin(browser_client)
    code = network["branch"]["code"]
    roster = ("employee_number,name,role,branch,hire_date,email\n"
              f"{code}-I1,赵敏,staff,{code.lower()},2024-03-01,\n"
              f"{code}-I2,钱坤,staff,{code},2024-02-30,\n"
              f"{code}-I3,孙丽,staff,NOPE,2024-03-01,\n"
              f"{code}-I4,,staff,{code},2024-03-01,\n"
              f"{network['staff']['staff']['employee_number']},周重,staff,{code},2024-03-01,\n")
    html = browser_client.get("/admin/staff/import").get_data(as_text=True)
    r = browser_client.post("/admin/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(html), "roster": (io.BytesIO(roster.encode("utf-8-sig")), "roster.csv")})
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    names = [s["name"] for s in live.call("directory", "GET", "/staff", params={"branch_id": network["branch"]["id"]})["items"]]
    assert "赵敏" in names and "钱坤" not in names and "孙丽" not in names
    assert "5 行中 1 行已登记" in page
    rows = {int(m.group(1)): m.group(2) for m in re.finditer(r'<tr class="admin-bad-row"><td>(\d+)</td>(.*?)</tr>', page, re.S)}
    assert sorted(rows) == [3, 4, 5, 6]
    assert "入职日期" in rows[3] and "日期无效" in rows[3]
    assert "NOPE" in rows[4] and "没有代码为" in rows[4]
    assert "姓名" in rows[5] and "为空" in rows[5]
    assert "工号" in rows[6] and "已存在" in rows[6]
    assert not UUID.search(text_of(page))

    # a file saved by Excel in China (GB 18030), and a file without the columns
    gbk = f"employee_number,name,role,branch,hire_date\n{code}-G1,吴刚,staff,{code},2024-05-06\n".encode("gb18030")
    html = browser_client.get("/admin/staff/import").get_data(as_text=True)
    r = browser_client.post("/admin/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(html), "roster": (io.BytesIO(gbk), "roster.csv")})
    assert r.status_code == 200 and "1 行中 1 行已登记" in r.get_data(as_text=True)
    r = browser_client.post("/admin/staff/import", content_type="multipart/form-data", data={
        "csrf_token": csrf_of(html), "roster": (io.BytesIO(b"a,b\n1,2\n"), "roster.csv")})
    assert r.status_code == 422 and 'id="roster-error"' in r.get_data(as_text=True)


@needs_accounts
def test_invitations_and_password_resets_show_the_full_link_and_the_account_state(browser_client, live, network):
    admin(browser_client)
    person = network["staff"]["staff"]
    page = f"/admin/staff/{person['id']}"
    html = browser_client.get(page).get_data(as_text=True)
    assert "尚未设置密码" in html and "创建邀请" in html
    r = browser_client.post(f"{page}/invitation", data={"csrf_token": csrf_of(html)})
    html = r.get_data(as_text=True)
    link = re.search(r'id="activation-link" class="admin-code" rows="2" readonly>([^<]+)</textarea>', html).group(1)
    assert r.status_code == 201 and link.startswith("http://localhost/activate/")
    token = link.rsplit("/", 1)[1]
    assert browser_client.get(f"/activate/{token}").status_code == 200
    live.call("directory", "POST", "/accounts/activate", headers={},
              json={"token": token, "password": "a-long-secret-2026"})
    html = browser_client.get(page).get_data(as_text=True)
    assert "已设置密码" in html and "创建邀请" not in html and "重置密码" in html

    r = browser_client.post(f"{page}/password-reset", data={"csrf_token": csrf_of(html)})
    html = r.get_data(as_text=True)
    new_link = re.search(r'id="activation-link" class="admin-code" rows="2" readonly>([^<]+)</textarea>', html).group(1)
    assert r.status_code == 201 and new_link != link and new_link.startswith("http://localhost/activate/")
    account = live.call("directory", "GET", f"/staff/{person['id']}/account")
    assert account["has_password"] is False and account["invitation_pending_until"]
    english = browser_client.get(page + "?lang=en").get_data(as_text=True)
    assert "No password yet" in english and "Usable until" in english

    # a branch manager does the same for their own branch's staff, not for another branch's
    manager = network["staff"]["branch_manager"]
    sign_in_as(browser_client, "branch_manager", staff_id=manager["id"], branch_id=network["branch"]["id"], name="张馆长")
    html = browser_client.get(page).get_data(as_text=True)
    r = browser_client.post(f"{page}/password-reset", data={"csrf_token": csrf_of(html)})
    assert r.status_code == 201 and "/activate/" in r.get_data(as_text=True)


# -- evaluation cycles ---------------------------------------------------------------------------
def test_a_cycle_is_created_and_opened_on_the_pages(browser_client, live, network):
    relay(live)
    admin(browser_client)
    bad = post(browser_client, "/admin/cycles", {"period": "spring", "scope": "network"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="period-error"' in html and 'value="spring"' in html
    weights = post(browser_client, "/admin/cycles", {"period": current_period(), "scope": "branches",
                                                     "branch_ids": network["branch"]["id"],
                                                     "rater_weights.reader": "0.5", "rater_weights.supervisor": "0.5",
                                                     "rater_weights.peer": "0.5", "rater_weights.self": "0"})
    assert weights.status_code == 422 and "权重之和必须为 1" in weights.get_data(as_text=True)

    r = post(browser_client, "/admin/cycles", {"period": current_period(), "scope": "branches",
                                               "branch_ids": network["branch"]["id"], "submission_deadline": ""})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    cycle_id = r.headers["Location"].rsplit("/", 1)[1]
    cycle = live.call("evaluation", "GET", f"/cycles/{cycle_id}")
    assert cycle["status"] == "draft" and cycle["branch_ids"] == [network["branch"]["id"]]
    page = browser_client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True)
    assert "测试分馆" in page, text_of(page)
    assert "草稿" in page and "开放评价" in page and not UUID.search(text_of(page))

    r = browser_client.post(f"/admin/cycles/{cycle_id}/open", data={"csrf_token": csrf_of(page)})
    assert r.status_code == 302
    cycle = live.call("evaluation", "GET", f"/cycles/{cycle_id}")
    assert cycle["status"] == "open" and cycle["participants"] == 3
    page = browser_client.get(f"/admin/cycles/{cycle_id}").get_data(as_text=True)
    assert "关闭评价并计分" in page and "3 人可参加评价" in page
    # the same step twice: the API's rule, said in words
    again = browser_client.post(f"/admin/cycles/{cycle_id}/open", data={"csrf_token": csrf_of(page)})
    assert again.status_code == 409 and "刷新页面" in again.get_data(as_text=True)
    listed = browser_client.get("/admin/cycles").get_data(as_text=True)
    assert current_period() in listed and "测试分馆" in listed and not UUID.search(text_of(listed))
    rubric = browser_client.get("/admin/rubrics").get_data(as_text=True)
    assert "服务态度" in rubric and "30 %" in rubric


# -- training --------------------------------------------------------------------------------------
def test_courses_are_added_changed_and_the_regulation_course_gets_a_new_version(browser_client, live):
    admin(browser_client)
    code = "T" + uuid.uuid4().hex[:5].upper()
    bad = post(browser_client, "/admin/courses/new", {"code": code, "title_zh": "", "title_en": "Reference",
                                                      "competency_area": "information_retrieval", "hours": "many",
                                                      "delivery": "online"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="title_zh-error"' in html and 'id="hours-error"' in html and 'value="many"' in html
    r = post(browser_client, "/admin/courses/new", {"code": code, "title_zh": "参考咨询进阶", "title_en": "Advanced reference",
                                                    "competency_area": "information_retrieval", "hours": "6",
                                                    "delivery": "online", "pass_mark": "60", "mandatory": "on"},
             page="/admin/courses/new")
    assert r.status_code == 302
    course_id = r.headers["Location"].rsplit("/", 1)[1]
    course = live.call("training", "GET", f"/courses/{course_id}")
    assert (course["title_zh"], course["hours"], course["mandatory"], course["pass_mark"]) == ("参考咨询进阶", 6.0, True, 60.0)

    page = f"/admin/courses/{course_id}"
    r = post(browser_client, page, {"title_zh": "参考咨询进阶（二）", "title_en": "Advanced reference II",
                                    "competency_area": "information_retrieval", "hours": "8", "delivery": "in_person",
                                    "pass_mark": "", "active": "on"})
    assert r.status_code == 302
    course = live.call("training", "GET", f"/courses/{course_id}")
    assert (course["title_zh"], course["hours"], course["mandatory"], course["pass_mark"]) == (
        "参考咨询进阶（二）", 8.0, False, None)

    regulation = next(c for c in live.call("training", "GET", "/courses", params={"page_size": 500})["items"]
                      if c["is_regulation"])
    page = f"/admin/courses/{regulation['id']}"
    html = browser_client.get(page).get_data(as_text=True)
    assert "规章制度培训" in html or "发布新版本" in html
    r = browser_client.post(f"{page}/versions", data={"csrf_token": csrf_of(html), "notes": "2026 年修订",
                                                      "due_in_days": "abc"})
    assert r.status_code == 422 and 'id="due_in_days-error"' in r.get_data(as_text=True)
    r = browser_client.post(f"{page}/versions", data={"csrf_token": csrf_of(html), "notes": "2026 年修订",
                                                      "due_in_days": "30"})
    assert r.status_code == 302
    assert live.call("training", "GET", f"/courses/{regulation['id']}")["version"] == regulation["version"] + 1
    listed = browser_client.get("/admin/courses?active=all").get_data(as_text=True)
    assert "参考咨询进阶（二）" in listed and "信息检索" in listed and not UUID.search(text_of(listed))


def test_requirements_are_listed_with_names_and_waived_with_a_reason(browser_client, live, network):
    relay(live)  # staff joined → onboarding requirements in the training service
    admin(browser_client)
    url = f"/admin/requirements?branch_id={network['branch']['id']}&status=open"
    html = browser_client.get(url).get_data(as_text=True)
    assert "王芳" in html and "测试分馆" in html and "入职培训" in html and not UUID.search(text_of(html))
    requirement = live.call("training", "GET", "/requirements", params={"branch_id": network["branch"]["id"],
                                                                        "status": "open"})["items"][0]
    r = browser_client.post(f"/admin/requirements/{requirement['id']}/waive",
                            data={"csrf_token": csrf_of(html), "reason": "", "back": url})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and f'id="reason-{requirement["id"]}-error"' in page
    r = browser_client.post(f"/admin/requirements/{requirement['id']}/waive",
                            data={"csrf_token": csrf_of(html), "reason": "长期病假", "back": url})
    assert r.status_code == 302 and r.headers["Location"].endswith(url)
    waived = live.call("training", "GET", "/requirements", params={"branch_id": network["branch"]["id"],
                                                                   "status": "waived"})["items"]
    assert [w["id"] for w in waived] == [requirement["id"]]
    fragment = browser_client.get(url, headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in fragment and "王芳" in fragment


# -- funds -----------------------------------------------------------------------------------------
def test_a_budget_is_set_on_the_funds_page(browser_client, live, network):
    relay(live)
    admin(browser_client)
    branch = network["branch"]["id"]
    page = "/admin/funds?period=2026-Q4"
    html = browser_client.get(page).get_data(as_text=True)
    assert "测试分馆" in html and not UUID.search(text_of(html))
    bad = browser_client.post("/admin/funds", data={"csrf_token": csrf_of(html), "branch_id": branch,
                                                    "period": "2026-Q4", "budget": "-5"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and f'id="budget-{branch}-error"' in text and 'value="-5"' in text
    r = browser_client.post("/admin/funds", data={"csrf_token": csrf_of(html), "branch_id": branch,
                                                  "period": "2026-Q4", "budget": "5000"})
    assert r.status_code == 302
    fund = live.call("incentive", "GET", "/funds", params={"branch_id": branch, "period": "2026-Q4"})["items"][0]
    assert (fund["budget"], fund["reserved"], fund["granted"], fund["available"]) == (
        "5000.00", "0.00", "0.00", "5000.00")
    html = browser_client.get(r.headers["Location"]).get_data(as_text=True)
    assert "¥5,000.00" in html and "测试分馆" in html


# -- the incentive policy ----------------------------------------------------------------------------
def _current_document(live) -> dict:
    return live.call("incentive", "GET", "/policy")["document"]


def test_a_policy_with_an_error_shows_the_apis_message_for_that_rule_and_keeps_the_text(browser_client, live):
    admin(browser_client)
    document = _current_document(live)
    document["rules"][1]["when"] = {"mood": ["happy"]}
    text = json.dumps(document, indent=2, ensure_ascii=False)
    before = len(live.call("incentive", "GET", "/policies")["items"])
    r = post(browser_client, "/admin/policy", {"document": text, "note": "试一下"})
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    assert "rules[1].when.mood" in html and "没有字段 mood" in html
    assert document["rules"][1]["id"] in text_of(html)  # the rule named by its id
    assert "&#34;mood&#34;: [" in html and 'value="试一下"' in html  # the text is kept as typed
    assert len(live.call("incentive", "GET", "/policies")["items"]) == before

    broken = post(browser_client, "/admin/policy", {"document": '{"fund": {', "note": ""})
    assert broken.status_code == 422 and "不是有效的 JSON" in broken.get_data(as_text=True)
    english = post(browser_client, "/admin/policy?lang=en", {"document": text, "note": ""})
    assert english.status_code == 422 and "has no field mood" in english.get_data(as_text=True)


def test_a_valid_policy_edit_makes_a_new_version_and_the_comparison_shows_both(browser_client, live):
    admin(browser_client)
    document = _current_document(live)
    old_version = live.call("incentive", "GET", "/policy")["version"]
    award = next(rule for rule in document["rules"] if "award" in rule)
    old_amount = award["award"]["amount"]
    award["award"]["amount"] = "2345.00"
    r = post(browser_client, "/admin/policy", {"document": json.dumps(document, indent=2, ensure_ascii=False),
                                               "note": "提高优秀奖金额"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    current = live.call("incentive", "GET", "/policy")
    assert current["version"] == old_version + 1 and current["note"] == "提高优秀奖金额"
    page = browser_client.get(r.headers["Location"])
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f"版本 {old_version}" in html and f"版本 {current['version']}" in html and "提高优秀奖金额" in html
    changed = re.findall(r'<tr class="changed">(.*?)</tr>', html, re.S)
    assert any(old_amount in row and "2345.00" in row for row in changed)
    assert 'class="same"' in html
    policy = browser_client.get("/admin/policy").get_data(as_text=True)
    assert f"当前生效：第 {current['version']} 版" in policy and "周管理" in policy


# -- complaint time limits ---------------------------------------------------------------------------
def test_sla_targets_are_edited_with_errors_next_to_the_fields(browser_client, live):
    admin(browser_client)
    targets = {t["severity"]: t for t in live.call("feedback", "GET", "/sla-policy")}
    order = ("urgent", "high", "normal", "low")
    data = {}
    for index, severity in enumerate(order):
        data[f"{index}.acknowledge_hours"] = str(targets[severity]["acknowledge_hours"])
        data[f"{index}.resolve_hours"] = str(targets[severity]["resolve_hours"])
    bad = post(browser_client, "/admin/sla", {**data, "0.acknowledge_hours": "30", "0.resolve_hours": "24"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422 and 'id="0-acknowledge_hours-error"' in html and "受理时限不能长于解决时限" in html
    assert 'value="30"' in html
    wrong = post(browser_client, "/admin/sla", {**data, "1.resolve_hours": "three days"})
    assert wrong.status_code == 422 and 'id="1-resolve_hours-error"' in wrong.get_data(as_text=True)

    r = post(browser_client, "/admin/sla", {**data, "0.acknowledge_hours": "1.5", "0.resolve_hours": "12",
                                            "0.business_hours": "on"})
    assert r.status_code == 302
    urgent = next(t for t in live.call("feedback", "GET", "/sla-policy") if t["severity"] == "urgent")
    assert (urgent["acknowledge_hours"], urgent["resolve_hours"], urgent["business_hours"]) == (1.5, 12.0, True)
    html = browser_client.get("/admin/sla").get_data(as_text=True)
    assert 'value="1.5"' in html and "紧急" in html


# -- access, CSRF, languages -------------------------------------------------------------------------
def test_a_branch_manager_gets_404_for_network_pages_and_sees_only_their_staff(browser_client, live, network):
    manager = network["staff"]["branch_manager"]
    other = live.call("directory", "POST", "/branches", json={"code": "O" + uuid.uuid4().hex[:6].upper(),
                                                              "name_zh": "南城分馆", "name_en": "South City"})
    outsider = live.call("directory", "POST", "/staff", json={"employee_number": f"O-{uuid.uuid4().hex[:8]}",
                                                              "name": "外馆员工", "role": "staff", "branch_id": other["id"],
                                                              "hire_date": "2021-01-01"})
    sign_in_as(browser_client, "branch_manager", staff_id=manager["id"], branch_id=network["branch"]["id"], name="张馆长")
    missing = browser_client.get("/admin/no-such-page").get_data(as_text=True)
    for url in NETWORK_PAGES + (f"/admin/branches/{other['id']}", f"/admin/staff/{outsider['id']}"):
        r = browser_client.get(url)
        assert r.status_code == 404 and "页面不存在" in r.get_data(as_text=True), url
    assert text_of(browser_client.get("/admin/sla").get_data(as_text=True)) == text_of(missing)
    listed = browser_client.get(f"/admin/staff?branch_id={other['id']}").get_data(as_text=True)
    assert "王芳" in listed and "外馆员工" not in listed and "测试分馆的员工" in listed
    own = browser_client.get(f"/admin/branches/{network['branch']['id']}")
    assert own.status_code == 200 and "总服务台" in own.get_data(as_text=True)
    home = browser_client.get("/admin").get_data(as_text=True)
    assert "本馆员工" in home and "激励策略" not in home
    # a branch manager may not give a network-wide role: the directory says no, the page says why
    r = post(browser_client, "/admin/staff/new", {"employee_number": f"BM-{uuid.uuid4().hex[:6]}", "name": "新人",
                                                  "role": "network_admin", "hire_date": "2024-01-02"})
    assert r.status_code == 403 and 'value="新人"' in r.get_data(as_text=True)
    r = post(browser_client, "/admin/staff/new", {"employee_number": f"BM-{uuid.uuid4().hex[:6]}", "name": "新同事",
                                                  "role": "staff", "hire_date": "2024-01-02",
                                                  "branch_id": other["id"]})
    assert r.status_code == 302  # always in the manager's own branch, whatever was posted
    assert any(s["name"] == "新同事" for s in live.call("directory", "GET", "/staff",
                                                        params={"branch_id": network["branch"]["id"]})["items"])


def test_forms_without_a_csrf_token_get_400(browser_client, network):
    admin(browser_client)
    person = network["staff"]["staff"]["id"]
    for url, data in (("/admin/branches", {"code": "NOCSRF", "name_zh": "甲", "name_en": "A"}),
                      ("/admin/staff/new", {"name": "甲"}), (f"/admin/staff/{person}/leave", {"reason": "other"}),
                      (f"/admin/staff/{person}/password-reset", {}), ("/admin/funds", {"budget": "1"}),
                      ("/admin/policy", {"document": "{}"}), ("/admin/sla", {}), ("/admin/cycles", {"period": "2026"})):
        r = browser_client.post(url, data=data)
        assert r.status_code == 400 and "表单已过期" in r.get_data(as_text=True), url


def test_signed_out_visitors_are_sent_to_sign_in_and_staff_get_404(browser_client, network):
    r = browser_client.get("/admin/staff")
    assert r.status_code == 302 and "/sign-in" in r.headers["Location"]
    sign_in_as(browser_client, "staff", staff_id=network["staff"]["staff"]["id"], branch_id=network["branch"]["id"])
    assert browser_client.get("/admin").status_code == 404
    assert browser_client.get("/admin/staff").status_code == 404


def test_every_admin_page_reads_in_both_languages_without_ids(browser_client, live, network):
    admin(browser_client)
    pages = ("/admin", "/admin/branches", f"/admin/branches/{network['branch']['id']}", "/admin/staff",
             f"/admin/staff/{network['staff']['supervisor']['id']}", "/admin/staff/new", "/admin/staff/import",
             "/admin/cycles", "/admin/rubrics", "/admin/courses", "/admin/courses/new", "/admin/requirements",
             "/admin/funds", "/admin/policy", "/admin/policy/compare", "/admin/sla")
    for url in pages:
        zh = browser_client.get(url)
        en = browser_client.get(url, query_string={"lang": "en"})
        assert zh.status_code == 200 and en.status_code == 200, url
        zh_text, en_text = text_of(zh.get_data(as_text=True)), text_of(en.get_data(as_text=True))
        assert not UUID.search(zh_text) and not UUID.search(en_text), url
        assert "管理" in zh_text and "Administration" in en_text, url
        assert "Administration" not in zh_text, url


def test_filtering_in_place_keeps_the_language_switch_on_the_filtered_address(browser_client, network):
    sign_in_as(browser_client, "network_admin", name="总馆管理员")
    r = browser_client.get("/admin/staff?role=supervisor", headers={"HX-Request": "true"})
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and 'id="language-link"' in html and 'hx-swap-oob="true"' in html
    assert "role%3Dsupervisor" in html
    full = browser_client.get("/admin/staff?role=supervisor").get_data(as_text=True)
    assert full.count('id="language-link"') == 1
