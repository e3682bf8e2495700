"""``lsq notify test --to ADDRESS``: a test message through each configured channel (the mail
server of ``LSQ_SMTP_*`` and every enabled duty-group robot in notify's database)."""
from __future__ import annotations

import argparse

import requests
from sqlalchemy import select

from services.notify import store
from services.notify.delivery import Mailer, email_parts, post_chat
from services.notify.settings import NotifySettings
from shared.config import database_url
from shared.db import Database
from shared.timeutil import utcnow

SUBJECT_ZH, SUBJECT_EN = "LSQ 通知测试", "LSQ notification test"
BODY_ZH = "这是一条测试消息：如果您收到了它，说明该通知渠道配置正确。"
BODY_EN = "This is a test message: if you can read it, this notification channel works."


def register(subparsers) -> None:
    """Add ``notify test`` to the ``lsq`` command line."""
    notify = subparsers.add_parser("notify", help="notification service tools")
    sub = notify.add_subparsers(dest="notify_command", required=True)
    test = sub.add_parser("test", help="send a test message through each configured channel")
    test.add_argument("--to", required=True, help="e-mail address for the test e-mail")
    test.add_argument("--skip-chat", action="store_true", help="only the e-mail")
    test.set_defaults(func=cmd_test)


def run_test(to: str, settings: NotifySettings, db: Database | None, say=print) -> int:
    """Send the tests; returns the number of channels that failed."""
    failures = 0
    mailer = Mailer(settings)
    try:
        subject, text, page = email_parts("zh-CN", SUBJECT_ZH, SUBJECT_EN, BODY_ZH, BODY_EN)
        mailer.send(to, subject, text, page)
        say(f"email    ok      {to} via {settings.smtp_host}:{settings.smtp_port}")
    except Exception as exc:  # noqa: BLE001 - report every channel, then the count
        failures += 1
        say(f"email    FAILED  {settings.smtp_host}:{settings.smtp_port}: {type(exc).__name__}: {exc}")
    finally:
        mailer.close()
    if db is None:
        return failures
    with db.read() as conn:
        groups = conn.execute(select(store.chat_groups).where(store.chat_groups.c.enabled.is_(True))
                              .order_by(store.chat_groups.c.name)).mappings().all()
    http = requests.Session()
    for group in groups:
        try:
            post_chat(http, group["platform"], group["url"], group["secret"], SUBJECT_ZH,
                      f"{BODY_ZH}\n\n{SUBJECT_EN}: {BODY_EN}", utcnow())
            say(f"{group['platform']:<8} ok      {group['name']}")
        except Exception as exc:  # noqa: BLE001
            failures += 1
            say(f"{group['platform']:<8} FAILED  {group['name']}: {type(exc).__name__}: {exc}")
    if not groups:
        say("chat     none configured (POST /chat-groups on the notify API)")
    return failures


def cmd_test(args: argparse.Namespace) -> int:
    db = None
    if not args.skip_chat:
        db = Database(database_url("notify"), "notify")
        db.migrate()
    try:
        return 1 if run_test(args.to, NotifySettings.from_env(), db) else 0
    finally:
        if db is not None:
            db.dispose()
