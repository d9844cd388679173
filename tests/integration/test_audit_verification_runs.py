"""Whole-log verifications started from the audit pages, on both stores.

One run at a time per server (a second start shows the running one), bounded history,
a run that breaks says so and is never "verified"; and the progress page, while a run
is held open, refreshes itself without JavaScript and loads only our own script.
The verification is the real one (``verify_store``); the tests only hold it at the
start, through the ``verify`` seam, so that "running" can be looked at without luck.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from ledger.api.app import create_app
from ledger.api.pages.audit_verification import VerificationRun, VerificationRuns

from ledger.audit.live_store import verify_store
from ledger.audit.log_verifier import Report
from ledger.settings import Settings
from tests.integration.test_console_cli import Cli

DEADLINE = 120.0


class Gate:
    """Holds each run at its start until opened; then the real verification runs."""

    def __init__(self) -> None:
        self.open = threading.Event()

    def __call__(self, settings: Settings, **options: Any) -> tuple[Report, list[str]]:
        assert self.open.wait(DEADLINE), "the test never opened the gate"
        return verify_store(settings, **options)


def _settings(store_url: str, tmp_path: Path) -> Settings:
    cli = Cli(store_url, tmp_path)
    cli("init")
    cli("demo")
    cli("checkpoint")
    return Settings.from_env(cli.env)


def _until_done(runs: VerificationRuns, run_id: str) -> VerificationRun:
    deadline = time.monotonic() + DEADLINE
    lock = runs.directory / "running.lock"
    while ((run := runs.get(run_id)) is not None and run.state == "running") or lock.exists():
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.05)
    assert run is not None
    return run


def test_one_run_at_a_time_with_a_report_and_a_bounded_history(
    store_url: str, tmp_path: Path
) -> None:
    settings = _settings(store_url, tmp_path)
    gate = Gate()
    runs = VerificationRuns(settings, keep=2, verify=gate)
    first, started = runs.start("auditor-a")
    assert started and first.state == "running" and not first.verified
    assert first.progress() == {
        "run_id": first.run_id,
        "state": "running",
        "done": 0,
        "total": 0,
        "percent": 0,
        "verified": False,
    }
    second, started_again = runs.start("auditor-b")
    assert second == first and not started_again
    # Another object on the same directory (another worker) sees the run and its lock.
    other = VerificationRuns(settings, keep=2, verify=gate)
    assert other.start("auditor-c") == (first, False)
    assert runs.latest() == first and other.get(first.run_id) == first
    directory = settings.key_dir / "audit-verifications"
    assert directory.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in directory.iterdir())
    gate.open.set()
    first = _until_done(runs, first.run_id)
    assert first.state == "finished" and first.verified
    assert first.report is not None
    assert first.report["ok"] and first.report["events"] > 0
    assert first.report["checkpoints"] == first.report["checkpoints_in_log"] == 1
    assert first.report["summary"].startswith("Verified ")
    assert "@" not in first.report["source"]  # no credentials of the store on a page
    assert first.progress()["percent"] == 100

    later = []
    for n in range(4):
        run, started = runs.start(f"auditor-{n}")
        assert started
        later.append(_until_done(runs, run.run_id))
    assert runs.get(first.run_id) is None  # dropped: only the newest few are kept
    assert runs.latest() == later[-1] and runs.get(later[-2].run_id) == later[-2]
    assert runs.get(later[-3].run_id) is None
    assert not (directory / "running.lock").exists()  # the lock goes with its run
    for bad in ("../../etc/passwd", "x" * 15, "running.lock", later[-1].run_id + "x"):
        assert runs.get(bad) is None


def test_a_run_that_breaks_is_never_verified(tmp_path: Path) -> None:
    settings = Settings.from_env(
        {
            "LEDGER_STORE": f"sqlite:///{tmp_path / 'missing' / 'none.db'}",
            "LEDGER_KEY_DIR": str(tmp_path / "keys"),
        }
    )
    runs = VerificationRuns(settings)
    started, _ = runs.start("auditor")
    run = _until_done(runs, started.run_id)
    assert run.state == "broken" and not run.verified
    assert run.error
    assert run.progress()["verified"] is False


@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_the_progress_page_refreshes_without_javascript(store_url: str, tmp_path: Path) -> None:
    settings = _settings(store_url, tmp_path)
    gate = Gate()
    app = create_app(settings)
    with TestClient(app, base_url="http://testserver") as client:
        app.state.audit_verifications = VerificationRuns(settings, verify=gate)
        page = client.get("/signin")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        signed = client.post(
            "/signin/dev",
            data={"subject": "auditor@audit.example", "role": "auditor", "csrf_token": token[1]},
            follow_redirects=False,
        )
        assert signed.headers["location"] == "/audit"
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/audit/verify").text)
        assert token is not None  # a new session, a new token
        started = client.post(
            "/audit/verify", data={"csrf_token": token[1]}, follow_redirects=False
        )
        assert started.status_code == 303
        location = started.headers["location"]
        running = client.get(location)
        assert "<h1>Verifying the log</h1>" in running.text
        assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in running.text
        assert '<script src="/static/audit_verify.js"></script>' in running.text
        assert "<progress" in running.text and 'role="status"' in running.text
        assert "Verified" not in running.text
        assert "script-src 'self'" in running.headers["content-security-policy"]
        assert client.get("/static/audit_verify.js").status_code == 200
        assert client.get(location + "/progress").json()["state"] == "running"
        again = client.post("/audit/verify", data={"csrf_token": token[1]}, follow_redirects=False)
        assert again.headers["location"] == location + "?already=1"
        assert "already running" in client.get(again.headers["location"]).text
        assert "A verification is running" in client.get("/audit/verify").text
        gate.open.set()
        deadline = time.monotonic() + DEADLINE
        while client.get(location + "/progress").json()["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        report = client.get(location)
        assert "<h1>Verified</h1>" in report.text
        assert "<noscript>" not in report.text and "audit_verify.js" not in report.text

        app.state.audit_verifications = VerificationRuns(settings, verify=_unreachable)
        broken = client.post("/audit/verify", data={"csrf_token": token[1]}, follow_redirects=False)
        deadline = time.monotonic() + DEADLINE
        while client.get(broken.headers["location"] + "/progress").json()["state"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        page = client.get(broken.headers["location"])
        assert "<h1>Not verified</h1>" in page.text
        assert "could not run to the end" in page.text and "the store is gone" in page.text
        assert ">Not verified</a>" in client.get("/audit").text


def _unreachable(settings: Settings, **options: Any) -> tuple[Report, list[str]]:
    raise ConnectionError("the store is gone")


def test_a_lock_left_by_a_dead_process_does_not_block_and_its_run_reads_as_broken(
    tmp_path: Path,
) -> None:
    settings = Settings.from_env(
        {"LEDGER_STORE": f"sqlite:///{tmp_path / 'ledger.db'}", "LEDGER_KEY_DIR": str(tmp_path)}
    )
    directory = tmp_path / "audit-verifications"
    directory.mkdir(mode=0o700)
    dead = VerificationRun(run_id="d" * 16, started_by="auditor-gone", done=5, total=10)
    (directory / f"{dead.run_id}.json").write_bytes(dead.to_json())
    (directory / "running.lock").write_bytes(
        orjson.dumps({"run_id": dead.run_id, "pid": _dead_pid(), "process_started": None})
    )
    runs = VerificationRuns(settings, verify=_unreachable)
    interrupted = runs.get(dead.run_id)
    assert interrupted is not None and interrupted.state == "broken" and not interrupted.verified
    assert interrupted.error and "stopped" in interrupted.error
    assert interrupted.progress()["state"] == "broken"

    # A live pid that is another process than the one that took the lock (reused pid).
    (directory / "running.lock").write_bytes(
        orjson.dumps({"run_id": dead.run_id, "pid": os.getpid(), "process_started": "-1"})
    )
    run, started = runs.start("auditor")
    assert started and run.run_id != dead.run_id
    assert _until_done(runs, run.run_id).state == "broken"
    assert not (directory / "running.lock").exists()


def _dead_pid() -> int:
    """The pid of a process that has ended (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid
