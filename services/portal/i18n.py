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


def field_errors(error) -> dict:
    """``{field: [message, ...]}`` of an API error in the page's language (every service sends
    ``errors_zh``, from the one catalogue ``shared.messages_zh``)."""
    if is_chinese() and error.errors_zh:
        return error.errors_zh
    return error.errors


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
