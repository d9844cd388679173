"""The ``ledger`` console script, run as a real process on both stores."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_init_demo_history(store_url: str, tmp_path: Path) -> None:
    env = {"LEDGER_KEY_DIR": str(tmp_path / "keys"), "LEDGER_ENV": "development"}
    first = run("init", "--store", store_url, "--json", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] is True
    again = run("init", "--store", store_url, "--json", cwd=tmp_path, env=env)
    assert json.loads(again.stdout)["created"] is False
    demo = run("demo", "--json", cwd=tmp_path, env={**env, "LEDGER_STORE": store_url})
    assert demo.returncode == 0, demo.stderr
    made = json.loads(demo.stdout)
    assert len(made["credentials"]["cohort"]) == 12
    assert made["lookup_without_consent_refused"] is True
    history = run(
        "history",
        made["credentials"]["suspended_and_reinstated"],
        "--store",
        store_url,
        "--json",
        cwd=tmp_path,
        env=env,
    )
    assert history.returncode == 0, history.stderr
    events = json.loads(history.stdout)
    assert [e["topic"] for e in events] == [
        "ledger/Credential/Issued",
        "ledger/Credential/Suspended",
        "ledger/Credential/Reinstated",
    ]
    assert events[1]["prev"] == events[0]["hash"]
    assert events[0]["actor"]["role"] == "administrator"
    text = run(
        "history", made["credentials"]["revoked"], "--store", store_url, cwd=tmp_path, env=env
    )
    assert "Revoked" in text.stdout and "Exam fraud" in text.stdout


def test_history_of_an_unknown_id_fails_clearly(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'l.db'}"
    run("init", "--store", store, cwd=tmp_path)
    result = run("history", "00000000-0000-0000-0000-000000000000", "--store", store, cwd=tmp_path)
    assert result.returncode == 1
    assert "not-found" in result.stderr
    bad = run("history", "not-a-uuid", "--store", store, cwd=tmp_path)
    assert bad.returncode == 2


@pytest.mark.parametrize("url", ["mysql://x/y", "sqlite://", "postgresql:///nohost"])
def test_bad_store_urls_are_refused(url: str, tmp_path: Path) -> None:
    result = run("init", "--store", url, cwd=tmp_path)
    assert result.returncode == 1
    assert "configuration-error" in result.stderr


def test_production_refuses_unencrypted_key_files(tmp_path: Path) -> None:
    result = run(
        "init",
        "--store",
        f"sqlite:///{tmp_path / 'l.db'}",
        cwd=tmp_path,
        env={"LEDGER_ENV": "production"},
    )
    assert result.returncode == 1
    assert "LEDGER_KEY_PASSPHRASE" in result.stderr


def test_encrypted_key_files_round_trip(tmp_path: Path) -> None:
    env = {"LEDGER_ENV": "production", "LEDGER_KEY_PASSPHRASE": "correct horse battery staple"}
    store = f"sqlite:///{tmp_path / 'l.db'}"
    assert run("init", "--store", store, cwd=tmp_path, env=env).returncode == 0
    pem = next((tmp_path / "l.db.keys").glob("*.pem")).read_text()
    assert "ENCRYPTED" in pem
    assert run("demo", "--store", store, cwd=tmp_path, env=env).returncode == 0
    # Signing anything needs the key: with the wrong passphrase the checkpoint is refused.
    wrong = run(
        "checkpoint", "--store", store, cwd=tmp_path, env={**env, "LEDGER_KEY_PASSPHRASE": "wrong"}
    )
    assert wrong.returncode == 1
    assert "key-unavailable" in wrong.stderr


def test_credential_export_and_check(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    env = {"LEDGER_KEY_DIR": str(tmp_path / "keys"), "LEDGER_STORE": store}
    assert run("init", cwd=tmp_path, env=env).returncode == 0
    made = json.loads(run("demo", "--json", cwd=tmp_path, env=env).stdout)
    for key, verified in (("amended", True), ("revoked", False)):
        exported = run("credential", "export", made["credentials"][key], cwd=tmp_path, env=env)
        assert exported.returncode == 0, exported.stderr
        document = json.loads(exported.stdout)
        assert document["proof"][0]["cryptosuite"] == "eddsa-rdfc-2022"
        path = tmp_path / f"{key}.json"
        path.write_text(exported.stdout)
        checked = run("check", str(path), "--json", cwd=tmp_path, env=env)
        assert checked.returncode == (0 if verified else 3), checked.stdout + checked.stderr
        assert json.loads(checked.stdout)["verified"] is verified
    path.write_text("[1]")
    assert run("check", str(path), cwd=tmp_path, env=env).returncode == 2
    missing = run(
        "credential", "export", "00000000-0000-0000-0000-000000000000", cwd=tmp_path, env=env
    )
    assert missing.returncode == 1 and "not-found" in missing.stderr
