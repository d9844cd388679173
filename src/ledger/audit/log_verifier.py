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

The run is a pipeline (``verify_pipeline``): a reader thread reads batches of
rows, worker processes open, decode and check them and hash them into Merkle
subtrees (``verify_batches``), and the main process merges their columns in log
order: order, chains, authority, and the tree above the batches.

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

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from eventsourcing.persistence import StoredEvent

from ledger.audit.log_sources import Chunk, Row
from ledger.audit.verify_batches import BatchResult, CheckpointClaim, Problem

__all__ = ["CheckpointClaim", "Problem", "Progress", "Report", "Verifier"]

from ledger.audit.verify_pipeline import VerificationIncomplete, batch_size, checked_batches
from ledger.domain.keyregistry import KEY_REGISTRY_ID, OPERATOR, KeyEntry
from ledger.errors import (
    ChainBroken,
    CheckpointMismatch,
    LedgerError,
    MalformedEvent,
    OrderBroken,
    WrongSigner,
)
from ledger.eventlog.canonical_json import parse_datetime
from ledger.eventlog.chain import START, ChainHead, check_signer, follow
from ledger.eventlog.envelope import decode_event, open_row
from ledger.eventlog.keyring import KeyRing, signature_problem
from ledger.eventlog.signing_keys import decode_public_key
from ledger.transparency.checkpoint_note import (
    CheckpointError,
    parse_signed_note,
    verify_checkpoint,
)
from ledger.transparency.merkle_tree import MerkleTree, node_hash

CHECKPOINT_TOPIC = "ledger/LogCheckpoints/Published"
_REGISTRY = str(KEY_REGISTRY_ID)


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


# -- the main side ---------------------------------------------------------------


class _LeafArrays:
    """A compact ``NodeStore``: one bytearray per level (complete nodes arrive in order)."""

    def __init__(self) -> None:
        self.levels: list[bytearray] = []

    def get(self, level: int, index: int) -> bytes | None:
        if level >= len(self.levels):
            return None
        data = self.levels[level]
        start = index * 32
        return bytes(data[start : start + 32]) if start + 32 <= len(data) else None

    def put(self, level: int, index: int, value: bytes) -> None:
        while level >= len(self.levels):
            self.levels.append(bytearray())
        data = self.levels[level]
        if len(data) != index * 32:
            raise ValueError(f"node ({level}, {index}) written out of order")
        data += value


def _complete_upper_nodes(levels: list[bytearray]) -> None:
    """Hash every node whose two children are stored but which is not yet itself."""
    level = 0
    while level < len(levels):
        children = levels[level]
        if len(children) < 64:
            break
        if level + 1 == len(levels):
            levels.append(bytearray())
        parents = levels[level + 1]
        while len(parents) * 2 + 64 <= len(children):
            start = len(parents) * 2
            parents += node_hash(
                bytes(children[start : start + 32]), bytes(children[start + 32 : start + 64])
            )
        level += 1


def _where(result: BatchResult, index: int) -> str:
    """An event of a batch as error messages name it."""
    aggregate, version = result.originator_ids[index], result.versions[index]
    return f"event {aggregate} v{version} ({result.topics[index]})"


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
        decode: bool = True,
    ) -> None:
        self.source = source
        #: False only for a rebuild, whose replay decodes every event itself and fails
        #: on one that does not: the workers then decode only what they need (checkpoints,
        #: the authority fields of creation events). ``ledger verify`` always decodes.
        self.decode = decode
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
        #: The tree's nodes while whole batches come in (see ``_add_leaves``).
        self._nodes = _LeafArrays()
        self._bulk = True
        self._batch = batch_size(source.chunk_size)
        self._leaves = 0
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

    def _merge_all(self, keys: Mapping[str, KeyEntry]) -> None:
        total = self.source.head()
        started = time.monotonic()
        trusted_upto = self._trusted[0] if self._trusted is not None else 0
        size = self._batch
        workers = self.workers if total > size else 1
        self.report.workers = workers
        try:
            for result in checked_batches(
                self.source,
                keys,
                workers=workers,
                trusted_upto=trusted_upto,
                size=size,
                decode=self.decode,
            ):
                self._merge(result)
                if self.progress is not None:
                    self.progress(self._last_position, total, time.monotonic() - started)
        except VerificationIncomplete as error:
            self.report.problems.append(Problem(0, "verification-incomplete", str(error)))
        if self._bulk:
            self.tree = MerkleTree(self._nodes, size=self._leaves)

    def _merge(self, result: BatchResult) -> None:
        """The checks that need the whole log: order, chain, authority; then the tree.

        One tight loop over a batch's columns: the main process's share of the work
        is what the workers wait for at the end, so it is kept to a few dictionary
        operations per event (messages are only built for a failure).
        """
        self.report.problems.extend(result.problems)
        positions, ids, versions = result.positions, result.originator_ids, result.versions
        prevs, digests, owners = result.prevs, result.digests, result.owners
        heads, authorities = self._heads, self._authorities
        trusted_last = self._trusted[0] if self._trusted is not None else 0
        last = self._last_position
        for index, position in enumerate(positions):
            if position <= last:
                self._problem(
                    position,
                    OrderBroken(f"position {position} follows {last}: the log is out of order"),
                )
            else:
                last = position
            if position <= trusted_last:
                self._events_upto_trusted += 1
            aggregate, version, digest = ids[index], versions[index], digests[index]
            head = heads.get(aggregate, START)
            if version != head.version + 1 or prevs[index] != head.digest:
                self._broken_link(result, index, head)
            heads[aggregate] = ChainHead(version, digest)
            found = result.authorities[index]
            if found is not None and aggregate not in authorities:
                authorities[aggregate] = self._interned.setdefault(found, found)
            owner = owners[index]
            allowed = authorities.get(aggregate)
            if owner is not None and allowed is not None and owner not in allowed:
                try:
                    check_signer(owner, allowed, where=_where(result, index))
                except WrongSigner as wrong:
                    self._problem(position, wrong)
            if aggregate == _REGISTRY:
                self._registry_seen.append(digest)
        self._last_position = last
        self.report.events += len(positions)
        if self.digests is not None:
            self.digests.update(zip(positions, digests, strict=True))
        first_leaf = self._add_leaves(result)
        for index, claim in result.checkpoints:
            self._log_checkpoints.append((first_leaf + index, claim))

    def _broken_link(self, result: BatchResult, index: int, head: ChainHead) -> None:
        try:
            follow(
                head,
                version=result.versions[index],
                prev=result.prevs[index],
                digest=result.digests[index],
                where=_where(result, index),
            )
        except ChainBroken as broken:
            self._problem(result.positions[index], broken)

    def _add_leaves(self, result: BatchResult) -> int:
        """Add a batch's leaves to the tree; the leaf index of its first event.

        While every batch is whole (each a full, aligned subtree), the workers' nodes
        are appended level by level and only the few nodes above the batches are
        hashed here; after a batch that lost an event (an envelope that did not
        open) the leaves are appended one by one, as their indexes moved.
        """
        first = self._leaves
        count = len(result.positions)
        self._leaves += count
        whole = count == result.rows and first % self._batch == 0
        if self._bulk and whole:
            levels = self._nodes.levels
            for level, data in enumerate(result.levels):
                if level == len(levels):
                    levels.append(bytearray())
                levels[level] += data
            _complete_upper_nodes(levels)
            return first
        if self._bulk:
            self._bulk = False
            self.tree = MerkleTree(self._nodes, size=first)
        leaves = result.levels[0] if result.levels else b""
        for start in range(0, len(leaves), 32):
            self.tree.append_hash(leaves[start : start + 32])
        return first

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
