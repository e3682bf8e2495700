"""Report figures without I/O: periods in the network's calendar, statistics, changes, sentences,
complementary suppression."""
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st

from services.reports import model
from shared.errors import Invalid

TODAY = date(2026, 12, 31)


@pytest.mark.parametrize("label, start, end", [
    ("2026", date(2026, 1, 1), date(2026, 12, 31)),
    ("2026-Q1", date(2026, 1, 1), date(2026, 3, 31)),
    ("2026-Q4", date(2026, 10, 1), date(2026, 12, 31)),
    ("2028-02", date(2028, 2, 1), date(2028, 2, 29)),
    ("2026-08", date(2026, 8, 1), date(2026, 8, 31)),
])
def test_period_labels(label, start, end):
    period = model.parse_period(label, None, None, TODAY)
    assert (period.start, period.end, period.label) == (start, end, label)


def test_previous_and_year_before():
    q1 = model.parse_period("2026-Q1", None, None, TODAY)
    assert q1.previous() == model.Period("quarter", date(2025, 10, 1), date(2025, 12, 31))
    assert model.parse_period("2026-03", None, None, TODAY).previous().end == date(2026, 2, 28)
    leap = model.parse_period("2028-02", None, None, TODAY).year_before()
    assert (leap.start, leap.end) == (date(2027, 2, 1), date(2027, 2, 28))
    span = model.parse_period(None, date(2026, 3, 1), date(2026, 3, 10), TODAY)
    assert span.previous() == model.Period("range", date(2026, 2, 19), date(2026, 2, 28))
    assert span.year_before().start == date(2025, 3, 1)


def test_default_period_is_the_current_quarter_in_the_network_calendar():
    # 31 December 23:30 in Shanghai is still Q4; 1 January 00:30 is Q1 though UTC says 31 December.
    assert model.parse_period(None, None, None, date(2026, 12, 31)).label == "2026-Q4"
    assert model.parse_period(None, None, None, date(2027, 1, 1)).label == "2027-Q1"


@pytest.mark.parametrize("label, start, end, field", [
    ("2026-Q5", None, None, "period"), ("2026-13", None, None, "period"), ("1999", None, None, "period"),
    (None, date(2026, 1, 1), None, "to"), (None, None, date(2026, 1, 1), "from"),
    (None, date(2026, 2, 1), date(2026, 1, 1), "to"), ("2026", date(2026, 1, 1), date(2026, 1, 2), "period"),
    (None, date(2020, 1, 1), date(2026, 1, 1), "to"),
])
def test_bad_periods_name_the_field(label, start, end, field):
    with pytest.raises(Invalid) as error:
        model.parse_period(label, start, end, TODAY)
    assert error.value.field == field


def test_months_of_a_span():
    months = model.months_of(date(2026, 11, 1), date(2027, 2, 1))
    assert [m.label for m in months] == ["2026-11", "2026-12", "2027-01", "2027-02"]


def test_median_and_p90():
    assert model.median([]) is None
    assert model.median([3, 1, 2]) == 2
    assert model.median([4, 1, 2, 3]) == 2.5
    assert model.percentile_of_histogram({}, 0.9) is None
    assert model.percentile_of_histogram({1: 9, 50: 1}, 0.9) == 1
    assert model.percentile_of_histogram({1: 8, 50: 2}, 0.9) == 50


@given(st.lists(st.integers(0, 300), min_size=1, max_size=200))
def test_p90_of_histogram_is_nearest_rank_of_the_values(values):
    histogram = {}
    for v in values:
        histogram[v] = histogram.get(v, 0) + 1
    ordered = sorted(values)
    rank = -(-9 * len(values) // 10)  # ceil(0.9 n) without floating point
    assert model.percentile_of_histogram(histogram, 0.9) == ordered[rank - 1]


def test_complaint_figures():
    t0 = datetime(2026, 7, 1, tzinfo=timezone.utc)
    base = dict(filed_at=t0, acknowledged_at=None, resolved_at=None, outcome=None, rating=None,
                ack_breached=False, resolve_breached=False)
    rows = [
        {**base, "acknowledged_at": t0 + timedelta(hours=1), "resolved_at": t0 + timedelta(hours=10),
         "outcome": "substantiated", "rating": 4},
        {**base, "acknowledged_at": t0 + timedelta(hours=3), "ack_breached": True},
        {**base, "ack_breached": True, "resolve_breached": True},
        {**base},  # open, within its time: in neither rate
    ]
    figures = model.complaint_figures(rows)
    assert figures["complaints_filed"] == 4
    assert figures["acknowledged_on_time_rate"] == pytest.approx(1 / 3)
    assert figures["resolved_on_time_rate"] == pytest.approx(1 / 2)
    assert figures["complaints_breached"] == 2
    assert figures["median_hours_to_acknowledge"] == 2.0
    assert figures["substantiated_share"] == 1.0 and figures["resolution_rating_mean"] == 4


def test_changes_and_sentences():
    assert model.change("resolved_on_time_rate", 0.92, 0.86) == {"delta": 6.0, "direction": "up",
                                                                  "assessment": "better"}
    assert model.change("complaints_breached", 5, 3)["assessment"] == "worse"
    assert model.change("desk_ratings", 5, 3)["assessment"] == "neutral"
    assert model.change("praise", None, 3)["delta"] is None
    line = model.sentence("resolved_on_time_rate", 0.92, 0.86, "quarter")
    assert line == {"zh": "投诉按时办结率 92%，较上季度提高 6 个百分点",
                    "en": "Complaints resolved on time: 92%, up 6 points on the previous quarter"}
    down = model.sentence("praise", 10, 12, "month", "year_before")
    assert down == {"zh": "表扬数 10，较去年同月下降 2", "en": "Praise received: 10, down 2 on the same month a year before"}
    assert model.sentence("praise", 3, None, "year")["en"].endswith("nothing to compare on the previous year")
    assert "持平" in model.sentence("praise", 3, 3, "year")["zh"]


def test_review_lists_worse_areas_first():
    current = {f.key: None for f in model.FIGURES} | {"praise": 5, "complaints_breached": 9, "resolved_on_time_rate": 0.9}
    previous = {f.key: None for f in model.FIGURES} | {"praise": 8, "complaints_breached": 3, "resolved_on_time_rate": 0.8}
    lines = model.review_lines(current, previous, {}, "quarter")
    assert [line["figure"] for line in lines[:2]] == ["complaints_breached", "praise"]
    assert lines[2]["figure"] == "complaints_filed"  # the rest in catalogue order


def test_complementary_suppression():
    # Overall 7, students 5 shown, a group of 2 hidden: the students go too.
    assert model.complementary_suppression([("student", 5, False), ("senior", 2, True)]) == {"student", "senior"}
    assert model.complementary_suppression([("a", 9, False), ("b", 6, False), ("c", 1, True)]) == {"b", "c"}
    assert model.complementary_suppression([("a", 9, False), ("b", 2, True), ("c", 1, True)]) == {"b", "c"}
    assert model.complementary_suppression([("a", 9, False)]) == set()
    cells = [model.triad_cell({"group": g}, n, 3 * n, 7 * n, 5 * n) for g, n in (("student", 5), ("senior", 2))]
    out = model.suppress_breakdown(cells, "group")
    assert all(c["suppressed"] and c["perceived"] is None and c["n"] is None for c in out)


def test_triad_cell_gaps():
    cell = model.triad_cell({}, 5, 20, 40, 30)
    assert (cell["minimum"], cell["desired"], cell["perceived"]) == (4, 8, 6)
    assert (cell["adequacy_gap"], cell["superiority_gap"]) == (2, -2)
    assert model.triad_cell({}, 4, 16, 32, 24)["suppressed"] is True
