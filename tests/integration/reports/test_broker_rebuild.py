"""Through the real broker: the generated events published to Kafka, then `lsq reports rebuild`'s
replay into an empty database gives the same figures as the handlers fed directly."""
from __future__ import annotations

import pytest

from services.reports.cli import is_empty, replay
from shared import bus
from shared.events import get as get_event_type
from tests.helpers import auth, make_app
from tests.integration.reports.conftest import feed

pytestmark = pytest.mark.integration
ADMIN = auth("network_admin")


def _branch_reports(client, branches) -> dict:
    """Every report, limited to this test's branches (the session's broker holds other tests' events)."""
    out = {}
    for period in ("2026-Q2", "2026-Q3", "2026"):
        comparison = client.get(f"/reports/comparison?period={period}", headers=ADMIN).json
        out[f"comparison {period}"] = [r for r in comparison["branches"] if r["branch_id"] in branches]
        for branch in branches:
            for report in ("overview", "sla", "surveys", "review"):
                answer = client.get(f"/reports/{report}?period={period}&branch_id={branch}", headers=ADMIN)
                # An error answer says what it was (a test that only waits would hide it)
                assert answer.status_code == 200, (report, period, answer.status_code, answer.get_data(as_text=True)[:500])
                body = answer.json
                if report == "review":
                    body["summary"].pop("generated_on")  # the day the review is read, not a figure
                out[f"{report} {period} {branch}"] = body
            out[f"trends {branch}"] = client.get(f"/reports/trends?from=2026-01&to=2026-12&branch_id={branch}",
                                                 headers=ADMIN).json
    return out


def test_rebuild_from_the_broker_gives_identical_figures(database_url, kafka_bootstrap, network, tmp_path):
    topics = sorted({get_event_type(e.type).topic for e in network.events})
    bus.ensure_topics(kafka_bootstrap, topics)
    producer = bus.make_producer(kafka_bootstrap)
    for event in network.events:
        producer.send(event.topic, key=event.key.encode(), value=get_event_type(event.type).encode(event.plain)[1]
                      .encode(), headers=event.headers())
    producer.flush(timeout=30)
    producer.close()

    live = make_app("reports", f"sqlite:///{tmp_path}/live.db")
    feed(live, network.events)
    rebuilt = make_app("reports", database_url, kafka_bootstrap)
    db = rebuilt.extensions["lsq"].db
    assert is_empty(db)
    assert replay(db, kafka_bootstrap) >= len(network.events)
    assert not is_empty(db)
    try:
        expected = _branch_reports(live.test_client(), list(network.branches))
        actual = _branch_reports(rebuilt.test_client(), list(network.branches))
        for key in expected:
            assert actual[key] == expected[key], key
        # A second replay adds nothing: every event is in the inbox already.
        replay(db, kafka_bootstrap)
        assert _branch_reports(rebuilt.test_client(), list(network.branches)) == actual
    finally:
        live.extensions["lsq"].db.dispose()
        db.dispose()


def test_the_workers_consumer_follows_the_broker(sqlite_url, kafka_bootstrap, network, tmp_path):
    """The worker's own consumer (``ReportsRunner``, a group over every topic of HANDLERS, paced) reaches
    the same figures."""
    import threading
    import uuid

    from services.reports.handlers import HANDLERS
    from services.reports.runner import ReportsRunner
    from services.reports.worker import ReportsWorker, build_worker
    from tests.helpers import eventually

    topics = sorted({get_event_type(e.type).topic for e in network.events})
    bus.ensure_topics(kafka_bootstrap, topics)
    producer = bus.make_producer(kafka_bootstrap)
    for event in network.events:
        producer.send(event.topic, key=event.key.encode(), value=get_event_type(event.type).encode(event.plain)[1]
                      .encode(), headers=event.headers())
    producer.flush(timeout=30)
    producer.close()
    live = make_app("reports", f"sqlite:///{tmp_path}/live.db")
    feed(live, network.events)
    followed = make_app("reports", sqlite_url, kafka_bootstrap)
    assert isinstance(build_worker(), ReportsWorker)
    runner = ReportsRunner(followed.extensions["lsq"].db, kafka_bootstrap, f"lsq.reports.test-{uuid.uuid4().hex[:6]}",
                           HANDLERS)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        branches = list(network.branches)
        expected = _branch_reports(live.test_client(), branches)
        eventually(lambda: _branch_reports(followed.test_client(), branches) == expected,
                   "the consumer's figures equal the handlers'", timeout=90)
    finally:
        runner.stop.set()
        thread.join(timeout=20)
        live.extensions["lsq"].db.dispose()
        followed.extensions["lsq"].db.dispose()
