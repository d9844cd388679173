"""Dependencies declared once: the services of this worker and the calling actor."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, TypeVar
from uuid import UUID

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from ledger.api.auth import TokenVerifier
from ledger.api.published import DidDocuments, LatestCheckpoint
from ledger.projections.read_barrier import ReadBarrier
from ledger.projections.read_models import ReadModels
from ledger.projections.recorded_history import RecordedHistory
from ledger.projections.runner import ProjectionRunner
from ledger.projections.status_list_cache import StatusListCache
from ledger.projections.status_view import StatusView
from starlette.concurrency import run_in_threadpool

from ledger.application import authorization
from ledger.application.actor import Actor, acting_as
from ledger.application.ledger import Ledger
from ledger.application.publishing import Publisher, publisher_for
from ledger.errors import Unauthenticated
from ledger.settings import Settings
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher

R = TypeVar("R")
logger = logging.getLogger(__name__)
#: How often the embedded read side looks for events written by other processes.
FOLLOW_SECONDS = 0.25
FOLLOW_RETRY_SECONDS = 5.0
#: How long a write waits for a projector that did not move since a write last timed out.
STALLED_WAIT_SECONDS = 0.5


@dataclass
class ProgressWatch:
    """Tells a stuck read side: behind the log, and not moving for ``stuck_after`` seconds."""

    stuck_after: float
    position: int = -1
    since: float = 0.0

    def stuck(self, *, position: int, lag: int, now: float) -> bool:
        """Whether the read side, seen now at ``position`` and ``lag``, is stuck."""
        if lag == 0 or position != self.position:
            self.position, self.since = position, now
            return False
        return now - self.since >= self.stuck_after


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
    #: Every credential's status in memory, and the published lists, kept current
    #: by ``fresh`` (read-after-write across processes: ``ReadBarrier``).
    status_view: StatusView
    status_lists: StatusListCache
    fresh: ReadBarrier
    #: DID documents from the key ring, and the latest checkpoint, likewise.
    did_documents: DidDocuments
    keys_fresh: ReadBarrier
    checkpoint: LatestCheckpoint
    checkpoint_fresh: ReadBarrier
    write_lock: threading.Lock = field(default_factory=threading.Lock)
    progress: ProgressWatch = field(default_factory=lambda: ProgressWatch(30.0))
    #: The slowest projection's position when a write last waited in vain for the
    #: projector: while it has not moved since, writes do not wait again.
    stalled_at: int | None = None

    @classmethod
    def start(cls, settings: Settings) -> Services:
        ledger = Ledger(
            settings.store, key_store=settings.key_store(), operator_anchor=settings.operator_anchor
        )
        runner = ProjectionRunner(ledger)
        ledger.history_check = RecordedHistory(runner).check
        if settings.project_in_process:
            runner.catch_up()
        views = ReadModels(runner)
        status_view = StatusView()
        status_lists = StatusListCache(views)
        fresh = ReadBarrier(lambda: status_view.refresh(runner, on_change=status_lists.changed))

        def encoded_list(issuer_id: UUID, list_number: int, purpose: str) -> str | None:
            # Called in a worker thread (the signed list route, the check route).
            fresh.wait_sync()
            found = status_lists.get(issuer_id, list_number, purpose)
            return None if found is None else found[0]

        publisher = publisher_for(settings, ledger, encoded_list)
        checkpoints = CheckpointPublisher(runner, CheckpointPolicy.from_settings(settings))
        latest = LatestCheckpoint()
        services = cls(
            settings,
            ledger,
            runner,
            views,
            TokenVerifier(settings),
            publisher,
            checkpoints,
            status_view,
            status_lists,
            fresh,
            DidDocuments(publisher.resolver, ledger.keyring),
            ReadBarrier(ledger.keyring.refresh),
            latest,
            ReadBarrier(lambda: latest.refresh(runner)),
            progress=ProgressWatch(settings.ready_stuck_seconds),
        )
        if settings.project_in_process:
            threading.Thread(
                target=services.follow_log, name="ledger-follower", daemon=True
            ).start()
        return services

    def follow_log(self) -> None:
        """Embedded mode: follow the log on its own, not only after this process's writes.

        Another process (``ledger erase-learner``, ``ledger revoke`` through the CLI)
        may write to the same store; without this, the server would show the old
        state (open share links, live consents) until its next own write. A failure
        is recorded by the runner (``/readyz`` says so) and retried after a pause.
        """
        while True:
            try:
                with self.write_lock:
                    self.runner.catch_up()
                    self.checkpoints.maybe_publish()
            except Exception:
                logger.exception("the in-process read side could not follow the log")
                time.sleep(FOLLOW_RETRY_SECONDS)
            time.sleep(FOLLOW_SECONDS)

    def write(self, actor: Actor, command: Callable[[], R]) -> R:
        """Run a command as ``actor``, then make its effect visible to the next read.

        Embedded mode catches the projections up in this process; otherwise it waits
        (bounded) for the separate projection process to reach the new head.
        """
        try:
            with acting_as(actor):
                return command()
        finally:
            # Also after a refusal: some refusals are recorded (a lookup for another
            # purpose than the consent's), and the learner must see them.
            self._make_visible()

    def _make_visible(self) -> None:
        head = self.ledger.recorder.max_notification_id() or 0
        if self.settings.project_in_process:
            with self.write_lock:
                self.runner.catch_up()
                # Embedded mode has no `ledger project` process to checkpoint the log.
                self.checkpoints.maybe_publish()
        else:
            self._wait_for_projector(head)

    def _wait_for_projector(self, head: int) -> None:
        """Wait (bounded) for the projection process to reach ``head``.

        Written and signed either way; on a timeout the read side shows it later.
        A projector that is down or stuck would make every write wait the whole
        bound: after one wait in vain, writes wait again only once it has moved.
        """
        timeout = self.settings.read_wait_seconds
        if self.stalled_at is not None:
            if self.runner.slowest_position() == self.stalled_at:
                timeout = STALLED_WAIT_SECONDS
            else:
                self.stalled_at = None
        try:
            self.runner.wait(head, timeout=timeout)
        except TimeoutError:
            self.stalled_at = self.runner.slowest_position()
        else:
            self.stalled_at = None

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
