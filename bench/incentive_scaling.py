"""Two incentive worker processes in one consumer group against one.

    .venv/bin/python -m bench.incentive_scaling [--events 40000]

Pre-produces a mixed event stream to private topics (6 partitions each), then drains it twice
into fresh databases: once with one worker process, once with two in the same consumer group
(Kafka splits the partitions between them). Each worker is the real consumer (``IncentiveRunner``,
group subscription with rebalancing). Time runs from starting the processes until every event is
in the inbox. Goal: two workers >= 1.6 x one.
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
    db = Database(url, "incentive")
    runner = IncentiveRunner(db, os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092"), group, HANDLERS,
                             topics=[prefix + t for t in consumed_topics()], poll_timeout_ms=200)
    signal.signal(signal.SIGTERM, lambda *_: runner.stop.set())
    runner.run()


def drain(url: str, prefix: str, processes: int, expected: int, timeout: float) -> float:
    db = Database(url, "incentive")
    db.migrate()
    set_budgets(db)
    group = f"bench-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    started = time.perf_counter()
    workers = [subprocess.Popen([sys.executable, "-m", "bench.incentive_scaling", "--worker", "--url", url,
                                 "--prefix", prefix, "--group", group], env=env) for _ in range(processes)]
    try:
        done = 0
        while time.perf_counter() - started < timeout:
            with db.read() as conn:
                done = conn.execute(select(func.count()).select_from(processed_events)).scalar_one()
            if done >= expected:
                break
            time.sleep(0.25)
        elapsed = time.perf_counter() - started
        if done < expected:
            raise RuntimeError(f"{processes} worker(s) applied {done} of {expected} in {timeout}s")
        return elapsed
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        db.dispose()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="one vs two incentive workers")
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--timeout", type=float, default=75)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    parser.add_argument("--group", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.url, args.prefix, args.group)
        return
    from services.incentive.replay import consumed_topics
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = private_topics(prefix, consumed_topics(), partitions=6)
    stream = mixed_events(args.events)
    urls = [fresh_database("one"), fresh_database("two")]
    try:
        produce(prefix, stream)
        one = drain(urls[0], prefix, 1, len(stream), args.timeout)
        print(f"one worker:  {len(stream) / one:7.0f} events/s ({one:.1f} s for {len(stream)} events)")
        two = drain(urls[1], prefix, 2, len(stream), args.timeout)
        print(f"two workers: {len(stream) / two:7.0f} events/s ({two:.1f} s)")
        print(f"ratio two / one: {one / two:.2f}  (goal >= 1.6)")
    finally:
        delete_topics(topics)
        for url in urls:
            drop_database(url)


if __name__ == "__main__":
    main()
