"""The database refuses changes, and a changed row never reads back silently.

Each test writes real events, then works on the table with raw SQL as an attacker
with database access would, and checks that the ledger raises a tamper error
naming the event instead of returning altered data.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from uuid import UUID

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.base import utcnow
from ledger.domain.credential import Amendment
from ledger.errors import (
    ChainBroken,
    KeyNotValid,
    MalformedEvent,
    SignatureInvalid,
    TamperDetected,
    UnknownKey,
    WrongSigner,
)
from ledger.eventlog.canonical_json import format_datetime
from ledger.eventlog.envelope import open_stored, pack, signed_bytes_for
from ledger.eventlog.signing_keys import key_id
from tests.factories import admin, new_achievement, new_issuer
from tests.rawstore import RawEvents

REFUSALS = (sqlite3.IntegrityError, psycopg.errors.InsufficientPrivilege)


def world(ledger: Ledger) -> tuple[UUID, UUID]:
    """An issuer and a credential with three events (issued, amended, suspended)."""
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="s", result={"grade": "6"})
        )
        ledger.amend_credential(credential_id, Amendment(result={"grade": "7"}), reason="regraded")
        ledger.suspend_credential(credential_id, reason="check")
    return issuer_id, credential_id


def fresh(ledger: Ledger) -> Ledger:
    """A new process's view: no caches, keys read from the log."""
    return Ledger(ledger.store, key_store=ledger.key_store)


@pytest.mark.parametrize("statement", ["UPDATE {table} SET topic='x'", "DELETE FROM {table}"])
def test_the_database_refuses_updates_and_deletes(ledger: Ledger, statement: str) -> None:
    world(ledger)
    raw = RawEvents(ledger.store)
    count = raw.count()
    with pytest.raises(REFUSALS, match="append-only"):
        raw.execute(statement)
    assert raw.count() == count


@pytest.mark.postgres
def test_postgres_refuses_truncate(postgres_schema: str, key_store) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import postgres_store_url

    ledger = Ledger(postgres_store_url(postgres_schema), key_store=key_store)
    with acting_as(CLI_OPERATOR):
        ledger.establish()
    world(ledger)
    raw = RawEvents(ledger.store)
    count = raw.count()
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        raw.execute("TRUNCATE {table}")
    assert raw.count() == count


def test_an_edited_payload_is_detected(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    raw.set_state(credential_id, 2, raw.state(credential_id, 2).replace(b'"7"', b'"9"'))
    with pytest.raises(SignatureInvalid, match=f"{credential_id} v2"):
        fresh(ledger).credential(credential_id)


def test_an_edited_timestamp_is_detected(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    state = raw.state(credential_id, 3)
    sealed = open_stored(
        topic=raw.topic(credential_id, 3),
        originator_id=credential_id,
        originator_version=3,
        state=state,
    )
    raw.set_state(
        credential_id, 3, state.replace(sealed.timestamp.encode(), b"2020-01-01T00:00:00.000000Z")
    )
    with pytest.raises(SignatureInvalid):
        fresh(ledger).credential(credential_id)


def test_a_removed_event_breaks_the_chain(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    raw.delete(credential_id, 2)
    with pytest.raises(ChainBroken, match=f"{credential_id} v3"):
        fresh(ledger).credential(credential_id)


def test_a_reordered_pair_is_detected(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    second, third = raw.state(credential_id, 2), raw.state(credential_id, 3)
    topic2, topic3 = raw.topic(credential_id, 2), raw.topic(credential_id, 3)
    raw.delete(credential_id, 2)
    raw.delete(credential_id, 3)
    raw.insert(credential_id, 2, topic3, third)
    raw.insert(credential_id, 3, topic2, second)
    with pytest.raises(MalformedEvent, match="differ from the signed envelope"):
        fresh(ledger).credential(credential_id)


def test_a_forged_event_signed_by_an_unknown_key_is_detected(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    genuine = open_stored(
        topic=raw.topic(credential_id, 3),
        originator_id=credential_id,
        originator_version=3,
        state=raw.state(credential_id, 3),
    )
    forger = Ed25519PrivateKey.generate()
    topic = "ledger/Credential/Reinstated"
    signed = signed_bytes_for(
        topic=topic,
        originator_id=credential_id,
        originator_version=4,
        actor=genuine.seal.actor,
        kid=key_id(forger.public_key()),
        prev=genuine.seal.digest,
        state={"class_version": 1, "reason": "forged", "timestamp": genuine.timestamp},
    )
    raw.insert(credential_id, 4, topic, pack(signed, forger.sign(signed)))
    with pytest.raises(UnknownKey):
        fresh(ledger).credential(credential_id)


def test_an_event_resigned_with_another_issuers_key_is_detected(ledger: Ledger) -> None:
    _, credential_id = world(ledger)
    other_issuer = new_issuer(ledger, "Other")
    other_kid = ledger.keyring.active_key(str(other_issuer)).kid  # type: ignore[union-attr]
    other_key = ledger.key_store.private_key(other_kid)
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    sealed = open_stored(
        topic=raw.topic(credential_id, 3),
        originator_id=credential_id,
        originator_version=3,
        state=raw.state(credential_id, 3),
    )
    signed = signed_bytes_for(
        topic=sealed.topic,
        originator_id=credential_id,
        originator_version=3,
        actor=sealed.seal.actor,
        kid=other_kid,
        prev=sealed.seal.prev,
        state={**sealed.state, "reason": "rewritten", "timestamp": format_datetime(utcnow())},
    )
    raw.set_state(credential_id, 3, pack(signed, other_key.sign(signed)))
    with pytest.raises(WrongSigner, match="no authority"):
        fresh(ledger).credential(credential_id)


def test_events_signed_after_a_compromise_are_refused(ledger: Ledger) -> None:
    issuer_id, credential_id = world(ledger)
    kid = ledger.keyring.active_key(str(issuer_id)).kid  # type: ignore[union-attr]
    since = utcnow() - timedelta(seconds=30)
    with acting_as(CLI_OPERATOR):
        ledger.mark_key_compromised(kid, since=since, reason="key file leaked")
    with pytest.raises(KeyNotValid, match="compromised"):
        fresh(ledger).credential(credential_id)


def test_every_tamper_error_is_a_tamper_detected() -> None:
    for error in (
        ChainBroken,
        KeyNotValid,
        MalformedEvent,
        SignatureInvalid,
        UnknownKey,
        WrongSigner,
    ):
        assert issubclass(error, TamperDetected)
