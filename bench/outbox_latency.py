"""Commit → Kafka latency of the outbox relay, against a raw producer in the same run.

    .venv/bin/python -m bench.outbox_latency [--events 200]

Writes events one per transaction (as an API would), and measures the time from commit to a
plain consumer receiving the record: with the doorbell (the relay woken on commit) and with
polling only (the safety net alone). The baseline is a bare kafka-python producer sending the
same records, measured the same way. Goal: p50 within ~50 ms of commit.
"""
from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer

from shared import bus, outbox
from shared.db import Database
from shared.devstack.ports import free_port
from shared.relay import OutboxRelay

TOPIC = "lsq.staff"


def _consumer(bootstrap: str, received: dict, stop: threading.Event, ready: threading.Event):
    consumer = KafkaConsumer(TOPIC, bootstrap_servers=bootstrap, group_id=f"bench-{uuid.uuid4().hex}",
                             auto_offset_reset="latest", enable_auto_commit=False, fetch_max_wait_ms=10)
    while not consumer.assignment():
        consumer.poll(timeout_ms=100)
    ready.set()
    while not stop.is_set():
        for records in consumer.poll(timeout_ms=50).values():
            now = time.perf_counter()
            for record in records:
                ident = dict(record.headers).get("ce_id", b"").decode()
                received.setdefault(ident, now)
    consumer.close()


def _data() -> dict:
    staff_id = str(uuid.uuid4())
    return {"staff_id": staff_id, "employee_number": staff_id[:8], "name": "bench", "role": "staff",
            "branch_id": "b1", "hire_date": "2025-01-01"}


def _percentiles(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.99) - 1] * 1000


def measure_relay(bootstrap: str, events: int, doorbell: bool, poll_seconds: float) -> list[float]:
    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-"))
    port = free_port() if doorbell else None
    db = Database(f"sqlite:///{folder / 'bench.db'}", "directory", doorbell_port=port)
    db.migrate()
    relay = OutboxRelay(db, bootstrap, doorbell_port=port, poll_seconds=poll_seconds)
    received, stop, ready = {}, threading.Event(), threading.Event()
    threads = [threading.Thread(target=relay.run, daemon=True),
               threading.Thread(target=_consumer, args=(bootstrap, received, stop, ready), daemon=True)]
    for thread in threads:
        thread.start()
    ready.wait(30)
    time.sleep(1)  # let the relay's producer connect
    committed = {}
    for _ in range(events):
        with db.transaction() as conn:
            event_id = outbox.add(conn, "lsq.staff.joined.v1", _data())
        committed[event_id] = time.perf_counter()
        time.sleep(0.02)
    deadline = time.monotonic() + 30
    while len([i for i in committed if i in received]) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    relay.stop.set()
    stop.set()
    for thread in threads:
        thread.join(10)
    return [received[i] - committed[i] for i in committed if i in received]


def measure_raw(bootstrap: str, events: int) -> list[float]:
    producer = bus.make_producer(bootstrap)
    received, stop, ready = {}, threading.Event(), threading.Event()
    thread = threading.Thread(target=_consumer, args=(bootstrap, received, stop, ready), daemon=True)
    thread.start()
    ready.wait(30)
    time.sleep(1)
    sent = {}
    for _ in range(events):
        ident = str(uuid.uuid4())
        sent[ident] = time.perf_counter()
        producer.send(TOPIC, key=b"k", value=b"{}", headers=[("ce_id", ident.encode())])
        producer.flush()
        time.sleep(0.02)
    deadline = time.monotonic() + 30
    while len([i for i in sent if i in received]) < events and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    thread.join(10)
    producer.close()
    return [received[i] - sent[i] for i in sent if i in received]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200)
    args = parser.parse_args()
    broker = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    if not bootstrap:
        from shared.devstack.kafka import LocalKafka
        broker = LocalKafka(Path(tempfile.mkdtemp(prefix="lsq-bench-kafka-"))).start()
        bootstrap = broker.bootstrap
    try:
        bus.ensure_topics(bootstrap, [TOPIC])
        raw = _percentiles(measure_raw(bootstrap, args.events))
        bell = _percentiles(measure_relay(bootstrap, args.events, doorbell=True, poll_seconds=0.5))
        poll = _percentiles(measure_relay(bootstrap, args.events, doorbell=False, poll_seconds=0.5))
    finally:
        if broker:
            broker.stop()
    print(f"{'path':<32}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'raw producer (baseline)':<32}{raw[0]:>10.1f}{raw[1]:>10.1f}")
    print(f"{'outbox + relay, doorbell':<32}{bell[0]:>10.1f}{bell[1]:>10.1f}")
    print(f"{'outbox + relay, polling only':<32}{poll[0]:>10.1f}{poll[1]:>10.1f}")
    print(f"ratio doorbell/raw p50: {bell[0] / raw[0]:.2f}  (commit→consumer p50 {bell[0]:.1f} ms; goal ≈ 50 ms)")


if __name__ == "__main__":
    main()
