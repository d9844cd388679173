"""The public verifier page: drop a file, paste JSON or give a link; read the result.

It is one form posted to ``/verify`` (works without JavaScript; a small script
only lets a file be dropped on the page). Checking changes nothing, so the form
needs no session and no CSRF token. The result names every check in plain words.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from ledger.api.pages.checking import check, credential_input, documents_from_url
from ledger.api.pages.rendering import render
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.errors import InvalidInput, NotFound
from ledger.standards.remote_documents import RemoteRefused, RemoteUnavailable

router = APIRouter(include_in_schema=False)


@router.get("/verify")
def verify_page(request: Request) -> Response:
    """The empty form."""
    return render(request, "verify.html", reports=None, error=None, field=None)


@router.post("/verify")
async def verify(request: Request) -> Response:
    """Check what was given and show the report (or which field to correct)."""
    services = request.app.state.services
    try:
        document, url = await credential_input(request)
        documents = (
            await run_in_threadpool(documents_from_url, services, url)
            if url is not None
            else [document]
        )
        reports = [(await run_in_threadpool(check, services, d)).to_json() for d in documents]
    except (InvalidInput, NotFound, RemoteRefused, RemoteUnavailable) as error:
        field, message = _field_of(error)
        return render(
            request, "verify.html", status_code=422, reports=None, error=message, field=field
        )
    return render(request, "verify.html", reports=reports, error=None, field=None)


def _field_of(error: Exception) -> tuple[str, Any]:
    """Which form field the refusal is about, and the message key the template shows."""
    text = str(error)
    if text.startswith("url:") or isinstance(error, NotFound | RemoteRefused | RemoteUnavailable):
        return "url", "url_refused" if not isinstance(error, NotFound) else "link_closed"
    if "larger" in text:
        return "credential", "too_large"
    if "give a file" in text:
        return "credential", "missing"
    return "credential", "not_json"
