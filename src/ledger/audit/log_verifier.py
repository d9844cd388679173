"""``ledger verify``: replay the whole log and prove that nothing was altered.

What is checked, for every event in log order:

* the envelope opens and agrees with its row (topic, aggregate, version);
* its Ed25519 signature, by a key of the key registry that was valid at the
  event's time, judged by the registry's *final* state, so a key marked
  compromised from an instant invalidates everything it signed after that;
* the signer's authority over the aggregate (one institution's key cannot
  sign another's records);
* the event decodes into its domain event class;
* the per-aggregate chain: versions follow each other and each event names the
  hash of the one before;
* the global order: positions strictly increase;

and then every checkpoint (those recorded in the log, those the Merkle
projection serves, those in a bundle, those an auditor kept) against the
RFC 9162 tree recomputed from the events: signed by an operator key, no larger
than the log, and with the root of the log's first ``size`` events.

Signatures, decoding and hashing run in worker processes, one chunk of the log
each; the main process merges their results in log order.

With ``trust_checkpoint`` (what ``ledger rebuild`` uses; ``ledger verify`` and
``ledger rebuild --full`` never do) the Ed25519 signatures of the events covered by
the log's newest checkpoint are not checked one by one: their signed bytes are held
to that checkpoint's Merkle root instead (SHA-256 speed), and the checkpoint's own
signatures (its event and its note, by an operator key valid at its time) are
checked. The operator signed that root after its projector had verified every one
of those events, so bytes that hash to it are bytes that were verified; everything
else (keys known and valid at each event's time, authority, decoding, chains,
order, every checkpoint) is checked as in a full run, and every event after the
checkpoint, every checkpoint event and every key registry event has its signature
checked.
"""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple, Protocol

from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import resolve_topic

from ledger.audit.log_sources import Chunk, Row, load_chunk
from ledger.domain import load_all
from ledger.domain.keyregistry import KEY_REGISTRY_ID, OPERATOR, KeyEntry
from ledger.errors import (
    ChainBroken,
    CheckpointMismatch,
    KeyNotValid,
    LedgerError,
    MalformedEvent,
    OrderBroken,
    TamperDetected,
    UnknownKey,
    WrongSigner,
)
from ledger.eventlog.canonical_json import format_datetime, parse_datetime
from ledger.eventlog.chain import START, ChainHead, check_signer, follow
from ledger.eventlog.envelope import decode_event, open_row, open_stored
from ledger.eventlog.keyring import KeyRing, signature_problem
from ledger.eventlog.signing_keys import decode_public_key, verify_signature
from ledger.transparency.checkpoint_note import (
    CheckpointError,
    parse_signed_note,
    verify_checkpoint,
)
from ledger.transparency.merkle_tree import MerkleTree, leaf_hash

CHECKPOINT_TOPIC = "ledger/LogCheckpoints/Published"
_REGISTRY = str(KEY_REGISTRY_ID)


@dataclass(frozen=True)
class Problem:
    """One failed check: where (log position, 0 if none applies), what kind, and why."""

    position: int
    kind: str
    message: str

    def to_json(self) -> dict[str, Any]:
        """The problem as the JSON report carries it."""
        return {"position": self.position, "kind": self.kind, "message": self.message}


class EventRecord(NamedTuple):
    """What a worker learned about one event, for the main process to merge.

    A named tuple, sent as a plain tuple: pickling a dataclass per event cost the
    main process several times more than the merge itself.
    """

    position: int
    originator_id: str
    version: int
    topic: str
    digest: str
    prev: str
    leaf: bytes
    kid: str
    authorities: frozenset[str] | None
    checkpoint: CheckpointClaim | None


@dataclass(frozen=True)
class CheckpointClaim:
    """A signed checkpoint to hold against the recomputed tree, and where it came from."""

    note: str
    source: str
    position: int = 0
    tree_size: int | None = None
    root_hash: str | None = None


@dataclass
class Report:
    """The outcome of a verification run."""

    source: str
    events: int = 0
    aggregates: int = 0
    keys: int = 0
    operator_kid: str | None = None
    tree_size: int = 0
    root_hash: str = ""
    #: Distinct checkpoints checked (the same signed note in several places counts once).
    checkpoints: int = 0
    #: Of those, the ones the log itself records (its checkpoint events).
    checkpoints_in_log: int = 0
    #: Where the others came from (the Merkle projection, a bundle, the auditor's files).
    checkpoint_sources: list[str] = field(default_factory=list)
    seconds: float = 0.0
    workers: int = 1
    problems: list[Problem] = field(default_factory=list)
    #: Events whose signatures were held to a trusted checkpoint's root instead of checked.
    trusted_events: int = 0
    #: The tree size of that checkpoint (0: every signature was checked).
    trusted_tree_size: int = 0

    @property
    def ok(self) -> bool:
        """True when every check passed."""
        return not self.problems

    @property
    def first_problem(self) -> Problem | None:
        """The earliest failure in log order (checks without a position come last)."""
        if not self.problems:
            return None
        return min(self.problems, key=lambda p: (p.position or float("inf"), 0))

    def to_json(self) -> dict[str, Any]:
        """The report as ``ledger verify --json`` prints it."""
        first = self.first_problem
        return {
            "ok": self.ok,
            "source": self.source,
            "events": self.events,
            "aggregates": self.aggregates,
            "keys": self.keys,
            "operator_kid": self.operator_kid,
            "tree_size": self.tree_size,
            "root_hash": self.root_hash,
            "checkpoints": self.checkpoints,
            "checkpoints_in_log": self.checkpoints_in_log,
            "checkpoint_sources": self.checkpoint_sources,
            "seconds": round(self.seconds, 3),
            "workers": self.workers,
            "trusted_tree_size": self.trusted_tree_size,
            "trusted_events": self.trusted_events,
            "first_problem": first.to_json() if first else None,
            "problems": [p.to_json() for p in sorted(self.problems, key=_problem_order)[:100]],
        }

    def summary(self) -> str:
        """A human-readable summary."""
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        # The first line says the outcome: never "Verified" when a check failed.
        verdict = "Verified" if self.ok else "NOT VERIFIED: checked"
        lines = [
            f"{verdict} {self.source}: {self.events} events of {self.aggregates} records, "
            f"{self.keys} keys, {self.checkpoints} checkpoints "
            f"in {self.seconds:.1f}s ({rate:,.0f} events/s on {self.workers} "
            f"{'worker' if self.workers == 1 else 'workers'})",
            f"Checkpoints: {self.checkpoints} distinct, {self.checkpoints_in_log} recorded in the "
            "log" + self._other_checkpoints(),
            f"Operator key (compare with the one you pinned): {self.operator_kid}",
            f"Tree: {self.tree_size} events, root {self.root_hash}",
        ]
        first = self.first_problem
        if first is None:
            lines.append("OK: every signature, key, chain link, position and checkpoint checks out")
        else:
            where = f"position {first.position}" if first.position else "the log as a whole"
            lines.append(f"FAILED at {where}: {first.kind}: {first.message}")
            if len(self.problems) > 1:
                lines.append(f"({len(self.problems) - 1} further problems; --json lists them)")
        return "\n".join(lines)

    def _other_checkpoints(self) -> str:
        if not self.checkpoint_sources:
            return ""
        named = ", ".join(self.checkpoint_sources)
        others = self.checkpoints - self.checkpoints_in_log
        if others:
            return f"; {others} more only in {named}"
        return f" (also in {named}: the same ones, counted once)"


def _source_kind(source: str) -> str:
    """What kind of place a checkpoint claim came from, for the summary."""
    for kind in ("bundle", "served", "checkpoint file"):
        if source.startswith(kind):
            return {"served": "the Merkle projection", "checkpoint file": "your files"}.get(
                kind, "the bundle"
            )
    return source


def _problem_order(problem: Problem) -> tuple[float, str]:
    return (problem.position or float("inf"), problem.kind)


class LogSource(Protocol):
    """What verification reads (``ledger.audit.log_sources``)."""

    description: str
    chunk_size: int

    def registry_events(self) -> list[StoredEvent]: ...

    def head(self) -> int: ...

    def chunks(self) -> Iterator[Chunk]: ...

    def load(self, chunk: Chunk) -> Sequence[Row]: ...


# -- the worker side -------------------------------------------------------------

_worker_keys: Mapping[str, KeyEntry] = {}
_worker_trusted_upto = 0


def _init_worker(keys: Mapping[str, KeyEntry], trusted_upto: int = 0) -> None:
    global _worker_keys, _worker_trusted_upto  # noqa: PLW0603 (one table per worker process)
    _worker_keys = keys
    _worker_trusted_upto = trusted_upto
    load_all()


def _check_chunk(chunk: Chunk) -> tuple[list[tuple[Any, ...]], list[Problem]]:
    records, problems = check_rows(
        load_chunk(chunk), _worker_keys, trusted_upto=_worker_trusted_upto
    )
    return [tuple(record) for record in records], problems


def _plainly_valid(entry: KeyEntry, timestamp: str) -> bool:
    """The fast path of the key-validity check, for a key that was never retired.

    Canonical timestamps have one fixed width, so they compare as strings; any
    other case (a retired or compromised key, an odd timestamp) takes the full
    check.
    """
    return (
        entry.retired_at is None
        and entry.compromised_since is None
        and len(timestamp) == 27
        and timestamp >= _canonical_start(entry)
    )


@cache
def _canonical_start(entry: KeyEntry) -> str:
    return format_datetime(entry.valid_from)


def check_rows(
    rows: Iterable[Row], keys: Mapping[str, KeyEntry], *, trusted_upto: int = 0
) -> tuple[list[EventRecord], list[Problem]]:
    """Check each event on its own: envelope, signature, key validity, decoding.

    Signatures of events at positions up to ``trusted_upto`` are left to the
    caller's check of a trusted checkpoint's root (see the module docstring),
    except those of checkpoint and key registry events.
    """
    records: list[EventRecord] = []
    problems: list[Problem] = []
    public_keys: dict[str, Any] = {}
    interned: dict[frozenset[str], frozenset[str]] = {}
    for position, originator_id, version, topic, state in rows:
        try:
            sealed = open_stored(
                topic=topic, originator_id=originator_id, originator_version=version, state=state
            )
        except TamperDetected as error:
            problems.append(Problem(position, error.kind, str(error)))
            continue
        kid = sealed.seal.kid
        authorities: frozenset[str] | None = None
        claim: CheckpointClaim | None = None
        try:
            entry = keys.get(kid)
            if entry is None:
                raise UnknownKey(f"{sealed.describe()} is signed by {kid}, which is not registered")
            if kid not in public_keys:
                public_keys[kid] = decode_public_key(entry.public_key)
            if (
                position > trusted_upto
                or topic == CHECKPOINT_TOPIC
                or originator_id == KEY_REGISTRY_ID
            ):
                verify_signature(
                    public_keys[kid], signature=sealed.seal.signature, data=sealed.signed_bytes
                )
            if not _plainly_valid(entry, sealed.timestamp):
                problem = signature_problem(entry, parse_datetime(sealed.timestamp))
                if problem is not None:
                    raise KeyNotValid(f"{sealed.describe()}: {problem}")
            event = decode_event(sealed)
            if version == 1:
                aggregate_class = resolve_topic(event.originator_topic)
                authorities = frozenset(aggregate_class.creation_authorities(event))
            if topic == CHECKPOINT_TOPIC:
                claim = CheckpointClaim(
                    note=event.note,
                    source=f"checkpoint event at position {position}",
                    position=position,
                    tree_size=int(event.tree_size),
                    root_hash=str(event.root_hash),
                )
        except LedgerError as error:
            kind = error.kind if isinstance(error, TamperDetected) else MalformedEvent.kind
            problems.append(Problem(position, kind, f"{sealed.describe()}: {error}"))
        except Exception as error:  # a forged state can break any domain rule
            problems.append(
                Problem(
                    position, MalformedEvent.kind, f"{sealed.describe()} does not replay: {error}"
                )
            )
        records.append(
            EventRecord(
                position=position,
                originator_id=str(sealed.originator_id),
                version=version,
                topic=sys.intern(topic),
                digest=sealed.seal.digest,
                prev=sealed.seal.prev,
                leaf=leaf_hash(sealed.signed_bytes),
                kid=sys.intern(kid),
                # One object per distinct set, so that pickling sends each set once.
                authorities=interned.setdefault(authorities, authorities) if authorities else None,
                checkpoint=claim,
            )
        )
    return records, problems


# -- the main side ---------------------------------------------------------------


class _LeafArrays:
    """A compact ``NodeStore``: one bytearray per level (complete nodes arrive in order)."""

    def __init__(self) -> None:
        self._levels: list[bytearray] = []

    def get(self, level: int, index: int) -> bytes | None:
        if level >= len(self._levels):
            return None
        data = self._levels[level]
        start = index * 32
        return bytes(data[start : start + 32]) if start + 32 <= len(data) else None

    def put(self, level: int, index: int, value: bytes) -> None:
        while level >= len(self._levels):
            self._levels.append(bytearray())
        data = self._levels[level]
        if len(data) != index * 32:
            raise ValueError(f"node ({level}, {index}) written out of order")
        data += value


Progress = Callable[[int, int, float], None]


class Verifier:
    """Replays a log source and collects every problem found."""

    def __init__(
        self,
        source: LogSource,
        *,
        workers: int = 1,
        operator_anchor: str | None = None,
        checkpoints: Sequence[CheckpointClaim] = (),
        served_roots: Mapping[int, str] | None = None,
        declared_keys: Sequence[str] | None = None,
        progress: Progress | None = None,
        keep_digests: bool = False,
        trust_checkpoint: bool = False,
    ) -> None:
        self.source = source
        self.workers = max(1, workers)
        self.operator_anchor = operator_anchor
        self.external_checkpoints = list(checkpoints)
        self.served_roots = dict(served_roots or {})
        self.declared_keys = declared_keys
        #: With ``keep_digests``: the hash of every verified event's signed bytes, by position.
        self.digests: dict[int, str] | None = {} if keep_digests else None
        self.progress = progress
        self.report = Report(source=source.description, workers=self.workers)
        self.tree = MerkleTree(_LeafArrays())
        self._heads: dict[str, ChainHead] = {}
        self._authorities: dict[str, frozenset[str]] = {}
        self._interned: dict[frozenset[str], frozenset[str]] = {}
        self._last_position = 0
        self._log_checkpoints: list[tuple[int, CheckpointClaim]] = []
        self._registry_seen: list[str] = []
        self._registry_digests: list[str] = []
        self.trust_checkpoint = trust_checkpoint
        #: (position of its last event, tree size, root hash, note) of the trusted checkpoint.
        self._trusted: tuple[int, int, str, str] | None = None
        self._events_upto_trusted = 0

    def run(self) -> Report:
        """Verify everything; the report lists every problem found."""
        started = time.monotonic()
        keys = self._load_keys()
        declared = self.declared_keys
        if keys is not None and declared is not None and sorted(declared) != sorted(keys):
            self._problem(
                0, MalformedEvent("the bundle's key list differs from its key registry events")
            )
        if keys is not None:
            if self.trust_checkpoint:
                self._trusted = self._trusted_checkpoint()
            self._merge_all(keys)
            self._check_registry_events()
            self._check_checkpoints(keys)
            self._check_trusted(keys)
        self.report.tree_size = self.tree.size
        self.report.root_hash = self.tree.root().hex()
        self.report.aggregates = len(self._heads)
        self.report.seconds = time.monotonic() - started
        return self.report

    def _problem(self, position: int, error: LedgerError) -> None:
        self.report.problems.append(Problem(position, error.kind, str(error)))

    def _load_keys(self) -> dict[str, KeyEntry] | None:
        """The key registry's final state, each of its events checked on the way."""
        events = self.source.registry_events()
        ring = KeyRing(
            lambda gt: events if gt is None else [], operator_anchor=self.operator_anchor
        )
        try:
            ring.refresh()
        except LedgerError as error:
            self._problem(0, error)
            return None
        registry = ring.registry
        if registry is None:
            self._problem(
                0, MalformedEvent("the log has no key registry: it was never initialised")
            )
            return None
        self._registry_digests = [open_row(e).seal.digest for e in events]
        genesis = min(registry.keys.values(), key=lambda entry: entry.valid_from)
        self.report.operator_kid = genesis.kid
        self.report.keys = len(registry.keys)
        return dict(registry.keys)

    def _trusted_checkpoint(self) -> tuple[int, int, str, str] | None:
        """The newest checkpoint recorded in a live store, and where its tree ends.

        Nothing here is trusted yet: ``_check_trusted`` holds the log to it after
        the run, and any disagreement is a problem of the report.
        """
        last_checkpoint = getattr(self.source, "last_checkpoint", None)
        position_of_event = getattr(self.source, "position_of_event", None)
        if last_checkpoint is None or position_of_event is None:
            return None
        stored = last_checkpoint()
        if stored is None:
            return None
        try:
            event = decode_event(open_row(stored))
            size, root, note = int(event.tree_size), str(event.root_hash), str(event.note)
        except (LedgerError, ValueError, AttributeError):
            return None  # the full run reports what is wrong with it
        last = position_of_event(size - 1) if size > 0 else None
        return None if last is None else (last, size, root, note)

    def _check_trusted(self, keys: Mapping[str, KeyEntry]) -> None:
        """The events whose signatures were skipped are exactly the trusted tree's leaves."""
        if self._trusted is None:
            return
        last, size, root, note = self._trusted
        operator_keys = [entry for entry in keys.values() if entry.owner == OPERATOR]
        problem = ""
        if self._events_upto_trusted != size:
            problem = (
                f"{self._events_upto_trusted} events up to position {last}, "
                f"but the checkpoint covers {size}"
            )
        elif self.tree.size < size or self.tree.root(size).hex() != root:
            problem = f"the log's first {size} events do not have its root"
        else:
            try:
                checkpoint, _ = _verified_note(note, operator_keys)
            except CheckpointError as error:
                problem = str(error)
            else:
                if checkpoint.size != size or checkpoint.root_hash.hex() != root:
                    problem = "its note and its fields disagree"
        if problem:
            self._problem(
                last,
                CheckpointMismatch(
                    f"the checkpoint trusted in place of the signatures up to position {last} "
                    f"fails: {problem} (run the full verification)"
                ),
            )
            return
        self.report.trusted_tree_size = size
        self.report.trusted_events = self._events_upto_trusted

    def _results(
        self, keys: Mapping[str, KeyEntry]
    ) -> Iterator[tuple[Sequence[Sequence[Any]], list[Problem]]]:
        chunks = self.source.chunks()
        trusted_upto = self._trusted[0] if self._trusted is not None else 0
        if self.workers == 1 or self.source.head() <= self.source.chunk_size:
            self.report.workers = 1
            for chunk in chunks:
                yield check_rows(self.source.load(chunk), keys, trusted_upto=trusted_upto)
            return
        # Fork where there is fork: workers start at once, with every module loaded.
        # They open their own store connections; the parent's are never used in them.
        methods = multiprocessing.get_all_start_methods()
        context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
        with ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=context,
            initializer=_init_worker,
            initargs=(keys, trusted_upto),
        ) as pool:
            yield from pool.map(_check_chunk, chunks, chunksize=1)

    def _merge_all(self, keys: Mapping[str, KeyEntry]) -> None:
        total = self.source.head()
        started = time.monotonic()
        for records, problems in self._results(keys):
            self.report.problems.extend(problems)
            for record in records:
                self._merge(EventRecord._make(record), keys)
            if self.progress is not None:
                self.progress(self._last_position, total, time.monotonic() - started)

    def _merge(self, record: EventRecord, keys: Mapping[str, KeyEntry]) -> None:
        """The checks that need the whole log: order, chain, authority; then the tree."""
        position = record.position
        if position <= self._last_position:
            self._problem(
                position,
                OrderBroken(
                    f"position {position} follows {self._last_position}: the log is out of order"
                ),
            )
        self._last_position = max(self._last_position, position)
        self.report.events += 1
        if self._trusted is not None and position <= self._trusted[0]:
            self._events_upto_trusted += 1
        aggregate = record.originator_id
        where = f"event {aggregate} v{record.version} ({record.topic})"
        head = ChainHead(record.version, record.digest)
        try:
            follow(
                self._heads.get(aggregate, START),
                version=record.version,
                prev=record.prev,
                digest=record.digest,
                where=where,
            )
        except ChainBroken as broken:
            self._problem(position, broken)
        self._heads[aggregate] = head
        if record.authorities is not None and aggregate not in self._authorities:
            self._authorities[aggregate] = self._interned.setdefault(
                record.authorities, record.authorities
            )
        owner = keys[record.kid].owner if record.kid in keys else None
        authorities = self._authorities.get(aggregate)
        if owner is not None and authorities is not None:
            try:
                check_signer(owner, authorities, where=where)
            except WrongSigner as wrong:
                self._problem(position, wrong)
        if aggregate == _REGISTRY:
            self._registry_seen.append(record.digest)
        if self.digests is not None:
            self.digests[position] = record.digest
        index = self.tree.append_hash(record.leaf)
        if record.checkpoint is not None:
            self._log_checkpoints.append((index, record.checkpoint))

    def _check_registry_events(self) -> None:
        if self._registry_seen != self._registry_digests:
            self._problem(
                0,
                ChainBroken(
                    "the key registry events in the log differ from those its keys were read from"
                ),
            )

    def _check_checkpoints(self, keys: Mapping[str, KeyEntry]) -> None:
        operator_keys = [entry for entry in keys.values() if entry.owner == OPERATOR]
        for leaf_index, claim in self._log_checkpoints:
            if claim.tree_size is not None and claim.tree_size > leaf_index:
                self._problem(
                    claim.position,
                    CheckpointMismatch(f"the {claim.source} commits to events recorded after it"),
                )
            self._check_claim(claim, operator_keys)
        for claim in self.external_checkpoints:
            self._check_claim(claim, operator_keys)
        in_log = {claim.note.strip() for _, claim in self._log_checkpoints}
        external = {claim.note.strip() for claim in self.external_checkpoints}
        self.report.checkpoints = len(in_log | external)
        self.report.checkpoints_in_log = len(in_log)
        self.report.checkpoint_sources = sorted(
            {_source_kind(claim.source) for claim in self.external_checkpoints}
        )
        for size, root in sorted(self.served_roots.items()):
            if size > self.tree.size or self.tree.root(size).hex() != root:
                self._problem(
                    0,
                    CheckpointMismatch(
                        f"the Merkle projection's tree of {size} events differs from the tree "
                        "of the log: its proofs cannot be trusted (rebuild it and investigate)"
                    ),
                )

    def _check_claim(self, claim: CheckpointClaim, operator_keys: Sequence[KeyEntry]) -> None:
        try:
            checkpoint, when = _verified_note(claim.note, operator_keys)
        except CheckpointError as error:
            self._problem(claim.position, CheckpointMismatch(f"the {claim.source}: {error}"))
            return
        if claim.tree_size is not None and (
            checkpoint.size != claim.tree_size or checkpoint.root_hash.hex() != claim.root_hash
        ):
            self._problem(
                claim.position,
                CheckpointMismatch(f"the {claim.source}: its note and its fields disagree"),
            )
        size = checkpoint.size
        if size > self.tree.size:
            self._problem(
                claim.position,
                CheckpointMismatch(
                    f"the {claim.source} ({when}) commits to {size} events but the log holds "
                    f"{self.tree.size}: events were removed from its tail"
                ),
            )
            return
        if self.tree.root(size) != checkpoint.root_hash:
            self._problem(
                claim.position,
                CheckpointMismatch(
                    f"the {claim.source} ({when}) does not match the log's first {size} events: "
                    f"{self._suspects(size)} changed, removed, inserted or moved"
                ),
            )

    def _suspects(self, size: int) -> str:
        """Narrow a root mismatch down with the checkpoints that do match."""
        matching = [
            claim.tree_size
            for _, claim in self._log_checkpoints
            if claim.tree_size is not None
            and claim.tree_size < size
            and self.tree.root(claim.tree_size).hex() == claim.root_hash
        ]
        if not matching:
            return f"an event among the first {size} was"
        return f"an event between leaf {max(matching)} and leaf {size - 1} was"


def _verified_note(note: str, operator_keys: Sequence[KeyEntry]) -> tuple[Any, str]:
    """The checkpoint of a note signed by an operator key valid at the checkpoint's time."""
    unverified, _ = parse_signed_note(note)
    origin = unverified.origin
    when = next((line[5:] for line in unverified.extensions if line.startswith("time ")), "")
    moment: datetime | None = None
    if when:
        try:
            moment = parse_datetime(when)
        except ValueError:
            raise CheckpointError(f"the time line {when!r} is not a canonical time") from None
    for entry in operator_keys:
        try:
            checkpoint = verify_checkpoint(
                note, key_name=origin, public_key=decode_public_key(entry.public_key)
            )
        except CheckpointError:
            continue
        if moment is not None:
            problem = signature_problem(entry, moment)
            if problem is not None:
                raise CheckpointError(f"signed by {entry.kid}, but {problem}")
        return checkpoint, when or "undated"
    raise CheckpointError("no operator key of the registry signed it")
