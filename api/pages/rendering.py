"""Templates in Dutch and English: one Jinja2 environment per language, Babel catalogues.

The texts live in the templates (English, the message ids) and in the catalogues
under ``locales/`` (Dutch); code passes data, never sentences, except the few
messages of refused requests, which are also marked for translation. The
language comes from ``?lang=``, else the ``lang`` cookie, else Accept-Language.
"""

from __future__ import annotations

import gettext
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_decimal
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, select_autoescape
from ledger.api.pages.session import csrf_token
from starlette.requests import Request
from starlette.responses import HTMLResponse

HERE = Path(__file__).parent
LANGUAGES = ("en", "nl")
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The compiled catalogue of a language (English needs none: it is the source)."""
    if language == DEFAULT_LANGUAGE:
        return gettext.NullTranslations()
    return Translations.load(str(HERE / "locales"), [language], domain="messages")


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    env.filters["when"] = lambda value: _when(value, language)
    env.filters["language_name"] = lambda value: language_name(value, language)
    env.filters["country_name"] = lambda value: country_name(value, language)
    env.filters["number"] = lambda value: _number(value, language)
    env.globals["language"] = language
    return env


def _when(value: Any, language: str) -> str:
    """A timestamp as people read it in their language (the log keeps UTC)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return babel_datetime(moment, "d MMMM y, HH:mm 'UTC'", locale=language, tzinfo=None)


def language_name(code: Any, language: str) -> str:
    """A language code as a name in the reader's language (``en`` is "Engels" in Dutch),
    from Babel's locale data; a code Babel does not know stays as it was given."""
    text = str(code or "").strip()
    try:
        name = Locale.parse(text.replace("_", "-"), sep="-").get_display_name(language)
    except (ValueError, TypeError, UnknownLocaleError):
        name = None
    return name or text


def country_name(code: Any, language: str) -> str:
    """An ISO 3166-1 code as the country's name in the reader's language."""
    text = str(code or "").strip()
    found: str | None = Locale.parse(language).territories.get(text.upper())
    return found or text


def _number(value: Any, language: str) -> str:
    """A number as the reader writes it (``2,5`` in Dutch)."""
    try:
        return str(format_decimal(Decimal(str(value)), locale=language))
    except (InvalidOperation, ValueError):
        return str(value)


def language_of(request: Request) -> str:
    """``?lang=`` wins, then the cookie it set, then the browser's preference."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGUAGES:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def gettext_for(request: Request) -> Any:
    """The translation function of the request's language, for messages made in code."""
    return translations(language_of(request)).gettext


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """Render a page in the visitor's language with the layout's common values."""
    language = language_of(request)
    session = request.scope.get("session", {})
    page = environment(language).get_template(template)
    html = page.render(
        request=request,
        person=session.get("person"),
        csrf_token=lambda: csrf_token(session),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE, language, max_age=365 * 86400, httponly=True, samesite="lax"
        )
    return response
