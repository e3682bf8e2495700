"""The training worker's overdue sweep over 10,000 staff × 20 requirements (goal: < 5 s).

    .venv/bin/python -m bench.training_sweep [--staff 10000] [--per-staff 20] [--postgres URL]

The data: 10,000 active staff of 40 branches, each with 20 requirements (one annual-hours
requirement and 19 course requirements: onboarding, regulation, recurrent, remedial) with deadlines
spread over the year around today; past deadlines are mostly met (90 %), future ones partly met
(30 %). So the first sweep meets a realistic backlog: about 5 % of the rows overdue and some
hundreds due within the week, and ``lsq.requirement.overdue.v1`` / ``due_soon.v1`` go to the outbox
for each. Figures:

- first sweep: the goal; finds and notifies the whole backlog;
- next sweep (same day): what the worker does every few minutes: finds nothing new;
- new year: the sweep on 1 January (after that of 31 December), creating 10,000 annual
  requirements for the new year and reporting the old year's unmet hours: the heaviest sweep of
  a normal year;
- baseline: reading the same 200,000 requirement rows once, without any logic or writes; the
  ratio sweep / baseline says what the sweep costs over merely reading its input.

SQLite always; PostgreSQL too when ``--postgres`` (or ``DATABASE_URL`` with postgresql) is given,
on a throwaway database dropped at the end. Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import create_engine, func, select, text

from services.training import service, store
from shared.db import Database
from shared.directory_view import known_staff
from shared.outbox import outbox

KINDS = ("onboarding", "regulation", "recurrent", "remedial")


def populate(db: Database, staff: int, per_staff: int, today: date, rng: random.Random) -> None:
    """Insert the staff (directory view) and their requirements in bulk."""
    now = datetime.now(timezone.utc)
    courses = [str(uuid.uuid4()) for _ in range(per_staff)]
    with db.transaction() as conn:
        conn.execute(known_staff.insert(), [
            {"staff_id": f"s{i:05d}", "employee_number": f"E{i:05d}", "name": f"馆员{i}", "role": "staff",
             "branch_id": f"b{i % 40:02d}", "status": "active", "hire_date": date(2015, 3, 1), "left_on": None,
             "updated_at": now} for i in range(staff)])
    rows = []
    for i in range(staff):
        staff_id, branch_id = f"s{i:05d}", f"b{i % 40:02d}"
        rows.append(dict(id=str(uuid.uuid4()), dedup_key=f"annual:{staff_id}:{today.year}", staff_id=staff_id,
                         branch_id=branch_id, kind="annual_hours", course_id=None, course_version=None, area=None,
                         required_hours=40.0, title=f"40 continuing-education hours in {today.year}", title_zh=None,
                         reason="annual", reason_zh=None, due_on=date(today.year, 12, 31), period=str(today.year),
                         status="open", assigned_at=now, completed_on=None, completion_id=None, closed_at=None,
                         caused_by=None))
        for k in range(per_staff - 1):
            due = today + timedelta(days=rng.randint(-180, 180))
            met = rng.random() < (0.9 if due < today else 0.3)
            rows.append(dict(id=str(uuid.uuid4()), dedup_key=f"bench:{staff_id}:{k}", staff_id=staff_id,
                             branch_id=branch_id, kind=KINDS[k % 4], course_id=courses[k], course_version=1,
                             area=None, required_hours=None, title=f"Course {k}", title_zh=f"课程 {k}",
                             reason="bench", reason_zh=None, due_on=due, period=str(due.year),
                             status="completed" if met else "open", assigned_at=now,
                             completed_on=today if met else None, completion_id=None, closed_at=None,
                             caused_by=None))
    with db.transaction() as conn:
        for i in range(0, len(rows), 5000):
            conn.execute(store.requirements.insert(), rows[i:i + 5000])
    if not db.is_sqlite:
        with db.engine.connect() as conn:
            conn.execute(text("ANALYZE"))
            conn.commit()


def baseline(db: Database) -> tuple[float, int]:
    """Read every requirement row once (the sweep's input), nothing else."""
    started = time.perf_counter()
    with db.read() as conn:
        count = sum(1 for _ in conn.execute(select(store.requirements)))
    return time.perf_counter() - started, count


def run(url: str, label: str, staff: int, per_staff: int) -> dict:
    db = Database(url, "training")
    db.migrate()
    today = service.today()
    started = time.perf_counter()
    populate(db, staff, per_staff, today, random.Random(42))
    setup = time.perf_counter() - started
    base, rows = baseline(db)
    started = time.perf_counter()
    first = service.sweep(db, on=today)
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    second = service.sweep(db, on=today)
    second_s = time.perf_counter() - started
    base2, _ = baseline(db)
    with db.read() as conn:
        events = conn.execute(select(func.count()).select_from(outbox)).scalar_one()
    # New Year's Day, after the sweeps of the year's last day: every staff member gets next year's
    # annual requirement, and this year's unmet annual hours (all of them here) fall overdue.
    service.sweep(db, on=date(today.year, 12, 31))
    started = time.perf_counter()
    new_year = service.sweep(db, on=date(today.year + 1, 1, 1))
    new_year_s = time.perf_counter() - started
    db.dispose()
    base = min(base, base2)
    print(f"[{label}] {staff:,} staff × {per_staff} = {rows:,} requirements (setup {setup:.1f} s)")
    print(f"[{label}]   first sweep : {first_s:6.2f} s  overdue {first['overdue']:,}, due soon "
          f"{first['due_soon']:,}, {events:,} events written   (goal < 5 s: {'met' if first_s < 5 else 'NOT met'})")
    print(f"[{label}]   next sweep  : {second_s:6.2f} s  overdue {second['overdue']}, due soon {second['due_soon']}")
    print(f"[{label}]   new year    : {new_year_s:6.2f} s  {new_year['created']:,} annual requirements created, "
          f"overdue {new_year['overdue']:,}, due soon {new_year['due_soon']:,}")
    print(f"[{label}]   baseline    : {base:6.2f} s  reading the {rows:,} rows")
    print(f"[{label}]   ratio       : first sweep / baseline = {first_s / base:.2f}×, "
          f"next sweep / baseline = {second_s / base:.2f}×, new year / baseline = {new_year_s / base:.2f}×")
    return {"first": first_s, "next": second_s, "new_year": new_year_s, "baseline": base}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--staff", type=int, default=10_000)
    parser.add_argument("--per-staff", type=int, default=20)
    default_pg = os.environ.get("DATABASE_URL", "")
    parser.add_argument("--postgres", default=default_pg if default_pg.startswith("postgresql") else None,
                        help="admin URL of a PostgreSQL server (a throwaway database is created on it)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(f"sqlite:///{Path(tmp) / 'training-bench.db'}", "sqlite", args.staff, args.per_staff)
    if args.postgres:
        from sqlalchemy.engine import make_url

        from shared.devstack.postgres import create_database_at
        name = f"lsq_bench_training_{uuid.uuid4().hex[:8]}"
        url = create_database_at(args.postgres, name)
        if make_url(url).host not in ("127.0.0.1", "localhost", None):
            raise SystemExit("benchmarks talk to 127.0.0.1 only")
        try:
            run(url, "postgresql", args.staff, args.per_staff)
        finally:
            admin = create_engine(args.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
