"""Who is asked for peer ratings and who is reminded of the deadline: the rules, without I/O."""
from datetime import datetime, timedelta, timezone

from services.evaluation import model

DEADLINE = datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc)  # 23:59 on 31 December in Shanghai


def test_peer_requests_count_each_raters_colleagues():
    assigned = {"a": ["b", "c"], "b": ["a", "c"], "c": ["a"], "d": []}
    assert model.peer_requests(assigned) == {"a": 2, "b": 1, "c": 2}
    assert model.peer_requests({}) == {}


def test_the_reminder_is_due_from_three_days_before_until_the_deadline():
    days = model.DEADLINE_REMINDER_DAYS
    assert not model.reminder_due(DEADLINE, DEADLINE - timedelta(days=days, seconds=1))
    assert model.reminder_due(DEADLINE, DEADLINE - timedelta(days=days))
    assert model.reminder_due(DEADLINE, DEADLINE - timedelta(seconds=1))
    assert not model.reminder_due(DEADLINE, DEADLINE)  # over: a reminder is no use any more


def test_unfinished_raters_owe_self_peer_and_supervisor_ratings():
    members = {"a": ("b1", "staff"), "b": ("b1", "staff"), "s": ("b1", "supervisor"), "x": ("b2", "staff")}
    pairs = {("a", "b"), ("b", "a"), ("a", "s")}  # (ratee, rater)
    submitted = {("a", "self", "a"), ("b", "peer", "a"),  # a has done everything
                 ("b", "self", "b"),                       # b still owes the peer rating of a
                 ("s", "self", "s"), ("a", "peer", "s")}   # s owes the supervisor rating of b only
    out = model.unfinished_raters(members, pairs, submitted)
    assert "a" not in out
    assert out["b"] == {"branch_id": "b1", "self_pending": False, "peers_pending": 1, "supervisor_pending": 0}
    assert out["s"] == {"branch_id": "b1", "self_pending": False, "peers_pending": 0, "supervisor_pending": 1}
    assert out["x"] == {"branch_id": "b2", "self_pending": True, "peers_pending": 0, "supervisor_pending": 0}
