"""Notify's plain rules: default rules, templates, quiet hours, digest time, backoff, rate limit,
webhook URLs and the robots' payloads and signatures."""
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, strategies as st

from services.notify import model, service
from shared.errors import Invalid

SH = ZoneInfo("Asia/Shanghai")


def sh(*args) -> datetime:
    return datetime(*args, tzinfo=SH)


@pytest.mark.parametrize("rule", model.DEFAULT_RULES, ids=lambda r: f"{r.event_type}->{r.recipient_kind}")
def test_every_default_rule_passes_the_checks_a_saved_rule_gets(rule):
    service.check_rule({**rule.__dict__, "channels": list(rule.channels)})


def test_defaults_cover_the_issue_list():
    pairs = {(r.event_type, r.recipient_kind) for r in model.DEFAULT_RULES}
    for wanted in [("lsq.complaint.resolved.v1", "reader"), ("lsq.complaint.acknowledged.v1", "reader"),
                   ("lsq.complaint.reopened.v1", "reader"), ("lsq.complaint.filed.v1", "branch_manager"),
                   ("lsq.complaint.sla_at_risk.v1", "handler"), ("lsq.complaint.sla_breached.v1", "branch_manager"),
                   ("lsq.sanction.issued.v1", "staff"), ("lsq.sanction.appeal_decided.v1", "staff"),
                   ("lsq.award.granted.v1", "staff"), ("lsq.cycle.opened.v1", "staff"),
                   ("lsq.evaluation.scored.v1", "staff"), ("lsq.requirement.due_soon.v1", "staff"),
                   ("lsq.requirement.overdue.v1", "staff"), ("lsq.award.pending_approval.v1", "approver"),
                   ("lsq.sanction.appealed.v1", "approver")]:
        assert wanted in pairs
    resolved = next(r for r in model.DEFAULT_RULES if r.event_type == "lsq.complaint.resolved.v1")
    assert "rating_link" in resolved.body_zh and "rating_link" in resolved.body_en
    sanction = next(r for r in model.DEFAULT_RULES if r.event_type == "lsq.sanction.issued.v1")
    assert "appeal_deadline" in sanction.body_zh and "appeal_deadline" in sanction.body_en


@pytest.mark.parametrize("source, fragment", [("{{ name ", "syntax"), ("{% if %}", "syntax"),
                                              ("{{ secret_value }}", "secret_value"),
                                              ("{{ name.__class__.__mro__ }}", "render"),
                                              ("{{ name | nosuchfilter }}", "nosuchfilter")])
def test_bad_templates_are_refused_naming_the_field(source, fragment):
    with pytest.raises(Invalid) as caught:
        model.check_template(source, {"name"}, "body_en")
    assert caught.value.field == "body_en" and fragment in caught.value.message


def test_a_good_template_renders_with_labels_and_local_times():
    model.check_template("{{ name }} {{ when }} {{ severity }}", {"name", "when", "severity"}, "body_zh")
    context = model.template_context({"severity": "urgent", "when": datetime(2026, 12, 31, 15, 30, tzinfo=timezone.utc)},
                                     {"name": "王芳"}, "zh-CN", SH)
    assert model.render("{{ name }} {{ when }} {{ severity }}", context) == "王芳 2026-12-31 23:30 紧急"
    context_en = model.template_context({"severity": "urgent"}, {}, "en", SH)
    assert context_en["severity"] == "urgent"


def test_the_sandbox_refuses_attribute_tricks_at_render_time():
    with pytest.raises(Exception):
        model.render("{{ x.__class__.__subclasses__() }}", {"x": "a"})


@pytest.mark.parametrize("start, end, field", [("25:00", "07:00", "quiet_start"), ("22:00", "7:00", "quiet_end"),
                                               ("22:60", "07:00", "quiet_start"), ("22:00", None, "quiet_end"),
                                               (None, "07:00", "quiet_start"), ("08:00", "08:00", "quiet_end"),
                                               ("abc", "07:00", "quiet_start")])
def test_quiet_hours_out_of_range_name_the_field(start, end, field):
    with pytest.raises(Invalid) as caught:
        model.check_quiet_hours(start, end)
    assert caught.value.field == field


def test_quiet_hours_across_midnight_delay_to_the_morning_across_the_new_year():
    moment = sh(2026, 12, 31, 23, 30)
    assert model.after_quiet_hours(moment, "22:00", "07:00", SH) == sh(2027, 1, 1, 7, 0)
    assert model.after_quiet_hours(sh(2027, 1, 1, 0, 30), "22:00", "07:00", SH) == sh(2027, 1, 1, 7, 0)
    assert model.after_quiet_hours(sh(2027, 1, 1, 7, 0), "22:00", "07:00", SH) == sh(2027, 1, 1, 7, 0)
    assert model.after_quiet_hours(sh(2026, 12, 31, 21, 59), "22:00", "07:00", SH) == sh(2026, 12, 31, 21, 59)


def test_quiet_hours_within_a_day_and_none():
    assert model.after_quiet_hours(sh(2028, 2, 29, 12, 30), "12:00", "13:30", SH) == sh(2028, 2, 29, 13, 30)
    assert model.after_quiet_hours(sh(2028, 2, 29, 13, 30), "12:00", "13:30", SH) == sh(2028, 2, 29, 13, 30)
    assert model.after_quiet_hours(sh(2028, 2, 29, 12, 30), None, None, SH) == sh(2028, 2, 29, 12, 30)


@given(st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 1, 1)),
       st.integers(0, 23), st.integers(0, 23))
def test_quiet_hours_never_drop_and_never_land_inside_the_window(naive, start_hour, end_hour):
    if start_hour == end_hour:
        return
    moment = naive.replace(tzinfo=timezone.utc)
    start, end = f"{start_hour:02d}:00", f"{end_hour:02d}:00"
    later = model.after_quiet_hours(moment, start, end, SH)
    assert moment <= later <= moment + timedelta(hours=24)
    assert model.after_quiet_hours(later, start, end, SH) == later


def test_digest_is_the_next_eight_oclock_local():
    assert model.next_digest_time(sh(2026, 12, 31, 23, 30), SH) == sh(2027, 1, 1, 8, 0)
    assert model.next_digest_time(sh(2027, 1, 1, 7, 59), SH) == sh(2027, 1, 1, 8, 0)


def test_backoff_doubles_up_to_the_cap():
    assert [model.backoff(n, 30, 3600).total_seconds() for n in range(0, 9)] == \
        [0, 30, 60, 120, 240, 480, 960, 1920, 3600]


def test_rate_limit_lets_the_nth_wait_for_the_oldest_to_leave_the_hour():
    now = sh(2026, 12, 31, 23, 30)
    sends = [now - timedelta(minutes=m) for m in (50, 30, 10)]
    assert model.rate_limited_until(sends, now, 4) is None
    assert model.rate_limited_until(sends, now, 3) == now + timedelta(minutes=10)
    assert model.rate_limited_until([now - timedelta(minutes=61)] * 10, now, 3) is None


@pytest.mark.parametrize("url, loopback_ok, accepted", [
    ("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", False, True),
    ("http://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k", True, False),
    ("http://127.0.0.1:9000/hook", True, True), ("http://127.0.0.1:9000/hook", False, False),
    ("http://localhost:9000/hook", True, True), ("http://10.0.0.1/hook", True, False),
    ("ftp://127.0.0.1/x", True, False), ("not a url", True, False), ("https://", False, False)])
def test_webhook_urls_must_be_https_unless_loopback_is_allowed(url, loopback_ok, accepted):
    if accepted:
        model.check_webhook_url(url, loopback_ok)
    else:
        with pytest.raises(Invalid) as caught:
            model.check_webhook_url(url, loopback_ok)
        assert caught.value.field == "url"


def test_dingtalk_signature_matches_the_documented_algorithm():
    # Reference value from `openssl dgst -sha256 -hmac SECtest` of "1700000000000\nSECtest", base64.
    assert model.dingtalk_sign("SECtest", 1700000000000) == "aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g%3D"
    url = model.dingtalk_url("https://oapi.dingtalk.com/robot/send?access_token=t", "SECtest", 1700000000000)
    query = parse_qs(urlsplit(url).query)
    assert query == {"access_token": ["t"], "timestamp": ["1700000000000"],
                     "sign": ["aZLLrriXgn05YbwaGR7knYsLeJADjr9NwLaNNKpxh4g="]}
    assert model.dingtalk_url("https://x/robot", None, 1) == "https://x/robot"


def test_feishu_signature_and_payload():
    # Reference: HMAC-SHA256 with key "1700000000\nfeishu-secret" of an empty message, base64.
    assert model.feishu_sign("feishu-secret", 1700000000) == "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU="
    payload = model.feishu_payload("标题", "第一行\n第二行", "feishu-secret", 1700000000)
    assert payload == {"timestamp": "1700000000", "sign": "OrBzY1Y01Gq+HgJsl+7OfWcMVwc7YocohQm5iiZwjhU=",
                       "msg_type": "post", "content": {"post": {"zh_cn": {"title": "标题", "content": [
                           [{"tag": "text", "text": "第一行"}], [{"tag": "text", "text": "第二行"}]]}}}}
    assert "sign" not in model.feishu_payload("t", "x", None, 1)


def test_wecom_and_dingtalk_markdown_payloads():
    assert model.wecom_payload("标题", "正文") == {"msgtype": "markdown", "markdown": {"content": "**标题**\n正文"}}
    assert model.dingtalk_payload("标题", "正文") == {"msgtype": "markdown",
                                                   "markdown": {"title": "标题", "text": "### 标题\n正文"}}


@pytest.mark.parametrize("platform, body, error", [
    ("wecom", {"errcode": 0, "errmsg": "ok"}, None), ("wecom", {"errcode": 93000, "errmsg": "invalid"}, "93000"),
    ("dingtalk", {"errcode": 310000, "errmsg": "sign not match"}, "310000"),
    ("feishu", {"code": 0, "msg": "success"}, None), ("feishu", {"code": 19021, "msg": "sign match fail"}, "19021"),
    ("feishu", {"StatusCode": 0}, None)])
def test_robot_replies_with_an_error_code_are_failures(platform, body, error):
    found = model.chat_reply_error(platform, body)
    assert (found is None) if error is None else (error in found)


def test_recipient_kinds_and_channels():
    assert "reader" in model.allowed_recipients("lsq.complaint.resolved.v1")
    assert "reader" not in model.allowed_recipients("lsq.sanction.issued.v1")
    assert model.channels_for("duty_group") == ("chat",) and model.channels_for("reader") == ("email",)
