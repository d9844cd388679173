"""Operations: liveness, readiness (store reachable, projections caught up), metrics."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter
from ledger.api.deps import ServicesDep
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest
from starlette.responses import Response

router = APIRouter(tags=["operations"])

READY_LAG = 1000
PROJECTION_LAG = Gauge("ledger_projection_lag_events", "Events the slowest projection is behind")


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    responses={503: {"description": "Store unreachable, or projections failed, stuck or behind"}},
)
def readyz(services: ServicesDep) -> Response:
    """The store answers and the read side is sound: not failed, not stuck, not far behind.

    Stuck means behind the log and not moving for ``LEDGER_READY_STUCK_SECONDS``: a
    projection process that is down or stopped on an event looks like that as soon
    as anything is written after it stopped.
    """
    body: dict[str, Any]
    try:
        lag = services.runner.lag()
        position = services.runner.slowest_position()
    except Exception as error:
        body, status = {"status": "store unreachable", "detail": type(error).__name__}, 503
    else:
        PROJECTION_LAG.set(lag)
        stuck = services.progress.stuck(position=position, lag=lag, now=time.monotonic())
        if services.runner.failure is not None:
            body = {"status": "projections failed", "lag": lag, "detail": services.runner.failure}
        elif stuck:
            body = {"status": "projections stuck", "lag": lag, "position": position}
        elif lag > READY_LAG:
            body = {"status": "projections behind", "lag": lag}
        else:
            body = {"status": "ready", "lag": lag}
        status = 200 if body["status"] == "ready" else 503
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: requests by route and status, latency, projection lag."""
    PROJECTION_LAG.set(services.runner.lag())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
