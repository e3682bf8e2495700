"""Fixtures for every test: a real Kafka broker and real databases (SQLite and PostgreSQL).

- ``kafka_bootstrap``: ``KAFKA_BOOTSTRAP`` if set → testcontainers when a Docker engine answers →
  the local broker from the Maven Central jars (``shared.devstack.kafka``).
- ``database_url``: each database test runs twice, on a fresh SQLite file and on a fresh
  PostgreSQL database (server: ``DATABASE_URL`` if set → testcontainers → a throwaway cluster from
  the local PostgreSQL binaries).
"""
from __future__ import annotations

import os
import uuid

import pytest


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
