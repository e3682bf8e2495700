"""``lsq demo`` against the running system: it seeds through the public APIs, and the figures it
prints are what the APIs say."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from argparse import Namespace

import pytest
import requests

from shared.devstack import demo
from tests.helpers import auth

pytestmark = pytest.mark.e2e
ADMIN = auth("network_admin")


def get(system, service: str, path: str, **params) -> dict:
    r = requests.get(system.url(service, path), headers=ADMIN, params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def test_demo_seeds_a_network_and_its_summary_matches_the_apis(system, tmp_path, capsys):
    # service_port() reads the LSQ_<SERVICE>_PORT variables the fixture set, so the demo talks to
    # this system; Kafka is the fixture's own broker.
    out = tmp_path / "summary.json"
    started = time.monotonic()
    assert demo.main(Namespace(seed=7, bootstrap=system.bootstrap, summary_json=str(out))) == 0
    elapsed = time.monotonic() - started
    printed = capsys.readouterr().out
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert elapsed < 150, f"the demo took {elapsed:.0f} s"
    for words in ("分馆 branches 5", "馆员 staff 60", "/docs", "lsq token --role network_admin", "lsq events tail"):
        assert words in printed

    branches = summary["branch_ids"]
    assert len(branches) == 5 and summary["service_points"] == 10
    # 60 staff and the network office's administrator
    assert sum(get(system, "directory", "/staff", branch_id=b)["total"] for b in branches) == 61
    # every role printed can sign in to the portal with the demo password
    assert set(summary["sign_ins"]) == {"staff", "supervisor", "branch_manager", "network_admin"}
    for role, account in summary["sign_ins"].items():
        assert account["employee_number"] in printed and "/sign-in" in printed
        r = requests.post(system.url("directory", "/auth/login"), timeout=10, json={
            "employee_number": account["employee_number"], "password": demo.DEMO_PASSWORD})
        assert r.status_code == 200 and r.json()["staff"]["role"] == role, r.text
    for b in branches:
        assert get(system, "directory", "/service-points", branch_id=b)["total"] == 2

    # reader activity: every category and severity, some substantiated, some left for the SLA
    complaints = [c for b in branches
                  for c in get(system, "feedback", "/complaints", branch_id=b, page_size=500)["items"]]
    assert len(complaints) == summary["complaints"]["filed"] == summary["sent"]["complaints"]
    assert {(c["category"], c["severity"]) for c in complaints} == {
        (cat, sev) for cat in ("attitude", "waiting", "competence", "environment", "policy", "other")
        for sev in ("low", "normal", "high", "urgent")}
    assert sum(c["outcome"] == "substantiated" for c in complaints) == summary["complaints"]["substantiated"] > 0
    assert sum(c["status"] == "new" for c in complaints) == summary["complaints"]["open"] > 0
    late = [c for c in complaints if c["acknowledge_breached_at"]]  # recorded late, never acknowledged
    assert len(late) == summary["sent"]["complaints_breached"] == summary["sent"]["complaints_open_for_sla"] > 0
    assert all(c["channel"] == "phone" and c["handler_id"] and c["escalated_to"] for c in late)
    for c in late:
        notices = get(system, "incentive", "/ledger", subject=f"complaint:{c['id']}:sla:acknowledge")["items"]
        assert [n["staff_id"] for n in notices] == [c["handler_id"]]  # the handler answers for the SLA
    praise = [p for b in branches for p in get(system, "feedback", "/praise", branch_id=b, page_size=500)["items"]]
    assert len(praise) == summary["sent"]["praise"]
    assert sum(p["status"] == "rejected" for p in praise) == summary["sent"]["praise_rejected"] > 0
    rated = get(system, "feedback", "/ratings/summary", group_by="branch")
    mine = [row for row in rated if row["key"] in branches]
    assert sum(row["n"] for row in mine) == summary["sent"]["ratings"]
    assert all(row["mean_wait_minutes"] is not None for row in mine)
    assert summary["survey"]["responses"] == summary["sent"]["survey_answers"] >= 200
    assert get(system, "feedback", f"/surveys/{summary['survey']['id']}")["state"] == "closed"
    assert sum(get(system, "feedback", "/forums", branch_id=b)["total"] for b in branches) == summary["sent"]["forums"]

    # the evaluation cycle is published with excellent and unsatisfactory results
    cycle = get(system, "evaluation", f"/cycles/{summary['evaluation']['cycle_id']}")
    assert cycle["status"] == "published"
    results = get(system, "evaluation", f"/cycles/{cycle['id']}/scores", page_size=500)["items"]
    grades = {}
    for r in results:
        grades[r["grade"] or "unscored"] = grades.get(r["grade"] or "unscored", 0) + 1
    assert grades == summary["evaluation"]["grades"]
    assert grades.get("excellent", 0) > 0 and grades.get("unsatisfactory", 0) > 0

    # training: completions with certificates, approved seminars, requirements set
    transcripts = [get(system, "training", f"/staff/{s['id']}/transcript")
                   for b in branches for s in get(system, "directory", "/staff", branch_id=b, page_size=500)["items"]]
    completions = [c for t in transcripts for c in t["completed"]]
    assert len(completions) == summary["training"]["completions"] > 0
    certificate = next(c["certificate_code"] for c in completions if c.get("certificate_code"))
    assert requests.get(system.url("training", f"/certificates/{certificate}"), timeout=10).json()["valid"] is True
    approved = sum(get(system, "training", "/external-activities", branch_id=b, status="approved")["total"]
                   for b in branches)
    assert approved == summary["sent"]["external_approved"] > 0

    # incentive: awards from the funds, sanctions, one appeal overturned
    awards = [a for b in branches for a in get(system, "incentive", "/awards", branch_id=b, page_size=500)["items"]]
    granted = [a for a in awards if a["status"] == "granted"]
    assert len(granted) == summary["incentive"]["awards"]["granted"] > 0
    assert {a["tier"] for a in granted} & {"A", "B"}
    sanctions = [s for b in branches
                 for s in get(system, "incentive", "/sanctions", branch_id=b, page_size=500)["items"]]
    levels = {}
    for s in sanctions:
        levels[s["level"]] = levels.get(s["level"], 0) + 1
    assert levels == summary["incentive"]["sanctions"]
    assert levels.get("verbal_warning", 0) > 0 and levels.get("improvement_plan", 0) > 0
    assert [s["status"] for s in sanctions].count("overturned") == summary["incentive"]["overturned"] == 1
    for b in branches:
        fund = get(system, "incentive", f"/funds/{b}/statement", period=summary["incentive"]["fund_period"])
        assert float(fund["available"]) >= 0


def comparable(summary: dict) -> dict:
    """What a seed decides: the counts, not the ids, timings, nor which award a short fund paid first.

    Notices are left out: those for the overdue requirements come with the training worker's next
    sweep, which one run may see before its summary and another not."""
    incentive = summary["incentive"]
    sanctions = {level: n for level, n in incentive["sanctions"].items() if level != "notice"}
    return {"sent": summary["sent"], "complaints": summary["complaints"], "grades": summary["evaluation"]["grades"],
            "training": summary["training"], "sanctions": sanctions, "points": incentive["points"],
            "awards": incentive["awards"]["granted"] + incentive["awards"]["pending"],
            "appeals": (incentive["overturned"], incentive["upheld"])}


def test_demo_runs_again_beside_an_earlier_run_and_the_seed_decides_the_story(system, tmp_path):
    """A second run with the same seed adds a separate network (codes carry the run number) with
    the same story; this time run as a user runs it: the lsq command."""
    first, second = tmp_path / "first.json", tmp_path / "second.json"
    assert demo.main(Namespace(seed=8, bootstrap=system.bootstrap, summary_json=str(first))) == 0
    result = subprocess.run([sys.executable, "-m", "shared.cli", "demo", "--seed", "8", "--bootstrap", system.bootstrap,
                             "--summary-json", str(second)], capture_output=True, text=True, timeout=150)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "申诉撤销 overturned 1" in result.stdout
    one, two = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert (one["tag"], two["tag"]) == ("S8R1", "S8R2")
    assert set(one["branch_ids"]).isdisjoint(two["branch_ids"])
    codes = {b["code"] for b in get(system, "directory", "/branches", page_size=500)["items"]}
    assert {"S8R1-CENTRAL", "S8R2-CENTRAL"} <= codes
    assert comparable(one) == comparable(two)
