"""The portal's report pages against the real reports service, fed a generated network's events
(the same generator as the reports service's own tests): each page in Chinese and English, the
period switch, a branch manager's view, the CSV/XLSX/PDF downloads."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest

from datetime import date

from services.portal.views.reports import figure_value
from shared.timeutil import local_date, parse_rfc3339
from tests.integration.portal.conftest import sign_in_as
from tests.integration.reports.conftest import GeneratedNetwork, feed

pytestmark = pytest.mark.integration
PAGES = ("/reports/", "/reports/comparison", "/reports/trends", "/reports/sla", "/reports/surveys",
         "/reports/review")
Q3 = "period=2026-Q3"


@pytest.fixture(scope="module")
def generated(live):
    """The generated network's events applied to the live reports service's read model."""
    network = GeneratedNetwork(seed=11)
    feed(live.apps["reports"], network.events)
    return network


def _text(html: str) -> str:
    """What a person reads: the page without tags, scripts and attribute values."""
    html = re.sub(r"<script.*?</script>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _names(network, lang: str = "zh") -> dict:
    """branch id → its name as the page shows it."""
    return {b: (f"{code}分馆" if lang == "zh" else f"{code} branch") for b, code in network.branches.items()}


@pytest.mark.parametrize("path", PAGES)
def test_each_page_in_both_languages_shows_names_not_ids(browser_client, live, generated, path):
    sign_in_as(browser_client, "network_admin")
    for lang, word in (("zh_CN", "统计期间"), ("en", "Report period")):
        response = browser_client.get(f"{path}?{Q3}&lang={lang}")
        assert response.status_code == 200, response.text[:500]
        text = _text(response.text)
        assert word in text
        for branch_id in generated.branches:
            assert branch_id not in text
        assert not re.search(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-", text), "an id is shown to a person"
    zh = _text(browser_client.get(f"{path}?{Q3}&lang=zh_CN").text)
    assert re.search(r"[\u4e00-\u9fff]{4}", zh)


def test_comparison_shows_the_services_figures_and_the_median(browser_client, live, generated):
    sign_in_as(browser_client, "network_admin")
    html = browser_client.get(f"/reports/comparison?{Q3}&sort=praise&order=asc&lang=en").text
    html = html[html.index('class="figures comparison"'):]  # the table, not the chart's own
    api = live.call("reports", "GET", f"/reports/comparison?{Q3}&sort=praise&order=asc")
    names = [r["name_en"] for r in api["branches"]]
    positions = [html.index(f">{name}</th>") for name in names]
    assert positions == sorted(positions), "rows in the order asked for"
    for row in api["branches"]:
        cell = re.search(re.escape(f">{row['name_en']}</th>") + r".*?data-figure=\"praise\"><span class=\"value\">([^<]+)<",
                         html, re.S)
        assert cell and cell.group(1) == str(int(row["values"]["praise"]))
    assert "Network median" in html
    assert 'aria-sort="ascending"' in html


def _in_q2(moment: str) -> bool:
    """Whether a time falls in 2026-Q2 of the network's calendar (Asia/Shanghai)."""
    return date(2026, 4, 1) <= local_date(parse_rfc3339(moment)) <= date(2026, 6, 30)


def test_the_period_switch_changes_the_figures(browser_client, live, generated):
    sign_in_as(browser_client, "network_admin")

    def filed(html):
        found = re.search(r'data-figure="complaints_filed"><th scope="row">[^<]+</th>\s*<td class="num value">([^<]+)<',
                          html)
        return found.group(1)

    q2 = browser_client.get("/reports/?kind=quarter&year=2026&quarter=2&lang=en").text
    q3 = browser_client.get("/reports/?kind=quarter&year=2026&quarter=3&lang=en").text
    year = browser_client.get("/reports/?kind=year&year=2026&lang=en").text
    events = generated.of("lsq.complaint.filed.v1")
    in_q2 = sum(1 for c in events if _in_q2(c["filed_at"]))
    assert filed(q2) == str(in_q2)
    assert filed(year) == str(len(events))
    assert filed(q3) == str(len(events) - in_q2)
    ratings = generated.of("lsq.rating.submitted.v1")
    rated_q2 = sum(1 for r in ratings if _in_q2(r["submitted_at"]))
    assert re.search(rf'data-figure="desk_ratings"><th scope="row">Desk ratings</th>\s*<td class="num value">{rated_q2}<', q2)
    values = lambda html: re.findall(r'<td class="num value">([^<]+)<', html)  # noqa: E731
    assert values(q2) != values(q3)
    # A from–to range, and a month.
    ranged = browser_client.get("/reports/?kind=range&from=2026-04-01&to=2026-06-30&lang=en").text
    assert filed(ranged) == str(in_q2)
    assert browser_client.get("/reports/?kind=month&year=2026&month=5").status_code == 200
    # The period switch keeps the choice in the form.
    assert re.search(r'name="kind" value="range" checked', ranged)


def test_a_bad_period_names_the_field_and_is_not_a_500(browser_client, live, generated):
    sign_in_as(browser_client, "network_admin")
    response = browser_client.get("/reports/comparison?period=2026-Q9&lang=en")
    assert response.status_code == 422
    assert "period" in response.text
    response = browser_client.get("/reports/?kind=range&from=2026-06-30&to=2026-04-01&lang=en")
    assert response.status_code == 422 and "to" in _text(response.text)


def test_a_branch_manager_sees_no_other_branch_by_name(browser_client, live, generated):
    mine = next(iter(generated.branches))
    names = _names(generated)
    sign_in_as(browser_client, "branch_manager", branch_id=mine, staff_id="st-x")
    for path in PAGES:
        html = browser_client.get(f"{path}?{Q3}").text
        for branch_id, name in names.items():
            if branch_id != mine:
                assert name not in html, (path, name)
    assert names[mine] in browser_client.get(f"/reports/comparison?{Q3}").text
    # Another branch asked for by id: the same page as one that does not exist.
    other = [b for b in generated.branches if b != mine][0]
    assert browser_client.get(f"/reports/?{Q3}&branch_id={other}").status_code == 200  # ignored: own branch
    assert names[other] not in browser_client.get(f"/reports/review?{Q3}&branch_id={other}").text
    other_staff = next(s for s, b in generated.staff.items() if b == other)
    assert browser_client.get(f"/reports/staff/{other_staff}?{Q3}").status_code == 404
    # Downloads hold only their branch too.
    csv_text = browser_client.get(f"/reports/download/comparison?format=csv&{Q3}").data.decode("utf-8-sig")
    assert names[mine] in csv_text and names[other] not in csv_text


def test_staff_see_only_their_own_profile(browser_client, live, generated):
    me, other = list(generated.staff)[:2]
    sign_in_as(browser_client, "staff", staff_id=me, branch_id=generated.staff[me], name="CEN员工0")
    assert browser_client.get("/reports/").status_code == 404
    response = browser_client.get(f"/reports/me?{Q3}", follow_redirects=True)
    assert response.status_code == 200
    assert f"/reports/staff/{me}" in response.request.path
    assert "CEN员工0" in _text(response.text)
    assert browser_client.get(f"/reports/staff/{other}?{Q3}").status_code == 404


def test_a_supervisor_opens_a_staff_profile_with_figures(browser_client, live, generated):
    person = list(generated.staff)[0]
    sign_in_as(browser_client, "supervisor", branch_id=generated.staff[person], staff_id="sup")
    html = browser_client.get(f"/reports/staff/{person}?{Q3}&lang=en").text
    api = live.call("reports", "GET", f"/reports/staff/{person}?{Q3}")
    assert api["staff"]["name"] in html
    assert f"<dt>Praise received</dt><dd>{api['praise']}</dd>" in html


@pytest.mark.parametrize("fmt,mime", [("csv", "text/csv"), ("xlsx", "application/vnd.openxmlformats")])
def test_downloads_come_with_their_type_and_name(browser_client, live, generated, fmt, mime):
    sign_in_as(browser_client, "network_admin")
    for report in ("overview", "comparison", "trends", "sla", "surveys", "review"):
        response = browser_client.get(f"/reports/download/{report}?format={fmt}&{Q3}")
        assert response.status_code == 200, (report, response.text[:300])
        assert response.headers["Content-Type"].startswith(mime)
        assert "attachment" in response.headers["Content-Disposition"] and f".{fmt}" in response.headers["Content-Disposition"]
    assert browser_client.get(f"/reports/download/nothing?format=csv&{Q3}").status_code == 404
    assert browser_client.get(f"/reports/download/overview?format=exe&{Q3}").status_code == 404


def test_the_xlsx_holds_the_numbers_of_the_page(browser_client, live, generated):
    import openpyxl
    sign_in_as(browser_client, "network_admin")
    html = browser_client.get(f"/reports/comparison?{Q3}&lang=en").text
    html = html[html.index('class="figures comparison"'):]
    book = openpyxl.load_workbook(io.BytesIO(browser_client.get(f"/reports/download/comparison?format=xlsx&{Q3}").data))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    column = next(i for i, h in enumerate(header) if h and "Complaints resolved on time" in str(h))
    praise = next(i for i, h in enumerate(header) if h and "Praise received" in str(h))
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=2)]
    for row in rows:
        name = row[1]
        if name in ("Network median", "Network"):
            continue
        shown = re.search(re.escape(f">{name}</th>") + r"(.*?)</tr>", html, re.S).group(1)
        cells = re.findall(r'data-figure="([a-z_0-9]+)"><span class="value">([^<]+)<', shown)
        cells = dict(cells)
        assert cells["resolved_on_time_rate"] == figure_value_en(row[column], "rate"), name
        assert cells["praise"] == str(int(row[praise]))


def figure_value_en(value, unit):
    """The page's own formatting of a figure, in English (the XLSX keeps the raw number)."""
    from services.portal import create_app
    app = create_app({"TESTING": True, "SETTINGS": {"secret_key": "f" * 32}})
    with app.test_request_context("/?lang=en"):
        return figure_value(value, unit)


def test_the_review_prints_and_downloads_as_a_pdf(browser_client, live, generated):
    sign_in_as(browser_client, "network_admin")
    page = browser_client.get(f"/reports/review?{Q3}")
    assert page.status_code == 200 and "成效评估" in page.text
    api = live.call("reports", "GET", f"/reports/review?{Q3}")
    first = api["lines"][0]
    assert first["sentence_previous"]["zh"] in page.text
    worse = [i for i, line in enumerate(api["lines"]) if "worse" in (line["change_previous"]["assessment"],
                                                                     line["change_year_before"]["assessment"])]
    assert worse == list(range(len(worse))), "worse areas first"
    printable = browser_client.get(f"/reports/review/print?{Q3}")
    assert printable.status_code == 200 and "print.css" in printable.text
    response = browser_client.get(f"/reports/review.pdf?{Q3}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.data.startswith(b"%PDF")
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-", "-"], input=response.data, capture_output=True, check=True).stdout
        text = text.decode("utf-8")
        assert "成效评估" in text
        assert first["label_zh"] in text
        assert "GMT" not in text  # the day it was made, as a person writes it


def test_pages_need_a_reader_role(browser_client, live, generated):
    assert browser_client.get("/reports/").status_code == 302  # to the sign-in
    sign_in_as(browser_client, "staff", staff_id="nobody", branch_id="b")
    for path in PAGES + ("/reports/review.pdf", "/reports/download/overview?format=csv"):
        assert browser_client.get(path).status_code == 404, path


def test_the_survey_page_marks_gaps_and_suppressed_cells(browser_client, live, generated):
    sign_in_as(browser_client, "network_admin")
    branch = next(iter(generated.branches))  # one branch: its few teaching staff answers are a small group
    html = browser_client.get(f"/reports/surveys?{Q3}&branch_id={branch}&lang=en").text
    api = live.call("reports", "GET", f"/reports/surveys?{Q3}&branch_id={branch}")
    suppressed = [c for c in api["by_user_group"] + api["by_branch"] if c["suppressed"]]
    assert suppressed, "the generated network has small groups"
    assert html.count("Suppressed</span>") == len([c for c in api["overall"] if c["suppressed"]]) + \
        len([c for c in api["by_user_group"] + api["by_branch"] if c["suppressed"] and c["level"] == "dimension"])
    negatives = [c for c in api["overall"] + api["by_user_group"] + api["by_branch"]
                 if c["level"] == "dimension" and not c["suppressed"] and c["adequacy_gap"] < 0]
    assert html.count("Below minimum</span>") >= len(negatives)
    assert 'id="survey-radar-data"' in html and 'id="survey-zone-data"' in html
    assert "<script>" not in html
