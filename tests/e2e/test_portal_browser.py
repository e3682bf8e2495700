"""The portal in a real browser against the whole system as processes (Kafka, every service's web
and worker, the portal), the way its people use it:

1. the network office sets up a branch, a desk and three people with accounts (through the APIs);
2. a reader on a phone opens the desk's page (as from its QR code), makes a complaint about a
   staff member and follows it with the tracking code;
3. the complaint is made "at risk" (its data moved, see ``make_at_risk``);
4. the supervisor finds it in the queue with the "at risk" filter and resolves it substantiated;
5. the incentive service issues the sanction (through Kafka); the staff member sees it on
   ``/me/standing`` and appeals it;
6. the branch manager overturns it on ``/team/approvals``; the incentive API confirms it.

On each page the header's language link switches to English, and the page must then read in
English only: no CJK character is left once the data this test wrote in Chinese (names, the
complaint, the appeal and the notes) is taken out. Every request of every browser context must
go to the portal's own origin. Screenshots of the main pages (Chinese) go to ``LSQ_SCREENSHOTS``
(``LSQ_SCREENSHOTS=docs/screenshots`` refreshes the documentation's), else to a temporary folder.

Chromium is Debian's (``/usr/bin/chromium``, never ``playwright install``). Every wait is bounded:
Playwright's own waits by the context's timeouts, the asynchronous steps by ``eventually``.
"""
from __future__ import annotations

import functools

import os
import re
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from tests import helpers
from tests.helpers import auth

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ADMIN = auth("network_admin")
DEADLINE = 60.0              # seconds any asynchronous step may take
PAGE_TIMEOUT_MS = 30_000     # any one wait of the browser (a navigation, an element, an htmx swap)
PASSWORD = "Lsq-browser-2026"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}

#: Characters of Chinese (and Japanese/Korean) text: ideographs, CJK punctuation, full-width forms.
CJK = re.compile("[\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
                 "\uf900-\ufaff\ufe30-\ufe4f\uff00-\uffef]")

# What this test writes in Chinese: it stays Chinese on an English page, and is taken out before
# looking for Chinese the page itself left.
NAMES = {"staff": "周雨桐", "supervisor": "郑海峰", "manager": "何丽娟"}
DESCRIPTION = "今天下午在借还服务台办理续借时，馆员语气生硬，不耐烦地打断我的询问，还让我自己去查。"
ACK_NOTE = "已联系读者，正在调取服务台监控。"
RESPONSE = "经核实投诉属实，已对当事馆员进行批评教育，并向您致歉。"
APPEAL = "当天排队读者很多，我并非有意打断读者，请求复核。"
DECISION_NOTE = "经查看监控，馆员当时在处理紧急事务，撤销该处分。"
WRITTEN = tuple(NAMES.values()) + (DESCRIPTION, ACK_NOTE, RESPONSE, APPEAL, DECISION_NOTE)

#: The sanction a first substantiated complaint of *high* severity brings under the default policy
#: (rule complaint-substantiated: the next step of the ladder, one step higher for high and urgent
#: complaints): a written warning, not the verbal warning of a normal one.
EXPECTED_LEVEL, EXPECTED_LEVEL_ZH, EXPECTED_LEVEL_EN = "written_warning", "书面警告", "Written warning"

#: What the steps hand on to the next ones (the tests run in file order; a later one is skipped
#: when an earlier one did not get this far).
FLOW: dict = {}
#: page → the lines of Chinese left on it after switching to English (all pages, for the report).
CHINESE_LEFT: dict[str, list[str]] = {}


# -- helpers ---------------------------------------------------------------------------------------
eventually = functools.partial(helpers.eventually, timeout=DEADLINE, interval=0.3)
call = helpers.call


def step(name: str):
    """What an earlier test handed on, or skip: that test failed before getting there."""
    if name not in FLOW:
        pytest.skip(f"an earlier step of the flow did not get as far as {name!r}")
    return FLOW[name]


class Visitor:
    """One person's browser: a fresh context (phone or desktop, Chinese first) recording every URL
    it requests."""

    def __init__(self, browser, origin: str, phone: bool = False):
        self.origin = origin
        self.requested: list[str] = []
        self.context = browser.new_context(**(PHONE if phone else DESKTOP), locale="zh-CN",
                                           timezone_id="Asia/Shanghai")
        self.context.set_default_timeout(PAGE_TIMEOUT_MS)
        self.context.set_default_navigation_timeout(PAGE_TIMEOUT_MS)
        self.context.on("request", lambda request: self.requested.append(request.url))
        self.page = self.context.new_page()

    def go(self, path: str):
        response = self.page.goto(self.origin + path)
        assert response is not None and response.ok, f"GET {path} → {response and response.status}"
        return response

    def elsewhere(self) -> list[str]:
        """Requested URLs not on the portal's own origin."""
        own = urlsplit(self.origin)
        return [u for u in self.requested if (urlsplit(u).scheme, urlsplit(u).netloc) != (own.scheme, own.netloc)]

    def sign_in(self, employee_number: str) -> None:
        self.go("/sign-in")
        page = self.page
        page.get_by_label("工号").fill(employee_number)
        page.get_by_label("密码").fill(PASSWORD)
        with page.expect_navigation():
            page.get_by_role("button", name="登录").click()
        assert "/sign-in" not in page.url, page.locator("main").inner_text()

    def close(self) -> None:
        self.context.close()


def left_in_english(page) -> list[str]:
    """Lines of the visible page (and its title) with Chinese, once the switch back to Chinese and
    what this test wrote are taken out."""
    text = page.locator("body").inner_text()
    switch = page.locator("header.site a.lang").inner_text().strip()
    assert switch == "中文", f"the language link of an English page reads {switch!r}"
    text = text.replace(switch, "", 1)  # the way back to Chinese is named in Chinese, on purpose
    text += "\n" + page.title()
    for written in sorted(WRITTEN, key=len, reverse=True):
        text = text.replace(written, "")
    return [line.strip() for line in text.splitlines() if CJK.search(line)]


def check_english(visitor: Visitor, where: str, shoot: Path | None = None) -> str:
    """Switch the page to English with the header's link, note any Chinese left on it, switch back
    to Chinese; returns the English page's text."""
    page = visitor.page
    switch = page.locator("header.site a.lang")
    assert switch.inner_text().strip() == "English"
    switch.click()
    page.wait_for_function("document.documentElement.lang === 'en'")
    page.wait_for_load_state("load")
    text = page.locator("body").inner_text()
    left = left_in_english(page)
    if left:
        CHINESE_LEFT[where] = left
    if shoot is not None:
        page.screenshot(path=str(shoot), full_page=page.viewport_size["width"] >= 600)
    page.locator("header.site a.lang").click()
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    page.wait_for_load_state("load")
    return text


def screenshot(visitor: Visitor, folder: Path, name: str) -> None:
    """The page as it is now; a phone's screen as the reader sees it, a desktop page in full."""
    page = visitor.page
    phone = page.viewport_size["width"] < 600
    page.screenshot(path=str(folder / name), full_page=not phone)


def finish(visitor: Visitor, where: str) -> None:
    """Close the person's browser and check what it asked for and what was left in Chinese."""
    foreign = visitor.elsewhere()
    visitor.close()
    assert not foreign, f"{where}: requests outside the portal's origin {visitor.origin}: {foreign}"
    left = {page: lines for page, lines in CHINESE_LEFT.items() if page.startswith(where)}
    assert not left, f"Chinese left on English pages: {left}"


# -- fixtures --------------------------------------------------------------------------------------
def browser_missing() -> str | None:
    """Why the browser cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return (f"{CHROMIUM} is missing: the portal's browser test needs Debian's chromium "
                "(apt-get install chromium fonts-wqy-microhei)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (.venv/bin/pip install -e '.[dev]')"
    return None


# Without a browser: skipped here, before the system is started for nothing; in CI a failure
# (the ``browser`` fixture), as CI installs chromium and must not pass without this test.
if browser_missing() and not os.environ.get("CI"):
    pytest.skip(browser_missing(), allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium through the PyPI playwright package."""
    if reason := browser_missing():
        pytest.fail(reason)
    from playwright.sync_api import expect, sync_playwright
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture(scope="module")
def shots(tmp_path_factory) -> Path:
    """Where the screenshots go: ``LSQ_SCREENSHOTS`` if set, else a temporary folder."""
    folder = Path(os.environ["LSQ_SCREENSHOTS"]) if os.environ.get("LSQ_SCREENSHOTS") else \
        tmp_path_factory.mktemp("portal-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def feedback_db(system):
    """The feedback service's own SQLite file, for what a test cannot do through an API."""
    from shared.db import Database
    path = Path(system.var) / "data" / "feedback.db"
    assert path.exists(), f"no feedback database at {path}"
    db = Database(f"sqlite:///{path}", "feedback")
    yield db
    db.dispose()


@pytest.fixture(scope="module")
def portal_net(system, feedback_db):
    """A branch with a desk and three people with accounts, known to the services that need them."""
    from sqlalchemy import select

    from shared.directory_view import known_service_points, known_staff

    d = system.url("directory")
    tag = uuid.uuid4().hex[:6].upper()
    branch = call("POST", d + "/branches", headers=ADMIN, json={
        "code": f"WEB{tag}", "name_zh": "南湖分馆", "name_en": "South Lake Branch"})
    desk = call("POST", d + "/service-points", headers=ADMIN, json={
        "branch_id": branch["id"], "name_zh": "借还服务台", "name_en": "Circulation desk", "kind": "circulation"})
    people = {}
    for key, role in (("staff", "staff"), ("supervisor", "supervisor"), ("manager", "branch_manager")):
        number = f"W{tag}-{key[:3].upper()}"
        person = call("POST", d + "/staff", headers=ADMIN, json={
            "employee_number": number, "name": NAMES[key], "role": role, "branch_id": branch["id"],
            "hire_date": "2024-03-01"})
        invitation = call("POST", d + f"/staff/{person['id']}/invitations", headers=ADMIN, expect=201)

        def activate(token=invitation["token"]):
            # activations are limited per client (10 a minute): other tests may have used some
            r = requests.post(d + "/accounts/activate", json={"token": token, "password": PASSWORD}, timeout=10)
            if r.status_code == 429:
                return None
            if r.status_code != 200:
                pytest.fail(f"activation refused: {r.status_code} {r.text[:300]}")
            return r.json()

        activated = eventually(activate, f"the {key}'s account is activated")
        assert activated["staff_id"] == person["id"]
        people[key] = {"id": person["id"], "number": number}
    net = {"branch": branch["id"], "desk": desk["id"], **people}

    # The other services learn of them from the directory's events (through Kafka).
    b = branch["id"]
    eventually(lambda: requests.get(system.url("feedback", f"/branches/{b}/opening-hours"), headers=ADMIN,
                                    timeout=5).status_code == 200, "feedback knows the branch")

    def feedback_knows(column, value) -> bool:
        with feedback_db.read() as conn:
            return conn.execute(select(column).where(column == value)).first() is not None

    # feedback has no API naming the desks and staff it knows (a complaint naming one it does not
    # know yet is refused): its read model tells
    eventually(lambda: feedback_knows(known_service_points.c.service_point_id, desk["id"]), "feedback knows the desk")
    eventually(lambda: feedback_knows(known_staff.c.staff_id, people["staff"]["id"]), "feedback knows the staff member")
    for key in ("staff", "manager"):
        sid = people[key]["id"]
        eventually(lambda: requests.get(system.url("incentive", f"/staff/{sid}/standing"), headers=ADMIN,
                                        timeout=5).status_code == 200, f"incentive knows the {key}")
    return net


# -- the flow --------------------------------------------------------------------------------------
def test_a_reader_makes_a_complaint_on_a_phone_and_tracks_it(system, browser, portal_net, shots):
    net = portal_net
    reader = Visitor(browser, system.url("portal"), phone=True)
    page = reader.page
    from playwright.sync_api import expect

    # From the desk's QR code.
    reader.go(f"/desk/{net['desk']}")
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator("h1")).to_have_text("借还服务台")
    expect(page.locator(".desk-head .eyebrow")).to_have_text("南湖分馆")
    screenshot(reader, shots, "reader-desk-zh.png")
    english = check_english(reader, "reader: desk page", shoot=shots / "reader-desk-en.png")
    assert "Circulation desk" in english and "South Lake Branch" in english

    page.locator("nav.reader-tabs").get_by_role("link", name="我要投诉").click()
    page.wait_for_url(f"**/desk/{net['desk']}/complaint")
    check_english(reader, "reader: complaint form")

    page.get_by_label("投诉类别").select_option(label="服务态度")
    page.get_by_label("严重程度").select_option(label="高")
    page.get_by_label("发生了什么").fill(DESCRIPTION)
    page.get_by_label("是否涉及某位馆员").select_option(label=NAMES["staff"])

    def filed():
        with page.expect_navigation():
            page.get_by_role("button", name="提交投诉").click()
        if page.url.endswith("/complaint/filed"):
            return True
        # too many complaints from this address in a minute (other tests file some): send again
        error = page.locator("main").inner_text()
        if "提交过于频繁" not in error:
            pytest.fail(f"the complaint was refused: {error}")
        return False

    eventually(filed, "the complaint is accepted", interval=3)
    code = page.locator(".tracking-code").inner_text().strip()
    assert re.fullmatch(r"[A-Z0-9]{4}(-[A-Z0-9]{4})+", code), code
    expect(page.locator("h1")).to_have_text("您的投诉已提交")
    screenshot(reader, shots, "reader-complaint-filed-zh.png")
    english = check_english(reader, "reader: complaint received")
    assert code in english

    # Later, with the code.
    reader.go("/track")
    check_english(reader, "reader: tracking form")
    page.get_by_label("跟踪码").fill(code.lower().replace("-", ""))  # as a reader may type it
    with page.expect_navigation():
        page.get_by_role("button", name="查询").click()
    page.wait_for_url("**/track/complaint")
    expect(page.locator(".status-line .badge")).to_have_text("新投诉")
    expect(page.locator("main")).to_contain_text("服务态度")
    english = check_english(reader, "reader: tracked complaint")
    assert "New" in english and "Service attitude" in english

    tracked = call("GET", system.url("feedback", f"/complaints/track/{code}"))
    assert (tracked["status"], tracked["category"], tracked["severity"]) == ("new", "attitude", "high")
    FLOW["complaint"] = tracked["id"]
    finish(reader, "reader")


def make_at_risk(feedback_db, complaint_id: str) -> None:
    """Move the complaint's at-risk moment (80 % of its 8 hours to acknowledge) to a minute ago.

    The feedback web and worker processes run on the real clock, and a process's clock cannot be
    set from a test: so, as the other tests of time limits do, the data is moved instead, to what
    the SLA sweep would find 6 h 24 min after filing."""
    from sqlalchemy import update

    from services.feedback import store
    from shared.timeutil import utcnow
    with feedback_db.transaction() as conn:
        changed = conn.execute(update(store.complaints).where(store.complaints.c.id == complaint_id)
                               .values(acknowledge_at_risk_at=utcnow() - timedelta(minutes=1))).rowcount
    assert changed == 1


def test_the_supervisor_resolves_the_complaint_at_risk_substantiated(system, browser, portal_net, shots, feedback_db):
    net = portal_net
    complaint_id = step("complaint")
    make_at_risk(feedback_db, complaint_id)
    eventually(lambda: complaint_id in {c["id"] for c in call(
        "GET", system.url("feedback", "/complaints"), headers=ADMIN,
        params={"branch_id": net["branch"], "at_risk": "true"})["items"]}, "the feedback API finds it at risk")

    from playwright.sync_api import expect
    supervisor = Visitor(browser, system.url("portal"))
    page = supervisor.page
    supervisor.sign_in(net["supervisor"]["number"])
    expect(page.locator("header.site .who")).to_contain_text(NAMES["supervisor"])

    page.locator("header.site nav").get_by_role("link", name="投诉", exact=True).click()
    page.wait_for_url("**/complaints")
    page.get_by_label("有超时风险的").check()  # htmx swaps the table and keeps the filter in the URL
    page.wait_for_url("**/complaints?*at_risk=1*")
    # ... and the language switch of the header (out of band), so that it comes back to this view
    expect(page.locator("header.site a.lang")).to_have_attribute("href", re.compile(r"next=[^&]*at_risk"))
    row = page.locator("#queue-table tbody tr", has=page.locator(f"a[href='/complaints/{complaint_id}']"))
    expect(row).to_have_count(1)
    expect(page.locator("#queue-table tbody tr")).to_have_count(1)
    expect(row).to_contain_text("服务态度")
    expect(row).to_contain_text(NAMES["staff"])
    expect(row.locator(".badge.warn")).to_contain_text("有风险")
    screenshot(supervisor, shots, "manage-queue-zh.png")
    english = check_english(supervisor, "supervisor: queue (at risk)")
    assert "At risk" in english and "Service attitude" in english
    expect(page.get_by_label("有超时风险的")).to_be_checked()  # still filtered after the round trip

    row.get_by_role("link", name="服务态度").click()
    page.wait_for_url(f"**/complaints/{complaint_id}")
    body = page.locator("#complaint")
    expect(body.locator(".summary .badge").first).to_have_text("新投诉")
    expect(body).to_contain_text(DESCRIPTION)
    expect(body.locator(".summary")).to_contain_text("有风险")
    screenshot(supervisor, shots, "manage-complaint-zh.png")
    check_english(supervisor, "supervisor: complaint (new)")

    acknowledge = page.locator("#action-acknowledge")
    acknowledge.get_by_label("处理人").select_option(label=NAMES["supervisor"])
    acknowledge.get_by_label("备注").fill(ACK_NOTE)
    acknowledge.get_by_role("button", name="受理投诉").click()
    expect(page.locator("#complaint .flash.ok")).to_have_text("投诉已受理。")
    expect(page.locator("#complaint .summary .badge").first).to_have_text("已受理")

    resolve = page.locator("#action-resolve")
    resolve.get_by_label("处理结果").select_option(label="属实")
    resolve.get_by_label("处理说明").fill(RESPONSE)
    resolve.get_by_role("button", name="办结投诉").click()
    expect(page.locator("#complaint .flash.ok")).to_have_text("投诉已办结。")
    expect(page.locator("#complaint .summary .badge").first).to_have_text("已处理")
    expect(page.locator("#complaint")).to_contain_text(RESPONSE)
    english = check_english(supervisor, "supervisor: complaint (resolved)")
    assert "Substantiated" in english and "Resolved" in english

    resolved = call("GET", system.url("feedback", f"/complaints/{complaint_id}"), headers=ADMIN)
    assert (resolved["status"], resolved["outcome"], resolved["handler_id"]) == \
        ("resolved", "substantiated", net["supervisor"]["id"])
    FLOW["resolved"] = True
    finish(supervisor, "supervisor")


def test_the_staff_member_sees_the_sanction_and_appeals_it(system, browser, portal_net, shots):
    net = portal_net
    step("resolved")
    staff_id = net["staff"]["id"]

    def sanction():  # the incentive worker decides on the complaint's resolved event
        standing = call("GET", system.url("incentive", f"/staff/{staff_id}/standing"), headers=ADMIN)
        return standing["active_sanctions"][0] if standing["active_sanctions"] else None

    issued = eventually(sanction, "the incentive service issues the sanction")
    assert (issued["level"], issued["status"]) == (EXPECTED_LEVEL, "issued"), issued

    from playwright.sync_api import expect
    staff = Visitor(browser, system.url("portal"))
    page = staff.page
    staff.sign_in(net["staff"]["number"])
    page.locator("header.site nav").get_by_role("link", name="奖惩情况").click()
    page.wait_for_url("**/me/standing")
    card = page.locator(f"#x-{issued['id']}")
    expect(card.locator("h3")).to_contain_text(EXPECTED_LEVEL_ZH)
    expect(card).to_contain_text("服务态度")
    screenshot(staff, shots, "staff-standing-zh.png")
    english = check_english(staff, "staff: standing", shoot=shots / "staff-standing-en.png")
    assert EXPECTED_LEVEL_EN in english

    card = page.locator(f"#x-{issued['id']}")
    card.locator("details.appeal-box summary").click()
    card.get_by_label("申诉理由").fill(APPEAL)
    with page.expect_navigation():
        card.get_by_role("button", name="提交申诉").click()
    expect(page.locator("main .flash.ok")).to_have_text("申诉已提交，将由分馆馆长处理。")
    card = page.locator(f"#x-{issued['id']}")
    expect(card.locator(".status")).to_have_text("申诉中")
    expect(card).to_contain_text(APPEAL)
    check_english(staff, "staff: standing (appealed)")

    appealed = call("GET", system.url("incentive", f"/sanctions/{issued['id']}"), headers=ADMIN)
    assert (appealed["status"], appealed["appeal_reason"]) == ("appealed", APPEAL)
    FLOW["sanction"] = issued["id"]
    finish(staff, "staff")


def test_the_branch_manager_overturns_the_sanction_on_appeal(system, browser, portal_net, shots):
    net = portal_net
    sanction_id = step("sanction")

    from playwright.sync_api import expect
    manager = Visitor(browser, system.url("portal"))
    page = manager.page
    manager.sign_in(net["manager"]["number"])
    page.locator("header.site nav").get_by_role("link", name="审批事项").click()
    page.wait_for_url("**/team/approvals")
    item = page.locator(f"#sanction-{sanction_id}")
    expect(item.locator("h3")).to_contain_text(NAMES["staff"])
    expect(item.locator("h3")).to_contain_text(EXPECTED_LEVEL_ZH)
    expect(item).to_contain_text(APPEAL)
    screenshot(manager, shots, "team-approvals-zh.png")
    english = check_english(manager, "manager: approvals")
    assert "Sanction appeals" in english and EXPECTED_LEVEL_EN in english

    item = page.locator(f"#sanction-{sanction_id}")
    item.get_by_label("撤销处分").check()
    item.get_by_label("裁决理由").fill(DECISION_NOTE)
    item.get_by_role("button", name="提交裁决").click()  # htmx: the item is replaced in place
    item = page.locator(f"#sanction-{sanction_id}")
    expect(item).to_contain_text("处分已撤销。")
    expect(item.locator(".item-head .badge")).to_have_text("申诉成立，处分已撤销")
    expect(item.locator(".decided")).to_contain_text(DECISION_NOTE)
    expect(item.locator("form")).to_have_count(0)

    decided = call("GET", system.url("incentive", f"/sanctions/{sanction_id}"), headers=ADMIN)
    assert (decided["status"], decided["decision"], decided["decision_note"]) == \
        ("overturned", "overturned", DECISION_NOTE), decided
    assert decided["decided_by"] == net["manager"]["id"]
    standing = call("GET", system.url("incentive", f"/staff/{net['staff']['id']}/standing"), headers=ADMIN)
    assert sanction_id not in {s["id"] for s in standing["active_sanctions"]}
    finish(manager, "manager")
