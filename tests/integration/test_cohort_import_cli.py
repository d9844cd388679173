"""``ledger issue-cohort`` as a real process on both stores: dry run, refusal, 10,000 rows
in one go with progress on stderr, the result file, and a retry that issues nothing new."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ledger.cli.demo import MICRO_DATA_SCIENCE
from tests.integration.test_cli import run
from tests.integration.test_console_cli import Cli


def cohort_file(path: Path, subjects: list[str]) -> Path:
    rows = "".join(f"{s},,,{i % 10},\r\n" for i, s in enumerate(subjects))
    path.write_text("learner_subject,valid_from,valid_until,result.grade,evidence\r\n" + rows)
    return path


def test_ten_thousand_rows_in_one_go(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    issuer_id = cli("institution", "register", "Uni", "--country", "NL")["issuer_id"]
    spec = tmp_path / "micro.json"
    spec.write_text(json.dumps({**MICRO_DATA_SCIENCE, "ects": "5"}))
    achievement = cli("achievement", "define", issuer_id, str(spec))["achievement_id"]
    template = run("cohort-template", cwd=tmp_path, env=cli.env)
    assert template.stdout.startswith("learner_subject,")

    bad = cohort_file(tmp_path / "bad.csv", ["s-1", "s 2", "s-1", ""])
    dry = run(
        "issue-cohort",
        str(bad),
        "--achievement",
        achievement,
        "--dry-run",
        cwd=tmp_path,
        env=cli.env,
    )
    assert dry.returncode == 1
    assert "row 3: bad learner_subject" in dry.stdout
    assert "row 4: duplicate learner: the same subject as row 2" in dry.stdout
    assert "row 5: missing learner_subject" in dry.stdout
    refused = run("issue-cohort", str(bad), "--achievement", achievement, cwd=tmp_path, env=cli.env)
    assert refused.returncode == 1 and "nothing was issued" in refused.stdout
    subjects = [f"learner-{n:05d}@student.example" for n in range(10_000)]
    big = cohort_file(tmp_path / "cohort.csv", subjects)
    checked = cli("issue-cohort", str(big), "--achievement", achievement, "--dry-run")
    assert checked["valid"] and checked["rows"] == 10_000
    done = run("issue-cohort", str(big), "--achievement", achievement, cwd=tmp_path, env=cli.env)
    assert done.returncode == 0, done.stderr
    assert "issued 10,000 credentials in one transaction" in done.stdout
    assert "issuing in one transaction" in done.stderr and "rows read" in done.stderr
    result = list(csv.DictReader((tmp_path / "cohort.result.csv").open(newline="")))
    assert [r["learner_subject"] for r in result] == subjects
    assert [int(r["row"]) for r in result] == list(range(2, 10_002))
    assert len({r["credential_id"] for r in result}) == 10_000

    # The same file again: the same credentials, nothing new (the key comes from the file).
    again = run(
        "issue-cohort",
        str(big),
        "--achievement",
        achievement,
        "--result",
        str(tmp_path / "again.csv"),
        cwd=tmp_path,
        env=cli.env,
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.csv").read_text() == (tmp_path / "cohort.result.csv").read_text()
    # A new file naming a learner who holds it now: the dry run says so.
    overlap = cohort_file(tmp_path / "overlap.csv", ["new-learner", subjects[7]])
    dry = run(
        "issue-cohort",
        str(overlap),
        "--achievement",
        achievement,
        "--dry-run",
        cwd=tmp_path,
        env=cli.env,
    )
    assert dry.returncode == 1
    assert "row 3: this learner already holds this achievement" in dry.stdout
