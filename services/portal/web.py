"""What every page needs: the signed-in user, the API with their token, access by role, the menu.

A page calls ``api("feedback", "GET", "/complaints", params=...)``; the user's token goes with it,
so the services' access rules stay the only ones. ``signed_in(*roles)`` guards a page.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from flask import abort, current_app, g, redirect, request, session, url_for

from services.portal.api_client import ApiError, Services


@dataclass(frozen=True)
class NavItem:
    """One entry of the menu: shown to the roles listed (everyone signed in when empty)."""

    endpoint: str
    text: object  # a lazy string
    roles: tuple = ()
    order: int = 50


#: The menu, filled by each area's blueprint when it is registered.
NAV: list[NavItem] = []


def add_nav(endpoint: str, text, roles: tuple = (), order: int = 50) -> None:
    """Put a page in the menu (once)."""
    if not any(item.endpoint == endpoint for item in NAV):
        NAV.append(NavItem(endpoint, text, tuple(roles), order))
        NAV.sort(key=lambda item: item.order)


def menu() -> list[NavItem]:
    """The menu entries the signed-in user may use."""
    user = current_user()
    if user is None:
        return []
    return [item for item in NAV if not item.roles or user["role"] in item.roles or user["role"] == "network_admin"]


def services() -> Services:
    return current_app.extensions["portal"].services


def current_user() -> dict | None:
    """``{"staff_id", "name", "role", "branch_id", "branch_name_zh", "branch_name_en", ...}`` or None."""
    return session.get("user")


def token() -> str | None:
    return session.get("token")


def api(service: str, method: str, path: str, **kwargs):
    """Call ``service`` as the signed-in user (or anonymously, for reader pages).

    The browser's address goes along in ``X-Forwarded-For``: the services' per-client limits
    (readers' complaints, sign-ins) then count each reader, not the portal, where they trust one
    proxy hop (``LSQ_PROXY_HOPS=1``, as ``lsq up`` starts them behind the portal).
    """
    headers = {"X-Forwarded-For": request.remote_addr or "", **kwargs.pop("headers", {})}
    return services().call(service, method, path, token=token(), headers=headers, **kwargs)


def api_or_none(service: str, method: str, path: str, **kwargs):
    """Like ``api`` but None for a 404 (a page of another branch looks like one that does not exist)."""
    try:
        return api(service, method, path, **kwargs)
    except ApiError as error:
        if error.status in (403, 404):
            return None
        raise


def signed_in(*roles: str):
    """Guard a page: sign in first; then only ``roles`` (network_admin always) may see it."""
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            user = current_user()
            if user is None:
                return redirect(url_for("auth.sign_in", next=request.full_path.rstrip("?")))
            if roles and user["role"] not in roles and user["role"] != "network_admin":
                abort(404)  # the same page as one that does not exist
            return view(*args, **kwargs)
        return guarded
    return decorate


def has_role(*roles: str) -> bool:
    user = current_user()
    return user is not None and (user["role"] in roles or user["role"] == "network_admin")


@dataclass
class FormState:
    """What a re-rendered form shows: what was typed, the errors per field, a message for the form."""

    typed: dict
    errors: dict
    message: str | None = None


def form_state() -> FormState:
    """The state ``keep_form`` set for this request (empty on a fresh page)."""
    return g.get("form_state") or FormState({}, {})


def keep_form(typed: dict, errors: dict | None = None, message: str | None = None) -> None:
    """Keep what the user typed and the API's errors for the page that re-renders the form."""
    g.form_state = FormState(dict(typed), dict(errors or {}), message)
