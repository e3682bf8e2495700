"""Notification events, owned by the notify service (topic ``lsq.notification``).

They say that a message went out (or was given up), to which kind of recipient, on which channel,
because of which event: never the message's text and never an address, so no contact data of a
reader or a staff member reaches Kafka. Key = the staff member told, else the message id.
"""
from shared.events import fields as f
from shared.events.registry import EventData, define

CHANNELS = ("email", "inbox", "chat")
RECIPIENT_KINDS = ("reader", "staff", "handler", "branch_manager", "approver", "network_office", "duty_group")


class _Notification(EventData):
    message_id = f.ref("the message in notify's outbox")
    event_id = f.ref("ce_id of the event the message is about")
    event_type = f.text("type of that event", max_length=80)
    recipient_kind = f.enum(RECIPIENT_KINDS, "who was told: the role of the recipient for that event")
    channel = f.enum(CHANNELS, "how")
    staff_id = f.ref("the staff member told, when the recipient is one", required=False, allow_none=True)
    branch_id = f.ref("the branch of the event, if any", required=False, allow_none=True)
    attempts = f.integer("delivery attempts made")


class NotificationSent(_Notification):
    sent_at = f.time("when the mail server or robot accepted it (or it reached the inbox)")


class NotificationFailed(_Notification):
    error_kind = f.text("kind of the last error (e.g. SMTPServerDisconnected, http_500); no addresses",
                        max_length=100)
    failed_at = f.time("when delivery was given up")


define("lsq.notification.sent.v1", NotificationSent, service="notify", subject="message_id",
       description="A notification was delivered (accepted by the mail server or robot, or put in the inbox).")
define("lsq.notification.failed.v1", NotificationFailed, service="notify", subject="message_id",
       description="A notification was given up after its retries; administrators see the error in notify's API.")
