"""The staged verification pipeline: a reader, worker processes, the merge in order.

The stores here are small, so the batches are made tiny (4 rows) to send them
through the worker pool as a large log would be. A run whose worker dies or
fails must end NOT VERIFIED with a clear reason, never "Verified".
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence

import pytest

from ledger.audit import verify_pipeline
from ledger.audit.log_sources import StoreSource
from ledger.audit.log_verifier import Report, Verifier
from ledger.audit.verify_batches import BatchResult, RawRow, check_batch
from ledger.domain.keyregistry import KeyEntry
from tests.integration.test_verify import World, row_of, tamper, world

__all__ = ["world"]  # the fixture, shared with test_verify

PARENT = os.getpid()


@pytest.fixture
def tiny_batches(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(verify_pipeline, "BATCH", 4)
    yield


def run(world: World, workers: int) -> Report:
    source = StoreSource(world.ledger.store)
    try:
        return Verifier(source, workers=workers, keep_digests=True).run()
    finally:
        source.close()


@pytest.mark.usefixtures("tiny_batches")
def test_two_workers_find_what_one_process_finds(world: World) -> None:
    pooled = run(world, 2)
    assert pooled.workers == 2
    assert pooled.ok, pooled.first_problem
    alone = run(world, 1)
    assert (pooled.events, pooled.aggregates, pooled.tree_size, pooled.root_hash) == (
        alone.events,
        alone.aggregates,
        alone.tree_size,
        alone.root_hash,
    )
    assert pooled.checkpoints == alone.checkpoints >= 2


@pytest.mark.usefixtures("tiny_batches")
def test_two_workers_locate_an_edited_payload(world: World) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[2], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"10"', 1))
    report = run(world, 2)
    assert report.first_problem is not None
    assert (report.first_problem.position, report.first_problem.kind) == (
        position,
        "signature-invalid",
    )


@pytest.mark.usefixtures("tiny_batches")
def test_two_workers_locate_an_envelope_that_does_not_open(world: World) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[1], 1)
    raw.set_state(credential, version, state.replace(b"\n", b" "))
    report = run(world, 2)
    assert report.first_problem is not None
    assert (report.first_problem.position, report.first_problem.kind) == (
        position,
        "malformed-event",
    )
    # The event is missing from the tree: the checkpoints that hold it fail too.
    assert any(p.kind == "checkpoint-mismatch" for p in report.problems)


def dying_on_the_second_batch(
    rows: Sequence[RawRow],
    keys: Mapping[str, KeyEntry],
    *,
    trusted_upto: int = 0,
    decode: bool = True,
) -> BatchResult:
    if os.getpid() != PARENT and rows[0][0] > 4:
        os._exit(3)  # as a crash in native code or the OOM killer would end it
    return check_batch(rows, keys, trusted_upto=trusted_upto, decode=decode)


def failing_on_the_second_batch(
    rows: Sequence[RawRow],
    keys: Mapping[str, KeyEntry],
    *,
    trusted_upto: int = 0,
    decode: bool = True,
) -> BatchResult:
    if rows[0][0] > 4:
        raise MemoryError("no memory left for the batch")
    return check_batch(rows, keys, trusted_upto=trusted_upto, decode=decode)


@pytest.mark.usefixtures("tiny_batches")
@pytest.mark.parametrize(
    ("worker", "reason"),
    [
        (dying_on_the_second_batch, "crashed or was killed"),
        (failing_on_the_second_batch, "MemoryError"),
    ],
)
def test_a_worker_that_stops_mid_way_fails_the_run(
    world: World, monkeypatch: pytest.MonkeyPatch, worker: object, reason: str
) -> None:
    # Forked workers inherit the patched module.
    monkeypatch.setattr(verify_pipeline, "check_batch", worker)
    report = run(world, 2)
    assert not report.ok
    incomplete = [p for p in report.problems if p.kind == "verification-incomplete"]
    assert len(incomplete) == 1
    assert reason in incomplete[0].message
    assert "not checked" in incomplete[0].message
    assert report.summary().startswith("NOT VERIFIED")
    assert report.events < len(tamper(world).rows())
