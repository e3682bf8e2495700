"""The Chinese text of every validation message a client can get (the one catalogue; the portal
shows these ``errors_zh`` beside its form fields as they are).

Field errors come from marshmallow (its fields' and validators' messages), from webargs (a body
that is not JSON) and from a few schemas of ours. ``shared.web.error_response`` puts
``errors_zh`` beside ``errors``, with each message turned into Chinese here. A message that is not
in this catalogue still gets a Chinese text (a generic one, logged), and a unit test fails for any
message marshmallow or our schemas can produce that falls back to it.
"""
from __future__ import annotations

import logging
import re

log = logging.getLogger(__name__)

#: Messages without parameters.
EXACT = {
    "Missing data for required field.": "此项必填。",
    "Field may not be null.": "此项不能为空。",
    "Unknown field.": "不认识的字段。",
    "Invalid input type.": "输入的类型不对。",
    "Invalid type.": "类型不对。",
    "Invalid input.": "输入无效。",
    "Invalid value.": "取值无效。",
    "Not a valid integer.": "请输入整数。",
    "Not a valid number.": "请输入数字。",
    "Not a valid string.": "请输入文字。",
    "Not a valid utf-8 string.": "不是有效的文字（编码有误）。",
    "Not a valid boolean.": "请选择是或否。",
    "Not a valid list.": "不是有效的列表。",
    "Not a valid tuple.": "不是有效的列表。",
    "Not a valid mapping type.": "不是有效的对象。",
    "Not a valid UUID.": "不是有效的编号（须为 36 位标识符）。",
    "Not a valid date.": "日期无效（格式如 2026-12-03）。",
    "Not a valid datetime.": "日期时间无效（格式如 2026-12-03T09:30:00+08:00）。",
    "Not a valid time.": "不是有效的时间（格式如 09:30）。",
    "Not a valid period of time.": "不是有效的时长。",
    "Not a valid email address.": "电子邮件地址无效。",
    "Not a valid URL.": "不是有效的网址。",
    "Not a valid IP address.": "不是有效的网络地址。",
    "Not a valid IPv4 address.": "不是有效的网络地址。",
    "Not a valid IPv6 address.": "不是有效的网络地址。",
    "Not a valid IP interface.": "不是有效的网络地址。",
    "Not a valid IPv4 interface.": "不是有效的网络地址。",
    "Not a valid IPv6 interface.": "不是有效的网络地址。",
    "Number too large.": "数值过大。",
    "Special numeric values (nan or infinity) are not permitted.": "不允许使用特殊数值（非数或无穷大）。",
    "String does not match expected pattern.": "格式不符合要求。",
    "Invalid JSON body.": "请求正文无法解析，请检查格式。",
    # Our own schemas (services/*/schemas.py)
    "'filed_to' is before 'filed_from'": "截止日期早于起始日期。",
    "'to' is before 'from'": "截止日期早于起始日期。",
    "give either 'mine' or 'assigned_to'": "“只看我的”和“指派给”只能选一个。",
}

_COMPARISONS = {
    "greater than or equal to": "大于或等于", "greater than": "大于",
    "less than or equal to": "小于或等于", "less than": "小于",
}
_OP = "(greater than or equal to|greater than|less than or equal to|less than)"

#: Messages with parameters: (pattern, Chinese template with the pattern's groups). The choices of
#: a OneOf are codes a program sends; the Chinese text does not list them (no English inside it).
PATTERNS = [
    (re.compile(r"^Length must be between (\S+) and (\S+)\.$"), "长度须在 {0} 到 {1} 之间。"),
    (re.compile(r"^Length must be (\S+)\.$"), "长度须为 {0}。"),
    (re.compile(r"^Longer than maximum length (\S+)\.$"), "超过最大长度 {0}。"),
    (re.compile(r"^Shorter than minimum length (\S+)\.$"), "短于最小长度 {0}。"),
    (re.compile(rf"^Must be {_OP} (\S+) and {_OP} (\S+)\.$"), "须{op0} {1} 且{op2} {3}。"),
    (re.compile(rf"^Must be {_OP} (\S+)\.$"), "须{op0} {1}。"),
    (re.compile(r"^Must be one of: (.*)\.$", re.S), "请从允许的选项中选择。"),
    (re.compile(r"^One or more of the choices you made was not in: (.*)\.$", re.S), "有的选项不在允许的范围内。"),
    (re.compile(r"^One or more of the choices you made was in: (.*)\.$", re.S), "有的选项不允许选择。"),
    (re.compile(r"^Must be equal to (.*)\.$", re.S), "须等于 {0}。"),
    (re.compile(r"^Not a valid aware (\w+)\.$"), "不是有效的日期时间：须带时区（如 +08:00）。"),
    (re.compile(r"^Not a valid naive (\w+)\.$"), "不是有效的日期时间：不应带时区。"),
    (re.compile(r"^\"?(.*?)\"? cannot be formatted as an? (\w+)\.$", re.S), "“{0}”无法转成所需的格式。"),
]

FALLBACK = "该字段的值不符合要求。"


def to_chinese(message: str) -> str:
    """The Chinese text of one validation message (a generic one if it is not catalogued)."""
    if message in EXACT:
        return EXACT[message]
    for pattern, template in PATTERNS:
        match = pattern.match(message)
        if match:
            groups = match.groups()
            named = {f"op{i}": _COMPARISONS.get(g, g) for i, g in enumerate(groups)}
            return template.format(*groups, **named)
    if any("\u4e00" <= ch <= "\u9fff" for ch in message):
        return message  # already Chinese (a message our code wrote in Chinese)
    log.warning("no Chinese text for validation message %r", message)
    return FALLBACK


def errors_in_chinese(errors):
    """The same nesting as marshmallow's ``errors`` (dicts of lists or dicts), every text in Chinese."""
    if isinstance(errors, dict):
        return {key: errors_in_chinese(value) for key, value in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [errors_in_chinese(value) for value in errors]
    if isinstance(errors, str):
        return to_chinese(errors)
    return errors
