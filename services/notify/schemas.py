"""Request and response schemas of notify's API."""
from marshmallow import Schema, fields, validate

from services.notify import model
from shared.web import PageArgs, page_schema

_template = dict(required=True, validate=validate.Length(min=1, max=4000))


class RuleIn(Schema):
    event_type = fields.String(required=True, validate=validate.Length(max=80),
                               metadata={"description": "an event type notify understands (see GET /event-types)"})
    recipient_kind = fields.String(required=True, validate=validate.Length(max=20),
                                   metadata={"description": ", ".join(model.RECIPIENT_KINDS)})
    channels = fields.List(fields.String(validate=validate.OneOf(model.CHANNELS)), required=True,
                           validate=validate.Length(min=1, max=3))
    subject_zh = fields.String(**_template)
    subject_en = fields.String(**_template)
    body_zh = fields.String(**_template)
    body_en = fields.String(**_template)
    enabled = fields.Boolean(load_default=True)


class RulePatch(Schema):
    channels = fields.List(fields.String(validate=validate.OneOf(model.CHANNELS)), validate=validate.Length(min=1, max=3))
    subject_zh = fields.String(validate=validate.Length(min=1, max=4000))
    subject_en = fields.String(validate=validate.Length(min=1, max=4000))
    body_zh = fields.String(validate=validate.Length(min=1, max=4000))
    body_en = fields.String(validate=validate.Length(min=1, max=4000))
    enabled = fields.Boolean()


class Rule(RuleIn):
    id = fields.String()
    event_label_en = fields.String()
    event_label_zh = fields.String()
    updated_at = fields.AwareDateTime()
    updated_by = fields.String(allow_none=True)


class RuleQuery(Schema):
    event_type = fields.String(load_default=None)


class EventTypeInfo(Schema):
    event_type = fields.String()
    label_en = fields.String()
    label_zh = fields.String()
    recipient_kinds = fields.List(fields.String())
    variables = fields.List(fields.String())


class PreferencesIn(Schema):
    email = fields.Email(load_default=None, allow_none=True, validate=validate.Length(max=200),
                         metadata={"description": "overrides the directory's address; empty: use the directory's"})
    chat_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=100))
    language = fields.String(load_default=model.DEFAULT_LANGUAGE, validate=validate.OneOf(model.LANGUAGES))
    channels = fields.List(fields.String(validate=validate.OneOf(("email", "inbox"))), load_default=["email", "inbox"],
                           metadata={"description": "the inbox always keeps a copy"})
    muted_event_types = fields.List(fields.String(validate=validate.Length(max=80)), load_default=list,
                                    validate=validate.Length(max=50))
    quiet_start = fields.String(load_default=None, allow_none=True,
                                metadata={"description": "HH:MM, Asia/Shanghai; e-mail waits until quiet_end"})
    quiet_end = fields.String(load_default=None, allow_none=True)
    digest = fields.Boolean(load_default=False, metadata={"description": "one e-mail a day at 08:00 instead"})


class Preferences(PreferencesIn):
    staff_id = fields.String()
    updated_at = fields.AwareDateTime(allow_none=True)


class ChatGroupIn(Schema):
    branch_id = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=64),
                              metadata={"description": "the branch whose duty group this is; null: network office"})
    name = fields.String(required=True, validate=validate.Length(min=1, max=200))
    platform = fields.String(required=True, validate=validate.OneOf(model.CHAT_PLATFORMS))
    url = fields.String(required=True, validate=validate.Length(min=1, max=2000))
    secret = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200),
                           metadata={"description": "DingTalk/Feishu signing secret (write-only)"})
    enabled = fields.Boolean(load_default=True)


class ChatGroup(Schema):
    id = fields.String()
    branch_id = fields.String(allow_none=True)
    name = fields.String()
    platform = fields.String()
    url = fields.String()
    has_secret = fields.Boolean()
    enabled = fields.Boolean()
    updated_at = fields.AwareDateTime()


class InboxArgs(PageArgs):
    unread = fields.Boolean(load_default=False)


class InboxMessage(Schema):
    id = fields.String()
    event_type = fields.String()
    subject_zh = fields.String()
    subject_en = fields.String()
    body_zh = fields.String()
    body_en = fields.String()
    created_at = fields.AwareDateTime()
    read_at = fields.AwareDateTime(allow_none=True)


InboxPage = page_schema(InboxMessage, "InboxPage")


class UnreadCount(Schema):
    unread = fields.Integer()


class ReadAll(Schema):
    marked = fields.Integer()
    unread = fields.Integer()


class MessageArgs(PageArgs):
    status = fields.String(load_default=None, validate=validate.OneOf(("pending", "sent", "failed", "skipped")))
    channel = fields.String(load_default=None, validate=validate.OneOf(model.CHANNELS))
    event_type = fields.String(load_default=None)


class Message(Schema):
    id = fields.String()
    event_id = fields.String()
    event_type = fields.String()
    recipient_kind = fields.String()
    recipient = fields.String()
    channel = fields.String()
    status = fields.String()
    attempts = fields.Integer()
    next_attempt_at = fields.AwareDateTime(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = fields.AwareDateTime()
    sent_at = fields.AwareDateTime(allow_none=True)


MessagePage = page_schema(Message, "MessagePage")


class Retried(Schema):
    id = fields.String()
    status = fields.String()
