"""Benchmark the in-memory status view: lookups per second and bytes per credential.

Usage: python scripts/bench_status_view.py [--credentials N] [--lookups N]

Fills a ``StatusView`` with N credentials (random UUIDs, indexes as an issuer
spreads them over 131,072-entry lists, ~1% revoked, some with an end date), then
prints, on one core:

* ``StatusView.state(id, now)`` lookups/s over random known ids (the status check's
  in-process work), against a plain ``dict`` lookup of the same UUID objects in
  the same run (the floor of any Python lookup);
* the view's bytes per credential: its columns and index (``nbytes``) and what
  tracemalloc saw it allocate (targets: >= 1,000,000 lookups/s, <= 64 bytes).
"""

from __future__ import annotations

import argparse
import random
import time
import tracemalloc
import uuid
from collections.abc import Callable

from benchkit import Figure, load_average
from ledger.projections.status_view import NO_END, Change, StatusView

TARGET_LOOKUPS = 1_000_000
TARGET_BYTES = 64
LIST_LENGTH = 131_072


def changes(n: int, seed: int = 1) -> list[Change]:
    rng = random.Random(seed)
    issuer = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return [
        Change(
            credential_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            state="revoked" if rng.random() < 0.01 else "active",
            valid_until=NO_END if k % 3 else 4_102_444_800_000_000,
            position=k + 1,
            issuer_id=issuer,
            list_number=1 + k // LIST_LENGTH,
            index=rng.randrange(LIST_LENGTH),
        )
        for k in range(n)
    ]


def best_rate(run: Callable[[], None], n: int, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return n / best


def bench(credentials: int, lookups: int, repeats: int = 3) -> tuple[float, float, float, float]:
    """(lookups/s, dict lookups/s, bytes/credential by nbytes, by tracemalloc)."""
    rows = changes(credentials)
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    view = StatusView()
    view.apply(rows)
    traced = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    rng = random.Random(2)
    ids = [rows[rng.randrange(credentials)].credential_id for _ in range(lookups)]
    now = 1_800_000_000_000_000
    assert all(view.state(i, now) in ("active", "revoked", "expired") for i in ids[:1000])
    assert view.state(uuid.uuid4(), now) is None
    plain = {row.credential_id: row.state for row in rows}

    def run_view() -> None:
        state = view.state
        for i in ids:
            state(i, now)

    def run_dict() -> None:
        get = plain.get
        for i in ids:
            get(i)

    rate = best_rate(run_view, lookups, repeats)
    dict_rate = best_rate(run_dict, lookups, repeats)
    return rate, dict_rate, view.nbytes() / credentials, traced / credentials


def measure(full: bool = False) -> list[Figure]:
    """The view's lookups/s and bytes per credential (1M credentials with --full)."""
    load = load_average()
    credentials = 1_000_000 if full else 200_000
    rate, dict_rate, nbytes, traced = bench(credentials, 1_000_000 if full else 300_000)
    return [
        Figure(
            f"status view lookups/s, one core ({credentials:,} credentials)",
            rate,
            None,
            TARGET_LOOKUPS,
            "lookups/s",
            note=f"dict.get of the same UUIDs {dict_rate:,.0f}/s ({rate / dict_rate:.2f}x)",
            load=load,
        ),
        Figure(
            "status view bytes per credential",
            traced,
            None,
            TARGET_BYTES,
            "bytes",
            note=f"columns and index {nbytes:.1f} B",
            load=load,
            at_most=True,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--credentials", type=int, default=1_000_000)
    parser.add_argument("--lookups", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"load average {load_average():.2f} at start")
    rate, dict_rate, nbytes, traced = bench(args.credentials, args.lookups)
    print(f"credentials                 : {args.credentials:,}")
    print(f"StatusView.state            : {rate:,.0f} lookups/s (target >= {TARGET_LOOKUPS:,})")
    print(f"dict.get, same UUIDs        : {dict_rate:,.0f} lookups/s ({rate / dict_rate:.2f}x)")
    print(f"bytes/credential, tracemalloc: {traced:.1f} (target <= {TARGET_BYTES})")
    print(f"bytes/credential, nbytes     : {nbytes:.1f}")


if __name__ == "__main__":
    main()
