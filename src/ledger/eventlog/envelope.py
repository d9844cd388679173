"""The signed envelope of a stored event: what is hashed, signed, chained and stored.

Format ``ledger-event/1`` (see ``docs/canonical-bytes.md``). The stored ``state``
column of an event row is::

    signed_bytes || 0x0A || base64url(Ed25519 signature over signed_bytes)

where ``signed_bytes`` are the canonical bytes (``canonical.py``) of::

    {"actor": {...}, "kid": "...", "originator_id": "...", "originator_version": n,
     "prev": "<hex SHA-256 of the previous event's signed_bytes, or 64 zeros>",
     "spec": "ledger-event/1", "state": {...}, "topic": "..."}

Canonical JSON never contains a raw newline, so the split is unambiguous. The
event hash is SHA-256(signed_bytes); it is the chain link of the next event of
the same aggregate and the leaf of the log's Merkle tree. Everything an auditor
needs is in the row; no decryption key is involved.
"""

from __future__ import annotations

import hashlib
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.utils import resolve_topic

from ledger import base64url
from ledger.errors import MalformedEvent
from ledger.eventlog.canonical_json import canonical_bytes, field_decoders, loads

SPEC = "ledger-event/1"
GENESIS = "0" * 64
_SEPARATOR = b"\n"


@dataclass(frozen=True)
class Seal:
    """What the envelope says about an event beyond its own state."""

    actor: dict[str, Any]
    kid: str
    prev: str
    digest: str
    signature: bytes

    @property
    def signature_text(self) -> str:
        """The signature as the stored row carries it (base64url; only canonical text opens)."""
        return base64url.encode(self.signature)


@dataclass(frozen=True)
class SealedEvent:
    """A stored event opened but not yet trusted: the caller must verify it."""

    topic: str
    originator_id: UUID
    originator_version: int
    state: dict[str, Any]
    seal: Seal
    signed_bytes: bytes

    @property
    def timestamp(self) -> str:
        """The event's own timestamp, in canonical form."""
        value = self.state.get("timestamp")
        if not isinstance(value, str):
            raise MalformedEvent(f"{self.describe()} has no timestamp")
        return value

    def describe(self) -> str:
        """Names the event in error messages and reports."""
        return f"event {self.originator_id} v{self.originator_version} ({self.topic})"


def event_digest(signed_bytes: bytes) -> str:
    """The hex SHA-256 of an event's signed bytes: its chain link and Merkle leaf data."""
    return hashlib.sha256(signed_bytes).hexdigest()


def signed_bytes_for(
    *,
    topic: str,
    originator_id: UUID,
    originator_version: int,
    actor: dict[str, Any],
    kid: str,
    prev: str,
    state: dict[str, Any],
) -> bytes:
    """The canonical bytes an event's signature covers.

    ``state`` may hold domain values (UUIDs, datetimes, ...) or their lowered JSON
    form: the bytes are the same. The envelope is encoded in one call, so the state
    is neither lowered into a copy nor encoded twice.
    """
    return canonical_bytes(
        {
            "actor": actor,
            "kid": kid,
            "originator_id": originator_id,
            "originator_version": originator_version,
            "prev": prev,
            "spec": SPEC,
            "state": state,
            "topic": topic,
        }
    )


def pack(signed_bytes: bytes, signature: bytes) -> bytes:
    """The bytes stored in the event row's state column (one copy of the signed bytes)."""
    return b"".join((signed_bytes, _SEPARATOR, urlsafe_b64encode(signature).rstrip(b"=")))


def signed_part(state: bytes) -> bytes:
    """The signed bytes of a stored state (the Merkle leaf), without opening it."""
    return bytes(state).rpartition(_SEPARATOR)[0]


def open_stored(
    *, topic: str, originator_id: UUID | str, originator_version: int, state: bytes
) -> SealedEvent:
    """Split and parse a stored row, checking that the columns agree with what is signed.

    Raises ``MalformedEvent`` when the row is not a well-formed envelope or when a
    column (topic, originator id, version) differs from the signed document, which
    is how a moved or renumbered row shows itself.
    """
    where = f"event {originator_id} v{originator_version}"
    signed, separator, signature_text = bytes(state).rpartition(_SEPARATOR)
    if not separator:
        raise MalformedEvent(f"{where} has no signature")
    try:
        signature = base64url.decode(signature_text.decode("ascii"))
        document = loads(signed)
    except ValueError as error:
        raise MalformedEvent(f"{where} cannot be decoded: {error}") from None
    if not isinstance(document, dict) or document.get("spec") != SPEC:
        raise MalformedEvent(f"{where} is not a {SPEC} envelope")
    try:
        signed_text = document["originator_id"]
        if isinstance(originator_id, UUID) and signed_text == str(originator_id):
            signed_id = originator_id  # the common case: no second parse
        else:
            signed_id = UUID(signed_text)
        if (
            document["topic"] != topic
            or (signed_id is not originator_id and signed_id != UUID(str(originator_id)))
            or document["originator_version"] != originator_version
        ):
            raise MalformedEvent(f"{where}: stored columns differ from the signed envelope")
        seal = Seal(
            actor=document["actor"],
            kid=document["kid"],
            prev=document["prev"],
            digest=event_digest(signed),
            signature=signature,
        )
        event_state = document["state"]
    except (KeyError, TypeError, ValueError) as error:
        raise MalformedEvent(f"{where} envelope lacks a field: {error}") from None
    if not isinstance(event_state, dict):
        raise MalformedEvent(f"{where} state is not an object")
    return SealedEvent(
        topic=topic,
        originator_id=signed_id,
        originator_version=originator_version,
        state=event_state,
        seal=seal,
        signed_bytes=signed,
    )


def _identity(value: Any) -> Any:
    return value


class StoredRow(Protocol):
    """The columns of a stored event, as the library's stored events and notifications have them."""

    @property
    def topic(self) -> str: ...

    @property
    def originator_id(self) -> UUID | str: ...

    @property
    def originator_version(self) -> int: ...

    @property
    def state(self) -> bytes: ...


def open_row(row: StoredRow) -> SealedEvent:
    """``open_stored`` of a library ``StoredEvent`` or ``Notification``."""
    return open_stored(
        topic=row.topic,
        originator_id=row.originator_id,
        originator_version=row.originator_version,
        state=row.state,
    )


def decode_event(sealed: SealedEvent) -> Any:
    """Build the domain event object of an opened envelope (upcasting old versions).

    The caller must have verified the envelope; the opened seal is attached to the
    event as ``_seal`` so that aggregates can check the chain while replaying.
    """
    try:
        cls = resolve_topic(sealed.topic)
    except Exception as error:
        raise MalformedEvent(f"{sealed.describe()} has an unknown topic") from error
    state = dict(sealed.state)
    stored_version = state.pop("class_version", 1)
    class_version = getattr(cls, "class_version", 1)
    while stored_version < class_version:
        getattr(cls, f"upcast_v{stored_version}_v{stored_version + 1}")(state)
        stored_version += 1
    decoders = field_decoders(cls)
    try:
        values = {
            key: None if value is None else decoders.get(key, _identity)(value)
            for key, value in state.items()
        }
    except (ValueError, TypeError, KeyError) as error:
        raise MalformedEvent(f"{sealed.describe()} state does not decode: {error}") from None
    values["originator_id"] = sealed.originator_id
    values["originator_version"] = sealed.originator_version
    values["_seal"] = sealed.seal
    domain_event = object.__new__(cls)
    object.__setattr__(domain_event, "__dict__", values)
    return domain_event


def seal_of(event: object) -> Seal | None:
    """The seal attached to an event read from the store (None for a new event)."""
    seal = event.__dict__.get("_seal")
    return seal if isinstance(seal, Seal) else None
