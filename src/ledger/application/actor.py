"""Who acts: the authenticated party recorded in every event's signed envelope.

The acting party travels in a context variable, like the acting user in the
library's content-management example, so that the domain never has to pass it
around and the entry points (API, CLI) set it once per request or command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

Role = Literal["operator", "administrator", "learner", "verifier", "auditor", "system"]
ROLES: tuple[str, ...] = ("operator", "administrator", "learner", "verifier", "auditor", "system")


@dataclass(frozen=True)
class Actor:
    """An authenticated party: who, in which role, authenticated how, for which issuer."""

    subject: str
    role: Role
    authenticated_by: str
    issuer_id: UUID | None = None
    #: A learner's pseudonymous learner id, filled in by the ledger
    #: (``LearnerIds.resolve``): deriving it takes a secret the actor does not hold.
    learner_id: UUID | None = None

    def to_json(self) -> dict[str, Any]:
        """The actor as it is signed into an event envelope.

        A learner is recorded by their pseudonymous learner id, never by their
        eduID subject: the envelope is signed and can never be changed, and the
        subject is personal data that must stay erasable (``ledger.application.privacy``).
        """
        return {
            "auth": self.authenticated_by,
            "issuer": str(self.issuer_id) if self.issuer_id else None,
            "role": self.role,
            "sub": self.recorded_subject,
        }

    @property
    def recorded_subject(self) -> str:
        """Who the log says acted: the subject, or a learner's pseudonymous id."""
        if self.role == "learner":
            if self.learner_id is None:
                raise ValueError("a learner is recorded by their learner id: resolve it first")
            return f"learner:{self.learner_id}"
        return self.subject


#: The operator acting through the command line on the machine that holds the keys.
CLI_OPERATOR = Actor(subject="operator", role="operator", authenticated_by="local-cli")
#: The ledger acting on its own (expiry sweeps, lookups recorded on a learner's behalf).
SYSTEM = Actor(subject="ledger", role="system", authenticated_by="internal")

_current_actor: ContextVar[Actor | None] = ContextVar("ledger_actor", default=None)


@contextmanager
def acting_as(actor: Actor) -> Iterator[Actor]:
    """Run the enclosed commands as ``actor``; events saved inside record it."""
    token = _current_actor.set(actor)
    try:
        yield actor
    finally:
        _current_actor.reset(token)


def current_actor() -> Actor | None:
    """The acting party set by the innermost ``acting_as``, if any."""
    return _current_actor.get()
