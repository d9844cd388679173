"""Who may do what: the one place the ledger decides access, for every command and read.

The commands of ``Ledger`` and the routes of the API (the role gate of every route,
an administrator's reads of their issuer) ask these functions; nothing else decides.
The rules:

* the operator and the ledger itself (``PRIVILEGED``) may do anything;
* an administrator acts for one issuer: the issuer their token names, and only while
  their subject is on that issuer's administrator list, for writes and reads alike;
* a learner acts on their own backpack and claims only;
* where a refusal would confirm that another institution's or learner's record
  exists, the answer is ``NotFound`` (the record is ``hidden``), never ``Forbidden``,
  and it never names the owner.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from ledger.application.actor import SYSTEM, Actor, current_actor
from ledger.domain.credential import Credential
from ledger.domain.issuer import Issuer
from ledger.errors import Forbidden, NotFound

#: Roles that may do anything: the operator, and the ledger acting on its own.
PRIVILEGED: frozenset[str] = frozenset({"operator", "system"})


def acting() -> Actor:
    """The party acting now (the ledger itself when no one is set)."""
    return current_actor() or SYSTEM


def is_privileged(actor: Actor) -> bool:
    """Whether the actor is the operator or the ledger itself."""
    return actor.role in PRIVILEGED


def has_role(actor: Actor, *roles: str) -> bool:
    """Whether the actor acts in one of these roles (a page's or a route's audience)."""
    return actor.role in roles


def require_role(actor: Actor, *roles: str) -> Actor:
    """The gate of an API route: only these roles may call it."""
    if not has_role(actor, *roles):
        raise Forbidden(f"this route is for {' or '.join(roles)}s")
    return actor


def require_operator(actor: Actor) -> None:
    """Operator-only commands (keys, issuers, erasure, checkpoints)."""
    if not is_privileged(actor):
        raise Forbidden("only the ledger operator may do this")


def administers(actor: Actor, issuer: Issuer) -> bool:
    """Whether the actor may act for the issuer: its token names it, its list names them."""
    if is_privileged(actor):
        return True
    return (
        actor.role == "administrator"
        and actor.issuer_id == issuer.id
        and actor.subject in issuer.administrators
    )


def require_administrator(actor: Actor, issuer: Issuer, *, hidden: str | None = None) -> None:
    """Refuse a command or read on an issuer the actor does not administer.

    ``hidden`` names the record reached through the issuer (``"credential <id>"``):
    a refusal then says it was not found, so it confirms nothing and names no issuer.
    """
    if administers(actor, issuer):
        return
    if hidden is not None:
        raise NotFound(f"{hidden} not found")
    raise Forbidden("you are not an administrator of this issuer")


def require_own_issuer(actor: Actor, issuer_id: UUID, issuers: Callable[[UUID], Issuer]) -> Issuer:
    """An issuer named by an API path, for an administrator of it (reads and writes alike)."""
    if not is_privileged(actor) and actor.issuer_id != issuer_id:
        raise Forbidden("administrators act for their own issuer only")
    issuer = issuers(issuer_id)
    require_administrator(actor, issuer)
    return issuer


def owns_backpack(actor: Actor, learner_id: UUID) -> bool:
    """Whether the actor is this learner (or privileged); a learner actor's id must have
    been resolved (``LearnerIds.resolve``), else they own nothing."""
    if is_privileged(actor):
        return True
    return actor.role == "learner" and actor.learner_id == learner_id


def require_learner(actor: Actor, learner_id: UUID, *, hidden: str | None = None) -> None:
    """Refuse a learner's command on someone else's backpack (``hidden``: say not found)."""
    if owns_backpack(actor, learner_id):
        return
    if hidden is not None:
        raise NotFound(f"{hidden} not found")
    raise Forbidden("a learner may act on their own backpack only")


def may_read_credential(actor: Actor, credential: Credential, issuer: Issuer) -> bool:
    """Whether the actor may read a whole credential (an export): its issuer's
    administrators and its learner."""
    if actor.role == "learner":
        return owns_backpack(actor, credential.learner_id)
    return administers(actor, issuer)
