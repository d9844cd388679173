"""The signed envelope: any changed byte is caught; old event versions are upcast."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import event
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.domain.base import LedgerAggregate, utcnow
from ledger.domain.keyregistry import KEY_REGISTRY_ID
from ledger.domain.learner import legacy_learner_id
from ledger.errors import TamperDetected
from ledger.eventlog.canonical_json import format_datetime, loads
from ledger.eventlog.envelope import (
    GENESIS,
    Seal,
    SealedEvent,
    decode_event,
    pack,
    signed_bytes_for,
)
from ledger.eventlog.keyring import KeyRing
from ledger.eventlog.signing_keys import encode_public_key, key_id
from ledger.eventlog.signing_mapper import SignedEventMapper

OPERATOR_KEY = Ed25519PrivateKey.generate()
OPERATOR_KID = key_id(OPERATOR_KEY.public_key())


def genesis() -> StoredEvent:
    """A self-signed key registry genesis, as ``Ledger.establish`` writes it."""
    now = format_datetime(utcnow())
    state = {
        "class_version": 1,
        "operator_kid": OPERATOR_KID,
        "operator_public_key": encode_public_key(OPERATOR_KEY.public_key()),
        "originator_topic": "ledger/KeyRegistry",
        "timestamp": now,
        "valid_from": now,
    }
    signed = signed_bytes_for(
        topic="ledger/KeyRegistry/Established",
        originator_id=KEY_REGISTRY_ID,
        originator_version=1,
        actor={"auth": "test", "issuer": None, "role": "operator", "sub": "op"},
        kid=OPERATOR_KID,
        prev=GENESIS,
        state=state,
    )
    return StoredEvent(
        KEY_REGISTRY_ID,
        1,
        "ledger/KeyRegistry/Established",
        pack(signed, OPERATOR_KEY.sign(signed)),
    )


GENESIS_EVENT = genesis()


def mapper() -> SignedEventMapper:
    ring = KeyRing(lambda gt: [GENESIS_EVENT] if gt is None else [])
    m = SignedEventMapper(transcoder=None)  # type: ignore[arg-type]
    m.bind(ring)
    return m


def learner_event() -> StoredEvent:
    state = {
        "class_version": 1,
        "originator_topic": "ledger/Learner",
        "subject": "s",
        "timestamp": format_datetime(utcnow()),
    }
    signed = signed_bytes_for(
        topic="ledger/Learner/Registered",
        originator_id=uuid4(),
        originator_version=1,
        actor={"auth": "test", "issuer": None, "role": "operator", "sub": "op"},
        kid=OPERATOR_KID,
        prev=GENESIS,
        state=state,
    )
    originator = loads(signed)["originator_id"]
    return StoredEvent(
        originator, 1, "ledger/Learner/Registered", pack(signed, OPERATOR_KEY.sign(signed))
    )


MAPPER = mapper()
EVENT = learner_event()


def test_a_genuine_event_reads_back() -> None:
    learner_registered = MAPPER.to_domain_event(EVENT)
    # A version 1 event held the subject in clear; it reads back upcast to version 2.
    assert learner_registered.sealed_subject == "clear:s"  # type: ignore[attr-defined]
    assert learner_registered.learner_id == legacy_learner_id("s")  # type: ignore[attr-defined]


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_any_changed_byte_of_a_stored_state_is_caught(data: st.DataObject) -> None:
    state = bytearray(EVENT.state)
    position = data.draw(st.integers(0, len(state) - 1))
    replacement = data.draw(st.integers(0, 255).filter(lambda b: b != state[position]))
    state[position] = replacement
    tampered = StoredEvent(EVENT.originator_id, EVENT.originator_version, EVENT.topic, bytes(state))
    with pytest.raises((TamperDetected, ValueError)):
        MAPPER.to_domain_event(tampered)


@given(st.sampled_from(["ledger/Learner/Renamed", "ledger/Issuer/Registered", ""]))
def test_a_changed_topic_column_is_caught(topic: str) -> None:
    tampered = StoredEvent(EVENT.originator_id, EVENT.originator_version, topic, EVENT.state)
    with pytest.raises(TamperDetected):
        MAPPER.to_domain_event(tampered)


class Gadget(LedgerAggregate):
    """A test aggregate whose event schema changed: v1 had ``name``, v2 has ``title``."""

    TOPIC = "test/Gadget"

    @event("Made")
    def __init__(self, title: str, colour: str) -> None:
        self.title = title
        self.colour = colour

    class Made(LedgerAggregate.Created):
        TOPIC = "test/Gadget/Made"
        class_version = 2
        title: str
        colour: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["title"] = state.pop("name")
            state.setdefault("colour", "grey")


def test_old_event_versions_are_upcast_on_read() -> None:
    originator_id = uuid4()
    sealed = SealedEvent(
        topic="test/Gadget/Made",
        originator_id=originator_id,
        originator_version=1,
        state={
            "class_version": 1,
            "name": "lamp",
            "originator_topic": "test/Gadget",
            "timestamp": format_datetime(utcnow()),
        },
        seal=Seal(actor={}, kid=OPERATOR_KID, prev=GENESIS, digest="d" * 64, signature=b""),
        signed_bytes=b"",
    )
    gadget = decode_event(sealed).mutate(None)
    assert (gadget.title, gadget.colour) == ("lamp", "grey")
