"""Numbers and money on the portal's pages are rounded half up, in the user's locale."""
from services.portal import create_app
from services.portal.pages import money, number


def test_half_rounds_up_not_to_even(tmp_path, monkeypatch):
    monkeypatch.setenv("LSQ_VAR_DIR", str(tmp_path))
    app = create_app({"TESTING": True, "SETTINGS": {"secret_key": "k" * 32, "service_urls": {}}})
    with app.test_request_context("/"):
        assert number(40.25) == "40.3" and number("2.675", 2) == "2.68" and number(0.5, 0) == "1"
        assert number(12345.65) == "12,345.7" and number(None) == "—"
        assert money("1000.005") == "¥1,000.01"
