"""The stages of ``ledger verify``: a reader, checking workers, and (in the caller) the merge.

A reader thread reads the log from its source in batches of ``BATCH`` rows and
hands each batch to a pool of worker processes as soon as it is read, keeping up
to a few batches per worker in flight, so that a worker that finishes a batch
finds the next one waiting: workers never wait on reading, and reading never
waits on the merge beyond that window (memory stays bounded on any log size).
Batches travel as lists of plain tuples (ints, strings and the stored bytes);
the workers open, decode and check them (``verify_batches``) and send back
columns. Results come back in log order.

A worker that dies (killed, out of memory, a crash in native code) or fails
with an error ends the run with ``VerificationIncomplete``; the verifier turns
it into a problem of the report, so an interrupted run never says "verified".
"""

from __future__ import annotations

import multiprocessing
import queue
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from ledger.audit.verify_batches import BatchResult, RawRow, check_batch
from ledger.domain import load_all
from ledger.domain.keyregistry import KeyEntry

#: Rows per batch: a power of two, so that each batch is a whole Merkle subtree.
BATCH = 1024
#: Batches in flight per worker: enough that one is always waiting for it.
WINDOW_PER_WORKER = 3


class VerificationIncomplete(Exception):
    """A worker stopped before its batch was checked: the log was not fully verified."""


class BatchSource(Protocol):
    """What the reader reads (``ledger.audit.log_sources``)."""

    def head(self) -> int: ...

    def chunks(self) -> Iterator[Any]: ...

    def load(self, chunk: Any) -> Any: ...


def batch_size(chunk_size: int) -> int:
    """Rows per batch for a source: ``BATCH``, or less for a source read in smaller chunks."""
    return min(BATCH, 1 << (max(1, chunk_size).bit_length() - 1))


def raw_batches(source: BatchSource, size: int) -> Iterator[list[RawRow]]:
    """The log in batches of ``size`` rows of plain values, in log order."""
    raw_load = getattr(source, "raw_load", None)
    batch: list[RawRow] = []
    for chunk in source.chunks():
        if raw_load is not None:
            rows: list[RawRow] = raw_load(chunk)
        else:
            rows = [
                (position, str(originator_id), version, topic, bytes(state))
                for position, originator_id, version, topic, state in source.load(chunk)
            ]
        while rows:
            room = size - len(batch)
            batch.extend(rows[:room])
            rows = rows[room:]
            if len(batch) == size:
                yield batch
                batch = []
    if batch:
        yield batch


_worker_keys: Mapping[str, KeyEntry] = {}
_worker_trusted_upto = 0
_worker_decode = True


def _init_worker(keys: Mapping[str, KeyEntry], trusted_upto: int, decode: bool) -> None:
    global _worker_keys, _worker_trusted_upto, _worker_decode  # noqa: PLW0603 (one per worker)
    _worker_keys = keys
    _worker_trusted_upto = trusted_upto
    _worker_decode = decode
    load_all()


def _check_in_worker(rows: list[RawRow]) -> BatchResult:
    return check_batch(rows, _worker_keys, trusted_upto=_worker_trusted_upto, decode=_worker_decode)


def checked_batches(
    source: BatchSource,
    keys: Mapping[str, KeyEntry],
    *,
    workers: int,
    trusted_upto: int,
    size: int = BATCH,
    decode: bool = True,
) -> Iterator[BatchResult]:
    """Every batch of the log checked, in log order (in this process with one worker).

    ``decode``: see ``check_batch``."""
    load_all()
    if workers == 1:
        for rows in raw_batches(source, size):
            yield check_batch(rows, keys, trusted_upto=trusted_upto, decode=decode)
        return
    yield from _pooled(
        source, keys, workers=workers, trusted_upto=trusted_upto, size=size, decode=decode
    )


class _ReaderFailed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


_DONE = object()


def _pooled(
    source: BatchSource,
    keys: Mapping[str, KeyEntry],
    *,
    workers: int,
    trusted_upto: int,
    size: int,
    decode: bool,
) -> Iterator[BatchResult]:
    # Fork where there is fork: workers start at once, with every module loaded.
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    pending: queue.Queue[Any] = queue.Queue(maxsize=workers * WINDOW_PER_WORKER)
    stop = threading.Event()
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(keys, trusted_upto, decode),
    )

    def offer(item: Any) -> bool:
        while not stop.is_set():
            try:
                pending.put(item, timeout=0.1)
            except queue.Full:
                continue
            return True
        return False

    def read() -> None:
        try:
            for rows in raw_batches(source, size):
                if not offer(pool.submit(_check_in_worker, rows)):
                    return
        except BaseException as error:  # handed to the main thread
            offer(_ReaderFailed(error))
            return
        offer(_DONE)

    reader = threading.Thread(target=read, name="ledger-verify-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = pending.get()
            if item is _DONE:
                return
            if isinstance(item, _ReaderFailed):
                raise item.error
            yield _result(item)
    finally:
        stop.set()
        while reader.is_alive():
            try:
                leftover = pending.get(timeout=0.1)
            except queue.Empty:
                continue
            if isinstance(leftover, Future):
                leftover.cancel()
        pool.shutdown(wait=True, cancel_futures=True)


def _result(future: Future[BatchResult]) -> BatchResult:
    try:
        return future.result()
    except BrokenProcessPool as error:
        raise VerificationIncomplete(
            "a verification worker stopped before finishing its batch (it crashed or was "
            f"killed: {error}); the events from there on were not checked"
        ) from error
    except Exception as error:
        raise VerificationIncomplete(
            f"a verification worker failed ({type(error).__name__}: {error}); "
            "the events from there on were not checked"
        ) from error
