"""round_half_up: the one rounding of figures people read."""
from decimal import Decimal

import pytest
from hypothesis import given, strategies as st

from shared.numbers import round_half_up


@pytest.mark.parametrize("value, places, expected", [
    ("40.25", 1, "40.3"),          # half to even gives 40.2
    (40.25, 1, "40.3"),            # a float: as written, not its binary value
    (2.675, 2, "2.68"),            # binary 2.67499999… still rounds as the 2.675 a person wrote
    (Decimal("0.125"), 2, "0.13"),
    (Decimal("0.5"), 0, "1"),
    (Decimal("1.5"), 0, "2"),
    (Decimal("2.5"), 0, "3"),      # half to even gives 2
    ("-40.25", 1, "-40.3"),        # symmetric: away from zero
    (80, 1, "80.0"),
    ("81.6", 2, "81.60"),
    (" 7.45 ", 1, "7.5"),
    ("1e30", 2, "1000000000000000000000000000000.00"),
])
def test_half_up(value, places, expected):
    assert str(round_half_up(value, places)) == expected


def test_builtin_round_is_what_we_avoid():
    # the reason for the helper: Python rounds half to even
    assert f"{40.25:.1f}" == "40.2" and round(2.5) == 2
    assert str(round_half_up(40.25, 1)) == "40.3" and round_half_up(2.5) == Decimal(3)


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf", float("nan"), None, True, [1]])
def test_not_a_number_is_refused(value):
    with pytest.raises(ValueError):
        round_half_up(value, 1)


@pytest.mark.parametrize("places", [-1, 1.5, True])
def test_places_must_be_a_whole_number(places):
    with pytest.raises(ValueError):
        round_half_up("1.25", places)


@given(st.decimals(min_value=-10**6, max_value=10**6, allow_nan=False, places=4), st.integers(0, 3))
def test_within_half_a_unit_and_ties_go_up_in_size(value, places):
    rounded = round_half_up(value, places)
    unit = Decimal(1).scaleb(-places)
    assert abs(rounded - value) <= unit / 2
    if abs(rounded - value) == unit / 2:
        assert abs(rounded) > abs(value)
    assert rounded == rounded.quantize(unit)
