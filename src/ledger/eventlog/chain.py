"""The hash chain of each record, and who may sign it: one rule, used wherever events are read.

A stored event's envelope names the hash of the previous event of the same record
(``GENESIS`` for the first). ``follow`` is the one chain-link check: the aggregates'
reconstruction (``ChainedRepository``), the projection runner and the whole-log verifier
all call it, so a removed, reordered or inserted event is named the same way
everywhere. ``check_signer`` is the one authority check: a valid signature by a key
whose owner has no authority over the record is tampering too.

The domain knows neither rule: its aggregates only say whose keys may sign them
(``signing_authorities``) and carry the chain head this module sets.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Repository

from ledger.errors import ChainBroken, WrongSigner
from ledger.eventlog.envelope import GENESIS, seal_of


@dataclass(frozen=True)
class ChainHead:
    """The last event of a record seen so far: its version and its hash."""

    version: int
    digest: str


#: The head of a record before its first event.
START = ChainHead(0, GENESIS)


def follow(head: ChainHead, *, version: int, prev: str, digest: str, where: str) -> ChainHead:
    """The head after an event, which must be the next version and link to ``head``.

    Raises ``ChainBroken`` naming ``where`` (an event's description) otherwise.
    """
    if version != head.version + 1:
        raise ChainBroken(
            f"{where} follows v{head.version} of its record: an event is missing, "
            "inserted or out of order"
        )
    if prev != head.digest:
        raise ChainBroken(
            f"{where} links to {prev[:16]}…, but the event before it hashes to {head.digest[:16]}…"
        )
    return ChainHead(version, digest)


def check_signer(owner: str, authorities: Collection[str], *, where: str) -> None:
    """Refuse an event signed by a key whose owner has no authority over its record."""
    if owner not in authorities:
        raise WrongSigner(f"{where} is signed by a key of {owner}, which has no authority over it")


def project_chained(aggregate: Any, events: Iterable[Any]) -> Any:
    """Reconstruct (or fast-forward) an aggregate, holding every stored event to its chain
    and its signer to the aggregate's authorities; new (unsealed) events apply as usual."""
    for event in events:
        seal = seal_of(event)
        if seal is None:
            aggregate = event.mutate(aggregate)
            continue
        where = f"event {event.originator_id} v{event.originator_version}"
        head = (
            START
            if aggregate is None
            else ChainHead(aggregate.version, aggregate.chain_head or GENESIS)
        )
        follow(
            head, version=event.originator_version, prev=seal.prev, digest=seal.digest, where=where
        )
        aggregate = event.mutate(aggregate)
        if aggregate is None:
            continue
        aggregate.record_chain_head(seal.digest)
        signer = event.__dict__.get("_signer")
        if signer is not None:
            check_signer(signer, aggregate.signing_authorities(), where=where)
    return aggregate


class ChainedRepository(Repository[UUID]):
    """The library's repository, reconstructing every aggregate through ``project_chained``."""

    def get(self, aggregate_id: UUID, **kwargs: Any) -> Any:
        kwargs.setdefault("projector_func", project_chained)
        return super().get(aggregate_id, **kwargs)
