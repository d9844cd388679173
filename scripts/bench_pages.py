"""Pages benchmark: the public credential page against the JSON of the same share link.

It starts ``ledger serve`` on 127.0.0.1 (a fresh SQLite file, or a fresh PostgreSQL
schema dropped afterwards), issues one credential and shares it, then sends the
same number of requests to

* the baseline: ``GET /v1/shared/{token}`` with ``Accept: application/json`` (the
  API's JSON, as before the pages), and
* the page: the same URL with a browser's ``Accept`` (HTML, with the live state,
  our checker's verdict, the EU elements, the history, JSON-LD and Open Graph tags),

from a few keep-alive clients in threads, in alternating rounds so the machine's
noise hits both; the median round counts. Target: page/JSON >= 0.5.

It also weighs every page (HTML plus its CSS and JavaScript, no images): each must
stay under 100 KB.

    python scripts/bench_pages.py [--store sqlite|postgres] [--requests 2000]
        [--clients 4] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
from ledger.api.auth import mint_dev_token

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.settings import Settings

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
TARGET_RATIO = 0.5
PAGE_LIMIT = 100 * 1024
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
LEARNER = "bench-learner@eduid.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def store(kind: str, folder: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def server(store_url: str, folder: Path) -> Iterator[tuple[str, Settings]]:
    port = free_port()
    env = {
        **os.environ,
        "LEDGER_STORE": store_url,
        "LEDGER_KEY_DIR": str(folder / "keys"),
        "LEDGER_PROJECT_IN_PROCESS": "yes",
        "LEDGER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "LEDGER_ENV": "development",  # development tokens make the world to measure
        "LEDGER_PUBLIC_RATE": "0",  # measure the routes, not the rate limit
    }
    cli = [sys.executable, "-m", "ledger.cli.main"]
    subprocess.run([*cli, "init"], env=env, check=True, capture_output=True, timeout=120)
    log = (folder / "serve.log").open("wb")
    process = subprocess.Popen(
        [*cli, "serve", "--port", str(port)], env=env, stdout=log, stderr=log
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((folder / "serve.log").read_text())
            time.sleep(0.2)
        yield url, Settings.from_env(env)
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def shared_link(url: str, settings: Settings) -> tuple[str, str]:
    """One credential, shared: (token, credential id)."""
    ledger = Ledger(settings.store, key_store=settings.key_store())
    with acting_as(CLI_OPERATOR):
        issuer_id = ledger.register_issuer(
            name="Universiteit Bench", country="NL", administrators=["admin@bench"]
        )
    ledger.close()
    admin = {
        "Authorization": "Bearer "
        + mint_dev_token(settings, role="administrator", subject="admin@bench", issuer_id=issuer_id)
    }
    learner = {
        "Authorization": "Bearer " + mint_dev_token(settings, role="learner", subject=LEARNER)
    }
    with httpx.Client(base_url=url, timeout=60) as client:
        achievement = client.post(
            f"/v1/issuers/{issuer_id}/achievements",
            json={**MICRO_DATA_SCIENCE, "ects": "5"},
            headers=admin,
        ).json()["id"]
        credential = client.post(
            f"/v1/issuers/{issuer_id}/credentials",
            json={"achievement_id": achievement, "credential": {"learner_subject": LEARNER}},
            headers=admin,
        ).json()["id"]
        token = client.post(
            "/v1/me/share-links", json={"credential_ids": [credential]}, headers=learner
        ).json()["token"]
    return token, credential


def rate(url: str, path: str, accept: str, requests: int, clients: int) -> float:
    """Requests per second for ``requests`` GETs from ``clients`` keep-alive clients."""
    per_client = requests // clients

    def run(_: int) -> None:
        with httpx.Client(base_url=url, timeout=60, headers={"Accept": accept}) as client:
            for _ in range(per_client):
                response = client.get(path)
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: {response.status_code}")

    start = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(run, range(clients)))
    return per_client * clients / (time.perf_counter() - start)


def page_weights(url: str, token: str) -> dict[str, int]:
    """Bytes of each public page with its CSS and scripts (images left out)."""
    weights = {}
    with httpx.Client(base_url=url, timeout=60, headers={"Accept": BROWSER}) as client:
        for name, path in (
            ("home", "/"),
            ("verify", "/verify"),
            ("sign-in", "/signin"),
            ("credential page", f"/v1/shared/{token}"),
            ("closed link", "/v1/shared/" + "x" * 43),
        ):
            html = client.get(path).content
            assets = re.findall(rb'<(?:link[^>]*href|script[^>]*src)="(/static/[^"]+)"', html)
            weights[name] = len(html) + sum(len(client.get(a.decode()).content) for a in assets)
    return weights


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as folder,
        store(args.store, Path(folder)) as store_url,
        server(store_url, Path(folder)) as (url, settings),
    ):
        token, _ = shared_link(url, settings)
        path = f"/v1/shared/{token}"
        rate(url, path, BROWSER, 50, 1)  # warm up both (the verdict is cached after one view)
        rate(url, path, "application/json", 50, 1)
        json_rates, page_rates = [], []
        for _ in range(args.rounds):
            json_rates.append(rate(url, path, "application/json", args.requests, args.clients))
            page_rates.append(rate(url, path, BROWSER, args.requests, args.clients))
        json_rate, page_rate = statistics.median(json_rates), statistics.median(page_rates)
        ratio = page_rate / json_rate
        print(
            f"store: {args.store}, {args.requests} requests x {args.rounds} rounds, {args.clients} clients"
        )
        print(f"JSON  GET /v1/shared/{{token}}  {json_rate:8.0f} req/s (median)")
        print(f"page  GET /v1/shared/{{token}}  {page_rate:8.0f} req/s (median)")
        print(f"page/JSON ratio: {ratio:.2f} (target >= {TARGET_RATIO})")
        weights = page_weights(url, token)
        for name, size in weights.items():
            print(f"weight of {name:16} {size / 1024:6.1f} KB (limit {PAGE_LIMIT // 1024} KB)")
        heavy = [n for n, s in weights.items() if s >= PAGE_LIMIT]
        return 0 if ratio >= TARGET_RATIO and not heavy else 1


if __name__ == "__main__":
    sys.exit(main())
