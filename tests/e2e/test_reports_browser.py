"""The portal's report pages in a real browser (Debian's chromium, never ``playwright install``).

The portal runs on a real HTTP port against the services' real apps (as in
tests/integration/portal), the reports service fed a generated network's events (the generator
of the reports service's own tests; how events reach its read model through Kafka is tested
there). What only a browser shows is checked here: ECharts draws the charts (SVG renderer) with
Chinese labels inside the SVG, no script or style is refused by the Content-Security-Policy, the
period switch changes the figures, and a branch manager sees no other branch by name, in the
charts either. Screenshots go to ``LSQ_SCREENSHOTS`` (``docs/screenshots`` refreshes the docs'),
else to a temporary folder.
"""
from __future__ import annotations

import os
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from services.portal import create_app as create_portal
from shared.devstack.ports import free_port
from tests.helpers import token
from tests.integration.portal.conftest import LiveServices
from tests.integration.reports.conftest import GeneratedNetwork, feed

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PAGE_TIMEOUT_MS = 30_000
Q3 = "period=2026-Q3"
CJK = re.compile("[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """The services' apps and the portal on real ports; the reports fed a generated network."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed")
    live = LiveServices(tmp_path_factory.mktemp("reports-browser"))
    network = GeneratedNetwork(seed=5)
    feed(live.apps["reports"], network.events)
    portal = create_portal({"TESTING": True, "SETTINGS": {"service_urls": live.urls, "secret_key": "b" * 32,
                                                          "secure_cookies": False}})
    port = free_port()
    server = make_server("127.0.0.1", port, portal, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True, name="portal-browser").start()
    yield {"url": f"http://127.0.0.1:{port}", "portal": portal, "network": network}
    server.shutdown()
    live.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield browser
        browser.close()


def _session_cookie(portal, role: str, branch_id: str | None = None) -> str:
    """The portal's signed session cookie of a signed-in user (what its sign-in page sets)."""
    import time
    serializer = portal.session_interface.get_signing_serializer(portal)
    return serializer.dumps({"token": token(role, "st-browser", branch_id), "token_expires": time.time() + 3600,
                             "user": {"staff_id": "st-browser", "name": "浏览器测试", "role": role,
                                      "branch_id": branch_id, "branch_name_zh": "", "branch_name_en": ""}})


def _page(stack, chromium, role: str = "network_admin", branch_id: str | None = None, lang: str = "zh_CN"):
    context = chromium.new_context(**DESKTOP, locale="zh-CN" if lang == "zh_CN" else "en-US")
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    context.add_cookies([{"name": "lsq_portal", "value": _session_cookie(stack["portal"], role, branch_id),
                          "url": stack["url"]},
                         {"name": "lsq_lang", "value": lang, "url": stack["url"]}])
    page = context.new_page()
    page.problems = []
    # A script error or a file refused by the CSP is a problem; the browser's own favicon lookup is not.
    page.on("console", lambda m: page.problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.on("response", lambda r: page.problems.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)
    return context, page


def _chart_texts(page, selector: str = ".chart") -> str:
    """Every text drawn inside the charts' SVGs (after ECharts has drawn them)."""
    page.wait_for_selector(f"{selector} svg text")
    return " ".join(page.eval_on_selector_all(f"{selector} svg text", "els => els.map(e => e.textContent)"))


def _shoot(page, name: str, tmp_path_factory):
    folder = Path(os.environ.get("LSQ_SCREENSHOTS") or tmp_path_factory.mktemp("shots"))
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"reports-{name}.png"), full_page=False)


def test_dashboard_draws_its_chart_with_chinese_labels(stack, chromium, tmp_path_factory):
    context, page = _page(stack, chromium)
    page.goto(f"{stack['url']}/reports/?{Q3}")
    texts = _chart_texts(page)
    assert "投诉按时办结率" in texts and CJK.search(texts)
    assert page.locator("table caption", has_text="本期与上期的各项比率").count() == 1  # the chart's table
    _shoot(page, "dashboard-zh", tmp_path_factory)
    assert not page.problems, page.problems  # nothing refused by the CSP, no script error
    context.close()


def test_comparison_names_the_branches_in_the_chart(stack, chromium, tmp_path_factory):
    context, page = _page(stack, chromium)
    page.goto(f"{stack['url']}/reports/comparison?{Q3}")
    texts = _chart_texts(page)
    for code in stack["network"].branches.values():
        assert f"{code}分馆" in texts
    assert "全馆中位数" in texts
    assert not page.problems, page.problems
    context.close()
    context, page = _page(stack, chromium, lang="en")
    page.goto(f"{stack['url']}/reports/comparison?{Q3}")
    texts = _chart_texts(page)
    assert "Network median" in texts
    _shoot(page, "comparison-en", tmp_path_factory)
    context.close()


def test_libqual_page_draws_the_radar_and_the_zone_bars(stack, chromium, tmp_path_factory):
    context, page = _page(stack, chromium)
    page.goto(f"{stack['url']}/reports/surveys?{Q3}")
    radar = _chart_texts(page, "[data-chart='survey-radar-data']")
    zone = _chart_texts(page, "[data-chart='survey-zone-data']")
    # Two dimensions in the generated answers: the charts show the items, in the questionnaire's
    # wording (from the feedback service), the same in both charts.
    for words in ("馆员待人礼貌", "馆内环境让人愿意"):
        assert words in radar.replace(" ", "") and words in zone.replace(" ", "")
    assert "感受水平" in radar and "容忍区间" in zone
    assert page.locator("td.gap.bad").count() + page.locator("td.gap.ok").count() > 0
    page.locator(".survey-charts").scroll_into_view_if_needed()
    _shoot(page, "surveys-zh", tmp_path_factory)
    assert not page.problems, page.problems
    context.close()


def test_the_period_switch_changes_the_figures(stack, chromium):
    context, page = _page(stack, chromium, lang="en")
    page.goto(f"{stack['url']}/reports/?{Q3}")
    cell = "tr[data-figure='desk_ratings'] td.value"
    q3 = page.locator(cell).inner_text()
    page.check("input[name='kind'][value='year']")
    page.select_option("#p-year", "2026")
    page.click(".period-switch button[type='submit']")
    page.wait_for_url(re.compile(r"kind=year"))
    year = page.locator(cell).inner_text()
    assert int(year.replace(",", "")) > int(q3.replace(",", ""))
    _chart_texts(page)  # the chart is drawn again for the new period
    context.close()


def test_a_branch_manager_sees_no_other_branch_by_name(stack, chromium):
    mine, *others = list(stack["network"].branches)
    context, page = _page(stack, chromium, role="branch_manager", branch_id=mine)
    for path in ("/reports/comparison", "/reports/surveys", "/reports/sla", "/reports/"):
        page.goto(f"{stack['url']}{path}?{Q3}")
        _chart_texts(page)
        shown = page.content()
        for other in others:
            assert f"{stack['network'].branches[other]}分馆" not in shown, (path, other)
    page.goto(f"{stack['url']}/reports/comparison?{Q3}")
    assert f"{stack['network'].branches[mine]}分馆" in _chart_texts(page)
    context.close()


def test_review_page_and_its_print_view(stack, chromium, tmp_path_factory):
    context, page = _page(stack, chromium)
    page.goto(f"{stack['url']}/reports/review?{Q3}")
    assert page.locator("h1", has_text="成效评估与总结").count() == 1
    assert page.locator("table.review tbody tr").count() > 10
    page.emulate_media(media="print")
    assert not page.locator(".period-switch").is_visible()  # the print CSS hides the controls
    page.emulate_media(media="screen")
    _shoot(page, "review-zh", tmp_path_factory)
    page.goto(f"{stack['url']}/reports/review/print?{Q3}")
    assert page.locator("table.review").count() == 1
    assert not page.problems, page.problems
    context.close()
