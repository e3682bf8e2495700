"""Incentive domain rules without I/O: the policy language, the ladder, the fund, periods."""
import copy
import uuid
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from services.incentive import model
from services.incentive.model import DEFAULT_POLICY, Fact, ladder_decisions
from shared.errors import Conflict, Invalid
from shared.timeutil import UTC

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)


# -- policy validation ---------------------------------------------------------------------------
def test_the_default_policy_is_valid_and_normalised():
    doc = model.validate_policy(DEFAULT_POLICY)
    assert doc["fund"]["approval_threshold"] == "2000.00"
    policy = model.build_policy(1, doc)
    [excellent] = [r for r in policy.rules_for("lsq.evaluation.scored.v1") if r.matches({"grade": "excellent"})]
    assert excellent.award == {"tier": "A", "amount": "2000.00"}


def _with_rule(**rule):
    doc = copy.deepcopy(DEFAULT_POLICY)
    doc["rules"].append({"id": "extra", **rule})
    return doc


@pytest.mark.parametrize("rule, field", [
    ({"on": "lsq.nothing.happened.v1", "points": {"points": 1}}, "rules[10].on"),
    ({"on": "lsq.rating.submitted.v1", "points": {"points": 1}}, "rules[10].on"),  # known but meaningless here
    ({"on": "lsq.praise.received.v1", "when": {"colour": ["red"]}, "points": {"points": 1}}, "rules[10].when.colour"),
    ({"on": "lsq.evaluation.scored.v1", "when": {"grade": ["superb"]}, "points": {"points": 1}},
     "rules[10].when.grade"),
    ({"on": "lsq.training.completed.v1", "points": {"points": 1, "per": "title"}}, "rules[10].points.per"),
    ({"on": "lsq.complaint.resolved.v1", "sanction": {"level": "flogging"}}, "rules[10].sanction.level"),
    ({"on": "lsq.complaint.resolved.v1", "sanction": {"level": "notice", "target": "reader_ref"}},
     "rules[10].sanction.target"),
    ({"on": "lsq.complaint.resolved.v1", "award": {"tier": "A", "amount": "-5"}}, "rules[10].award.amount"),
    ({"on": "lsq.complaint.resolved.v1"}, "rules[10]"),
    ({"on": "lsq.complaint.resolved.v1", "points": {"points": 1}, "award": {"tier": "A", "amount": "1"}}, "rules[10]"),
    ({"on": "lsq.complaint.resolved.v1", "points": {"points": 1, "bonus": 2}}, "rules[10].points.bonus"),
])
def test_a_rule_naming_an_unknown_type_or_field_is_refused_naming_the_path(rule, field):
    with pytest.raises(Invalid) as error:
        model.validate_policy(_with_rule(**rule))
    assert error.value.field == field
    assert error.value.status == 422 and error.value.message_zh


def test_duplicate_rule_ids_and_bad_sections_are_refused():
    doc = copy.deepcopy(DEFAULT_POLICY)
    doc["rules"].append(copy.deepcopy(doc["rules"][0]))
    with pytest.raises(Invalid, match="unique"):
        model.validate_policy(doc)
    for path, value, field in [("fund", {"period": "week", "shortfall": "wait", "approval_threshold": "1"}, "fund.period"),
                               ("ladder", {"lapse_months": 0, "appeal_days": 14}, "ladder.lapse_months"),
                               ("surprise", 1, "policy.surprise")]:
        doc = copy.deepcopy(DEFAULT_POLICY)
        doc[path] = value
        with pytest.raises(Invalid) as error:
            model.validate_policy(doc)
        assert error.value.field == field


# -- the ladder ----------------------------------------------------------------------------------
def _step(key, days, **kw):
    return Fact(key=key, at=T0 + timedelta(days=days), kind=kw.pop("kind", "next_step"), **kw)


def test_substantiated_complaints_climb_one_step_each():
    facts = [_step(f"c{i}", i) for i in range(5)]
    assert [ladder_decisions(facts)[f"c{i}"] for i in range(5)] == [
        "verbal_warning", "written_warning", "improvement_plan", "referral", "referral"]


def test_high_severity_starts_one_step_higher():
    assert ladder_decisions([_step("c1", 0, bump=1)]) == {"c1": "written_warning"}
    assert ladder_decisions([_step("c0", 0), _step("c1", 1, bump=1)])["c1"] == "improvement_plan"


def test_sanctions_lapse_after_twelve_months():
    decided = ladder_decisions([_step("old", 0), _step("new", 366)])
    assert decided == {"old": "verbal_warning", "new": "verbal_warning"}
    assert ladder_decisions([_step("old", 0), _step("new", 300)])["new"] == "written_warning"


def test_an_overturned_sanction_no_longer_counts():
    decided = ladder_decisions([_step("c1", 0, excluded=True), _step("c2", 1)])
    assert decided == {"c2": "verbal_warning"}


def test_notices_do_not_climb_but_repeated_breaches_do():
    facts = [_step("n1", 0, kind="notice"), _step("b1", 1, kind="repeatable_notice", group="sla", free_notices=1),
             _step("b2", 2, kind="repeatable_notice", group="sla", free_notices=1),
             _step("b3", 3, kind="repeatable_notice", group="sla", free_notices=1)]
    assert ladder_decisions(facts) == {"n1": "notice", "b1": "notice", "b2": "verbal_warning", "b3": "written_warning"}


def test_a_fixed_level_counts_as_a_step():
    facts = [_step("plan", 0, kind="fixed", level="improvement_plan"), _step("c1", 1)]
    assert ladder_decisions(facts) == {"plan": "improvement_plan", "c1": "referral"}


fact_lists = st.lists(st.tuples(st.integers(0, 800), st.sampled_from(["next_step", "notice", "repeatable_notice", "fixed"]),
                                st.integers(0, 1), st.booleans()), min_size=1, max_size=12)


@given(fact_lists, st.randoms(use_true_random=False))
@settings(max_examples=150, deadline=None)
def test_decisions_do_not_depend_on_the_order_facts_are_known_in(items, rnd):
    facts = [_step(f"f{i}", days, kind=kind, bump=bump, excluded=excluded, group="g", free_notices=1,
                   level="written_warning" if kind == "fixed" else None)
             for i, (days, kind, bump, excluded) in enumerate(items)]
    shuffled = facts[:]
    rnd.shuffle(shuffled)
    decided = ladder_decisions(facts)
    assert decided == ladder_decisions(shuffled)
    assert set(decided) == {f.key for f in facts if not f.excluded}
    assert all(level in model.LEVELS for level in decided.values())


def _decisions_by_definition(facts):
    """The ladder as DOMAIN.md states it, recounting every earlier step for each fact."""
    decisions, steps, notices = {}, [], []
    for fact in sorted(facts, key=lambda f: (f.at, f.key)):
        if fact.excluded:
            continue
        live = [idx for at, until, idx in steps if until > fact.at]
        step = max(len(live), max((idx + 1 for idx in live), default=0))
        until = model.add_months(fact.at, fact.lapse_months)
        kind = fact.kind
        if kind == "repeatable_notice":
            earlier = sum(1 for group, lapse in notices if group == fact.group and lapse > fact.at)
            notices.append((fact.group, until))
            kind = "notice" if earlier < fact.free_notices else "next_step"
        if kind == "notice":
            decisions[fact.key] = "notice"
            continue
        index = model.LADDER.index(fact.level) if kind == "fixed" else min(step + fact.bump, len(model.LADDER) - 1)
        decisions[fact.key] = model.LADDER[index]
        steps.append((fact.at, until, index))
    return decisions


@given(st.lists(st.tuples(st.integers(0, 1500), st.sampled_from(["next_step", "notice", "repeatable_notice", "fixed"]),
                          st.integers(0, 1), st.booleans(), st.sampled_from([3, 6, 12, 24]), st.sampled_from("gh"),
                          st.integers(0, 3)), min_size=1, max_size=30))
@settings(max_examples=300, deadline=None)
def test_decisions_match_the_definition_over_long_histories_with_mixed_lapses(items):
    facts = [_step(f"f{i:02d}", days, kind=kind, bump=bump, excluded=excluded, lapse_months=lapse, group=group,
                   free_notices=free, level="written_warning" if kind == "fixed" else None)
             for i, (days, kind, bump, excluded, lapse, group, free) in enumerate(items)]
    assert ladder_decisions(facts) == _decisions_by_definition(facts)


@given(fact_lists, st.integers(0, 800))
@settings(max_examples=150, deadline=None)
def test_a_plain_notice_changes_no_other_decision(items, day):
    """What lets ledger.decide_new_fact issue a new notice without recomputing the ladder."""
    facts = [_step(f"f{i}", days, kind=kind, bump=bump, excluded=excluded, group="g", free_notices=1,
                   level="written_warning" if kind == "fixed" else None)
             for i, (days, kind, bump, excluded) in enumerate(items)]
    with_notice = ladder_decisions(facts + [_step("new", day, kind="notice", group="g")])
    assert with_notice.pop("new") == "notice"
    assert with_notice == ladder_decisions(facts)


@given(st.lists(st.tuples(st.integers(0, 1500), st.sampled_from(["next_step", "notice", "repeatable_notice", "fixed"]),
                          st.integers(0, 1), st.booleans(), st.sampled_from([3, 6, 12, 24]), st.sampled_from("gh"),
                          st.integers(0, 3)), max_size=30),
       st.integers(0, 200), st.sampled_from(["next_step", "notice", "repeatable_notice", "fixed"]), st.integers(0, 1),
       st.sampled_from("gh"), st.integers(0, 3))
@settings(max_examples=400, deadline=None)
def test_the_latest_fact_is_decided_from_the_sanctions_in_force_as_from_the_whole_history(
        items, later, kind, bump, group, free):
    facts = [_step(f"f{i:02d}", days, kind=k, bump=b, excluded=excluded, lapse_months=lapse, group=g,
                   free_notices=fr, level="written_warning" if k == "fixed" else None)
             for i, (days, k, b, excluded, lapse, g, fr) in enumerate(items)]
    last = max((f.at for f in facts), default=T0)
    new = _step("zz-new", (last - T0).days + later, kind=kind, bump=bump, group=group, free_notices=free,
                level="improvement_plan" if kind == "fixed" else None)
    decided = ladder_decisions(facts)
    in_force = [(model.add_months(f.at, f.lapse_months), decided[f.key]) for f in facts if f.key in decided]
    notices = {}
    for f in facts:
        if f.kind == "repeatable_notice" and not f.excluded:
            notices.setdefault(f.group, []).append(model.add_months(f.at, f.lapse_months))
    assert model.decide_latest(new, in_force, notices) == ladder_decisions(facts + [new])["zz-new"]


def test_standing_counts_only_sanctions_in_force():
    until = model.add_months(T0, 12)
    standing = model.ladder_step([("verbal_warning", T0, until), ("notice", T0, until)], T0 + timedelta(days=1))
    assert standing == {"step": 1, "next_level": "written_warning", "current_level": "verbal_warning"}
    assert model.ladder_step([("verbal_warning", T0, until)], until)["step"] == 0


# -- funds, points, periods ----------------------------------------------------------------------
def test_fund_decisions():
    d = Decimal
    assert model.fund_decision(d("800"), d("5000"), d("2000"), "wait") == ("granted", d("800"), None)
    assert model.fund_decision(d("2500"), d("5000"), d("2000"), "wait") == ("pending", d("2500"), "branch_manager_approval")
    assert model.fund_decision(d("800"), d("500"), d("2000"), "wait") == ("pending", d("0.00"), "fund_short")
    assert model.fund_decision(d("800"), d("500"), d("2000"), "pro_rata") == ("granted", d("500.00"), None)
    assert model.fund_decision(d("800"), d("0"), d("2000"), "pro_rata") == ("pending", d("0.00"), "fund_short")


@given(st.lists(st.decimals(min_value=1, max_value=5000, places=2), max_size=30),
       st.decimals(min_value=0, max_value=20000, places=2), st.sampled_from(["wait", "pro_rata"]))
def test_the_fund_never_goes_negative_and_no_award_is_dropped(amounts, budget, mode):
    left = budget
    for amount in amounts:
        status, reserve, waiting = model.fund_decision(amount, left, Decimal("2000"), mode)
        assert status in ("granted", "pending")
        assert Decimal(0) <= reserve <= amount
        left -= reserve
        assert left >= 0
        if status == "pending" and waiting == "fund_short":
            assert reserve == 0


def test_points_and_caps():
    rule = model.Rule(id="t", on="lsq.training.completed.v1", when={}, points={"points": 2, "per": "credit_hours"})
    assert model.points_for(rule, {"credit_hours": 2.5}) == 5
    assert model.capped(5, 28, 30) == 2 and model.capped(5, 30, 30) == 0 and model.capped(5, 100, None) == 5


def test_periods_and_months():
    moment = datetime(2026, 11, 30, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert model.fund_period(moment) == "2026-Q4"
    assert model.fund_period(moment, "month") == "2026-11" and model.fund_period(moment, "year") == "2026"
    assert model.add_months(datetime(2026, 1, 31, tzinfo=UTC), 1) == datetime(2026, 2, 28, tzinfo=UTC)
    assert model.valid_period("2026-Q4") and model.valid_period("2026-02") and not model.valid_period("2026-13")
    assert model.entry_id("a", 1) == model.entry_id("a", 1) != model.entry_id("a", 2)


def test_entry_ids_dated_by_their_cause_are_deterministic_and_time_ordered():
    earlier, later = datetime(2026, 3, 1, 8, 0, tzinfo=UTC), datetime(2026, 3, 1, 8, 0, 0, 1000, tzinfo=UTC)
    first = model.entry_id("points", "praise:z", "r1", at=earlier)
    assert first == model.entry_id("points", "praise:z", "r1", at=earlier)  # replays give the same id
    assert first != model.entry_id("points", "praise:y", "r1", at=earlier)
    # Later causes sort after earlier ones, whatever the hashed parts say.
    assert all(model.entry_id("points", f"praise:{n}", "r1", at=earlier)
               < model.entry_id("points", "praise:0", "r1", at=later) for n in range(200))
    assert uuid.UUID(first).version == 8 and uuid.UUID(first).variant == uuid.RFC_4122
    assert int(first.replace("-", "")[:12], 16) == int(earlier.timestamp() * 1000)


def test_appeal_window_and_states():
    model.check_appeal("issued", "verbal_warning", T0, T0 + timedelta(days=14))
    with pytest.raises(Conflict, match="window"):
        model.check_appeal("issued", "verbal_warning", T0 + timedelta(days=15), T0 + timedelta(days=14))
    with pytest.raises(Conflict):
        model.check_appeal("issued", "notice", T0, T0 + timedelta(days=14))
    with pytest.raises(Conflict):
        model.check_appeal("appealed", "verbal_warning", T0, T0 + timedelta(days=14))
    with pytest.raises(Invalid):
        model.money("-1")


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 5000) | st.floats(allow_nan=True) |
                           st.text(max_size=12) | st.sampled_from(["excellent", "notice", "next_step", "2000.00", "staff_id"]),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                           max_leaves=8)


@given(st.sampled_from(["fund", "ladder", "points_credit", "rules", "rule", "when", "action"]), json_values)
@settings(max_examples=300, deadline=None)
def test_any_malformed_policy_is_refused_with_a_field_never_an_error(part, value):
    doc = copy.deepcopy(DEFAULT_POLICY)
    if part == "rule":
        doc["rules"][0] = value
    elif part == "when":
        doc["rules"][4]["when"] = value
    elif part == "action":
        doc["rules"][4]["sanction"] = value
    else:
        doc[part] = value
    try:
        model.validate_policy(doc)
    except Invalid as error:
        assert error.field and error.message_zh
