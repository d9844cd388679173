"""Cohorts from a CSV file over HTTP: the template, a dry run, and the atomic import.

``POST /v1/issuers/{id}/cohorts/csv?achievement_id=…`` takes the file as the body
(``text/csv``) or as the ``file`` field of a ``multipart/form-data`` form. With
``dry_run=true`` it answers the report of every row with its problems and writes
nothing; otherwise it needs an ``Idempotency-Key`` and answers each row's credential
id (JSON, or the result CSV when asked for ``text/csv``). The rules are in
``ledger.application.cohort_csv``; this module only carries bytes.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Query, Request
from ledger.api.deps import AdministratorDep, ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES, problem
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from ledger.application import cohort_csv
from ledger.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1", tags=["administrators"], responses=PROBLEM_RESPONSES)

#: 20,000 rows of a few hundred bytes each, with room to spare.
MAX_FILE_BYTES = 16 * 1024 * 1024
CSV = "text/csv; charset=utf-8"


@router.get("/cohorts/template.csv", responses={200: {"content": {"text/csv": {}}}})
def template() -> Response:
    """The CSV template of a cohort: the columns and two example rows."""
    return Response(
        cohort_csv.TEMPLATE,
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="cohort-template.csv"'},
    )


async def csv_bytes(request: Request) -> bytes:
    """The CSV bytes: the body itself, or the ``file`` field of a multipart form."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_FILE_BYTES:
        raise InvalidInput(f"file: at most {MAX_FILE_BYTES // (1024 * 1024)} MB")
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise InvalidInput("file: send the CSV as the form field 'file'")
        data = await upload.read(MAX_FILE_BYTES + 1)
    elif media in ("text/csv", "text/plain", "application/csv"):
        data = b""
        async for chunk in request.stream():
            data += chunk
            if len(data) > MAX_FILE_BYTES:
                break
    else:
        raise InvalidInput("content-type: send text/csv, or multipart/form-data with a 'file'")
    if len(data) > MAX_FILE_BYTES:
        raise InvalidInput(f"file: at most {MAX_FILE_BYTES // (1024 * 1024)} MB")
    return data


@router.post(
    "/issuers/{issuer_id}/cohorts/csv",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            },
        }
    },
    responses={
        200: {"description": "The dry run's report"},
        201: {"description": "Issued", "content": {"text/csv": {}}},
    },
)
async def import_csv(
    issuer_id: UUID,
    request: Request,
    actor: AdministratorDep,
    services: ServicesDep,
    achievement_id: Annotated[UUID, Query()],
    dry_run: Annotated[bool, Query()] = False,
    idempotency_key: Annotated[str | None, Header(min_length=1, max_length=200)] = None,
    accept: Annotated[str | None, Header()] = None,
) -> Any:
    """Check a cohort file (``dry_run=true``) or issue it atomically under an idempotency key."""
    if not dry_run and idempotency_key is None:
        raise InvalidInput("Idempotency-Key: required to import (not for a dry run)")
    text = cohort_csv.decode(await csv_bytes(request))

    def checked() -> None:
        with services.acting(actor):
            services.ledger.administered_issuer(issuer_id)
            if services.ledger.achievement(achievement_id).issuer_id != issuer_id:
                raise NotFound(f"achievement {achievement_id} not found")

    try:
        await run_in_threadpool(checked)
    except NotFound:
        raise NotFound(f"achievement {achievement_id} not found") from None
    if dry_run:
        cohort = await run_in_threadpool(
            cohort_csv.dry_run,
            text,
            achievement_id=achievement_id,
            holders=services.views.learners_holding,
            learner_ids_of=services.ledger.learner_ids.of_many,
        )
        return cohort.report()
    key = idempotency_key or ""
    try:
        done = await run_in_threadpool(
            services.write,
            actor,
            lambda: cohort_csv.import_cohort(
                services.ledger,
                text,
                issuer_id=issuer_id,
                achievement_id=achievement_id,
                request_id=key,
                holders=services.views.learners_holding,
            ),
        )
    except cohort_csv.CohortRefused as refused:
        return problem(422, refused.kind, "CohortRefused", str(refused), report=refused.report)
    if accept is not None and "text/csv" in accept:
        return Response(
            done.result_csv(),
            status_code=201,
            media_type=CSV,
            headers={"Content-Disposition": 'attachment; filename="cohort-result.csv"'},
        )
    rows = [{"row": r, "credential_id": str(c)} for r, _, c in done.rows]
    return Response(
        orjson.dumps({"credential_ids": [str(c) for c in done.credential_ids], "rows": rows}),
        status_code=201,
        media_type="application/json",
    )
