"""Paging on the audit pages, in process on both stores: a trail read a page at a time
is the whole trail, in order, with nothing twice and nothing left out; the checkpoints
read a page at a time each still prove that they extend the one before, across pages.
The page sizes are made small here so that a small log has several pages."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from ledger.api.app import create_app
from ledger.api.pages import audit_pages

from tests.integration.test_audit_verification_runs import _settings
from tests.integration.test_console_cli import Cli

ACTOR = "alice@uni.example"


def _auditor(client: TestClient) -> str:
    page = client.get("/signin")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    client.post(
        "/signin/dev",
        data={"subject": "auditor@audit.example", "role": "auditor", "csrf_token": token[1]},
    )
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/audit/trail").text)
    assert token is not None
    return token[1]


def test_a_trail_a_page_at_a_time_is_the_whole_trail(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(store_url, tmp_path)
    monkeypatch.setattr(audit_pages, "TRAIL_PAGE", 3)
    with TestClient(create_app(settings)) as client:
        token = _auditor(client)
        whole = client.app.state.services.views.audit_trail("actor", ACTOR, limit=1000)  # type: ignore[attr-defined]
        assert len(whole) > 3
        seen: list[int] = []
        after = "0"
        for _ in range(len(whole)):
            page = client.post(
                "/audit/trail",
                data={"kind": "actor", "key": ACTOR, "after": after, "csrf_token": token},
            )
            assert page.status_code == 200
            seen += [int(p) for p in re.findall(r"<tr>\s*<td>(\d+)</td>", page.text)]
            more = re.search(r'name="after" value="(\d+)"', page.text)
            if more is None:
                break
            assert "Next events" in page.text
            after = more[1]
        assert seen == [item["position"] for item in whole]


def test_checkpoints_a_page_at_a_time_each_prove_the_one_before(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(store_url, tmp_path)  # one checkpoint
    cli = Cli(store_url, tmp_path)
    for name in ("Extra Een", "Extra Twee"):
        cli("institution", "register", name, "--country", "NL")  # the log grows
        cli("checkpoint")
    sizes = [row["tree_size"] for row in cli("checkpoints")]
    assert len(sizes) == 3
    monkeypatch.setattr(audit_pages, "CHECKPOINT_PAGE", 1)
    with TestClient(create_app(settings)) as client:
        _auditor(client)
        first = client.get("/audit/checkpoints")
        assert f"Tree of {sizes[0]} events" in first.text
        assert "The first checkpoint: nothing before it to extend." in first.text
        assert f'href="/audit/checkpoints?after={sizes[0]}"' in first.text
        for before, size in pairwise(sizes):
            page = client.get(f"/audit/checkpoints?after={before}")
            assert f"Tree of {size} events" in page.text
            assert (
                f"It extends the tree of {before} events: the consistency proof checks."
                in page.text
            )
        assert "Later checkpoints" not in client.get(f"/audit/checkpoints?after={sizes[2]}").text


def test_a_checkpoint_whose_root_was_changed_shows_its_proofs_failing(
    store_url: str, tmp_path: Path
) -> None:
    settings = _settings(store_url, tmp_path)
    cli = Cli(store_url, tmp_path)
    cli("institution", "register", "Extra Een", "--country", "NL")
    cli("checkpoint")
    first, second = (row["tree_size"] for row in cli("checkpoints"))
    with TestClient(create_app(settings)) as client:
        _auditor(client)
        assert "Not consistent" not in client.get("/audit/checkpoints").text
        # Someone with database access rewrites the served root of the newer checkpoint.
        runner = client.app.state.services.runner  # type: ignore[attr-defined]
        with runner.transaction(commit=True) as (_, cursor):
            cursor.execute(
                "UPDATE merkle_checkpoints SET root_hash = ? WHERE tree_size = ?",
                ("ab" * 32, second),
            )
        page = client.get("/audit/checkpoints")
        assert "<strong>Not consistent</strong>" in page.text
        assert f"It does not extend the tree of {first} events:" in page.text
        assert "consistency proof does not reproduce the new root hash" in page.text
        proof = client.get(f"/audit/checkpoints/inclusion?position=1&size={second}")
        assert proof.status_code == 200
        assert "<strong>Not proven</strong>" in proof.text and "Included" not in proof.text
        still = client.get(f"/audit/checkpoints/inclusion?position=1&size={first}")
        assert "<strong>Included</strong>" in still.text
    assert cli("checkpoints", ok=False).returncode == 1
