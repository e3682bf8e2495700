"""Event → message accepted by the SMTP server, through the real notify worker; and the worker's
throughput against a raw consumer of the same records, in the same run.

    .venv/bin/python -m bench.notify_latency [--events 300] [--rate 50] [--backlog 1000]

Publishes ``lsq.sanction.issued.v1`` events at ``--rate`` a second (each to another staff member,
so the per-recipient rate limit does not apply) and times each from the producer's send to the
local SMTP server (aiosmtpd) accepting its e-mail: p50 and p99 (goal: p99 under 2 s). Then, with
the worker stopped, a backlog of ``--backlog`` events is published; a fresh worker's time to turn
them into outbox messages (events/s) is compared with a bare kafka-python consumer reading the
same records. Uses ``KAFKA_BOOTSTRAP`` or starts a local broker; SQLite in a temporary folder.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import threading
import time
import uuid
from email import message_from_bytes
from pathlib import Path

from aiosmtpd.controller import Controller
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import func, select

from services.notify import store
from services.notify.settings import NotifySettings
from services.notify.worker import build_worker
from shared import bus, runtime
from shared.config import Settings
from shared.devstack.ports import free_port
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import rfc3339, utcnow

BRANCH = "bench-branch"


class Timing:
    """SMTP handler: the moment each e-mail (by the token in its text) was accepted."""

    def __init__(self):
        self.accepted: dict[str, float] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook
        now = time.perf_counter()
        message = message_from_bytes(envelope.original_content or envelope.content)
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                text = part.get_payload(decode=True).decode()
                for word in text.split():
                    if word.startswith("bench-"):
                        self.accepted.setdefault(word.rstrip("。.,"), now)
        return "250 OK"


def _event(event_type: str, data: dict) -> Event:
    kind = get_event_type(event_type)
    plain = kind.validate(data)
    return Event(id=str(uuid.uuid4()), type=event_type, source=kind.source, subject=kind.subject_of(plain),
                 time=utcnow(), data=plain, key=kind.key_of(plain), topic=kind.topic)


def _send(producer, event: Event):
    return producer.send(event.topic, key=event.key.encode(), value=event.value(), headers=event.headers())


def _sanction(staff_id: str, token: str) -> Event:
    now = utcnow()
    return _event("lsq.sanction.issued.v1", {
        "sanction_id": str(uuid.uuid4()), "staff_id": staff_id, "branch_id": BRANCH, "level": "notice",
        "policy_version": 1, "reason_en": token, "reason_zh": f"{token} 。", "issued_at": rfc3339(now),
        "expires_at": rfc3339(now), "appeal_deadline": rfc3339(now)})


def _start_worker(notify_settings, settings, group):
    worker = build_worker(notify_settings, settings=settings, group=group)
    worker.build()
    threads = [threading.Thread(target=worker.relay.run, daemon=True),
               threading.Thread(target=worker.consumer.run, daemon=True),
               *[threading.Thread(target=worker._loop, args=(job,), daemon=True) for job in worker.periodic]]
    for thread in threads:
        thread.start()
    return worker, threads


def _stop_worker(worker, threads):
    worker.shutdown()
    for thread in threads:
        thread.join(timeout=30)
    worker.db.dispose()


def _message_count(db) -> int:
    with db.read() as conn:
        return conn.execute(select(func.count()).select_from(store.messages)).scalar_one()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--backlog", type=int, default=1000)
    args = parser.parse_args()
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP")
    broker = None
    if not bootstrap:
        from shared.devstack.kafka import LocalKafka
        broker = LocalKafka(Path(tempfile.mkdtemp(prefix="lsq-bench-kafka-"))).start()
        bootstrap = broker.bootstrap
    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-notify-"))
    timing = Timing()
    smtp_port = free_port()
    smtp = Controller(timing, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    notify_settings = NotifySettings.from_env(smtp_host="127.0.0.1", smtp_port=smtp_port, smtp_starttls=False,
                                              smtp_user=None)
    settings = Settings.from_env("notify", database_url=f"sqlite:///{folder / 'notify.db'}",
                                 kafka_bootstrap=bootstrap, relay_doorbell_port=free_port())
    group = f"bench.notify.{uuid.uuid4().hex[:8]}"
    runtime.tune_garbage_collector()
    try:
        bus.ensure_topics(bootstrap, ["lsq.sanction", "lsq.staff", "lsq.branch", "lsq.notification"])
        worker, threads = _start_worker(notify_settings, settings, group)
        staff = [f"bench-staff-{i}-{uuid.uuid4().hex[:6]}" for i in range(args.events + args.backlog)]
        producer = bus.make_producer(bootstrap)
        _send(producer, _event("lsq.branch.opened.v1", {"branch_id": BRANCH, "code": "BEN", "name_zh": "测试馆",
                                                        "name_en": "Bench"}))
        for s in staff:
            _send(producer, _event("lsq.staff.joined.v1", {"staff_id": s, "employee_number": s[:30], "name": "馆员",
                                                           "role": "staff", "branch_id": BRANCH,
                                                           "hire_date": "2020-01-01"}))
        producer.flush()
        from shared.directory_view import known_staff
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with worker.db.read() as conn:
                if conn.execute(select(func.count()).select_from(known_staff)).scalar_one() >= len(staff):
                    break
            time.sleep(0.2)
        with worker.db.transaction() as conn:  # each staff member's address, as PUT /preferences sets it
            conn.execute(store.preferences.insert(), [{
                "staff_id": s, "email": f"{s}@bench.example", "chat_id": None, "language": "zh-CN",
                "channels": json.dumps(["email", "inbox"]), "muted_event_types": "[]", "quiet_start": None,
                "quiet_end": None, "digest": False, "updated_at": utcnow(), "updated_by": "bench"} for s in staff])

        # 1. latency at a steady rate
        sent_at: dict[str, float] = {}
        interval = 1.0 / args.rate
        start = time.perf_counter()
        for i in range(args.events):
            token = f"bench-{uuid.uuid4().hex}"
            target = start + i * interval
            pause = target - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent_at[token] = time.perf_counter()
            _send(producer, _sanction(staff[i], token))
            producer.flush()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(set(sent_at) & set(timing.accepted)) < len(sent_at):
            time.sleep(0.1)
        latencies = sorted(timing.accepted[t] - sent_at[t] for t in sent_at if t in timing.accepted)
        _stop_worker(worker, threads)

        # 2. throughput on a backlog: the worker against a raw consumer of the same records
        partitions = producer.partitions_for("lsq.sanction")
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
        tps = [TopicPartition("lsq.sanction", p) for p in sorted(partitions)]
        consumer.assign(tps)
        begin = consumer.end_offsets(tps)
        for i in range(args.backlog):
            _send(producer, _sanction(staff[args.events + i], f"bench-{uuid.uuid4().hex}"))
        producer.flush()
        before = _message_count_of(settings)
        t0 = time.perf_counter()
        for tp in tps:
            consumer.seek(tp, begin[tp])
        seen = 0
        while seen < args.backlog:
            seen += sum(len(r) for r in consumer.poll(timeout_ms=200).values())
        raw_seconds = time.perf_counter() - t0
        consumer.close()
        worker, threads = _start_worker(notify_settings, settings, group)
        t0 = time.perf_counter()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and _message_count(worker.db) - before < 2 * args.backlog:
            time.sleep(0.05)
        worker_seconds = time.perf_counter() - t0
        planned = _message_count(worker.db) - before
        _stop_worker(worker, threads)
        producer.close()
    finally:
        smtp.stop()
        if broker is not None:
            broker.stop()

    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = latencies[max(0, int(len(latencies) * 0.99) - 1)] * 1000 if latencies else float("nan")
    print(f"event → SMTP accepted, {args.events} events at {args.rate:g}/s: received {len(latencies)}, "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (goal p99 < 2000 ms; send job every "
          f"{notify_settings.send_seconds:g} s)")
    print(f"backlog of {args.backlog}: raw consumer {args.backlog / raw_seconds:.0f} events/s, notify worker "
          f"{args.backlog / worker_seconds:.0f} events/s incl. start-up ({planned} messages planned, "
          f"ratio {raw_seconds / worker_seconds:.2f})")


def _message_count_of(settings) -> int:
    from shared.db import Database
    db = Database(settings.database_url, "notify")
    try:
        return _message_count(db)
    finally:
        db.dispose()


if __name__ == "__main__":
    main()
