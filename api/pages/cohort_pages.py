"""The console's CSV cohort import: template, upload with a dry run, import, result file.

The steps, each a page that works without JavaScript:

1. ``GET /console/cohorts``: choose the achievement, download the template, upload.
2. ``POST /console/cohorts``: the file (multipart, at most ``MAX_FILE_BYTES``, UTF-8)
   is read and dry-run by ``cohort_csv.dry_run`` (the rules of the API and the CLI).
   A file that cannot be read is refused on the form with the reason; a file with
   problems shows every row with its problems and nothing is kept; a clean file is
   staged (``cohort_jobs``) and the browser goes to its page.
3. ``GET /console/cohorts/{token}``: the count and the import button; once started,
   the progress; once done, the result file mapping each row to its credential id.
4. ``POST /console/cohorts/{token}/import``: starts the one atomic issuance under the
   idempotency key of the staged file; a double submit starts nothing new.

Progress: the CSP allows no inline script, so ``/static/cohort_progress.js`` (a
static file) polls ``/console/cohorts/{token}/progress.json`` every second, updates
the ``<progress>`` bar and its live status text, and reloads the page when the
import ends. Without JavaScript the page shows the phase at the time it was drawn
and a "Show progress" link that draws it again (no timed refresh, which would take
control from people using assistive technology).
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.cohort_jobs import CohortUploads, start_import
from ledger.api.pages.console_access import Administrator, administered
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from ledger.api.routes.cohorts import CSV, MAX_FILE_BYTES, csv_bytes
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import JSONResponse, RedirectResponse, Response

from ledger.application import cohort_csv
from ledger.application.actor import Actor
from ledger.errors import InvalidInput, NotFound

router = APIRouter(prefix="/console/cohorts", include_in_schema=False)
#: Rows with problems shown on the page (a report of more says how many more).
SHOWN_PROBLEMS = 1000


def uploads_of(services: Any) -> CohortUploads:
    """The staging directory of this deployment (private, beside the keys)."""
    return CohortUploads(services.settings.key_dir / "cohort-uploads")


def _achievements(services: Any, issuer_id: UUID) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = services.views.achievements_of(issuer_id, limit=1000)
    return found


def _form(request: Request, actor: Actor, status_code: int = 200, **extra: Any) -> Response:
    services = request.app.state.services
    issuer = administered(services, actor)
    return render(
        request,
        "console_cohorts.html",
        status_code=status_code,
        achievements=_achievements(services, issuer.id),
        max_mb=MAX_FILE_BYTES // (1024 * 1024),
        chosen=extra.get("chosen", ""),
        errors=extra.get("errors", {}),
        upload_error=extra.get("upload_error"),
        report=extra.get("report"),
        file_name=extra.get("file_name", ""),
        shown=SHOWN_PROBLEMS,
    )


@router.get("")
def cohorts(request: Request, actor: Administrator, achievement: str = "") -> Response:
    """The upload form: the achievement, the template, the file."""
    return _form(request, actor, chosen=achievement)


@router.get("/template.csv")
def template(actor: Administrator) -> Response:
    """The CSV template (the same as the API's ``/v1/cohorts/template.csv``)."""
    return Response(
        cohort_csv.TEMPLATE,
        media_type=CSV,
        headers={"Content-Disposition": 'attachment; filename="cohort-template.csv"'},
    )


@router.post("")
async def check(request: Request, actor: Administrator) -> Response:
    """Read the file and dry-run it; a clean file is staged for its import."""
    services = request.app.state.services
    try:
        data: bytes | None = await csv_bytes(request)
        failure = None
    except InvalidInput as error:
        data, failure = None, str(error)
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    declared = request.headers.get("content-length", "")
    too_big = declared.isdigit() and int(declared) > MAX_FILE_BYTES
    # The form was parsed by ``csv_bytes`` (a file over the limit is refused unread).
    form = await request.form() if media == "multipart/form-data" and not too_big else None
    if not too_big:
        # Only the page's own form may go on: a cross-site post (even as text/plain,
        # which a browser sends without asking) has no token and is refused here.
        token = form.get("csrf_token") if form is not None else None
        check_csrf(request.session, token if isinstance(token, str) else None)
    chosen = form.get("achievement") if form is not None else ""
    chosen = chosen if isinstance(chosen, str) else ""
    upload = form.get("file") if form is not None else None
    file_name = upload.filename or "" if isinstance(upload, UploadFile) else ""
    issuer = await run_in_threadpool(administered, services, actor)
    errors: dict[str, str] = {}
    achievement_id = await run_in_threadpool(_own_achievement, services, issuer.id, chosen)
    if achievement_id is None and form is not None:  # unread form: only the file's error
        errors["achievement"] = "choose"
    text = None
    if failure is None and data is not None:
        try:
            text = cohort_csv.decode(data)
            if not text.strip():
                raise InvalidInput("file: empty; choose a CSV file")
        except InvalidInput as error:
            failure = str(error)
    if failure is not None:
        errors["file"] = "unreadable"
    if errors or text is None or achievement_id is None:
        return await _refused(request, actor, chosen, file_name, errors, failure)
    try:
        cohort = await run_in_threadpool(
            cohort_csv.dry_run,
            text,
            achievement_id=achievement_id,
            holders=services.views.learners_holding,
            learner_ids_of=services.ledger.learner_ids.of_many,
        )
    except InvalidInput as error:  # not CSV at all, too many rows
        return await _refused(request, actor, chosen, file_name, {"file": "unreadable"}, str(error))
    if not cohort.ok:
        report = _report(cohort)
        return await run_in_threadpool(
            lambda: _form(request, actor, chosen=chosen, report=report, file_name=file_name)
        )
    staged = await run_in_threadpool(
        uploads_of(services).stage,
        text,
        issuer_id=str(issuer.id),
        achievement_id=str(achievement_id),
        staged_by=actor.subject,
        rows=len(cohort.rows),
        file_name=file_name[:200],
    )
    return RedirectResponse(f"/console/cohorts/{staged}", status_code=303)


async def _refused(
    request: Request,
    actor: Actor,
    chosen: str,
    file_name: str,
    errors: dict[str, str],
    failure: str | None,
) -> Response:
    """The form again (422) with its errors and why the file could not be read."""
    return await run_in_threadpool(
        lambda: _form(
            request,
            actor,
            status_code=422,
            chosen=chosen,
            errors=errors,
            upload_error=failure,
            file_name=file_name,
        )
    )


def _report(cohort: cohort_csv.CohortFile) -> dict[str, Any]:
    """The dry run as the page shows it: the counts and each row with its problems,
    as ``cohort_csv.Problem`` codes for the template to say in the reader's language."""
    report = cohort.report()
    report["header_problems"] = cohort.header_problems
    bad = [row for row in cohort.rows if row.problems][:SHOWN_PROBLEMS]
    report["problems"] = [
        {"row": row.row, "subject": row.subject, "problems": row.problems} for row in bad
    ]
    return report


def _own_achievement(services: Any, issuer_id: UUID, chosen: str) -> UUID | None:
    """The chosen achievement, if it is one of this institution's."""
    try:
        achievement_id = UUID(chosen)
    except ValueError:
        return None
    try:
        if services.ledger.achievement(achievement_id).issuer_id != issuer_id:
            return None
    except NotFound:
        return None
    return achievement_id


def _staged(request: Request, actor: Actor, token: str) -> dict[str, Any]:
    """A staged file of the administrator's institution (else: not found)."""
    services = request.app.state.services
    issuer = administered(services, actor)
    try:
        meta = uploads_of(services).meta(token)
    except ValueError:
        meta = None
    if meta is None or meta.get("issuer_id") != str(issuer.id):
        raise NotFound("upload not found")
    return meta


@router.get("/{token}")
def staged(request: Request, token: str, actor: Administrator) -> Response:
    """A checked file: the import button, the progress, or the result."""
    services = request.app.state.services
    meta = _staged(request, actor, token)
    titles = {
        a["achievement_id"]: a["title"] for a in _achievements(services, UUID(meta["issuer_id"]))
    }
    progress = uploads_of(services).progress(token)
    return render(
        request,
        "console_cohort.html",
        token=token,
        meta=meta,
        title=titles.get(meta["achievement_id"], ""),
        progress=progress,
    )


@router.post("/{token}/import")
def import_staged(
    request: Request, token: str, actor: Administrator, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Start the import (once: a second submit only shows the first one's progress)."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    _staged(request, actor, token)
    start_import(services, actor, uploads_of(services), token)
    return RedirectResponse(f"/console/cohorts/{token}", status_code=303)


@router.get("/{token}/progress.json")
def progress(request: Request, token: str, actor: Administrator) -> Response:
    """The import's phase and counts, for the page's script."""
    _staged(request, actor, token)
    state = uploads_of(request.app.state.services).progress(token)
    state.pop("report", None)
    return JSONResponse(state, headers={"Cache-Control": "no-store"})


@router.get("/{token}/result.csv")
def result(request: Request, token: str, actor: Administrator) -> Response:
    """The result file: each row of the upload with its credential id."""
    _staged(request, actor, token)
    found = uploads_of(request.app.state.services).result(token)
    if found is None:
        raise NotFound("no result yet")
    return Response(
        found,
        media_type=CSV,
        headers={
            "Content-Disposition": 'attachment; filename="cohort-result.csv"',
            "Cache-Control": "no-store",
        },
    )
