"""Bounds on checking a presented credential: size, nodes, depth, time, concurrency."""

from __future__ import annotations

import contextlib
import threading
from typing import Any

import pytest
from ledger.api.check_limits import (
    MAX_DEPTH,
    MAX_OBJECTS,
    CheckerBusy,
    CheckGate,
    CredentialTooCostly,
    check_size,
)


def nested(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": value}
    return value


def test_ordinary_documents_pass() -> None:
    check_size({"a": [1, 2, {"b": "c"}], "d": nested(10)})


@pytest.mark.parametrize(
    "document",
    [
        nested(MAX_DEPTH + 1),
        [{"x": n} for n in range(MAX_OBJECTS + 1)],
        {"many": list(range(10_000))},
    ],
    ids=["too-deep", "too-many-objects", "too-many-values"],
)
def test_costly_documents_are_refused(document: Any) -> None:
    with pytest.raises(CredentialTooCostly):
        check_size(document)


def test_a_check_past_its_budget_is_answered_and_the_queue_is_bounded() -> None:
    gate = CheckGate(budget=0.2, waiting=1)
    release = threading.Event()
    try:
        with pytest.raises(CredentialTooCostly):
            gate.run(lambda: release.wait(60))
        # The slow check still holds the one thread; one more may wait, then no more.
        waiting = threading.Thread(target=lambda: _quietly(gate))
        waiting.start()
        deadline = threading.Event()
        while gate._slots._value > 0 and not deadline.wait(0.01):
            pass
        with pytest.raises(CheckerBusy):
            gate.run(lambda: "never run")
    finally:
        release.set()
    waiting.join(timeout=60)
    assert _eventually(lambda: gate.run(lambda: "ran") == "ran")


def _quietly(gate: CheckGate) -> None:
    with contextlib.suppress(CredentialTooCostly, CheckerBusy):
        gate.run(lambda: "queued")


def _eventually(check: Any) -> bool:
    for _ in range(600):
        try:
            return bool(check())
        except CheckerBusy:
            threading.Event().wait(0.1)
    return False
