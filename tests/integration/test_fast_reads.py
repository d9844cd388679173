"""The fast reads answer exactly what the FastAPI routes answer.

Every question is asked twice of one application on the demo world: through the
fast path, then with the fast path off (FastAPI's routes). Status, every header
in order and the body must be the same, errors included; for the questions the
fast path is meant to answer itself, it must not have handed them on.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from ledger.api import fast_reads
from ledger.api.app import create_app
from ledger.api.auth import mint_dev_token
from ledger.api.fast_reads import FastReads
from ledger.api.routes import verifier
from prometheus_client import REGISTRY

from ledger.application import publishing
from ledger.domain.base import utcnow
from ledger.settings import Settings
from tests.conftest import POSTGRES_URL, postgres_store_url, require_postgres


@dataclass
class World:
    client: TestClient
    fast: FastReads
    demo: dict[str, Any]
    tokens: dict[str, str]


def _cli(env: dict[str, str], cwd: Path, *args: str) -> Any:
    done = subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", *args, "--json"],
        env={**env, "PATH": "/usr/bin:/bin"},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    return json.loads(done.stdout)


def _fast_reads(app: Any) -> FastReads:
    layer = app.middleware_stack
    while not isinstance(layer, FastReads):
        layer = layer.app
    return layer


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    """The demo world (two issuers, credentials in every state, a checkpoint), served in
    process; the clock of the status routes and of signing held still."""
    directory = tmp_path_factory.mktemp("fast-reads")
    schema = None
    if request.param == "sqlite":
        store = f"sqlite:///{directory / 'ledger.db'}"
    else:
        require_postgres()
        schema = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
        store = postgres_store_url(schema)
    env = {
        "LEDGER_KEY_DIR": str(directory / "keys"),
        "LEDGER_STORE": store,
        "LEDGER_ENV": "development",
        "LEDGER_PUBLIC_RATE": "0",
    }
    _cli(env, directory, "init")
    demo = _cli(env, directory, "demo")
    _cli(env, directory, "checkpoint")
    settings = Settings.from_env(env)
    now = utcnow()
    patch = pytest.MonkeyPatch()
    for module in (fast_reads, verifier, publishing):
        patch.setattr(module, "utcnow", lambda: now)
    try:
        with TestClient(create_app(settings)) as client:
            client.get("/healthz")  # builds the middleware stack
            university = uuid.UUID(demo["issuers"]["university"])
            tokens = {
                "verifier": mint_dev_token(settings, role="verifier", subject="v@test"),
                "administrator": mint_dev_token(
                    settings, role="administrator", subject="a@test", issuer_id=university
                ),
            }
            yield World(client, _fast_reads(client.app), demo, tokens)
    finally:
        patch.undo()
        if schema is not None:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA {schema} CASCADE")


UNKNOWN = "7b0d5c1e-1f4e-4d43-9a56-0b9a1f7c2e11"
SIGNED = "application/vc"


@dataclass(frozen=True)
class Case:
    """One request; ``fast``: the fast path answers it itself."""

    path: str
    headers: tuple[tuple[str, str], ...] = ()
    fast: bool = True
    method: str = "GET"


def _cases() -> dict[str, Case]:
    status = "/v1/status/{credentials[revoked]}"
    listed = "/v1/status-lists/{issuers[university]}/1"
    did = "/issuers/{issuers[university]}/did.json"
    verifier_token = (("Authorization", "{verifier}"),)
    return {
        # the status check
        "status active": Case("/v1/status/{credentials[badge]}", verifier_token),
        "status revoked": Case(status, verifier_token),
        "status suspended": Case("/v1/status/{credentials[suspended]}", verifier_token),
        "status unknown id": Case(f"/v1/status/{UNKNOWN}", verifier_token),
        "status malformed id": Case("/v1/status/not-an-id", verifier_token, fast=False),
        "status upper-case id": Case(
            "/v1/status/{credentials[badge_upper]}", verifier_token, fast=False
        ),
        "status no token": Case(status),
        "status malformed id, no token": Case("/v1/status/not-an-id"),
        "status bad token": Case(status, (("Authorization", "Bearer not.a.token"),)),
        "status lower-case scheme": Case(status, (("Authorization", "{verifier_lower}"),)),
        "status basic scheme": Case(status, (("Authorization", "Basic dXNlcjpwYXNz"),)),
        "status empty bearer": Case(status, (("Authorization", "Bearer "),)),
        "status wrong role": Case(status, (("Authorization", "{administrator}"),)),
        "status with a cookie": Case(
            status, (*verifier_token, ("Cookie", "ledger_session=stale")), fast=False
        ),
        "status trailing slash": Case(status + "/", verifier_token, fast=False),
        "status HEAD": Case(status, verifier_token, fast=False, method="HEAD"),
        # status lists
        "list revocation": Case(listed + "/revocation"),
        "list suspension": Case(listed + "/suspension"),
        "list revocation, query": Case(listed + "/revocation?x=1"),
        "list 304": Case(listed + "/revocation", (("If-None-Match", "{etag_list}"),)),
        "list 304 among others": Case(
            listed + "/revocation", (("If-None-Match", 'W/"x", {etag_list} '),)
        ),
        "list other etag": Case(listed + "/revocation", (("If-None-Match", '"nope"'),)),
        "list unknown issuer": Case(f"/v1/status-lists/{UNKNOWN}/1/revocation", fast=False),
        "list unknown number": Case(
            "/v1/status-lists/{issuers[university]}/9/revocation", fast=False
        ),
        "list number 0": Case("/v1/status-lists/{issuers[university]}/0/revocation", fast=False),
        "list number 01": Case("/v1/status-lists/{issuers[university]}/01/revocation", fast=False),
        "list bad purpose": Case(listed + "/nonsense", fast=False),
        "list malformed issuer": Case("/v1/status-lists/nope/1/revocation", fast=False),
        "list HEAD": Case(listed + "/revocation", fast=False, method="HEAD"),
        # signed status lists
        "signed revocation": Case(listed + "/revocation/credential"),
        "signed suspension": Case(listed + "/suspension/credential"),
        "signed 304": Case(
            listed + "/revocation/credential", (("If-None-Match", "{etag_signed}"),)
        ),
        "signed unknown issuer": Case(
            f"/v1/status-lists/{UNKNOWN}/1/revocation/credential", fast=False
        ),
        "signed other suffix": Case(listed + "/revocation/other", fast=False),
        # DID documents
        "did issuer": Case(did),
        "did other issuer": Case("/issuers/{issuers[college]}/did.json"),
        "did unknown issuer": Case(f"/issuers/{UNKNOWN}/did.json"),
        "did malformed issuer": Case("/issuers/nope/did.json", fast=False),
        "did operator": Case("/.well-known/did.json"),
        # contexts
        "context v1": Case("/contexts/ob-extensions-v1.json"),
        "context v1 304": Case(
            "/contexts/ob-extensions-v1.json", (("If-None-Match", "{etag_context}"),)
        ),
        "context v2": Case("/contexts/ob-extensions-v2.json"),
        "context v1 HEAD": Case("/contexts/ob-extensions-v1.json", fast=False, method="HEAD"),
        # the checkpoint
        "checkpoint": Case("/v1/log/checkpoint"),
        "checkpoint, request id echoed": Case("/v1/log/checkpoint", (("X-Request-ID", "mine-1"),)),
    }


CASES = _cases()


def _values(world: World) -> dict[str, Any]:
    demo = world.demo
    credentials = {**demo["credentials"], "badge_upper": demo["credentials"]["badge"].upper()}
    university = demo["issuers"]["university"]
    fast = world.fast
    fast.enabled = False
    try:
        etags = {
            "etag_list": f"/v1/status-lists/{university}/1/revocation",
            "etag_signed": f"/v1/status-lists/{university}/1/revocation/credential",
            "etag_context": "/contexts/ob-extensions-v1.json",
        }
        found = {name: world.client.get(path).headers["etag"] for name, path in etags.items()}
    finally:
        fast.enabled = True
    return {
        "credentials": credentials,
        "issuers": demo["issuers"],
        "verifier": "Bearer " + world.tokens["verifier"],
        "verifier_lower": "bearer " + world.tokens["verifier"],
        "administrator": "Bearer " + world.tokens["administrator"],
        **found,
    }


def _counts() -> dict[tuple[str, ...], float]:
    """The request counter's samples, by their labels."""
    return {
        (sample.labels["route"], sample.labels["method"], sample.labels["status"]): sample.value
        for metric in REGISTRY.collect()
        if metric.name == "ledger_http_requests"
        for sample in metric.samples
        if sample.name == "ledger_http_requests_total"
    }


def _ask(world: World, case: Case, values: dict[str, Any]) -> tuple[Any, ...]:
    """Status, headers in order, body, and the metric labels the request was counted under."""
    headers = [("X-Request-ID", "same-id")]
    headers += [(name, value.format(**values)) for name, value in case.headers]
    before = _counts()
    response = world.client.request(
        case.method, case.path.format(**values), headers=headers, follow_redirects=False
    )
    counted = [labels for labels, value in _counts().items() if value != before.get(labels, 0)]
    return response.status_code, list(response.headers.raw), response.content, counted


@pytest.mark.parametrize("name", list(CASES))
def test_the_fast_path_answers_as_the_route_does(world: World, name: str) -> None:
    case = CASES[name]
    values = _values(world)
    behind = world.fast.app
    handed_on: list[str] = []

    async def watched(scope: Any, receive: Callable[[], Awaitable[Any]], send: Any) -> None:
        handed_on.append(scope["path"])
        await behind(scope, receive, send)

    if case.fast:
        _ask(world, case, values)  # a list not in memory yet is read by the route, once
    world.fast.app = watched
    try:
        fast = _ask(world, case, values)
    finally:
        world.fast.app = behind
    world.fast.enabled = False
    try:
        routed = _ask(world, case, values)
    finally:
        world.fast.enabled = True
    assert fast == routed
    assert (not handed_on) == case.fast, f"handed on to FastAPI: {handed_on}"
