"""The verifier's fast way of opening a stored row agrees with ``open_stored``.

The fast path may decline (None) any row, and then ``open_stored`` decides;
what it must never do is accept a row that ``open_stored`` refuses, or open a
row to something else.
"""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from ledger.audit.verify_batches import open_fast
from ledger.errors import MalformedEvent
from ledger.eventlog.envelope import GENESIS, open_stored, pack, signed_bytes_for

TOPIC = "ledger/Credential/Revoked"


def stored(originator_id: UUID, *, version: int = 2, topic: str = TOPIC) -> bytes:
    signed = signed_bytes_for(
        topic=topic,
        originator_id=originator_id,
        originator_version=version,
        actor={"subject": "a"},
        kid="ed25519:00",
        prev=GENESIS,
        state={"reason": "x", "timestamp": "2026-01-01T00:00:00.000000Z"},
    )
    return pack(signed, bytes(range(64)))


@pytest.mark.parametrize("column", ["canonical", "hex"])
def test_a_plain_row_opens_as_open_stored_opens_it(column: str) -> None:
    uuid = uuid4()
    state = stored(uuid)
    text = str(uuid) if column == "canonical" else uuid.hex
    opened = open_fast((7, text, 2, TOPIC, state))
    assert opened is not None
    sealed, signed_id = opened
    assert signed_id == str(uuid)
    assert sealed == open_stored(topic=TOPIC, originator_id=uuid, originator_version=2, state=state)


@pytest.mark.parametrize(
    "change",
    [
        "other id",
        "other version",
        "other topic",
        "no signature",
        "padded signature",
        "standard base64",
        "upper case id column",
    ],
)
def test_anything_else_is_left_to_open_stored(change: str) -> None:
    uuid = uuid4()
    state = stored(uuid)
    text, version, topic = str(uuid), 2, TOPIC
    if change == "other id":
        text = str(uuid4())
    elif change == "other version":
        version = 3
    elif change == "other topic":
        topic = "ledger/Credential/Issued"
    elif change == "no signature":
        state = state.rpartition(b"\n")[0]
    elif change == "padded signature":
        state += b"=="
    elif change == "standard base64":
        state = state[:-2] + b"+A"
    elif change == "upper case id column":
        text = str(uuid).upper()
    assert open_fast((7, text, version, topic, state)) is None
    if change == "upper case id column":
        return  # the same UUID: open_stored accepts it, and names it canonically
    with pytest.raises(MalformedEvent):
        open_stored(topic=topic, originator_id=UUID(text), originator_version=version, state=state)
