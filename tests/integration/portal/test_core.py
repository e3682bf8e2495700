"""The portal's frame: languages, security headers, CSRF, errors, a service that is down."""
import re

import pytest

from services.portal import create_app as create_portal
from shared import vendor
from tests.integration.portal.conftest import csrf_of, sign_in_as

pytestmark = pytest.mark.integration


def test_the_chinese_catalogue_really_loads_and_english_is_one_click_away(browser_client):
    page = browser_client.get("/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'lang="zh-CN"' in html
    assert "图书馆服务质量" in html and "Library service quality" not in html
    switch = re.search(r'href="(/language/en[^"]*)"', html).group(1)
    back = browser_client.get(switch.replace("&amp;", "&"))
    assert back.status_code == 302 and "lsq_lang=en" in back.headers["Set-Cookie"]
    english = browser_client.get("/").get_data(as_text=True)
    assert 'lang="en"' in english and "Library service quality" in english and "图书馆服务质量" not in english
    assert "中文" in english  # the way back


def test_security_headers_and_cookies(browser_client):
    r = browser_client.get("/sign-in")
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff" and r.headers["X-Frame-Options"] == "DENY"
    html = r.get_data(as_text=True)
    assert "<script>" not in html and " onclick=" not in html  # no inline script anywhere
    for source in re.findall(r'<script src="([^"]+)"', html):
        assert source.startswith("/static/"), source


def test_secure_session_cookie_by_default(live):
    app = create_portal({"TESTING": True, "SETTINGS": {"service_urls": live.urls, "secret_key": "s" * 32}})
    client = app.test_client()
    client.get("/language/en")
    cookie = client.get("/").headers.get("Set-Cookie", "") or ""
    assert app.config["SESSION_COOKIE_SECURE"] and app.config["SESSION_COOKIE_HTTPONLY"]
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    assert "lsq_portal" in cookie and "Secure" in cookie and "HttpOnly" in cookie


def test_a_form_without_or_with_a_forged_csrf_token_gets_400(browser_client):
    assert browser_client.post("/sign-in", data={"employee_number": "E1", "password": "x"}).status_code == 400
    forged = browser_client.post("/sign-in", data={"employee_number": "E1", "password": "x", "csrf_token": "forged"})
    assert forged.status_code == 400 and "表单已过期" in forged.get_data(as_text=True)


def test_empty_sign_in_names_the_fields_and_keeps_the_input(browser_client):
    token = csrf_of(browser_client.get("/sign-in").get_data(as_text=True))
    r = browser_client.post("/sign-in", data={"employee_number": "<script>alert(1)</script>", "password": "",
                                              "csrf_token": token})
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "请输入密码" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html


def test_a_service_that_is_down_gets_a_clear_page_and_the_rest_keeps_working(live):
    urls = {**live.urls, "directory": "http://127.0.0.1:1"}
    client = create_portal({"TESTING": True, "WTF_CSRF_ENABLED": False,
                            "SETTINGS": {"service_urls": urls, "secret_key": "d" * 32, "secure_cookies": False}}).test_client()
    r = client.post("/sign-in", data={"employee_number": "E1", "password": "secret-password"})
    html = r.get_data(as_text=True)
    assert r.status_code == 503 and "人员目录" in html and "Traceback" not in html
    assert client.get("/").status_code == 200
    assert client.get("/readyz").json["checks"]["directory"] == "unreachable"


def test_unknown_pages_and_pages_of_other_roles_look_the_same(browser_client):
    missing = browser_client.get("/no-such-page")
    assert missing.status_code == 404 and "页面不存在" in missing.get_data(as_text=True)


def test_vendored_assets_are_served_and_checked(browser_client):
    assert vendor.verify() == []
    r = browser_client.get("/static/vendor/htmx/htmx.min.js")
    assert r.status_code == 200 and "max-age" in r.headers["Cache-Control"]
    assert browser_client.get("/static/vendor/htmx/../manifest.json").status_code == 404


def test_signed_in_user_sees_name_and_role_not_ids(browser_client, network):
    manager = network["staff"]["branch_manager"]
    sign_in_as(browser_client, "branch_manager", staff_id=manager["id"], branch_id=network["branch"]["id"], name="张馆长")
    html = browser_client.get("/about").get_data(as_text=True)
    assert "张馆长" in html and "分馆馆长" in html and manager["id"] not in html


def test_calls_carry_the_users_token_and_the_browsers_address(portal, network):
    """The services' access rules and per-client limits see the person, not the portal."""
    seen = []

    class Recorder:
        def request(self, method, url, **kwargs):
            seen.append((method, url, kwargs["headers"]))

            class Answer:
                status_code, content = 200, b"{}"

                def json(self):
                    return {}
            return Answer()

        def mount(self, *args):
            pass

    from services.portal import web
    from services.portal.api_client import Services
    portal.extensions["portal"].services = Services(portal.extensions["portal"].settings.service_urls,
                                                    session=Recorder())
    with portal.test_request_context("/", environ_base={"REMOTE_ADDR": "203.0.113.7"}):
        from flask import session
        session["token"] = "the-users-token"
        web.api("feedback", "GET", "/complaints")
    [(method, url, headers)] = seen
    assert method == "GET" and url.endswith("/complaints")
    assert headers["Authorization"] == "Bearer the-users-token" and headers["X-Forwarded-For"] == "203.0.113.7"
