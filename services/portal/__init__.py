"""Portal: the web pages of LSQ for readers, staff and managers (port 8100, web process only).

It owns no domain data: every page reads and writes through the other services' public APIs
with the signed-in user's own token (``services.portal.web.api``).
"""
from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from flask import Flask

from services.portal import i18n, pages, security
from services.portal.api_client import Services
from services.portal.settings import PortalSettings


class PortalContext:
    """The portal's settings and its pooled API client."""

    def __init__(self, settings: PortalSettings):
        self.settings = settings
        self.services = Services(settings.service_urls, settings.timeout_seconds)


def create_app(config: dict | None = None) -> Flask:
    """The portal web app (``gunicorn "services.portal:create_app()"``)."""
    from flask_babel import Babel
    from flask_wtf.csrf import CSRFProtect

    config = dict(config or {})
    settings = PortalSettings.from_env(**config.pop("SETTINGS", {}))
    app = Flask("lsq.portal", root_path=str(Path(__file__).resolve().parent), template_folder="templates",
                static_folder="static", static_url_path="/static")
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="lsq_portal", SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.secure_cookies, PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        WTF_CSRF_TIME_LIMIT=12 * 3600, WTF_CSRF_SSL_STRICT=False,
        BABEL_DEFAULT_LOCALE=i18n.DEFAULT_LANGUAGE, BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        BABEL_TRANSLATION_DIRECTORIES=";".join(i18n.translation_directories()),
        MAX_CONTENT_LENGTH=4 * 1024 * 1024,
    )
    app.config.update(config)
    proxy_hops = int(os.environ.get("LSQ_PORTAL_PROXY_HOPS") or "0")
    if proxy_hops:  # behind the network's own reverse proxy: the browser's address is in X-Forwarded-For
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops)
    if not app.testing:
        from shared import logs
        logs.configure("portal")
    app.extensions["portal"] = PortalContext(settings)
    Babel(app, locale_selector=i18n.select_locale, timezone_selector=lambda: "Asia/Shanghai")
    CSRFProtect(app)
    security.install(app)
    pages.install(app)
    return app
