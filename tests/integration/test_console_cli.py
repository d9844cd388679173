"""The console's commands as a real ``ledger`` process on both stores: onboarding,
administrators, study-load policies and keys, with no Python in between."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from ledger.application.actor import acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.eventlog.signing_keys import FileKeyStore
from tests.factories import admin, micro
from tests.integration.test_cli import run


class Cli:
    def __init__(self, store_url: str, tmp_path: Path) -> None:
        self.store_url = store_url
        self.tmp_path = tmp_path
        self.env = {
            "LEDGER_KEY_DIR": str(tmp_path / "keys"),
            "LEDGER_STORE": store_url,
            "LEDGER_ENV": "development",  # unset, PostgreSQL means production
        }

    def __call__(self, *args: str, ok: bool = True) -> Any:
        done = run(*args, "--json", cwd=self.tmp_path, env=self.env)
        if ok:
            assert done.returncode == 0, done.stderr
            return json.loads(done.stdout)
        assert done.returncode != 0, done.stdout
        return done


def test_onboarding_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    made = cli(
        "institution",
        "register",
        "Universiteit CLI",
        "--country",
        "NL",
        "--identifier",
        "BRIN=21PB",
        "--homepage",
        "https://www.cli.example",
        "--administrator",
        "alice",
    )
    issuer_id = made["issuer_id"]
    assert made["kid"].startswith("ed25519:")
    listed = cli("institution", "list")
    assert [(i["issuer_id"], i["name"]) for i in listed] == [(issuer_id, "Universiteit CLI")]
    edited = cli("institution", "edit", issuer_id, "--logo-url", "https://www.cli.example/l.png")
    assert edited["logo_url"] == "https://www.cli.example/l.png"
    assert edited["identifiers"] == {"BRIN": "21PB"}
    bad = cli("institution", "edit", issuer_id, "--identifier", "OIN=12", ok=False)
    assert "OIN" in bad.stderr and bad.returncode == 1
    assert cli("administrator", "add", issuer_id, "bob")["administrators"] == ["alice", "bob"]
    assert cli("administrator", "remove", issuer_id, "alice")["administrators"] == ["bob"]
    assert cli("administrator", "list", issuer_id)["administrators"] == ["bob"]
    missing = cli("administrator", "remove", issuer_id, "alice", ok=False)
    assert "not an administrator" in missing.stderr

    outside = cli(
        "policy",
        "adopt",
        issuer_id,
        "nl-microcredentials-experiment-1ec",
        "--until",
        "2030-01-01T00:00:00+00:00",
        ok=False,
    )
    assert "2025-05-01 to 2027-04-30" in outside.stderr
    adopted = cli("policy", "adopt", issuer_id, "nl-microcredentials-experiment-1ec")
    assert [p["policy"] for p in adopted["adopted"]] == ["nl-microcredentials-experiment-1ec"]
    shown = cli("institution", "show", issuer_id)
    assert shown["administrators"] == ["bob"]
    assert len(shown["policies"]) == 1

    text = run("institution", "show", issuer_id, cwd=tmp_path, env=cli.env).stdout
    assert "Universiteit CLI (NL)" in text and "BRIN=21PB" in text and "active" in text


def test_key_rotation_and_compromise_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    issuer_id = cli("institution", "register", "Uni", "--country", "NL", "--administrator", "a")[
        "issuer_id"
    ]
    rotated = cli("key", "rotate", issuer_id)
    kid = rotated["new_kid"]
    assert [k["active"] for k in rotated["keys"]] == [False, True]
    # Issue through the library (the CSV import has its own tests) before and after an instant.
    ledger = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    try:
        with acting_as(admin(UUID(issuer_id), "a")):
            achievement = ledger.define_achievement(UUID(issuer_id), AchievementSpec.parse(micro()))
            ledger.issue_credential(UUID(issuer_id), achievement, CredentialOrder("early"))
            since = datetime.now(UTC)
            late = ledger.issue_credential(UUID(issuer_id), achievement, CredentialOrder("late"))
    finally:
        ledger.close()
    preview = cli("key", "signed-since", kid, since.isoformat())
    assert preview["credentials"] == [str(late)]
    # Status entries come from a block reserved by the first issuance, before the instant:
    # the institution's own record has nothing signed since, and it can go on issuing.
    assert preview["institutions"] == []
    naive = cli(
        "key", "compromise", kid, "--since", "2026-01-01T00:00:00", "--reason", "x", ok=False
    )
    assert "time zone" in naive.stderr
    marked = cli("key", "compromise", kid, "--since", since.isoformat(), "--reason", "leaked")
    assert marked["credentials"] == [str(late)]
    assert marked["replaced_by"] and marked["replaced_by"] != kid
    text = run("key", "signed-since", kid, since.isoformat(), cwd=tmp_path, env=cli.env).stdout
    assert "1 credentials no longer verify: issue them again" in text
    assert str(late) in text
