"""The consumer runner: Kafka records → handlers, at least once, each event applied once.

- Offsets are committed only after the database transaction that applied the records.
- The inbox (``processed_events``) is written in that same transaction: redeliveries are skipped.
- A record that can never succeed (not a CloudEvent, data failing its schema, a handler raising
  ``PoisonEvent``, or failing ``max_attempts`` times) goes to ``<topic>.dlt`` with the error and
  origin in headers, then is committed, so the consumer carries on.
- A transient failure (database unreachable ...) is retried with backoff and not committed.
- ``stop`` (set by SIGTERM in the worker) ends the loop after the current batch.
- A backlog is consumed in step across partitions by record time (``shared.pacing``), so that
  handlers see events about in the order they happened even when catching up.

Records of one poll are applied in one transaction for throughput; if anything in it fails, the
batch is rolled back and applied record by record to isolate the failure.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from kafka import TopicPartition
from kafka.structs import OffsetAndMetadata
from marshmallow import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from shared import inbox, logs, metrics
from shared.bus import make_consumer, make_producer
from shared.db import Database
from shared.pacing import PACING_WINDOW_MS, RecordTimePacer
from shared.events import UnknownEventType, get as get_event_type
from shared.events.envelope import Event, MalformedEnvelope

log = logging.getLogger(__name__)

Handler = Callable[[object, Event], None]


class PoisonEvent(Exception):
    """Raised by a handler for an event that can never be applied (goes to the dead-letter topic)."""


class TransientError(Exception):
    """Raised by a handler for a failure worth retrying later (not committed)."""


@dataclass
class Outcome:
    record: object
    status: str  # applied | duplicate | ignored | dead_lettered | retry
    error: str | None = None


class ConsumerRunner:
    """Consumes ``topics`` in consumer group ``group`` and applies events with ``handlers``."""

    def __init__(self, db: Database, bootstrap: str, group: str, handlers: dict[str, Handler], *,
                 topics: list[str] | None = None, max_attempts: int = 5, consumer_factory=None,
                 producer_factory=None, before_offset_commit: Callable[[], None] | None = None,
                 poll_timeout_ms: int = 500, max_poll_records: int = 500,
                 pacing_window_ms: int | None = PACING_WINDOW_MS):
        for name in handlers:
            get_event_type(name)  # a handler for a type nobody defined is a bug
        self.db = db
        self.bootstrap = bootstrap
        self.group = group
        self.handlers = handlers
        self.topics = topics or sorted({get_event_type(t).topic for t in handlers})
        self.max_attempts = max_attempts
        self.consumer_factory = consumer_factory or (
            lambda: make_consumer(bootstrap, group, self.topics, max_poll_records=max_poll_records))
        self.producer_factory = producer_factory or (lambda: make_producer(bootstrap))
        self.before_offset_commit = before_offset_commit
        self.poll_timeout_ms = poll_timeout_ms
        self.pacer = RecordTimePacer(pacing_window_ms) if pacing_window_ms else None  # None: as Kafka hands them
        self.stop = threading.Event()
        self._consumer = None
        self._producer = None
        self._attempts: dict[tuple, int] = {}
        self._last_lag = 0.0

    # -- applying events (no Kafka: used by the loop, by replays and by tests) ------------------
    def parse(self, record) -> tuple[Event | None, str | None, str | None]:
        """(event, None, None) to apply; (None, 'ignored', None); or (None, 'poison', error)."""
        try:
            event = Event.from_record(record)
        except MalformedEnvelope as exc:
            return None, "poison", str(exc)
        if event.type not in self.handlers:
            return None, "ignored", None  # a type this consumer does not need (tolerant reader)
        try:
            event.data = get_event_type(event.type).load(event.data)
        except (ValidationError, UnknownEventType) as exc:
            return None, "poison", f"invalid data for {event.type}: {getattr(exc, 'messages', exc)}"
        return event, None, None

    def apply_batch(self, events: list[Event]) -> list[str]:
        """Apply events in one transaction, skipping those already applied; all or nothing."""
        statuses = []
        with self.db.transaction() as conn:
            done = inbox.seen_many(conn, self.group, [(e.source, e.id) for e in events])
            applied = []
            with self.batch_scope(conn, [e for e in events if (e.source, e.id) not in done]):
                for event in events:
                    key = (event.source, event.id)
                    if key in done:
                        statuses.append("duplicate")
                        continue
                    logs.event_id.set(event.id)
                    self.handlers[event.type](conn, event)
                    done.add(key)
                    applied.append(key)
                    statuses.append("applied")
            inbox.record_many(conn, self.group, applied)
        logs.event_id.set(None)
        return statuses

    def batch_scope(self, conn, fresh: list[Event]):
        """What surrounds the handlers of one batch inside its transaction (``fresh``: the events
        not applied before). Nothing here; a service may load state for the whole batch and
        write it back at the end (the incentive unit of work)."""
        return contextlib.nullcontext()

    # -- the Kafka loop ----------------------------------------------------------------------
    def run(self) -> None:
        """Poll, apply, commit, until ``stop`` is set; then commit and close."""
        self._consumer = self.consumer_factory()
        try:
            while not self.stop.is_set():
                polled = self._consumer.poll(timeout_ms=self.poll_timeout_ms)
                if self.pacer is not None:
                    held = self.pacer.after_poll(self._consumer, polled)
                    metrics.CONSUMER_PAUSED.labels(self.db.service, self.group).set(held)
                records = [r for batch in polled.values() for r in batch]
                if records:
                    self.process(records)
                self._report_lag()
        finally:
            try:
                self._consumer.close(autocommit=False)
            finally:
                if self._producer is not None:
                    self._producer.close(timeout=5)

    def process(self, records: list) -> list[Outcome]:
        """Apply one poll's records and commit what was settled."""
        outcomes: list[Outcome] = []
        to_apply: list[tuple[object, Event]] = []
        counted: collections.Counter = collections.Counter()  # (type, outcome): metrics once a poll
        for record in records:
            event, status, error = self.parse(record)
            if event is not None:
                to_apply.append((record, event))
            elif status == "poison":
                self._dead_letter(record, error)
                outcomes.append(Outcome(record, "dead_lettered", error))
            else:
                outcomes.append(Outcome(record, "ignored"))
                counted["-", "ignored"] += 1
        if to_apply:
            try:
                statuses = self.apply_batch([e for _, e in to_apply])
                outcomes += [Outcome(r, s) for (r, _), s in zip(to_apply, statuses)]
                counted.update((e.type, s) for (_, e), s in zip(to_apply, statuses))
            except Exception:  # noqa: BLE001 - isolate the failing record, one at a time
                outcomes += self._apply_one_by_one(to_apply)
        for (event_type, status), count in counted.items():
            metrics.EVENTS_CONSUMED.labels(self.db.service, self.group, event_type, status).inc(count)
        self._commit(outcomes)
        return outcomes

    def _apply_one_by_one(self, items: list[tuple[object, Event]]) -> list[Outcome]:
        outcomes = []
        blocked: set[tuple[str, int]] = set()  # partitions stopped at a transient failure
        for record, event in items:
            partition = (record.topic, record.partition)
            if partition in blocked:
                outcomes.append(Outcome(record, "retry"))
                continue
            outcome = self._apply_with_retries(record, event)
            if outcome.status == "retry":
                blocked.add(partition)
                self._consumer.seek(TopicPartition(record.topic, record.partition), record.offset)
            outcomes.append(outcome)
        return outcomes

    def _apply_with_retries(self, record, event: Event) -> Outcome:
        """Apply one event alone: transient failures are retried (then left uncommitted), other
        failures up to ``max_attempts`` times, then the event is dead-lettered."""
        key = (record.topic, record.partition, record.offset)
        backoff = 0.1
        while not self.stop.is_set():
            try:
                status = self.apply_batch([event])[0]
                self._attempts.pop(key, None)
                metrics.EVENTS_CONSUMED.labels(self.db.service, self.group, event.type, status).inc()
                return Outcome(record, status)
            except PoisonEvent as exc:
                self._dead_letter(record, f"PoisonEvent: {exc}")
                return Outcome(record, "dead_lettered", str(exc))
            except Exception as exc:  # noqa: BLE001 - classified below
                if is_transient(exc):
                    log.warning("transient failure on %s, not committing: %s", event.id, exc)
                    if backoff >= 5:
                        return Outcome(record, "retry", str(exc))  # paused here; re-polled later
                else:
                    self._attempts[key] = self._attempts.get(key, 0) + 1
                    if self._attempts[key] >= self.max_attempts:
                        self._attempts.pop(key, None)
                        text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
                        self._dead_letter(record, text)
                        return Outcome(record, "dead_lettered", text)
                    log.warning("handler failed on %s (attempt %d): %s", event.id, self._attempts[key], exc)
            time.sleep(backoff)
            backoff = min(backoff * 2, 5)
        return Outcome(record, "retry")

    def _dead_letter(self, record, error: str) -> None:
        if self._producer is None:
            self._producer = self.producer_factory()
        headers = list(record.headers or []) + [
            ("lsq_dlt_group", self.group.encode()),
            ("lsq_dlt_error", error[:4000].encode()),
            ("lsq_dlt_topic", record.topic.encode()),
            ("lsq_dlt_partition", str(record.partition).encode()),
            ("lsq_dlt_offset", str(record.offset).encode()),
        ]
        self._producer.send(f"{record.topic}.dlt", key=record.key, value=record.value, headers=headers)
        self._producer.flush(timeout=30)
        metrics.EVENTS_DEAD_LETTERED.labels(self.db.service, self.group, record.topic).inc()
        log.error("dead-lettered %s[%s]@%s: %s", record.topic, record.partition, record.offset, error)

    def _commit(self, outcomes: list[Outcome]) -> None:
        offsets: dict[TopicPartition, int] = {}
        stopped: set[TopicPartition] = set()
        for outcome in sorted(outcomes, key=lambda o: (o.record.topic, o.record.partition, o.record.offset)):
            tp = TopicPartition(outcome.record.topic, outcome.record.partition)
            if outcome.status == "retry":
                stopped.add(tp)
            elif tp not in stopped:
                offsets[tp] = max(offsets.get(tp, -1), outcome.record.offset + 1)
        if not offsets:
            return
        if self.before_offset_commit:
            self.before_offset_commit()
        self._consumer.commit({tp: OffsetAndMetadata(offset, "", -1) for tp, offset in offsets.items()})

    def _report_lag(self) -> None:
        now = time.monotonic()
        if now - self._last_lag < 10:
            return
        self._last_lag = now
        try:
            assigned = list(self._consumer.assignment())
            if not assigned:
                return
            ends = self._consumer.end_offsets(assigned)
            for tp in assigned:
                lag = max(0, ends.get(tp, 0) - self._consumer.position(tp))
                metrics.CONSUMER_LAG.labels(self.db.service, self.group, tp.topic, tp.partition).set(lag)
        except Exception as exc:  # noqa: BLE001 - lag is informational
            log.debug("could not compute lag: %s", exc)


def is_transient(exc: Exception) -> bool:
    """Worth retrying later: ``TransientError``, or the database being unreachable or locked."""
    if isinstance(exc, TransientError):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        text = str(exc.orig).lower()
        return isinstance(exc, OperationalError) and any(word in text for word in (
            "locked", "connection", "timeout", "could not connect", "server closed", "terminating"))
    return False
