"""Consumers load events with the contract's compiled schema; the result must be what the
marshmallow schema gives, for every type, and bad data must still be refused field by field."""
import json
from datetime import date, datetime
from decimal import Decimal

import pytest
from marshmallow import ValidationError

from bench.incentive_common import mixed_events
from shared import events
from shared.timeutil import utcnow


def _marshmallow_load(kind, data):
    return kind._loader.load(data)


def test_fast_load_equals_the_marshmallow_load_over_a_realistic_stream():
    stream = mixed_events(600)
    assert len({e.type for e in stream}) >= 7
    for event in stream:
        kind = events.get(event.type)
        data = json.loads(event.value())
        assert kind.load(data) == _marshmallow_load(kind, data), event.type


def test_types_are_converted_as_marshmallow_converts_them():
    kind = events.get("lsq.award.granted.v1")
    data = {"award_id": "a", "staff_id": "s", "branch_id": "b", "tier": "A", "amount": "2000.00", "period": "2026-Q4",
            "policy_version": 1, "granted_at": "2026-11-28T10:00:00.123Z", "reason_en": "x", "reason_zh": "x",
            "added_later": {"ignored": True}}
    loaded = kind.load(data)
    assert loaded == _marshmallow_load(kind, data)
    assert loaded["amount"] == Decimal("2000.00") and isinstance(loaded["granted_at"], datetime)
    assert loaded["granted_at"].utcoffset().total_seconds() == 0
    assert "added_later" not in loaded and loaded["caused_by"] == []  # unknown dropped, default filled
    scored = events.get("lsq.evaluation.scored.v1")
    plain = scored.validate({"evaluation_id": "e", "cycle_id": "c", "staff_id": "s", "branch_id": "b",
                             "period": "2026-Q4", "score": 80, "grade": "good", "dimension_scores": {"attitude": 4},
                             "components_used": ["reader"], "components_missing": [], "revision": 0,
                             "published_at": utcnow(), "rank_in_branch": 1, "branch_participants": 3})
    loaded = scored.load(plain)
    assert loaded == _marshmallow_load(scored, plain)
    assert isinstance(loaded["score"], float) and isinstance(loaded["dimension_scores"]["attitude"], float)
    overdue = events.get("lsq.requirement.overdue.v1")
    day = {"requirement_id": "r", "staff_id": "s", "branch_id": "b", "kind": "regulation", "course_id": None,
           "title": "t", "due_on": "2026-01-31", "period": "2026", "overdue_since": "2026-02-01"}
    assert overdue.load(day)["due_on"] == date(2026, 1, 31) == _marshmallow_load(overdue, day)["due_on"]


@pytest.mark.parametrize("change, field", [
    ({"grade": "legendary"}, "grade"), ({"score": "high"}, "score"), ({"published_at": "last tuesday"}, "published_at"),
    ({"published_at": "2026-02-30T10:00:00Z"}, "published_at"), ({"staff_id": None}, "staff_id")])
def test_bad_consumed_data_is_refused_naming_the_field(change, field):
    kind = events.get("lsq.evaluation.scored.v1")
    good = {"evaluation_id": "e", "cycle_id": "c", "staff_id": "s", "branch_id": "b", "period": "2026-Q4",
            "score": 80.0, "grade": "good", "dimension_scores": {}, "components_used": [], "components_missing": [],
            "revision": 0, "published_at": "2026-11-28T10:00:00Z", "rank_in_branch": 1, "branch_participants": 3}
    kind.load(good)
    with pytest.raises(ValidationError) as refused:
        kind.load({**good, **change})
    assert field in refused.value.messages
