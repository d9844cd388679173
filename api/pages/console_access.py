"""Who may see the issuing pages of the console: administrators of the institution.

An administrator signs in through the OpenID provider with the administrator role
and the issuer claim (``signin.person_in``). Every console page then asks the log
whether this person is still on that institution's administrator list, for reads
as for writes (``Ledger.administered_issuer``): someone removed from the list, or
administering another institution, sees nothing of it (403, or 404 for a record
reached through another institution).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from ledger.api.pages.signin import person_in
from ledger.api.routes import institutions

from ledger.application.actor import Actor
from ledger.domain.issuer import Issuer
from ledger.errors import Forbidden

#: The signed-in administrator (others are sent to sign in).
Administrator = Annotated[Actor, person_in("administrator")]


def administered(services: Any, actor: Actor) -> Issuer:
    """The institution the administrator acts for, if they are on its list (else 403)."""
    if actor.issuer_id is None:
        raise Forbidden("you are not an administrator of an institution")
    return institutions.administered(services, actor, actor.issuer_id)


def issuer_id_of(services: Any, actor: Actor) -> UUID:
    """The id of the institution the administrator acts for (checked as ``administered``)."""
    return administered(services, actor).id
