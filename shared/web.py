"""The web side every service shares: the app factory helper, errors, health, metrics, paging.

One JSON error format for every 4xx/5xx::

    {"status": 422, "code": "validation_failed", "message": "...", "message_zh": "...",
     "errors": {"branch_id": ["Unknown branch."]}, "errors_zh": {"branch_id": ["分馆不存在。"]},
     "location": "json", "request_id": "..."}
"""
from __future__ import annotations

import logging
import os
import random
import time
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import unquote_to_bytes

import orjson
from flask import Blueprint, Flask, current_app, g, jsonify, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from marshmallow import Schema, fields, validate
from werkzeug.exceptions import HTTPException

from shared import auth, bus, logs, messages_zh, metrics, outbox, runtime
from shared.config import Settings
from shared.db import Database
from shared.errors import DomainError, Invalid

log = logging.getLogger(__name__)

#: The Chinese of each status, for errors without a message of their own (gunicorn's too).
GENERIC_ZH = {
    400: "请求格式错误", 401: "需要登录", 403: "无权访问", 404: "未找到", 405: "不支持的请求方法",
    409: "与当前状态冲突", 413: "请求过大", 414: "请求地址过长", 415: "不支持的内容类型", 417: "无法满足请求的预期",
    422: "输入校验失败", 429: "请求过于频繁", 431: "请求头过大", 500: "服务器内部错误", 501: "不支持的传输方式",
    503: "服务暂不可用",
}


def error_response(status: int, code: str, message: str, message_zh: str | None = None,
                   errors: dict | None = None, location: str | None = None, errors_zh: dict | None = None,
                   **extra):
    """A Flask response in the one LSQ error format (``errors_zh``: the field messages in Chinese,
    from ``shared.messages_zh`` unless given)."""
    body = {"status": status, "code": code, "message": message,
            "message_zh": message_zh or GENERIC_ZH.get(status, message)}
    if errors:
        body["errors"] = errors
        body["errors_zh"] = errors_zh or messages_zh.errors_in_chinese(errors)
    if location:
        body["location"] = location
    body.update(extra)
    body["request_id"] = logs.request_id.get()
    return jsonify(body), status


class ErrorSchema(Schema):
    """The one LSQ error body, as ``error_response`` writes it (documentation only)."""

    status = fields.Integer(required=True, metadata={"description": "HTTP status, e.g. 422"})
    code = fields.String(required=True, metadata={"description": "What went wrong, for programs: "
                                                                   "validation_failed, not_found, conflict, …"})
    message = fields.String(required=True, metadata={"description": "English text for a person"})
    message_zh = fields.String(required=True, metadata={"description": "The same in Simplified Chinese"})
    errors = fields.Dict(keys=fields.String(), metadata={
        "description": "Per field (or _schema), the problems with it: a list of messages, or a nested "
                       "object for a nested field"})
    errors_zh = fields.Dict(keys=fields.String(), metadata={"description": "The same in Simplified Chinese"})
    location = fields.String(metadata={"description": "Where the fields are: json, query, path, headers"})
    details = fields.Dict(metadata={"description": "Further facts of this error (e.g. the current state)"})
    request_id = fields.String(required=True, allow_none=True,
                               metadata={"description": "Identifies the request in the logs (X-Request-ID)"})


class ServiceApi(Api):
    """flask-smorest's Api with LSQ's error format for HTTP errors (webargs 422 included)."""

    # Every documented error response (flask-smorest's defaults included) names the body we send.
    ERROR_SCHEMA = ErrorSchema

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        messages = data.get("messages") if isinstance(data, dict) else None
        errors, location = None, None
        if messages:
            # webargs nests by location: {"json": {"field": ["msg"]}}; flatten it for clients.
            location = next(iter(messages))
            errors = messages[location]
            if isinstance(errors, list):
                errors = {"_schema": errors}
        status = error.code or 500
        code = {400: "bad_request", 404: "not_found", 405: "method_not_allowed",
                422: "validation_failed"}.get(status, f"http_{status}")
        message = error.description if status != 422 else "The input is not valid: see errors"
        response, status = error_response(status, code, message, errors=errors, location=location)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response, status


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON provider writing responses with orjson: the same JSON (sorted keys, Flask's
    own conversions for dates and decimals), at a fraction of the cost on the busy endpoints."""

    def response(self, *args, **kwargs):
        if self.compact is False or (self.compact is None and self._app.debug):
            return super().response(*args, **kwargs)
        obj = self._prepare_response_obj(args, kwargs)
        option = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_NON_STR_KEYS | orjson.OPT_APPEND_NEWLINE
        if self.sort_keys:
            option |= orjson.OPT_SORT_KEYS
        try:
            body = orjson.dumps(obj, default=self.default, option=option)
        except orjson.JSONEncodeError:  # e.g. an integer beyond 64 bits: the json module copes
            return super().response(*args, **kwargs)
        return self._app.response_class(body, mimetype=self.mimetype)


@dataclass
class ServiceContext:
    """What a running service app holds: its settings and database."""

    settings: Settings
    db: Database


def create_service_app(service: str, *, title: str, description: str, blueprints: list,
                       settings: Settings | None = None, config: dict | None = None,
                       migrate: bool = True) -> Flask:
    """Build a service's Flask app: API docs, auth, errors, health, metrics, request ids."""
    settings = settings or Settings.from_env(service, **(config or {}).get("SETTINGS", {}))
    app = Flask(f"lsq.{service}")
    app.json = FastJSONProvider(app)
    app.config.update(
        API_TITLE=title, API_VERSION="1.0", OPENAPI_VERSION="3.0.3", OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json", OPENAPI_SWAGGER_UI_PATH="docs",
        # Swagger UI from the repository (shared/vendor), not a CDN: an intranet may not reach one.
        OPENAPI_SWAGGER_UI_URL="/docs/assets/swagger-ui/",
        API_SPEC_OPTIONS={
            "info": {"description": description},
            "components": {"securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}}},
            "security": [{"bearerAuth": []}, {}],
        },
        JSON_SORT_KEYS=False, MAX_CONTENT_LENGTH=2 * 1024 * 1024,
    )
    app.json.ensure_ascii = False
    app.config.update({k: v for k, v in (config or {}).items() if k != "SETTINGS"})
    if not app.testing:
        logs.configure(service)
    proxy_hops = int(os.environ.get("LSQ_PROXY_HOPS", "0"))
    if proxy_hops:
        # Only behind proxies we run: they append the real client to X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops)
    db = Database(settings.database_url, service, doorbell_port=settings.relay_doorbell_port)
    if migrate:
        db.migrate()
    db.checkpoint_in_background()
    app.extensions["lsq"] = ServiceContext(settings, db)
    api = ServiceApi(app)
    api.ma_plugin.converter.add_attribute_function(_decimal_bounds_as_numbers)
    for blueprint in blueprints:
        api.register_blueprint(blueprint)
    app.register_blueprint(_health_blueprint(service))
    from shared import vendor
    app.register_blueprint(vendor.blueprint("docs-assets", "/docs/assets"))
    _install_hooks(app, service)
    if not app.testing:  # a process serving requests (tests build many apps in one process)
        runtime.tune_garbage_collector()
    return app


def _decimal_bounds_as_numbers(converter, field, ret, **kwargs) -> dict:
    """A ``Range`` of Decimals (money, scores) is documented with numbers, not the strings our JSON
    writes Decimals as: OpenAPI requires ``minimum``/``maximum`` to be numbers."""
    for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(ret.get(key), Decimal):
            ret[key] = float(ret[key])
    return {}


def context() -> ServiceContext:
    """The current app's settings and database."""
    return current_app.extensions["lsq"]


def db() -> Database:
    """The current app's database."""
    return current_app.extensions["lsq"].db


def _install_hooks(app: Flask, service: str) -> None:
    latency_of = {}  # (method, endpoint, status) -> its histogram: labels() is slow for every request

    @app.before_request
    def _begin():
        g.started = time.perf_counter()
        # Request ids need to be unique, not secret: no system call for randomness on each request.
        logs.request_id.set(request.headers.get("X-Request-ID") or f"{random.getrandbits(128):032x}")
        g.principal = auth.ANONYMOUS
        _refuse_nul_characters()
        g.principal = auth.load_principal()
        _refuse_a_missing_required_body()

    @app.after_request
    def _end(response):
        response.headers["X-Request-ID"] = logs.request_id.get() or ""
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        if endpoint != "/metrics":
            key = (request.method, endpoint, response.status_code)
            histogram = latency_of.get(key)
            if histogram is None:
                histogram = latency_of[key] = metrics.REQUEST_LATENCY.labels(service, *key)
            histogram.observe(time.perf_counter() - g.get("started", time.perf_counter()))
        return response

    @app.errorhandler(DomainError)
    def _domain_error(error: DomainError):
        errors = {error.field: [error.message]} if error.field else None
        errors_zh = {error.field: [error.message_zh]} if error.field else None
        return error_response(error.status, error.code, error.message, error.message_zh, errors=errors,
                              errors_zh=errors_zh,
                              **({"details": error.details} if error.details else {}))

    @app.errorhandler(Exception)
    def _unexpected(error: Exception):
        # HTTP errors are handled by ServiceApi (more specific); this is for real bugs.
        log.exception("unhandled error")
        return error_response(500, "internal_error",
                              "Internal error; the request id identifies it in the logs")


def _refuse_a_missing_required_body() -> None:
    """422 for a request without the JSON body its endpoint documents as required. Without this
    check a body whose fields all have defaults (a policy, the settings) is read as ``{}`` and the
    missing body silently resets them."""
    if request.method not in ("POST", "PUT", "PATCH") or request.content_length or request.get_data(cache=True):
        return
    view = current_app.view_functions.get(request.endpoint)
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), None) or view
    arguments = (getattr(handler, "_apidoc", None) or {}).get("arguments", {}).get("parameters", [])
    if any(p.get("in") == "json" and p.get("required", True) for p in arguments):
        raise Invalid("the request needs a JSON body", "请求缺少正文", field="json", code="body_required")


def _refuse_nul_characters() -> None:
    """422 for a NUL character anywhere in the request: PostgreSQL cannot store or even compare
    text holding one, which would otherwise surface as a 500."""
    for where, raw in (("path", request.path.encode("utf-8", "surrogateescape")),
                       ("query", unquote_to_bytes(request.query_string)),
                       ("json", request.get_data(cache=True))):
        if b"\x00" in raw or (where == "json" and b"\\u0000" in raw):
            raise Invalid("the request contains a NUL character", "请求中包含非法的空字符 (NUL)",
                              field=where, code="nul_character") from None


def _health_blueprint(service: str) -> Blueprint:
    health = Blueprint("health", __name__)

    @health.get("/healthz")
    def healthz():
        """Alive: the process answers."""
        return {"status": "ok", "service": service}

    @health.get("/readyz")
    def readyz():
        """Ready: the database answers and Kafka is reachable."""
        ctx = context()
        checks = {}
        try:
            ctx.db.ping()
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - report, do not fail
            checks["database"] = f"error: {exc.__class__.__name__}"
        checks["kafka"] = "ok" if bus.reachable(ctx.settings.kafka_bootstrap) else "unreachable"
        ready = all(v == "ok" for v in checks.values())
        return {"status": "ready" if ready else "not_ready", "service": service, "checks": checks}, (
            200 if ready else 503)

    @health.get("/metrics")
    def prometheus():
        """Prometheus exposition; the outbox backlog is read from the database at scrape time."""
        try:
            with context().db.read() as conn:
                metrics.OUTBOX_BACKLOG.labels(service).set(outbox.backlog(conn))
        except Exception:  # noqa: BLE001 - the scrape must still answer
            pass
        body, content_type = metrics.render()
        return body, 200, {"Content-Type": content_type}

    return health


#: The last page a list may be asked for (500 rows a page: half a billion rows).
MAX_PAGE = 1_000_000


class PageArgs(Schema):
    """``?page=1&page_size=50`` on every list."""

    # Bounded: an offset past what a 64-bit integer holds was a 500 on every list.
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """The response schema of a paginated list of ``item_schema``."""
    return Schema.from_dict({
        "items": fields.List(fields.Nested(item_schema)),
        "page": fields.Integer(), "page_size": fields.Integer(), "total": fields.Integer(),
    }, name=name)


def page(items: list, total: int, args: dict) -> dict:
    """The body of a paginated list."""
    return {"items": items, "page": args["page"], "page_size": args["page_size"], "total": total}
