"""The staging of checked cohort files: private, one start per upload, a failed one
restartable, expired ones swept, tokens that cannot name another file."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from ledger.api.pages.cohort_jobs import KEEP_SECONDS, CohortUploads, request_id


def test_a_staged_file_is_private_and_starts_once(tmp_path: Path) -> None:
    uploads = CohortUploads(tmp_path / "cohort-uploads")
    token = uploads.stage("learner_subject\r\na@e.example\r\n", issuer_id="i", rows=1)
    assert (tmp_path / "cohort-uploads").stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (tmp_path / "cohort-uploads").iterdir())
    assert uploads.meta(token)["issuer_id"] == "i"  # type: ignore[index]
    assert uploads.text(token).startswith("learner_subject")
    assert uploads.progress(token)["state"] == "waiting"
    assert uploads.claim(token) is True
    assert uploads.claim(token) is False  # a double submit
    assert uploads.progress(token)["state"] == "reading"
    uploads.report(token, state="failed", message="database down")
    assert uploads.claim(token) is True  # a failed import may start again, under the same key
    assert request_id(token) == f"console-csv:{token}"
    uploads.finish(token, "row,learner_subject,credential_id\r\n", 1)
    assert uploads.progress(token) == {"state": "issued", "done": 1, "total": 1}
    assert uploads.result(token) == b"row,learner_subject,credential_id\r\n"
    assert not (tmp_path / "cohort-uploads" / f"{token}.csv").exists()  # the upload is gone


def test_tokens_name_only_staged_files(tmp_path: Path) -> None:
    uploads = CohortUploads(tmp_path / "cohort-uploads")
    uploads.stage("x", issuer_id="i")
    for token in ("../../etc/passwd", "a" * 23, "a" * 25, "a/" * 12):
        assert uploads.meta(token) is None
        with pytest.raises(ValueError):
            uploads.claim(token)
        with pytest.raises(ValueError):
            uploads.result(token)
    assert uploads.meta("a" * 24) is None


def test_old_files_are_swept_when_the_next_one_is_staged(tmp_path: Path) -> None:
    uploads = CohortUploads(tmp_path / "cohort-uploads")
    old = uploads.stage("x", issuer_id="i")
    past = time.time() - KEEP_SECONDS - 60
    for path in (tmp_path / "cohort-uploads").iterdir():
        os.utime(path, (past, past))
    new = uploads.stage("y", issuer_id="i")
    assert uploads.meta(old) is None
    assert uploads.meta(new) is not None
