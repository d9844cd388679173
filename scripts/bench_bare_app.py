"""The HTTP baseline: a bare FastAPI app with one constant route and no middleware.

``scripts/bench_http.py`` serves it with uvicorn beside ``ledger serve`` (same
worker count, same client, same run), so that a route of ours is held against what
FastAPI itself costs on this machine.
"""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
async def healthz() -> dict[str, str]:
    """A constant, as cheap as a FastAPI route gets."""
    return {"status": "ok"}
