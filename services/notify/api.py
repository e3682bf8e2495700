"""Notify HTTP API: rules and templates (network_admin), preferences (the staff member or an admin),
duty-group robots (network_admin), the outbox for administrators, and the staff inbox."""
from flask import current_app
from flask_smorest import Blueprint

from services.notify import model, schemas, service
from shared import auth
from shared.auth import access
from shared.web import db, page

blp = Blueprint("notify", __name__, url_prefix="/", description="Notification rules, preferences, inbox")

STAFF_MEMBERS = ("staff", "supervisor", "branch_manager")


@blp.get("/event-types")
@access(*STAFF_MEMBERS, "auditor")
@blp.response(200, schemas.EventTypeInfo(many=True))
def event_types():
    """Events a rule may name, with their recipient kinds and template variables / 可配置通知的事件"""
    return [{"event_type": t, "label_en": en, "label_zh": zh, "recipient_kinds": list(model.allowed_recipients(t)),
             "variables": sorted(model.template_variables(t, service.event_fields(t)))}
            for t, (en, zh) in model.SUPPORTED_EVENTS.items()]


@blp.get("/rules")
@access("auditor")
@blp.arguments(schemas.RuleQuery(), location="query")
@blp.response(200, schemas.Rule(many=True))
def list_rules(args):
    """The notification rules / 通知规则"""
    return service.list_rules(db(), args.get("event_type"))


@blp.post("/rules")
@access()
@blp.arguments(schemas.RuleIn())
@blp.response(201, schemas.Rule)
def create_rule(data):
    """Add a rule: event type → recipient kind → templates / 新增通知规则"""
    return service.create_rule(db(), auth.current(), data)


@blp.patch("/rules/<rule_id>")
@access()
@blp.arguments(schemas.RulePatch())
@blp.response(200, schemas.Rule)
def update_rule(data, rule_id):
    """Change a rule's channels, templates or enabled flag / 修改通知规则"""
    return service.update_rule(db(), auth.current(), rule_id, data)


@blp.delete("/rules/<rule_id>")
@access()
@blp.response(204)
def delete_rule(rule_id):
    """Remove a rule / 删除通知规则"""
    service.delete_rule(db(), rule_id)


@blp.get("/preferences/<staff_id>")
@access(*STAFF_MEMBERS)
@blp.response(200, schemas.Preferences)
def get_preferences(staff_id):
    """A staff member's notification preferences (themself or an admin) / 通知偏好"""
    return service.get_preferences(db(), auth.current(), staff_id)


@blp.put("/preferences/<staff_id>")
@access(*STAFF_MEMBERS)
@blp.arguments(schemas.PreferencesIn())
@blp.response(200, schemas.Preferences)
def put_preferences(data, staff_id):
    """Set channels, muted kinds, quiet hours, digest, e-mail and work-chat id / 设置通知偏好"""
    return service.put_preferences(db(), auth.current(), staff_id, data)


@blp.get("/chat-groups")
@access("auditor")
@blp.response(200, schemas.ChatGroup(many=True))
def list_groups():
    """Duty-group robots (WeCom, DingTalk, Feishu) / 值班工作群机器人"""
    return service.list_groups(db())


@blp.post("/chat-groups")
@access()
@blp.arguments(schemas.ChatGroupIn())
@blp.response(201, schemas.ChatGroup)
def create_group(data):
    """Add a branch duty group's robot / 新增工作群机器人"""
    return service.save_group(db(), current_app.extensions["notify"], data)


@blp.put("/chat-groups/<group_id>")
@access()
@blp.arguments(schemas.ChatGroupIn())
@blp.response(200, schemas.ChatGroup)
def replace_group(data, group_id):
    """Replace a duty group's robot / 修改工作群机器人"""
    return service.save_group(db(), current_app.extensions["notify"], data, group_id)


@blp.delete("/chat-groups/<group_id>")
@access()
@blp.response(204)
def delete_group(group_id):
    """Remove a duty group's robot / 删除工作群机器人"""
    service.delete_group(db(), group_id)


@blp.get("/messages")
@access("auditor")
@blp.arguments(schemas.MessageArgs(), location="query")
@blp.response(200, schemas.MessagePage)
def list_messages(args):
    """The outbox of messages: status, attempts, last error (``status=failed``) / 消息发送记录"""
    items, total = service.list_messages(db(), args)
    return page(items, total, args)


@blp.post("/messages/<message_id>/retry")
@access()
@blp.response(200, schemas.Retried)
def retry_message(message_id):
    """Send a failed message again / 重发失败的消息"""
    return service.retry_message(db(), message_id)


@blp.get("/inbox")
@access(*STAFF_MEMBERS)
@blp.arguments(schemas.InboxArgs(), location="query")
@blp.response(200, schemas.InboxPage)
def inbox(args):
    """My inbox, newest first (``unread=true`` for unread only) / 我的消息"""
    items, total = service.inbox(db(), auth.current(), args)
    return page(items, total, args)


@blp.get("/inbox/unread-count")
@access(*STAFF_MEMBERS)
@blp.response(200, schemas.UnreadCount)
def unread_count():
    """How many of my messages are unread / 未读消息数"""
    return service.unread_count(db(), auth.current())


@blp.post("/inbox/<message_id>/read")
@access(*STAFF_MEMBERS)
@blp.response(200, schemas.InboxMessage)
def mark_read(message_id):
    """Mark one message read / 标为已读"""
    return service.mark_read(db(), auth.current(), message_id)


@blp.post("/inbox/read-all")
@access(*STAFF_MEMBERS)
@blp.response(200, schemas.ReadAll)
def mark_all_read():
    """Mark all my messages read / 全部标为已读"""
    return service.mark_all_read(db(), auth.current())
