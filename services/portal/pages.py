"""Wiring of the portal's pages: the areas' blueprints, template helpers, errors, health, language."""
from __future__ import annotations

import logging
import random
import time
from datetime import date, datetime

from flask import Blueprint, Flask, g, jsonify, redirect, render_template, request, url_for
from flask_babel import format_date, format_datetime, format_decimal, gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from services.portal import i18n, labels, web
from services.portal.api_client import ServiceUnavailable
from services.portal.settings import SERVICES
from shared import logs, metrics, vendor
from shared.numbers import round_half_up
from shared.timeutil import parse_rfc3339

log = logging.getLogger(__name__)

#: The word a person reads for each service when it is down.
SERVICE_NAMES = {
    "directory": ("人员目录", "the staff directory"), "feedback": ("读者反馈", "reader feedback"),
    "evaluation": ("考核评价", "evaluations"), "training": ("培训学时", "training"),
    "incentive": ("奖惩", "awards and sanctions"),
    "notify": ("消息通知", "notifications"), "reports": ("统计报表", "reports"),
}


def install(app: Flask) -> None:
    """Register every area and the helpers their templates use."""
    from services.portal.views import AREAS
    app.register_blueprint(_core_blueprint())
    app.register_blueprint(vendor.blueprint("vendor", "/static/vendor"))
    for blueprint in AREAS:
        app.register_blueprint(blueprint)
    app.jinja_env.globals.update(
        label=labels.label, choices=labels.choices, pick=i18n.pick, menu=web.menu, user=web.current_user,
        has_role=web.has_role, form=web.form_state, lang=i18n.language, html_lang=i18n.html_lang,
        other_language=i18n.other_language, when=when, day=day, number=number, money=money,
    )
    app.jinja_env.autoescape = True
    _install_errors(app)
    _install_timing(app)


# -- formatting in the user's locale (times in Asia/Shanghai) ------------------------------------
def _moment(value):
    if isinstance(value, str):
        try:
            return parse_rfc3339(value)
        except ValueError:
            return None
    return value


def when(value, style: str = "medium") -> str:
    """A time as the user reads it: ``2026年12月31日 23:30`` / ``Dec 31, 2026, 11:30 PM``."""
    moment = _moment(value)
    if moment is None:
        return ""
    if style == "short":
        return format_datetime(moment, "yyyy-MM-dd HH:mm")
    # to the minute: Babel's own "medium" shows seconds, which nobody reads on a deadline
    return format_datetime(moment, "yyyy年M月d日 HH:mm" if i18n.is_chinese() else "MMM d, yyyy, HH:mm")


def day(value) -> str:
    """A calendar day in the user's locale."""
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, datetime):
        value = value.date()
    return format_date(value, "medium") if value else ""


def number(value, digits: int = 1) -> str:
    """A number in the user's locale, rounded half up (40.25 → "40.3", never Babel's half to even)."""
    if value is None or value == "":
        return "—"
    return format_decimal(round_half_up(value, digits), format=f"#,##0.{'0' * digits}" if digits else "#,##0")


def money(value) -> str:
    """An amount in CNY: ``¥2,000.00``."""
    if value is None or value == "":
        return "—"
    return "¥" + format_decimal(round_half_up(value, 2), format="#,##0.00")


# -- pages every area shares ----------------------------------------------------------------------
def _core_blueprint() -> Blueprint:
    core = Blueprint("core", __name__)

    @core.get("/")
    def home():
        user = web.current_user()
        if user is None:
            return render_template("home.html")
        return redirect(url_for(web.menu()[0].endpoint) if web.menu() else url_for("core.about"))

    @core.get("/about")
    def about():
        return render_template("home.html")

    @core.get("/language/<code>")
    def language(code: str):
        """Switch language and come back to the page (a plain link: works without script)."""
        target = request.args.get("next") or url_for("core.home")
        if not target.startswith("/") or target.startswith("//"):
            target = url_for("core.home")  # no open redirect
        response = redirect(target)
        return i18n.remember(response, code) if code in i18n.LANGUAGES else response

    @core.get("/healthz")
    def healthz():
        return {"status": "ok", "service": "portal"}

    @core.get("/readyz")
    def readyz():
        """Ready when the portal serves; each service's state is reported, not required."""
        checks = {s: ("ok" if web.services().reachable(s) else "unreachable") for s in SERVICES}
        return {"status": "ready", "service": "portal", "checks": checks}

    @core.get("/metrics")
    def prometheus():
        body, content_type = metrics.render()
        return body, 200, {"Content-Type": content_type}

    return core


def _install_errors(app: Flask) -> None:
    @app.errorhandler(ServiceUnavailable)
    def _unavailable(error: ServiceUnavailable):
        zh, en = SERVICE_NAMES.get(error.service, (error.service, error.service))
        return render_template("error.html", status=503, title=_("Temporarily unavailable"),
                               text=_("The %(part)s part of the system is not answering right now. "
                                      "Other pages still work; please try again in a few minutes.",
                                      part=zh if i18n.is_chinese() else en)), 503

    @app.errorhandler(CSRFError)
    def _csrf(error):
        return render_template("error.html", status=400, title=_("The form expired"),
                               text=_("For your safety the form could not be sent. Go back, reload the "
                                      "page and send it again.")), 400

    @app.errorhandler(HTTPException)
    def _http(error: HTTPException):
        status = error.code or 500
        titles = {404: _("Page not found"), 405: _("Not possible here"), 413: _("Too large"),
                  429: _("Too many requests")}
        texts = {404: _("There is no such page, or it is not yours to see.")}
        if request.headers.get("HX-Request"):
            return render_template("fragments/error.html", title=titles.get(status, _("Something went wrong"))), status
        return render_template("error.html", status=status, title=titles.get(status, _("Something went wrong")),
                               text=texts.get(status, "")), status

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        log.exception("unhandled error in the portal")
        return render_template("error.html", status=500, title=_("Something went wrong"),
                               text=_("The error has been logged. Please try again.")), 500


def _install_timing(app: Flask) -> None:
    latency = {}

    @app.before_request
    def _begin():
        g.started = time.perf_counter()
        logs.request_id.set(request.headers.get("X-Request-ID") or f"{random.getrandbits(128):032x}")

    @app.after_request
    def _end(response):
        rule = request.url_rule.rule if request.url_rule else "unmatched"
        if rule != "/metrics":
            key = (request.method, rule, response.status_code)
            if key not in latency:
                latency[key] = metrics.REQUEST_LATENCY.labels("portal", *key)
            latency[key].observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response


def json_error(status: int, message: str):
    return jsonify({"status": status, "message": message}), status
