"""Reports over a generated network, checked against computations written here from the raw
events (not the service's code path), on SQLite and PostgreSQL."""
from __future__ import annotations

import io
import math
import statistics
from datetime import date

import pytest

from shared.timeutil import local_date, parse_rfc3339
from tests.helpers import auth

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")
Q3 = (date(2026, 7, 1), date(2026, 9, 30))


def _in_q3(text: str) -> bool:
    return Q3[0] <= local_date(parse_rfc3339(text)) <= Q3[1]


def expected_branch(network, branch: str) -> dict:
    """The figures of one branch in 2026-Q3, straight from the events."""
    filed = {c["complaint_id"]: c for c in network.of("lsq.complaint.filed.v1")
             if c["branch_id"] == branch and _in_q3(c["filed_at"])}
    breaches = {(b["complaint_id"], b["target"]) for b in network.of("lsq.complaint.sla_breached.v1")}
    acks = {a["complaint_id"]: a for a in network.of("lsq.complaint.acknowledged.v1") if a["complaint_id"] in filed}
    resolved = {r["complaint_id"]: r for r in network.of("lsq.complaint.resolved.v1") if r["complaint_id"] in filed}
    ack_settled = set(acks) | {c for c in filed if (c, "acknowledge") in breaches}
    res_settled = set(resolved) | {c for c in filed if (c, "resolve") in breaches}

    def hours(a, b):
        return (parse_rfc3339(b) - parse_rfc3339(a)).total_seconds() / 3600

    ratings = [r for r in network.of("lsq.rating.submitted.v1") if r["branch_id"] == branch and _in_q3(r["submitted_at"])]
    waits = sorted(r["wait_minutes"] for r in ratings if r["wait_minutes"] is not None)
    rejected = {p["praise_id"] for p in network.of("lsq.praise.rejected.v1")}
    judged = [r for r in resolved.values() if r["outcome"] != "withdrawn"]
    complaint_ratings = [r["rating"] for r in network.of("lsq.complaint.rated.v1") if r["complaint_id"] in filed]
    return {
        "complaints_filed": len(filed),
        "acknowledged_on_time_rate": sum(1 for c in acks if (c, "acknowledge") not in breaches) / len(ack_settled),
        "resolved_on_time_rate": (sum(1 for c in resolved if (c, "resolve") not in breaches) / len(res_settled)
                                  if res_settled else None),
        "complaints_breached": len({c for c, _t in breaches if c in filed}),
        "median_hours_to_acknowledge": statistics.median(hours(filed[c]["filed_at"], a["acknowledged_at"])
                                                         for c, a in acks.items()),
        "median_hours_to_resolve": (statistics.median(hours(filed[c]["filed_at"], r["resolved_at"])
                                                      for c, r in resolved.items()) if resolved else None),
        "substantiated_share": (sum(1 for r in judged if r["outcome"] == "substantiated") / len(judged)
                                if judged else None),
        "resolution_rating_mean": statistics.mean(complaint_ratings) if complaint_ratings else None,
        "desk_ratings": len(ratings),
        "desk_stars_mean": statistics.mean(r["stars"] for r in ratings),
        "wait_mean_minutes": statistics.mean(waits) if waits else None,
        "wait_p90_minutes": waits[math.ceil(0.9 * len(waits)) - 1] if waits else None,
        "praise": sum(1 for p in network.of("lsq.praise.received.v1")
                      if p["branch_id"] == branch and _in_q3(p["received_at"]) and p["praise_id"] not in rejected),
        "training_hours_per_person": sum(t["credit_hours"] for t in network.of("lsq.training.completed.v1")
                                         if t["branch_id"] == branch and Q3[0] <= date.fromisoformat(t["completed_on"])
                                         <= Q3[1]) / 4,
        "awards_amount": 800.0,
        "sanctions_issued": 1,
    }


def _close(actual, wanted):
    if wanted is None:
        return actual is None
    return actual == pytest.approx(wanted, abs=1e-3)


def test_comparison_matches_the_raw_events(client, network):
    body = client.get("/reports/comparison?period=2026-Q3", headers=ADMIN).json
    rows = {r["branch_id"]: r for r in body["branches"]}
    assert set(rows) == set(network.branches)
    for branch in network.branches:
        wanted = expected_branch(network, branch)
        for key, value in wanted.items():
            assert _close(rows[branch]["values"][key], value), (branch, key, rows[branch]["values"][key], value)
        assert rows[branch]["name_zh"].startswith(network.branches[branch])
    for key in ("acknowledged_on_time_rate", "desk_stars_mean", "praise"):
        values = [expected_branch(network, b)[key] for b in network.branches]
        assert _close(body["network_median"][key], statistics.median(values))
    # Sorted by a figure, both ways.
    asc = client.get("/reports/comparison?period=2026-Q3&sort=praise&order=asc", headers=ADMIN).json["branches"]
    assert [r["values"]["praise"] for r in asc] == sorted(r["values"]["praise"] for r in asc)
    # The change from the previous quarter, as the difference of the two.
    q2 = {r["branch_id"]: r for r in client.get("/reports/comparison?period=2026-Q2", headers=ADMIN).json["branches"]}
    for branch, row in rows.items():
        assert row["change"]["praise"] == row["values"]["praise"] - q2[branch]["values"]["praise"]


def test_overview_matches_the_raw_events(client, network):
    body = client.get("/reports/overview?period=2026-Q3", headers=ADMIN).json
    figures = {f["key"]: f["value"] for f in body["figures"]}
    filed = [c for c in network.of("lsq.complaint.filed.v1") if _in_q3(c["filed_at"])]
    assert figures["complaints_filed"] == len(filed)
    ratings = [r for r in network.of("lsq.rating.submitted.v1") if _in_q3(r["submitted_at"])]
    assert _close(figures["desk_stars_mean"], statistics.mean(r["stars"] for r in ratings))
    assert figures["awards_amount"] == pytest.approx(800.0 * len(network.branches))
    assert body["details"]["sanctions_by_level"]["notice"] + body["details"]["sanctions_by_level"]["verbal_warning"] == 3
    scored = [e for e in network.of("lsq.evaluation.scored.v1") if _in_q3(e["published_at"])]
    assert sum(body["details"]["grades"].values()) == len(scored)
    assert body["details"]["grades"]["excellent"] == sum(1 for e in scored if e["grade"] == "excellent")
    # Survey gaps per dimension, network-wide.
    for dim in body["details"]["survey_dimensions"]:
        answers = [t for r in network.of("lsq.survey.response_submitted.v1") if _in_q3(r["submitted_at"])
                   for t in r["triads"] if t["dimension"] == dim["dimension"]]
        perceived = statistics.mean(t["perceived"] for t in answers)
        assert _close(dim["adequacy_gap"], perceived - statistics.mean(t["minimum"] for t in answers))
        assert _close(dim["superiority_gap"], perceived - statistics.mean(t["desired"] for t in answers))


def test_sla_board_matches_the_raw_events(client, network):
    body = client.get("/reports/sla?period=2026-Q3", headers=ADMIN).json
    filed = {c["complaint_id"]: c for c in network.of("lsq.complaint.filed.v1") if _in_q3(c["filed_at"])}
    breaches = [b for b in network.of("lsq.complaint.sla_breached.v1") if b["complaint_id"] in filed]
    for row in body["by_severity"]:
        mine = {c for c, f in filed.items() if f["severity"] == row["severity"]}
        assert row["complaints_filed"] == len(mine)
        assert row["complaints_breached"] == len({b["complaint_id"] for b in breaches if b["complaint_id"] in mine})
    assert len(body["breached"]) == len(breaches)
    met = {("acknowledge", a["complaint_id"]): a["acknowledged_at"] for a in network.of("lsq.complaint.acknowledged.v1")}
    met.update({("resolve", r["complaint_id"]): r["resolved_at"] for r in network.of("lsq.complaint.resolved.v1")})
    overs = [(parse_rfc3339(met[(b["target"], b["complaint_id"])]) - parse_rfc3339(b["due_at"])).total_seconds() / 3600
             for b in breaches]
    assert body["average_hours_over_target"] == pytest.approx(sum(overs) / len(overs), abs=0.01)
    assert all(e["branch_name_zh"] and e["staff_name"] for e in body["breached"])
    at_risk = [a for a in network.of("lsq.complaint.sla_at_risk.v1") if a["complaint_id"] in filed]
    assert len(body["at_risk"]) == len(at_risk)
    assert (body["breached_count"], body["at_risk_count"], body["limit"]) == (len(breaches), len(at_risk), 200)


def test_sla_board_lists_are_capped_most_overdue_first(client, network):
    """``limit`` caps both lists (most hours over target first; at risk: earliest due first) and
    the counts stay those of every flagged target; a bad limit is a 422 naming it."""
    full = client.get("/reports/sla?period=2026-Q3&limit=1000", headers=ADMIN).json
    assert full["breached_count"] == len(full["breached"]) >= 3
    hours = [e["hours_over_target"] for e in full["breached"]]
    assert hours == sorted(hours, reverse=True)
    dues = [parse_rfc3339(e["due_at"]) for e in full["at_risk"]]
    assert dues == sorted(dues)
    # The largest excess among targets met late, from the raw events, leads the met-late ones.
    met = {("acknowledge", a["complaint_id"]): a["acknowledged_at"] for a in network.of("lsq.complaint.acknowledged.v1")}
    met.update({("resolve", r["complaint_id"]): r["resolved_at"] for r in network.of("lsq.complaint.resolved.v1")})
    filed = {c["complaint_id"] for c in network.of("lsq.complaint.filed.v1") if _in_q3(c["filed_at"])}
    worst = max((parse_rfc3339(met[(b["target"], b["complaint_id"])]) - parse_rfc3339(b["due_at"])).total_seconds() / 3600
                for b in network.of("lsq.complaint.sla_breached.v1") if b["complaint_id"] in filed)
    late = [e for e in full["breached"] if e["status"] == "met_late"]
    assert late[0]["hours_over_target"] == pytest.approx(worst, abs=0.01)
    capped = client.get("/reports/sla?period=2026-Q3&limit=2", headers=ADMIN).json
    assert capped["breached"] == full["breached"][:2]
    assert capped["at_risk"] == full["at_risk"][:2]
    assert (capped["breached_count"], capped["at_risk_count"], capped["limit"]) == \
        (full["breached_count"], full["at_risk_count"], 2)
    assert capped["by_branch"] == full["by_branch"]
    for bad in ("0", "1001", "many"):
        response = client.get(f"/reports/sla?period=2026-Q3&limit={bad}", headers=ADMIN)
        assert response.status_code == 422 and "limit" in response.json["errors"], response.json
    spec = client.get("/openapi.json").json
    parameters = {p["name"]: p for p in spec["paths"]["/reports/sla"]["get"]["parameters"]}
    assert parameters["limit"]["schema"]["maximum"] == 1000 and parameters["limit"]["schema"]["default"] == 200
    board = spec["components"]["schemas"]["SlaBoard"]["properties"]
    assert {"breached_count", "at_risk_count", "breached", "at_risk", "by_branch"} <= set(board)


def test_survey_groups_are_suppressed_also_by_subtraction(client, network):
    body = client.get("/reports/surveys?period=2026-Q3", headers=ADMIN).json
    overall = {(c["dimension"], c["item_code"]): c for c in body["overall"]}
    answers = [t for r in network.of("lsq.survey.response_submitted.v1") if _in_q3(r["submitted_at"]) for t in r["triads"]]
    for (dim, item), cell in overall.items():
        mine = [t for t in answers if t["dimension"] == dim and (item is None or t["item_code"] == item)]
        assert cell["n"] == len(mine)
        assert _close(cell["perceived"], statistics.mean(t["perceived"] for t in mine))
        assert _close(cell["adequacy_gap"], statistics.mean(t["perceived"] - t["minimum"] for t in mine))
    faculty = [c for c in body["by_user_group"] if c["user_group"] == "faculty"]
    # Faculty answers (fewer than 5 per cell with this seed) stay hidden.
    assert faculty and all(c["suppressed"] and c["perceived"] is None for c in faculty)
    for cell in body["by_user_group"]:
        partition = [c for c in body["by_user_group"] if (c["dimension"], c["item_code"]) == (cell["dimension"],
                                                                                              cell["item_code"])]
        hidden = [c for c in partition if c["suppressed"]]
        assert len(hidden) != 1 or len(partition) == 1, partition  # never exactly one hidden beside shown ones


def test_xlsx_holds_the_numbers_of_the_json(client):
    from openpyxl import load_workbook
    body = client.get("/reports/comparison?period=2026-Q3", headers=ADMIN).json
    response = client.get("/reports/comparison?period=2026-Q3&format=xlsx", headers=ADMIN)
    assert response.status_code == 200 and response.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(io.BytesIO(response.data))
    sheet = book.worksheets[0]
    assert sheet.freeze_panes == "A2"
    header = [c.value for c in sheet[1]]
    assert header[0] == "分馆 / Branch" and "投诉按时办结率 / Complaints resolved on time" in header
    column = header.index("表扬数 / Praise received")
    by_name = {row[0]: row for row in sheet.iter_rows(min_row=2, values_only=True)}
    for branch in body["branches"]:
        row = by_name[branch["name_zh"]]
        assert row[column] == branch["values"]["praise"] and isinstance(row[column], int)
        stars = header.index("服务台平均星级 / Desk ratings, mean stars")
        assert row[stars] == pytest.approx(branch["values"]["desk_stars_mean"])
    text = client.get("/reports/comparison?period=2026-Q3&format=csv", headers=ADMIN).data.decode("utf-8")
    assert text.startswith("\ufeff分馆对比 / Branch comparison")


def test_branch_roles_see_their_branch_and_the_network_only(client, network):
    mine, other = list(network.branches)[:2]
    manager = auth("branch_manager", staff_id="m-1", branch_id=mine)
    body = client.get("/reports/comparison?period=2026-Q3", headers=manager).json
    assert [r["branch_id"] for r in body["branches"]] == [mine]
    admin = client.get("/reports/comparison?period=2026-Q3", headers=ADMIN).json
    assert body["network_median"] == admin["network_median"]  # the network's medians stay visible
    assert client.get(f"/reports/overview?period=2026-Q3&branch_id={other}", headers=manager).status_code == 403
    assert client.get(f"/reports/overview?period=2026-Q3&branch_id={mine}", headers=manager).status_code == 200
    sla = client.get("/reports/sla?period=2026-Q3", headers=manager).json
    assert {e["branch_id"] for e in sla["breached"]} <= {mine} and [r["branch_id"] for r in sla["by_branch"]] == [mine]
    survey = client.get("/reports/surveys?period=2026-Q3", headers=manager).json
    assert {c["branch_id"] for c in survey["by_branch"]} <= {mine}
    other_name = [b["name_zh"] for b in admin["branches"] if b["branch_id"] == other][0]
    for path in ("comparison", "sla", "surveys", "review"):
        assert other_name not in client.get(f"/reports/{path}?period=2026-Q3", headers=manager).get_data(as_text=True)
    # Staff: their own profile, nothing else.
    staff_id = next(s for s, b in network.staff.items() if b == mine)
    someone = next(s for s, b in network.staff.items() if b == mine and s != staff_id)
    own = auth("staff", staff_id=staff_id, branch_id=mine)
    assert client.get(f"/reports/staff/{staff_id}?period=2026", headers=own).status_code == 200
    assert client.get(f"/reports/staff/{someone}?period=2026", headers=own).status_code == 403
    assert client.get("/reports/overview", headers=own).status_code == 403
    foreign = next(s for s, b in network.staff.items() if b == other)
    assert client.get(f"/reports/staff/{foreign}?period=2026", headers=manager).status_code == 404
    assert client.get("/reports/overview?period=2026-Q3", headers=auth("auditor")).status_code == 200


def test_staff_profile_and_review(client, network):
    staff_id = next(iter(network.staff))
    body = client.get(f"/reports/staff/{staff_id}?period=2026", headers=ADMIN).json
    assert body["staff"]["name"].endswith("员工0")
    assert body["complaints"]["filed"] == sum(1 for c in network.of("lsq.complaint.filed.v1") if c["staff_id"] == staff_id)
    assert body["training"]["credit_hours"] == pytest.approx(sum(
        t["credit_hours"] for t in network.of("lsq.training.completed.v1") if t["staff_id"] == staff_id))
    assert any(e["kind"] == "sanction" for e in body["ledger"])
    review = client.get("/reports/review?period=2026-Q3", headers=ADMIN).json
    lines = review["lines"]
    worse = [i for i, line in enumerate(lines) if "worse" in (line["change_previous"]["assessment"],
                                                               line["change_year_before"]["assessment"])]
    assert worse == list(range(len(worse)))  # worse areas first
    rate = next(line for line in lines if line["figure"] == "resolved_on_time_rate")
    assert rate["sentence_previous"]["zh"].startswith(f"投诉按时办结率 {rate['value'] * 100:.0f}%，较上季度")
    assert rate["sentence_previous"]["en"].startswith("Complaints resolved on time: ")
    assert review["year_before_period"]["label"] == "2025-Q3"


@pytest.mark.parametrize("query, field", [
    ("period=2026-Q5", "period"), ("period=26", "period"), ("from=2026-01-01", "to"), ("from=2026-05-01&to=2026-04-01", "to"),
    ("from=bad&to=2026-01-01", "from"), ("format=pdf", "format"), ("period=2026&from=2026-01-01&to=2026-02-01", "period"),
])
def test_bad_query_args_are_422_naming_the_field(client, query, field):
    response = client.get(f"/reports/overview?{query}", headers=ADMIN)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"], response.json


def test_bad_trend_and_sort_args(client):
    assert "from" in client.get("/reports/trends?from=2020-01&to=2026-12", headers=ADMIN).json["errors"]
    assert "to" in client.get("/reports/trends?to=2026-13", headers=ADMIN).json["errors"]
    assert "sort" in client.get("/reports/comparison?sort=nope", headers=ADMIN).json["errors"]
    months = client.get("/reports/trends?from=2026-04&to=2026-09", headers=ADMIN).json["months"]
    assert [m["month"] for m in months] == ["2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    q3 = client.get("/reports/overview?period=2026-Q3", headers=ADMIN).json
    filed = next(f["value"] for f in q3["figures"] if f["key"] == "complaints_filed")
    assert sum(m["values"]["complaints_filed"] for m in months[3:]) == filed


def test_order_and_duplicates_do_not_change_the_figures(database_url, network, tmp_path):
    """The same events backwards, and then all of them again: the same figures (inbox, order-tolerant
    handlers)."""
    from tests.helpers import make_app
    from tests.integration.reports.conftest import feed
    forward = make_app("reports", f"sqlite:///{tmp_path}/forward.db")
    backward = make_app("reports", database_url)
    try:
        feed(forward, network.events)
        directory = [e for e in network.events if e.topic in ("lsq.branch", "lsq.staff")]
        feed(backward, directory + [e for e in reversed(network.events) if e not in directory])
        feed(backward, network.events)
        for period in ("2026-Q2", "2026-Q3"):
            for path in ("comparison", "sla", "surveys"):
                url = f"/reports/{path}?period={period}"
                assert backward.test_client().get(url, headers=ADMIN).json == \
                    forward.test_client().get(url, headers=ADMIN).json, url
    finally:
        forward.extensions["lsq"].db.dispose()
        backward.extensions["lsq"].db.dispose()


def _table_rows(db) -> dict:
    from sqlalchemy import select

    from services.reports import store
    from shared.directory_view import known_branches, known_service_points, known_staff
    with db.read() as conn:
        return {t.name: sorted((tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                                for row in conn.execute(select(t))), key=repr)
                for t in [*store.metadata.sorted_tables, known_staff, known_branches, known_service_points]}


def test_the_batch_writes_the_same_rows_as_one_handler_at_a_time(database_url, network, tmp_path):
    """``ReportsRunner`` (a batch's writes kept in memory, written once) leaves every read-model row
    as the handlers called one event at a time outside any batch (straight SQL; the directory by
    ``shared.directory_view``'s own handlers), with the events
    backwards, then every fact again under a new id (so rollup rows are added to within a batch
    and across batches), in batches of one and of 137."""
    import dataclasses
    import uuid

    from services.reports.handlers import HANDLERS
    from services.reports.runner import ReportsRunner
    from shared.db import Database
    from shared.directory_view import DIRECTORY_HANDLERS
    one_by_one = {**HANDLERS, **DIRECTORY_HANDLERS}
    plain = Database(f"sqlite:///{tmp_path}/plain.db", "reports")
    batched = Database(database_url, "reports")
    try:
        for db in (plain, batched):
            db.migrate()
        directory = [e for e in network.events if e.topic in ("lsq.branch", "lsq.staff")]
        from tests.integration.reports.conftest import make_event
        staff = list(network.staff)
        branches = list(network.branches)
        directory += [  # every directory change, on people known and unknown (an insert then)
            make_event("lsq.staff.transferred.v1", {"staff_id": staff[0], "from_branch_id": branches[0],
                                                    "to_branch_id": branches[1], "effective_date": "2026-05-01"}),
            make_event("lsq.staff.left.v1", {"staff_id": staff[1], "branch_id": branches[0], "left_on": "2026-06-30",
                                             "reason": "retired"}),
            make_event("lsq.staff.updated.v1", {"staff_id": staff[2], "branch_id": branches[2], "role": "supervisor",
                                                "name": "新名字", "status": "on_leave"}),
            make_event("lsq.staff.transferred.v1", {"staff_id": "st-new-1", "from_branch_id": branches[0],
                                                    "to_branch_id": branches[2], "effective_date": "2026-05-01"}),
            make_event("lsq.staff.left.v1", {"staff_id": "st-new-2", "branch_id": branches[1], "left_on": "2026-06-30",
                                             "reason": "other"}),
            make_event("lsq.staff.updated.v1", {"staff_id": "st-new-3", "branch_id": branches[1], "role": "staff",
                                                "name": "某人", "status": "active"})]
        facts = [e for e in reversed(network.events) if e not in directory]
        events = directory + facts + [dataclasses.replace(e, id=str(uuid.uuid4())) for e in facts]
        for event in events:
            with plain.transaction() as conn:
                one_by_one[event.type](conn, event)
        runner = ReportsRunner(batched, "127.0.0.1:1", "lsq.reports", HANDLERS)
        for event in events[:60]:
            runner.apply_batch([event])
        for start in range(60, len(events), 137):
            runner.apply_batch(events[start:start + 137])
        expected, actual = _table_rows(plain), _table_rows(batched)
        assert sum(map(len, expected.values())) > 100
        assert actual == expected
    finally:
        plain.dispose()
        batched.dispose()
