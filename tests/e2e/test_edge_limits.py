"""A server without its projector, and a server with a public rate limit (issue 10).

``/readyz`` must turn unready when the projection process is down or stuck, and
writes must not each wait the whole read-after-write bound for a projector that is
not there. Public routes are rate limited per client.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from ledger.settings import Settings
from tests.conftest import postgres_store_url
from tests.e2e.conftest import _env, _wait_until_serving, free_port

CLI = [sys.executable, "-m", "ledger.cli.main"]


@contextmanager
def serve_only(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """``ledger serve`` alone: no projection process beside it."""
    subprocess.run([*CLI, "init"], env=env, check=True, capture_output=True, timeout=60)
    port = free_port()
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*CLI, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
        )
        try:
            url = f"http://127.0.0.1:{port}"
            _wait_until_serving(url, process, log_path)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=30)


def wait_for_status(
    client: httpx.Client, wanted: int, *, deadline: float = 60
) -> dict[str, object]:
    end = time.monotonic() + deadline
    while True:
        response = client.get("/readyz")
        if response.status_code == wanted:
            return response.json()  # type: ignore[no-any-return]
        if time.monotonic() > end:
            raise AssertionError(f"/readyz stayed {response.status_code}: {response.text}")
        time.sleep(0.2)


@pytest.mark.postgres
def test_readyz_turns_unready_when_the_projector_is_down(
    postgres_schema: str, tmp_path: Path
) -> None:
    env = {
        **_env(postgres_store_url(postgres_schema), tmp_path, in_process=False),
        "LEDGER_READY_STUCK_SECONDS": "1",
        # A long bound, so that "waited once" and "waited five times" stay far apart
        # however busy the machine is.
        "LEDGER_READ_WAIT_SECONDS": "10",
    }
    settings = Settings.from_env(env)
    with serve_only(env, tmp_path) as url, httpx.Client(base_url=url, timeout=60) as client:
        from ledger.api.auth import mint_dev_token

        learner = {
            "Authorization": "Bearer " + mint_dev_token(settings, role="learner", subject="s")
        }
        body = {
            "grantee": "hr",
            "purpose": "hiring",
            "all_credentials": True,
            "expires_at": "2031-01-01T00:00:00Z",
        }
        started = time.monotonic()
        for _ in range(5):
            response = client.post("/v1/me/consents", json=body, headers=learner)
            assert response.status_code == 201, response.text
        # The first write waits the bound (10 s) in vain; the others wait 0.5 s, not the
        # bound again. Waiting five times would take at least 50 s.
        assert time.monotonic() - started < 40
        unready = wait_for_status(client, 503)
        assert unready["status"] == "projections stuck"
        projector = subprocess.Popen(
            [*CLI, "project"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            ready = wait_for_status(client, 200)
            assert ready["status"] == "ready"
            response = client.get("/v1/me/backpack", headers=learner)
            assert len(response.json()["consents"]) == 5
        finally:
            projector.terminate()
            projector.wait(timeout=30)


def test_public_routes_are_rate_limited_per_client(tmp_path: Path) -> None:
    env = {
        **_env(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path, in_process=True),
        "LEDGER_PUBLIC_RATE": "2",
    }
    with serve_only(env, tmp_path) as url, httpx.Client(base_url=url, timeout=60) as client:
        statuses = [client.get("/.well-known/did.json").status_code for _ in range(20)]
        assert 429 in statuses
        assert statuses[0] == 200
        limited = client.get("/.well-known/did.json")
        if limited.status_code == 429:
            assert limited.headers["content-type"].startswith("application/problem+json")
            assert limited.headers["retry-after"]
        # Routes that need a token, and operations, are not limited this way.
        assert all(client.get("/healthz").status_code == 200 for _ in range(20))
