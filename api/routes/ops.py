"""Operations: liveness, readiness (store reachable, projections caught up), metrics."""

from __future__ import annotations

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
def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Store unreachable or projections behind"}})
def readyz(services: ServicesDep) -> Response:
    """The store answers and the projections are within ``READY_LAG`` events of the log."""
    body: dict[str, Any]
    try:
        lag = services.runner.lag()
    except Exception as error:
        body, status = {"status": "store unreachable", "detail": type(error).__name__}, 503
    else:
        PROJECTION_LAG.set(lag)
        ready = lag <= READY_LAG
        body, status = (
            {"status": "ready" if ready else "projections behind", "lag": lag},
            200 if ready else 503,
        )
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.get("/metrics", include_in_schema=False)
def metrics(services: ServicesDep) -> Response:
    """Prometheus metrics: requests by route and status, latency, projection lag."""
    PROJECTION_LAG.set(services.runner.lag())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
