"""Benchmark in-process status lookups and the memory of a 1,000,000-credential issuer.

Usage: PYTHONPATH=src python scripts/bench_status_lookup.py [--lookups N] [--credentials N]

Prints, for one core (CPython is single-threaded here):
* lookups/s of ``Bitstring.get`` and of ``IssuerStatusIndex.get``;
* lookups/s of a plain baseline, ``bytearray`` indexing over the same positions, in
  the same run, and the ratio, so the figure can be compared across machines;
* tracemalloc memory of an ``IssuerStatusIndex`` holding the credentials across
  the needed 131,072-entry lists, and of the occupancy bitmaps the issuer keeps
  for index allocation.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import platform
import random
import time
import tracemalloc
from collections.abc import Callable

from benchkit import Figure, load_average

from ledger.standards.bitstring_status_list import (
    MIN_LIST_LENGTH,
    Bitstring,
    IndexAllocator,
    IssuerStatusIndex,
)

TARGET_LOOKUPS_PER_SECOND = 1_000_000


def best_rate(run: Callable[[], None], n: int, repeats: int) -> float:
    """Operations per second of the fastest of ``repeats`` runs (least noise)."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return n / best


def bench_lookups(n: int, repeats: int) -> tuple[float, float]:
    rng = random.Random(1)
    bits = Bitstring()
    for i in rng.sample(range(MIN_LIST_LENGTH), MIN_LIST_LENGTH // 100):
        bits.set(i, True)
    buf = bytearray(bits.to_bytes())
    bit_indices = [rng.randrange(MIN_LIST_LENGTH) for _ in range(n)]
    byte_indices = [i >> 3 for i in bit_indices]

    registry = IssuerStatusIndex()
    list_ids = [f"list-{k}" for k in range(8)]
    for list_id in list_ids:
        registry.add_bitstring(list_id, Bitstring.from_bytes(bits.to_bytes()))
    keys = [(list_ids[rng.randrange(8)], i) for i in bit_indices]

    def run_get() -> None:
        get = bits.get
        for i in bit_indices:
            get(i)

    def run_baseline() -> None:
        for j in byte_indices:
            buf[j]

    def run_registry() -> None:
        get = registry.get
        for list_id, i in keys:
            get(list_id, i)

    # Sanity: the benchmarked lookup agrees with the baseline's bytes.
    assert all(bits.get(i) == bool(buf[i >> 3] & (0x80 >> (i & 7))) for i in bit_indices[:1000])

    get_rate = best_rate(run_get, n, repeats)
    base_rate = best_rate(run_baseline, n, repeats)
    reg_rate = best_rate(run_registry, n, repeats)
    verdict = "meets" if get_rate >= TARGET_LOOKUPS_PER_SECOND else "MISSES"
    print(f"lookups per run                 : {n:,} random indices, best of {repeats}")
    print(f"Bitstring.get                   : {get_rate:,.0f} lookups/s ({verdict} >= 1,000,000/s)")
    print(f"IssuerStatusIndex.get(list, i)  : {reg_rate:,.0f} lookups/s")
    print(f"baseline bytearray[j]           : {base_rate:,.0f} lookups/s")
    print(f"ratio Bitstring.get / baseline  : {get_rate / base_rate:.2f}")
    print(f"ratio registry.get / baseline   : {reg_rate / base_rate:.2f}")
    return get_rate, base_rate


def measure(full: bool = False) -> list[Figure]:
    """Bitstring.get lookups/s on one core (the bytearray baseline in the note)."""
    load = load_average()
    with contextlib.redirect_stdout(io.StringIO()):
        get_rate, base_rate = bench_lookups(2_000_000 if full else 500_000, 5 if full else 3)
    return [
        Figure(
            "Bitstring.get, lookups/s on one core",
            get_rate,
            None,
            TARGET_LOOKUPS_PER_SECOND,
            "lookups/s",
            note=f"bytearray[j] baseline {base_rate:,.0f}/s, ratio {get_rate / base_rate:.2f}",
            load=load,
        )
    ]


def bench_memory(credentials: int) -> None:
    lists_needed = -(-credentials // MIN_LIST_LENGTH)
    rng = random.Random(2)
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    registry = IssuerStatusIndex()
    for k in range(lists_needed):
        registry.add_list(f"https://issuer.example/status/{k}")
    after_registry = tracemalloc.take_snapshot()

    # Issue the credentials as the issuer would: random indices from the allocator,
    # spread evenly over the lists, with ~1% later revoked.
    occupancy = {list_id: Bitstring() for list_id in registry.list_ids()}
    after_occupancy = tracemalloc.take_snapshot()
    tracemalloc.stop()

    allocator = IndexAllocator(randbelow=rng.randrange)
    per_list = -(-credentials // lists_needed)
    issued = 0
    started = time.perf_counter()
    for list_id, used in occupancy.items():
        for _ in range(min(per_list, credentials - issued)):
            index = allocator.allocate(used)
            used.set(index, True)
            if rng.random() < 0.01:
                registry.set(list_id, index, True)
            issued += 1
    alloc_seconds = time.perf_counter() - started
    fill = max(used.count() for used in occupancy.values()) / MIN_LIST_LENGTH

    registry_bytes = sum(
        s.size_diff for s in after_registry.compare_to(before, "filename") if s.size_diff > 0
    )
    occupancy_bytes = sum(
        s.size_diff
        for s in after_occupancy.compare_to(after_registry, "filename")
        if s.size_diff > 0
    )
    # The lists are fixed-size bytearrays, so setting bits must not grow memory;
    # check that rather than assume it.
    tracemalloc.start()
    grow_before = tracemalloc.get_traced_memory()[0]
    first = registry.list_ids()[0]
    for i in range(0, MIN_LIST_LENGTH, 7):
        registry.set(first, i, registry.get(first, i))
    set_growth = tracemalloc.get_traced_memory()[0] - grow_before
    tracemalloc.stop()

    revoked = sum(registry.bitstring(list_id).count() for list_id in registry.list_ids())
    encoded = sum(len(registry.encode(list_id)) for list_id in registry.list_ids())
    print(
        f"credentials                     : {issued:,} in {lists_needed} lists "
        f"of {MIN_LIST_LENGTH:,} (max fill {fill:.1%}), {revoked:,} revoked"
    )
    print(
        f"allocation                      : {issued / alloc_seconds:,.0f} indices/s "
        f"({alloc_seconds:.2f} s total)"
    )
    print(
        f"registry memory (tracemalloc)   : {registry_bytes:,} bytes "
        f"= {registry_bytes / 2**20:.3f} MiB"
    )
    print(f"growth over {MIN_LIST_LENGTH // 7 + 1:,} set() calls  : {set_growth:,} bytes")
    print(
        f"occupancy bitmaps (tracemalloc) : {occupancy_bytes:,} bytes "
        f"= {occupancy_bytes / 2**20:.3f} MiB"
    )
    print(f"published encodedLists total    : {encoded:,} characters")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=2_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--credentials", type=int, default=1_000_000)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} ({platform.python_implementation()}) "
        f"on {platform.machine()}, single thread"
    )
    bench_lookups(args.lookups, args.repeats)
    bench_memory(args.credentials)


if __name__ == "__main__":
    main()
