"""Grouping dead letters for ``lsq dlt list`` (no broker)."""
from datetime import datetime, timedelta, timezone

from shared.deadletters import DeadLetter, dlt_topic_of, error_kind, summarise

T0 = datetime(2026, 12, 3, 8, 0, tzinfo=timezone.utc)


def _letter(offset, error, group="feedback", partition=0, minutes=0):
    headers = (("ce_id", f"e-{offset}".encode()), ("ce_type", b"lsq.staff.joined.v1"),
               ("lsq_dlt_group", group.encode()), ("lsq_dlt_error", error.encode()),
               ("lsq_dlt_topic", b"lsq.staff"), ("lsq_dlt_partition", b"2"), ("lsq_dlt_offset", str(offset).encode()))
    return DeadLetter("lsq.staff.dlt", partition, offset, T0 + timedelta(minutes=minutes), b"k", b"{}", headers)


def test_the_same_failure_on_different_events_is_one_kind():
    assert error_kind("invalid data for lsq.staff.joined.v1: {'name': ['Missing data']}") == \
        error_kind("invalid data for lsq.staff.joined.v1: {'hire_date': ['Not a valid date']}")
    assert error_kind("staff 0b8e6c1e-2f7a-4c39-9d55-7e0a3c1b2d4f unknown at offset 17") == "staff <id> unknown at offset <n>"
    assert error_kind("KeyError: 'x'") != error_kind("ValueError: 'x'")


def test_a_traceback_is_grouped_by_its_last_line():
    trace = "Traceback (most recent call last):\n  File \"x.py\", line 3\nKeyError: 'branch_id'"
    assert error_kind(trace) == "KeyError: '…'"


def test_summary_counts_first_last_waiting_and_groups():
    letters = [_letter(0, "PoisonEvent: bad 1", minutes=5), _letter(1, "PoisonEvent: bad 2", minutes=1),
               _letter(2, "KeyError: 'x'", group="training", minutes=9)]
    [summary] = summarise(letters, {("lsq.staff.dlt", 0): 1}).values()
    assert (summary.count, summary.waiting) == (3, 2)  # offset 0 was replayed before
    assert (summary.first, summary.last) == (T0 + timedelta(minutes=1), T0 + timedelta(minutes=9))
    assert summary.errors.most_common() == [("PoisonEvent: bad <n>", 2), ("KeyError: '…'", 1)]
    assert dict(summary.groups) == {"feedback": 2, "training": 1}


def test_a_replay_goes_back_to_the_original_topic_without_the_dead_letter_headers():
    letter = _letter(7, "boom")
    assert letter.original_topic == "lsq.staff"
    headers = dict(letter.replay_headers())
    assert headers["ce_id"] == b"e-7" and headers["lsq_replayed_from"] == b"lsq.staff.dlt:0:7"
    assert not [k for k in headers if k.startswith("lsq_dlt_")]
    assert dlt_topic_of("lsq.staff") == dlt_topic_of("lsq.staff.dlt") == "lsq.staff.dlt"
