"""Signing the sessions the directory hands out (``shared.auth.sign_token``), both ways the services verify."""
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.auth import Principal, SigningUnavailable, check_signing, decode_token, issue_token, sign_token
from shared.config import Settings

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"
ISSUER = "https://lsq.example/directory"


def _pem_pair():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@pytest.fixture(scope="module")
def pair():
    return _pem_pair()


@pytest.fixture(autouse=True)
def _no_keys_in_the_environment(monkeypatch):
    for name in ("LSQ_JWT_PRIVATE_KEY", "LSQ_JWT_PRIVATE_KEY_FILE", "LSQ_JWT_ISSUER",
                 "LSQ_DIRECTORY_JWT_PRIVATE_KEY", "LSQ_DIRECTORY_JWT_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def _hs256():
    return Settings.from_env("directory", jwt_secret=SECRET, jwt_public_key=None, database_url="sqlite://")


def _rs256(public, issuer=ISSUER):
    return Settings.from_env("directory", jwt_secret=None, jwt_public_key=public, jwt_issuer=issuer,
                             database_url="sqlite://")


def test_hs256_sessions_carry_the_claims_the_services_read():
    token = sign_token(_hs256(), "branch_manager", staff_id="s1", branch_id="b1", ttl_seconds=1800,
                       issued_at=2_000_000_000)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_iat": False, "verify_exp": False})
    assert claims == {"sub": "s1", "role": "branch_manager", "staff_id": "s1", "branch_id": "b1",
                      "iat": 2_000_000_000, "exp": 2_000_001_800}
    fresh = sign_token(_hs256(), "staff", staff_id="s2", branch_id="b1", ttl_seconds=60)
    assert decode_token(fresh, _hs256()) == Principal("staff", "s2", "s2", "b1")
    # the same token as the local tool's for the same claims
    assert fresh == issue_token(SECRET, "staff", staff_id="s2", branch_id="b1", ttl_seconds=60,
                                issued_at=jwt.decode(fresh, SECRET, algorithms=["HS256"])["iat"])


def test_rs256_sessions_are_signed_with_the_configured_private_key(monkeypatch, pair):
    private, public = pair
    monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", private)
    settings = _rs256(public)
    check_signing(settings)
    token = sign_token(settings, "staff", staff_id="s1", branch_id="b1", ttl_seconds=60)
    assert jwt.get_unverified_header(token)["alg"] == "RS256"
    assert jwt.decode(token, public, algorithms=["RS256"], issuer=ISSUER)["staff_id"] == "s1"
    assert decode_token(token, settings) == Principal("staff", "s1", "s1", "b1")


def test_the_issuer_may_come_from_lsq_jwt_issuer(monkeypatch, pair):
    private, public = pair
    monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", private)
    monkeypatch.setenv("LSQ_JWT_ISSUER", "https://idp.example")
    token = sign_token(_rs256(public, issuer=None), "staff", staff_id="s1", ttl_seconds=60)
    assert jwt.decode(token, public, algorithms=["RS256"])["iss"] == "https://idp.example"


def test_the_private_key_may_be_a_file_and_the_service_setting_wins(monkeypatch, pair, tmp_path):
    private, public = pair
    key_file = tmp_path / "signing.pem"
    key_file.write_text(private)
    monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY_FILE", str(key_file))
    token = sign_token(_rs256(public), "staff", staff_id="s1", ttl_seconds=60)
    assert decode_token(token, _rs256(public)).staff_id == "s1"
    other_private, _ = _pem_pair()
    monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", other_private)
    monkeypatch.setenv("LSQ_DIRECTORY_JWT_PRIVATE_KEY", private)  # LSQ_<SERVICE>_... over LSQ_...
    sign_token(_rs256(public), "staff", staff_id="s1", ttl_seconds=60)


@pytest.mark.parametrize("configure", ["nothing", "unreadable file", "not a key", "another key pair"])
def test_rs256_without_a_usable_private_key_is_503(monkeypatch, pair, tmp_path, configure):
    _, public = pair
    if configure == "unreadable file":
        monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY_FILE", str(tmp_path / "missing.pem"))
    elif configure == "not a key":
        monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----\nnonsense\n-----END PRIVATE KEY-----")
    elif configure == "another key pair":
        monkeypatch.setenv("LSQ_JWT_PRIVATE_KEY", _pem_pair()[0])
    with pytest.raises(SigningUnavailable) as unavailable:
        check_signing(_rs256(public))
    assert unavailable.value.status == 503 and unavailable.value.code == "token_signing_unavailable"
    assert unavailable.value.message_zh and "LSQ" not in unavailable.value.message_zh
    with pytest.raises(SigningUnavailable):
        sign_token(_rs256(public), "staff", staff_id="s1", ttl_seconds=60)


def test_hs256_needs_no_private_key():
    check_signing(_hs256())
