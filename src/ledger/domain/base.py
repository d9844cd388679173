"""The base aggregate of the ledger: stable topics, class versions, signing authorities.

Every aggregate class sets ``TOPIC``; its events get ``TOPIC + "/" + event name`` as
their stored topic, so renaming or moving a module never orphans the log. Every
event class carries ``class_version`` (1 until its schema changes; upcasters
``upcast_vN_vN+1`` then convert old stored states).

The hash chain and the signatures are the event log's (``ledger.eventlog.chain``):
its repository checks every stored event's link and signer while it reconstructs an
aggregate, and records the chain head here. An aggregate only says whose keys may
sign its events (``signing_authorities``); it imports nothing of the log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from eventsourcing.domain import Aggregate, MetaAggregate

from ledger.errors import InvalidInput


class LedgerMeta(MetaAggregate):  # type: ignore[type-arg]
    """Gives every event class defined by ``@event`` a stable topic under its aggregate's."""

    def _define_event_class(
        cls,
        name: str,
        bases: tuple[type[Any], ...],
        apply_method: Any,
        event_topic: str | None = None,
    ) -> Any:
        own_topic = cls.__dict__.get("TOPIC")
        if event_topic is None and own_topic:
            event_topic = f"{own_topic}/{name}"
        return super()._define_event_class(name, bases, apply_method, event_topic)


def utcnow() -> datetime:
    """The current instant, timezone-aware, as every recorded time in the ledger is."""
    return datetime.now(UTC)


def as_datetime(value: object) -> datetime | None:
    """A time held in a free-form event field (a dict of changes, a policy record): as
    given, or as the ISO text the log stores it in when the event is read back."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise InvalidInput(f"not a time with a time zone: {value!r}")


class LedgerAggregate(Aggregate, metaclass=LedgerMeta):
    """Base of all ledger aggregates."""

    #: Hash of the last stored event of this aggregate, as the event log recorded it
    #: (None while nothing of it is stored).
    _chain_head: str | None = None

    class Event(Aggregate.Event):
        """Base of all ledger events."""

        class_version = 1

    class Created(Event, Aggregate.Created):
        """Base of the events that create a ledger aggregate."""

    def signing_authorities(self) -> set[str]:
        """Whose keys may sign this aggregate's events (key owners: "operator" or an issuer id).

        A valid signature by anyone else is tampering: a key of one institution must
        never be able to rewrite another institution's records.
        """
        return {"operator"}

    @classmethod
    def creation_authorities(cls, created: Any) -> set[str]:
        """``signing_authorities`` of a record, from its creation event alone.

        Every aggregate's authorities come from fields that its creation event sets
        under the same names (the issuer of a credential, the institution of a claim,
        the issuer's own id), so verification needs no replay to know them. A test
        holds this against ``signing_authorities`` for every aggregate.
        """
        fields = SimpleNamespace(**vars(created))
        fields.id = created.originator_id
        return cls.signing_authorities(fields)  # type: ignore[arg-type]

    @property
    def chain_head(self) -> str | None:
        """Hash of the last stored event of this aggregate (None if none is stored)."""
        return self._chain_head

    def record_chain_head(self, head: str) -> None:
        """Called by the event log when it read or stored an event of this aggregate."""
        self._chain_head = head
