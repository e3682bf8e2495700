"""Periods, states, peers, raters, ratings and appeals."""
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from services.evaluation import model
from shared.errors import Conflict, Forbidden, Invalid

UTC = timezone.utc
RUBRIC = model.rubric_from(1, model.check_dimensions(list(model.DEFAULT_DIMENSIONS)))


@pytest.mark.parametrize("label, start, end", [
    ("2026", date(2026, 1, 1), date(2026, 12, 31)), ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2024-Q1", date(2024, 1, 1), date(2024, 3, 31)), ("2026-H2", date(2026, 7, 1), date(2026, 12, 31)),
    ("2024-02", date(2024, 2, 1), date(2024, 2, 29))])
def test_periods(label, start, end):
    assert model.parse_period(label) == (start, end)


@pytest.mark.parametrize("label", ["2026-Q5", "26", "2026-13", "spring", ""])
def test_bad_period_names_the_field(label):
    with pytest.raises(Invalid) as exc:
        model.parse_period(label)
    assert exc.value.field == "period"


def test_period_days_are_local_days():
    start, end = model.period_bounds(date(2026, 10, 1), date(2026, 12, 31), "Asia/Shanghai")
    assert start == datetime(2026, 9, 30, 16, tzinfo=UTC) and end == datetime(2026, 12, 31, 16, tzinfo=UTC)


def test_state_machine():
    assert model.check_transition("draft", "open") == "open"
    assert model.check_transition("open", "close") == "closed"
    assert model.check_transition("closed", "publish") == "published"
    for status, action in [("draft", "close"), ("open", "publish"), ("published", "open"), ("closed", "close")]:
        with pytest.raises(Conflict):
            model.check_transition(status, action)


def test_submission_window():
    deadline = datetime(2026, 1, 1, tzinfo=UTC)
    model.check_submission_window("open", deadline, deadline)
    with pytest.raises(Conflict) as exc:
        model.check_submission_window("open", deadline, deadline + timedelta(seconds=1))
    assert exc.value.code == "deadline_passed"
    with pytest.raises(Conflict):
        model.check_submission_window("closed", deadline, deadline - timedelta(days=1))


@given(sizes=st.lists(st.integers(1, 12), min_size=1, max_size=4), per_person=st.integers(3, 6),
       cycle=st.text(min_size=1, max_size=8))
def test_peers_come_from_the_same_branch_never_themselves_and_load_is_even(sizes, per_person, cycle):
    members = [(f"b{b}-s{i}", f"b{b}") for b, n in enumerate(sizes) for i in range(n)]
    branch = dict(members)
    peers = model.assign_peers(cycle, members, per_person)
    assert set(peers) == set(branch)
    load = Counter(p for ps in peers.values() for p in ps)
    for staff_id, ps in peers.items():
        size = sum(1 for b in branch.values() if b == branch[staff_id])
        assert len(ps) == min(per_person, size - 1) == len(set(ps))
        assert staff_id not in ps
        assert all(branch[p] == branch[staff_id] for p in ps)
        assert load[staff_id] == len(ps)  # everyone rates as many as rate them
    assert peers == model.assign_peers(cycle, list(reversed(members)), per_person)


def test_manual_peer_change_rules():
    members = {"a", "b", "c", "d"}
    assert model.check_peer_change("a", ["d", "b"], members) == ["b", "d"]
    for peers in (["a", "b"], ["b", "b"], ["b", "x"]):
        with pytest.raises(Invalid) as exc:
            model.check_peer_change("a", peers, members)
        assert exc.value.field == "peer_ids"


def test_ratings_need_every_dimension_1_to_5():
    good = {c: 3 for c in RUBRIC.codes}
    assert model.check_ratings(RUBRIC, good) == good
    for bad, field in [({**good, "service_attitude": 6}, "scores.service_attitude"),
                       ({**good, "efficiency": 2.5}, "scores.efficiency"),
                       ({**good, "compliance": True}, "scores.compliance"),
                       ({k: v for k, v in good.items() if k != "compliance"}, "scores.compliance"),
                       ({**good, "charm": 5}, "scores.charm")]:
        with pytest.raises(Invalid) as exc:
            model.check_ratings(RUBRIC, bad)
        assert exc.value.field == field


def test_who_may_rate():
    base = dict(staff_id="s1", staff_branch="b1", assigned_peers=["p1", "p2", "p3"])
    model.check_rater("self", rater_id="s1", rater_role="staff", rater_branch="b1", **base)
    model.check_rater("peer", rater_id="p2", rater_role="staff", rater_branch="b1", **base)
    model.check_rater("supervisor", rater_id="m1", rater_role="supervisor", rater_branch="b1", **base)
    model.check_rater("supervisor", rater_id="m1", rater_role="branch_manager", rater_branch="b1", **base)
    model.check_rater("supervisor", rater_id="admin", rater_role="network_admin", rater_branch=None, **base)
    for rater_type, rater_id, role, branch in [
            ("self", "s2", "staff", "b1"), ("peer", "p9", "staff", "b1"), ("peer", "s1", "staff", "b1"),
            ("supervisor", "m2", "supervisor", "b2"), ("supervisor", "s2", "staff", "b1"),
            ("supervisor", "s1", "supervisor", "b1"), ("self", None, "staff", "b1")]:
        with pytest.raises(Forbidden):
            model.check_rater(rater_type, rater_id=rater_id, rater_role=role, rater_branch=branch, **base)


def test_appeal_window_and_states():
    published = datetime(2026, 1, 1, tzinfo=UTC)
    model.check_appeal("published", published, published + timedelta(days=14), 14)
    with pytest.raises(Conflict) as exc:
        model.check_appeal("published", published, published + timedelta(days=14, seconds=1), 14)
    assert exc.value.code == "appeal_window_closed"
    for status in ("appealed", "revised", "upheld", "acknowledged"):
        with pytest.raises(Conflict):
            model.check_appeal(status, published, published, 14)
    model.check_acknowledge("published")
    model.check_acknowledge("revised")
    with pytest.raises(Conflict):
        model.check_acknowledge("appealed")
