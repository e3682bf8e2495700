"""Envelope, registry, auth and rate limiting without I/O."""
from collections import namedtuple
from datetime import datetime, timezone

import pytest

from shared import events
from shared.auth import Principal, decode_token, issue_token
from shared.config import Settings
from shared.errors import Forbidden, Unauthorized
from shared.events.envelope import Event, MalformedEnvelope
from shared.ratelimit import RateLimiter

SECRET = "unit-test-secret-long-enough-for-hs256"
Record = namedtuple("Record", "topic partition offset key value headers")


def _event() -> Event:
    return Event(id="e1", type="lsq.staff.left.v1", source="/lsq/directory", subject="s1",
                 time=datetime(2026, 11, 1, 8, 30, tzinfo=timezone.utc),
                 data={"staff_id": "s1", "branch_id": "b1", "left_on": "2026-11-01", "reason": "retired"},
                 key="s1", topic="lsq.staff")


def test_envelope_round_trip():
    event = _event()
    record = Record("lsq.staff", 0, 7, b"s1", event.value(), event.headers())
    back = Event.from_record(record)
    assert (back.id, back.type, back.source, back.subject, back.time, back.data) == (
        event.id, event.type, event.source, event.subject, event.time, event.data)
    assert dict(event.headers())["ce_time"] == b"2026-11-01T08:30:00.000Z"


@pytest.mark.parametrize("headers,value,message", [
    ([("ce_id", b"1")], b"{}", "missing"),
    (_event().headers(), b"[1]", "JSON object"),
    (_event().headers(), b"{oops", "not JSON"),
    ([(k, b"0.3" if k == "ce_specversion" else v) for k, v in _event().headers()], b"{}", "specversion"),
])
def test_malformed_records_are_refused(headers, value, message):
    with pytest.raises(MalformedEnvelope, match=message):
        Event.from_record(Record("t", 0, 0, None, value, headers))


def test_registry_validates_and_loads_tolerantly():
    kind = events.get("lsq.staff.left.v1")
    data = {"staff_id": "s1", "branch_id": "b1", "left_on": "2026-11-01", "reason": "retired"}
    assert kind.validate(data) == data
    with pytest.raises(events.InvalidEventData) as error:
        kind.validate({**data, "reason": "bored"})
    assert "reason" in error.value.errors
    loaded = kind.load({**data, "added_in_a_later_version": 1})
    assert "added_in_a_later_version" not in loaded
    assert kind.key_of(data) == "s1"
    with pytest.raises(events.UnknownEventType):
        events.get("lsq.staff.vanished.v1")


def test_an_entity_cannot_have_two_owners():
    from shared.events.registry import EventData, define
    with pytest.raises(ValueError, match="owned by directory"):
        define("lsq.staff.cloned.v1", EventData, service="feedback", subject="staff_id", description="x")


def _settings():
    return Settings.from_env("directory", jwt_secret=SECRET, jwt_public_key=None, database_url="sqlite://")


def test_tokens_round_trip_and_bad_tokens_are_401():
    token = issue_token(SECRET, "branch_manager", staff_id="s1", branch_id="b1")
    principal = decode_token(token, _settings())
    assert principal == Principal("branch_manager", "s1", "s1", "b1")
    with pytest.raises(Unauthorized):
        decode_token(issue_token("another-secret-of-32-bytes-or-more!", "staff"), _settings())
    with pytest.raises(Unauthorized):
        decode_token("not-a-jwt", _settings())
    with pytest.raises(Unauthorized):
        decode_token(issue_token(SECRET, "staff", ttl_seconds=-10), _settings())


def test_a_token_without_the_claim_its_role_is_limited_by_is_refused():
    for role, claims in (("supervisor", {"staff_id": "s1"}), ("branch_manager", {}), ("staff", {"branch_id": "b1"})):
        with pytest.raises(Unauthorized):
            decode_token(issue_token(SECRET, role, **claims), _settings())
    assert decode_token(issue_token(SECRET, "staff", staff_id="s1"), _settings()).staff_id == "s1"
    assert decode_token(issue_token(SECRET, "auditor"), _settings()).role == "auditor"


def test_rs256_tokens_from_an_identity_provider():
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    import jwt
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    settings = Settings.from_env("directory", jwt_public_key=public, jwt_secret=None, database_url="sqlite://",
                                 jwt_issuer="https://idp.example")
    token = jwt.encode({"role": "auditor", "sub": "u1", "iss": "https://idp.example", "exp": 9999999999},
                       key, algorithm="RS256")
    assert decode_token(token, settings).role == "auditor"
    with pytest.raises(Unauthorized):  # an HS256 token signed with anything is refused
        decode_token(issue_token(SECRET, "network_admin"), settings)


def test_branch_scoping():
    manager = Principal("branch_manager", branch_id="b1")
    manager.require_branch("b1")
    with pytest.raises(Forbidden):
        manager.require_branch("b2")
    assert manager.branch_filter() == "b1"
    assert Principal("auditor").branch_filter() is None


def test_rate_limiter_refills_over_time():
    now = [0.0]
    limiter = RateLimiter(per_minute=60, burst=3, clock=lambda: now[0])
    assert [limiter.allow("c") for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("other")
    now[0] += 1.0  # one token a second
    assert limiter.allow("c") and not limiter.allow("c")
