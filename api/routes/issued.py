"""An institution's issued list: search by learner, filter, page, export as CSV.

The learner's eduID subject is personal data: it arrives in a request body (never a
URL, which ends up in logs), is turned into the pseudonymous learner id at once
(``LearnerIds``, keyed) and is never stored; the read side only knows learner ids. Only
administrators of the institution (and the operator) see its list.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from ledger.api.deps import ServicesDep, StaffDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import IssuedSearchIn, Page
from pydantic import AwareDatetime
from starlette.responses import StreamingResponse

from ledger.application.actor import Actor
from ledger.errors import InvalidInput
from ledger.eventlog.canonical_json import format_datetime

router = APIRouter(prefix="/v1", tags=["administrators"], responses=PROBLEM_RESPONSES)

State = Literal["active", "suspended", "revoked", "expired"]
EXPORT_PAGE = 1000
EXPORT_COLUMNS = (
    "credential_id",
    "learner_id",
    "achievement_id",
    "achievement_revision",
    "state",
    "issued_at",
    "valid_until",
)


def _administered(services: Any, actor: Actor, issuer_id: UUID) -> None:
    with services.acting(actor):
        services.ledger.administered_issuer(issuer_id)


def filters_of(
    *,
    state: str | None,
    achievement_id: UUID | None,
    learner_id: UUID | None,
    issued_from: datetime | None,
    issued_until: datetime | None,
) -> dict[str, Any]:
    """The read model's filters (a searched subject comes as its learner id: the caller
    turns it into one with ``ledger.learner_ids``, which is keyed)."""
    if issued_from and issued_until and issued_until <= issued_from:
        raise InvalidInput("issued_until: must be after issued_from")
    return {
        "state": state,
        "achievement_id": achievement_id,
        "learner_id": learner_id,
        "issued_from": format_datetime(issued_from) if issued_from else None,
        "issued_until": format_datetime(issued_until) if issued_until else None,
    }


@router.post("/issuers/{issuer_id}/credentials/search")
def search(issuer_id: UUID, body: IssuedSearchIn, actor: StaffDep, services: ServicesDep) -> Page:
    """The issued list by learner subject, achievement, state and issue date, a page at a time."""
    _administered(services, actor, issuer_id)
    filters = filters_of(
        state=body.state,
        achievement_id=body.achievement_id,
        learner_id=services.ledger.learner_ids.of(body.learner_subject.strip())
        if body.learner_subject
        else None,
        issued_from=body.issued_from,
        issued_until=body.issued_until,
    )
    items = services.views.issued_by(issuer_id, **filters, after=body.after, limit=body.limit)
    return Page(
        items=[asdict(item) for item in items],
        next=items[-1].credential_id if len(items) == body.limit else None,
    )


@router.get(
    "/issuers/{issuer_id}/credentials/export.csv", responses={200: {"content": {"text/csv": {}}}}
)
def export(
    issuer_id: UUID,
    actor: StaffDep,
    services: ServicesDep,
    state: Annotated[State | None, Query()] = None,
    achievement_id: Annotated[UUID | None, Query()] = None,
    issued_from: Annotated[AwareDatetime | None, Query()] = None,
    issued_until: Annotated[AwareDatetime | None, Query()] = None,
) -> StreamingResponse:
    """Every credential matching the filters as CSV, read a page at a time."""
    _administered(services, actor, issuer_id)
    filters = filters_of(
        state=state,
        achievement_id=achievement_id,
        learner_id=None,
        issued_from=issued_from,
        issued_until=issued_until,
    )
    return export_response(services, issuer_id, filters)


def export_response(services: Any, issuer_id: UUID, filters: dict[str, Any]) -> StreamingResponse:
    """The CSV of every credential matching ``filters`` (``filters_of``), a page at a time
    (also the console's export, which passes the same filters)."""

    def lines() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(EXPORT_COLUMNS)
        after: str | None = None
        while True:
            page = services.views.issued_by(issuer_id, **filters, after=after, limit=EXPORT_PAGE)
            writer.writerows([getattr(item, c) for c in EXPORT_COLUMNS] for item in page)
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if len(page) < EXPORT_PAGE:
                return
            after = page[-1].credential_id

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="issued.csv"'},
    )
