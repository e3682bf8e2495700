"""Settings from the environment: the names the README gives are the ones read."""
from shared.config import Settings


def test_documented_names_are_read_and_a_service_may_override_them(monkeypatch, tmp_path):
    monkeypatch.setenv("LSQ_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("LSQ_JWT_PUBLIC_KEY", "-----BEGIN PUBLIC KEY-----network")
    monkeypatch.setenv("LSQ_JWT_ISSUER", "https://idp.example.cn")
    monkeypatch.setenv("LSQ_OUTBOX_POLL_SECONDS", "2.5")
    monkeypatch.setenv("LSQ_TRAINING_OUTBOX_POLL_SECONDS", "0.25")
    feedback, training = Settings.from_env("feedback"), Settings.from_env("training")
    assert feedback.jwt_public_key.endswith("network") and feedback.jwt_secret is None
    assert feedback.jwt_issuer == "https://idp.example.cn"
    assert feedback.outbox_poll_seconds == 2.5 and training.outbox_poll_seconds == 0.25


def test_a_bare_name_still_works(monkeypatch, tmp_path):
    monkeypatch.setenv("LSQ_VAR_DIR", str(tmp_path))
    monkeypatch.delenv("LSQ_KAFKA_BOOTSTRAP", raising=False)
    monkeypatch.setenv("KAFKA_BOOTSTRAP", "10.0.0.5:9092")
    assert Settings.from_env("incentive").kafka_bootstrap == "10.0.0.5:9092"
