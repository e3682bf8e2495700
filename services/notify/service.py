"""Notify's use cases: rules and templates, preferences, duty groups, the inbox, and turning an
incoming event into messages in the outbox (``plan_messages``; sending is in ``delivery.py``)."""
from __future__ import annotations

import json
import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from services.notify import model, store
from services.notify.settings import NotifySettings
from shared import directory_view, outbox
from shared.auth import Principal
from shared.db import Database, page_of
from shared.errors import Conflict, Forbidden, Invalid, not_found
from shared.events import get as get_event_type
from shared.events.envelope import Event
from shared.timeutil import network_zone, utcnow

DEFAULT_PREFERENCES = {"email": None, "chat_id": None, "language": model.DEFAULT_LANGUAGE,
                       "channels": ["email", "inbox"], "muted_event_types": [], "quiet_start": None,
                       "quiet_end": None, "digest": False}


# -- rules ------------------------------------------------------------------------------------
def seed_default_rules(db: Database) -> int:
    """Write the default rules when the table is empty (first start); returns how many."""
    with db.transaction() as conn:
        if conn.execute(select(store.rules.c.id).limit(1)).first():
            return 0
        now = utcnow()
        try:
            conn.execute(store.rules.insert(), [_rule_row(r.__dict__, now, None) for r in model.DEFAULT_RULES])
        except IntegrityError:  # the web process and the worker started together
            return 0
    return len(model.DEFAULT_RULES)


def _rule_row(data: dict, now: datetime, actor: str | None) -> dict:
    return {"id": str(uuid.uuid4()), "event_type": data["event_type"], "recipient_kind": data["recipient_kind"],
            "channels": json.dumps(list(data["channels"])), "subject_zh": data["subject_zh"],
            "subject_en": data["subject_en"], "body_zh": data["body_zh"], "body_en": data["body_en"],
            "enabled": data.get("enabled", True), "updated_at": now, "updated_by": actor}


def _rule_view(row) -> dict:
    view = dict(row)
    view["channels"] = json.loads(view["channels"])
    label = model.SUPPORTED_EVENTS.get(view["event_type"], ("", ""))
    view["event_label_en"], view["event_label_zh"] = label
    return view


def event_fields(event_type: str) -> list[str]:
    """The data fields of an event type (from the contract)."""
    return [name for name in get_event_type(event_type).schema().fields if name != "caused_by"]


def check_rule(data: dict) -> None:
    """Refuse a rule naming an unknown event type, recipient kind or channel, or a bad template."""
    event_type, kind = data["event_type"], data["recipient_kind"]
    if event_type not in model.SUPPORTED_EVENTS:
        raise Invalid(f"unknown event type {event_type}; notify understands: {', '.join(model.SUPPORTED_EVENTS)}",
                      f"未知的事件类型 {event_type}", field="event_type")
    if kind not in model.allowed_recipients(event_type):
        raise Invalid(f"recipient kind {kind} is not known for {event_type}; choose one of "
                      f"{', '.join(model.allowed_recipients(event_type))}",
                      f"接收人类型 {kind} 不适用于该事件", field="recipient_kind")
    reachable = model.channels_for(kind)
    wrong = [c for c in data["channels"] if c not in reachable]
    if wrong or not data["channels"]:
        raise Invalid(f"channels of a {kind} rule must be among {', '.join(reachable)}",
                      f"该接收人类型可用的渠道为 {', '.join(reachable)}", field="channels")
    allowed = model.template_variables(event_type, event_fields(event_type))
    for field in ("subject_zh", "subject_en", "body_zh", "body_en"):
        model.check_template(data[field], allowed, field)


def list_rules(db: Database, event_type: str | None = None) -> list[dict]:
    """Every rule (optionally of one event type), by event type and recipient kind."""
    query = select(store.rules).order_by(store.rules.c.event_type, store.rules.c.recipient_kind)
    if event_type:
        query = query.where(store.rules.c.event_type == event_type)
    with db.read() as conn:
        return [_rule_view(r) for r in conn.execute(query).mappings()]


def create_rule(db: Database, actor: Principal, data: dict) -> dict:
    """A new rule; one per (event type, recipient kind) → 409 for a second."""
    check_rule(data)
    row = _rule_row(data, utcnow(), actor.subject)
    with db.transaction() as conn:
        exists = conn.execute(select(store.rules.c.id).where(
            store.rules.c.event_type == data["event_type"],
            store.rules.c.recipient_kind == data["recipient_kind"])).first()
        if exists:
            raise Conflict(f"a rule for {data['event_type']} → {data['recipient_kind']} exists ({exists[0]}); edit it",
                           "该事件与接收人类型的规则已存在，请修改原规则", field="recipient_kind")
        conn.execute(store.rules.insert().values(**row))
    return _rule_view(row)


def update_rule(db: Database, actor: Principal, rule_id: str, changes: dict) -> dict:
    """Change a rule's channels, templates or enabled flag (checked as a whole)."""
    with db.transaction() as conn:
        row = conn.execute(select(store.rules).where(store.rules.c.id == rule_id)).mappings().first()
        if row is None:
            raise not_found("rule", "规则", rule_id)
        merged = {**_rule_view(row), **changes}
        check_rule(merged)
        values = {k: merged[k] for k in ("subject_zh", "subject_en", "body_zh", "body_en", "enabled")}
        values.update(channels=json.dumps(list(merged["channels"])), updated_at=utcnow(), updated_by=actor.subject)
        conn.execute(update(store.rules).where(store.rules.c.id == rule_id).values(**values))
        return _rule_view({**row, **values})


def delete_rule(db: Database, rule_id: str) -> None:
    """Remove a rule: that event no longer tells that recipient anything."""
    with db.transaction() as conn:
        if not conn.execute(store.rules.delete().where(store.rules.c.id == rule_id)).rowcount:
            raise not_found("rule", "规则", rule_id)


# -- preferences ------------------------------------------------------------------------------
def _may_edit_preferences(actor: Principal, staff_id: str) -> None:
    if actor.role == "network_admin" or (actor.staff_id and actor.staff_id == staff_id):
        return
    raise Forbidden("only the staff member themself or a network administrator may see or change these preferences",
                    "只有本人或网络管理员可以查看或修改通知偏好")


def preferences_of(conn: Connection, staff_id: str) -> dict:
    """A staff member's preferences, or the defaults."""
    row = conn.execute(select(store.preferences).where(store.preferences.c.staff_id == staff_id)).mappings().first()
    if row is None:
        return {"staff_id": staff_id, **DEFAULT_PREFERENCES, "updated_at": None}
    view = dict(row)
    view["channels"] = json.loads(view["channels"])
    view["muted_event_types"] = json.loads(view["muted_event_types"])
    return view


def get_preferences(db: Database, actor: Principal, staff_id: str) -> dict:
    """The preferences of ``staff_id`` (themself or an admin)."""
    _may_edit_preferences(actor, staff_id)
    with db.read() as conn:
        return preferences_of(conn, staff_id)


def put_preferences(db: Database, actor: Principal, staff_id: str, data: dict) -> dict:
    """Replace the preferences of ``staff_id``, after checking every field."""
    _may_edit_preferences(actor, staff_id)
    unknown = [t for t in data["muted_event_types"] if t not in model.SUPPORTED_EVENTS]
    if unknown:
        raise Invalid(f"unknown event type(s) {', '.join(unknown)}", f"未知的事件类型 {', '.join(unknown)}",
                      field="muted_event_types")
    model.check_quiet_hours(data.get("quiet_start"), data.get("quiet_end"))
    values = {**DEFAULT_PREFERENCES, **data, "updated_at": utcnow(), "updated_by": actor.subject}
    row = {**values, "staff_id": staff_id, "channels": json.dumps(values["channels"]),
           "muted_event_types": json.dumps(values["muted_event_types"])}
    with db.transaction() as conn:
        directory_view.require_staff(conn, staff_id, field="staff_id", active=False)
        conn.execute(store.preferences.delete().where(store.preferences.c.staff_id == staff_id))
        conn.execute(store.preferences.insert().values(**row))
    return {**values, "staff_id": staff_id}


# -- duty groups ------------------------------------------------------------------------------
def _group_view(row) -> dict:
    view = {k: v for k, v in dict(row).items() if k != "secret"}
    view["has_secret"] = bool(row["secret"])
    return view


def list_groups(db: Database) -> list[dict]:
    with db.read() as conn:
        return [_group_view(r) for r in conn.execute(select(store.chat_groups).order_by(store.chat_groups.c.name))
                .mappings()]


def save_group(db: Database, settings: NotifySettings, data: dict, group_id: str | None = None) -> dict:
    """Create or replace a branch's duty-group robot (https only; loopback http if allowed)."""
    model.check_webhook_url(data["url"], settings.allow_loopback_webhooks, field="url")
    row = {"branch_id": data.get("branch_id"), "name": data["name"], "platform": data["platform"],
           "url": data["url"], "secret": data.get("secret"), "enabled": data.get("enabled", True),
           "updated_at": utcnow()}
    with db.transaction() as conn:
        if row["branch_id"]:
            directory_view.require_branch(conn, row["branch_id"])
        if group_id is None:
            row["id"] = str(uuid.uuid4())
            conn.execute(store.chat_groups.insert().values(**row))
        else:
            row["id"] = group_id
            if not conn.execute(update(store.chat_groups).where(store.chat_groups.c.id == group_id)
                                .values(**row)).rowcount:
                raise not_found("chat group", "工作群", group_id)
    return _group_view(row)


def delete_group(db: Database, group_id: str) -> None:
    with db.transaction() as conn:
        if not conn.execute(store.chat_groups.delete().where(store.chat_groups.c.id == group_id)).rowcount:
            raise not_found("chat group", "工作群", group_id)


# -- inbox and the administrators' view of messages --------------------------------------------
_INBOX_FIELDS = ("id", "event_type", "subject_zh", "subject_en", "body_zh", "body_en", "created_at", "read_at")


def inbox(db: Database, actor: Principal, args: dict) -> tuple[list[dict], int]:
    """The signed-in staff member's inbox, newest first; ``unread`` keeps only unread ones."""
    m = store.messages
    query = select(*[m.c[f] for f in _INBOX_FIELDS]).where(m.c.staff_id == _inbox_owner(actor),
                                                            m.c.channel == "inbox")
    if args.get("unread"):
        query = query.where(m.c.read_at.is_(None))
    with db.read() as conn:
        rows, total = page_of(conn, query, [m.c.created_at.desc(), m.c.id.desc()], args["page"], args["page_size"])
    return [dict(r) for r in rows], total


def _inbox_owner(actor: Principal) -> str:
    if not actor.staff_id:
        raise Forbidden("the inbox belongs to a staff member: sign in as one", "收件箱属于员工本人，请以员工身份登录")
    return actor.staff_id


def unread_count(db: Database, actor: Principal) -> dict:
    with db.read() as conn:
        return {"unread": store.unread_count(conn, _inbox_owner(actor))}


def mark_read(db: Database, actor: Principal, message_id: str) -> dict:
    """Mark one of my inbox messages read (idempotent); someone else's is a 404."""
    m = store.messages
    owner = _inbox_owner(actor)
    with db.transaction() as conn:
        row = conn.execute(select(*[m.c[f] for f in _INBOX_FIELDS]).where(
            m.c.id == message_id, m.c.staff_id == owner, m.c.channel == "inbox")).mappings().first()
        if row is None:
            raise not_found("message", "消息", message_id)
        row = dict(row)
        if row["read_at"] is None:
            row["read_at"] = utcnow()
            conn.execute(update(m).where(m.c.id == message_id).values(read_at=row["read_at"]))
    return row


def mark_all_read(db: Database, actor: Principal) -> dict:
    m = store.messages
    owner = _inbox_owner(actor)
    with db.transaction() as conn:
        count = conn.execute(update(m).where(m.c.staff_id == owner, m.c.channel == "inbox", m.c.read_at.is_(None))
                             .values(read_at=utcnow())).rowcount
    return {"marked": count, "unread": 0}


def list_messages(db: Database, args: dict) -> tuple[list[dict], int]:
    """The outbox for administrators: status, attempts and last error; no addresses (none are kept)."""
    m = store.messages
    query = select(m.c.id, m.c.event_id, m.c.event_type, m.c.recipient_kind, m.c.recipient, m.c.channel, m.c.status,
                   m.c.attempts, m.c.next_attempt_at, m.c.last_error, m.c.created_at, m.c.sent_at)
    for name in ("status", "channel", "event_type"):
        if args.get(name):
            query = query.where(m.c[name] == args[name])
    with db.read() as conn:
        rows, total = page_of(conn, query, [m.c.created_at.desc(), m.c.id.desc()], args["page"], args["page_size"])
    return [dict(r) for r in rows], total


def retry_message(db: Database, message_id: str) -> dict:
    """Send a failed message again from its first attempt (an operator fixed the cause)."""
    m = store.messages
    with db.transaction() as conn:
        row = conn.execute(select(m.c.status).where(m.c.id == message_id)).first()
        if row is None:
            raise not_found("message", "消息", message_id)
        if row[0] != "failed":
            raise Conflict(f"only a failed message can be retried, this one is {row[0]}",
                           "只有发送失败的消息可以重发", field="status")
        conn.execute(update(m).where(m.c.id == message_id).values(status="pending", attempts=0, next_attempt_at=utcnow()))
    return {"id": message_id, "status": "pending"}


# -- events → messages ------------------------------------------------------------------------
def _recipients(conn: Connection, kind: str, data: dict, event_type: str = "") -> list[str]:
    """Staff ids (or chat group ids for duty groups) a rule of ``kind`` reaches for this event."""
    branch = data.get("branch_id")
    if kind == "approver":
        found = []
        for role in model.approver_roles(event_type):
            found += store.staff_with_role(conn, role, branch) if branch else []
        # Nobody approves their own activity, award or appeal: the next one up does.
        found = sorted(set(found) - {data.get("staff_id")})
        return found or store.staff_with_role(conn, "network_admin")
    if kind == "reader":  # the complaint stands for its reader; the address is asked at send time
        return [data["complaint_id"]] if data.get("complaint_id") else []
    if kind == "staff":
        if data.get("staff_id"):
            return [data["staff_id"]]
        if "branch_ids" in data:  # a cycle: everybody of its branches
            return store.staff_of_branches(conn, list(data["branch_ids"]))
        return []
    if kind == "handler":
        return [data["handler_id"]] if data.get("handler_id") else []
    if kind in ("branch_manager", "approver"):
        found = store.staff_with_role(conn, "branch_manager", branch) if branch else []
        escalated = data.get("escalated_to_staff_id")
        if escalated and escalated not in found:
            found.append(escalated)
        # Somebody is always responsible: a branch without a known manager → the network office.
        return found or store.staff_with_role(conn, "network_admin")
    if kind == "network_office":
        return store.staff_with_role(conn, "network_admin")
    if kind == "duty_group":
        branches = list(data["branch_ids"]) if "branch_ids" in data else [branch]
        g = store.chat_groups
        return [r[0] for r in conn.execute(select(g.c.id).where(g.c.enabled.is_(True), g.c.branch_id.in_(branches))
                                           .order_by(g.c.id))]
    return []


def _texts(conn, rule: dict, data: dict, extra: dict, zone) -> dict:
    """Subject and body in both languages (a template failing on odd data raises ValueError)."""
    texts = {}
    for language, suffix in (("zh-CN", "zh"), ("en", "en")):
        context = model.template_context(data, {**extra(language)}, language, zone)
        for part in ("subject", "body"):
            try:
                texts[f"{part}_{suffix}"] = model.render(rule[f"{part}_{suffix}"], context)
            except Exception as exc:  # noqa: BLE001 - a template edited to something this event cannot fill
                raise ValueError(f"{part}_{suffix}: {exc}") from exc
    return texts


def plan_messages(conn: Connection, event: Event, settings: NotifySettings, now: datetime | None = None) -> int:
    """Turn one event into outbox rows by the enabled rules; returns how many new rows.

    Each row is unique per (event, recipient, channel): a redelivered event adds nothing. Inbox rows
    are delivered by being written (and announced at once); e-mail and chat rows wait for the sender,
    at the earliest after the recipient's quiet hours, or at the next digest."""
    now = now or utcnow()
    zone = network_zone()
    rules = [_rule_view(r) for r in conn.execute(select(store.rules).where(
        store.rules.c.event_type == event.type, store.rules.c.enabled.is_(True))).mappings()]
    if not rules:
        return 0
    data = {name: None for name in event_fields(event.type)}
    data.update({k: v for k, v in event.data.items() if k != "caused_by"})
    label = model.SUPPORTED_EVENTS.get(event.type, (event.type, event.type))
    names = _Names(conn)
    rows = []
    for rule in rules:
        for recipient in _recipients(conn, rule["recipient_kind"], data, event.type):
            rows += _rows_for(conn, event, rule, recipient, data, label, settings, now, zone, names)
    if not rows:
        return 0
    inserted = _insert_new(conn, rows)
    for row in inserted:
        if row["channel"] == "inbox":
            announce(conn, row, "sent", now, event)
    return len(inserted)


class _Names:
    """Names of branches and staff read once per event (an event reaches many recipients)."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.cache: dict[tuple, str] = {}

    def branch(self, branch_id, language) -> str:
        key = ("branch", branch_id, language)
        if key not in self.cache:
            self.cache[key] = store.branch_name(self.conn, branch_id, language)
        return self.cache[key]

    def staff(self, staff_id) -> str:
        key = ("staff", staff_id)
        if key not in self.cache:
            self.cache[key] = store.staff_name(self.conn, staff_id)
        return self.cache[key]


def _rows_for(conn, event, rule, recipient, data, label, settings, now, zone, names: _Names) -> list[dict]:
    kind = rule["recipient_kind"]
    prefs = preferences_of(conn, recipient) if kind not in ("reader", "duty_group") else dict(DEFAULT_PREFERENCES)

    def extra(language):
        return {"event_label": label[1] if language == "zh-CN" else label[0],
                "branch_name": names.branch(data.get("branch_id"), language),
                "staff_name": names.staff(data.get("staff_id")),
                "handler_name": names.staff(data.get("handler_id")),
                "recipient_name": names.staff(recipient) if kind not in ("reader", "duty_group") else "",
                "rating_link": f"{settings.portal_url}/track",
                "portal_link": settings.portal_url + "/",
                "event_time": event.time}

    try:
        texts, error = _texts(conn, rule, data, extra, zone), None
    except ValueError as exc:
        texts = {"subject_zh": rule["subject_zh"], "subject_en": rule["subject_en"], "body_zh": "", "body_en": ""}
        error = f"template: {exc}"[:500]
    base = {"event_id": event.id, "event_source": event.source, "event_type": event.type, "recipient_kind": kind,
            "complaint_id": data.get("complaint_id"), "language": prefs["language"], "attempts": 0, "last_error": error,
            "created_at": now, "sent_at": None, "read_at": None, "digest": False, **texts}
    rows = []
    for channel in rule["channels"]:
        row = {**base, "id": str(uuid.uuid4()), "channel": channel, "status": "pending", "next_attempt_at": now}
        if kind == "reader":
            row.update(recipient=f"reader:{data.get('complaint_id')}", staff_id=None)
        elif kind == "duty_group":
            row.update(recipient=f"group:{recipient}", staff_id=None)
        else:
            row.update(recipient=recipient, staff_id=recipient)
            if channel == "inbox":
                row.update(status="sent", sent_at=now, next_attempt_at=None)
            elif channel not in prefs["channels"] or event.type in prefs["muted_event_types"]:
                continue  # the staff member chose not to get this by e-mail; the inbox still has it
            elif prefs["digest"]:
                row.update(digest=True, next_attempt_at=model.next_digest_time(now, zone))
            else:
                row["next_attempt_at"] = model.after_quiet_hours(now, prefs["quiet_start"], prefs["quiet_end"], zone)
        if error and row["status"] == "pending":
            row.update(status="failed", next_attempt_at=None)
        rows.append(row)
    return rows


def _insert_new(conn: Connection, rows: list[dict]) -> list[dict]:
    """Insert the rows not there yet (unique per event, recipient and channel); returns those."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    inserted = []
    for row in rows:
        statement = insert(store.messages).values(**row).on_conflict_do_nothing(
            index_elements=["event_source", "event_id", "recipient", "channel"]).returning(store.messages.c.id)
        if conn.execute(statement).first() is not None:  # RETURNING: rowcount is not reliable here
            inserted.append(row)
    return inserted


def announce(conn: Connection, row: dict, outcome: str, now: datetime, cause: Event | None = None,
             error_kind: str | None = None) -> None:
    """``lsq.notification.sent.v1`` / ``.failed.v1`` for a message: no body, no address."""
    data = {"message_id": row["id"], "event_id": row["event_id"], "event_type": row["event_type"],
            "recipient_kind": row["recipient_kind"], "channel": row["channel"], "staff_id": row.get("staff_id"),
            "branch_id": None, "attempts": row["attempts"]}
    caused_by = [cause.cause()] if cause else [{"source": row["event_source"], "id": row["event_id"]}]
    if outcome == "sent":
        outbox.add(conn, "lsq.notification.sent.v1", {**data, "sent_at": now}, caused_by=caused_by)
    else:
        outbox.add(conn, "lsq.notification.failed.v1", {**data, "error_kind": (error_kind or "error")[:100],
                                                        "failed_at": now}, caused_by=caused_by)
