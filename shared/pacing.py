"""Keeps the partitions of a consumer's backlog in step by record time.

A consumer that is behind (after an outage, a new consumer group, a replay) gets each partition's
backlog in fetches of a fixed number of bytes. A quiet topic's whole backlog (a month of overdue
training notices) then arrives in a fetch or two, long before the busy topic's records of the same
hours (the praise of that month), and handlers see effects before their causes: the incentive
service escalates an overdue requirement and withdraws the escalation when the completion that
met it arrives later. Kafka Streams meets the same problem by picking records in timestamp order
across partitions; here the consumer pauses any partition that has run more than ``window_ms`` of
record time ahead of the slowest partition that still has a backlog, and resumes it when the
others have caught up. Kafka keeps a paused partition's fetched records (kafka-python too), so
nothing is fetched twice, and offsets are untouched: what is paused is simply returned later.

Pacing never stops consumption: a partition whose backlog delivers nothing for ``max_idle_s``
(only control records left, say) stops holding the others back, and a poll that returns nothing
resumes everything.
"""
from __future__ import annotations

import time

#: Default width of the window, in milliseconds of record time. Records carry the time the relay
#: published them, so in a backlog they follow the time the events happened.
PACING_WINDOW_MS = 200

#: A partition with a backlog that has delivered nothing for this long no longer holds others back.
MAX_IDLE_S = 2.0


class RecordTimePacer:
    """Pauses partitions that are ahead in record time; call ``after_poll`` after every poll.

    ``consumer`` needs ``assignment()``, ``highwater(tp)``, ``paused()``, ``pause(*tps)``,
    ``resume(*tps)`` and ``config["max_poll_records"]``, as ``kafka.KafkaConsumer`` has.
    ``clock`` gives monotonic seconds (tests pass their own).
    """

    def __init__(self, window_ms: int = PACING_WINDOW_MS, max_idle_s: float = MAX_IDLE_S, clock=time.monotonic):
        self.window_ms = window_ms
        self.max_idle_s = max_idle_s
        self._now = clock
        self._record_time: dict = {}   # tp -> timestamp (ms) of the last record delivered
        self._next_offset: dict = {}   # tp -> offset after the last record delivered
        self._progress_at: dict = {}   # tp -> when it last delivered records (or was first seen)

    def after_poll(self, consumer, polled: dict) -> int:
        """Note what ``polled`` ({partition: records}) delivered, then pause and resume partitions;
        returns how many partitions are paused now."""
        now = self._now()
        last_delivered = None
        delivered = 0
        for tp, records in polled.items():
            if records:
                last_delivered = tp
                delivered += len(records)
                self._record_time[tp] = records[-1].timestamp
                self._next_offset[tp] = records[-1].offset + 1
                self._progress_at[tp] = now
        paused = set(consumer.paused())
        assigned = set(consumer.assignment())
        self._forget(assigned)
        for tp in assigned:
            self._progress_at.setdefault(tp, now)
        if last_delivered is None:
            if paused:
                consumer.resume(*paused)  # nothing came: never let pacing be what waits
            return 0
        slowest = None
        for tp in assigned:
            if not self._has_backlog(consumer, tp) or now - self._progress_at[tp] > self.max_idle_s:
                continue
            at = self._record_time.get(tp)
            if at is None:  # not heard from yet: where it stands is unknown, so pause nothing
                slowest = None
                break
            slowest = at if slowest is None else min(slowest, at)
        if slowest is None:
            if paused:
                consumer.resume(*paused)
            return 0
        limit = slowest + self.window_ms
        ahead = {tp for tp in assigned if self._record_time.get(tp, limit) > limit}
        if delivered >= consumer.config["max_poll_records"]:
            # A full poll may have ended inside the last partition's fetched records. kafka-python
            # 3.0.12 parks such records when their partition is paused but never hands them back,
            # nor fetches that partition again; so it stays unpaused until a poll drains it.
            ahead.discard(last_delivered)
        if ahead - paused:
            consumer.pause(*(ahead - paused))
        if paused - ahead:
            consumer.resume(*(paused - ahead))
        return len(ahead)

    def _has_backlog(self, consumer, tp) -> bool:
        highwater = consumer.highwater(tp)
        if highwater is None:
            return tp not in self._next_offset  # never fetched: it may well have one
        return self._next_offset.get(tp, 0) < highwater

    def _forget(self, assigned: set) -> None:
        """Drop what is known of partitions no longer assigned (after a rebalance)."""
        for known in (self._record_time, self._next_offset, self._progress_at):
            for tp in [tp for tp in known if tp not in assigned]:
                del known[tp]
