"""Pacing a backlog by record time: which partitions are paused and resumed after each poll."""
from collections import namedtuple

from kafka import TopicPartition

from shared.pacing import RecordTimePacer

Record = namedtuple("Record", "offset timestamp")

PRAISE = TopicPartition("lsq.praise", 0)
TRAINING = TopicPartition("lsq.training", 0)
EVALUATION = TopicPartition("lsq.evaluation", 0)


class FakeConsumer:
    """What the pacer uses of ``KafkaConsumer``: assignment, highwater marks, pause and resume."""

    def __init__(self, highwater: dict, max_poll_records: int = 500):
        self.config = {"max_poll_records": max_poll_records}
        self.highwaters = dict(highwater)
        self.paused_set = set()

    def assignment(self):
        return set(self.highwaters)

    def highwater(self, tp):
        return self.highwaters[tp]

    def paused(self):
        return set(self.paused_set)

    def pause(self, *tps):
        self.paused_set.update(tps)

    def resume(self, *tps):
        self.paused_set.difference_update(tps)


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def records(first_offset: int, *timestamps: int) -> list:
    return [Record(first_offset + i, at) for i, at in enumerate(timestamps)]


def test_a_partition_ahead_of_the_slowest_by_more_than_the_window_is_paused():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000})
    pacer = RecordTimePacer(window_ms=200)
    # The training backlog came in a chunk reaching far ahead; the praise poll ended the poll.
    held = pacer.after_poll(consumer, {TRAINING: records(0, 1000, 5000), PRAISE: records(0, 900, 1000)})
    assert consumer.paused() == {TRAINING}
    assert held == 1  # what the runner reports as lsq_consumer_paused_partitions


def test_a_paused_partition_is_resumed_once_the_others_have_caught_up_to_the_window():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {TRAINING: records(0, 1000, 5000), PRAISE: records(0, 900, 1000)})
    pacer.after_poll(consumer, {PRAISE: records(2, 3000, 4700)})
    assert consumer.paused() == {TRAINING}  # 5000 > 4700 + 200
    assert pacer.after_poll(consumer, {PRAISE: records(4, 4800, 4850)}) == 0
    assert consumer.paused() == set()


def test_within_the_window_nothing_is_paused():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {TRAINING: records(0, 1000, 1150), PRAISE: records(0, 900, 1000)})
    assert consumer.paused() == set()


def test_the_partition_a_full_poll_ended_on_is_not_paused_even_when_ahead():
    # It may have fetched records left in the client, which kafka-python would park for good.
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000}, max_poll_records=4)
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {PRAISE: records(0, 900, 1000), TRAINING: records(0, 1000, 5000)})
    assert consumer.paused() == set()
    pacer.after_poll(consumer, {TRAINING: records(2, 5001), PRAISE: records(2, 1100)})
    assert consumer.paused() == {TRAINING}


def test_a_partition_without_backlog_does_not_hold_the_others_back():
    # Evaluation is caught up at an old record time: praise and training may run ahead of it.
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000, EVALUATION: 2})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {EVALUATION: records(0, 10, 20), TRAINING: records(0, 4000, 5000),
                                PRAISE: records(0, 4900, 5000)})
    assert consumer.paused() == set()


def test_a_partition_never_heard_from_pauses_nothing_until_it_is():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000, EVALUATION: None})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {TRAINING: records(0, 1000, 5000), PRAISE: records(0, 900, 1000)})
    assert consumer.paused() == set()
    consumer.highwaters[EVALUATION] = 50
    pacer.after_poll(consumer, {EVALUATION: records(0, 10, 950), PRAISE: records(2, 1100)})
    assert consumer.paused() == {TRAINING}


def test_a_backlog_that_delivers_nothing_for_too_long_stops_holding_the_others_back():
    clock = Clock()
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000, EVALUATION: 1000})
    pacer = RecordTimePacer(window_ms=200, max_idle_s=2.0, clock=clock)
    pacer.after_poll(consumer, {EVALUATION: records(0, 100), TRAINING: records(0, 5000), PRAISE: records(0, 150)})
    assert consumer.paused() == {TRAINING}
    clock.now += 1.0
    pacer.after_poll(consumer, {PRAISE: records(1, 250)})
    assert consumer.paused() == {TRAINING}  # evaluation, at 100, still holds it back
    clock.now += 1.5  # evaluation says it has a backlog (highwater) but has delivered none for 2.5 s
    pacer.after_poll(consumer, {PRAISE: records(2, 4900)})
    assert consumer.paused() == set()


def test_a_poll_that_returns_nothing_resumes_every_partition():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {TRAINING: records(0, 5000), PRAISE: records(0, 1000)})
    assert consumer.paused() == {TRAINING}
    pacer.after_poll(consumer, {})
    assert consumer.paused() == set()


def test_what_is_known_of_a_partition_is_dropped_when_it_is_no_longer_assigned():
    consumer = FakeConsumer({PRAISE: 1000, TRAINING: 1000})
    pacer = RecordTimePacer(window_ms=200)
    pacer.after_poll(consumer, {PRAISE: records(0, 100), TRAINING: records(0, 100)})
    del consumer.highwaters[PRAISE]  # a rebalance gave it to another member
    pacer.after_poll(consumer, {TRAINING: records(1, 200)})
    # Praise no longer counts as the slowest: training, alone, is paused by nothing.
    assert consumer.paused() == set()
    consumer.highwaters[PRAISE] = None  # given back: unknown again until it delivers
    pacer.after_poll(consumer, {TRAINING: records(2, 5000), EVALUATION: []})
    assert consumer.paused() == set()
