"""HTTP benchmark: status checks against a constant route, and issuance, through a real server.

It starts ``ledger serve`` (uvicorn, ``--workers N``) on 127.0.0.1 at a free port
against a fresh store (a PostgreSQL schema, dropped afterwards, or a SQLite file),
with ``ledger project`` as its own process when the store is PostgreSQL (the
documented deployment: writers wait, bounded, for the projector to reach their
write). A small asyncio client with raw keep-alive HTTP/1.1 connections then sends
a fixed number of requests at a fixed concurrency, each phase capped in time:

* issuance, single: ``POST /v1/issuers/{id}/credentials``, one credential a request;
* issuance, bulk: ``POST /v1/issuers/{id}/cohorts`` with an ``Idempotency-Key``,
  ``--cohort-size`` credentials a request;
* status checks: ``GET /v1/status/{id}`` for the credentials issued above, with a
  verifier's bearer token (checked on every request; one that passed is remembered
  until its exp or for 60 s, as in production), against the baseline
  ``GET /healthz`` of the same server in the same run: a plain FastAPI route that
  returns a constant, without authentication, behind the same middleware;
* the baseline the targets are held against: ``GET /healthz`` of a bare FastAPI app
  with no middleware (``bench_bare_app.py``), served by uvicorn with the same
  number of workers on this machine in the same run;
* the public, cacheable status list ``GET /v1/status-lists/{issuer}/1/revocation``.
  Rounds alternate the routes so that the machine's noise hits all; the median
  round counts. Targets: status check / bare route >= 0.8, status list / bare
  route >= 0.8. ``measure()`` gives the figures to ``scripts/bench.py``.

With one worker, each phase also reports the server process's CPU time per request
(from ``/proc``; PostgreSQL's and the projector's are not counted), and the bare
route's CPU per request over each route's: less at the mercy of the other load on a
shared machine than the rates.

Every response must have the expected status code; the client reads only the status
line, the length and the ids it needs, so that it takes little of the shared cores.

    python scripts/bench_http.py [--store postgres|sqlite] [--workers N]
        [--requests 20000] [--concurrency 32] [--single 500] [--cohorts 5]
        [--cohort-size 1000] [--rounds 3] [--time-cap 60]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import io
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import psycopg
from benchkit import Figure, load_average
from ledger.api.auth import mint_dev_token

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.settings import Settings

POSTGRES = os.environ.get("LEDGER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
HOST = "127.0.0.1"
TARGET_RATIO = 0.8
STARTUP_SECONDS = 60.0


# -- a raw keep-alive HTTP/1.1 client ---------------------------------------------------


@dataclass
class Phase:
    """What one bounded run of requests measured."""

    name: str
    sent: int
    seconds: float
    latencies: list[float]
    bodies: list[bytes]
    conflicts: int = 0
    #: CPU seconds the server process spent during the phase (None: not measured).
    server_cpu: float | None = None

    @property
    def rate(self) -> float:
        return self.sent / self.seconds

    @property
    def cpu_per_request(self) -> float | None:
        """Server CPU microseconds per request: less at the mercy of other load than
        the rate (the machine is shared), though caches and frequency still move it."""
        return None if self.server_cpu is None else self.server_cpu / self.sent * 1e6

    def percentile(self, share: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000


def request_bytes(
    method: str, path: str, headers: dict[str, str] | None = None, body: Any = None
) -> bytes:
    """One HTTP/1.1 request, made before the clock starts."""
    payload = b"" if body is None else orjson.dumps(body)
    lines = [f"{method} {path} HTTP/1.1", f"Host: {HOST}", f"Content-Length: {len(payload)}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = b""
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        chunk = await reader.readexactly(size + 2)
        if size == 0:
            return status, body
        body += chunk[:-2]


async def _drive(
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    expect: int,
    time_cap: float,
    keep_bodies: bool,
) -> tuple[int, float, list[float], list[bytes], int]:
    latencies: list[float] = []
    bodies: list[bytes] = []
    next_index = 0
    conflicts = 0
    deadline = time.monotonic() + time_cap

    async def connection() -> None:
        nonlocal next_index, conflicts
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            while next_index < len(requests) and time.monotonic() < deadline:
                data = requests[next_index]
                next_index += 1
                start = time.perf_counter()
                writer.write(data)
                status, body = await _read_response(reader)
                # 409 "try again": the ledger retried its own conflicts (writers of one
                # issuer share its status allocation) and gave up; a client sends it again.
                while status == 409 and expect != 409 and time.monotonic() < deadline:
                    conflicts += 1
                    writer.write(data)
                    status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - start)
                if status != expect:
                    raise RuntimeError(f"expected {expect}, got {status}: {body[:500]!r}")
                if keep_bodies:
                    bodies.append(body)
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(connection() for _ in range(min(concurrency, len(requests)))))
    return len(latencies), time.perf_counter() - start, latencies, bodies, conflicts


def drive(
    name: str,
    port: int,
    requests: list[bytes],
    *,
    concurrency: int,
    expect: int,
    time_cap: float,
    keep_bodies: bool = False,
) -> Phase:
    """Send ``requests`` over ``concurrency`` keep-alive connections, stopping at ``time_cap``."""
    sent, seconds, latencies, bodies, conflicts = asyncio.run(
        _drive(
            port,
            requests,
            concurrency=concurrency,
            expect=expect,
            time_cap=time_cap,
            keep_bodies=keep_bodies,
        )
    )
    return Phase(name, sent, seconds, latencies, bodies, conflicts)


# -- the server under test -----------------------------------------------------------------

#: The process serving each port (one worker: the process itself answers).
SERVER_PIDS: dict[int, int] = {}


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def drive_measured(name: str, port: int, requests: list[bytes], **options: Any) -> Phase:
    """``drive``, with the server's CPU time over the phase when one process serves it."""
    pid = SERVER_PIDS.get(port)
    before = cpu_seconds(pid) if pid is not None else None
    phase = drive(name, port, requests, **options)
    if pid is not None and before is not None:
        phase.server_cpu = cpu_seconds(pid) - before
    return phase


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    probe = request_bytes("GET", "/healthz")
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(probe)
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not start; its log:\n{log.read_text()[-4000:]}")


@contextmanager
def store(kind: str) -> Iterator[str]:
    """A fresh store URL: a PostgreSQL schema (dropped afterwards) or a SQLite file."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            yield f"sqlite:///{Path(directory) / 'ledger.db'}"
        return
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{POSTGRES}?schema={schema}"
    finally:
        with psycopg.connect(POSTGRES, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextmanager
def processes(env: dict[str, str], workdir: Path, workers: int) -> Iterator[int]:
    """``ledger serve`` (and ``ledger project`` unless projecting in process); logs to files."""
    ledger_cli = [sys.executable, "-m", "ledger.cli.main"]
    subprocess.run([*ledger_cli, "init"], env=env, check=True, capture_output=True, timeout=60)
    settings = Settings.from_env(env)
    port = free_port()
    started: list[tuple[subprocess.Popen[bytes], Any]] = []
    try:
        if not settings.project_in_process:
            log = (workdir / "project.log").open("wb")
            started.append(
                (subprocess.Popen([*ledger_cli, "project"], env=env, stdout=log, stderr=log), log)
            )
        log = (workdir / "server.log").open("wb")
        serve = [*ledger_cli, "serve", "--port", str(port), "--workers", str(workers)]
        server = subprocess.Popen(serve, env=env, stdout=log, stderr=log)
        started.append((server, log))
        wait_until_serving(port, server, workdir / "server.log")
        if workers == 1:
            SERVER_PIDS[port] = server.pid
        yield port
    finally:
        for process, log in reversed(started):
            process.terminate()
            process.wait(timeout=30)
            log.close()


# -- the benchmark ------------------------------------------------------------------------


def row(phase: Phase, unit: str = "req/s", per_request: int = 1) -> str:
    cpu = phase.cpu_per_request
    return (
        f"{phase.name:<44} {phase.sent:>8,} {phase.rate * per_request:>11,.0f} {unit:<14}"
        f" {phase.percentile(0.5):>8.2f} {phase.percentile(0.99):>8.2f}"
        + ("" if cpu is None else f" {cpu:>8.0f}")
    )


@contextmanager
def bare_server(workdir: Path, workers: int) -> Iterator[int]:
    """uvicorn serving ``bench_bare_app`` (no middleware) with ``workers`` workers."""
    port = free_port()
    log = (workdir / "bare.log").open("wb")
    command = [
        sys.executable, "-m", "uvicorn", "bench_bare_app:app",
        "--app-dir", str(Path(__file__).parent),
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    server = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_until_serving(port, server, workdir / "bare.log")
        if workers == 1:
            SERVER_PIDS[port] = server.pid
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def bench(args: argparse.Namespace, store_url: str, workdir: Path) -> list[Figure]:
    env = {
        **os.environ,
        "LEDGER_STORE": store_url,
        "LEDGER_ENV": "development",
        "LEDGER_KEY_DIR": str(workdir / "keys"),
        # The per-client rate limit of public routes would refuse one busy client.
        "LEDGER_PUBLIC_RATE": "0",
        "LEDGER_CHECKPOINT_EVERY": "100",  # a checkpoint to serve, whatever the sizes
    }
    settings = Settings.from_env(env)
    with processes(env, workdir, args.workers) as port:
        ledger = Ledger(settings.store, key_store=settings.key_store())
        with acting_as(CLI_OPERATOR):
            issuer_id = ledger.register_issuer(
                name="Bench University", country="NL", administrators=["admin@bench"]
            )
        ledger.close()
        admin = {
            "Authorization": "Bearer "
            + mint_dev_token(
                settings, role="administrator", subject="admin@bench", issuer_id=issuer_id
            )
        }
        verifier = {
            "Authorization": "Bearer "
            + mint_dev_token(settings, role="verifier", subject="hr@bench")
        }
        defined = drive(
            "define achievement",
            port,
            [
                request_bytes(
                    "POST",
                    f"/v1/issuers/{issuer_id}/achievements",
                    admin,
                    {**MICRO_DATA_SCIENCE, "ects": "5"},
                )
            ],
            concurrency=1,
            expect=201,
            time_cap=args.time_cap,
            keep_bodies=True,
        )
        achievement_id = orjson.loads(defined.bodies[0])["id"]

        single = drive(
            "POST /v1/issuers/{id}/credentials",
            port,
            [
                request_bytes(
                    "POST",
                    f"/v1/issuers/{issuer_id}/credentials",
                    admin,
                    {"achievement_id": achievement_id, "credential": {"learner_subject": f"s{n}"}},
                )
                for n in range(args.single)
            ],
            concurrency=args.write_concurrency,
            expect=201,
            time_cap=args.time_cap,
            keep_bodies=True,
        )
        credential_ids = [orjson.loads(body)["id"] for body in single.bodies]
        bulk = drive(
            f"POST /v1/issuers/{{id}}/cohorts ({args.cohort_size:,} each)",
            port,
            [
                request_bytes(
                    "POST",
                    f"/v1/issuers/{issuer_id}/cohorts",
                    {**admin, "Idempotency-Key": f"bench-{n}"},
                    {
                        "achievement_id": achievement_id,
                        "credentials": [
                            {"learner_subject": f"c{n}-{m}"} for m in range(args.cohort_size)
                        ],
                    },
                )
                for n in range(args.cohorts)
            ],
            concurrency=1,
            expect=201,
            time_cap=args.time_cap,
        )

        status_requests = [
            request_bytes("GET", f"/v1/status/{credential_ids[n % len(credential_ids)]}", verifier)
            for n in range(args.requests)
        ]
        constant_requests = [request_bytes("GET", "/healthz")] * args.requests
        list_requests = [
            request_bytes("GET", f"/v1/status-lists/{issuer_id}/1/revocation")
        ] * args.requests
        public_requests = {
            "GET /v1/status-lists/{issuer}/1/revocation/credential": request_bytes(
                "GET", f"/v1/status-lists/{issuer_id}/1/revocation/credential"
            ),
            "GET /issuers/{issuer}/did.json": request_bytes(
                "GET", f"/issuers/{issuer_id}/did.json"
            ),
            "GET /contexts/ob-extensions-v1.json": request_bytes(
                "GET", "/contexts/ob-extensions-v1.json"
            ),
            "GET /v1/log/checkpoint": request_bytes("GET", "/v1/log/checkpoint"),
        }
        constant_runs: list[Phase] = []
        status_runs: list[Phase] = []
        bare_runs: list[Phase] = []
        list_runs: list[Phase] = []
        public_runs: dict[str, list[Phase]] = {name: [] for name in public_requests}
        with bare_server(workdir, args.workers) as bare_port:
            plan: list[tuple[list[Phase], str, int, list[bytes]]] = [
                (
                    bare_runs,
                    "bare FastAPI GET /healthz (no middleware)",
                    bare_port,
                    constant_requests,
                ),
                (constant_runs, "GET /healthz (constant, no auth)", port, constant_requests),
                (status_runs, "GET /v1/status/{id} (verifier token)", port, status_requests),
                (list_runs, "GET /v1/status-lists/{issuer}/1/revocation", port, list_requests),
                *(
                    (public_runs[name], name, port, [request] * args.requests)
                    for name, request in public_requests.items()
                ),
            ]
            # Warm every path (connections, threads, caches) before measuring.
            for _, _, target, warm in plan:
                drive(
                    "warm",
                    target,
                    warm[:1000],
                    concurrency=args.concurrency,
                    expect=200,
                    time_cap=10,
                )
            for round_number in range(args.rounds):
                for runs, name, target, requests in (
                    plan[round_number % 2 :] + plan[: round_number % 2]
                ):
                    runs.append(
                        drive_measured(
                            name,
                            target,
                            requests,
                            concurrency=args.concurrency,
                            expect=200,
                            time_cap=args.time_cap,
                        )
                    )

    def median(runs: list[Phase]) -> Phase:
        return sorted(runs, key=lambda p: p.rate)[len(runs) // 2]

    publics = {name: median(runs) for name, runs in public_runs.items()}
    constant, status = median(constant_runs), median(status_runs)
    bare, listed = median(bare_runs), median(list_runs)
    ratio = status.rate / constant.rate
    print(
        f"{'':<44} {'requests':>8} {'rate':>11} {'':<14} {'p50 ms':>8} {'p99 ms':>8} {'CPU us':>8}"
    )
    print(row(single, "credentials/s"))
    print(row(bulk, "credentials/s", args.cohort_size))
    print(row(bare))
    print(row(constant))
    print(row(status))
    print(row(listed))
    for phase in publics.values():
        print(row(phase))
    print(
        "public routes / bare route: "
        + "; ".join(f"{name} {phase.rate / bare.rate:.2f}" for name, phase in publics.items())
    )
    print(
        f"status check / bare route: {status.rate / bare.rate:.2f}; status list / bare route: "
        f"{listed.rate / bare.rate:.2f} (targets >= {TARGET_RATIO}); our /healthz / bare route: "
        f"{constant.rate / bare.rate:.2f}"
    )
    bare_cpu = bare.cpu_per_request
    if bare_cpu is not None:
        served = {"status check": status, "status list": listed, "our /healthz": constant}
        served |= publics
        print(
            "server CPU per request, bare route's / the route's (1 worker; the machine's "
            "load moves it less than the rates): "
            + "; ".join(
                f"{name} {bare_cpu / cpu:.2f}"
                for name, phase in served.items()
                if (cpu := phase.cpu_per_request)
            )
        )
    print(
        f"status checks / constant route: {ratio:.2f} "
        f"({'meets' if ratio >= TARGET_RATIO else 'MISSES'} target >= {TARGET_RATIO}); "
        f"{args.rounds} round(s) of {args.requests:,} requests at concurrency {args.concurrency}, "
        f"median; all rounds status/s {[round(p.rate) for p in status_runs]}, "
        f"constant/s {[round(p.rate) for p in constant_runs]}"
    )
    print(
        f"issuance: single at concurrency {args.write_concurrency} ({single.conflicts} answered "
        f"409 after the ledger's own retries, sent again), bulk at concurrency 1 "
        f"({bulk.conflicts} sent again); latencies include the wait for ledger project"
    )
    where = f"{args.workers} worker(s), concurrency {args.concurrency}"
    return [
        Figure(
            f"HTTP status check / bare FastAPI route ({where})",
            status.rate,
            bare.rate,
            TARGET_RATIO,
            "req/s",
            note=f"p50 {status.percentile(0.5):.1f} ms, p99 {status.percentile(0.99):.1f} ms",
        ),
        Figure(
            "HTTP public status list / bare FastAPI route",
            listed.rate,
            bare.rate,
            TARGET_RATIO,
            "req/s",
        ),
        *(
            Figure(
                f"HTTP {name} / bare FastAPI route", phase.rate, bare.rate, TARGET_RATIO, "req/s"
            )
            for name, phase in publics.items()
        ),
        Figure(
            "HTTP our /healthz / bare FastAPI route (middleware cost)",
            constant.rate,
            bare.rate,
            None,
            "req/s",
        ),
        Figure(
            "HTTP issuance, single, callers who got 409",
            float(single.conflicts),
            None,
            0,
            at_most=True,
        ),
    ]


def measure(full: bool = False) -> list[Figure]:
    """The HTTP figures on PostgreSQL with one worker, small (or as in ``main``)."""
    args = argparse.Namespace(
        store="postgres",
        workers=1,
        requests=20_000 if full else 3_000,
        concurrency=32,
        rounds=3,
        single=500 if full else 100,
        write_concurrency=4,
        cohorts=5 if full else 1,
        cohort_size=1_000,
        time_cap=60.0 if full else 20.0,
    )
    load = load_average()
    with (
        store(args.store) as store_url,
        tempfile.TemporaryDirectory() as directory,
        contextlib.redirect_stdout(io.StringIO()),
    ):
        figures = bench(args, store_url, Path(directory))
    return [dataclasses.replace(figure, load=load) for figure in figures]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--requests", type=int, default=20_000, help="per status/constant round")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--single", type=int, default=500, help="credentials issued one by one")
    parser.add_argument("--write-concurrency", type=int, default=4)
    parser.add_argument("--cohorts", type=int, default=5)
    parser.add_argument("--cohort-size", type=int, default=1_000)
    parser.add_argument("--time-cap", type=float, default=60.0, help="seconds per phase")
    args = parser.parse_args()
    if args.store == "sqlite" and args.workers > 1:
        parser.error("several workers need PostgreSQL")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at start; store {args.store}, {args.workers} worker(s), "
        f"client and server on this machine"
    )
    with store(args.store) as store_url, tempfile.TemporaryDirectory() as directory:
        bench(args, store_url, Path(directory))


if __name__ == "__main__":
    main()
