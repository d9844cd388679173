"""Verification benchmark: ``ledger verify`` against the raw Ed25519 verification rate.

Builds a log of about ``--events`` signed events in a SQLite file through the
ledger's own commands (bulk issuance in cohorts of 1,000, plus checkpoints every
10,000 events), then measures in the same run:

* the baseline: libsodium's (PyNaCl) Ed25519 verification of the log's own
  signatures over their signed bytes, in one process, in signatures/s, times
  the number of worker processes (what perfect scaling would give);
* ``Verifier(StoreSource(...), workers=N).run()``: everything ``ledger verify``
  does (signatures, key validity, authority, decoding, chain, order, the
  recomputed RFC 9162 tree and every checkpoint), in events/s;

and prints verify/baseline (target >= 0.8). Rounds alternate; medians count.

On a shared machine the wall-clock ratio falls with the load of others, so the
same run also prints the CPU efficiency: the CPU seconds libsodium alone needs
for the log's signatures over the CPU seconds of the whole verification (main
process and workers). It bounds the wall-clock ratio on an idle machine: a run
whose workers never wait reaches about this figure.
``measure()`` gives the same figure to ``scripts/bench.py``.

    python scripts/bench_verify.py [--events N] [--workers N] [--rounds R] [--bundle]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import tempfile
import time
from pathlib import Path

from benchkit import Figure, load_average
from ledger.projections.runner import ProjectionRunner
from nacl.bindings import crypto_sign_open

from ledger.application.actor import CLI_OPERATOR, Actor, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.audit.log_sources import StoreSource
from ledger.audit.log_verifier import Verifier
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.domain.achievement import AchievementSpec
from ledger.eventlog.envelope import open_stored
from ledger.eventlog.signing_keys import MemoryKeyStore, decode_public_key
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher


def admin(issuer: object) -> Actor:
    return Actor(subject="a", role="administrator", authenticated_by="bench", issuer_id=issuer)  # type: ignore[arg-type]


def build(url: str, events: int) -> int:
    ledger = Ledger(url, key_store=MemoryKeyStore())
    with acting_as(CLI_OPERATOR):
        ledger.establish()
        issuer = ledger.register_issuer(name="Bench", country="NL", administrators=["a"])
    with acting_as(admin(issuer)):
        achievement = ledger.define_achievement(issuer, AchievementSpec.parse(MICRO_DATA_SCIENCE))
    publisher = CheckpointPublisher(
        ProjectionRunner(ledger), CheckpointPolicy(origin="bench.example/ledger")
    )
    batch = 0
    while (ledger.recorder.max_notification_id() or 0) < events:
        with acting_as(admin(issuer)):
            ledger.issue_cohort(
                issuer,
                achievement,
                [CredentialOrder(learner_subject=f"s{batch}-{n}") for n in range(1000)],
                request_id=f"bench-{batch}",
            )
        batch += 1
        if batch % 10 == 0:
            publisher.publish()
    publisher.publish()
    head = ledger.recorder.max_notification_id() or 0
    ledger.close()
    return head


def signatures(url: str) -> list[tuple[bytes, bytes, bytes]]:
    source = StoreSource(url)
    keys = {}
    items = []
    ledger = Ledger(url, key_store=MemoryKeyStore())
    ledger.keyring.refresh()
    registry = ledger.keyring.registry
    assert registry is not None
    for kid, entry in registry.keys.items():
        keys[kid] = decode_public_key(entry.public_key).public_bytes_raw()
    for chunk in source.chunks():
        for _, originator_id, version, topic, state in source.load(chunk):
            sealed = open_stored(
                topic=topic, originator_id=originator_id, originator_version=version, state=state
            )
            items.append((keys[sealed.seal.kid], sealed.seal.signature, sealed.signed_bytes))
    source.close()
    ledger.close()
    return items


def raw_rate(items: list[tuple[bytes, bytes, bytes]]) -> float:
    """libsodium's own verification rate (what the ledger verifies with), one process."""
    started = time.perf_counter()
    for key, signature, data in items:
        crypto_sign_open(signature + data, key)
    return len(items) / (time.perf_counter() - started)


def raw_cpu(items: list[tuple[bytes, bytes, bytes]]) -> float:
    """CPU seconds libsodium alone needs for the signatures."""
    started = time.process_time()
    for key, signature, data in items:
        crypto_sign_open(signature + data, key)
    return time.process_time() - started


def cpu_seconds() -> float:
    """CPU seconds of this process and its finished children (the verify workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def verify_rate(url: str, workers: int) -> tuple[float, int, float]:
    """Events/s of a whole verification, the events, and the CPU seconds it took."""
    source = StoreSource(url)
    started = cpu_seconds()
    try:
        report = Verifier(source, workers=workers).run()
    finally:
        source.close()
    spent = cpu_seconds() - started
    assert report.ok, report.first_problem
    return report.events / report.seconds, report.events, spent


TARGET = 0.8


def run(
    events: int, workers: int, rounds: int, *, echo: bool = True
) -> tuple[float, float, int, float]:
    """Build a log of about ``events``.

    (raw verify/s per process, verify events/s, head, CPU efficiency)
    """
    with tempfile.TemporaryDirectory() as directory:
        url = f"sqlite:///{Path(directory) / 'bench.db'}"
        started = time.perf_counter()
        head = build(url, events)
        if echo:
            print(f"built a log of {head:,} events in {time.perf_counter() - started:.0f}s")
        items = signatures(url)
        raws, verifies, efficiencies = [], [], []
        for round_number in range(1, rounds + 1):
            raw = raw_rate(items)
            rate, counted, spent = verify_rate(url, workers)
            efficiency = raw_cpu(items) / spent
            raws.append(raw)
            verifies.append(rate)
            efficiencies.append(efficiency)
            if echo:
                print(
                    f"round {round_number}: raw Ed25519 {raw:,.0f}/s per process; "
                    f"ledger verify {rate:,.0f} events/s on {workers} workers ({counted:,} "
                    f"events); CPU efficiency {efficiency:.2f}"
                )
    return (
        statistics.median(raws),
        statistics.median(verifies),
        head,
        statistics.median(efficiencies),
    )


def measure(full: bool = False) -> list[Figure]:
    """ledger verify against raw Ed25519 x workers (SQLite)."""
    load = load_average()
    workers = os.cpu_count() or 1
    raw, rate, head, efficiency = run(100_000 if full else 20_000, workers, 3, echo=False)
    return [
        Figure(
            f"verify (SQLite, {head:,} events) / raw Ed25519 x {workers} workers",
            rate,
            raw * workers,
            TARGET,
            "events/s",
            load=load,
        ),
        Figure(
            "verify: CPU of libsodium alone / CPU of the whole run (bounds the ratio above)",
            efficiency,
            note="load-independent: what an idle machine would allow",
            load=load,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(
        f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f} at start"
    )
    raw, rate, _, efficiency = run(args.events, args.workers, args.rounds)
    ideal = raw * args.workers
    print(
        f"\nverify {rate:,.0f} events/s vs raw Ed25519 x {args.workers} workers "
        f"{ideal:,.0f}/s: ratio {rate / ideal:.2f} (target >= {TARGET}); "
        f"CPU efficiency {efficiency:.2f}"
    )


if __name__ == "__main__":
    main()
