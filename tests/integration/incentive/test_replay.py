"""Through the real broker: a live consumer builds the ledger; replaying the topics into an empty
database builds the same ledger, entry for entry (same ids, causes, policy versions, amounts)."""
import threading
import time
import uuid
from datetime import timedelta

import pytest
from kafka import KafkaProducer

from services.incentive import replay, service
from services.incentive.handlers import HANDLERS
from shared import outbox
from shared.auth import Principal
from shared.bus import consumer_settings, ensure_topics
from shared.consumer import ConsumerRunner
from shared.db import Database
from tests.helpers import header
from tests.integration.incentive.support import (T0, branch_opened, breached, completed, overdue, praise,
                                                 praise_rejected, record, resolved, scored, staff_joined)

pytestmark = pytest.mark.integration
B = "branch-replay"


def _db(url):
    db = Database(url, "incentive")
    db.migrate()
    return db


def _assigned_consumer(bootstrap, group, topics):
    """A consumer given every partition at once: no group rebalance to wait for in a test."""
    from kafka import KafkaConsumer, TopicPartition
    consumer = KafkaConsumer(**consumer_settings(bootstrap, group))  # as a worker's, without subscribing
    deadline = time.monotonic() + 20
    partitions = []
    for topic in topics:
        while not consumer.partitions_for_topic(topic) and time.monotonic() < deadline:
            time.sleep(0.1)
        partitions += [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    consumer.assign(partitions)
    return consumer


def test_replaying_every_topic_rebuilds_the_same_ledger(database_url, tmp_path, kafka_bootstrap):
    prefix = f"t{uuid.uuid4().hex[:10]}."
    topics = [prefix + t for t in replay.consumed_topics()]
    ensure_topics(kafka_bootstrap, topics, partitions=3)
    producer = KafkaProducer(bootstrap_servers=kafka_bootstrap.split(","), acks="all", linger_ms=1)
    live = _db(database_url)
    group = f"test-{uuid.uuid4().hex}"
    runner = ConsumerRunner(live, kafka_bootstrap, group, HANDLERS, topics=topics, poll_timeout_ms=100,
                            consumer_factory=lambda: _assigned_consumer(kafka_bootstrap, group, topics))
    applied = []
    original = runner.process
    runner.process = lambda records: applied.extend(original(records)) or applied[-len(records):]
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()

    def send_wave(wave):
        """Events that do not interact across topics; the next wave waits until this one is applied."""
        target = len(applied) + len(wave)
        for ev in wave:
            topic, key, value, headers = record(ev)
            producer.send(prefix + topic, key=key, value=value, headers=headers)
        producer.flush()
        deadline = time.monotonic() + 30
        while len(applied) < target and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(applied) >= target, "the live consumer did not keep up"

    def publish_outbox():
        """What the relay does, onto this test's topics."""
        with live.read() as conn:
            pending = outbox.pending(conn, 1000)
        for _, ev in pending:
            producer.send(prefix + ev.topic, key=ev.key.encode(), value=ev.value(), headers=ev.headers())
        producer.flush()
        with live.transaction() as conn:
            outbox.mark_published(conn, [p for p, _ in pending])
        return [ev for _, ev in pending]

    try:
        ann, bob, cai = (str(uuid.uuid4()) for _ in range(3))
        send_wave([branch_opened(B)])
        send_wave([staff_joined(s, B) for s in (ann, bob, cai)])
        service.set_budget(live, Principal("network_admin"), B, "2026-Q1", "2500.00")
        p1 = praise(ann, B, T0)
        send_wave([resolved(ann, B, T0 - timedelta(days=3)), p1, scored(bob, B, "excellent", T0),
                   overdue(cai, B, "2026-01-10")])
        send_wave([praise(ann, B, T0 + timedelta(hours=i)) for i in range(1, 8)])
        send_wave([praise_rejected(p1.data["praise_id"], ann, B, T0 + timedelta(days=1)),
                   scored(ann, B, "good", T0 + timedelta(days=1)), breached(cai, B, T0 + timedelta(days=1), staff_id=bob)])
        send_wave([completed(cai, B, "2026-03-05", 4), resolved(bob, B, T0 + timedelta(days=6), severity="high")])
        # an SLA breach is keyed by the complaint (not by its handler): it gets a wave of its own
        send_wave([resolved(cai, B, T0 + timedelta(days=7))])
        send_wave([breached(cai, B, T0 + timedelta(days=8))])
        # people act through the API: a violation, an appeal overturned, a settlement
        group_name = group
        v = service.record_violation(live, group_name, Principal("supervisor", subject="sup", branch_id=B),
                                     {"staff_id": ann, "category": "punctuality", "description": "late three times"})
        sanction = v["sanctions"][0]["id"]
        service.appeal(live, group_name, Principal("staff", staff_id=ann), sanction, "train strike")
        service.decide_appeal(live, group_name, Principal("branch_manager", subject="mgr", branch_id=B), sanction,
                              "overturned", "strike confirmed")
        service.settle_period(live, group_name, "admin", "2026-Q1")
        published = publish_outbox()
        commands = [e for e in published if e.type in HANDLERS]
        assert {e.type for e in commands} == {"lsq.sanction.violation_recorded.v1", "lsq.sanction.appealed.v1",
                                              "lsq.sanction.appeal_decided.v1", "lsq.points.period_settled.v1"}
        # the live consumer sees its own commands come back and skips them
        wanted = {e.id for e in published}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            back = [o for o in list(applied) if header(o.record, "ce_id") in wanted]
            if len(back) == len(wanted):
                break
            time.sleep(0.05)
        mine = [o.status for o in back]
        assert mine.count("duplicate") == len(commands) and "applied" not in mine
    finally:
        runner.stop.set()
        thread.join(20)
        producer.close()
    service.escalate_due(live)

    rebuilt = _db(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    replay.copy_configuration(live, rebuilt)
    records = replay.read_topics(kafka_bootstrap, topics)
    counts = replay.replay(rebuilt, records, group=group)
    assert counts["poison"] == 0 and counts["applied"] > 20
    expected, actual = replay.ledger_snapshot(live), replay.ledger_snapshot(rebuilt)
    kinds = {e["kind"] for e in expected}
    assert {"award", "points", "sanction", "revocation"} <= kinds and len(expected) >= 20
    missing = [e for e in expected if e not in actual]
    extra = [e for e in actual if e not in expected]
    assert (missing, extra) == ([], [])
    assert actual == expected
    for staff in (ann, bob, cai):
        assert service.standing(rebuilt, staff)["ladder_step"] == service.standing(live, staff)["ladder_step"]
    _delete_topics(kafka_bootstrap, topics)


def _delete_topics(bootstrap, topics):
    """The test's private topics (and their dead-letter twins) are not left on the shared broker."""
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        admin.delete_topics(topics + [t + ".dlt" for t in topics])
    finally:
        admin.close()
