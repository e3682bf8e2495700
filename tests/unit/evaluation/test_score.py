"""The score: bounds, weight redistribution, grade edges, determinism, the reader formula."""
import random
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from services.evaluation import model
from services.evaluation.model import ReaderInputs
from shared.errors import Invalid

SETTINGS = model.check_settings(model.DEFAULT_SETTINGS)
RUBRIC = model.rubric_from(1, model.check_dimensions(list(model.DEFAULT_DIMENSIONS)))
CODES = RUBRIC.codes


def uniform(value, n=1):
    return [{c: value for c in CODES} for _ in range(n)]


rating_set = st.fixed_dictionaries({c: st.integers(1, 5) for c in CODES})
reader_inputs = st.builds(
    lambda n, stars, praise, complaints: ReaderInputs(n, sum(stars[:n]) if n else 0, praise, complaints),
    st.integers(0, 30), st.lists(st.integers(1, 5), min_size=30, max_size=30), st.integers(0, 20),
    st.dictionaries(st.sampled_from([f"{o}:{s}" for o in model.COUNTED_OUTCOMES for s in model.SEVERITIES]),
                    st.integers(1, 4), max_size=3))
all_ratings = st.fixed_dictionaries({
    "self": st.lists(rating_set, max_size=1), "supervisor": st.lists(rating_set, max_size=2),
    "peer": st.lists(rating_set, max_size=6)})


def test_all_fives_everywhere_is_100_and_excellent():
    result = model.compute(RUBRIC, SETTINGS, ReaderInputs(5, 25, 0, {}),
                           {"self": uniform(5), "supervisor": uniform(5), "peer": uniform(5, 3)})
    assert result.score == Decimal("100.00")
    assert result.grade == "excellent"
    assert result.used == ["reader", "supervisor", "peer", "self"] and result.missing == []
    assert result.dimension_scores == {c: Decimal("5.00") for c in CODES}


def test_weighted_sources_combine_as_documented():
    # reader 3.2 (5 ratings of 4, +0.2 praise, -1.0 one high substantiated complaint), supervisor 5, peers 4, self 3
    reader = ReaderInputs(5, 20, 2, {"substantiated:high": 1})
    result = model.compute(RUBRIC, SETTINGS, reader,
                           {"self": uniform(3), "supervisor": uniform(5), "peer": uniform(4, 3)})
    # 0.4*3.2 + 0.3*5 + 0.2*4 + 0.1*3 = 1.28 + 1.5 + 0.8 + 0.3 = 3.88 → 77.60
    assert result.components["reader"]["value"] == Decimal("3.20")
    assert result.score == Decimal("77.60")
    assert result.grade == "satisfactory"


def test_peer_component_needs_three_answers_and_its_weight_is_spread():
    reader = ReaderInputs(5, 20, 0, {})  # 4.0
    result = model.compute(RUBRIC, SETTINGS, reader,
                           {"self": uniform(2), "supervisor": uniform(5), "peer": uniform(1, 2)})
    assert result.missing == ["peer"]
    assert result.components["peer"]["used"] is False and result.components["peer"]["answers"] == 2
    # weights 0.4, 0.3, 0.1 over 0.8: 0.5*4 + 0.375*5 + 0.125*2 = 2 + 1.875 + 0.25 = 4.125 → 82.50
    assert result.components["reader"]["effective_weight"] == Decimal("0.5000")
    assert result.score == Decimal("82.50")


def test_reader_falls_back_below_the_minimum_number_of_ratings():
    result = model.compute(RUBRIC, SETTINGS, ReaderInputs(4, 20, 5, {}), {"self": uniform(4)})
    assert result.missing == ["reader", "supervisor", "peer"]
    assert "fewer than 5" in result.components["reader"]["reason"]
    assert result.score == Decimal("80.00")


def test_nothing_to_score_gives_no_score():
    result = model.compute(RUBRIC, SETTINGS, ReaderInputs(), {})
    assert result.score is None and result.grade is None and result.used == []


@pytest.mark.parametrize("inputs, expected", [
    (ReaderInputs(5, 25, 10, {}), Decimal(5)),                     # clamped at 5
    (ReaderInputs(5, 5, 0, {"substantiated:urgent": 3}), Decimal(1)),  # clamped at 1
    (ReaderInputs(5, 15, 9, {}), Decimal("3.5")),                  # praise bonus capped at 0.5
    (ReaderInputs(5, 20, 0, {"partially_substantiated:normal": 2}), Decimal("3.5")),
    (ReaderInputs(5, 20, 0, {"substantiated:low": 1, "substantiated:normal": 1}), Decimal(3)),
])
def test_reader_formula(inputs, expected):
    value, _ = model.reader_value(inputs, SETTINGS)
    assert value == expected


@pytest.mark.parametrize("score, grade", [
    ("100", "excellent"), ("90.00", "excellent"), ("89.99", "good"), ("80", "good"), ("79.99", "satisfactory"),
    ("60", "satisfactory"), ("59.99", "unsatisfactory"), ("20", "unsatisfactory")])
def test_grade_edges(score, grade):
    assert model.grade_of(Decimal(score), SETTINGS["grade_bands"]) == grade


@settings(max_examples=300, deadline=None)
@given(reader=reader_inputs, ratings=all_ratings)
def test_score_is_bounded_and_weights_sum_to_one(reader, ratings):
    result = model.compute(RUBRIC, SETTINGS, reader, ratings)
    if result.score is None:
        assert result.used == []
        return
    assert Decimal(20) <= result.score <= Decimal(100)
    assert all(Decimal(1) <= v <= Decimal(5) for v in result.dimension_scores.values())
    eff = model.effective_weights(SETTINGS["rater_weights"], result.used)
    assert abs(sum(eff.values()) - 1) < Decimal("1e-20")
    assert sorted(result.used + result.missing) == sorted(model.COMPONENTS)
    # the spread keeps the proportions between the sources that count
    for a in result.used:
        for b in result.used:
            wa, wb = Decimal(SETTINGS["rater_weights"][a]), Decimal(SETTINGS["rater_weights"][b])
            assert abs(eff[a] * wb - eff[b] * wa) < Decimal("1e-20")
    assert result.grade == model.grade_of(result.score, SETTINGS["grade_bands"])


@settings(max_examples=200, deadline=None)
@given(reader=reader_inputs, ratings=all_ratings, seed=st.integers(0, 10 ** 6))
def test_same_inputs_in_any_order_give_byte_identical_results(reader, ratings, seed):
    shuffled = {k: random.Random(seed).sample(v, len(v)) for k, v in ratings.items()}
    reversed_reader = ReaderInputs(reader.rating_count, reader.rating_sum, reader.praise_count,
                                   dict(reversed(list(reader.complaints.items()))))
    a = model.compute(RUBRIC, SETTINGS, reader, ratings)
    b = model.compute(RUBRIC, SETTINGS, reversed_reader, shuffled)
    assert model.canonical(a.__dict__) == model.canonical(b.__dict__)


@settings(max_examples=200, deadline=None)
@given(reader=reader_inputs, ratings=all_ratings, source=st.sampled_from(["self", "supervisor", "peer"]),
       code=st.sampled_from(CODES))
def test_a_better_rating_never_lowers_the_score(reader, ratings, source, code):
    if not ratings[source]:
        return
    better = {k: [dict(s) for s in v] for k, v in ratings.items()}
    better[source][0][code] = min(5, better[source][0][code] + 1)
    before = model.compute(RUBRIC, SETTINGS, reader, ratings).score
    after = model.compute(RUBRIC, SETTINGS, reader, better).score
    if before is not None:
        assert after >= before


def test_ranks_share_ties_and_percentiles_run_from_0_to_100():
    ranks = model.rank_within_branches({
        "a": ("b1", Decimal("90")), "b": ("b1", Decimal("80")), "c": ("b1", Decimal("80")),
        "d": ("b1", Decimal("70")), "e": ("b2", Decimal("50")), "f": ("b2", None)})
    assert ranks["a"] == (1, 4, Decimal("100.0"))
    assert ranks["b"][0] == ranks["c"][0] == 2
    assert ranks["d"] == (4, 4, Decimal("0.0"))
    assert ranks["e"] == (1, 1, Decimal(100))
    assert "f" not in ranks


def test_digest_does_not_depend_on_row_order():
    rows = [{"staff_id": "b", "score": "1"}, {"staff_id": "a", "score": "2"}]
    assert model.digest(rows) == model.digest(list(reversed(rows)))
    assert model.digest(rows) != model.digest([{"staff_id": "b", "score": "1"}, {"staff_id": "a", "score": "3"}])


# -- rubric and settings -----------------------------------------------------------------------
def test_rubric_weights_must_sum_to_one():
    dims = [dict(d) for d in model.DEFAULT_DIMENSIONS]
    dims[0]["weight"] = "0.31"
    with pytest.raises(Invalid) as exc:
        model.check_dimensions(dims)
    assert exc.value.field == "dimensions" and exc.value.status == 422


@pytest.mark.parametrize("change, field", [
    ({"code": "Bad Code"}, "dimensions.1.code"), ({"code": "service_attitude"}, "dimensions.1.code"),
    ({"label_zh": " "}, "dimensions.1.label_zh"), ({"weight": "0"}, "dimensions.1.weight"),
    ({"weight": "abc"}, "dimensions.1.weight")])
def test_bad_dimensions_name_the_field(change, field):
    dims = [dict(d) for d in model.DEFAULT_DIMENSIONS]
    dims[1].update(change)
    with pytest.raises(Invalid) as exc:
        model.check_dimensions(dims)
    assert exc.value.field == field


def test_float_weights_that_sum_to_one_in_decimal_are_accepted():
    dims = [{"code": f"d{i}", "label_en": "x", "label_zh": "维", "weight": w} for i, w in enumerate([0.1, 0.2, 0.3, 0.4])]
    assert [d["weight"] for d in model.check_dimensions(dims)] == ["0.1", "0.2", "0.3", "0.4"]


@pytest.mark.parametrize("change, field", [
    ({"rater_weights": {"reader": 0.5, "supervisor": 0.3, "peer": 0.2, "self": 0.1}}, "rater_weights"),
    ({"rater_weights": {"reader": 1, "boss": 0}}, "rater_weights.boss"),
    ({"min_peer_answers": 2}, "min_peer_answers"),
    ({"peers_per_person": "5"}, "peers_per_person"),
    ({"grade_bands": {"good": 95}}, "grade_bands"),
    ({"reader": {"min_ratings": 0}}, "reader.min_ratings"),
    ({"reader": {"penalties": {"substantiated": {"high": -1}}}}, "reader.penalties.substantiated.high"),
    ({"timezone": "Mars/Olympus"}, "timezone"),
    ({"colour": "red"}, "colour")])
def test_bad_settings_name_the_field(change, field):
    with pytest.raises(Invalid) as exc:
        model.merge_settings(SETTINGS, change)
    assert exc.value.field == field


def test_settings_change_keeps_the_rest():
    merged = model.merge_settings(SETTINGS, {"rater_weights": {"reader": 0.5, "supervisor": 0.3, "peer": 0.2,
                                                               "self": 0}, "grade_bands": {"excellent": 95}})
    assert merged["rater_weights"]["self"] == "0" and merged["grade_bands"]["good"] == 80
    assert merged["reader"] == SETTINGS["reader"]


def test_zero_weight_source_does_not_count():
    s = model.merge_settings(SETTINGS, {"rater_weights": {"reader": 0.5, "supervisor": 0.5, "peer": 0, "self": 0}})
    result = model.compute(RUBRIC, s, ReaderInputs(), {"self": uniform(1), "supervisor": uniform(4)})
    assert result.used == ["supervisor"] and result.score == Decimal("80.00")


json_values = st.recursive(st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=True) |
                           st.text(max_size=5), lambda inner: st.lists(inner, max_size=3) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=3), max_leaves=8)
setting_keys = st.sampled_from(list(model.DEFAULT_SETTINGS) + ["bogus"])


@settings(max_examples=300, deadline=None)
@given(changes=st.dictionaries(setting_keys, json_values | st.fixed_dictionaries(
    {"penalties": st.dictionaries(st.sampled_from(["substantiated", "x"]), json_values)}), max_size=3))
def test_any_settings_change_is_accepted_or_refused_with_a_field(changes):
    try:
        merged = model.merge_settings(SETTINGS, changes)
    except Invalid as exc:
        assert exc.field
        return
    assert model.check_settings(merged) == merged
