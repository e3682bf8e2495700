"""Report latency over one year through gunicorn, with two years of rollups kept and then four, in the same run.

    .venv/bin/python -m bench.reports_queries [--branches 200] [--repeat 20] [--workers 2] [--database-url URL]

Writes the rollups a large network would keep (``--branches`` branches, 30 staff each: a desk row
per branch and day, praise, training, awards, sanctions, appeals and survey rows, 3 complaints per
branch and day) straight into the read model for 2024-2026, then times every report for the whole
network over 2026 through gunicorn on 127.0.0.1 (a free port, the gthread workers ``lsq up`` runs),
one request at a time: first with 2025 and 2026 written
(the year shown and the year its changes compare with), then after 2023 and 2024 were added too. The ratio shows that the rollups of the period shown, not
the history kept, set the cost (goal ≤ 1.3; the issue's p95 goal is 300 ms through gunicorn).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from datetime import date, datetime, timedelta, timezone

from bench import gunicorn_process
from services.reports import store
from shared.db import insert_rows
from shared.directory_view import known_branches, known_staff
from shared.devstack.ports import free_port
from shared.devstack.stack import WEB_THREADS
from tests.helpers import TEST_SECRET, auth, make_app

ROOT = Path(__file__).resolve().parent.parent
SECRET = TEST_SECRET  # the tokens of tests.helpers.auth

REPORTS = ["/reports/overview?period=2026", "/reports/comparison?period=2026&sort=praise",
           "/reports/trends?from=2026-01&to=2026-12", "/reports/sla?period=2026", "/reports/surveys?period=2026",
           "/reports/review?period=2026"]


def fill_year(db, year: int, branches: list[str], rng: random.Random) -> None:
    """One year of rollups for every branch."""
    day, end = date(year, 1, 1), date(year, 12, 31)
    while day <= end:
        rows = {name: [] for name in ("desk", "wait", "praise", "training", "award", "sanction", "appeal", "survey", "complaint")}
        for b in branches:
            hist = {str(m): rng.randint(0, 3) for m in range(0, 30, 5)}
            rows["desk"].append({"day": day, "branch_id": b, "service_point_id": f"{b}-desk", "staff_id": "",
                                 "ratings": 20, "stars_sum": rng.randint(60, 100), "waits": sum(hist.values()),
                                 "wait_sum": sum(int(m) * n for m, n in hist.items())})
            rows["wait"] += [{"day": day, "branch_id": b, "minutes": int(m), "waits": n} for m, n in hist.items() if n]
            rows["praise"].append({"day": day, "branch_id": b, "staff_id": "", "praise": rng.randint(0, 3)})
            rows["training"].append({"day": day, "branch_id": b, "staff_id": "", "completions": 1, "hours": 2.0,
                                     "credit_hours": 2.0})
            rows["award"].append({"day": day, "branch_id": b, "granted": 1, "granted_amount": 800.0, "revoked": 0,
                                  "revoked_amount": 0.0, "pending": 0})
            rows["sanction"].append({"day": day, "branch_id": b, "level": "notice", "issued": 1, "revoked": 0})
            rows["appeal"].append({"day": day, "branch_id": b, "kind": "sanction", "filed": 1, "upheld": 1,
                                   "overturned": 0})
            rows["survey"].append({"day": day, "branch_id": b, "user_group": "student", "dimension": "affect",
                                   "item_code": "AF1", "n": 3, "s_min": 12, "s_des": 21, "s_per": 18})
            for k in range(3):
                filed = datetime(day.year, day.month, day.day, 2 + k, tzinfo=timezone.utc)
                late = rng.random() < 0.1
                rows["complaint"].append({
                    "complaint_id": f"{b}-{day}-{k}", "branch_id": b, "staff_id": None, "service_point_id": None,
                    "handler_id": None, "severity": "normal", "category": "waiting", "filed_at": filed,
                    "filed_day": day, "ack_due_at": filed + timedelta(hours=24),
                    "resolve_due_at": filed + timedelta(days=7), "acknowledged_at": filed + timedelta(hours=3),
                    "resolved_at": filed + timedelta(days=2 if not late else 9), "outcome": "unsubstantiated",
                    "rating": 4, "ack_at_risk": False, "resolve_at_risk": late, "ack_breached": False,
                    "resolve_breached": late, "ack_breach_due_at": None,
                    "resolve_breach_due_at": filed + timedelta(days=7) if late else None, "reopened_at": None})
        with db.transaction() as conn:
            for name, table in (("desk", store.desk_daily), ("wait", store.desk_wait_daily), ("praise", store.praise_daily),
                                ("training", store.training_daily), ("award", store.award_daily),
                                ("sanction", store.sanction_daily), ("appeal", store.appeal_daily),
                                ("survey", store.survey_daily), ("complaint", store.complaint_facts)):
                insert_rows(conn, table, rows[name])
        day += timedelta(days=1)


def _get(port: int, url: str, headers: dict) -> float:
    """One GET, read to the end; its time in milliseconds."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", url, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    if response.status != 200:
        raise RuntimeError(f"{url}: {response.status}")
    return (time.perf_counter() - start) * 1000


def time_reports(port: int, repeat: int) -> dict[str, float]:
    """p95 in milliseconds of each report (nearest rank), one request at a time."""
    headers = auth("network_admin")
    result = {}
    for url in REPORTS:
        _get(port, url, headers)  # warm each worker's caches
        _get(port, url, headers)
        samples = sorted(_get(port, url, headers) for _ in range(repeat))
        result[url] = samples[max(0, int(round(0.95 * len(samples))) - 1)]
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (gthread, as `lsq up` runs them)")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stopped from outside: still stop gunicorn
    rng = random.Random(7)
    folder = tempfile.mkdtemp(prefix="lsq-bench-reports-")
    server = None
    try:
        url = args.database_url or f"sqlite:///{folder}/reports.db"
        app = make_app("reports", url)
        db = app.extensions["lsq"].db
        branches = [f"bench-{i:03d}" for i in range(args.branches)]
        with db.transaction() as conn:
            conn.execute(known_branches.insert(), [{"branch_id": b, "code": b.upper(), "name_zh": f"分馆{b}",
                                                    "name_en": b} for b in branches])
            conn.execute(known_staff.insert(), [{"staff_id": f"{b}-s{i}", "name": f"s{i}", "role": "staff",
                                                 "branch_id": b, "status": "active",
                                                 "updated_at": datetime.now(timezone.utc)}
                                                for b in branches for i in range(30)])
        started = time.perf_counter()
        fill_year(db, 2025, branches, rng)
        fill_year(db, 2026, branches, rng)
        print(f"filled 2025-2026 for {args.branches} branches in {time.perf_counter() - started:.1f} s")
        env = {**os.environ, "LSQ_REPORTS_DATABASE_URL": url, "LSQ_JWT_SECRET": SECRET, "LSQ_LOG_LEVEL": "WARNING",
               "PYTHONPATH": str(ROOT)}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        port = free_port()
        server = gunicorn_process.start("services.reports:create_app()", port, env, Path(folder) / "gunicorn.log",
                                        workers=args.workers, threads=WEB_THREADS, timeout=120)
        one = time_reports(port, args.repeat)
        fill_year(db, 2023, branches, rng)
        fill_year(db, 2024, branches, rng)
        three = time_reports(port, args.repeat)
        print(f"{'report':48} {'p95 2 years':>12} {'p95 4 years':>12} {'ratio':>7}")
        for url in REPORTS:
            print(f"{url:48} {one[url]:10.1f}ms {three[url]:10.1f}ms {three[url] / one[url]:7.2f}")
        print(f"overall ratio (sum of p95s): {sum(three.values()) / sum(one.values()):.2f} (history kept must not set the cost; goal <= 1.3)")
        engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        print(f"max p95 with four years kept: {max(three.values()):.0f} ms through gunicorn gthread x{args.workers}, "
              f"{engine}, {args.branches} branches (goal: < 300 ms)")
        db.dispose()
    finally:
        if server is not None:
            gunicorn_process.stop(server)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
