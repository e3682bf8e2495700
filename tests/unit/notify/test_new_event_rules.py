"""The default rules of the events added for issue 16: known, with valid bilingual templates, and
Chinese texts that read in Chinese (course titles, labels), without I/O."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from services.notify import model
from services.notify.service import event_fields

NEW = ("lsq.cycle.peer_ratings_requested.v1", "lsq.cycle.deadline_approaching.v1",
       "lsq.training.enrolment_promoted.v1", "lsq.training.external_submitted.v1",
       "lsq.complaint.waiting_on_reader.v1")
ZONE = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("event_type", NEW)
def test_each_new_event_is_supported_with_a_valid_default_rule(event_type):
    assert event_type in model.SUPPORTED_EVENTS
    rules = [r for r in model.DEFAULT_RULES if r.event_type == event_type]
    assert rules
    allowed = model.template_variables(event_type, event_fields(event_type))
    for rule in rules:
        assert rule.recipient_kind in model.allowed_recipients(event_type)
        assert set(rule.channels) <= set(model.channels_for(rule.recipient_kind))
        for field in ("subject_zh", "subject_en", "body_zh", "body_en"):
            model.check_template(getattr(rule, field), allowed, field)


def test_recipients_of_the_new_rules():
    kinds = {r.event_type: r.recipient_kind for r in model.DEFAULT_RULES if r.event_type in NEW}
    assert kinds == {"lsq.cycle.peer_ratings_requested.v1": "staff", "lsq.cycle.deadline_approaching.v1": "staff",
                     "lsq.training.enrolment_promoted.v1": "staff", "lsq.training.external_submitted.v1": "approver",
                     "lsq.complaint.waiting_on_reader.v1": "reader"}
    assert model.approver_roles("lsq.training.external_submitted.v1") == ("supervisor", "branch_manager")
    assert model.approver_roles("lsq.award.pending_approval.v1") == ("branch_manager",)


def test_a_chinese_text_takes_the_chinese_title_and_an_english_one_the_english():
    data = {"title": "Handling reader complaints", "title_zh": "读者投诉处理", "kind": "academic_forum"}
    zh = model.template_context(data, {}, "zh-CN", ZONE)
    en = model.template_context(data, {}, "en", ZONE)
    assert zh["title"] == "读者投诉处理" and zh["kind"] == "学术论坛"
    assert en["title"] == "Handling reader complaints" and en["kind"] == "academic forum"
    # an event from before title_zh was sent keeps the title it has
    assert model.template_context({"title": "Fire safety", "title_zh": None}, {}, "zh-CN", ZONE)["title"] == "Fire safety"


def test_the_deadline_reminder_reads_what_is_missing_in_words():
    [rule] = [r for r in model.DEFAULT_RULES if r.event_type == "lsq.cycle.deadline_approaching.v1"]
    data = {"period": "2026-Q4", "submission_deadline": datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc),
            "self_pending": False, "peers_pending": 1, "supervisor_pending": 0}
    extra = {"recipient_name": "王芳", "portal_link": "https://portal/"}
    body = model.render(rule.body_zh, model.template_context(data, extra, "zh-CN", ZONE))
    assert "2026-12-31 23:59" in body and "自评已完成" in body and "尚缺 1 项" in body and "False" not in body
