"""Growth: logs of 10,000 and 100,000 (and 1,000,000 with --full) credentials on PostgreSQL.

For each size, in a fresh schema, through the real commands (each a process of its
own, as an operator runs them):

* issuance: ``Ledger.issue_cohort`` in cohorts of 10,000, time and cost per credential;
* projection: ``ledger project --once`` from nothing, and its peak memory (max RSS);
  it publishes the checkpoint a rebuild trusts;
* rebuild: ``ledger rebuild`` (signatures under the newest checkpoint held to its
  root) and ``ledger rebuild --full`` (every signature), time and peak memory;
* verify: ``ledger verify`` (every signature);
* database size: every table and index of the schema;
* status checks: ``ledger serve`` (one worker) answering ``GET /v1/status/{id}`` for
  random credentials, 2,000 requests at concurrency 8: p50 and p99 latency, and the
  server's peak memory (VmHWM) after them.

Then the cost per credential of each step across sizes: it must stay flat (largest /
smallest <= 1.5). It is taken net of each step's start-up cost (interpreter, imports,
connections, worker processes, index builds), measured first on a log with no
credential and shown as the table's first row: otherwise a fixed second or two makes
the smallest size look dearer per credential than it is. The load average is printed with every size, since the machine is
shared.

    python scripts/bench_scale.py [--sizes 10000,100000] [--full]
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import psycopg
from bench_http import drive, free_port, request_bytes, wait_until_serving
from benchkit import POSTGRES, Figure, load_average, postgres_schema, postgres_url
from ledger.api.auth import mint_dev_token

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.domain.achievement import AchievementSpec
from ledger.settings import Settings

COHORT = 10_000
FLAT = 1.5
LEDGER = [sys.executable, "-m", "ledger.cli.main"]

#: Runs a command and prints its peak RSS (KiB) on the last line of stdout.
PEAK_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    "sys.exit(code)\n"
)


@dataclass
class SizeResult:
    """What one size measured (seconds, bytes, milliseconds)."""

    credentials: int
    events: int = 0
    load: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    peaks: dict[str, int] = field(default_factory=dict)
    database_bytes: int = 0
    p50_ms: float = 0.0
    p99_ms: float = 0.0


def timed_process(command: list[str], env: dict[str, str]) -> tuple[float, int]:
    """Run a ledger command to completion; (seconds, peak RSS in bytes)."""
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", PEAK_WRAPPER, *command],
        env=env,
        capture_output=True,
        check=False,
        timeout=24 * 3600,
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} failed: {done.stderr.decode()[-2000:]}")
    return seconds, int(done.stdout.decode().strip().splitlines()[-1]) * 1024


def issue(settings: Settings, credentials: int) -> tuple[float, list[UUID], UUID]:
    """Issue ``credentials`` in cohorts; (seconds, credential ids, issuer id)."""
    ledger = Ledger(settings.store, key_store=settings.key_store())
    with acting_as(CLI_OPERATOR):
        issuer = ledger.register_issuer(name="Scale", country="NL", administrators=["a"])
        achievement = ledger.define_achievement(issuer, AchievementSpec.parse(MICRO_DATA_SCIENCE))
    ids: list[UUID] = []
    started = time.perf_counter()
    batch = 0
    while len(ids) < credentials:
        size = min(COHORT, credentials - len(ids))
        orders = [CredentialOrder(learner_subject=f"s{batch}-{n}") for n in range(size)]
        with acting_as(CLI_OPERATOR):
            ids += ledger.issue_cohort(issuer, achievement, orders, request_id=f"scale-{batch}")
        batch += 1
    seconds = time.perf_counter() - started
    ledger.close()
    return seconds, ids, issuer


def database_bytes(schema: str) -> int:
    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relkind IN ('r', 'm')",
            (schema,),
        ).fetchone()
    return int(row[0]) if row else 0


def status_checks(
    env: dict[str, str], settings: Settings, ids: list[UUID], workdir: Path
) -> tuple[float, float, int]:
    """p50 and p99 (ms) of status checks through ``ledger serve``, and its peak memory."""
    port = free_port()
    log_path = workdir / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [*LEDGER, "serve", "--port", str(port), "--workers", "1"],
            env=env,
            stdout=log,
            stderr=log,
        )
        try:
            wait_until_serving(port, server, log_path)
            token = mint_dev_token(settings, role="verifier", subject="hr@scale")
            headers = {"Authorization": f"Bearer {token}"}
            rng = random.Random(1)
            requests = [
                request_bytes("GET", f"/v1/status/{rng.choice(ids)}", headers) for _ in range(2_000)
            ]
            drive("warm", port, requests[:200], concurrency=8, expect=200, time_cap=60)
            phase = drive("status", port, requests, concurrency=8, expect=200, time_cap=120)
            peak = _vm_hwm(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return phase.percentile(0.5), phase.percentile(0.99), peak


def _vm_hwm(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


#: The steps run as processes of their own, each once per size.
PROCESS_STEPS = {
    "project": ["project", "--once"],
    "rebuild": ["rebuild"],
    "rebuild --full": ["rebuild", "--full"],
    "verify": ["verify", "--quiet"],
}


def _timed_steps(result: SizeResult, env: dict[str, str]) -> None:
    for step, arguments in PROCESS_STEPS.items():
        result.timings[step], result.peaks[step] = timed_process([*LEDGER, *arguments], env)


def measure_fixed() -> SizeResult:
    """The steps on a log with no credential: what a process costs before its first event.

    Interpreter start, imports, connections, worker processes and index builds cost
    the same at every size; the cost per credential is taken net of them, or the
    smallest size would look dearer per credential than it is.
    """
    result = SizeResult(credentials=0, load=load_average())
    with postgres_schema("scale") as schema, tempfile.TemporaryDirectory() as directory:
        env = _environment(schema, Path(directory))
        subprocess.run([*LEDGER, "init"], env=env, check=True, capture_output=True, timeout=120)
        result.timings["issue"], _, _ = issue(Settings.from_env(env), 0)
        _timed_steps(result, env)
        result.database_bytes = database_bytes(schema)
    return result


def _environment(schema: str, workdir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "LEDGER_STORE": postgres_url(schema),
        "LEDGER_ENV": "development",
        "LEDGER_KEY_DIR": str(workdir / "keys"),
    }


def measure_size(credentials: int) -> SizeResult:
    result = SizeResult(credentials=credentials, load=load_average())
    with postgres_schema("scale") as schema, tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        env = _environment(schema, workdir)
        subprocess.run([*LEDGER, "init"], env=env, check=True, capture_output=True, timeout=120)
        settings = Settings.from_env(env)
        seconds, ids, _ = issue(settings, credentials)
        result.timings["issue"] = seconds
        _timed_steps(result, env)
        result.database_bytes = database_bytes(schema)
        ledger = Ledger(settings.store, key_store=settings.key_store())
        result.events = ledger.recorder.max_notification_id() or 0
        ledger.close()
        result.p50_ms, result.p99_ms, result.peaks["serve"] = status_checks(
            env, settings, ids, workdir
        )
    return result


STEPS = ["issue", *PROCESS_STEPS]


def per_credential(result: SizeResult, fixed: SizeResult | None, step: str) -> float:
    """Seconds per credential of one step, net of its fixed start-up cost."""
    start_up = fixed.timings[step] if fixed is not None else 0.0
    return max(result.timings[step] - start_up, 0.0) / result.credentials


def table(results: list[SizeResult], fixed: SizeResult | None = None) -> str:
    """The Markdown table the README carries (µs per credential net of start-up)."""
    lines = [
        "| credentials | events (last id) | load | "
        + " | ".join(f"{step} s (µs/cred.)" for step in STEPS)
        + " | database MiB (KiB/cred.) | peak MiB projector / rebuild / server "
        + "| status p50 / p99 ms |",
        "|" + " --- |" * (len(STEPS) + 6),
    ]
    if fixed is not None:
        lines.append(
            f"| 0 (start-up) | - | {fixed.load:.1f} | "
            + " | ".join(f"{fixed.timings[s]:,.1f}" for s in STEPS)
            + f" | {fixed.database_bytes / 2**20:,.1f} | - | - |"
        )
    for r in results:
        cells = [f"{r.timings[s]:,.1f} ({per_credential(r, fixed, s) * 1e6:,.0f})" for s in STEPS]
        lines.append(
            f"| {r.credentials:,} | {r.events:,} | {r.load:.1f} | "
            + " | ".join(cells)
            + f" | {r.database_bytes / 2**20:,.0f} ({r.database_bytes / r.credentials / 1024:.1f}) "
            f"| {r.peaks['project'] / 2**20:,.0f} / {r.peaks['rebuild'] / 2**20:,.0f} / "
            f"{r.peaks['serve'] / 2**20:,.0f} | {r.p50_ms:.1f} / {r.p99_ms:.1f} |"
        )
    return "\n".join(lines)


def flatness(results: list[SizeResult], fixed: SizeResult | None = None) -> dict[str, float]:
    """Largest / smallest cost per credential (net of start-up) of each step across sizes."""
    ratios: dict[str, float] = {}
    for step in STEPS:
        costs = [per_credential(r, fixed, step) for r in results]
        ratios[step] = max(costs) / max(min(costs), 1e-9)
    sizes = [r.database_bytes / r.credentials for r in results]
    ratios["database bytes"] = max(sizes) / min(sizes)
    return ratios


def measure(full: bool = False, sizes: list[int] | None = None) -> list[Figure]:
    """Brief: 2,000 and 10,000 credentials; full: 10,000, 100,000 and 1,000,000."""
    chosen = sizes or ([10_000, 100_000, 1_000_000] if full else [2_000, 10_000])
    fixed = measure_fixed()
    results = [measure_size(n) for n in chosen]
    print(table(results, fixed))
    load = results[0].load
    return [
        Figure(
            f"scale: cost per credential of {step}, largest/smallest ({chosen[0]:,}-{chosen[-1]:,})",
            ratio,
            None,
            FLAT,
            at_most=True,
            load=load,
        )
        for step, ratio in flatness(results, fixed).items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--full", action="store_true", help="adds 1,000,000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.full and 1_000_000 not in sizes:
        sizes.append(1_000_000)
    print(f"{os.cpu_count()} cores, load average {load_average():.2f} at start")
    fixed = measure_fixed()
    results = []
    for size in sizes:
        results.append(measure_size(size))
        print(table(results, fixed), flush=True)
    for step, ratio in flatness(results, fixed).items():
        verdict = "flat" if ratio <= FLAT else "NOT flat"
        print(f"{step}: largest/smallest cost per credential {ratio:.2f} ({verdict}, <= {FLAT})")


if __name__ == "__main__":
    main()
