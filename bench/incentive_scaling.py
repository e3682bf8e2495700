"""Two incentive worker processes in one consumer group against one.

    .venv/bin/python -m bench.incentive_scaling [--events 120000] [--produce-during]

Runs the same mixed event stream twice, each time on fresh private topics (6 partitions each) and
a fresh database: once with one worker process, once with two in the same consumer group (Kafka
splits the partitions between them). Each worker is the real consumer (``IncentiveRunner``, group
subscription with rebalancing). The stream is produced first, as for the throughput bench, so
that the producer does not take CPU from the workers while they are measured; then the workers
start, and the clock starts once the group is stable with every member assigned (process start-up
and the group join are the same fixed cost for one worker or ten, and not throughput). Events a
worker applied before that moment are not counted; the clock stops when every event is in the
inbox. ``--produce-during`` produces the stream after the group is stable instead (the method
used before 2026-11-29, session 5). Goal: two workers >= 1.6 x one.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid

from sqlalchemy import func, select

from bench.incentive_common import (delete_topics, drop_database, fresh_database, mixed_events, private_topics,
                                    produce, set_budgets)
from shared.db import Database
from shared.inbox import processed_events


def worker_main(url: str, prefix: str, group: str) -> None:
    """One worker process: the incentive consumer on the private topics, in ``group``."""
    import signal

    from services.incentive.handlers import HANDLERS
    from services.incentive.replay import consumed_topics
    from services.incentive.runner import IncentiveRunner
    from shared import runtime
    db = Database(url, "incentive")
    runtime.tune_garbage_collector()  # as a worker process does once started (shared.worker)
    runner = IncentiveRunner(db, os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"), group, HANDLERS,
                             topics=[prefix + t for t in consumed_topics()], poll_timeout_ms=200)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    runner.run()


def _wait_for_stable_group(group: str, members: int, partitions: int, timeout: float = 90) -> None:
    """Block until the consumer group is Stable with ``members`` members sharing all ``partitions``
    (a group can be Stable while a member holds no partition yet; runs that started the clock
    then stalled for about 3 s until the next rebalance gave it its share)."""
    from kafka import KafkaAdminClient

    from bench.incentive_common import BOOTSTRAP
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP.split(","))
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = admin.describe_groups([group]).get(group) or {}
            held = sum(len(t["partitions"]) for m in state.get("members") or []
                       for t in (m.get("member_assignment") or {}).get("assigned_partitions") or [])
            if (state.get("group_state") == "Stable" and len(state.get("members") or []) == members
                    and held == partitions):
                return
            time.sleep(0.2)
        raise RuntimeError(f"consumer group {group} not stable with {members} members in {timeout}s")
    finally:
        admin.close()


def _applied(db: Database) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(processed_events)).scalar_one()


def drain(url: str, stream: list, processes: int, timeout: float, produce_during: bool = False) -> float:
    """Events a second for ``processes`` workers in one stable group to apply ``stream``."""
    from services.incentive.replay import consumed_topics
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = private_topics(prefix, consumed_topics(), partitions=6)
    db = Database(url, "incentive")
    db.migrate()
    set_budgets(db)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    if not produce_during:
        produce(prefix, stream)
    workers = [subprocess.Popen([sys.executable, "-m", "bench.incentive_scaling", "--worker", "--url", url,
                                 "--prefix", prefix, "--group", group], env=env) for _ in range(processes)]
    try:
        _wait_for_stable_group(group, processes, partitions=6 * len(topics))
        started = time.perf_counter()
        before = _applied(db)  # what the first member took while the others were joining
        if produce_during:
            produce(prefix, stream)
        done = before
        while time.perf_counter() - started < timeout:
            done = _applied(db)
            if done >= len(stream):
                break
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        if done < len(stream):
            raise RuntimeError(f"{processes} worker(s) applied {done} of {len(stream)} in {timeout}s")
        return (len(stream) - before) / elapsed
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        db.dispose()
        delete_topics(topics)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one vs two incentive workers")
    parser.add_argument("--events", type=int, default=120_000)  # two workers take about 14 s
    parser.add_argument("--timeout", type=float, default=75)
    parser.add_argument("--produce-during", action="store_true",
                        help="produce the stream once the group is stable, while the workers run")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.url, args.prefix, args.group)
        return
    stream = mixed_events(args.events)
    urls = [fresh_database("one"), fresh_database("two")]
    try:
        one = drain(urls[0], stream, 1, args.timeout, args.produce_during)
        how = "produced while measuring" if args.produce_during else "pre-produced"
        print(f"one worker:  {one:7.0f} events/s ({len(stream)} events, {how})")
        two = drain(urls[1], stream, 2, args.timeout, args.produce_during)
        print(f"two workers: {two:7.0f} events/s")
        print(f"ratio two / one: {two / one:.2f}  (goal >= 1.6)")
    finally:
        for url in urls:
            drop_database(url)


if __name__ == "__main__":
    main()
