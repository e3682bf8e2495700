"""Fixtures for every test: a real Kafka broker and real databases (SQLite and PostgreSQL).

- ``kafka_bootstrap``: ``KAFKA_BOOTSTRAP`` if set → testcontainers when a Docker engine answers →
  the local broker from the Maven Central jars (``shared.devstack.kafka``).
- ``database_url``: each database test runs twice, on a fresh SQLite file and on a fresh
  PostgreSQL database (server: ``DATABASE_URL`` if set → testcontainers → a throwaway cluster from
  the local PostgreSQL binaries).

The clock: ``--clock-start 2026-12-31T23:30:00+08:00`` (or ``LSQ_TEST_CLOCK_START``) starts the
whole run at that instant, ticking, with time-machine, so that a test assuming "today" fails here
rather than in a library next December (``make test-dates`` runs the in-process tests at the
instants below). Tests that need one exact instant use time-machine's ``time_machine`` fixture.
The e2e tests run the services as separate processes, which keep the real clock: they are left
out of a run with the clock set.
"""
from __future__ import annotations

import os
import uuid
from datetime import datetime

import pytest


def pytest_addoption(parser):
    parser.addoption("--clock-start", default=os.environ.get("LSQ_TEST_CLOCK_START") or None,
                     help="start the test clock at this ISO 8601 instant (ticking), e.g. 2026-12-31T23:30:00+08:00")


def pytest_configure(config):
    start = config.getoption("--clock-start")
    if start:
        import time_machine
        moment = datetime.fromisoformat(start)
        if moment.tzinfo is None:
            raise pytest.UsageError("--clock-start needs an offset, e.g. 2026-12-31T23:30:00+08:00")
        config._lsq_clock = time_machine.travel(moment, tick=True)
        config._lsq_clock.start()


def pytest_unconfigure(config):
    clock = getattr(config, "_lsq_clock", None)
    if clock is not None:
        clock.stop()


def pytest_report_header(config):
    start = config.getoption("--clock-start")
    return f"clock starts at {start} (time-machine, ticking)" if start else None


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--clock-start"):
        return
    skip = pytest.mark.skip(reason="e2e: the services run as separate processes on the real clock")
    for item in items:
        if "tests/e2e/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def _docker_engine_answers() -> bool:
    try:
        import docker
        docker.from_env(timeout=2).ping()
        return True
    except Exception:  # noqa: BLE001 - no engine here
        return False


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory):
    """Bootstrap servers of a real Kafka broker for this test session."""
    if os.environ.get("KAFKA_BOOTSTRAP"):
        yield os.environ["KAFKA_BOOTSTRAP"]
        return
    if _docker_engine_answers():
        from testcontainers.kafka import KafkaContainer
        with KafkaContainer().with_kraft() as container:
            yield container.get_bootstrap_server()
        return
    from shared.devstack.kafka import LocalKafka
    broker = LocalKafka(tmp_path_factory.mktemp("kafka")).start()
    yield broker.bootstrap
    broker.stop()


class _PostgresServer:
    """Creates a fresh database per test on one server."""

    def __init__(self, admin_url: str):
        self.admin_url = admin_url

    def new_database(self) -> str:
        from shared.devstack.postgres import create_database_at
        return create_database_at(self.admin_url, f"lsq_test_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """A PostgreSQL server for this test session."""
    if os.environ.get("DATABASE_URL", "").startswith("postgresql"):
        yield _PostgresServer(os.environ["DATABASE_URL"])
        return
    if _docker_engine_answers():
        from testcontainers.postgres import PostgresContainer
        with PostgresContainer("postgres:16", driver="psycopg") as container:
            yield _PostgresServer(container.get_connection_url())
        return
    from shared.devstack.postgres import LocalPostgres
    server = LocalPostgres().start()  # under /tmp: the postgres user cannot enter pytest's 0700 folders
    yield _PostgresServer(server.admin_url)
    server.remove()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A fresh, empty database: once on SQLite, once on PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    return request.getfixturevalue("postgres_server").new_database()


@pytest.fixture
def sqlite_url(tmp_path):
    """A fresh SQLite database, for tests where the engine does not matter."""
    return f"sqlite:///{tmp_path / 'test.db'}"
