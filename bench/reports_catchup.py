"""Reports read-model catch-up over pre-produced events, against a raw consumer of the same topics.

    .venv/bin/python -m bench.reports_catchup [--events 100000] [--branches 200] [--staff 6000]
                                              [--timeout 600] [--database-url URL]

Starts a private Kafka broker (``shared.devstack.kafka.LocalKafka``, free ports, a temporary
directory, removed afterwards), produces a large network's year (directory events first, then
``--events`` facts of 2026 in time order: desk ratings, complaints with their acknowledgements,
resolutions, breaches and ratings, praise and rejections, training, surveys with answers item by
item, evaluations, awards, sanctions) to the real topics, then measures:

- baseline: a bare kafka-python consumer reading and JSON-decoding every record of those topics;
- reports: the worker's ``ReportsRunner`` with ``HANDLERS`` and its default consumer (the
  ``lsq.reports``-style group subscription and inbox, unpaced, as ``services.reports.worker`` runs
  it) applying them to an empty database (SQLite file by default); with ``--compare-pacing`` a
  second run paced by record time (``shared.pacing``'s default window), for comparison.

Prints both rates and the ratio (goal >= 0.2). The issue's size is 1,000,000 events; the default
is 100,000 so a run takes a few minutes on two cores (the rate, not the total, is the figure).
"""
from __future__ import annotations

import argparse
import json
import random
import shutil
import tempfile
import threading
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from services.reports.handlers import HANDLERS
from services.reports.runner import PACING_WINDOW_MS, ReportsRunner
from shared import bus, runtime
from shared.pacing import PACING_WINDOW_MS as SHARED_PACING_WINDOW_MS
from shared.db import Database
from shared.devstack.kafka import LocalKafka
from shared.events import get as get_event_type
from shared.timeutil import UTC, rfc3339

START = datetime(2026, 1, 1, 0, tzinfo=UTC)
YEAR_SECONDS = 365 * 86400
#: What a network produces in a year (desk ratings dominate, then praise, training, complaints).
MIX = [("rating", 50), ("complaint", 8), ("praise", 12), ("training", 12), ("survey", 8), ("evaluation", 5),
       ("award", 2), ("sanction", 3)]


def network_events(count: int, branches: int, staff: int, seed: int = 7) -> list[tuple[datetime, str, dict]]:
    """``(time, event type, data)``: the directory, then about ``count`` facts of one year in time order."""
    rng = random.Random(seed)
    out: list[tuple[str, dict]] = []
    branch_ids = [f"br-{i:03d}" for i in range(branches)]
    for i, b in enumerate(branch_ids):
        out.append((START, "lsq.branch.opened.v1", {"branch_id": b, "code": f"B{i:03d}", "name_zh": f"第{i}分馆",
                                             "name_en": f"Branch {i}"}))
        out.append((START, "lsq.branch.service_point_opened.v1", {"branch_id": b, "service_point_id": f"{b}-desk",
                                                           "name_zh": "总服务台", "name_en": "Main desk",
                                                           "kind": "circulation"}))
    people = []
    for n in range(staff):
        b = branch_ids[n % branches]
        sid = f"st-{n:05d}"
        people.append((sid, b))
        out.append((START, "lsq.staff.joined.v1", {"staff_id": sid, "employee_number": sid, "name": f"员工{n}",
                                            "role": "staff", "branch_id": b, "hire_date": "2020-01-01"}))
    kinds = [k for k, w in MIX for _ in range(w)]
    facts: list[tuple[datetime, str, dict]] = []
    produced = 0
    while produced < count:
        when = START + timedelta(seconds=rng.randrange(YEAR_SECONDS - 40 * 86400))
        sid, b = rng.choice(people)
        kind = rng.choice(kinds)
        if kind == "rating":
            facts.append((when, "lsq.rating.submitted.v1", {
                "rating_id": str(uuid.UUID(int=rng.getrandbits(128))), "branch_id": b, "service_point_id": f"{b}-desk",
                "staff_id": sid, "stars": rng.randint(1, 5), "wait_minutes": rng.randint(0, 40),
                "submitted_at": rfc3339(when)}))
            produced += 1
        elif kind == "complaint":
            cid = str(uuid.UUID(int=rng.getrandbits(128)))
            ref = {"complaint_id": cid, "branch_id": b, "staff_id": sid, "service_point_id": f"{b}-desk"}
            facts.append((when, "lsq.complaint.filed.v1", {
                **ref, "category": "attitude", "severity": "normal", "channel": "web", "filed_at": rfc3339(when),
                "acknowledge_due_at": rfc3339(when + timedelta(hours=24)),
                "resolve_due_at": rfc3339(when + timedelta(hours=168))}))
            acked = when + timedelta(minutes=rng.randint(10, 30 * 60))
            facts.append((acked, "lsq.complaint.acknowledged.v1", {**ref, "acknowledged_at": rfc3339(acked),
                                                                   "handler_id": sid}))
            resolved = when + timedelta(minutes=rng.randint(60, 200 * 60))
            if resolved > when + timedelta(hours=168):
                due = when + timedelta(hours=168)
                facts.append((due, "lsq.complaint.sla_breached.v1", {
                    **ref, "target": "resolve", "severity": "normal", "due_at": rfc3339(due), "handler_id": sid,
                    "breached_at": rfc3339(due)}))
            facts.append((resolved, "lsq.complaint.resolved.v1", {
                **ref, "category": "attitude", "severity": "normal",
                "outcome": rng.choice(["substantiated", "unsubstantiated"]), "filed_at": rfc3339(when),
                "resolved_at": rfc3339(resolved), "handler_id": sid}))
            facts.append((resolved + timedelta(hours=1), "lsq.complaint.rated.v1", {
                **ref, "rating": rng.randint(1, 5), "rated_at": rfc3339(resolved + timedelta(hours=1))}))
            produced += 4
        elif kind == "praise":
            facts.append((when, "lsq.praise.received.v1", {"praise_id": str(uuid.UUID(int=rng.getrandbits(128))),
                                                           "branch_id": b, "staff_id": sid,
                                                           "received_at": rfc3339(when)}))
            produced += 1
        elif kind == "training":
            facts.append((when, "lsq.training.completed.v1", {
                "completion_id": str(uuid.UUID(int=rng.getrandbits(128))), "staff_id": sid, "branch_id": b,
                "source": "course", "kind": "course", "title": "服务规范", "hours": 2.0, "credit_hours": 2.0,
                "completed_on": when.date().isoformat()}))
            produced += 1
        elif kind == "survey":
            triads = [{"item_code": item, "dimension": dim, "minimum": 4, "desired": rng.randint(5, 9),
                       "perceived": rng.randint(1, 9)} for dim, item in (("affect", "AF1"), ("place", "PL1"))]
            facts.append((when, "lsq.survey.response_submitted.v1", {
                "survey_id": "sv-bench", "response_id": str(uuid.UUID(int=rng.getrandbits(128))), "branch_id": b,
                "instrument_id": "core", "instrument_version": 1, "user_group": rng.choice(["student", "faculty"]),
                "submitted_at": rfc3339(when), "triads": triads}))
            produced += 1
        elif kind == "evaluation":
            score = rng.uniform(55, 98)
            facts.append((when, "lsq.evaluation.scored.v1", {
                "evaluation_id": str(uuid.UUID(int=rng.getrandbits(128))), "cycle_id": f"cy-{when.month}",
                "staff_id": sid, "branch_id": b, "period": f"2026-{when.month:02d}", "score": round(score, 2),
                "grade": "excellent" if score >= 90 else "good" if score >= 80 else "satisfactory",
                "dimension_scores": {}, "components_used": ["reader"], "components_missing": [], "revision": 0,
                "published_at": rfc3339(when)}))
            produced += 1
        elif kind == "award":
            facts.append((when, "lsq.award.granted.v1", {
                "award_id": str(uuid.UUID(int=rng.getrandbits(128))), "staff_id": sid, "branch_id": b, "tier": "B",
                "amount": "800.00", "period": "2026-Q3", "policy_version": 1, "reason_en": "good",
                "reason_zh": "良好", "granted_at": rfc3339(when)}))
            produced += 1
        elif kind == "sanction":
            sanction = str(uuid.UUID(int=rng.getrandbits(128)))
            facts.append((when, "lsq.sanction.issued.v1", {
                "sanction_id": sanction, "staff_id": sid, "branch_id": b, "level": "notice", "policy_version": 1,
                "reason_en": "complaint", "reason_zh": "投诉属实", "issued_at": rfc3339(when),
                "expires_at": rfc3339(when + timedelta(days=365)),
                "appeal_deadline": rfc3339(when + timedelta(days=14))}))
            produced += 1
    facts.sort(key=lambda f: f[0])
    return out + facts


def produce(bootstrap: str, stream: list[tuple[datetime, str, dict]]) -> list[str]:
    """Validate, encode and write every event to its real topic; returns the topics written."""
    from shared.events.envelope import Event
    topics = sorted({get_event_type(t).topic for _w, t, _d in stream} | {get_event_type(t).topic for t in HANDLERS})
    bus.ensure_topics(bootstrap, topics)
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), acks=1, linger_ms=20, batch_size=512 * 1024)
    for when, event_type, data in stream:
        kind = get_event_type(event_type)
        plain = kind.validate(data)
        event = Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                      time=when, data=kind.load(plain), key=kind.key_of(plain), topic=kind.topic)
        producer.send(kind.topic, key=event.key.encode(), value=kind.encode(plain)[1].encode(),
                      headers=event.headers())
    producer.flush()
    producer.close()
    return topics


def raw_consume(bootstrap: str, topics: list[str], expected: int, timeout: float) -> float:
    """Baseline: a bare kafka-python consumer reading and JSON-decoding every record; seconds."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None, enable_auto_commit=False,
                             max_poll_records=500)
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen, started = 0, time.perf_counter()
    while seen < expected and time.perf_counter() - started < timeout:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                json.loads(record.value)
            seen += len(records)
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"baseline consumer read only {seen} of {expected}")
    return elapsed


def run_worker(url: str, bootstrap: str, expected: int, timeout: float,
               pacing_window_ms: int | None = PACING_WINDOW_MS) -> tuple[float, int]:
    """The reports consumer as its worker runs it, until every record was handled; (seconds, handled)."""
    db = Database(url, "reports")
    db.migrate()
    runtime.tune_garbage_collector()  # as a worker process does (shared.worker)
    runner = ReportsRunner(db, bootstrap, f"lsq.reports.bench-{uuid.uuid4().hex[:6]}", HANDLERS,
                           pacing_window_ms=pacing_window_ms)
    handled = [0]
    original = runner.process

    def counting(records):
        outcomes = original(records)
        handled[0] += len(records)
        return outcomes

    runner.process = counting
    started = time.perf_counter()
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    while handled[0] < expected and time.perf_counter() - started < timeout:
        time.sleep(0.05)
    elapsed = time.perf_counter() - started
    runner.stop.set()
    thread.join(30)
    db.dispose()
    return elapsed, handled[0]


def _second_url(url: str, folder: Path) -> str:
    """The database of a second run: another SQLite file; a given server database is reused (the
    second run's group is new, so its events are applied again on top: the rate is the figure)."""
    return f"sqlite:///{folder / 'reports-2.db'}" if url.startswith("sqlite") else url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000, help="facts of the year (the issue: 1,000,000)")
    parser.add_argument("--branches", type=int, default=200)
    parser.add_argument("--staff", type=int, default=6000)
    parser.add_argument("--timeout", type=float, default=600, help="seconds the worker may take")
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--compare-pacing", action="store_true",
                        help="also time the runner paced by record time (the shared default window)")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-reports-catchup-"))
    broker = LocalKafka(folder / "kafka")
    try:
        broker.start()
        bootstrap = broker.bootstrap
        stream = network_events(args.events, args.branches, args.staff)
        count = len(stream)
        started = time.perf_counter()
        topics = produce(bootstrap, stream)
        del stream
        print(f"produced {count} events ({args.branches} branches, {args.staff} staff, 2026) to {len(topics)} topics "
              f"in {time.perf_counter() - started:.1f} s", flush=True)
        baseline = count / raw_consume(bootstrap, topics, count, args.timeout)
        print(f"  raw kafka-python consumer: {baseline:9.0f} events/s", flush=True)
        url = args.database_url or f"sqlite:///{folder / 'reports.db'}"
        engine = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
        runs = [("as the worker, unpaced" if PACING_WINDOW_MS is None else "as the worker", PACING_WINDOW_MS)]
        if args.compare_pacing:
            runs.append((f"paced, {SHARED_PACING_WINDOW_MS} ms window", SHARED_PACING_WINDOW_MS))
        for index, (label, window) in enumerate(runs):
            run_url = url if index == 0 else _second_url(url, folder)
            elapsed, handled = run_worker(run_url, bootstrap, count, args.timeout, window)
            if handled < count:
                print(f"  time budget of {args.timeout:.0f} s reached: rate over the {handled} events handled")
            rate = handled / elapsed
            print(f"  reports worker ({engine}, {label}): {rate:9.0f} events/s ({handled} in {elapsed:.1f} s)")
            print(f"  ratio reports / raw consumer: {rate / baseline:.3f}   (goal >= 0.2)", flush=True)
    finally:
        broker.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
