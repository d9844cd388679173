"""Dependencies declared once: the services of this worker and the calling actor."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from ledger.api.auth import TokenVerifier
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner
from starlette.concurrency import run_in_threadpool

from ledger.application import authorization
from ledger.application.actor import Actor, acting_as
from ledger.application.ledger import Ledger
from ledger.application.publishing import Publisher, publisher_for
from ledger.errors import Unauthenticated
from ledger.settings import Settings
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher

R = TypeVar("R")
READ_WAIT_SECONDS = 5.0


@dataclass
class Services:
    """One worker's handle on the ledger, its read models and token verification."""

    settings: Settings
    ledger: Ledger
    runner: ProjectionRunner
    views: ReadModels
    tokens: TokenVerifier
    publisher: Publisher
    checkpoints: CheckpointPublisher
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings) -> Services:
        ledger = Ledger(
            settings.store, key_store=settings.key_store(), operator_anchor=settings.operator_anchor
        )
        runner = ProjectionRunner(ledger)
        if settings.project_in_process:
            runner.catch_up()
        views = ReadModels(runner)

        def encoded_list(issuer_id: UUID, list_number: int, purpose: str) -> str | None:
            found = views.status_list(issuer_id, list_number, purpose)
            return None if found is None else found[0]

        publisher = publisher_for(settings, ledger, encoded_list)
        checkpoints = CheckpointPublisher(runner, CheckpointPolicy.from_settings(settings))
        return cls(settings, ledger, runner, views, TokenVerifier(settings), publisher, checkpoints)

    def write(self, actor: Actor, command: Callable[[], R]) -> R:
        """Run a command as ``actor``, then make its effect visible to the next read.

        Embedded mode catches the projections up in this process; otherwise it waits
        (bounded) for the separate projection process to reach the new head.
        """
        with acting_as(actor):
            result = command()
        head = self.ledger.recorder.max_notification_id() or 0
        if self.settings.project_in_process:
            with self.write_lock:
                self.runner.catch_up()
                # Embedded mode has no `ledger project` process to checkpoint the log.
                self.checkpoints.maybe_publish()
        else:
            # Written and signed either way; on a timeout the read side shows it later.
            with contextlib.suppress(TimeoutError):
                self.runner.wait(head, timeout=READ_WAIT_SECONDS)
        return result

    @contextmanager
    def acting(self, actor: Actor) -> Iterator[None]:
        """Read commands (lookups) as ``actor``."""
        with acting_as(actor):
            yield


# The dependencies below are ``async def``: FastAPI runs a plain ``def`` dependency in
# the thread pool, and three such hops cost a status check more than its query does.


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


bearer = HTTPBearer(auto_error=False, description="A JWT from the OpenID Connect provider")


async def get_actor(
    services: Annotated[Services, Depends(get_services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Actor:
    """The caller, from a verified bearer token.

    Verifying a token is CPU work (a signature check) and runs on the event loop,
    unless the provider's keys come from a URL, whose fetch may block: then the
    thread pool does it.
    """
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("a bearer token is required")
    if services.tokens.may_block:
        return await run_in_threadpool(services.tokens.actor, credentials.credentials)
    return services.tokens.actor(credentials.credentials)


def _role(*roles: str) -> Callable[[Actor], Awaitable[Actor]]:
    async def check(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
        return authorization.require_role(actor, *roles)

    return check


ServicesDep = Annotated[Services, Depends(get_services)]
AdministratorDep = Annotated[Actor, Depends(_role("administrator"))]
LearnerDep = Annotated[Actor, Depends(_role("learner"))]
VerifierDep = Annotated[Actor, Depends(_role("verifier"))]
AuditorDep = Annotated[Actor, Depends(_role("auditor"))]
OperatorDep = Annotated[Actor, Depends(_role("operator"))]
#: The operator, or an administrator (whose rights over one institution are checked per call).
StaffDep = Annotated[Actor, Depends(_role("operator", "administrator"))]
AnyActorDep = Annotated[Actor, Depends(get_actor)]
