"""A whole-log verification started through one server process is followed through another.

Two ``ledger serve`` processes share one store and one key directory, as the workers of
``ledger serve --workers N`` do; the run is started through the first and its progress,
report and history are read through the second (by construction another process, not
by how the kernel happens to hand out connections). That a second start through another
worker shows the running run is held in ``tests/integration/test_audit_verification_runs.py``
(two ``VerificationRuns`` on one directory, with the run held open).
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import _env, serving

DEADLINE = 120.0


def _signed_in_auditor(http: httpx.Client, url: str) -> str:
    """Sign in through the development sign-in; answers the session's CSRF token."""
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{url}/signin").text)
    assert token is not None
    signed = http.post(
        f"{url}/signin/dev",
        data={"subject": "auditor@audit.example", "role": "auditor", "csrf_token": token[1]},
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/audit", signed.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', http.get(f"{url}/audit/verify").text)
    assert token is not None
    return token[1]


def test_a_run_started_through_one_process_is_followed_through_another(
    store_url: str, tmp_path: Path
) -> None:
    env = _env(store_url, tmp_path, in_process=False)
    cli = [sys.executable, "-m", "ledger.cli.main"]
    for command in ("init", "demo", "checkpoint"):
        subprocess.run([*cli, command], env=env, check=True, capture_output=True, timeout=120)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    with (
        serving(env, tmp_path) as first,
        serving(env, other_dir, project=False) as second,
        # One cookie jar: the session cookie of 127.0.0.1 goes to both ports, as in a browser.
        httpx.Client(timeout=30, follow_redirects=False) as http,
    ):
        csrf = _signed_in_auditor(http, first)
        assert http.get(f"{second}/audit").status_code == 200  # the session holds on both
        started = http.post(f"{first}/audit/verify", data={"csrf_token": csrf})
        assert started.status_code == 303, started.text
        location = started.headers["location"]
        run_id = location.rsplit("/", 1)[-1]
        assert re.fullmatch(r"/audit/verify/[A-Za-z0-9_-]{16}", location)

        # Through the other process: the run is known, running or already done.
        progress = http.get(f"{second}{location}/progress")
        assert progress.status_code == 200, progress.text
        assert progress.json()["run_id"] == run_id
        assert progress.json()["state"] in ("running", "finished")
        deadline = time.monotonic() + DEADLINE
        while (state := http.get(f"{second}{location}/progress").json())["state"] == "running":
            assert time.monotonic() < deadline, "the run did not finish in time"
            time.sleep(0.2)
        assert state["verified"] is True and state["percent"] == 100
        assert state["done"] == state["total"] > 0

        report = http.get(f"{second}{location}")
        assert report.status_code == 200
        assert "<h1>Verified</h1>" in report.text
        assert "auditor@audit.example" in report.text  # who started it, as recorded by the first
        assert f'href="{location}"' in http.get(f"{second}/audit").text
        assert http.get(f"{second}/audit/verify/{'x' * 16}/progress").status_code == 404

        # The key directory holds the runs, privately.
        directory = Path(env["LEDGER_KEY_DIR"]) / "audit-verifications"
        assert directory.stat().st_mode & 0o777 == 0o700
        assert (directory / f"{run_id}.json").stat().st_mode & 0o777 == 0o600
