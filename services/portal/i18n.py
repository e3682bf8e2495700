"""Languages: Simplified Chinese by default, English on request; the choice is remembered.

Babel reads ``zh_CN`` as ``zh_Hans_CN`` and gettext then looks for a catalogue folder of that
name (or ``zh``), never ``zh_CN``: the catalogues live in ``translations/<area>/zh_Hans_CN``.
Each area (reader, staff, manage, admin, common) keeps its own catalogue; Flask-Babel merges them.
"""
from __future__ import annotations

from pathlib import Path

from flask import current_app, g, request, session
from flask_babel import get_locale, gettext, lazy_gettext as _l

LANGUAGES = {"zh_CN": "中文", "en": "English"}
DEFAULT_LANGUAGE = "zh_CN"
#: The cookie that remembers a visitor's language for a year, signed in or not.
LANGUAGE_COOKIE = "lsq_lang"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def translation_directories() -> list[str]:
    """Every area's catalogue folder."""
    return sorted(str(p) for p in TRANSLATIONS.iterdir() if p.is_dir())


def select_locale() -> str:
    """``?lang=`` for this page, else the user's choice (session, then cookie), else the browser's
    preference between Chinese and English, else Chinese."""
    for choice in (request.args.get("lang"), session.get("lang"), request.cookies.get(LANGUAGE_COOKIE)):
        if choice in LANGUAGES:
            return choice
    best = request.accept_languages.best_match(["zh-CN", "zh", "en"], default=None)
    return "en" if best == "en" else DEFAULT_LANGUAGE


def language() -> str:
    """``zh_CN`` or ``en``: the language of this page."""
    locale = get_locale()
    return "en" if locale is not None and locale.language == "en" else "zh_CN"


def is_chinese() -> bool:
    return language() == "zh_CN"


def pick(zh: str | None, en: str | None) -> str:
    """The text in the page's language, the other when that one is missing (names, titles)."""
    first, second = (zh, en) if is_chinese() else (en, zh)
    return first or second or ""


def api_message(error) -> str:
    """An API error's message in the page's language."""
    if is_chinese() and error.message_zh:
        return error.message_zh
    return gettext(error.message) if is_chinese() else error.message


#: Messages the APIs' field validation gives in English only (marshmallow's and the services'
#: common ones): the portal says them in Chinese until every API sends ``errors_zh``.
FIELD_MESSAGES = {
    "Missing data for required field.": _l("Missing data for required field."),
    "Field may not be null.": _l("Field may not be null."),
    "Not a valid string.": _l("Not a valid string."),
    "Not a valid integer.": _l("Not a valid integer."),
    "Not a valid number.": _l("Not a valid number."),
    "Not a valid date.": _l("Not a valid date."),
    "Not a valid datetime.": _l("Not a valid datetime."),
    "Not a valid email address.": _l("Not a valid email address."),
    "Not a valid boolean.": _l("Not a valid boolean."),
    "Unknown field.": _l("Unknown field."),
    "Must be one of the choices.": _l("Must be one of the choices."),
    "Shorter than minimum length.": _l("Shorter than minimum length."),
    "Longer than maximum length.": _l("Longer than maximum length."),
    "Out of range.": _l("Out of range."),
}


def field_errors(error) -> dict:
    """``{field: [message, ...]}`` of an API error in the page's language."""
    if is_chinese() and error.errors_zh:
        return error.errors_zh
    if is_chinese() and error.message_zh and len(error.errors) == 1:
        # a service's own rule names one field and says it in both languages (message, message_zh)
        [(name, messages)] = error.errors.items()
        if messages == [error.message]:
            return {name: [error.message_zh]}
    out = {}
    for name, messages in error.errors.items():
        out[name] = [str(_field_message(m)) if is_chinese() else m for m in messages]
    return out


def _field_message(message: str):
    if message in FIELD_MESSAGES:
        return FIELD_MESSAGES[message]
    # marshmallow's templated messages: "Must be one of: a, b.", "Longer than maximum length 200."
    for prefix, key in (("Must be one of", "Must be one of the choices."),
                        ("Shorter than minimum length", "Shorter than minimum length."),
                        ("Longer than maximum length", "Longer than maximum length."),
                        ("Must be greater than or equal to", "Out of range."),
                        ("Must be less than or equal to", "Out of range."),
                        ("Length must be between", "Longer than maximum length.")):
        if message.startswith(prefix):
            return FIELD_MESSAGES[key]
    return message


def remember(response, lang: str):
    """Keep ``lang`` for this visitor: in the session and in a cookie of a year."""
    session["lang"] = lang
    settings = current_app.extensions["portal"].settings
    response.set_cookie(LANGUAGE_COOKIE, lang, max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                        secure=settings.secure_cookies)
    return response


def other_language() -> tuple[str, str]:
    """(code, name) of the language the switch offers."""
    code = "en" if is_chinese() else "zh_CN"
    return code, LANGUAGES[code]


def html_lang() -> str:
    return "zh-CN" if is_chinese() else "en"


def cached(name: str, build):
    """A per-request value (labels built once per page)."""
    if name not in g:
        setattr(g, name, build())
    return getattr(g, name)
