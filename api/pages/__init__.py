"""Web pages people use: sign-in, the backpack, public credential pages, the verifier page.

``mount`` adds them to the API application: the routes, the static files (our
own and the bundled Swagger UI: nothing comes from a CDN), the encrypted session
cookie, the security headers, and error pages for browsers. The bearer-token API
is untouched beside them. Other page packages (the admin console) reuse
``templates/base.html``, ``templates/components.html``, ``signin.person_in`` and
``rendering.render``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from ledger.api.pages import (
    achievement_pages,
    backpack_pages,
    claims_inbox_pages,
    cohort_pages,
    console_pages,
    credential_console_pages,
    issued_pages,
    lookup_pages,
    public_pages,
    signin,
    verify_pages,
)
from ledger.api.pages.rendering import render
from ledger.api.pages.session import PageSettings, Sealer, SessionMiddleware, derive_key
from ledger.api.problems import status_of
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ledger.errors import LedgerError
from ledger.settings import Settings

HERE = Path(__file__).parent
PAGE_PREFIXES = (
    "/backpack",
    "/lookup",
    "/signin",
    "/signout",
    "/verify",
    "/shared/",
    "/docs",
    "/console",
    "/audit",
)
#: No inline script anywhere, no other origin; the Swagger UI page alone needs inline styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
DOCS_CSP = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


class SecurityHeaders:
    """Headers every response carries; HTML gets the Content-Security-Policy too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope["path"] == "/docs"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.append((b"x-content-type-options", b"nosniff"))
                # Share links carry their token in the URL: never send it on as a referrer.
                headers.append((b"referrer-policy", b"no-referrer"))
                content_type = dict(headers).get(b"content-type", b"")
                if (
                    content_type.startswith(b"text/html")
                    and b"content-security-policy" not in names
                ):
                    headers.append(
                        (b"content-security-policy", (DOCS_CSP if docs else CSP).encode())
                    )
                    headers.append((b"x-frame-options", b"DENY"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def mount(app: FastAPI, settings: Settings) -> None:
    """Add the pages, their static files, the session and the headers to ``app``."""
    pages = PageSettings.from_env(settings)
    app.state.oauth = signin.oauth_client(settings, pages)
    app.state.consent_codes = Sealer(
        derive_key(pages.session_secret, b"ledger consent code"), b"consent-code"
    )
    for module in (
        public_pages,
        signin,
        verify_pages,
        backpack_pages,
        lookup_pages,
        console_pages,
        achievement_pages,
        cohort_pages,
        issued_pages,
        credential_console_pages,
        claims_inbox_pages,
    ):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    swagger = Path(fastapi_offline.__file__).parent / "static"
    app.mount("/swagger-ui", StaticFiles(directory=swagger), name="swagger")
    app.add_api_route("/docs", _docs_page, include_in_schema=False)
    _install_error_pages(app)
    app.add_middleware(
        SessionMiddleware,
        sealer=Sealer(derive_key(pages.session_secret, b"ledger session"), b"session"),
        max_age=pages.session_seconds,
        secure=pages.secure_cookie,
    )
    app.add_middleware(SecurityHeaders)


def _docs_page(request: Request) -> Response:
    """Swagger UI from our own files (``/swagger-ui``), started by our own script."""
    return render(request, "docs.html")


def _is_page(request: Request) -> bool:
    path = request.url.path
    return path.startswith(PAGE_PREFIXES) or (
        path.startswith("/v1/shared/") and public_pages.wants_html(request)
    )


async def _answer(result: Response | Awaitable[Response]) -> Response:
    return await result if inspect.isawaitable(result) else result


def _install_error_pages(app: FastAPI) -> None:
    """Browsers on a page get an error page in their language; API clients keep problem+json."""
    api_ledger_error = app.exception_handlers[LedgerError]
    api_validation_error = app.exception_handlers[RequestValidationError]

    async def ledger_error(request: Request, error: Exception) -> Any:
        if not _is_page(request):
            return await _answer(api_ledger_error(request, error))
        status = status_of(error) if isinstance(error, LedgerError) else 500
        return render(request, "error.html", status_code=status, status=status)

    async def validation_error(request: Request, error: Exception) -> Any:
        if not _is_page(request):
            return await _answer(api_validation_error(request, error))
        return render(request, "error.html", status_code=422, status=422)

    async def sign_in_required(request: Request, error: Exception) -> Response:
        assert isinstance(error, signin.SignInRequired)
        return RedirectResponse(f"/signin?next={quote(error.next_path)}", status_code=303)

    app.add_exception_handler(LedgerError, ledger_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(signin.SignInRequired, sign_in_required)
