"""Dead letters: what the consumers could not apply, looked at and put back once the cause is fixed.

A consumer sends an event it cannot apply to ``<topic>.dlt`` with the original record's key, value
and headers, plus ``lsq_dlt_group``, ``lsq_dlt_error``, ``lsq_dlt_topic``, ``lsq_dlt_partition``
and ``lsq_dlt_offset`` (``shared.consumer``). ``lsq dlt list`` counts them and groups their
errors, ``lsq dlt show`` prints them, and ``lsq dlt replay`` produces them again on their original
topic. Every consumer's inbox keeps an event applied once, so a replay only reaches the consumers
that had not applied it (the group that dead-lettered it) and is harmless to the others.

A dead-letter topic is never rewritten (Kafka's log is append-only). What has been replayed is
remembered as the committed offset of the consumer group ``lsq-dlt-replay`` on each ``.dlt``
topic: a plain ``replay`` puts back only what came after the last one, so running it twice sends
nothing twice. ``replay --id`` puts back the named events whatever was replayed before.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

#: The consumer group whose committed offsets on a ``.dlt`` topic say what was replayed.
REPLAY_GROUP = "lsq-dlt-replay"

#: Headers the consumer adds when it dead-letters; a replay takes them off again.
DLT_HEADERS = ("lsq_dlt_group", "lsq_dlt_error", "lsq_dlt_topic", "lsq_dlt_partition", "lsq_dlt_offset")


@dataclass(frozen=True)
class DeadLetter:
    """One record of a dead-letter topic, as an operator reads it."""
    dlt_topic: str
    partition: int
    offset: int
    timestamp: datetime
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...]

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value.decode("utf-8", "replace")
        return None

    @property
    def event_id(self) -> str | None:
        return self.header("ce_id")

    @property
    def event_type(self) -> str | None:
        return self.header("ce_type")

    @property
    def error(self) -> str:
        return self.header("lsq_dlt_error") or ""

    @property
    def group(self) -> str | None:
        return self.header("lsq_dlt_group")

    @property
    def original_topic(self) -> str:
        """The topic the event came from (the header, or the ``.dlt`` topic's name without it)."""
        return self.header("lsq_dlt_topic") or self.dlt_topic.removesuffix(".dlt")

    def replay_headers(self) -> list[tuple[str, bytes]]:
        """The original headers, plus where the replay came from (for whoever traces it)."""
        kept = [(k, v) for k, v in self.headers if k not in DLT_HEADERS and k != "lsq_replayed_from"]
        return kept + [("lsq_replayed_from", f"{self.dlt_topic}:{self.partition}:{self.offset}".encode())]


def dlt_topic_of(topic: str) -> str:
    """``lsq.staff`` and ``lsq.staff.dlt`` both name the dead-letter topic ``lsq.staff.dlt``."""
    return topic if topic.endswith(".dlt") else f"{topic}.dlt"


#: Ids, numbers and quoted values vary from one failure to the next; the kind of error does not.
_VARYING = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I), "<id>"),
    (re.compile(r"'[^']*'"), "'…'"),
    (re.compile(r'"[^"]*"'), '"…"'),
    (re.compile(r"\d+(\.\d+)?"), "<n>"),
]


def error_kind(error: str) -> str:
    """The error's first line with its ids, numbers and quoted values blanked, so that the same
    failure on many events groups as one."""
    line = (error.strip().splitlines() or [""])[-1 if error.startswith("Traceback") else 0]
    for pattern, replacement in _VARYING:
        line = pattern.sub(replacement, line)
    return line[:200]


@dataclass
class TopicSummary:
    """What ``lsq dlt list`` prints for one dead-letter topic."""
    topic: str
    count: int = 0
    first: datetime | None = None
    last: datetime | None = None
    waiting: int = 0  # not replayed yet
    errors: Counter = field(default_factory=Counter)
    groups: Counter = field(default_factory=Counter)

    def add(self, letter: DeadLetter, replayed: bool) -> None:
        self.count += 1
        self.waiting += 0 if replayed else 1
        self.first = letter.timestamp if self.first is None else min(self.first, letter.timestamp)
        self.last = letter.timestamp if self.last is None else max(self.last, letter.timestamp)
        self.errors[error_kind(letter.error)] += 1
        self.groups[letter.group or "?"] += 1

    def as_dict(self) -> dict:
        return {"topic": self.topic, "count": self.count, "waiting": self.waiting,
                "first": self.first.isoformat() if self.first else None,
                "last": self.last.isoformat() if self.last else None,
                "errors": [{"error": e, "count": n} for e, n in self.errors.most_common()],
                "groups": dict(self.groups)}


def summarise(letters, replayed_up_to: dict[tuple[str, int], int]) -> dict[str, TopicSummary]:
    """Per dead-letter topic: count, first and last, how many wait for a replay, errors grouped."""
    summaries: dict[str, TopicSummary] = {}
    for letter in letters:
        summary = summaries.setdefault(letter.dlt_topic, TopicSummary(letter.dlt_topic))
        summary.add(letter, letter.offset < replayed_up_to.get((letter.dlt_topic, letter.partition), 0))
    return summaries


# -- reading and writing the topics ------------------------------------------------------------

def dlt_topics(bootstrap: str, topic: str | None = None) -> list[str]:
    """The dead-letter topics on the broker (or the one for ``topic``), sorted."""
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None)
    try:
        existing = consumer.topics()
    finally:
        consumer.close()
    if topic:
        wanted = dlt_topic_of(topic)
        return [wanted] if wanted in existing else []
    return sorted(t for t in existing if t.endswith(".dlt"))


def read(bootstrap: str, topics: list[str], timeout: float = 20.0) -> list[DeadLetter]:
    """Every record of ``topics`` from the beginning to their current end (then stops)."""
    import time

    from kafka import KafkaConsumer, TopicPartition
    if not topics:
        return []
    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    letters: list[DeadLetter] = []
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in sorted(consumer.partitions_for_topic(t) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        remaining = {tp for tp in partitions if ends[tp] > 0 and consumer.position(tp) < ends[tp]}
        deadline = time.monotonic() + timeout
        while remaining and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                for record in records:
                    if record.offset < ends[tp]:
                        letters.append(DeadLetter(
                            tp.topic, tp.partition, record.offset,
                            datetime.fromtimestamp(record.timestamp / 1000, timezone.utc),
                            record.key, record.value, tuple(record.headers or ())))
                if consumer.position(tp) >= ends[tp]:
                    remaining.discard(tp)
        if remaining:
            raise TimeoutError(f"could not read {sorted(f'{tp.topic}:{tp.partition}' for tp in remaining)} "
                               f"to its end within {timeout:.0f} s")
    finally:
        consumer.close()
    return letters


def replayed_offsets(bootstrap: str, topics: list[str]) -> dict[tuple[str, int], int]:
    """Per (dead-letter topic, partition): the offset up to which ``replay`` has put records back."""
    from kafka import KafkaAdminClient
    admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
    try:
        committed = admin.list_group_offsets({REPLAY_GROUP: None}).get(REPLAY_GROUP, {})
    finally:
        admin.close()
    return {(tp.topic, tp.partition): meta.offset for tp, meta in committed.items()
            if tp.topic in topics and meta.offset >= 0}


def replay(bootstrap: str, topic: str, event_ids: list[str] | None = None) -> list[DeadLetter]:
    """Put dead letters of ``topic`` back on their original topic and return them.

    Without ``event_ids``: every record not replayed before, and the replay group's offsets move
    past them. With ``event_ids``: those events (their latest dead letter each), offsets untouched.
    """
    from kafka import KafkaAdminClient, OffsetAndMetadata, TopicPartition

    from shared.bus import make_producer
    dlt = dlt_topic_of(topic)
    letters = read(bootstrap, [dlt])
    if event_ids:
        latest = {letter.event_id: letter for letter in letters if letter.event_id in set(event_ids)}
        chosen = sorted(latest.values(), key=lambda letter: (letter.partition, letter.offset))
    else:
        done = replayed_offsets(bootstrap, [dlt])
        chosen = [letter for letter in letters if letter.offset >= done.get((dlt, letter.partition), 0)]
    if not chosen:
        return []
    producer = make_producer(bootstrap, client_id="lsq-dlt-replay")
    try:
        for letter in chosen:
            producer.send(letter.original_topic, key=letter.key, value=letter.value, headers=letter.replay_headers())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=10)
    if not event_ids:
        ends: dict[int, int] = {}
        for letter in chosen:
            ends[letter.partition] = max(ends.get(letter.partition, 0), letter.offset + 1)
        admin = KafkaAdminClient(bootstrap_servers=bootstrap.split(","))
        try:
            errors = admin.alter_group_offsets(
                REPLAY_GROUP, {TopicPartition(dlt, p): OffsetAndMetadata(o, "", -1) for p, o in ends.items()})
        finally:
            admin.close()
        failed = {tp: e for tp, e in errors.items() if getattr(e, "errno", 0)}
        if failed:  # replayed, but not remembered: say so rather than replay them again unawares
            raise RuntimeError(f"replayed {len(chosen)} events but could not record it: {failed}")
    return chosen
