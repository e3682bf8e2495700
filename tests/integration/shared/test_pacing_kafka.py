"""Pacing against the real broker: a backlog of a quiet and a busy topic comes out in record-time step."""
import time
import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from shared.bus import PARTITION_FETCH_BYTES, ensure_topics
from shared.pacing import RecordTimePacer

pytestmark = pytest.mark.integration

SLOTS = 9000          # one record a millisecond of record time
QUIET_EVERY = 9       # every ninth goes to the quiet topic: 1,000 records against 8,000
VALUE = b"x" * 1000   # about the size of an LSQ event with its headers


def _backlog(bootstrap: str) -> tuple[TopicPartition, TopicPartition]:
    prefix = f"pacing-{uuid.uuid4().hex[:8]}."
    quiet, busy = prefix + "requirement", prefix + "praise"
    ensure_topics(bootstrap, [quiet, busy], partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap.split(","), linger_ms=20)  # 16 KiB batches, as the relay
    start = 1_700_000_000_000
    for slot in range(SLOTS):
        producer.send(quiet if slot % QUIET_EVERY == 0 else busy, value=VALUE, timestamp_ms=start + slot)
    producer.flush()
    producer.close()
    return TopicPartition(quiet, 0), TopicPartition(busy, 0)


def _lateness(bootstrap: str, partitions, pacer: RecordTimePacer | None, max_poll_records: int = 500) -> list[int]:
    """Consume the whole backlog as a worker does; for each record, how far (ms) its record time
    lies behind the latest record time handed out before it."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), enable_auto_commit=False,
                             max_poll_records=max_poll_records, max_partition_fetch_bytes=PARTITION_FETCH_BYTES)
    consumer.assign(list(partitions))
    consumer.seek_to_beginning(*partitions)
    seen: set = set()
    lateness = []
    latest = 0
    deadline = time.monotonic() + 30
    try:
        while len(seen) < SLOTS and time.monotonic() < deadline:
            polled = consumer.poll(timeout_ms=500)
            if pacer is not None:
                pacer.after_poll(consumer, polled)
            for records in polled.values():
                for record in records:
                    assert (record.topic, record.offset) not in seen, "a record was handed out twice"
                    seen.add((record.topic, record.offset))
                    latest = max(latest, record.timestamp)
                    lateness.append(latest - record.timestamp)
    finally:
        consumer.close()
    assert len(seen) == SLOTS, f"only {len(seen)} of {SLOTS} records came within 30 s"
    return lateness


def test_a_paced_backlog_is_handed_out_close_to_record_time_order(kafka_bootstrap):
    partitions = _backlog(kafka_bootstrap)

    unpaced = _lateness(kafka_bootstrap, partitions, None)
    paced = _lateness(kafka_bootstrap, partitions, RecordTimePacer(window_ms=200))

    # Unpaced, each fetch brings 64 KiB of both: the quiet topic's chunk spans eight times the
    # record time of the busy one's, so the quiet topic runs seconds ahead.
    print("lateness ms, max and median: unpaced", max(unpaced), sorted(unpaced)[len(unpaced) // 2],
          "paced", max(paced), sorted(paced)[len(paced) // 2])
    assert max(unpaced) > 3000
    # Paced, a partition is held once it is 200 ms ahead; what remains is the span of one
    # fetched chunk of the quiet topic (about 64 records, 9 ms apart).
    assert max(paced) < 1500
    assert sorted(paced)[len(paced) // 2] < 500


def test_pacing_polls_that_end_inside_a_fetched_chunk_loses_nothing(kafka_bootstrap):
    """Polls of 50 records end inside 64-record chunks: pausing such a partition would strand the
    rest of its chunk in kafka-python 3.0.12, and the backlog would never be consumed."""
    partitions = _backlog(kafka_bootstrap)
    paced = _lateness(kafka_bootstrap, partitions, RecordTimePacer(window_ms=200), max_poll_records=50)
    assert max(paced) < 1500
