"""Prometheus metrics every service exposes (web: ``/metrics``; worker: its own port).

Under gunicorn with several workers, ``PROMETHEUS_MULTIPROC_DIR`` makes the figures add up across
processes (``lsq up`` sets it).
"""
from __future__ import annotations

import os

from prometheus_client import (CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest, multiprocess)

REQUEST_LATENCY = Histogram(
    "lsq_http_request_duration_seconds", "HTTP request latency",
    ["service", "method", "endpoint", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EVENTS_PUBLISHED = Counter("lsq_events_published_total", "Events the relay published to Kafka",
                           ["service", "type"])
EVENTS_CONSUMED = Counter("lsq_events_consumed_total", "Events a consumer handled",
                          ["service", "group", "type", "outcome"])
EVENTS_DEAD_LETTERED = Counter("lsq_events_dead_lettered_total", "Events sent to a dead-letter topic",
                               ["service", "group", "topic"])
OUTBOX_BACKLOG = Gauge("lsq_outbox_backlog", "Events written but not yet published", ["service"],
                       multiprocess_mode="livemax")
CONSUMER_LAG = Gauge("lsq_consumer_lag", "Records between a consumer's position and the log end",
                     ["service", "group", "topic", "partition"], multiprocess_mode="livemax")
CONSUMER_PAUSED = Gauge("lsq_consumer_paused_partitions",
                        "Partitions a consumer holds back because they ran ahead of its backlog (shared.pacing)",
                        ["service", "group"], multiprocess_mode="livesum")


def render() -> tuple[bytes, str]:
    """The exposition text of this process (or of all processes in multiprocess mode)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST
