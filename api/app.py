"""The FastAPI application: routes per caller role, problem details, logs and metrics."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.responses import ORJSONResponse
from ledger.api import pages, problems
from ledger.api.deps import Services
from ledger.api.routes import (
    achievements,
    admin,
    auditor,
    claims_inbox,
    cohorts,
    credentials,
    institutions,
    issued,
    learner,
    ops,
    public,
    transparency,
    vc_api,
    verifier,
)
from ledger.api.schemas import Problem
from prometheus_client import Counter, Histogram
from starlette.responses import Response

from ledger.settings import Settings

REQUESTS = Counter("ledger_http_requests_total", "HTTP requests", ["route", "method", "status"])
LATENCY = Histogram("ledger_http_request_seconds", "HTTP request latency", ["route", "method"])
access_log = logging.getLogger("ledger.access")
PID = os.getpid()  # which worker served a request, with --workers N


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for the configured store (one ``Services`` per worker process)."""
    settings = settings or Settings.from_env()
    app = FastAPI(
        title="ledger",
        version="0.1.0",
        description="Signed, append-only ledger of educational credentials.",
        default_response_class=ORJSONResponse,
        docs_url=None,  # served offline by the pages (bundled Swagger UI)
        redoc_url=None,
    )
    app.state.services = Services.start(settings)
    problems.install(app)
    for module in (
        admin,
        institutions,
        achievements,
        cohorts,
        issued,
        claims_inbox,
        learner,
        verifier,
        auditor,
        public,
        credentials,
        transparency,
        vc_api,
        ops,
    ):
        app.include_router(module.router)
    _add_problem_schema(app)
    pages.mount(app, settings)

    @app.middleware("http")
    async def observe(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
        start = time.perf_counter()
        response = await call_next(request)
        elapsed = time.perf_counter() - start
        route = getattr(request.scope.get("route"), "path", "unmatched")
        REQUESTS.labels(route, request.method, str(response.status_code)).inc()
        LATENCY.labels(route, request.method).observe(elapsed)
        response.headers["X-Request-ID"] = request_id
        access_log.info(
            orjson.dumps(
                {
                    "request_id": request_id,
                    "pid": PID,
                    "method": request.method,
                    "route": route,
                    "status": response.status_code,
                    "ms": round(elapsed * 1000, 2),
                }
            ).decode()
        )
        return response

    return app


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = (
            Problem.model_json_schema()
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
