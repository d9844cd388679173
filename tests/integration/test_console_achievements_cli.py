"""Achievements from the command line, on both stores: define, list, show, revise."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.cli.demo import MICRO_DATA_SCIENCE
from tests.integration.test_cli import run
from tests.integration.test_console_cli import Cli


def test_define_list_show_revise(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    issuer_id = cli("institution", "register", "Uni", "--country", "NL")["issuer_id"]
    spec = tmp_path / "micro.json"
    spec.write_text(json.dumps({**MICRO_DATA_SCIENCE, "ects": "5"}))
    achievement_id = cli("achievement", "define", issuer_id, str(spec))["achievement_id"]
    small = tmp_path / "small.json"
    small.write_text(json.dumps({**MICRO_DATA_SCIENCE, "study_load_hours": 28, "ects": "1"}))
    refused = cli("achievement", "define", issuer_id, str(small), ok=False)
    assert "nl-microcredentials-pilot@v1" in refused.stderr
    assert "ledger policy adopt" in refused.stderr
    revised = tmp_path / "revised.json"
    revised.write_text(json.dumps({**MICRO_DATA_SCIENCE, "ects": "5", "title": "Renamed"}))
    assert (
        cli("achievement", "revise", achievement_id, str(revised), "--reason", "rename")["revision"]
        == 2
    )
    listed = cli("achievement", "list", issuer_id)
    assert [(a["achievement_id"], a["revision"], a["title"]) for a in listed] == [
        (achievement_id, 2, "Renamed")
    ]
    shown = cli("achievement", "show", achievement_id)
    assert [r["reason"] for r in shown] == [None, "rename"]
    text = run("achievement", "show", achievement_id, cwd=tmp_path, env=cli.env).stdout
    assert "revision 2" in text and "reason: rename" in text
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    failed = cli("achievement", "define", issuer_id, str(broken), ok=False)
    assert failed.returncode == 2 and "not JSON" in failed.stderr
