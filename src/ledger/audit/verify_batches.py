"""The checks a verification worker makes on one batch of the log, on its own.

Everything that needs only the event itself runs here, in a worker process:
the envelope agrees with its row, the signature (all of a batch's signatures in
one call into libsodium), the key's validity at the event's time, the decoding
into the domain event class, the record's authorities (first events), and the
hashes: each event's digest and Merkle leaf, and the Merkle nodes complete
within the batch. What needs the whole log (order across batches, chains,
authority, the tree above the batches, checkpoints) is the main process's merge.

A batch goes back as a ``BatchResult`` of plain columns (lists of ints and
strings, and one bytes object per tree level) rather than one object per
event: pickling per-event objects cost the main process more than its merge.
"""

from __future__ import annotations

import binascii
import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import orjson
from eventsourcing.utils import resolve_topic

from ledger.audit.signature_batch import Item, failed_signatures
from ledger.domain.keyregistry import KEY_REGISTRY_ID, KeyEntry
from ledger.errors import KeyNotValid, LedgerError, MalformedEvent, TamperDetected, UnknownKey
from ledger.eventlog.canonical_json import field_decoders, format_datetime, parse_datetime
from ledger.eventlog.envelope import SPEC, Seal, SealedEvent, decode_event, open_stored
from ledger.eventlog.keyring import signature_problem
from ledger.eventlog.signing_keys import decode_public_key, verify_signature
from ledger.transparency.merkle_tree import leaf_hash, node_hash

CHECKPOINT_TOPIC = "ledger/LogCheckpoints/Published"

#: One event as the reader hands it to a worker: position, aggregate id, version,
#: topic, stored state (plain values, cheap to send between processes).
RawRow = tuple[int, str, int, str, bytes]

_T = TypeVar("_T")


@dataclass(frozen=True)
class Problem:
    """One failed check: where (log position, 0 if none applies), what kind, and why."""

    position: int
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The problem as the JSON report carries it."""
        return {"position": self.position, "kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class CheckpointClaim:
    """A signed checkpoint to hold against the recomputed tree, and where it came from."""

    note: str
    source: str
    position: int = 0
    tree_size: int | None = None
    root_hash: str | None = None


class BatchResult(NamedTuple):
    """What a worker learned about one batch, column by column, in log order.

    Events whose envelope does not open have no entry (their problem says why),
    as they have no digest, link or leaf to merge.
    """

    positions: list[int]
    originator_ids: list[str]
    versions: list[int]
    topics: list[str]
    prevs: list[str]
    digests: list[str]
    #: The owner of each event's key (None: the key is unknown, already a problem).
    owners: list[str | None]
    #: The record's authorities, for first events (None for the others).
    authorities: list[frozenset[str] | None]
    #: (index in this batch, claim) of checkpoint events.
    checkpoints: list[tuple[int, CheckpointClaim]]
    #: The Merkle nodes complete within the batch: level 0 holds the leaves, each
    #: level the 32-byte hashes end to end. Only meaningful for a batch that starts
    #: at a leaf index that is a multiple of its (power of two) size.
    levels: list[bytes]
    problems: list[Problem]
    #: How many rows the batch had (more than ``positions`` when an envelope did not open).
    rows: int


def _plainly_valid(entry: KeyEntry, timestamp: str, starts: dict[str, str]) -> bool:
    """The fast path of the key-validity check, for a key that was never retired.

    Canonical timestamps have one fixed width, so they compare as strings; any
    other case (a retired or compromised key, an odd timestamp) takes the full
    check.
    """
    return (
        entry.retired_at is None
        and entry.compromised_since is None
        and len(timestamp) == 27
        and timestamp >= _canonical_start(entry, starts)
    )


def _canonical_start(entry: KeyEntry, starts: dict[str, str]) -> str:
    """The key's start in canonical text, remembered by key id for one batch (hashing
    the frozen entry itself on every event cost more than the comparison)."""
    start = starts.get(entry.kid)
    if start is None:
        start = starts[entry.kid] = format_datetime(entry.valid_from)
    return start


@cache
def _raw_key(text: str) -> bytes:
    return decode_public_key(text).public_bytes_raw()


_URL_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
#: The last character of a canonical 86-character signature text: 64 bytes use
#: 512 of its 516 bits, so its last 4 bits are zero.
_CANONICAL_LAST = frozenset(b"AQgw")


def open_fast(row: RawRow) -> tuple[SealedEvent, str] | None:
    """``open_stored`` of a well-formed row, for the common case; None for anything else
    (the rebuild's replay uses it too).

    Every check of ``open_stored`` is made: None (and the caller's fall back to
    ``open_stored``, which names the problem) whenever a check fails or a case
    is not the plain one. Also the record's id in its canonical text, which the
    signed envelope must carry (the id column may hold it without hyphens).
    """
    _, originator_id, version, topic, state = row
    signed, separator, signature_text = state.rpartition(b"\n")
    if not separator or len(signature_text) != 86 or signature_text[-1] not in _CANONICAL_LAST:
        return None
    try:
        signature = binascii.a2b_base64(
            signature_text.translate(_URL_TO_STANDARD) + b"==", strict_mode=True
        )
        document = orjson.loads(signed)
    except (ValueError, binascii.Error):
        return None
    if (
        not isinstance(document, dict)
        or document.get("spec") != SPEC
        or document.get("topic") != topic
        or document.get("originator_version") != version
        or b"+" in signature_text
        or b"/" in signature_text
    ):
        return None
    try:
        seal = _frozen(
            Seal,
            actor=document["actor"],
            kid=document["kid"],
            prev=document["prev"],
            digest=hashlib.sha256(signed).hexdigest(),
            signature=signature,
        )
        event_state = document["state"]
    except KeyError:
        return None
    if not isinstance(event_state, dict) or len(signature) != 64:
        return None
    signed_id = document.get("originator_id")
    if not isinstance(signed_id, str) or not _same_id(signed_id, originator_id):
        return None
    try:
        uuid = UUID(signed_id)  # 32 hex digits: the signed id is canonical text
    except ValueError:
        return None
    sealed = _frozen(
        SealedEvent,
        topic=topic,
        originator_id=uuid,
        originator_version=version,
        state=event_state,
        seal=seal,
        signed_bytes=signed,
    )
    return sealed, signed_id


def _same_id(signed_id: str, column: str) -> bool:
    """The signed id is the canonical text of the UUID in the id column.

    Readers give the column as canonical text (PostgreSQL, bundles) or as 32 lower
    case hex digits (how SQLite stores it): both are compared without parsing.
    """
    if len(signed_id) != 36 or not signed_id.islower() or not _canonical_hyphens(signed_id):
        return False
    return signed_id == column or signed_id.replace("-", "") == column


def _canonical_hyphens(text: str) -> bool:
    return text[8] == text[13] == text[18] == text[23] == "-" and text.count("-") == 4


def _frozen(cls: type[_T], **fields: Any) -> _T:
    """An instance of a frozen dataclass without ``__init__``'s guarded setattr per field.

    For ``Seal`` and ``SealedEvent`` (plain frozen dataclasses: no defaults, no
    ``__post_init__``, no slots) this builds the same object; the frozen
    ``__init__`` cost 2 us per object, a tenth of everything but the signature.
    """
    instance = object.__new__(cls)
    instance.__dict__.update(fields)
    return instance


def _opened(rows: Sequence[RawRow], problems: list[Problem]) -> list[tuple[int, str, SealedEvent]]:
    """The events whose envelope opens, with their position and (agreeing) id column."""
    opened: list[tuple[int, str, SealedEvent]] = []
    for row in rows:
        opened_fast = open_fast(row)
        position, originator_id, version, topic, state = row
        if opened_fast is not None:
            opened.append((position, opened_fast[1], opened_fast[0]))
        else:
            try:
                sealed = open_stored(
                    topic=topic,
                    originator_id=_uuid_or_text(originator_id),
                    originator_version=version,
                    state=state,
                )
            except TamperDetected as error:
                problems.append(Problem(position, error.kind, str(error)))
                continue
            opened.append((position, str(sealed.originator_id), sealed))
    return opened


def _uuid_or_text(text: str) -> UUID | str:
    try:
        return UUID(text)
    except ValueError:
        return text  # the envelope check names the mismatch


def _signature_failures(
    opened: Sequence[tuple[int, str, SealedEvent]],
    keys: Mapping[str, KeyEntry],
    trusted_upto: int,
) -> set[int]:
    """The positions of events whose signature must be checked and fails."""
    items: list[Item] = []
    checked: list[int] = []
    for position, _, sealed in opened:
        entry = keys.get(sealed.seal.kid)
        if entry is None:
            continue  # reported as an unknown key
        if (
            position > trusted_upto
            or sealed.topic == CHECKPOINT_TOPIC
            or sealed.originator_id == KEY_REGISTRY_ID
        ):
            try:
                public_key = _raw_key(entry.public_key)
            except ValueError:
                public_key = b""  # fails below, and the full check names why
            items.append((public_key, sealed.seal.signature, sealed.signed_bytes))
            checked.append(position)
    return {checked[index] for index in failed_signatures(items)}


class _CreationFields:
    """The fields of a creation event, each decoded (exactly as ``decode_event`` would)
    only when ``signing_authorities`` reads it: the issuer's id, not the whole state."""

    def __init__(self, cls: type, sealed: SealedEvent) -> None:
        self._state = sealed.state
        self._decoders = field_decoders(cls)
        self.id = sealed.originator_id
        self.originator_id = sealed.originator_id

    def __getattr__(self, name: str) -> Any:
        try:
            value = self._state[name]
        except KeyError:
            raise AttributeError(name) from None
        if value is None:
            return None
        decoder = self._decoders.get(name)
        return value if decoder is None else decoder(value)


def authorities_undecoded(sealed: SealedEvent) -> set[str]:
    """``creation_authorities`` of a creation event without decoding all of it.

    The same fields as ``Aggregate.creation_authorities`` reads, decoded the same
    way; an event stored in an older class version (whose upcast may move fields)
    is decoded whole.
    """
    cls = resolve_topic(sealed.topic)
    if sealed.state.get("class_version", 1) != getattr(cls, "class_version", 1):
        event = decode_event(sealed)
        found: set[str] = resolve_topic(event.originator_topic).creation_authorities(event)
        return found
    aggregate_class = resolve_topic(sealed.state["originator_topic"])
    found = aggregate_class.signing_authorities(_CreationFields(cls, sealed))
    return found


def check_batch(
    rows: Sequence[RawRow],
    keys: Mapping[str, KeyEntry],
    *,
    trusted_upto: int = 0,
    decode: bool = True,
) -> BatchResult:
    """Check each event of a batch on its own: envelope, signature, key validity, decoding.

    Signatures of events at positions up to ``trusted_upto`` are left to the
    caller's check of a trusted checkpoint's root (see ``log_verifier``),
    except those of checkpoint and key registry events.
    Without ``decode``, only checkpoint events are decoded into their domain class
    (creation events give their authorities field by field): for a rebuild, whose
    replay decodes every event and fails on one that does not decode.
    """
    result = BatchResult([], [], [], [], [], [], [], [], [], [], [], len(rows))
    problems = result.problems
    opened = _opened(rows, problems)
    bad_signatures = _signature_failures(opened, keys, trusted_upto)
    interned: dict[frozenset[str], frozenset[str]] = {}
    starts: dict[str, str] = {}
    leaves: list[bytes] = []
    for position, originator_id, sealed in opened:
        kid = sealed.seal.kid
        entry = keys.get(kid)
        authorities: frozenset[str] | None = None
        try:
            if entry is None:
                raise UnknownKey(f"{sealed.describe()} is signed by {kid}, which is not registered")
            if position in bad_signatures:
                # The exact reason, in the words of the one signature check.
                verify_signature(
                    decode_public_key(entry.public_key),
                    signature=sealed.seal.signature,
                    data=sealed.signed_bytes,
                )
            if not _plainly_valid(entry, sealed.timestamp, starts):
                problem = signature_problem(entry, parse_datetime(sealed.timestamp))
                if problem is not None:
                    raise KeyNotValid(f"{sealed.describe()}: {problem}")
            if decode or sealed.topic == CHECKPOINT_TOPIC:
                event = decode_event(sealed)
                if sealed.originator_version == 1:
                    aggregate_class = resolve_topic(event.originator_topic)
                    found = frozenset(aggregate_class.creation_authorities(event))
                    authorities = interned.setdefault(found, found)
            elif sealed.originator_version == 1:
                found = frozenset(authorities_undecoded(sealed))
                authorities = interned.setdefault(found, found)
            if sealed.topic == CHECKPOINT_TOPIC:
                claim = CheckpointClaim(
                    note=event.note,
                    source=f"checkpoint event at position {position}",
                    position=position,
                    tree_size=int(event.tree_size),
                    root_hash=str(event.root_hash),
                )
                result.checkpoints.append((len(result.positions), claim))
        except LedgerError as error:
            kind = error.kind if isinstance(error, TamperDetected) else MalformedEvent.kind
            problems.append(Problem(position, kind, f"{sealed.describe()}: {error}"))
        except Exception as error:  # a forged state can break any domain rule
            problems.append(
                Problem(
                    position, MalformedEvent.kind, f"{sealed.describe()} does not replay: {error}"
                )
            )
        result.positions.append(position)
        result.originator_ids.append(originator_id)
        result.versions.append(sealed.originator_version)
        result.topics.append(sys.intern(sealed.topic))
        result.prevs.append(sealed.seal.prev)
        result.digests.append(sealed.seal.digest)
        result.owners.append(entry.owner if entry is not None else None)
        result.authorities.append(authorities)
        leaves.append(leaf_hash(sealed.signed_bytes))
    result.levels.extend(complete_levels(leaves))
    return result


def complete_levels(leaves: list[bytes]) -> list[bytes]:
    """The Merkle nodes complete within a run of leaves, level by level (leaves first)."""
    levels = [b"".join(leaves)]
    nodes = leaves
    while len(nodes) > 1:
        nodes = [node_hash(nodes[i], nodes[i + 1]) for i in range(0, len(nodes) - 1, 2)]
        levels.append(b"".join(nodes))
    return levels
