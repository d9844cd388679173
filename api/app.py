"""The FastAPI application: routes per caller role, problem details, logs and metrics."""

from __future__ import annotations

import logging
import sys
from typing import Any

from fastapi import FastAPI
from ledger.api import pages, problems
from ledger.api.deps import Services
from ledger.api.fast_reads import FastReads
from ledger.api.log_writer import WRITER
from ledger.api.middleware import BodyLimits, RequestEdge
from ledger.api.rate_limit import RateLimiter
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

from ledger.settings import Settings

logger = logging.getLogger("ledger.server")

#: Request bodies: small by default; a cohort carries up to 20,000 credentials, and a
#: presented credential is bounded again by size and node count in the checker.
BODY_LIMITS = BodyLimits(
    default=64 * 1024,
    by_prefix=(
        ("POST", "/v1/issuers/*/cohorts", 16 * 1024 * 1024),
        # A cohort CSV (at most 16 MB) with room for the form around it: the route
        # itself answers a larger file with a clear message (the page on its form).
        ("POST", "/v1/issuers/*/cohorts/csv", 17 * 1024 * 1024),
        ("POST", "/console/cohorts", 17 * 1024 * 1024),
        ("POST", "/v1/credentials/check", 256 * 1024),
        ("POST", "/verify", 256 * 1024),
        ("POST", "/credentials/verify", 256 * 1024),
        ("POST", "/presentations/verify", 1024 * 1024),
    ),
)
#: Routes anyone may call without a token: rate limited per client.
PUBLIC_PREFIXES = (
    "/v1/shared/",
    "/v1/status-lists/",
    "/v1/credentials/check",
    "/credentials/verify",
    "/presentations/verify",
    "/verify",
    "/v1/log/",
    "/issuers/",
    "/.well-known/",
    "/contexts/",
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the API for the configured store (one ``Services`` per worker process)."""
    settings = settings or Settings.from_env()
    _hand_the_interpreter_over_sooner()
    app = FastAPI(
        title="ledger",
        version="0.1.0",
        description="Signed, append-only ledger of educational credentials.",
        docs_url=None,  # served offline by the pages (bundled Swagger UI)
        redoc_url=None,
    )
    app.state.services = Services.start(settings)
    problems.install(app)
    # Routes are tried in order: the ones verifiers' software calls most (status
    # checks, status lists, the checkpoint) first. No two routers' paths overlap, so
    # the order changes nothing else.
    for module in (
        verifier,
        public,
        credentials,
        transparency,
        ops,
        admin,
        institutions,
        achievements,
        cohorts,
        issued,
        claims_inbox,
        learner,
        auditor,
        vc_api,
    ):
        app.include_router(module.router)
    _add_problem_schema(app)
    pages.mount(app, settings)
    # Inside the request edge (ids, limits, metrics, logs), outside the pages' layers.
    app.add_middleware(FastReads, services=app.state.services, routes=app.routes)
    app.add_middleware(
        RequestEdge,
        body_limits=BODY_LIMITS,
        rate_limiter=(
            RateLimiter(rate=settings.public_rate, burst=max(1, int(settings.public_rate * 2)))
            if settings.public_rate > 0
            else None
        ),
        public_prefixes=PUBLIC_PREFIXES,
    )
    _log_off_the_request_path()
    _log_mode(settings)
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


#: How long a thread holds the interpreter before one waiting for it may run (Python's
#: default is 5 ms). See ``_hand_the_interpreter_over_sooner``.
SWITCH_INTERVAL_SECONDS = 0.0005


def _hand_the_interpreter_over_sooner() -> None:
    """Let a read barrier's refresh thread run soon after its query returns.

    Every status check, status list, DID document and checkpoint waits for a refresh
    that one worker thread runs for all of them (``ReadBarrier``); while the event
    loop is busy, that thread waits up to the switch interval for each of its turns
    at the interpreter, and every request waiting on it waits as long.
    """
    sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_SECONDS))


def _log_mode(settings: Settings) -> None:
    """Say at start which mode the server runs in, and why development tokens work."""
    logger.warning(
        "ledger serving %s in %s mode (%s)%s",
        settings.store.kind,
        settings.environment,
        settings.environment_source,
        "; development tokens are accepted" if settings.development else "",
    )


def _log_off_the_request_path() -> None:
    """The ledger's log records and access lines are written by ``log_writer.WRITER``'s
    thread: a request never waits for the log's stream, nor wakes a thread."""
    WRITER.take_over(logging.getLogger("ledger"))
