"""First run (issue 10, item 10): the CLI creates nothing it should not, and says why."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

from tests.integration.test_cli import run


def test_token_on_an_uninitialised_store_refuses_and_creates_nothing(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'nothing.db'}"
    result = run(
        "token", "--store", store, "--role", "learner", "--subject", "s", cwd=tmp_path, env={}
    )
    assert result.returncode == 1
    assert "ledger init" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_check_creates_no_store(tmp_path: Path) -> None:
    presented = tmp_path / "credential.json"
    presented.write_text(json.dumps({"@context": [], "type": ["VerifiableCredential"]}))
    result = run("check", str(presented), cwd=tmp_path, env={"LEDGER_STORE": ""})
    assert result.returncode == 3, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["credential.json"]


def test_the_demo_refuses_a_second_run_clearly(tmp_path: Path) -> None:
    env = {"LEDGER_STORE": f"sqlite:///{tmp_path / 'demo.db'}", "LEDGER_ENV": "development"}
    assert run("init", cwd=tmp_path, env=env).returncode == 0
    assert run("demo", cwd=tmp_path, env=env).returncode == 0
    events = run("verify", "--json", "--workers", "1", cwd=tmp_path, env=env)
    again = run("demo", cwd=tmp_path, env=env)
    assert again.returncode == 1
    assert "already holds records" in again.stderr
    after = run("verify", "--json", "--workers", "1", cwd=tmp_path, env=env)
    assert json.loads(after.stdout)["events"] == json.loads(events.stdout)["events"]


def test_the_app_uses_no_deprecated_response_class(tmp_path: Path) -> None:
    from ledger.api.app import create_app

    from ledger.settings import Settings

    settings = Settings.from_env(
        {"LEDGER_STORE": f"sqlite:///{tmp_path / 'l.db'}", "LEDGER_KEY_DIR": str(tmp_path / "k")}
    )
    from fastapi.testclient import TestClient

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with TestClient(create_app(settings)) as client:
            assert client.get("/healthz").status_code == 200
    assert not [w for w in caught if "ORJSONResponse" in str(w.message)]


def test_readme_names_no_file_outside_the_repository() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert "../shared" not in readme
    assert "demo/ledger.db" in readme
