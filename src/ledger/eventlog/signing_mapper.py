"""The signing mapper: signs every event on write and checks it on every read.

Set as the library's ``MAPPER_TOPIC``. On write it lowers the event's state to
canonical JSON, wraps it in the ``ledger-event/1`` envelope (``envelope.py``) with
the acting party, the signing key id and the previous event's hash, and signs it.
On read it opens the envelope, checks the signature and the key's validity at the
event's time against the key ring, and only then builds the domain event; a
tampered row raises a ``TamperDetected`` error and is never returned.

What to sign with and which chain heads to link to is given per save by the
application through ``sealing()``: a context variable, so concurrent requests in
threads or tasks never see each other's context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, cast
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Cipher, Compressor, Mapper, StoredEvent, Transcoder
from eventsourcing.utils import get_topic

from ledger.errors import ConfigurationError, InvalidInput
from ledger.eventlog.canonical_json import CanonicalError
from ledger.eventlog.envelope import (
    GENESIS,
    SealedEvent,
    decode_event,
    event_digest,
    open_row,
    pack,
    signed_bytes_for,
)
from ledger.eventlog.keyring import KeyRing
from ledger.eventlog.signing_keys import Sign, signer_for


@dataclass
class SealingContext:
    """Everything needed to sign one save: the key, the actor and the chain heads."""

    kid: str
    private_key: Ed25519PrivateKey
    actor: dict[str, Any]
    heads: dict[UUID, str] = field(default_factory=dict)
    #: Signs with ``private_key`` (libsodium; made once per key, see ``signer_for``).
    sign: Sign = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.sign = signer_for(self.private_key)


@dataclass(slots=True)
class PreparedEvent:
    """A stored event waiting for its signature (slotted: one is made per event)."""

    originator_id: UUID
    originator_version: int
    topic: str
    signed_bytes: bytes
    sign_with: Sign

    def sign(self) -> StoredEvent:
        """Sign (libsodium releases the GIL, so threads can do this in parallel)."""
        signed = self.signed_bytes
        return StoredEvent(
            originator_id=self.originator_id,
            originator_version=self.originator_version,
            topic=self.topic,
            state=pack(signed, self.sign_with(signed)),
        )


_sealing: ContextVar[SealingContext | None] = ContextVar("ledger_sealing", default=None)


@contextmanager
def sealing(context: SealingContext) -> Iterator[SealingContext]:
    """Sign the events mapped inside this block with ``context``."""
    token = _sealing.set(context)
    try:
        yield context
    finally:
        _sealing.reset(token)


class SignedEventMapper(Mapper[UUID]):
    """Maps domain events to signed, chained stored events and back."""

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
    ) -> None:
        if compressor is not None or cipher is not None:
            # The signature covers what is stored, so that auditors can check it
            # without keys; personal data is encrypted field by field instead.
            raise ConfigurationError("the ledger stores events neither compressed nor encrypted")
        super().__init__(transcoder)
        self._keyring: KeyRing | None = None

    def bind(self, keyring: KeyRing) -> None:
        """Attach the key ring that reads are checked against."""
        self._keyring = keyring

    @property
    def keyring(self) -> KeyRing:
        if self._keyring is None:
            raise ConfigurationError("the signing mapper has no key ring bound")
        return self._keyring

    def prepare(self, domain_event: DomainEventProtocol[UUID]) -> PreparedEvent:
        """Everything but the signature: canonical bytes, chained to the previous event.

        Preparing is sequential (each event's bytes name the hash of the one before);
        signing is not, so the event store can sign prepared events in parallel.
        """
        context = _sealing.get()
        if context is None:
            raise ConfigurationError("events can only be saved through the Ledger application")
        cls = type(domain_event)
        topic = get_topic(cls)
        state = vars(domain_event).copy()
        originator_id = state.pop("originator_id")
        version = state.pop("originator_version")
        for private in [key for key in state if key[0] == "_"]:
            del state[private]
        state["class_version"] = getattr(cls, "class_version", 1)
        prev = context.heads.get(originator_id)
        if prev is None:
            if version != 1:
                raise ConfigurationError(
                    f"no chain head known for {originator_id} v{version}: save aggregates, "
                    "not loose events"
                )
            prev = GENESIS
        try:
            signed = signed_bytes_for(
                topic=topic,
                originator_id=originator_id,
                originator_version=version,
                actor=context.actor,
                kid=context.kid,
                prev=prev,
                state=state,
            )
        except CanonicalError as error:
            raise InvalidInput(f"event {topic} cannot be signed: {error}") from None
        context.heads[originator_id] = event_digest(signed)
        return PreparedEvent(originator_id, version, topic, signed, context.sign)

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        return self.prepare(domain_event).sign()

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        sealed = self.open(stored_event)
        entry = self.keyring.verify(sealed)
        domain_event = self.decode(sealed)
        domain_event.__dict__["_signer"] = entry.owner
        return domain_event

    @staticmethod
    def open(stored_event: StoredEvent) -> SealedEvent:
        """Open a stored row without trusting it yet."""
        return open_row(stored_event)

    @staticmethod
    def decode(sealed: SealedEvent) -> DomainEventProtocol[UUID]:
        """Build the domain event of an opened (and verified) envelope."""
        return cast(DomainEventProtocol[UUID], decode_event(sealed))
