"""UUIDv7 ids: format, version, variant, time, order within a process."""
import time
import uuid

from hypothesis import given, strategies as st

from shared import ids


def test_time_ordered_id_is_a_version_7_uuid_with_the_current_time(monkeypatch):
    # as in a fresh process: a test that set the clock ahead left later ids at that time (they only grow)
    monkeypatch.setattr(ids, "_last_millis", 0)
    before = time.time_ns() // 1_000_000
    text = ids.time_ordered_id()
    after = time.time_ns() // 1_000_000
    parsed = uuid.UUID(text)
    assert str(parsed) == text
    assert parsed.version == 7 and parsed.variant == uuid.RFC_4122
    assert before <= parsed.int >> 80 <= after + 1


def test_ids_increase_and_differ_within_one_process():
    made = [ids.time_ordered_id() for _ in range(20_000)]  # several per millisecond
    assert made == sorted(made)
    assert len(set(made)) == len(made)


def test_a_burst_in_one_millisecond_carries_into_the_next(monkeypatch):
    monkeypatch.setattr(ids.time, "time_ns", lambda: 4_000_000_000_000 * 1_000_000)
    monkeypatch.setattr(ids, "_last_millis", 0)  # restored afterwards: later ids are not dated 2096
    made = [uuid.UUID(ids.time_ordered_id()) for _ in range(5000)]  # more than the 12-bit counter holds
    assert [u.int for u in made] == sorted(u.int for u in made)
    assert {u.int >> 80 for u in made} == {4_000_000_000_000, 4_000_000_000_001}
    assert all(u.version == 7 for u in made)


@given(st.integers(min_value=0, max_value=(1 << 128) - 1))
def test_uuid_text_matches_the_standard_library(value):
    assert ids.uuid_text(value) == str(uuid.UUID(int=value))
