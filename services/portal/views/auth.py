"""Staff sign-in with employee number and password (the directory checks them and issues the JWT),
sign-out, setting a password from an invitation, and renewing the token while the user is active."""
from __future__ import annotations

import time

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _

from services.portal import i18n, web
from services.portal.api_client import ApiError

bp = Blueprint("auth", __name__)

#: Renew the token when less than this is left of it and the user is still clicking.
RENEW_SECONDS = 10 * 60


def _start_session(answer: dict) -> None:
    staff = answer.get("staff") or {}
    session.clear()
    session.permanent = True
    session["token"] = answer["token"]
    session["token_expires"] = _epoch(answer.get("expires_at"))
    session["user"] = {
        "staff_id": staff.get("staff_id"), "name": staff.get("name") or staff.get("employee_number"),
        "role": staff.get("role"), "branch_id": staff.get("branch_id"),
        "branch_name_zh": staff.get("branch_name_zh"), "branch_name_en": staff.get("branch_name_en"),
    }


def _epoch(text) -> float:
    from shared.timeutil import parse_rfc3339
    try:
        return parse_rfc3339(text).timestamp()
    except (TypeError, ValueError, AttributeError):
        return time.time() + 15 * 60


@bp.before_app_request
def _renew_token():
    """Keep an active user signed in: renew a token that is about to expire; drop one that has."""
    if "token" not in session or request.endpoint in (None, "static", "vendor.asset", "core.healthz"):
        return None
    left = session.get("token_expires", 0) - time.time()
    if left > RENEW_SECONDS:
        return None
    if left <= 0:
        session.clear()
        return None
    try:
        answer = web.services().call("directory", "POST", "/auth/refresh", token=session["token"])
        lang = session.get("lang")
        _start_session({**answer, "staff": answer.get("staff") or _staff_of_session()})
        if lang:
            session["lang"] = lang
    except ApiError:
        session.clear()  # the account was reset, locked or has left: sign in again
    except Exception:  # noqa: BLE001 - the directory is down: keep the token while it lasts
        pass
    return None


def _staff_of_session() -> dict:
    user = session.get("user") or {}
    return {"staff_id": user.get("staff_id"), "name": user.get("name"), "role": user.get("role"),
            "branch_id": user.get("branch_id"), "branch_name_zh": user.get("branch_name_zh"),
            "branch_name_en": user.get("branch_name_en")}


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    """The sign-in form; after success, the page the user wanted."""
    target = request.args.get("next") or ""
    if not target.startswith("/") or target.startswith("//"):
        target = url_for("core.home")
    if request.method == "POST":
        number = (request.form.get("employee_number") or "").strip()
        password = request.form.get("password") or ""
        errors = {}
        if not number:
            errors["employee_number"] = [_("Enter your employee number.")]
        if not password:
            errors["password"] = [_("Enter your password.")]
        if not errors:
            try:
                answer = web.api("directory", "POST", "/auth/login",
                                 json={"employee_number": number, "password": password})
                lang = session.get("lang")
                _start_session(answer)
                if lang:
                    session["lang"] = lang
                return redirect(target)
            except ApiError as error:
                web.keep_form({"employee_number": number}, i18n.field_errors(error), i18n.api_message(error))
                return render_template("auth/sign_in.html", next=target, hide_sign_in=True), error.status
        web.keep_form({"employee_number": number}, errors)
        return render_template("auth/sign_in.html", next=target, hide_sign_in=True), 422
    return render_template("auth/sign_in.html", next=target, hide_sign_in=True)


@bp.post("/sign-out")
def sign_out():
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "ok")
    return redirect(url_for("core.home"))


@bp.route("/activate/<invitation>", methods=["GET", "POST"])
def activate(invitation: str):
    """Set a password from the one-time invitation a manager gave."""
    if request.method == "POST":
        password = request.form.get("password") or ""
        again = request.form.get("password_again") or ""
        if password != again:
            web.keep_form({}, {"password_again": [_("The two passwords differ.")]})
            return render_template("auth/activate.html", invitation=invitation, hide_sign_in=True), 422
        try:
            web.api("directory", "POST", "/accounts/activate", json={"token": invitation, "password": password})
        except ApiError as error:
            web.keep_form({}, i18n.field_errors(error), i18n.api_message(error))
            return render_template("auth/activate.html", invitation=invitation, hide_sign_in=True), error.status
        flash(_("Your password is set. Sign in with your employee number."), "ok")
        return redirect(url_for("auth.sign_in"))
    return render_template("auth/activate.html", invitation=invitation, hide_sign_in=True)
