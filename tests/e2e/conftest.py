"""A real ``ledger serve`` process on 127.0.0.1 for each store, and tokens for it."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from uuid import UUID

import httpx
import pytest
from ledger.api.auth import mint_dev_token

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.settings import Settings
from tests.conftest import postgres_store_url


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


@dataclass
class Cluster(Server):
    """A server of several workers beside its own ``ledger project`` process, and a second
    server process on the same store that only reads.

    Reads sent to ``reader_url`` are served by another process than the write before
    them by construction, not by how the kernel happens to hand out connections.
    """

    log: Path
    reader_url: str
    reader_log: Path


def _wait_until_serving(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    # Generous: on a shared 2-core machine at load 15 a worker takes tens of seconds
    # to import and open its pools; the wait ends as soon as the server answers.
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start: {log.read_text()}")
        time.sleep(0.1)


@contextmanager
def serving(
    env: dict[str, str],
    tmp_path: Path,
    *,
    workers: int = 1,
    port: int | None = None,
    project: bool = True,
) -> Iterator[str]:
    """``ledger init``, then ``ledger serve --workers N`` and, unless the settings project in
    process (or ``project`` is false: another process already does), ``ledger project`` as
    its own process; yields the base URL.

    Every process logs to a file in ``tmp_path``: a pipe nobody reads would fill and
    block it (``server.log`` holds the JSON access log).
    """
    cli = [sys.executable, "-m", "ledger.cli.main"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=60)
    port = port or free_port()
    commands = [[*cli, "serve", "--port", str(port), "--workers", str(workers)]]
    if project and not Settings.from_env(env).project_in_process:
        commands.append([*cli, "project"])
    started: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []
    try:
        for command in commands:
            log = (tmp_path / f"{command[3]}.log").open("wb")
            started.append((subprocess.Popen(command, env=env, stdout=log, stderr=log), log))
        url = f"http://127.0.0.1:{port}"
        _wait_until_serving(url, started[0][0], tmp_path / "serve.log")
        yield url
    finally:
        for process, output in started:
            process.terminate()
            process.wait(timeout=30)
            output.close()


def _env(store_url: str, tmp_path: Path, *, in_process: bool) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_STORE": store_url,
        # Development tokens on both stores (unset, PostgreSQL would mean production).
        "LEDGER_ENV": "development",
        # The tests call public routes faster than a client should; the limit has its own test.
        "LEDGER_PUBLIC_RATE": "0",
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
        "LEDGER_PROJECT_IN_PROCESS": "yes" if in_process else "no",
        "LEDGER_PUBLIC_URL": "https://ledger.test",
    }


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Server]:
    """One worker that projects in process, on each store."""
    env = _env(store_url, tmp_path, in_process=True)
    settings = Settings.from_env(env)
    with serving(env, tmp_path) as url, httpx.Client(base_url=url, timeout=30) as client:
        ledger = Ledger(settings.store, key_store=settings.key_store())
        yield Server(url=url, settings=settings, ledger=ledger, client=client)
        ledger.close()


@pytest.fixture
def cluster(postgres_schema: str, tmp_path: Path) -> Iterator[Cluster]:
    """``ledger serve --workers 2`` and ``ledger project`` on one fresh PostgreSQL schema,
    and a second ``ledger serve`` process on the same schema for reads."""
    env = _env(postgres_store_url(postgres_schema), tmp_path, in_process=False)
    settings = Settings.from_env(env)
    reader_dir = tmp_path / "reader"
    reader_dir.mkdir()
    with (
        serving(env, tmp_path, workers=2) as url,
        serving(env, reader_dir, project=False) as reader_url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        ledger = Ledger(settings.store, key_store=settings.key_store())
        yield Cluster(
            url=url,
            settings=settings,
            ledger=ledger,
            client=client,
            log=tmp_path / "serve.log",
            reader_url=reader_url,
            reader_log=reader_dir / "serve.log",
        )
        ledger.close()
