"""Notification rules in plain Python: which events concern whom, templates, quiet hours, backoff,
rate limits and the work-chat robots' message formats. No Flask, Kafka or SQL here."""
from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from jinja2 import StrictUndefined, TemplateError, TemplateSyntaxError, meta
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from shared.errors import Invalid

#: Who a rule sends to. ``staff``: the staff member the event is about; ``handler``: the complaint's
#: handler; ``branch_manager``: the active branch managers of the event's branch (and, for an SLA
#: breach, the manager it was escalated to); ``approver``: who decides what waits (the branch
#: managers); ``network_office``: the network administrators; ``reader``: the reader who left
#: contact details with the complaint (asked of feedback at send time); ``duty_group``: the
#: work-chat groups of the event's branch.
RECIPIENT_KINDS = ("reader", "staff", "handler", "branch_manager", "approver", "network_office", "duty_group")
#: ``email`` and ``inbox`` for people, ``chat`` for duty groups.
CHANNELS = ("email", "inbox", "chat")
CHAT_PLATFORMS = ("wecom", "dingtalk", "feishu")
LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"

#: Event types notify understands (their recipients can be resolved) → human label (en, zh).
SUPPORTED_EVENTS: dict[str, tuple[str, str]] = {
    "lsq.complaint.filed.v1": ("complaint filed", "投诉已提交"),
    "lsq.complaint.acknowledged.v1": ("complaint acknowledged", "投诉已受理"),
    "lsq.complaint.resolved.v1": ("complaint resolved", "投诉已办结"),
    "lsq.complaint.reopened.v1": ("complaint reopened", "投诉已重新开启"),
    "lsq.complaint.sla_at_risk.v1": ("complaint deadline at risk", "投诉处理时限将至"),
    "lsq.complaint.sla_breached.v1": ("complaint deadline passed", "投诉处理已超时"),
    "lsq.cycle.opened.v1": ("evaluation opened", "考评已开始"),
    "lsq.cycle.extended.v1": ("evaluation deadline extended", "考评截止时间已延长"),
    "lsq.evaluation.scored.v1": ("evaluation score published", "考评成绩已公布"),
    "lsq.evaluation.rescored.v1": ("evaluation score revised", "考评成绩已更正"),
    "lsq.sanction.issued.v1": ("sanction issued", "处分已下达"),
    "lsq.sanction.appealed.v1": ("appeal waiting for a decision", "申诉待处理"),
    "lsq.sanction.appeal_decided.v1": ("appeal decided", "申诉已裁决"),
    "lsq.award.granted.v1": ("award granted", "奖励已发放"),
    "lsq.award.pending_approval.v1": ("award waiting for approval", "奖励待审批"),
    "lsq.praise.received.v1": ("praise received", "收到读者表扬"),
    "lsq.requirement.assigned.v1": ("training assigned", "培训任务已指派"),
    "lsq.requirement.due_soon.v1": ("training due soon", "培训即将到期"),
    "lsq.requirement.overdue.v1": ("training overdue", "培训已逾期"),
    "lsq.cycle.peer_ratings_requested.v1": ("peer evaluations asked of you", "同事互评任务"),
    "lsq.cycle.deadline_approaching.v1": ("evaluation deadline near", "考评即将截止"),
    "lsq.training.enrolment_promoted.v1": ("enrolment moved off the waiting list", "培训候补转为正式报名"),
    "lsq.training.external_submitted.v1": ("external activity waiting for approval", "外部活动待审批"),
    "lsq.complaint.waiting_on_reader.v1": ("complaint waiting on the reader", "投诉等待读者答复"),
}

#: Who approves what an ``approver`` rule is about, by event type (default: the branch managers).
#: Supervisors decide external activities as well (training's rule); nobody approves their own.
APPROVER_ROLES: dict[str, tuple[str, ...]] = {
    "lsq.training.external_submitted.v1": ("supervisor", "branch_manager"),
}


def approver_roles(event_type: str) -> tuple[str, ...]:
    """The roles of the branch whose members approve what an event of ``event_type`` waits for."""
    return APPROVER_ROLES.get(event_type, ("branch_manager",))

#: Variables every template may use besides the event's own fields.
COMMON_VARIABLES = ("event_label", "branch_name", "staff_name", "handler_name", "recipient_name", "rating_link",
                    "portal_link", "event_time")


@dataclass(frozen=True)
class Rule:
    """One rule: an event of ``event_type`` is told to ``recipient_kind`` on ``channels``."""

    event_type: str
    recipient_kind: str
    channels: tuple[str, ...]
    subject_zh: str
    subject_en: str
    body_zh: str
    body_en: str
    enabled: bool = True


def _r(event_type, kind, channels, subject_zh, subject_en, body_zh, body_en) -> Rule:
    return Rule(event_type, kind, tuple(channels), subject_zh, subject_en, body_zh, body_en)


_PEOPLE = ("email", "inbox")
#: The default set (seeded at first start; network_admin edits them through the API).
DEFAULT_RULES: tuple[Rule, ...] = (
    # readers who left contact details
    _r("lsq.complaint.acknowledged.v1", "reader", ["email"], "您的投诉已受理", "Your complaint has been acknowledged",
       "您好，{{ branch_name }}已于 {{ event_time }} 受理您的投诉，我们会尽快处理。",
       "Hello, {{ branch_name }} acknowledged your complaint at {{ event_time }}; we are working on it."),
    _r("lsq.complaint.resolved.v1", "reader", ["email"], "您的投诉已办结，请评价", "Your complaint is resolved: please rate it",
       "您好，您在{{ branch_name }}的投诉已办结。欢迎凭跟踪码为处理结果评分：{{ rating_link }}",
       "Hello, your complaint at {{ branch_name }} is resolved. Please rate how it was handled, with your "
       "tracking code: {{ rating_link }}"),
    _r("lsq.complaint.waiting_on_reader.v1", "reader", ["email"], "您的投诉需要您的答复",
       "Your complaint needs your answer",
       "您好，{{ branch_name }}在处理您的投诉时需要您补充信息。请凭跟踪码查看问题并答复：{{ rating_link }}。"
       "收到您的答复前，处理时限暂停计算。",
       "Hello, {{ branch_name }} needs more information from you to handle your complaint. Please see the question "
       "and answer it with your tracking code: {{ rating_link }}. The deadline is paused until you answer."),
    _r("lsq.complaint.reopened.v1", "reader", ["email"], "您的投诉已重新开启", "Your complaint was reopened",
       "您好，您在{{ branch_name }}的投诉已重新开启，我们会再次处理。",
       "Hello, your complaint at {{ branch_name }} was reopened; we will look into it again."),
    # the handler and the branch manager
    _r("lsq.complaint.filed.v1", "branch_manager", _PEOPLE, "{{ branch_name }}收到新投诉（{{ severity }}）",
       "New complaint at {{ branch_name }} ({{ severity }})",
       "{{ branch_name }}收到一件新投诉，严重程度：{{ severity }}，受理时限：{{ acknowledge_due_at }}。请登录门户处理：{{ portal_link }}",
       "A new complaint was filed at {{ branch_name }}, severity {{ severity }}, to be acknowledged by "
       "{{ acknowledge_due_at }}. Handle it in the portal: {{ portal_link }}"),
    _r("lsq.complaint.filed.v1", "duty_group", ["chat"], "{{ branch_name }}新投诉", "New complaint at {{ branch_name }}",
       "{{ branch_name }}收到新投诉（{{ severity }}），请于 {{ acknowledge_due_at }} 前受理。",
       "New complaint at {{ branch_name }} ({{ severity }}): acknowledge by {{ acknowledge_due_at }}."),
    _r("lsq.complaint.sla_at_risk.v1", "handler", _PEOPLE, "投诉处理时限将至", "A complaint's deadline is near",
       "您处理的{{ branch_name }}投诉的处理时限（{{ due_at }}）即将到期，请尽快处理。",
       "The complaint you handle at {{ branch_name }} is due at {{ due_at }}: please act now."),
    _r("lsq.complaint.sla_at_risk.v1", "branch_manager", _PEOPLE, "{{ branch_name }}投诉处理时限将至",
       "A complaint at {{ branch_name }} is close to its deadline",
       "{{ branch_name }}一件{{ severity }}投诉的处理时限（{{ due_at }}）即将到期。处理人：{{ handler_name }}。",
       "A {{ severity }} complaint at {{ branch_name }} is due at {{ due_at }}. Handler: {{ handler_name }}."),
    _r("lsq.complaint.sla_breached.v1", "handler", _PEOPLE, "投诉处理已超时", "A complaint's deadline has passed",
       "您处理的{{ branch_name }}投诉已超过处理时限（{{ due_at }}），已上报分馆馆长。",
       "The complaint you handle at {{ branch_name }} passed its deadline ({{ due_at }}); it was escalated to the "
       "branch manager."),
    _r("lsq.complaint.sla_breached.v1", "branch_manager", _PEOPLE, "{{ branch_name }}投诉超时，已上报",
       "Complaint at {{ branch_name }} escalated: deadline passed",
       "{{ branch_name }}一件{{ severity }}投诉已超过处理时限（{{ due_at }}），现由您负责跟进。处理人：{{ handler_name }}。",
       "A {{ severity }} complaint at {{ branch_name }} passed its deadline ({{ due_at }}) and is escalated to you. "
       "Handler: {{ handler_name }}."),
    _r("lsq.complaint.sla_breached.v1", "network_office", ["inbox"], "{{ branch_name }}投诉超时",
       "Complaint deadline passed at {{ branch_name }}",
       "{{ branch_name }}一件{{ severity }}投诉已超过处理时限（{{ due_at }}）。",
       "A {{ severity }} complaint at {{ branch_name }} passed its deadline ({{ due_at }})."),
    # staff
    _r("lsq.cycle.opened.v1", "staff", _PEOPLE, "{{ period }} 考评已开始", "The {{ period }} evaluation has opened",
       "{{ period }} 考评已开始，请于 {{ submission_deadline }} 前完成自评与互评：{{ portal_link }}",
       "The {{ period }} evaluation has opened: complete your self and peer ratings by {{ submission_deadline }}: "
       "{{ portal_link }}"),
    _r("lsq.cycle.extended.v1", "staff", ["inbox"], "{{ period }} 考评截止时间已延长", "The {{ period }} evaluation was extended",
       "{{ period }} 考评截止时间已延长至 {{ submission_deadline }}。",
       "The {{ period }} evaluation deadline is now {{ submission_deadline }}."),
    _r("lsq.evaluation.scored.v1", "staff", _PEOPLE, "您的 {{ period }} 考评成绩已公布", "Your {{ period }} evaluation result",
       "您的 {{ period }} 考评成绩为 {{ score }} 分，等级：{{ grade }}。如有异议可在门户提出申诉。",
       "Your {{ period }} evaluation score is {{ score }}, grade {{ grade }}. You may appeal in the portal."),
    _r("lsq.evaluation.rescored.v1", "staff", _PEOPLE, "您的 {{ period }} 考评成绩已更正",
       "Your {{ period }} evaluation result was revised",
       "您的 {{ period }} 考评成绩由 {{ previous_score }} 分更正为 {{ score }} 分，等级：{{ grade }}。",
       "Your {{ period }} evaluation score was revised from {{ previous_score }} to {{ score }}, grade {{ grade }}."),
    _r("lsq.sanction.issued.v1", "staff", _PEOPLE, "您收到一项处分通知", "A sanction was issued to you",
       "{{ staff_name }}，您收到一项处分：{{ level }}。原因：{{ reason_zh }}。如有异议，请于 {{ appeal_deadline }} 前在门户提出申诉。",
       "{{ staff_name }}, a sanction was issued to you: {{ level }}. Reason: {{ reason_en }}. You may appeal in the "
       "portal until {{ appeal_deadline }}."),
    _r("lsq.sanction.appealed.v1", "approver", _PEOPLE, "有一项申诉待您处理", "An appeal waits for your decision",
       "{{ staff_name }}（{{ branch_name }}）对处分提出了申诉，请在门户处理：{{ portal_link }}",
       "{{ staff_name }} ({{ branch_name }}) appealed a sanction; decide it in the portal: {{ portal_link }}"),
    _r("lsq.sanction.appeal_decided.v1", "staff", _PEOPLE, "您的申诉已有结果", "Your appeal was decided",
       "您的申诉已裁决：{{ decision }}。说明：{{ note }}",
       "Your appeal was decided: {{ decision }}. Note: {{ note }}"),
    _r("lsq.award.granted.v1", "staff", _PEOPLE, "恭喜您获得奖励", "You received an award",
       "{{ staff_name }}，恭喜您获得 {{ tier }} 级奖励，金额 {{ amount }} 元。原因：{{ reason_zh }}",
       "{{ staff_name }}, congratulations: you received a tier {{ tier }} award of {{ amount }} CNY. "
       "Reason: {{ reason_en }}"),
    _r("lsq.award.pending_approval.v1", "approver", _PEOPLE, "有一项奖励待您审批", "An award waits for your approval",
       "{{ staff_name }}（{{ branch_name }}）的 {{ tier }} 级奖励（{{ amount }} 元）待您审批：{{ portal_link }}",
       "A tier {{ tier }} award of {{ amount }} CNY for {{ staff_name }} ({{ branch_name }}) waits for your "
       "approval: {{ portal_link }}"),
    _r("lsq.praise.received.v1", "staff", ["inbox"], "您收到一条读者表扬", "A reader praised you",
       "{{ staff_name }}，一位读者表扬了您的服务。", "{{ staff_name }}, a reader praised your service."),
    _r("lsq.requirement.assigned.v1", "staff", _PEOPLE, "新的培训任务：{{ title }}", "New training: {{ title }}",
       "您有一项新的培训任务：{{ title }}，请于 {{ due_on }} 前完成。",
       "You have new training to complete: {{ title }}, by {{ due_on }}."),
    _r("lsq.requirement.due_soon.v1", "staff", _PEOPLE, "培训即将到期：{{ title }}", "Training due soon: {{ title }}",
       "您的培训任务“{{ title }}”将于 {{ due_on }} 到期，请尽快完成。",
       "Your training \"{{ title }}\" is due on {{ due_on }}: please complete it soon."),
    _r("lsq.requirement.overdue.v1", "staff", _PEOPLE, "培训已逾期：{{ title }}", "Training overdue: {{ title }}",
       "您的培训任务“{{ title }}”已于 {{ due_on }} 逾期，请尽快完成。",
       "Your training \"{{ title }}\" was due on {{ due_on }} and is overdue: please complete it."),
    _r("lsq.cycle.peer_ratings_requested.v1", "staff", _PEOPLE, "{{ period }} 考评：请为 {{ peers_to_rate }} 位同事互评",
       "{{ period }} evaluation: please rate {{ peers_to_rate }} colleague(s)",
       "{{ recipient_name }}，{{ period }} 考评请您为 {{ peers_to_rate }} 位同事进行互评，截止时间 {{ submission_deadline }}。"
       "评价对象见门户“我的考评任务”：{{ portal_link }}（互评匿名，被评人看不到评价人）",
       "{{ recipient_name }}, in the {{ period }} evaluation you are asked to rate {{ peers_to_rate }} colleague(s) "
       "by {{ submission_deadline }}. See whom under \"My ratings to give\" in the portal: {{ portal_link }} "
       "(peer ratings are anonymous to the person rated)"),
    _r("lsq.cycle.deadline_approaching.v1", "staff", _PEOPLE, "{{ period }} 考评将于 {{ submission_deadline }} 截止",
       "The {{ period }} evaluation closes at {{ submission_deadline }}",
       "{{ recipient_name }}，{{ period }} 考评将于 {{ submission_deadline }} 截止，您还有评价未完成：自评{{ self_pending }}，"
       "同事互评尚缺 {{ peers_pending }} 项，主管评价尚缺 {{ supervisor_pending }} 项。请在门户完成：{{ portal_link }}",
       "{{ recipient_name }}, the {{ period }} evaluation closes at {{ submission_deadline }} and you have ratings to "
       "give: self-rating {{ self_pending }}, {{ peers_pending }} peer rating(s) and {{ supervisor_pending }} "
       "supervisor rating(s) missing. Complete them in the portal: {{ portal_link }}"),
    _r("lsq.training.enrolment_promoted.v1", "staff", _PEOPLE, "您已从候补转为正式报名：{{ title }}",
       "You have a seat: {{ title }}",
       "{{ staff_name }}，有名额空出，您在“{{ title }}”（{{ starts_at }} 开始，地点：{{ place }}）"
       "的候补报名已转为正式报名。如不能参加，请在门户取消，把名额留给其他同事：{{ portal_link }}",
       "{{ staff_name }}, a seat became free: your waiting-list place for \"{{ title }}\" (starting {{ starts_at }}"
       ", place: {{ place }}) is now an enrolment. If you cannot attend, cancel it in the "
       "portal so that a colleague gets the seat: {{ portal_link }}"),
    _r("lsq.training.external_submitted.v1", "approver", _PEOPLE, "有一项外部活动待您审批",
       "An external activity waits for your approval",
       "{{ staff_name }}（{{ branch_name }}）提交了外部活动“{{ title }}”（{{ kind }}，{{ activity_date }}，{{ hours }} 小时），"
       "请在门户审批：{{ portal_link }}",
       "{{ staff_name }} ({{ branch_name }}) submitted the external activity \"{{ title }}\" ({{ kind }}, "
       "{{ activity_date }}, {{ hours }} hours); approve or reject it in the portal: {{ portal_link }}"),
    _r("lsq.requirement.overdue.v1", "branch_manager", ["inbox"], "{{ staff_name }}的培训已逾期",
       "Training overdue: {{ staff_name }}",
       "{{ branch_name }}的{{ staff_name }}未在 {{ due_on }} 前完成培训“{{ title }}”。",
       "{{ staff_name }} of {{ branch_name }} did not complete \"{{ title }}\" by {{ due_on }}."),
)

#: Which recipient kinds make sense for which events (a rule outside this is refused).
_COMPLAINT = ("reader", "handler", "branch_manager", "network_office", "duty_group", "staff")
_STAFF = ("staff", "branch_manager", "approver", "network_office", "duty_group")


def allowed_recipients(event_type: str) -> tuple[str, ...]:
    """The recipient kinds a rule for ``event_type`` may name."""
    if event_type.startswith("lsq.complaint."):
        return _COMPLAINT
    if event_type.startswith("lsq.cycle."):
        return ("staff", "network_office", "duty_group")
    return _STAFF


def channels_for(kind: str) -> tuple[str, ...]:
    """Channels a recipient kind can be reached on."""
    if kind == "duty_group":
        return ("chat",)
    if kind == "reader":
        return ("email",)
    return ("email", "inbox")


# -- templates --------------------------------------------------------------------------------
_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)


def template_variables(event_type: str, event_fields: list[str]) -> set[str]:
    """Names a template of ``event_type`` may use: the event's fields and the common ones."""
    return set(event_fields) | set(COMMON_VARIABLES)


def check_template(source: str, allowed: set[str], field: str) -> None:
    """Refuse (422 naming ``field``) a template with a syntax error, an unknown variable, or one the
    sandbox will not render."""
    try:
        parsed = _ENV.parse(source)
        declared = meta.find_undeclared_variables(parsed)  # compiles: an unknown filter fails here
    except TemplateSyntaxError as exc:
        raise Invalid(f"{field}: template syntax error at line {exc.lineno}: {exc.message}",
                      f"{field}：模板语法错误（第 {exc.lineno} 行）：{exc.message}", field=field) from None
    unknown = sorted(declared - allowed)
    if unknown:
        raise Invalid(f"{field}: unknown variable(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}",
                      f"{field}：模板中有未知变量 {', '.join(unknown)}", field=field)
    try:
        render(source, {name: "x" for name in allowed})
    except TemplateSyntaxError as exc:  # compile-time checks (an unknown filter or test)
        raise Invalid(f"{field}: template error at line {exc.lineno}: {exc.message}",
                      f"{field}：模板错误（第 {exc.lineno} 行）：{exc.message}", field=field) from None
    except (TemplateError, UndefinedError, SecurityError, TypeError, ValueError, ArithmeticError, LookupError) as exc:
        raise Invalid(f"{field}: template does not render: {exc}", f"{field}：模板无法渲染：{exc}",
                      field=field) from None


def render(source: str, variables: dict) -> str:
    """Render a template in the sandbox; an unknown variable raises (StrictUndefined)."""
    return _ENV.from_string(source).render(**variables)


def display_value(value, language: str, zone: ZoneInfo) -> str:
    """How a value reads in a message: times in the network's zone, to the minute."""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    if value is None:
        return "—" if language == DEFAULT_LANGUAGE else "-"
    return str(value)


#: Enumerated values as a person reads them.
VALUE_LABELS = {
    "severity": {"low": ("low", "低"), "normal": ("normal", "一般"), "high": ("high", "高"), "urgent": ("urgent", "紧急")},
    "level": {"notice": ("notice", "通报提醒"), "verbal_warning": ("verbal warning", "口头警告"),
              "written_warning": ("written warning", "书面警告"), "improvement_plan": ("improvement plan", "限期整改"),
              "referral": ("referral", "移交处理")},
    "grade": {"excellent": ("excellent", "优秀"), "good": ("good", "良好"), "satisfactory": ("satisfactory", "合格"),
              "unsatisfactory": ("unsatisfactory", "不合格")},
    "decision": {"upheld": ("upheld", "维持原处分"), "overturned": ("overturned", "撤销处分")},
    "self_pending": {True: ("not yet given", "未完成"), False: ("given", "已完成")},
    "kind": {"seminar": ("seminar", "研讨会"), "academic_forum": ("academic forum", "学术论坛"),
             "conference": ("conference", "学术会议"), "networking": ("networking event", "交流活动"),
             "teaching": ("teaching", "授课")},
    "outcome": {"substantiated": ("substantiated", "属实"), "partially_substantiated": ("partially substantiated", "部分属实"),
                "unsubstantiated": ("unsubstantiated", "不属实"), "withdrawn": ("withdrawn", "已撤回")},
}


def template_context(data: dict, extra: dict, language: str, zone: ZoneInfo) -> dict:
    """The variables of one rendering: event fields (labelled, times local) and the common ones."""
    index = 1 if language == DEFAULT_LANGUAGE else 0
    values = {**data, **extra}
    if index:  # a Chinese text names a course by its Chinese title where the event carries one
        values.update({name[:-3]: value for name, value in data.items()
                       if name.endswith("_zh") and value and name[:-3] in data})
    context = {}
    for name, value in values.items():
        labels = VALUE_LABELS.get(name)
        if labels and value in labels:
            context[name] = labels[value][index]
        else:
            context[name] = display_value(value, language, zone)
    return context


# -- quiet hours, digest, rate limit, backoff -------------------------------------------------
def parse_clock(value: str, field: str) -> time:
    """``HH:MM`` (00:00-23:59) → time; anything else is a 422 naming ``field``."""
    try:
        hours, minutes = value.split(":")
        if len(hours) != 2 or len(minutes) != 2:
            raise ValueError
        parsed = time(int(hours), int(minutes))
    except (ValueError, AttributeError):
        raise Invalid(f"{field} must be a time of day HH:MM between 00:00 and 23:59, not {value!r}",
                      f"{field} 须为 00:00 至 23:59 之间的时刻（时:分），而不是 {value!r}", field=field) from None
    return parsed


def check_quiet_hours(start: str | None, end: str | None) -> None:
    """Both or neither, each a valid HH:MM, and not equal (an empty window)."""
    if (start is None) != (end is None):
        field = "quiet_end" if end is None else "quiet_start"
        raise Invalid("quiet hours need both a start and an end", "免打扰时段须同时填写开始和结束时间", field=field)
    if start is not None:
        if parse_clock(start, "quiet_start") == parse_clock(end, "quiet_end"):
            raise Invalid("quiet hours start and end must differ", "免打扰时段的开始与结束时间不能相同", field="quiet_end")


def after_quiet_hours(moment: datetime, start: str | None, end: str | None, zone: ZoneInfo) -> datetime:
    """The earliest instant at or after ``moment`` outside the quiet window [start, end) in ``zone``.

    A window may cross midnight (22:00-07:00). Messages are delayed, never dropped."""
    if not start or not end:
        return moment
    s, e = parse_clock(start, "quiet_start"), parse_clock(end, "quiet_end")
    local = moment.astimezone(zone)
    now = local.time().replace(tzinfo=None)
    if s < e:
        quiet = s <= now < e
        end_day = local.date()
    else:
        quiet = now >= s or now < e
        end_day = local.date() + timedelta(days=1) if now >= s else local.date()
    if not quiet:
        return moment
    return datetime.combine(end_day, e, tzinfo=zone).astimezone(moment.tzinfo)


def next_digest_time(moment: datetime, zone: ZoneInfo, at: time = time(8, 0)) -> datetime:
    """The next daily digest (08:00 in the network's zone) at or after ``moment``."""
    local = moment.astimezone(zone)
    candidate = datetime.combine(local.date(), at, tzinfo=zone)
    if candidate < local:
        candidate += timedelta(days=1)
    return candidate.astimezone(moment.tzinfo)


def backoff(attempts: int, base_seconds: float = 30, cap_seconds: float = 3600) -> timedelta:
    """Wait after the ``attempts``-th failure: base × 2^(attempts-1), at most ``cap_seconds``."""
    if attempts < 1:
        return timedelta(0)
    return timedelta(seconds=min(cap_seconds, base_seconds * 2 ** (attempts - 1)))


def rate_limited_until(recent_sends: list[datetime], now: datetime, per_hour: int) -> datetime | None:
    """None when one more message may go to a recipient now; else when it may (sliding hour)."""
    window = [t for t in recent_sends if t > now - timedelta(hours=1)]
    if len(window) < per_hour:
        return None
    window.sort()
    return window[len(window) - per_hour] + timedelta(hours=1)


# -- webhooks ---------------------------------------------------------------------------------
def check_webhook_url(url: str, allow_loopback_http: bool, field: str = "url") -> None:
    """https only; http only to a loopback host and only where the setting allows it (tests, demo)."""
    parts = urllib.parse.urlsplit(url or "")
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and allow_loopback_http and _loopback(parts.hostname):
        return
    raise Invalid(f"{field} must be an https:// address", f"{field} 必须是 https:// 地址", field=field)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def wecom_payload(title: str, text: str) -> dict:
    """WeCom (企业微信) group robot, markdown message."""
    return {"msgtype": "markdown", "markdown": {"content": f"**{title}**\n{text}"}}


def dingtalk_payload(title: str, text: str) -> dict:
    """DingTalk (钉钉) custom robot, markdown message."""
    return {"msgtype": "markdown", "markdown": {"title": title, "text": f"### {title}\n{text}"}}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, "timestamp\\nsecret")), URL-encoded."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def dingtalk_url(url: str, secret: str | None, timestamp_ms: int) -> str:
    """The robot URL with ``timestamp`` and ``sign`` appended when the robot has a signing secret."""
    if not secret:
        return url
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="timestamp\\nsecret", empty message))."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def feishu_payload(title: str, text: str, secret: str | None, timestamp_s: int) -> dict:
    """Feishu (飞书) custom bot, rich-text ``post`` message, signed when the bot has a secret."""
    payload = {"msg_type": "post", "content": {"post": {"zh_cn": {
        "title": title, "content": [[{"tag": "text", "text": line}] for line in text.split("\n")]}}}}
    if secret:
        payload = {"timestamp": str(timestamp_s), "sign": feishu_sign(secret, timestamp_s), **payload}
    return payload


def chat_request(platform: str, url: str, secret: str | None, title: str, text: str, now: datetime) -> tuple[str, dict]:
    """(URL to POST to, JSON body) for one duty-group message."""
    if platform == "wecom":
        return url, wecom_payload(title, text)
    if platform == "dingtalk":
        return dingtalk_url(url, secret, int(now.timestamp() * 1000)), dingtalk_payload(title, text)
    if platform == "feishu":
        return url, feishu_payload(title, text, secret, int(now.timestamp()))
    raise ValueError(f"unknown platform {platform}")


def chat_reply_error(platform: str, body: dict | None) -> str | None:
    """The error a robot answered with HTTP 200 (all three report failures in the body), or None."""
    if not isinstance(body, dict):
        return None
    if platform in ("wecom", "dingtalk"):
        code = body.get("errcode", 0)
        return None if code == 0 else f"errcode {code}: {body.get('errmsg')}"
    code = body.get("code", body.get("StatusCode", 0))
    return None if code == 0 else f"code {code}: {body.get('msg') or body.get('StatusMessage')}"


def bilingual(first_language: str, zh: str, en: str) -> tuple[str, str]:
    """(first, second) texts: the recipient's language first, the other after."""
    return (zh, en) if first_language == DEFAULT_LANGUAGE else (en, zh)
