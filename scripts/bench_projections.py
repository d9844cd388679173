"""Projection benchmark: rebuild speed against plain reading, status lookups, status memory.

For each store (a SQLite file, a PostgreSQL schema) it builds a log of about
``--events`` signed events through the ledger's own commands (bulk issuance in
cohorts of 10,000 plus ~2% suspensions and revocations, so that the status
projection flips real bits), then measures in the same run

* a baseline: paging through ``select_notifications`` (500 a page) and opening
  each notification into its domain event with ``envelope.open_stored`` (split at
  the last newline, ``orjson.loads``) and ``envelope.decode_event``, WITHOUT
  signature verification, in events/s;
* ``ProjectionRunner(ledger).rebuild(workers=<cores>)``, as ``ledger rebuild`` runs
  it: verify the whole log on every core (the signatures the checkpoint published
  at the end of the build covers are held to its Merkle root instead), then drop
  every projection's tables and replay the whole log, in events/s, and the ratio
  rebuild/baseline (target >= 0.5); the same with ``full=True`` (``ledger rebuild
  --full``: every signature checked); for context, the raw
  Ed25519 verify rate of ``cryptography`` and the rate of the verifying mapper
  alone (no SQL writes), both measured in the same run;
* in-process status lookups on one core over the rebuilt status projection:
  its rows loaded into a dict credential_id -> (issuer, list, index) and one
  ``Bitstring`` per (issuer, list, purpose); 1,000,000 random lookups, best of
  ``--lookup-repeats``, against a plain dict lookup of the same keys (target
  >= 1,000,000 lookups/s);
* the size of the ``status_lists`` rows of the real run.

Once (store-independent): tracemalloc memory of the in-memory status structure
for 1,000,000 synthetic credentials (8 lists of 131,072 x 2 purposes), the
bitstrings alone and with the credential -> entry map.

Rounds alternate baseline and rebuild; the median round counts. ``measure()`` gives
the figures to ``scripts/bench.py``.

    python scripts/bench_projections.py [--events N] [--rounds R] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import platform
import random
import statistics
import tempfile
import time
import tracemalloc
import uuid
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

import bench_status_view
from benchkit import Figure, load_average, postgres_schema, postgres_url
from ledger.projections.database import POSTGRES as PG_DIALECT
from ledger.projections.database import Cursor
from ledger.projections.runner import ProjectionRunner
from ledger.projections.status_view import StatusView

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.domain.achievement import AchievementSpec
from ledger.domain.statusallocation import LIST_LENGTH
from ledger.domain.statusallocation import STATUS_PURPOSES as PURPOSES
from ledger.eventlog.envelope import decode_event, open_row
from ledger.eventlog.signing_keys import MemoryKeyStore, decode_public_key
from ledger.standards.bitstring_status_list import Bitstring
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher

POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"
COHORT = 10_000
PAGE = 500
CHANGE_SHARE = 0.02  # suspensions and revocations, as a share of --events
TARGET_RATIO = 0.5
TARGET_LOOKUPS = 1_000_000

StatusMap = dict[str, tuple[str, int, int]]
StatusBits = dict[tuple[str, int, str], Bitstring]


def timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


# -- building the log -----------------------------------------------------------------


def build_log(ledger: Ledger, events: int, rng: random.Random) -> dict[str, Any]:
    """Issue cohorts until ~98% of ``events`` are in the log, then suspend and revoke."""
    started = time.perf_counter()
    with acting_as(CLI_OPERATOR):
        ledger.establish()
        issuers = [
            ledger.register_issuer(name=f"Bench {n}", country="NL", administrators=["a"])
            for n in range(2)
        ]
        achievements = [
            ledger.define_achievement(i, AchievementSpec.parse(MICRO_DATA_SCIENCE)) for i in issuers
        ]
    changes = round(events * CHANGE_SHARE)
    credentials: list[UUID] = []
    head = ledger.recorder.max_notification_id() or 0
    batch = 0
    issue_seconds = 0.0
    while head + changes < events:
        size = min(COHORT, events - changes - head)
        orders = [CredentialOrder(learner_subject=f"b{batch}-{n}") for n in range(size)]
        which = batch % len(issuers)
        t0 = time.perf_counter()
        with acting_as(CLI_OPERATOR):
            credentials += ledger.issue_cohort(
                issuers[which], achievements[which], orders, request_id=f"bench-{batch}"
            )
        issue_seconds += time.perf_counter() - t0
        batch += 1
        head = ledger.recorder.max_notification_id() or 0
    chosen = rng.sample(credentials, min(changes, len(credentials)))
    t0 = time.perf_counter()
    with acting_as(CLI_OPERATOR):
        for n, credential_id in enumerate(chosen):
            if n % 2:
                ledger.revoke_credential(credential_id, reason="bench")
            else:
                ledger.suspend_credential(credential_id, reason="bench")
    change_seconds = time.perf_counter() - t0
    # A checkpoint at the head, as the projector publishes them: what a rebuild trusts.
    CheckpointPublisher(
        ProjectionRunner(ledger), CheckpointPolicy(origin="bench.example/ledger")
    ).publish()
    return {
        "events": ledger.recorder.max_notification_id() or 0,
        "credentials": credentials,
        "changes": len(chosen),
        "issue_seconds": issue_seconds,
        "change_seconds": change_seconds,
        "seconds": time.perf_counter() - started,
    }


# -- reading ----------------------------------------------------------------------------


def read_plain(ledger: Ledger) -> int:
    """Baseline: page through the log and decode every event without verifying it."""
    recorder = ledger.recorder
    count = 0
    start = 0
    while True:
        page = recorder.select_notifications(start, limit=PAGE, inclusive_of_start=False)
        if not page:
            return count
        for notification in page:
            decode_event(open_row(notification))
        count += len(page)
        start = page[-1].id


def read_verified(ledger: Ledger) -> int:
    """The verifying mapper alone (open, Ed25519 check, key validity, decode), no SQL writes."""
    recorder = ledger.recorder
    to_domain_event = ledger.mapper.to_domain_event
    count = 0
    start = 0
    while True:
        page = recorder.select_notifications(start, limit=PAGE, inclusive_of_start=False)
        if not page:
            return count
        for notification in page:
            to_domain_event(notification)
        count += len(page)
        start = page[-1].id


def ed25519_rates(ledger: Ledger, n: int) -> tuple[float, float, int]:
    """Raw verify/s of one real event's signature, and with the per-event key decoding."""
    notification = ledger.recorder.select_notifications(
        (ledger.recorder.max_notification_id() or 1) // 2, limit=1
    )[0]
    sealed = open_row(notification)
    entry = ledger.keyring.entry(sealed.seal.kid)
    public_key = decode_public_key(entry.public_key)
    signature, data = sealed.seal.signature, sealed.signed_bytes

    def verify() -> None:
        for _ in range(n):
            public_key.verify(signature, data)

    def decode_and_verify() -> None:
        text = entry.public_key
        for _ in range(n):
            decode_public_key(text).verify(signature, data)

    return n / timed(verify), n / timed(decode_and_verify), len(data)


# -- status lookups ---------------------------------------------------------------------


def load_status(runner: ProjectionRunner) -> tuple[StatusMap, StatusBits, dict[str, int]]:
    """The status projection's rows as the in-memory lookup structure, and their sizes."""
    with runner._datastore.transaction(commit=False) as raw:
        if runner.dialect is PG_DIALECT:  # the projections' tables live in the ledger's schema
            raw.execute(f"SET LOCAL search_path TO {runner._datastore.schema}")
        cursor = Cursor(raw, runner.dialect)
        entries = cursor.rows(
            "SELECT credential_id, issuer_id, list_number, status_index FROM status_entries"
        )
        lists = cursor.rows(
            "SELECT issuer_id, list_number, purpose, bits, changed_at FROM status_lists"
        )
        if runner.dialect is PG_DIALECT:
            stored_bits, on_disk = cursor.rows(
                "SELECT SUM(pg_column_size(bits)) AS stored_bits, "
                "pg_total_relation_size(to_regclass(?)) AS on_disk FROM status_lists",
                ("status_lists",),
            )[0]
        else:
            stored_bits = sum(len(row[3]) for row in lists)
            on_disk = cursor.rows(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = ?", ("status_lists",)
            )[0][0]
    sizes = {
        # What a row holds: its text and blob bytes plus 4 (INTEGER) + 8 (BIGINT).
        "row_bytes": sum(len(i) + len(p) + len(b) + 12 for i, _, p, b, _ in lists),
        "bits_bytes": sum(len(row[3]) for row in lists),
        "stored_bits": int(stored_bits or 0),
        "on_disk": int(on_disk or 0),
    }
    issuer_ids: dict[str, str] = {}
    status_map: StatusMap = {
        cid: (issuer_ids.setdefault(issuer, issuer), number, index)
        for cid, issuer, number, index in entries
    }
    status_bits: StatusBits = {
        (issuer_ids.setdefault(issuer, issuer), number, purpose): Bitstring.from_bytes(bytes(bits))
        for issuer, number, purpose, bits, _ in lists
    }
    return status_map, status_bits, sizes


def bench_view(runner: ProjectionRunner, n: int, repeats: int, rng: random.Random) -> float:
    """Lookups/s of the server's in-memory status view (``StatusView``) over this projection."""
    view = StatusView()
    view.refresh(runner)
    ids = [uuid.UUID(r[0]) for r in runner.query("SELECT credential_id FROM status_entries")]
    keys = rng.choices(ids, k=n)
    now = 1_800_000_000_000_000
    assert all(view.state(k, now) is not None for k in keys[:1000])

    def lookups() -> None:
        state = view.state
        for key in keys:
            state(key, now)

    gc.collect()
    return n / min(timed(lookups) for _ in range(repeats))


def bench_lookups(
    status_map: StatusMap, status_bits: StatusBits, n: int, repeats: int, rng: random.Random
) -> dict[str, float]:
    keys = rng.choices(list(status_map), k=n)
    # Split the lists by purpose so that a lookup keys on (issuer, list) only.
    revocation = {(i, k): b for (i, k, p), b in status_bits.items() if p == "revocation"}
    suspension = {(i, k): b for (i, k, p), b in status_bits.items() if p == "suspension"}

    def baseline() -> None:
        entries = status_map
        for key in keys:
            entries[key]

    def revoked() -> None:
        entries, bits = status_map, status_bits
        for key in keys:
            issuer, number, index = entries[key]
            bits[issuer, number, "revocation"].get(index)

    def both() -> None:
        entries = status_map
        for key in keys:
            issuer, number, index = entries[key]
            revocation[issuer, number].get(index)
            suspension[issuer, number].get(index)

    # Sanity: the structure agrees with the projection (some bits are set).
    assert any(b.count() for b in status_bits.values())

    def best(run: Callable[[], None]) -> float:
        return n / min(timed(run) for _ in range(repeats))

    gc.collect()
    return {"baseline": best(baseline), "revoked": best(revoked), "both": best(both)}


# -- memory -----------------------------------------------------------------------------


def status_memory(credentials: int) -> tuple[int, int]:
    """tracemalloc bytes of the bitstrings alone and with the credential -> entry map."""
    lists = -(-credentials // LIST_LENGTH)
    issuer = str(uuid.uuid4())
    rng = random.Random(3)
    per_list = -(-credentials // lists)
    # Made before tracing; indexing an array gives a fresh int, as a row read from the store would.
    permutation = array("I", range(LIST_LENGTH))
    rng.shuffle(permutation)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    bits: StatusBits = {
        (issuer, number, purpose): Bitstring(LIST_LENGTH)
        for number in range(1, lists + 1)
        for purpose in PURPOSES
    }
    bits_only = tracemalloc.get_traced_memory()[0] - base
    # Keys are the projection's TEXT credential ids (36-character str), owned by the map.
    status_map: StatusMap = {
        str(uuid.UUID(int=rng.getrandbits(128), version=4)): (
            issuer,
            1 + n // per_list,
            permutation[n % per_list],
        )
        for n in range(credentials)
    }
    with_map = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    del permutation
    assert len(status_map) == credentials and len(bits) == 2 * lists
    return bits_only, with_map


# -- one store ---------------------------------------------------------------------------


def bench_store(kind: str, url: str, args: argparse.Namespace) -> dict[str, float]:
    rng = random.Random(1)
    ledger = Ledger(url, key_store=MemoryKeyStore())
    log = build_log(ledger, args.events, rng)
    events = log["events"]
    print(f"\n== {kind} ==")
    print(
        f"log built: {events:,} events ({len(log['credentials']):,} credentials in cohorts of "
        f"{COHORT:,}, {log['changes']:,} suspensions/revocations) in {log['seconds']:.1f} s "
        f"(issue_cohort {len(log['credentials']) / log['issue_seconds']:,.0f} credentials/s, "
        f"single-event changes {log['changes'] / log['change_seconds']:,.0f}/s)"
    )

    plain_rates: list[float] = []
    rebuild_rates: list[float] = []
    full_rates: list[float] = []
    runner = ProjectionRunner(ledger)
    for round_number in range(args.rounds):
        pairs: list[tuple[list[float], Callable[[], Any]]] = [
            (plain_rates, lambda: read_plain(ledger)),
            (rebuild_rates, lambda: runner.rebuild(workers=os.cpu_count() or 1)),
            (full_rates, lambda: runner.rebuild(workers=os.cpu_count() or 1, full=True)),
        ]
        if round_number % 2:
            pairs.reverse()
        for rates, action in pairs:
            gc.collect()
            rates.append(events / timed(action))
    positions = runner.positions()
    assert all(p == events for p in positions.values()), positions
    assert read_plain(ledger) == events
    verified_rate = events / timed(lambda: read_verified(ledger))
    raw_verify, decode_verify, signed_size = ed25519_rates(ledger, args.verify_count)
    plain, rebuild = statistics.median(plain_rates), statistics.median(rebuild_rates)
    full = statistics.median(full_rates)
    ratio = rebuild / plain
    print(
        f"baseline read+decode (no verify): {plain:10,.0f} events/s  ({args.rounds} round(s), median)"
    )
    print(
        f"rebuild, all projections:         {rebuild:10,.0f} events/s  ({events / rebuild:.1f} s)  "
        f"ratio {ratio:.2f} ({'meets' if ratio >= TARGET_RATIO else 'MISSES'} target >= {TARGET_RATIO})"
    )
    print(
        f"rebuild --full (every signature):  {full:10,.0f} events/s  ({events / full:.1f} s)  "
        f"ratio {full / plain:.2f}"
    )
    print(
        f"  context: verifying mapper alone (read+verify+decode, no writes) {verified_rate:,.0f} events/s; "
        f"Ed25519 verify {raw_verify:,.0f}/s raw, {decode_verify:,.0f}/s with the key decoded per call "
        f"({signed_size} signed bytes)"
    )

    status_map, status_bits, sizes = load_status(runner)
    flipped = sum(b.count() for b in status_bits.values())
    lookups = bench_lookups(status_map, status_bits, args.lookups, args.lookup_repeats, rng)
    lookup_ratio = lookups["revoked"] / lookups["baseline"]
    print(
        f"status lookups over {len(status_map):,} credentials, {len(status_bits)} bitstrings "
        f"({flipped:,} bits set), {args.lookups:,} random lookups, best of {args.lookup_repeats}:"
    )
    print(
        f"  revoked = bits[issuer, list, 'revocation'].get(index): {lookups['revoked']:12,.0f}/s  "
        f"({'meets' if lookups['revoked'] >= TARGET_LOOKUPS else 'MISSES'} target >= {TARGET_LOOKUPS:,}/s)"
    )
    print(f"  revoked and suspended (two bits):                     {lookups['both']:12,.0f}/s")
    print(
        f"  baseline plain dict lookup entries[credential_id]:    {lookups['baseline']:12,.0f}/s  "
        f"ratio revoked/baseline {lookup_ratio:.2f}"
    )
    stored = "TOAST-compressed" if kind == "postgres" else "as stored"
    disk = "table, TOAST and index" if kind == "postgres" else "dbstat pages"
    print(
        f"status_lists: {len(status_bits)} rows, {sizes['row_bytes']:,} bytes of row data "
        f"(bits {sizes['bits_bytes']:,}; bits {stored} {sizes['stored_bits']:,}); "
        f"on disk ({disk}) {sizes['on_disk']:,} bytes"
    )
    view_rate = bench_view(runner, args.lookups, args.lookup_repeats, rng)
    print(
        f"  StatusView.state(id, now), what a status check uses:  {view_rate:12,.0f}/s  "
        f"({'meets' if view_rate >= TARGET_LOOKUPS else 'MISSES'} target >= {TARGET_LOOKUPS:,}/s)"
    )
    ledger.close()
    return {
        "plain": plain,
        "rebuild": rebuild,
        "full": full,
        "lookups": view_rate,
        "baseline_lookups": lookups["baseline"],
        "events": events,
    }


def run_store(kind: str, args: argparse.Namespace) -> dict[str, float]:
    """Build a log in a fresh store of ``kind`` and measure it."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as directory:
            return bench_store("sqlite", f"sqlite:///{Path(directory) / 'ledger.db'}", args)
    with postgres_schema() as schema:
        return bench_store("postgres", postgres_url(schema), args)


def measure(full: bool = False) -> list[Figure]:
    """Rebuild/read ratios per store, status lookups, status memory per credential."""
    args = argparse.Namespace(
        events=100_000 if full else 12_000,
        rounds=3 if full else 1,
        lookups=1_000_000,
        lookup_repeats=3,
        verify_count=5_000,
        memory_credentials=1_000_000 if full else 262_144,
    )
    figures = []
    for kind in ("sqlite", "postgres"):
        load = load_average()
        with contextlib.redirect_stdout(io.StringIO()):
            result = run_store(kind, args)
        figures.append(
            Figure(
                f"rebuild {kind} ({result['events']:,.0f} events) / plain read+decode",
                result["rebuild"],
                result["plain"],
                TARGET_RATIO,
                "events/s",
                load=load,
            )
        )
        figures.append(
            Figure(
                f"rebuild --full {kind} / plain read+decode (every signature)",
                result["full"],
                result["plain"],
                None,
                "events/s",
                load=load,
            )
        )
        figures.append(
            Figure(
                f"in-process status lookups, StatusView ({kind} projection), lookups/s",
                result["lookups"],
                None,
                TARGET_LOOKUPS,
                "lookups/s",
                note=f"dict lookup of the same keys {result['baseline_lookups']:,.0f}/s",
                load=load,
            )
        )
    load = load_average()
    view_bytes = bench_status_view.bench(args.memory_credentials, 1_000)[3]
    figures.append(
        Figure(
            f"status view memory, bytes per credential ({args.memory_credentials:,})",
            view_bytes,
            None,
            64,
            "bytes",
            at_most=True,
            load=load,
        )
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--lookups", type=int, default=1_000_000)
    parser.add_argument("--lookup-repeats", type=int, default=3)
    parser.add_argument("--verify-count", type=int, default=20_000)
    parser.add_argument("--memory-credentials", type=int, default=1_000_000)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    stores = args.stores.split(",")
    print(
        f"python {platform.python_version()}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f} at start; --events {args.events:,}, --rounds {args.rounds}"
    )
    for kind in stores:
        run_store(kind, args)

    bits_only, with_map = status_memory(args.memory_credentials)
    lists = -(-args.memory_credentials // LIST_LENGTH)
    print(
        f"\n== status structure for {args.memory_credentials:,} synthetic credentials "
        f"({lists} lists of {LIST_LENGTH:,} x {len(PURPOSES)} purposes, tracemalloc) =="
    )
    print(f"bitstrings alone:            {bits_only:13,} bytes = {bits_only / 2**20:8.2f} MiB")
    print(
        f"with credential -> entry map: {with_map:12,} bytes = {with_map / 2**20:8.2f} MiB "
        f"(str credential ids as keys, {with_map / args.memory_credentials:.0f} bytes per credential)"
    )


if __name__ == "__main__":
    main()
