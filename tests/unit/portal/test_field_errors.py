"""The API's field errors are shown in the page's language."""
from services.portal import create_app, i18n
from services.portal.api_client import ApiError


def _app(tmp_path, monkeypatch):
    monkeypatch.setenv("LSQ_VAR_DIR", str(tmp_path))
    return create_app({"TESTING": True, "SETTINGS": {"secret_key": "k" * 32, "service_urls": {}}})


def test_the_services_chinese_field_errors_are_shown_as_they_are(tmp_path, monkeypatch):
    app = _app(tmp_path, monkeypatch)
    rule = ApiError(422, "staff_left", "staff member 9 has left", "员工已离职", {"staff_id": ["staff member 9 has left"]},
                    errors_zh={"staff_id": ["员工已离职"]})
    schema = ApiError(422, "validation_failed", "The input is not valid: see errors", "输入校验失败",
                      {"description": ["Missing data for required field."], "severity": ["Must be one of: low, high."]},
                      errors_zh={"description": ["此项必填。"], "severity": ["请从允许的选项中选择。"]})
    with app.test_request_context("/"):
        assert i18n.field_errors(rule) == {"staff_id": ["员工已离职"]}
        assert i18n.field_errors(schema)["description"] == ["此项必填。"]
    with app.test_request_context("/?lang=en"):
        assert i18n.field_errors(rule) == {"staff_id": ["staff member 9 has left"]}
        assert i18n.field_errors(schema)["description"] == ["Missing data for required field."]
