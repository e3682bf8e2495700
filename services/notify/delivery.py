"""Sending what the outbox holds: e-mail over SMTP, duty-group robots over HTTPS.

The worker's periodic job calls ``send_due``. A message is claimed by a compare-and-set on its
attempt count (so two workers never send one attempt twice), sent, then marked sent or given a
later attempt (exponential backoff) or, after ``max_attempts``, marked failed. A crash between
the send and the mark means the message is sent again after its lease: at least once.

Contact data is fetched at send time and never written anywhere: a reader's from the feedback
API (which records the access), a staff member's from their preferences or the directory API.
"""
from __future__ import annotations

import html
import logging
import smtplib
import ssl
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import requests
from sqlalchemy import select, update

from services.notify import model, service, store
from services.notify.settings import NotifySettings
from shared.auth import sign_token
from shared.config import Settings
from shared.db import Database
from shared.timeutil import utcnow

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
BATCH = 200


class Undeliverable(Exception):
    """No address to send to (no contact, erased, no e-mail): skipped, not retried."""


class Mailer:
    """One SMTP connection for a batch of messages, opened on first use."""

    def __init__(self, settings: NotifySettings):
        self.settings = settings
        self.smtp: smtplib.SMTP | None = None

    def send(self, to: str, subject: str, text: str, html_body: str) -> None:
        """Send one multipart (plain text + HTML) message; raises on any SMTP failure."""
        s = self.settings
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = s.smtp_from
        message["To"] = to
        message["Message-ID"] = make_msgid(domain="lsq.local")
        message.set_content(text)
        message.add_alternative(html_body, subtype="html")
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            self.smtp.send_message(message)
        except Exception:
            self.close()
            raise

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
        try:
            smtp.ehlo()
            if s.smtp_starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.smtp_user:
                smtp.login(s.smtp_user, s.smtp_password or "")
        except Exception:
            smtp.close()
            raise
        return smtp

    def close(self) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except Exception:  # noqa: BLE001 - the connection is gone anyway
                self.smtp.close()
            self.smtp = None


def email_parts(language: str, subject_zh: str, subject_en: str, body_zh: str, body_en: str) -> tuple[str, str, str]:
    """(subject, plain text, HTML): the recipient's language first, then the other."""
    first_subject, second_subject = model.bilingual(language, subject_zh, subject_en)
    first, second = model.bilingual(language, body_zh, body_en)
    text = f"{first}\n\n----\n{second_subject}\n{second}\n"
    page = (f'<html><body><p>{html.escape(first)}</p><hr><p lang="{"en" if language == "zh-CN" else "zh-CN"}">'
            f"<strong>{html.escape(second_subject)}</strong><br>{html.escape(second)}</p></body></html>")
    return first_subject, text, page


class Sender:
    """Sends the messages that are due; one per worker process."""

    def __init__(self, db: Database, settings: NotifySettings, service_settings: Settings,
                 http: requests.Session | None = None):
        self.db = db
        self.settings = settings
        self.service_settings = service_settings
        self.http = http or requests.Session()
        self.mailer = Mailer(settings)

    def _token(self) -> str:
        return sign_token(self.service_settings, "service", subject="notify", ttl_seconds=300)

    def send_due(self, now: datetime | None = None) -> int:
        """Send every message due now; returns how many were delivered."""
        now = now or utcnow()
        m = store.messages
        with self.db.read() as conn:
            due = conn.execute(select(m).where(m.c.status == "pending", m.c.next_attempt_at <= now)
                               .order_by(m.c.next_attempt_at, m.c.created_at).limit(BATCH)).mappings().all()
        delivered = 0
        digests: dict[str, list[dict]] = {}
        try:
            for row in due:
                if row["digest"]:
                    digests.setdefault(row["recipient"], []).append(dict(row))
                    continue
                delivered += self._deliver([dict(row)], now)
            for rows in digests.values():
                delivered += self._deliver(rows, now)
        finally:
            self.mailer.close()
        return delivered

    def _claim(self, rows: list[dict], now: datetime) -> list[dict]:
        m = store.messages
        claimed = []
        with self.db.transaction() as conn:
            for row in rows:
                ok = conn.execute(update(m).where(m.c.id == row["id"], m.c.status == "pending",
                                                  m.c.attempts == row["attempts"])
                                  .values(attempts=row["attempts"] + 1, next_attempt_at=now + LEASE)).rowcount
                if ok:
                    claimed.append({**row, "attempts": row["attempts"] + 1})
        return claimed

    def _deliver(self, rows: list[dict], now: datetime) -> int:
        first = rows[0]
        if first["channel"] != "inbox":
            wait = self._rate_limited(first["recipient"], now)
            if wait is not None:
                with self.db.transaction() as conn:
                    for row in rows:
                        conn.execute(update(store.messages).where(store.messages.c.id == row["id"])
                                     .values(next_attempt_at=wait))
                return 0
        rows = self._claim(rows, now)
        if not rows:
            return 0
        try:
            if rows[0]["channel"] == "email":
                self._send_email(rows)
            elif rows[0]["channel"] == "chat":
                for row in rows:
                    self._send_chat(row, now)
        except Undeliverable as exc:
            self._finish(rows, "skipped", now, str(exc))
            return 0
        except Exception as exc:  # noqa: BLE001 - any failure of the server or robot: retry later
            self._failed(rows, now, exc)
            return 0
        self._finish(rows, "sent", now)
        return len(rows)

    def _rate_limited(self, recipient: str, now: datetime) -> datetime | None:
        m = store.messages
        with self.db.read() as conn:
            recent = [r[0] for r in conn.execute(select(m.c.sent_at).where(
                m.c.recipient == recipient, m.c.status == "sent", m.c.channel != "inbox",
                m.c.sent_at > now - timedelta(hours=1)))]
        return model.rate_limited_until(recent, now, self.settings.rate_per_hour)

    # -- channels -----------------------------------------------------------------------------
    def _send_email(self, rows: list[dict]) -> None:
        first = rows[0]
        if first["recipient_kind"] == "reader":
            address, language = self._reader_contact(first)
        else:
            address, language = self._staff_address(first["staff_id"]), first["language"]
        if len(rows) == 1:
            subject, text, page = email_parts(language, first["subject_zh"], first["subject_en"], first["body_zh"],
                                              first["body_en"])
        else:  # the daily digest: one e-mail listing every message of the day
            subject = model.bilingual(language, f"每日通知摘要（{len(rows)} 条）", f"Daily digest ({len(rows)} messages)")[0]
            zh = "\n\n".join(f"{r['subject_zh']}\n{r['body_zh']}" for r in rows)
            en = "\n\n".join(f"{r['subject_en']}\n{r['body_en']}" for r in rows)
            _, text, page = email_parts(language, subject, subject, zh, en)
        self.mailer.send(address, subject, text, page)

    def _reader_contact(self, row: dict) -> tuple[str, str]:
        """The reader's e-mail for this complaint, asked of feedback (which records the access)."""
        url = f"{self.settings.feedback_url}/complaints/{row['complaint_id']}/contact"
        response = self.http.get(url, params={"purpose": f"notify: {row['event_type']}"},
                                 headers={"Authorization": f"Bearer {self._token()}"}, timeout=10)
        if response.status_code == 404:
            raise Undeliverable("the reader left no contact details, or they were erased")
        response.raise_for_status()
        contact = response.json()
        if not contact.get("email"):
            raise Undeliverable("the reader left no e-mail address")
        return contact["email"], contact.get("language") or model.DEFAULT_LANGUAGE

    def _staff_address(self, staff_id: str) -> str:
        """The staff member's own choice of address, else the one in the directory."""
        with self.db.read() as conn:
            prefs = service.preferences_of(conn, staff_id)
        if prefs.get("email"):
            return prefs["email"]
        response = self.http.get(f"{self.settings.directory_url}/staff/{staff_id}",
                                 headers={"Authorization": f"Bearer {self._token()}"}, timeout=10)
        if response.status_code == 404:
            raise Undeliverable("staff member not in the directory")
        response.raise_for_status()
        email = response.json().get("email")
        if not email:
            raise Undeliverable("no e-mail address for this staff member (directory or preferences)")
        return email

    def _send_chat(self, row: dict, now: datetime) -> None:
        group_id = row["recipient"].split(":", 1)[1]
        with self.db.read() as conn:
            group = conn.execute(select(store.chat_groups).where(store.chat_groups.c.id == group_id)).mappings().first()
        if group is None or not group["enabled"]:
            raise Undeliverable("the duty group was removed or disabled")
        title, text = row["subject_zh"], f"{row['body_zh']}\n\n{row['subject_en']}: {row['body_en']}"
        post_chat(self.http, group["platform"], group["url"], group["secret"], title, text, now)

    # -- outcomes -----------------------------------------------------------------------------
    def _finish(self, rows: list[dict], status: str, now: datetime, note: str | None = None) -> None:
        m = store.messages
        with self.db.transaction() as conn:
            for row in rows:
                conn.execute(update(m).where(m.c.id == row["id"]).values(
                    status=status, sent_at=now if status == "sent" else None, next_attempt_at=None,
                    last_error=note, attempts=row["attempts"]))
                if status == "sent":
                    service.announce(conn, row, "sent", now)

    def _failed(self, rows: list[dict], now: datetime, exc: Exception) -> None:
        m = store.messages
        error = f"{type(exc).__name__}: {exc}"[:1000]
        log.warning("notification attempt failed: %s", error)
        with self.db.transaction() as conn:
            for row in rows:
                if row["attempts"] >= self.settings.max_attempts:
                    conn.execute(update(m).where(m.c.id == row["id"]).values(
                        status="failed", next_attempt_at=None, last_error=error))
                    service.announce(conn, row, "failed", now, error_kind=error_kind(exc))
                else:
                    wait = model.backoff(row["attempts"], self.settings.backoff_seconds, self.settings.backoff_cap_seconds)
                    conn.execute(update(m).where(m.c.id == row["id"]).values(
                        next_attempt_at=now + wait, last_error=error))


def error_kind(exc: Exception) -> str:
    """What went wrong, without the message text (which may name an address)."""
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        return f"http_{exc.response.status_code}"
    return type(exc).__name__


class ChatError(Exception):
    """A robot refused a message (HTTP error or an error code in its reply)."""


def post_chat(http: requests.Session, platform: str, url: str, secret: str | None, title: str, text: str,
              now: datetime) -> None:
    """POST one message to a WeCom, DingTalk or Feishu robot; raises on refusal."""
    target, body = model.chat_request(platform, url, secret, title, text, now)
    response = http.post(target, json=body, timeout=10)
    response.raise_for_status()
    try:
        reply = response.json()
    except ValueError:
        reply = None
    refused = model.chat_reply_error(platform, reply)
    if refused:
        raise ChatError(refused)
