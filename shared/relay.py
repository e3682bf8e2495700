"""The outbox relay: publishes committed outbox rows to Kafka, in order, and marks them sent.

One relay per service is active at a time (a PostgreSQL advisory lock, or a file lock beside the
SQLite file), so per-key order holds with several worker processes. It wakes at once when the web
process rings the doorbell (a UDP datagram after commit) and polls as a safety net otherwise.
While Kafka is unreachable it backs off and retries; rows stay in the outbox, so nothing is lost.
"""
from __future__ import annotations

import fcntl
import logging
import select
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import text

from shared import metrics, outbox
from shared.bus import make_producer
from shared.db import DOORBELL_GAP, Database
from shared.timeutil import utcnow

log = logging.getLogger(__name__)


class RelayLeadership:
    """Holds the right to relay this service's outbox."""

    def __init__(self, db: Database):
        self.db = db
        self._conn = None
        self._file = None

    def try_acquire(self) -> bool:
        if self._conn is not None or self._file is not None:
            return True
        if self.db.is_sqlite:
            path = self.db.engine.url.database + ".relay.lock"
            handle = open(path, "a+")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                handle.close()
                return False
            self._file = handle
            return True
        conn = self.db.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(hashtext(:k))"),
                           {"k": f"relay:{self.db.service}"}).scalar()
        conn.commit()
        if got:
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        if self._conn is not None:
            # The connection goes back to the pool, where a session lock would outlive us.
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(hashtext(:k))"),
                                   {"k": f"relay:{self.db.service}"})
                self._conn.commit()
            except Exception:  # noqa: BLE001 - a dead connection released the lock already
                self._conn.invalidate()
            self._conn.close()
            self._conn = None
        if self._file is not None:
            self._file.close()
            self._file = None


class OutboxRelay:
    """Moves outbox rows to Kafka; ``run`` loops until ``stop`` is set."""

    def __init__(self, db: Database, bootstrap: str, *, doorbell_port: int | None = None,
                 poll_seconds: float = 0.5, batch_size: int = 500, producer_factory=None):
        self.db = db
        self.bootstrap = bootstrap
        self.doorbell_port = doorbell_port
        self.poll_seconds = poll_seconds
        self.batch_size = batch_size
        self.producer_factory = producer_factory or (lambda: make_producer(bootstrap))
        self.stop = threading.Event()
        self._producer = None
        self._socket = None
        self._last_purge = 0.0
        self._look_again_at = None  # DOORBELL_GAP after a ring: commits whose ring was skipped

    # -- one step -------------------------------------------------------------------------
    def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were published."""
        with self.db.read() as conn:
            batch = outbox.pending(conn, self.batch_size)
        if not batch:
            return 0
        producer = self._get_producer()
        futures = [producer.send(event.topic, key=event.key.encode(), value=event.value(),
                                 headers=event.headers()) for _, event in batch]
        producer.flush(timeout=30)
        for future in futures:
            future.get(timeout=0)  # raises the send's error, if any: nothing gets marked
        with self.db.transaction() as conn:
            outbox.mark_published(conn, [position for position, _ in batch])
        for _, event in batch:
            metrics.EVENTS_PUBLISHED.labels(self.db.service, event.type).inc()
        return len(batch)

    def _get_producer(self):
        if self._producer is None:
            self._producer = self.producer_factory()
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is not None:
            try:
                self._producer.close(timeout=1)
            except Exception:  # noqa: BLE001 - closing a broken producer may fail in many ways
                pass
            self._producer = None

    # -- the loop -------------------------------------------------------------------------
    def run(self) -> None:
        """Relay until stopped. Never raises: errors are logged and retried with backoff."""
        leadership = RelayLeadership(self.db)
        self._open_doorbell()
        backoff = 0.2
        try:
            while not self.stop.is_set():
                if not leadership.try_acquire():
                    self.stop.wait(2.0)  # another worker relays; stand by
                    continue
                try:
                    published = self.publish_pending()
                    backoff = 0.2
                    self._housekeeping()
                except Exception as exc:  # noqa: BLE001 - Kafka or database down: retry later
                    log.warning("relay could not publish, retrying in %.1fs: %s", backoff, exc)
                    self._drop_producer()
                    self.stop.wait(backoff)
                    backoff = min(backoff * 2, 10.0)
                    continue
                if published < self.batch_size:
                    self._wait_for_doorbell()
        finally:
            leadership.release()
            self._drop_producer()
            if self._socket:
                self._socket.close()

    def _open_doorbell(self) -> None:
        if not self.doorbell_port:
            return
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind(("127.0.0.1", self.doorbell_port))
            sock.setblocking(False)
            self._socket = sock
        except OSError as exc:
            log.info("doorbell port %s unavailable (%s); relying on polling", self.doorbell_port, exc)

    def _wait_for_doorbell(self) -> None:
        """Wait for a ring, the look due ``DOORBELL_GAP`` after the last ring, or the poll interval."""
        if self._socket is None:
            self.stop.wait(self.poll_seconds)
            return
        timeout = self.poll_seconds
        if self._look_again_at is not None:
            timeout = max(0.0, min(timeout, self._look_again_at - time.monotonic()))
        ready, _, _ = select.select([self._socket], [], [], timeout)
        if not ready:
            self._look_again_at = None
            return
        try:
            while True:
                self._socket.recv(64)  # drain: one wake-up for many rings
        except BlockingIOError:
            pass
        # A process skips rings for DOORBELL_GAP after this one (Database.ring_doorbell): look again then.
        self._look_again_at = time.monotonic() + DOORBELL_GAP

    def _housekeeping(self) -> None:
        now = time.monotonic()
        if now - self._last_purge < 60:
            return
        self._last_purge = now
        with self.db.transaction() as conn:
            outbox.purge_published(conn, utcnow() - timedelta(days=7))
            metrics.OUTBOX_BACKLOG.labels(self.db.service).set(outbox.backlog(conn))
