"""``decode_event`` raises only the fields that need it; it must decode as the plain walk does.

The plain walk (every stored value through its field's decoder, ``None`` kept) is
what decoding meant before the fast path: both must give the same event, with the
same types, or both refuse the state as ``MalformedEvent``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Any
from uuid import uuid4

from eventsourcing.utils import resolve_topic
from hypothesis import given
from hypothesis import strategies as st

import ledger.application.ledger  # noqa: F401  (registers the event topics)
from ledger.errors import MalformedEvent
from ledger.eventlog.canonical_json import field_decoders, format_datetime
from ledger.eventlog.envelope import GENESIS, Seal, SealedEvent, decode_event

TOPIC = "ledger/Credential/Issued"
FIELDS = (
    "timestamp",
    "originator_topic",
    "issuer_id",
    "achievement_id",
    "achievement_revision",
    "learner_id",
    "valid_from",
    "valid_until",
    "status_list",
    "status_index",
    "policy",
    "result",
    "evidence",
)
SEAL = Seal(actor={}, kid="ed25519:00", prev=GENESIS, digest="d" * 64, signature=b"")

json_leaf = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=8)
json_value = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
field_value = (
    st.uuids().map(str)
    | st.datetimes(timezones=st.just(UTC)).map(format_datetime)
    | st.just("2026-12-01T10:00:00.000000Z")
    | st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.none(), max_size=3)
    | st.lists(st.text(max_size=4) | st.none(), max_size=3)
    | json_value
)


def sealed_with(state: dict[str, Any]) -> SealedEvent:
    return SealedEvent(
        topic=TOPIC,
        originator_id=uuid4(),
        originator_version=1,
        state=state,
        seal=SEAL,
        signed_bytes=b"",
    )


def plain_walk(sealed: SealedEvent) -> dict[str, Any]:
    """The reference: every value through its field's decoder (no upcast needed: v1)."""
    decoders = field_decoders(resolve_topic(sealed.topic))
    state = dict(sealed.state)
    state.pop("class_version", None)
    try:
        values = {
            key: None if value is None else decoders.get(key, lambda v: v)(value)
            for key, value in state.items()
        }
    except (ValueError, TypeError, KeyError) as error:
        raise MalformedEvent(str(error)) from None
    values.update(
        originator_id=sealed.originator_id,
        originator_version=sealed.originator_version,
        _seal=sealed.seal,
    )
    return values


def outcome(decode: Callable[[SealedEvent], Any], sealed: SealedEvent) -> tuple[str, Any]:
    """What a decoder gives: its values with their types, or the kind of error it raises."""
    try:
        result = decode(sealed)
    except Exception as error:  # the kinds must agree, whatever they are
        return "refused", type(error)
    values = result if isinstance(result, dict) else vars(result)
    return "decoded", {key: (value, type(value)) for key, value in values.items()}


@given(st.dictionaries(st.sampled_from(FIELDS), field_value))
def test_decode_event_agrees_with_the_plain_walk(state: dict[str, Any]) -> None:
    state["class_version"] = 1
    sealed = sealed_with(state)
    before = repr(sealed.state)
    assert outcome(decode_event, sealed) == outcome(plain_walk, sealed)
    assert repr(sealed.state) == before  # the signed state is never changed
