"""A real ``ledger serve`` process on 127.0.0.1 for each store, and tokens for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import httpx
import pytest
from ledger.api.auth import mint_dev_token

from ledger.actor import CLI_OPERATOR, acting_as
from ledger.application import Ledger
from ledger.settings import Settings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    settings: Settings
    ledger: Ledger
    client: httpx.Client

    def token(
        self, role: str, subject: str, issuer_id: UUID | None = None, ttl: int = 600
    ) -> dict[str, str]:
        return {
            "Authorization": "Bearer "
            + mint_dev_token(
                self.settings, role=role, subject=subject, issuer_id=issuer_id, ttl=ttl
            )
        }

    def register_issuer(self, name: str, admin: str) -> UUID:
        with acting_as(CLI_OPERATOR):
            return self.ledger.register_issuer(name=name, country="NL", administrators=[admin])


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Server]:
    env = {
        **os.environ,
        "LEDGER_STORE": store_url,
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
        "LEDGER_PROJECT_IN_PROCESS": "yes",
        "LEDGER_PUBLIC_URL": "https://ledger.test",
    }
    subprocess.run(
        [sys.executable, "-m", "ledger.cli", "init"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    settings = Settings.from_env(env)
    port = free_port()
    # The server's JSON access log goes to a file: a pipe nobody reads would fill and block it.
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {(tmp_path / 'server.log').read_text()}")
        time.sleep(0.1)
    ledger = Ledger(settings.store, key_store=settings.key_store())
    with httpx.Client(base_url=url, timeout=30) as client:
        yield Server(url=url, settings=settings, ledger=ledger, client=client)
    process.terminate()
    process.wait(timeout=30)
    log.close()
