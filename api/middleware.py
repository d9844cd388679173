"""The edge of every request, as plain ASGI: request id, limits, metrics and access log.

Starlette's ``BaseHTTPMiddleware`` (``@app.middleware("http")``) runs each request
in a task of its own and copies the response through a stream; this middleware only
wraps ``receive`` and ``send``. It refuses what no route should see (control
characters in the path or query, an oversized body, a client over its rate) before
any route runs, turns an unexpected error into a problem response instead of a bare
500, and on every response, errors included, sets ``X-Request-ID``, counts it under
labels from a fixed set (the label children kept) and notes one JSON access log
line, which ``log_writer.WRITER`` formats and writes off the request path.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_to_bytes

import orjson
from ledger.api.log_writer import REQUEST_IDS, WRITER
from ledger.api.problems import MEDIA_TYPE, PROBLEM_BASE
from ledger.api.rate_limit import RateLimiter
from prometheus_client import Counter, Histogram
from starlette.exceptions import HTTPException as StarletteHTTPException

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

REQUESTS = Counter("ledger_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram("ledger_http_request_seconds", "HTTP request latency", ["route", "method"])
errors_log = logging.getLogger("ledger.errors")
PID = os.getpid()  # which worker served a request, with --workers N

#: Metric labels come from fixed sets: a method outside this set, or a path no route
#: matches, is counted under one label, so a caller cannot create series at will.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"
#: A caller's request id is echoed only if it is short, printable ASCII.
REQUEST_ID = re.compile(rb"[!-~]{1,128}")
#: Control characters (as in ``ledger.api.schemas.CONTROL_CHARACTERS``) in a decoded
#: path or query string.
CONTROL = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class BodyLimits:
    """The largest request body a route accepts, by path prefix (first match wins)."""

    default: int = 64 * 1024
    by_prefix: tuple[tuple[str, str, int], ...] = field(default_factory=tuple)

    def for_request(self, method: str, path: str) -> int:
        """The limit for one request (method and path of the request line)."""
        for route_method, prefix, limit in self.by_prefix:
            if method == route_method and _matches(prefix, path):
                return limit
        return self.default


def _matches(pattern: str, path: str) -> bool:
    """``pattern`` with ``*`` standing for one path segment."""
    wanted, given = pattern.split("/"), path.rstrip("/").split("/")
    return len(wanted) == len(given) and all(
        w in ("*", g) for w, g in zip(wanted, given, strict=True)
    )


class TooLarge(StarletteHTTPException):
    """The body grew past the route's limit while it was read.

    An HTTP exception, so that FastAPI's body reader passes it on instead of turning
    it into a 400 and the problem handlers answer 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"this route accepts bodies of at most {limit} bytes")


class RequestEdge:
    """Pure ASGI middleware: see the module's docstring."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        body_limits: BodyLimits,
        rate_limiter: RateLimiter | None = None,
        public_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.body_limits = body_limits
        self.rate_limiter = rate_limiter
        self.public_prefixes = public_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        state = {"status": 500, "started": False}
        request_id_header = (b"x-request-id", request_id.encode("ascii"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                message["headers"] = [*message.get("headers", ()), request_id_header]
            await send(message)

        try:
            refusal = self._refusal(scope)
            if refusal is not None:
                await _problem(send_with_id, *refusal)
            else:
                await self.app(scope, self._bounded(scope, receive), send_with_id)
        except TooLarge:
            if not state["started"]:
                await _problem(send_with_id, *_too_large(scope, self.body_limits))
        except Exception:
            errors_log.exception("request %s failed", request_id)
            if not state["started"]:
                await _problem(
                    send_with_id,
                    500,
                    "internal-error",
                    "the request failed; quote the X-Request-ID when reporting it",
                )
        finally:
            self._observe(scope, request_id, int(state["status"]), time.perf_counter() - start)

    def _refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """Why a request is refused before any route sees it (None: it is not)."""
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8", "replace")
        query: bytes = scope.get("query_string", b"")
        if CONTROL.search(_decoded(raw_path)) or (
            query and CONTROL.search(_decoded(query.replace(b"+", b" ")))
        ):
            return 422, "invalid-input", "control characters are not allowed in the path or query"
        limit = self.body_limits.for_request(scope["method"], scope["path"])
        length = _content_length(scope)
        if length is not None and length > limit:
            return _too_large(scope, self.body_limits)
        if self.rate_limiter is not None and scope["path"].startswith(self.public_prefixes):
            client = scope.get("client")
            if not self.rate_limiter.allow(client[0] if client else "unknown"):
                return 429, "rate-limited", "too many requests from this client; slow down"
        return None

    def _bounded(self, scope: Scope, receive: Receive) -> Receive:
        """``receive`` that stops a body (chunked, or lying about its length) at the limit."""
        limit = self.body_limits.for_request(scope["method"], scope["path"])
        received = 0

        async def bounded() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise TooLarge(limit)
            return message

        return bounded

    def _observe(self, scope: Scope, request_id: str, status: int, elapsed: float) -> None:
        method = scope["method"] if scope["method"] in METHODS else "OTHER"
        route = getattr(scope.get("route"), "path", UNMATCHED)
        _counter(route, method, status).inc()
        _histogram(route, method).observe(elapsed)
        WRITER.access((request_id, PID, method, route, status, elapsed))


@functools.cache
def _counter(route: str, method: str, status: int) -> Any:
    """The request counter's child for these labels (``labels`` costs a lock and a
    lookup per call; the label sets are fixed, so the children are kept)."""
    return REQUESTS.labels(route, method, str(status))


@functools.cache
def _histogram(route: str, method: str) -> Any:
    """The latency histogram's child for these labels."""
    return LATENCY.labels(route, method)


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            if REQUEST_ID.fullmatch(value):
                return str(value.decode("ascii"))
            break
    return REQUEST_IDS.next()


def _decoded(raw: bytes) -> bytes:
    """Percent-decoded bytes (most paths have no escapes: nothing to decode)."""
    return unquote_to_bytes(raw) if b"%" in raw else raw


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _too_large(scope: Scope, limits: BodyLimits) -> tuple[int, str, str]:
    limit = limits.for_request(scope["method"], scope["path"])
    return 413, "body-too-large", f"this route accepts bodies of at most {limit} bytes"


async def _problem(send: Send, status: int, kind: str, detail: str) -> None:
    body = orjson.dumps(
        {"type": PROBLEM_BASE + kind, "title": kind, "status": status, "detail": detail}
    )
    headers = [
        (b"content-type", MEDIA_TYPE.encode("ascii")),
        (b"content-length", str(len(body)).encode("ascii")),
    ]
    if status == 429:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
