"""End to end: a complaint resolved → the sanction visible through the incentive API.

    .venv/bin/python -m bench.incentive_latency [--rate 50] [--seconds 20]

Starts the incentive worker (consumer + outbox relay) and web (gunicorn, 2 workers) as real
processes on a fresh database (PostgreSQL when DATABASE_URL names a server, else SQLite) and
private topics. Produces substantiated ``lsq.complaint.resolved.v1`` events (valid CloudEvents) at
``--rate`` a second, and for each polls ``GET /ledger?cause_id=<event id>`` every 10 ms until the
verbal warning citing it shows. Baseline in the same run: the broker alone, the time from producing
a record to a plain consumer receiving it. Goal: p50 <= 100 ms, p99 <= 500 ms at 50 a second.
"""
from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from datetime import timedelta

import requests
from kafka import KafkaConsumer, KafkaProducer

from bench.incentive_common import (BOOTSTRAP, delete_topics, drop_database, fresh_database, percentile,
                                    private_topics)
from shared import runtime
from shared.auth import issue_token
from shared.devstack.ports import free_port
from shared.events.envelope import Event
from shared.timeutil import rfc3339, utcnow

SECRET = "bench-secret-not-for-production-use"  # 32+ bytes, as PyJWT asks of HS256 keys


def _complaint(staff_id: str) -> Event:
    now = utcnow()
    data = {"complaint_id": str(uuid.uuid4()), "branch_id": "bench-branch-0", "staff_id": staff_id,
            "category": "attitude", "severity": "normal", "outcome": "substantiated",
            "filed_at": rfc3339(now - timedelta(days=1)), "resolved_at": rfc3339(now), "handler_id": None,
            "caused_by": []}
    return Event(id=str(uuid.uuid4()), type="lsq.complaint.resolved.v1", source="/lsq/feedback",
                 subject=data["complaint_id"], time=now, data=data, key=staff_id)


# -- the worker process (run by the benchmark itself) -------------------------------------------
def worker_main(url: str, prefix: str) -> None:
    """The incentive worker on private topics: its consumer and its relay (publishing under prefix)."""
    from services.incentive.handlers import HANDLERS
    from services.incentive.replay import consumed_topics
    from services.incentive.runner import IncentiveRunner
    from shared.bus import make_producer
    from shared.db import Database
    from shared.relay import OutboxRelay

    class Prefixed:
        def __init__(self):
            self.producer = make_producer(BOOTSTRAP)

        def send(self, topic, **kwargs):
            return self.producer.send(prefix + topic, **kwargs)

        def flush(self, timeout=None):
            self.producer.flush(timeout=timeout)

        def close(self, timeout=None):
            self.producer.close(timeout=timeout)

    db = Database(url, "incentive")
    db.migrate()
    relay = OutboxRelay(db, BOOTSTRAP, poll_seconds=0.2, producer_factory=Prefixed)
    threading.Thread(target=relay.run, daemon=True).start()
    topics = [prefix + t for t in consumed_topics()]
    runner = IncentiveRunner(db, BOOTSTRAP, f"bench-{prefix}incentive", HANDLERS, topics=topics, poll_timeout_ms=100)
    runtime.tune_garbage_collector()  # as a worker process does once started (shared.worker)
    import signal
    signal.signal(signal.SIGTERM, lambda *_: (runner.stop.set(), relay.stop.set()))
    runner.run()


# -- measurement --------------------------------------------------------------------------------
def baseline(prefix: str, rate: int, seconds: float) -> list[float]:
    """Produce → plain consumer, at the same rate: what the broker alone costs."""
    topic = prefix + "baseline"  # a topic of its own: the worker must not see these records
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP.split(","), group_id=f"bench-{uuid.uuid4().hex}",
                             auto_offset_reset="latest", enable_auto_commit=False, fetch_max_wait_ms=10)
    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    for tp in consumer.assignment():
        consumer.seek_to_end(tp)
    consumer.poll(timeout_ms=100)
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP.split(","), acks="all", linger_ms=0)
    stop = threading.Event()

    def read():
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for r in records:
                    got.setdefault(r.key.decode(), now)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    count = int(rate * seconds)
    start = time.perf_counter()
    for i in range(count):
        key = f"baseline-{i}"
        time.sleep(max(0.0, start + i / rate - time.perf_counter()))
        sent[key] = time.perf_counter()
        producer.send(topic, key=key.encode(), value=b"{}")
        producer.flush()
    deadline = time.perf_counter() + 10
    while len(got) < count and time.perf_counter() < deadline:
        time.sleep(0.05)
    stop.set()
    reader.join(5)
    consumer.close()
    producer.close()
    return [got[k] - sent[k] for k in sent if k in got]


def measure(port: int, prefix: str, rate: int, seconds: float) -> tuple[list[float], int]:
    token = issue_token(SECRET, "auditor")
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP.split(","), acks="all", linger_ms=0)
    pending: queue.Queue = queue.Queue()
    latencies: list[float] = []
    missing = [0]
    lock = threading.Lock()

    def poll_api():
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {token}"
        while True:
            item = pending.get()
            if item is None:
                return
            event_id, sent = item
            deadline = sent + 10
            while time.perf_counter() < deadline:
                r = session.get(f"http://127.0.0.1:{port}/ledger", params={"cause_id": event_id}, timeout=5)
                if r.status_code == 200 and r.json()["total"] >= 1:
                    assert r.json()["items"][0]["level"] == "verbal_warning"
                    with lock:
                        latencies.append(time.perf_counter() - sent)
                    break
                time.sleep(0.01)
            else:
                with lock:
                    missing[0] += 1

    pollers = [threading.Thread(target=poll_api, daemon=True) for _ in range(12)]
    for thread in pollers:
        thread.start()
    count = int(rate * seconds)
    start = time.perf_counter()
    for i in range(count):
        time.sleep(max(0.0, start + i / rate - time.perf_counter()))
        ev = _complaint(f"bench-staff-{uuid.uuid4().hex[:10]}")
        sent = time.perf_counter()
        producer.send(prefix + "lsq.complaint", key=ev.key.encode(), value=ev.value(), headers=ev.headers())
        producer.flush()
        pending.put((ev.id, sent))
    for _ in pollers:
        pending.put(None)
    for thread in pollers:
        thread.join(30)
    producer.close()
    return latencies, missing[0]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="complaint resolved → sanction visible, end to end")
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--prefix", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        worker_main(args.url, args.prefix)
        return
    from services.incentive.replay import consumed_topics
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    topics = private_topics(prefix, consumed_topics() + ["baseline"])
    url = fresh_database("latency")
    port = free_port()
    env = {**os.environ, "LSQ_INCENTIVE_DATABASE_URL": url, "LSQ_JWT_SECRET": SECRET,
           "LSQ_INCENTIVE_RELAY_DOORBELL_PORT": str(free_port()), "PYTHONPATH": os.getcwd()}
    from shared.db import Database
    Database(url, "incentive").migrate()  # before two processes race to do it
    processes = [
        subprocess.Popen([sys.executable, "-m", "bench.incentive_latency", "--worker", "--url", url,
                          "--prefix", prefix], env=env),
        subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}", "--log-level",
                          "warning", "services.incentive:create_app()"], env=env),
    ]
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        measure(port, prefix, 10, 1)  # warm-up: consumer assignment, connection pools
        base = baseline(prefix, args.rate, min(args.seconds, 10))
        latencies, missing = measure(port, prefix, args.rate, args.seconds)
        p50, p99 = percentile(latencies, 0.5) * 1000, percentile(latencies, 0.99) * 1000
        b50, b99 = percentile(base, 0.5) * 1000, percentile(base, 0.99) * 1000
        print(f"baseline  produce → plain consumer:      p50 {b50:6.1f} ms  p99 {b99:6.1f} ms  ({len(base)} records)")
        print(f"incentive resolved → sanction in the API: p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  "
              f"({len(latencies)} complaints at {args.rate}/s, {missing} not seen within 10 s)")
        print(f"ratio p50 incentive / baseline: {p50 / b50:.1f}  (goal p50 <= 100 ms, p99 <= 500 ms)")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        delete_topics(topics)
        drop_database(url)


if __name__ == "__main__":
    main()
