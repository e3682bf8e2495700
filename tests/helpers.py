"""Helpers for tests of any service: settings, tokens, reading topics."""
from __future__ import annotations

import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from shared.auth import issue_token
from shared.config import Settings

TEST_SECRET = "lsq-test-secret-not-for-production"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A wall-clock time in Asia/Shanghai, the network's calendar (aware)."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def settings_for(service: str, database_url: str, kafka_bootstrap: str = "127.0.0.1:1", **extra) -> Settings:
    """Settings for a service under test: its database, a broker (unreachable by default), no doorbell."""
    return Settings.from_env(service, database_url=database_url, kafka_bootstrap=kafka_bootstrap,
                             jwt_secret=TEST_SECRET, jwt_public_key=None, relay_doorbell_port=0, **extra)


def make_app(service: str, database_url: str, kafka_bootstrap: str = "127.0.0.1:1", **config):
    """The service's Flask app on ``database_url``, in testing mode, rate limits off."""
    import importlib
    module = importlib.import_module(f"services.{service}")
    return module.create_app({"SETTINGS": {"database_url": database_url, "kafka_bootstrap": kafka_bootstrap,
                                           "jwt_secret": TEST_SECRET, "jwt_public_key": None,
                                           "relay_doorbell_port": 0},
                              "TESTING": True, "RATE_LIMITS_ENABLED": False, **config})


#: Test tokens are valid from 2000 to 2100, so that a test may set the clock anywhere
#: (time-machine) with tokens made before.
_TEST_TOKEN_FROM, _TEST_TOKEN_TTL = 946684800, 100 * 365 * 86400


def token(role: str, staff_id: str | None = None, branch_id: str | None = None) -> str:
    """A bearer token for ``role`` signed with the test secret."""
    return issue_token(TEST_SECRET, role, staff_id=staff_id, branch_id=branch_id,
                       issued_at=_TEST_TOKEN_FROM, ttl_seconds=_TEST_TOKEN_TTL)


def auth(role: str, staff_id: str | None = None, branch_id: str | None = None) -> dict:
    """Headers with a bearer token for ``role``."""
    return {"Authorization": f"Bearer {token(role, staff_id, branch_id)}"}


def read_topic(bootstrap: str, topic: str, predicate, count: int = 1, timeout: float = 30) -> list:
    """Read ``topic`` from the beginning with a plain kafka-python consumer until ``count`` records
    satisfy ``predicate(record)``; returns them.

    No consumer group: a test only reads, and a group needs its coordinator, which may sit on a
    broker a failure test has just killed (the client then fails instead of waiting for another)."""
    from kafka import KafkaConsumer
    consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap.split(","), group_id=None,
                             auto_offset_reset="earliest", enable_auto_commit=False)
    found = []
    deadline = time.monotonic() + timeout
    try:
        while len(found) < count and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=500).values():
                found += [r for r in records if predicate(r)]
    finally:
        consumer.close()
    return found


def header(record, name: str) -> str | None:
    """A record header as text."""
    for key, value in record.headers or []:
        if key == name:
            return value.decode()
    return None


def eventually(probe, what: str, timeout: float = 30.0, interval: float = 0.2):
    """Call ``probe`` until it returns something truthy (returned) or ``timeout`` passes (fails,
    showing the last value or error)."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            result = probe()
            if result:
                return result
            last = result
        except (AssertionError, requests.RequestException, KeyError, ValueError) as exc:
            last = exc
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:.0f} s (last: {last!r})")
        time.sleep(interval)


def call(method: str, url: str, expect: int | tuple = (200, 201), **kwargs) -> dict:
    """One HTTP call; fails the test with the body when the status is not the expected one."""
    r = requests.request(method, url, timeout=10, **kwargs)
    wanted = expect if isinstance(expect, tuple) else (expect,)
    assert r.status_code in wanted, f"{method} {url} → {r.status_code}: {r.text[:500]}"
    return r.json()
