"""Shared pieces of the incentive benchmarks: a realistic mixed event stream, private topics, a
fresh database. Everything stays on 127.0.0.1; topics get a unique prefix and are deleted after."""
from __future__ import annotations

import json
import os
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition

from shared import events
from shared.bus import ensure_topics
from shared.events.envelope import Event
from shared.timeutil import UTC, rfc3339

BOOTSTRAP = os.environ.get("KAFKA_BOOTSTRAP", "127.0.0.1:9092")
START = datetime(2026, 1, 1, 8, tzinfo=UTC)

#: The mix: what a network of libraries produces in a year (praise and training dominate).
MIX = [("lsq.praise.received.v1", 40), ("lsq.praise.rejected.v1", 3), ("lsq.training.completed.v1", 15),
       ("lsq.evaluation.scored.v1", 8), ("lsq.complaint.resolved.v1", 20), ("lsq.complaint.sla_breached.v1", 8),
       ("lsq.requirement.overdue.v1", 6)]


def mixed_events(count: int, staff: int = 2000, branches: int = 10, seed: int = 7) -> list[Event]:
    """``count`` valid events in time order over one year, for ``staff`` people in ``branches``."""
    rnd = random.Random(seed)
    branch_ids = [f"bench-branch-{i}" for i in range(branches)]
    people = [(f"bench-staff-{i}", branch_ids[i % branches]) for i in range(staff)]
    kinds = [k for k, w in MIX for _ in range(w)]
    step = timedelta(days=365) / max(count, 1)
    praised: list[tuple[str, str, str]] = []
    out = []
    for n in range(count):
        at = START + step * n
        kind = rnd.choice(kinds)
        staff_id, branch_id = rnd.choice(people)
        ident = _time_ordered_id(at, rnd)  # entity ids are UUIDv7, as their services make them
        when = rfc3339(at)
        if kind == "lsq.praise.received.v1":
            data = {"praise_id": ident, "branch_id": branch_id, "staff_id": staff_id, "received_at": when}
            praised.append((ident, staff_id, branch_id))
        elif kind == "lsq.praise.rejected.v1":
            if not praised:
                continue
            pid, staff_id, branch_id = rnd.choice(praised)
            data = {"praise_id": pid, "branch_id": branch_id, "staff_id": staff_id, "reason": "spam",
                    "rejected_at": when}
        elif kind == "lsq.training.completed.v1":
            hours = rnd.choice([1.0, 2.0, 3.5, 6.0])
            data = {"completion_id": ident, "staff_id": staff_id, "branch_id": branch_id, "source": "course",
                    "kind": "course", "course_id": rnd.choice(["c-regs", "c-service", "c-digital"]),
                    "title": "Reader service", "hours": hours, "credit_hours": hours,
                    "completed_on": at.date().isoformat()}
        elif kind == "lsq.evaluation.scored.v1":
            grade = rnd.choices(["excellent", "good", "satisfactory", "unsatisfactory"], [15, 35, 45, 5])[0]
            data = {"evaluation_id": ident, "cycle_id": "bench-cycle", "staff_id": staff_id, "branch_id": branch_id,
                    "period": f"{at.year}-Q{(at.month - 1) // 3 + 1}", "score": 80.0, "grade": grade,
                    "dimension_scores": {"attitude": 4.0}, "components_used": ["reader"], "components_missing": [],
                    "revision": 0, "published_at": when}
        elif kind == "lsq.complaint.resolved.v1":
            data = {"complaint_id": ident, "branch_id": branch_id, "staff_id": staff_id, "category": "waiting",
                    "severity": rnd.choice(["low", "normal", "normal", "high", "urgent"]),
                    "outcome": rnd.choices(["substantiated", "partially_substantiated", "unsubstantiated"], [3, 2, 5])[0],
                    "filed_at": rfc3339(at - timedelta(days=3)), "resolved_at": when, "handler_id": None}
        elif kind == "lsq.complaint.sla_breached.v1":
            data = {"complaint_id": ident, "branch_id": branch_id, "staff_id": None, "target": "resolve",
                    "severity": "normal", "due_at": rfc3339(at - timedelta(hours=1)), "handler_id": staff_id,
                    "breached_at": when}
        else:
            data = {"requirement_id": ident, "staff_id": staff_id, "branch_id": branch_id, "kind": "regulation",
                    "course_id": "c-regs", "title": "Regulation 2024", "due_on": (at - timedelta(days=1)).date().isoformat(),
                    "period": str(at.year), "overdue_since": at.date().isoformat()}
        data["caused_by"] = []
        definition = events.get(kind)
        out.append(Event(id=_time_ordered_id(at, rnd), type=kind, source=definition.source,
                         subject=definition.subject_of(data), time=at, data=data, key=definition.key_of(data),
                         topic=definition.topic))
    for sample in out[:: max(1, len(out) // 200)]:  # the generator must stay within the contract
        events.get(sample.type).validate(sample.data)
    return out


def _time_ordered_id(at: datetime, rnd: random.Random) -> str:
    """A UUIDv7 (RFC 9562) for the event's time, as LSQ's producers give (``shared.outbox``)."""
    millis = int(at.timestamp() * 1000)
    value = (millis << 80) | (0x7 << 76) | (rnd.getrandbits(12) << 64) | (0b10 << 62) | rnd.getrandbits(62)
    return str(uuid.UUID(int=value))


def private_topics(prefix: str, names: list[str], partitions: int = 6) -> list[str]:
    topics = [prefix + name for name in names]
    ensure_topics(BOOTSTRAP, topics, partitions=partitions)
    return topics


def delete_topics(topics: list[str]) -> None:
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP.split(","))
    try:
        admin.delete_topics(topics + [t + ".dlt" for t in topics])
    except Exception:  # noqa: BLE001 - best effort clean-up
        pass
    finally:
        admin.close()


def produce(prefix: str, stream: list[Event]) -> float:
    """Write the stream to the private topics; returns the seconds it took."""
    producer = KafkaProducer(bootstrap_servers=BOOTSTRAP.split(","), acks=1, linger_ms=20,
                             batch_size=512 * 1024, compression_type=None)
    started = time.perf_counter()
    for ev in stream:
        producer.send(prefix + ev.topic, key=ev.key.encode(), value=json.dumps(ev.data, separators=(",", ":")).encode(),
                      headers=ev.headers())
    producer.flush()
    producer.close()
    return time.perf_counter() - started


def assigned_consumer(topics: list[str], group: str | None, **overrides) -> KafkaConsumer:
    """A consumer holding every partition of ``topics`` (no rebalance), from the beginning."""
    settings = dict(bootstrap_servers=BOOTSTRAP.split(","), group_id=group, enable_auto_commit=False,
                    auto_offset_reset="earliest", max_poll_records=500)
    settings.update(overrides)
    consumer = KafkaConsumer(**settings)
    partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or [])]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    return consumer


def raw_consume(topics: list[str], expected: int, timeout: float = 120) -> float:
    """Baseline: a bare kafka-python consumer reading (and JSON-decoding) every record; seconds."""
    consumer = assigned_consumer(topics, None, max_poll_records=2000)
    seen = 0
    started = time.perf_counter()
    deadline = started + timeout
    while seen < expected and time.perf_counter() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            for record in records:
                json.loads(record.value)
            seen += sum(1 for _ in records)
    elapsed = time.perf_counter() - started
    consumer.close()
    if seen < expected:
        raise RuntimeError(f"baseline consumer read only {seen} of {expected}")
    return elapsed


def fresh_database(label: str) -> str:
    """A new empty PostgreSQL database when DATABASE_URL points at a server, else a SQLite file."""
    admin = os.environ.get("DATABASE_URL", "")
    if admin.startswith("postgresql"):
        from shared.devstack.postgres import create_database_at
        return create_database_at(admin, f"lsq_bench_{label}_{uuid.uuid4().hex[:8]}")
    folder = Path(tempfile.mkdtemp(prefix="lsq-bench-"))
    return f"sqlite:///{folder / 'incentive.db'}"


def drop_database(url: str) -> None:
    if not url.startswith("postgresql"):
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    name = make_url(url).database
    engine = create_engine(os.environ["DATABASE_URL"], isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        engine.dispose()


def set_budgets(db, branches: int = 10, amount: str = "10000000.00") -> None:
    """Generous budgets for every bench branch and quarter (awards are granted, not parked)."""
    from decimal import Decimal

    from services.incentive import store
    from shared.timeutil import utcnow
    with db.transaction() as conn:
        for i in range(branches):
            # the year's events run into the first hours of 2027 in Shanghai, the network's calendar
            for period in ("2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2027-Q1"):
                conn.execute(store.funds.insert().values(branch_id=f"bench-branch-{i}", period=period,
                                                         budget=Decimal(amount), reserved=Decimal(0),
                                                         granted=Decimal(0), updated_at=utcnow()))


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        raise RuntimeError("no latency was measured: nothing arrived (see the worker's log above)")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered))) - 1))]
