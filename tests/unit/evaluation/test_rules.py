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
    members = [(f"b{b}-s{i}", f"b{b}", "staff") for b, n in enumerate(sizes) for i in range(n)]
    branch = {s: b for s, b, _ in members}
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


@given(staff=st.lists(st.integers(0, 8), min_size=1, max_size=4), supervisors=st.lists(st.integers(0, 4), min_size=1,
                                                                                          max_size=4),
       per_person=st.integers(3, 6), cycle=st.text(min_size=1, max_size=8))
def test_peers_are_colleagues_never_a_supervisor_nor_the_branch_manager(staff, supervisors, per_person, cycle):
    """Staff rate staff, supervisors supervisors of their branch, branch managers each other:
    nobody's peer is someone who supervises them (who gives them the supervisor rating)."""
    members = []
    for b in range(max(len(staff), len(supervisors))):
        members += [(f"b{b}-s{i}", f"b{b}", "staff") for i in range(staff[b] if b < len(staff) else 0)]
        members += [(f"b{b}-m{i}", f"b{b}", "supervisor") for i in range(supervisors[b] if b < len(supervisors) else 0)]
        members.append((f"b{b}-boss", f"b{b}", "branch_manager"))
    who = {s: (b, r) for s, b, r in members}
    peers = model.assign_peers(cycle, members, per_person)
    managers = sum(1 for _, _, r in members if r == "branch_manager")
    for staff_id, ps in peers.items():
        branch, role = who[staff_id]
        assert all(who[p][1] == role for p in ps)  # the same level
        assert not any(model.supervises(who[p], who[staff_id]) for p in ps)
        if role == "branch_manager":
            assert len(ps) == min(per_person, managers - 1)
        else:
            group = sum(1 for b, r in who.values() if (b, r) == (branch, role))
            assert len(ps) == min(per_person, group - 1) and all(who[p][0] == branch for p in ps)


def test_a_supervisor_in_the_old_ring_would_have_rated_twice():
    """The regression of issue 17: with one ring per branch a supervisor was a peer of the staff
    they also rate as supervisor."""
    members = [(f"s{i}", "b1", "staff") for i in range(4)] + [("m1", "b1", "supervisor"), ("boss", "b1", "branch_manager")]
    peers = model.assign_peers("cycle-1", members, 5)
    assert all("m1" not in peers[f"s{i}"] and "boss" not in peers[f"s{i}"] for i in range(4))
    assert peers["m1"] == [] and peers["boss"] == [] and sorted(peers["s0"]) == ["s1", "s2", "s3"]


def test_manual_peers_never_include_whoever_supervises_the_person():
    members = {"a": ("b1", "staff"), "b": ("b1", "staff"), "m": ("b1", "supervisor"), "boss": ("b1", "branch_manager"),
               "x": ("b2", "supervisor"), "m2": ("b1", "supervisor")}
    assert model.check_peer_change("a", ["b", "x"], members) == ["b", "x"]  # another branch's supervisor is no boss
    assert model.check_peer_change("m", ["m2"], members) == ["m2"]
    for staff_id, peers in (("a", ["b", "m"]), ("a", ["boss"]), ("m", ["boss"])):
        with pytest.raises(Invalid) as exc:
            model.check_peer_change(staff_id, peers, members)
        assert exc.value.field == "peer_ids" and exc.value.code == "supervisor_as_peer"
        assert "主管或馆长" in exc.value.message_zh


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
            ("supervisor", "s1", "supervisor", "b1"), ("self", None, "staff", "b1"),
            ("supervisor", "p1", "supervisor", "b1")]:  # an assigned peer does not also rate as supervisor
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


# -- who runs a cycle, who sees it -------------------------------------------------------------
def test_branch_managers_create_cycles_of_their_own_branch_only():
    assert model.cycle_scope("network_admin", None, None, []) == ("network", [], None)
    assert model.cycle_scope("network_admin", None, "branches", ["b2", "b1", "b2"]) == ("branches", ["b1", "b2"], None)
    assert model.cycle_scope("branch_manager", "b1", None, []) == ("branches", ["b1"], "b1")
    assert model.cycle_scope("branch_manager", "b1", "branches", ["b1"]) == ("branches", ["b1"], "b1")
    for scope, ids in (("network", []), ("branches", ["b1", "b2"]), (None, ["b2"])):
        with pytest.raises(Forbidden):
            model.cycle_scope("branch_manager", "b1", scope, ids)


def test_who_runs_and_who_sees_a_cycle():
    model.check_may_run("network_admin", None, None)
    model.check_may_run("network_admin", None, "b1")
    model.check_may_run("branch_manager", "b1", "b1")
    for role, branch, owner in (("branch_manager", "b1", None), ("branch_manager", "b2", "b1"),
                                ("supervisor", "b1", "b1"), ("auditor", None, "b1")):
        with pytest.raises(Forbidden):
            model.check_may_run(role, branch, owner)
    assert model.cycle_visible(False, "b1", "network", [])
    assert model.cycle_visible(False, "b1", "branches", ["b1", "b3"])
    assert not model.cycle_visible(False, "b2", "branches", ["b1"])
    assert model.cycle_visible(True, None, "branches", ["b1"])


# -- deadlines of a cycle ----------------------------------------------------------------------
def test_a_deadline_must_lie_ahead():
    now = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    model.check_deadline_ahead(now + timedelta(microseconds=1), now)
    for deadline in (now, now - timedelta(days=3)):
        with pytest.raises(Invalid) as exc:
            model.check_deadline_ahead(deadline, now)
        assert exc.value.field == "submission_deadline" and exc.value.code == "deadline_in_past"


def test_an_open_cycles_deadline_is_only_extended():
    now = datetime(2026, 12, 31, 15, 30, tzinfo=UTC)
    current = now + timedelta(days=2)
    model.check_extension(current, current + timedelta(days=7), now)
    model.check_extension(now - timedelta(days=1), now + timedelta(hours=1), now)  # a passed deadline reopened
    for new, code in ((current - timedelta(days=1), "deadline_not_extended"), (current, "deadline_not_extended"),
                      (now - timedelta(seconds=1), "deadline_in_past")):
        with pytest.raises(Invalid) as exc:
            model.check_extension(current, new, now)
        assert exc.value.field == "submission_deadline" and exc.value.code == code


# -- Chinese texts name things in Chinese ---------------------------------------------------------
def test_state_errors_use_chinese_labels_not_codes():
    with pytest.raises(Conflict) as exc:
        model.check_transition("published", "open")
    assert exc.value.message_zh == "周期当前为“已公布”状态，无法开放（需为“草稿”）"
    with pytest.raises(Conflict) as exc:
        model.check_submission_window("closed", datetime(2026, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
    assert "已关闭" in exc.value.message_zh and "closed" not in exc.value.message_zh
    with pytest.raises(Invalid) as exc:
        model.check_ratings(RUBRIC, {c: 3 for c in RUBRIC.codes if c != "efficiency"})
    assert exc.value.message_zh == "缺少维度“服务效率”的评分"


def test_appeal_filters_accept_the_incentive_services_words():
    assert model.APPEAL_FILTERS["open"] == ("pending",)
    assert set(model.APPEAL_FILTERS["decided"]) == {"upheld", "revised"}
    assert set(model.APPEAL_STATE_LABELS_ZH) == set(model.APPEAL_STATES)


def test_setting_errors_name_the_setting_in_chinese():
    with pytest.raises(Invalid) as exc:
        model.merge_settings(model.default_settings(), {"reader": {"penalties": {"substantiated": {"high": "x"}}}})
    assert exc.value.field == "reader.penalties.substantiated.high"
    assert exc.value.message_zh == "投诉扣分（投诉属实，高）必须是数字"
    with pytest.raises(Invalid) as exc:
        model.merge_settings(model.default_settings(), {"peers_per_person": 50})
    assert exc.value.message_zh == "每人同事评价人数须在 3 与 10 之间"
