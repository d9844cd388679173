"""Auditors: the global log with signatures, trails, and state at any moment."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query
from ledger.api.deps import AuditorDep, ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import MAX_POSITION, PRINTABLE, Instant, LogEvent, LogPage, Page

from ledger.audit.time_travel import credential_at
from ledger.errors import InvalidInput, LedgerError, NotFound
from ledger.eventlog.canonical_json import to_json_value
from ledger.eventlog.envelope import GENESIS, event_digest, open_row, seal_of

router = APIRouter(prefix="/v1/audit", tags=["auditors"], responses=PROBLEM_RESPONSES)


@router.get("/log")
def log(
    actor: AuditorDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LogPage:
    """The global log by position (a stable cursor: pass ``next_after`` as ``after``).
    Each event comes with its signed bytes, signature, key id and chain hash."""
    notifications = services.ledger.recorder.select_notifications(
        start=after, limit=limit, inclusive_of_start=False
    )
    events = []
    heads: dict[UUID, tuple[int, str]] = {}
    for n in notifications:
        sealed = open_row(n)
        problem = _problem_of(services, n, heads)
        events.append(
            LogEvent(
                position=n.id,
                originator_id=sealed.originator_id,
                originator_version=n.originator_version,
                topic=n.topic,
                signed_bytes=sealed.signed_bytes.decode("utf-8"),
                signature=sealed.seal.signature_text,
                hash=sealed.seal.digest,
                kid=sealed.seal.kid,
                prev=sealed.seal.prev,
                verified=problem is None,
                problem=problem,
            )
        )
    return LogPage(events=events, next_after=events[-1].position if len(events) == limit else None)


def _problem_of(services: Any, notification: Any, heads: dict[UUID, tuple[int, str]]) -> str | None:
    """Why an event fails its signature, key or chain link (None: it verifies).

    The log route serves every row, tampered or not, so that an auditor sees what
    is stored; but it never presents a row as valid that is not.
    """
    try:
        event = services.ledger.mapper.to_domain_event(notification)
    except LedgerError as error:
        return f"{error.kind}: {error}"
    seal = seal_of(event)
    if seal is None:
        return "chain-broken: the event carries no seal"
    record = UUID(str(notification.originator_id))
    version = notification.originator_version
    expected = _previous_digest(services, record, version, heads)
    heads[record] = (version, seal.digest)
    if seal.prev != expected:
        return f"chain-broken: v{version} does not link to v{version - 1} of its record"
    return None


def _previous_digest(
    services: Any, record: UUID, version: int, heads: dict[UUID, tuple[int, str]]
) -> str | None:
    if version == 1:
        return GENESIS
    cached = heads.get(record)
    if cached is not None and cached[0] == version - 1:
        return cached[1]
    previous = services.ledger.recorder.select_events(record, lte=version - 1, desc=True, limit=1)
    if not previous or previous[0].originator_version != version - 1:
        return None  # missing: no digest can match
    return event_digest(open_row(previous[0]).signed_bytes)


@router.get("/trails/{kind}/{key}")
def trail(
    kind: Annotated[str, Path(max_length=20, pattern="^[a-z]+$")],
    key: Annotated[str, Path(min_length=1, max_length=500, pattern=PRINTABLE)],
    actor: AuditorDep,
    services: ServicesDep,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Page:
    """Every event of a credential, issuer, learner or actor, in order, with who, when, key and why."""
    try:
        items = services.views.audit_trail(kind, key, after=after, limit=limit)
    except ValueError as error:
        raise InvalidInput(f"kind: {error}") from None
    return Page(items=items, next=str(items[-1]["position"]) if len(items) == limit else None)


@router.get("/credentials/{credential_id}/state")
def credential_state(
    credential_id: UUID,
    actor: AuditorDep,
    services: ServicesDep,
    at: Annotated[Instant | None, Query(description="an instant with a time zone")] = None,
    position: Annotated[int | None, Query(ge=0, le=MAX_POSITION)] = None,
) -> dict[str, Any]:
    """The credential as it was at an instant or a log position, recomputed from the log."""
    if (at is None) == (position is None):
        raise InvalidInput("at, position: give exactly one")
    credential = credential_at(services.ledger, credential_id, at=at, position=position)
    if credential is None:
        raise NotFound(f"credential {credential_id} did not exist then")
    state = {
        key: value
        for key, value in vars(credential).items()
        if not key.startswith("_") and key not in ("reasons",)
    }
    state["status"] = credential.status(at)
    state["version"] = credential.version
    return {"credential_id": str(credential_id), "state": to_json_value(state)}
