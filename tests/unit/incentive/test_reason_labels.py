"""Chinese reasons carry Chinese words, never the English codes or course titles."""
import re
from datetime import datetime, timezone

from services.incentive.handlers import LABELS_ZH, _reason
from services.incentive.model import Rule
from shared.events.envelope import Event
from shared.events.praise import PraiseRejected
from shared.events.sanction import VIOLATION_CATEGORIES


def _event(kind, data):
    return Event(id="e1", type=kind, source="/lsq/x", subject="s1", time=datetime(2026, 12, 3, tzinfo=timezone.utc),
                 data=data)


def _zh(kind, data):
    return _reason(_event(kind, data), Rule(id="R1", on=kind, when={}))[1]


def test_an_overdue_course_is_named_by_its_chinese_title():
    data = {"overdue_since": "2026-12-01", "title": "Handling reader complaints", "title_zh": "读者投诉处理"}
    english, chinese = _reason(_event("lsq.requirement.overdue.v1", data), Rule(id="R1", on="x", when={}))
    assert chinese.endswith("逾期：读者投诉处理") and "Handling reader complaints" in english
    # an event from before title_zh was sent still reads
    assert "Fire safety" in _zh("lsq.requirement.overdue.v1", {**data, "title": "Fire safety", "title_zh": None})


def test_complaint_and_violation_reasons_use_chinese_labels():
    chinese = _zh("lsq.complaint.resolved.v1", {"complaint_id": "c1", "category": "attitude", "severity": "normal",
                                               "outcome": "substantiated"})
    assert "服务态度" in chinese and "一般" in chinese and "经核实成立" in chinese
    assert not re.search(r"[a-z]{3,}", chinese.replace("c1", "")), chinese
    for category in VIOLATION_CATEGORIES:
        chinese = _zh("lsq.sanction.violation_recorded.v1", {"violation_id": "v1", "category": category})
        assert category not in chinese and LABELS_ZH["violation_category"][category] in chinese


def test_every_rejection_reason_has_the_portals_word():
    reasons = PraiseRejected().fields["reason"].validate.choices
    assert set(LABELS_ZH["reject_reason"]) == set(reasons)
    assert LABELS_ZH["reject_reason"]["spam"] == "垃圾信息" and LABELS_ZH["reject_reason"]["abuse"] == "辱骂或不当内容"
