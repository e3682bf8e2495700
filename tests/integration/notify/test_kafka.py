"""End to end through the real broker: the notify worker (consumer, sender, relay) turns a
sanction event into one e-mail on the SMTP server and lsq.notification.sent.v1 on its topic; the
same event published again sends nothing twice."""
import threading
import time
import uuid

import pytest

from services.notify.worker import build_worker
from shared.bus import make_producer
from shared.events import get as get_event_type
from shared.events.envelope import Event
from tests.helpers import header, make_app, read_topic, settings_for
from tests.integration.notify.conftest import ADMIN, BRANCH, STAFF, make_event, sanction

pytestmark = pytest.mark.integration


def publish(bootstrap, events):
    producer = make_producer(bootstrap)
    try:
        for e in events:
            plain = get_event_type(e.type).validate(e.data)
            wire = Event(id=e.id, type=e.type, source=e.source, subject=e.subject, time=e.time, data=plain)
            producer.send(e.topic, key=e.key.encode(), value=wire.value(), headers=wire.headers())
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)


def wait_for(predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_sanction_over_kafka_is_mailed_once_and_announced(database_url, kafka_bootstrap, notify_settings, mail):
    app = make_app("notify", database_url, kafka_bootstrap)
    staff_id = f"{STAFF}-{uuid.uuid4().hex[:6]}"
    worker = build_worker(notify_settings, settings=settings_for("notify", database_url, kafka_bootstrap),
                          group=f"test.notify.{uuid.uuid4().hex[:8]}")
    worker.build()
    threads = [threading.Thread(target=worker.relay.run, daemon=True),
               threading.Thread(target=worker.consumer.run, daemon=True),
               *[threading.Thread(target=worker._loop, args=(job,), daemon=True) for job in worker.periodic]]
    for thread in threads:
        thread.start()
    try:
        publish(kafka_bootstrap, [
            make_event("lsq.branch.opened.v1", {"branch_id": BRANCH, "code": "NT1", "name_zh": "中心馆",
                                                "name_en": "Central Library"}),
            make_event("lsq.staff.joined.v1", {"staff_id": staff_id, "employee_number": staff_id[:30], "name": "王芳",
                                               "role": "staff", "branch_id": BRANCH, "hire_date": "2020-01-01"})])
        client = app.test_client()
        assert wait_for(lambda: client.put(f"/preferences/{staff_id}", json={"email": "wang@lib.example"},
                                           headers=ADMIN).status_code == 200)
        event = sanction(staff_id)
        publish(kafka_bootstrap, [event])
        assert wait_for(lambda: len(mail.messages()) == 1)
        assert mail.messages()[0]["To"] == "wang@lib.example"
        sent = read_topic(kafka_bootstrap, "lsq.notification",
                          lambda r: header(r, "ce_type") == "lsq.notification.sent.v1" and event.id.encode() in r.value,
                          count=2)
        assert {header(r, "ce_source") for r in sent} == {"/lsq/notify"}
        assert all(r.key.decode() == staff_id for r in sent) and all(b"wang@" not in r.value for r in sent)
        publish(kafka_bootstrap, [event])  # redelivered
        time.sleep(3)
        assert len(mail.messages()) == 1
    finally:
        worker.shutdown()
        for thread in threads:
            thread.join(timeout=20)
        worker.db.dispose()
        app.extensions["lsq"].db.dispose()
