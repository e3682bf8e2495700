"""Kafka clients with the settings LSQ relies on. Create them after fork, never at import time."""
from __future__ import annotations

import logging
import socket

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import TopicAlreadyExistsError

log = logging.getLogger(__name__)

DEFAULT_PARTITIONS = 6

#: Bytes fetched per partition per request (Kafka's default is 1 MiB, about 1,500 LSQ events).
#: A consumer catching up gets each partition's backlog in chunks of this size, and pacing
#: (``shared.pacing``) can hold a partition back only between chunks: 64 KiB keeps a chunk of a
#: quiet topic to about a hundred events, so that a backlog is applied close to the order its
#: events happened in. More requests, each smaller; the broker and client hardly notice.
PARTITION_FETCH_BYTES = 64 * 1024


def make_producer(bootstrap: str, **overrides) -> KafkaProducer:
    """An idempotent producer that waits for all in-sync replicas (``acks=all``)."""
    settings = dict(
        bootstrap_servers=bootstrap.split(","),
        acks="all",
        enable_idempotence=True,
        linger_ms=2,
        retries=2147483647,
        request_timeout_ms=15000,
        max_block_ms=10000,
        client_id="lsq-producer",
    )
    settings.update(overrides)
    return KafkaProducer(**settings)


def make_consumer(bootstrap: str, group: str, topics: list[str], **overrides) -> KafkaConsumer:
    """A consumer that commits by hand, after the database transaction (at-least-once)."""
    consumer = KafkaConsumer(**consumer_settings(bootstrap, group, **overrides))
    consumer.subscribe(topics)
    return consumer


def consumer_settings(bootstrap: str, group: str, **overrides) -> dict:
    """The settings of every LSQ consumer; a bench or test that assigns partitions by hand uses
    them too, so that it measures the consumer the workers run."""
    settings = dict(
        bootstrap_servers=bootstrap.split(","),
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
        max_partition_fetch_bytes=PARTITION_FETCH_BYTES,
        session_timeout_ms=10000,
        heartbeat_interval_ms=3000,
        client_id=f"lsq-{group}",
        # Range assignment gives one member the same partition numbers of every topic. All LSQ
        # topics have the same partition count and key events by the staff member concerned, so
        # everything about one person reaches one worker of a group (co-partitioning).
        partition_assignment_strategy=(RangePartitionAssignor,),
    )
    settings.update(overrides)
    return settings


def ensure_topics(bootstrap: str, topics: list[str], partitions: int = DEFAULT_PARTITIONS,
                  replication: int = 1) -> None:
    """Create topics that do not exist yet (and their ``.dlt``); existing ones are left alone."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","), request_timeout_ms=10000)
    try:
        existing = set(admin.list_topics())
        wanted = [t for name in topics for t in (name, f"{name}.dlt") if t not in existing]
        if wanted:
            try:
                admin.create_topics([NewTopic(t, partitions, replication) for t in wanted])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def reachable(bootstrap: str, timeout: float = 1.0) -> bool:
    """Can a TCP connection be made to any bootstrap server?"""
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout):
                return True
        except OSError:
            continue
    return False
