"""Survey results over 100,000 answers, against fetching the same rows into Python, same run.

    .venv/bin/python -m bench.feedback_survey_results [--answers 100000] [--repeat 5]
                                                      [--database-url postgresql+psycopg://...]

Fills a survey of the default questionnaire (22 LibQUAL+-style triads, 3 Likert, NPS, user group)
with ``--answers`` item answers (rows of ``survey_answers``) spread over 10 branches and 6 user
groups, then times ``surveys.compute_results``: every item and dimension, overall, by branch and
by user group, all GROUP BY queries with small-group suppression in SQL. The baseline is the
least any Python-loop approach must pay: reading the same answer rows into Python (no arithmetic).
Goal: results < 1 s.
"""
from __future__ import annotations

import argparse
import random
import shutil
import statistics
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from services.feedback import default_instrument, store, surveys
from shared.db import Database
from shared.timeutil import utcnow

BRANCHES = [f"bench-branch-{i}" for i in range(10)]
GROUPS = ["student", "working_adult", "senior", "parent_child", "researcher", "other"]


def fill(db: Database, answers: int, seed: int = 7) -> str:
    """A survey with ``answers`` answer rows; returns its id."""
    rng = random.Random(seed)
    items = default_instrument.items()
    rated = [i for i in items if i["type"] in ("triad", "likert", "nps")]
    per_response = len(rated) + 1  # + the user-group choice
    responses = max(1, answers // per_response)
    now = utcnow()
    survey_id = str(uuid.uuid4())
    with db.transaction() as conn:
        instrument = store.instrument_by_code(conn, default_instrument.CODE)
        conn.execute(store.surveys.insert(), {
            "id": survey_id, "instrument_id": instrument["id"], "title_zh": "基准", "title_en": "bench",
            "branch_ids": "[]", "opens_at": now - timedelta(days=1), "closes_at": now + timedelta(days=1),
            "open_link": True, "closed_at": None, "created_at": now, "created_by": "bench"})
    rows, response_rows, written = [], [], 0
    for _ in range(responses):
        response_id = str(uuid.uuid4())
        branch, group = rng.choice(BRANCHES), rng.choice(GROUPS)
        response_rows.append({"id": response_id, "survey_id": survey_id, "branch_id": branch,
                              "user_group": group, "submitted_at": now})
        base = {"survey_id": survey_id, "response_id": response_id, "branch_id": branch, "user_group": group,
                "minimum": None, "desired": None, "perceived": None, "na": False, "value": None,
                "choice": None, "text": None}
        rows.append({**base, "item_code": "UG", "item_type": "choice", "dimension": None, "choice": group})
        for item in rated:
            row = {**base, "item_code": item["code"], "item_type": item["type"], "dimension": item["dimension"]}
            if item["type"] == "triad":
                if rng.random() < 0.05:
                    row["na"] = True
                else:
                    minimum = rng.randint(1, 7)
                    row.update(minimum=minimum, desired=rng.randint(minimum, 9), perceived=rng.randint(1, 9))
            else:
                row["value"] = rng.randint(1, 5) if item["type"] == "likert" else rng.randint(0, 10)
            rows.append(row)
        if len(rows) >= 20000:
            written += _flush(db, rows, response_rows)
    written += _flush(db, rows, response_rows)
    return survey_id, written, responses


def _flush(db: Database, rows: list, response_rows: list) -> int:
    count = len(rows)
    if rows:
        with db.transaction() as conn:
            conn.execute(store.survey_responses.insert(), response_rows)
            conn.execute(store.survey_answers.insert(), rows)
    rows.clear()
    response_rows.clear()
    return count


def fetch_all(db: Database, survey_id: str) -> int:
    """The baseline: read every answer row of the survey into Python."""
    a = store.survey_answers.c
    with db.read() as conn:
        return len(conn.execute(select(a.item_code, a.item_type, a.dimension, a.branch_id, a.user_group, a.minimum,
                                       a.desired, a.perceived, a.na, a.value, a.choice)
                                .where(a.survey_id == survey_id)).all())


def timed(function, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-survey-"))
    try:
        url = args.database_url or f"sqlite:///{folder / 'feedback.db'}"
        db = Database(url, "feedback")
        db.migrate()
        started = time.perf_counter()
        survey_id, written, responses = fill(db, args.answers)
        print(f"filled {written} answers ({responses} responses) in {time.perf_counter() - started:.1f} s "
              f"on {'PostgreSQL' if url.startswith('postgresql') else 'SQLite'}")
        base, rows = timed(lambda: fetch_all(db, survey_id), args.repeat)

        def compute():
            with db.read() as conn:
                return surveys.compute_results(conn, survey_id)

        measured, results = timed(compute, args.repeat)
        figures = len(results["items"]) + len(results["dimensions"]) + len(results["choices"])
        print(f"  baseline: fetch {rows} answer rows into Python   {base * 1000:8.1f} ms (median of {args.repeat})")
        print(f"  survey results ({figures} figures, 3 groupings)  {measured * 1000:8.1f} ms (median of {args.repeat})")
        print(f"  ratio results / fetch-only: {measured / base:.2f}   goal: results < 1000 ms -> "
              f"{'met' if measured < 1 else 'NOT met'}")
        db.dispose()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
