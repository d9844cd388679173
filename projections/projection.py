"""The projection contract: its tables, and one handler per stable event topic.

Every projection dispatches the same way: a method decorated with
``@handles(topic, ...)`` is called for events of those stable topics (the strings
stored in the log, which never change when code moves), and one decorated with
``@handles(EVERY_EVENT)`` for every event, before the topic's own handlers. A
projection's view is one of the library's tracking recorders, so its writes and
its position (a ``Tracking`` row named after the projection) are committed in one
transaction: a crash loses nothing and counts nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from eventsourcing.persistence import Notification
from ledger.projections.database import Cursor

#: The pseudo-topic of a handler that sees every event.
EVERY_EVENT = "*"

Handler = Callable[[Any, Cursor, "Applied"], None]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class Applied:
    """One event handed to a projection: the verified domain event and its position."""

    event: Any
    notification: Notification

    @property
    def position(self) -> int:
        """The event's notification id (its position in the log)."""
        return self.notification.id

    @property
    def topic(self) -> str:
        """The event's stable topic."""
        return self.notification.topic


def handles(*topics: str) -> Callable[[H], H]:
    """Mark a projection method as the handler of events of these stable topics."""

    def mark(method: H) -> H:
        method.__dict__.setdefault("_handles", ())
        method.__dict__["_handles"] += topics
        return method

    return mark


class Projection:
    """A read model: its tables, and how each event changes them.

    Handlers run inside the transaction that also records the projection's
    position, so they must only write through the cursor they are given.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    ddl: ClassVar[tuple[str, ...]]
    _handlers: ClassVar[dict[str, tuple[str, ...]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        handlers: dict[str, tuple[str, ...]] = {}
        for klass in reversed(cls.__mro__):
            for attribute, member in vars(klass).items():
                for topic in getattr(member, "_handles", ()):
                    if attribute not in handlers.get(topic, ()):
                        handlers[topic] = (*handlers.get(topic, ()), attribute)
        cls._handlers = handlers

    def begin(self, cursor: Cursor, position: int) -> None:
        """Called in a batch's transaction before its events, with the position it starts after."""

    def apply(self, cursor: Cursor, applied: Applied) -> None:
        """Change the projection's tables for one event: its every-event, then its topic handlers."""
        for handler in self.handlers_for(applied.topic):
            handler(cursor, applied)

    def handlers_for(self, topic: str) -> tuple[Callable[[Cursor, Applied], None], ...]:
        """The bound handlers an event of ``topic`` goes through, in order (looked up once
        per topic: a replay calls them for every event)."""
        cache: dict[str, tuple[Callable[[Cursor, Applied], None], ...]] | None = self.__dict__.get(
            "_bound_handlers"
        )
        if cache is None:
            cache = self.__dict__["_bound_handlers"] = {}
        found = cache.get(topic)
        if found is None:
            found = cache[topic] = tuple(
                getattr(self, attribute)
                for attribute in (
                    *self._handlers.get(EVERY_EVENT, ()),
                    *self._handlers.get(topic, ()),
                )
            )
        return found

    def reset(self) -> None:
        """Forget what the projection keeps in memory between batches (its tables were
        dropped, or a transaction that wrote them rolled back)."""

    def finish(self, cursor: Cursor) -> None:
        """Called in a batch's transaction after its events, before the position is recorded."""
