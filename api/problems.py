"""RFC 9457 problem details: one stable ``type`` URI per kind of error, in one place."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from ledger.api.check_limits import CheckerBusy
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ledger import errors

PROBLEM_BASE = "urn:ledger:problem:"
MEDIA_TYPE = "application/problem+json"

#: The HTTP status of each kind of error, most specific first; every ``LedgerError``
#: subclass falls under one entry (a test holds this for every subclass defined).
STATUS_BY_ERROR: tuple[tuple[type[errors.LedgerError], int], ...] = (
    (errors.Unauthenticated, 401),
    (CheckerBusy, 429),
    (errors.IdempotencyKeyReused, 422),
    (errors.NotFound, 404),
    (errors.Forbidden, 403),
    (errors.Conflict, 409),
    (errors.InvalidInput, 422),
    (errors.RuleViolation, 409),
    (errors.TamperDetected, 500),
    (errors.ConfigurationError, 500),
    (errors.LedgerError, 400),
)


#: Problem kinds of the errors Starlette and the request edge raise themselves.
HTTP_KINDS = {
    400: "malformed-body",
    404: "not-found",
    405: "method-not-allowed",
    413: "body-too-large",
    429: "rate-limited",
}


def problem(status: int, kind: str, title: str, detail: str, **extra: Any) -> Response:
    """A problem+json response."""
    body = {
        "type": PROBLEM_BASE + kind,
        "title": title,
        "status": status,
        "detail": detail,
        **extra,
    }
    headers = {"WWW-Authenticate": 'Bearer realm="ledger"'} if status == 401 else None
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def status_of(error: errors.LedgerError) -> int:
    """The HTTP status of a ledger error."""
    return next(status for cls, status in STATUS_BY_ERROR if isinstance(error, cls))


def ledger_problem(error: errors.LedgerError) -> Response:
    """The problem response of a ledger error (the routes' handler, and the fast reads)."""
    status = status_of(error)
    detail = str(error) if status < 500 else f"{error.kind}: the ledger refused to continue"
    return problem(status, error.kind, type(error).__name__, detail)


def install(app: FastAPI) -> None:
    """Map every error to a problem response."""

    @app.exception_handler(errors.LedgerError)
    async def ledger_error(request: Request, error: errors.LedgerError) -> Response:
        return ledger_problem(error)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> Response:
        found = error.errors()
        if any(e.get("type") == "json_invalid" for e in found):
            return problem(
                400, "malformed-body", "MalformedBody", "the request body is not valid JSON"
            )
        fields = [
            {
                "field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"),
                "message": e.get("msg", ""),
            }
            for e in found
        ]
        names = ", ".join(f["field"] for f in fields) or "request"
        return problem(422, "invalid-input", "InvalidInput", f"invalid {names}", errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        kind = HTTP_KINDS.get(error.status_code, "http-error")
        return problem(error.status_code, kind, str(error.detail), str(error.detail))


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    }
    for status, description in (
        (400, "The body is not valid JSON"),
        (401, "Missing or invalid bearer token"),
        (403, "Not allowed for this caller"),
        (404, "Not found (or not visible to this caller)"),
        (409, "Conflicts with the current state"),
        (413, "The body is larger than this route accepts"),
        (422, "Invalid input; the fields are named"),
        (429, "Too many requests from this client (public routes)"),
    )
}
