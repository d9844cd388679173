"""Schemathesis fuzzes the served OpenAPI document against a real server, per role.

It must find no server error and no response that violates the documented schema.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.cli.demo import build_demo
from tests.e2e.conftest import Server

SCHEMATHESIS = shutil.which("schemathesis") or str(Path(sys.executable).parent / "schemathesis")


@pytest.mark.slow
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_schemathesis_finds_no_server_error_or_schema_violation(server: Server) -> None:
    with acting_as(CLI_OPERATOR):
        made = build_demo(server.ledger)
    university = made["issuers"]["university"]
    roles = [
        server.token("learner", made["learners"][0]),
        server.token("administrator", "alice@uni.example", university),
        server.token("verifier", "hr@employer.example"),
        server.token("auditor", "auditor@example"),
    ]
    for headers in roles:
        result = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"{server.url}/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance",
                "--max-examples",
                "15",
                "--phases",
                "examples,fuzzing",
                "--header",
                f"Authorization: {headers['Authorization']}",
                "--seed",
                "20261129",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:]
