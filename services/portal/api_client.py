"""The portal's only way to the data: the services' public HTTP APIs, with the user's own token.

One pooled ``requests.Session`` per process; timeouts on every call. A service that does not
answer raises ``ServiceUnavailable`` (a bilingual page names it; the rest of the portal works);
an API's 4xx raises ``ApiError`` carrying its field errors, which forms show next to the fields.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import requests
from requests.adapters import HTTPAdapter

log = logging.getLogger(__name__)


class ServiceUnavailable(Exception):
    """A service did not answer (down, timed out, or answered 5xx)."""

    def __init__(self, service: str, detail: str):
        super().__init__(f"{service}: {detail}")
        self.service = service
        self.detail = detail


@dataclass
class ApiError(Exception):
    """A 4xx answer in the services' one error shape."""

    status: int
    code: str
    message: str
    message_zh: str | None = None
    errors: dict = field(default_factory=dict)
    errors_zh: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"

    @classmethod
    def from_response(cls, response: requests.Response) -> "ApiError":
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        return cls(status=response.status_code, code=str(body.get("code") or f"http_{response.status_code}"),
                   message=str(body.get("message") or response.reason or ""),
                   message_zh=body.get("message_zh"),
                   errors=_flatten(body.get("errors") or {}), errors_zh=_flatten(body.get("errors_zh") or {}))


def _flatten(errors, prefix: str = "") -> dict:
    """``{"week": {"mon": ["bad"]}}`` → ``{"week.mon": ["bad"]}``: one entry per form field."""
    flat = {}
    if isinstance(errors, list):
        return {prefix or "_schema": [str(e) for e in errors if not isinstance(e, (dict, list))]
                or [str(errors)]}
    if not isinstance(errors, dict):
        return {prefix or "_schema": [str(errors)]}
    for key, value in errors.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        elif isinstance(value, list) and all(isinstance(v, str) for v in value):
            flat[name] = value
        else:
            flat.update(_flatten(value, name))
    return flat


class Services:
    """Calls to the services, one pooled session for the process."""

    def __init__(self, urls: dict, timeout_seconds: float = 10.0, session: requests.Session | None = None):
        self.urls = dict(urls)
        self.timeout = (min(3.0, timeout_seconds), timeout_seconds)  # (connect, read)
        self.session = session or requests.Session()
        adapter = HTTPAdapter(pool_connections=len(urls) or 1, pool_maxsize=32, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def call(self, service: str, method: str, path: str, *, token: str | None = None, params=None,
             json=None, raw: bool = False, headers: dict | None = None, timeout: float | None = None):
        """The JSON answer of ``method path`` on ``service`` (the response itself when ``raw``);
        ``timeout`` (seconds) shortens the wait for a call a page can do without (the header's count)."""
        sent = {"Accept": "application/json", **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        url = self.urls[service] + path
        try:
            response = self.session.request(method, url, params=_clean(params), json=json, headers=sent,
                                            timeout=(timeout, timeout) if timeout else self.timeout)
        except requests.RequestException as exc:
            log.warning("service %s unavailable: %s", service, exc.__class__.__name__)
            raise ServiceUnavailable(service, exc.__class__.__name__) from None
        if response.status_code >= 500:
            log.warning("service %s answered %s for %s %s", service, response.status_code, method, path)
            raise ServiceUnavailable(service, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ApiError.from_response(response)
        if raw:
            return response
        if response.status_code == 204 or not response.content:
            return {}
        return response.json()

    def reachable(self, service: str) -> bool:
        """Whether ``service`` answers its liveness check."""
        try:
            return self.session.get(self.urls[service] + "/healthz", timeout=(1, 2)).status_code == 200
        except requests.RequestException:
            return False


def _clean(params):
    """Query parameters without the empty ones (a blank filter means no filter)."""
    if not params:
        return None
    return {k: v for k, v in params.items() if v not in (None, "", [])}
