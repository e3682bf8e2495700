"""The app itself: every endpoint declares who may call it; docs and health answer."""
import pytest

from shared.auth import endpoints_without_access
from tests.helpers import auth

pytestmark = pytest.mark.integration


def test_every_endpoint_declares_access(app):
    assert endpoints_without_access(app) == []


def test_openapi_and_health(client):
    spec = client.get("/openapi.json")
    assert spec.status_code == 200
    paths = spec.json["paths"]
    for path in ("/cycles", "/cycles/{cycle_id}/evaluations", "/cycles/{cycle_id}/scores.csv",
                 "/evaluations/{evaluation_id}/appeal", "/appeals/{appeal_id}/decision", "/rubrics", "/settings"):
        assert path in paths
    assert client.get("/healthz").json["status"] == "ok"


def test_defaults_are_the_regulations(client):
    rubric = client.get("/rubrics/current", headers=auth("staff", staff_id="s1", branch_id="b1")).json
    assert [(d["code"], d["label_zh"]) for d in rubric["dimensions"]] == [
        ("service_attitude", "服务态度"), ("professional_competence", "专业能力"), ("efficiency", "服务效率"),
        ("compliance", "遵章守纪")]
    assert sum(d["weight"] for d in rubric["dimensions"]) == pytest.approx(1)
    settings = client.get("/settings", headers=auth("auditor")).json
    assert settings["rater_weights"] == {"reader": "0.4", "supervisor": "0.3", "peer": "0.2", "self": "0.1"}
    assert settings["grade_bands"] == {"excellent": 90, "good": 80, "satisfactory": 60}
    assert settings["appeal_days"] == 14 and settings["version"] == 0
