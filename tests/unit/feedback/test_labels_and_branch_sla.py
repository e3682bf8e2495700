"""Chinese labels of every feedback enumeration, and a branch's own SLA targets (no I/O)."""
import re
from datetime import timedelta

import pytest

from services.feedback import model, sla
from shared.errors import Conflict, Invalid

ENUMERATIONS = {"status": model.STATUSES, "category": model.CATEGORIES, "severity": model.SEVERITIES,
                "channel": model.CHANNELS, "outcome": model.OUTCOMES, "reject_reason": model.PRAISE_REJECT_REASONS,
                "suggestion_status": model.SUGGESTION_STATUSES, "praise_status": ("received", "rejected"),
                "sla_target": ("acknowledge", "resolve")}
LATIN = re.compile(r"[A-Za-z]")


@pytest.mark.parametrize("kind", sorted(ENUMERATIONS))
def test_every_code_has_a_chinese_label_without_latin_letters(kind):
    labels = model.LABELS_ZH[kind]
    assert set(labels) == set(ENUMERATIONS[kind])
    assert not [label for label in labels.values() if LATIN.search(label)]


def test_transition_and_suggestion_messages_use_the_labels_not_the_codes():
    with pytest.raises(Conflict) as refused:
        model.next_status("new", "close")
    assert "new" not in refused.value.message_zh and "新投诉" in refused.value.message_zh
    with pytest.raises(Conflict) as moved:
        model.check_suggestion_move("in_progress", "raised")
    assert not LATIN.search(moved.value.message_zh) and "落实中" in moved.value.message_zh


def test_overlapping_opening_hours_are_named_by_the_chinese_weekday():
    with pytest.raises(Invalid) as bad:
        sla.OpeningHours.from_dict({"week": {"wed": [["09:00", "12:00"], ["11:00", "13:00"]]}})
    assert bad.value.message_zh.startswith("星期三") and not LATIN.search(bad.value.message_zh)


NETWORK = dict(model.DEFAULT_SLA)


def test_a_branchs_targets_override_only_the_severities_it_set():
    own = model.SlaTarget(timedelta(hours=1), timedelta(hours=10), business_hours=True)
    effective = model.effective_sla(NETWORK, {"normal": own})
    assert effective["normal"] == own
    assert {s: effective[s] for s in ("low", "high", "urgent")} == {s: NETWORK[s] for s in ("low", "high", "urgent")}
    assert model.effective_sla(NETWORK, {}) == NETWORK
    assert "unknown" not in model.effective_sla(NETWORK, {"unknown": own})


def test_targets_are_checked_per_item():
    ok = {"severity": "normal", "acknowledge_hours": 2, "resolve_hours": 8}
    model.check_sla_targets([ok, {**ok, "severity": "high"}])
    with pytest.raises(Invalid) as twice:
        model.check_sla_targets([ok, ok])
    assert twice.value.field == "1.severity" and "一般" in twice.value.message_zh
    with pytest.raises(Invalid) as late:
        model.check_sla_targets([{**ok, "acknowledge_hours": 9}])
    assert late.value.field == "0.acknowledge_hours"
