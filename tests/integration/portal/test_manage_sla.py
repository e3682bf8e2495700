"""The complaint desk's SLA words, from the feedback API's SLA fields, in both languages (no services needed)."""
from datetime import timedelta

import pytest

from services.portal import create_app as create_portal
from services.portal.settings import SERVICES
from services.portal.views.manage import duration, history_note, sla_badges, sla_targets
from shared.timeutil import rfc3339, utcnow

NOW = utcnow()


@pytest.fixture(scope="module")
def portal():
    return create_portal({"TESTING": True, "SETTINGS": {
        "service_urls": {s: "http://127.0.0.1:1" for s in SERVICES}, "secret_key": "m" * 32, "secure_cookies": False}})


@pytest.fixture(params=["zh_CN", "en"])
def lang(request, portal):
    with portal.test_request_context(f"/complaints?lang={request.param}"):
        yield request.param


def at(**delta) -> str:
    return rfc3339(NOW + timedelta(**delta))


def complaint(**fields) -> dict:
    base = {"status": "new", "acknowledge_due_at": at(hours=2), "acknowledge_at_risk_at": at(minutes=96),
            "resolve_due_at": at(hours=24), "resolve_at_risk_at": at(hours=19), "acknowledge_breached_at": None,
            "resolve_breached_at": None, "acknowledged_at": None, "resolved_at": None}
    return {**base, **fields}


WORDS = {
    "zh_CN": {"left_ack": "距受理时限剩余1小时59分钟", "at_risk": "有风险：距受理时限剩余", "late": "已超时：受理逾期30分钟",
              "resolve_left": "距办结时限剩余2天3小时", "paused": "暂停计时：等待读者答复", "met": "达标", "breached": "已超时",
              "ack_late": "受理超时", "met_late": "逾期完成"},
    "en": {"left_ack": "1 h 59 min left to acknowledge", "at_risk": "At risk: ", "late": "Breached: acknowledgement 30 min overdue",
           "resolve_left": "2 d 3 h left to resolve", "paused": "Paused while waiting on the reader", "met": "Met",
           "breached": "Breached", "ack_late": "Acknowledged late", "met_late": "Met late"},
}


def test_the_badge_tells_the_next_target_in_words_and_colour(lang):
    words = WORDS[lang]
    assert sla_badges(complaint(acknowledge_due_at=at(hours=1, minutes=59, seconds=30)), NOW) == [("ok", words["left_ack"])]
    kind, text = sla_badges(complaint(acknowledge_at_risk_at=at(minutes=-1), acknowledge_due_at=at(minutes=23)), NOW)[0]
    assert kind == "warn" and text.startswith(words["at_risk"])
    assert sla_badges(complaint(acknowledge_due_at=at(minutes=-30)), NOW) == [("bad", words["late"])]
    acknowledged = complaint(status="investigating", resolve_due_at=at(days=2, hours=3, seconds=30),
                             resolve_at_risk_at=at(days=1))
    assert sla_badges(acknowledged, NOW) == [("ok", words["resolve_left"])]
    waiting = complaint(status="waiting_on_reader", resolve_due_at=None, resolve_at_risk_at=None,
                        acknowledge_breached_at=at(hours=-5))
    assert sla_badges(waiting, NOW) == [("muted", words["paused"]), ("bad", words["ack_late"])]
    assert sla_badges(complaint(status="closed"), NOW) == [("ok", words["met"])]
    assert sla_badges(complaint(status="resolved", resolve_breached_at=at(hours=-1)), NOW) == [("bad", words["breached"])]
    # colour is never the only signal: every badge has words
    assert all(text for _kind, text in sla_badges(complaint(), NOW))


def test_the_targets_of_the_complaint_page(lang):
    words = WORDS[lang]
    late = complaint(status="acknowledged", acknowledged_at=at(hours=3), acknowledge_breached_at=at(hours=2))
    ack, resolve = sla_targets(late, NOW)
    assert ack["state"] == ("bad", words["met_late"]) and ack["met_at"] == late["acknowledged_at"]
    assert resolve["state"][0] == "ok" and resolve["met_at"] is None
    paused = complaint(status="waiting_on_reader", acknowledged_at=at(minutes=-10), resolve_due_at=None)
    assert sla_targets(paused, NOW)[1]["state"] == ("muted", words["paused"])
    assert sla_targets(paused, NOW)[0]["state"] == ("ok", words["met"])


def test_durations(lang):
    expected = {"zh_CN": ["1分钟", "45分钟", "2小时", "2小时5分钟", "1天", "3天4小时"],
                "en": ["1 min", "45 min", "2 h", "2 h 5 min", "1 d", "3 d 4 h"]}[lang]
    spans = [timedelta(seconds=20), timedelta(minutes=45), timedelta(hours=2), timedelta(hours=2, minutes=5),
             timedelta(days=1, minutes=30), timedelta(days=3, hours=4, minutes=59)]
    assert [duration(s) for s in spans] == expected


def test_notes_the_system_wrote_are_translated_and_what_people_wrote_is_kept(lang):
    rating = history_note({"action": "rate", "note": "rating 4"}, "b")
    closed = history_note({"action": "close", "actor_role": "system",
                           "note": "closed automatically after the reopening window"}, "b")
    if lang == "zh_CN":
        assert rating == "评分：4分（满分5分）" and "自动关闭" in closed
    else:
        assert rating == "Rating: 4 of 5" and "automatically" in closed
    assert history_note({"action": "investigate", "note": "handler x"}, "b") == "handler x"  # a person's words
    assert history_note({"action": "wait", "note": "请读者补充"}, "b") == "请读者补充"
