"""The auditor's pages: trails, time travel, checkpoints with proofs, verification, bundles.

Each page is built on the calls the auditor's HTTP API and command line make
(``ReadModels.audit_trail``, ``ledger.audit.time_travel``, ``ledger.audit.checkpoint_proofs``,
``ledger.audit.live_store``), so a page shows what ``ledger trail``, ``ledger state-at``,
``ledger checkpoints``, ``ledger verify`` and ``ledger export`` print.

Only auditors see them. A trail is searched with a POST: a learner's eduID subject
is personal data and must not end up in a URL (browser history, access logs).
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Query, Request
from fastapi import Path as PathParam
from ledger.api.pages.audit_verification import VerificationRuns
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from ledger.api.pages.signin import person_in
from ledger.projections.merkle_log import MerkleLogView
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.audit.checkpoint_proofs import checked_checkpoints, checked_inclusion
from ledger.audit.live_store import checkpoint_count_note, export_bundle
from ledger.audit.time_travel import credential_then
from ledger.errors import InvalidInput, NotFound

router = APIRouter(prefix="/audit", include_in_schema=False)
Auditor = Annotated[Actor, person_in("auditor")]
TRAIL_KINDS = ("credential", "issuer", "learner", "actor")
TRAIL_PAGE = 100
CHECKPOINT_PAGE = 50
MAX_POSITION = 2**62
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_runs_lock = threading.Lock()


def _runs(request: Request) -> VerificationRuns:
    """This server's verification runs, shared by its workers through files (the object
    made on first use holds only where they are)."""
    state = request.app.state
    with _runs_lock:
        runs: VerificationRuns | None = getattr(state, "audit_verifications", None)
        if runs is None:
            runs = VerificationRuns(state.services.settings)
            state.audit_verifications = runs
    return runs


@router.get("")
def audit_home(request: Request, actor: Auditor) -> Response:
    """Where an auditor starts: the log's size, the newest checkpoint, the last run."""
    services = request.app.state.services
    with services.runner.transaction(commit=False) as (_, cursor):
        view = MerkleLogView(cursor)
        latest = view.latest_checkpoint()
        size = view.size
    head = services.ledger.recorder.max_notification_id() or 0
    return render(
        request,
        "audit_home.html",
        head=head,
        tree_size=size,
        latest=latest.to_json() if latest else None,
        run=_runs(request).latest(),
    )


# -- trails -------------------------------------------------------------------------


@router.get("/trail")
def trail_form(request: Request, actor: Auditor) -> Response:
    """The search form (the search itself is a POST)."""
    return render(request, "audit_trail.html", form={"kind": "credential"}, errors={}, items=None)


@router.post("/trail")
def trail_search(
    request: Request,
    actor: Auditor,
    kind: Annotated[str, Form(max_length=20)] = "",
    key: Annotated[str, Form(max_length=1000)] = "",
    subject: Annotated[str, Form(max_length=10)] = "",
    after: Annotated[str, Form(max_length=20)] = "0",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Every event of a credential, an issuer, a learner (by id or eduID subject) or an
    actor, in log order, a page at a time."""
    check_csrf(request.session, csrf_token)
    form: dict[str, Any] = {"kind": kind, "key": key.strip(), "subject": bool(subject)}
    errors: dict[str, str] = {}
    if kind not in TRAIL_KINDS:
        errors["kind"] = "required"
    services = request.app.state.services
    lookup = _trail_key(form["key"], kind, bool(subject), services.ledger.learner_ids.of)
    if lookup is None:
        errors["key"] = "invalid" if form["key"] else "required"
    start = _whole(after, lowest=0)
    if start is None:
        errors["key"] = errors.get("key", "invalid")
    if errors or lookup is None or start is None:
        return render(
            request, "audit_trail.html", status_code=422, form=form, errors=errors, items=None
        )
    items = services.views.audit_trail(kind, lookup, after=start, limit=TRAIL_PAGE)
    return render(
        request,
        "audit_trail.html",
        form=form,
        errors={},
        items=items,
        after=start,
        more=items[-1]["position"] if len(items) == TRAIL_PAGE else None,
    )


def _trail_key(
    key: str, kind: str, by_subject: bool, learner_id_of: Callable[[str], UUID]
) -> str | None:
    """The key the trail is kept by (a learner's subject becomes their id, which only the
    ledger derives: learner ids are keyed), or None."""
    if not key or len(key) > 500 or CONTROL.search(key):
        return None
    if kind == "actor" or (kind == "learner" and by_subject):
        return key if kind == "actor" else str(learner_id_of(key))
    try:
        return str(UUID(key))
    except ValueError:
        return None


# -- time travel --------------------------------------------------------------------


@router.get("/time-travel")
def time_travel(
    request: Request,
    actor: Auditor,
    credential: Annotated[str, Query(max_length=100)] = "",
    at: Annotated[str, Query(max_length=40)] = "",
    position: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """A credential as it was at an instant or a log position (now, if neither is given),
    the events that led there, and steps to the event before and after."""
    form = {"credential": credential.strip(), "at": at.strip(), "position": position.strip()}
    if not any(form.values()):
        return render(request, "audit_time_travel.html", form=form, errors={}, then=None)
    errors: dict[str, str] = {}
    credential_id = _uuid(form["credential"])
    if credential_id is None:
        errors["credential"] = "invalid" if form["credential"] else "required"
    instant = _instant(form["at"]) if form["at"] else None
    if form["at"] and instant is None:
        errors["at"] = "invalid"
    spot = _whole(form["position"], lowest=0)
    if form["position"] and spot is None:
        errors["position"] = "invalid"
    if form["at"] and form["position"]:
        errors["position"] = "both"
    if errors or credential_id is None:
        return render(
            request, "audit_time_travel.html", status_code=422, form=form, errors=errors, then=None
        )
    services = request.app.state.services
    if instant is None and spot is None:
        spot = services.ledger.recorder.max_notification_id() or 0
    try:
        then = credential_then(services.ledger, credential_id, at=instant, position=spot)
    except NotFound:
        return render(
            request,
            "audit_time_travel.html",
            status_code=404,
            form=form,
            errors={"credential": "unknown"},
            then=None,
        )
    positions = _positions(services, credential_id)
    steps = [{**step, "position": positions.get(step["version"])} for step in then.steps]
    version = then.version
    back = (
        None
        if version == 0
        else (steps[version - 2]["position"] if version >= 2 else (steps[0]["position"] or 1) - 1)
    )
    forward = steps[version]["position"] if version < len(steps) else None
    credential_now = then.credential
    return render(
        request,
        "audit_time_travel.html",
        form=form,
        errors={},
        then=then,
        steps=steps,
        status=credential_now.status(instant) if credential_now else None,
        credential=credential_now,
        back=back,
        forward=forward,
        instant=instant,
        spot=spot,
    )


def _positions(services: Any, credential_id: UUID) -> dict[int, int]:
    """The log position of each version of a credential (from the audit trail)."""
    items = services.views.audit_trail("credential", str(credential_id), limit=1000)
    return {int(item["originator_version"]): int(item["position"]) for item in items}


def _whole(text: str, *, lowest: int = 1) -> int | None:
    """A whole number typed in a field (ASCII digits only), from ``lowest`` up, or None."""
    if not (text.isascii() and text.isdigit()):
        return None
    value = int(text)
    return value if lowest <= value < MAX_POSITION else None


def _uuid(text: str) -> UUID | None:
    try:
        return UUID(text)
    except ValueError:
        return None


def _instant(text: str) -> datetime | None:
    """An ISO 8601 instant; without a zone it is read as UTC (the page says so)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if not 1970 <= value.year <= 9998:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# -- checkpoints and proofs ---------------------------------------------------------


@router.get("/checkpoints")
def checkpoints(
    request: Request,
    actor: Auditor,
    after: Annotated[int, Query(ge=0, le=MAX_POSITION)] = 0,
) -> Response:
    """The signed checkpoints, each with its consistency proof from the one before, checked."""
    services = request.app.state.services
    with services.runner.transaction(commit=False) as (_, cursor):
        view = MerkleLogView(cursor)
        rows = checked_checkpoints(view, after=after, limit=CHECKPOINT_PAGE)
        size = view.size
    return render(
        request,
        "audit_checkpoints.html",
        rows=rows,
        tree_size=size,
        after=after,
        more=rows[-1]["tree_size"] if len(rows) == CHECKPOINT_PAGE else None,
        broken=sum(1 for row in rows if row.get("consistent_with_previous") is False),
        form={},
        errors={},
    )


@router.get("/checkpoints/inclusion")
def inclusion(
    request: Request,
    actor: Auditor,
    position: Annotated[str, Query(max_length=20)] = "",
    size: Annotated[str, Query(max_length=20)] = "",
) -> Response:
    """The proof that the event at a log position is in a checkpoint's tree, checked."""
    form = {"position": position.strip(), "size": size.strip()}
    errors: dict[str, str] = {}
    spot = _whole(form["position"])
    if spot is None:
        errors["position"] = "invalid" if form["position"] else "required"
    tree = _whole(form["size"])
    if form["size"] and tree is None:
        errors["size"] = "invalid"
    services = request.app.state.services
    proof = None
    status = 200
    if not errors and spot is not None:
        with services.runner.transaction(commit=False) as (_, cursor):
            try:
                proof = checked_inclusion(MerkleLogView(cursor), spot, tree)
            except (NotFound, InvalidInput) as error:
                errors["position"] = "not-in-tree"
                status = 404 if isinstance(error, NotFound) else 422
    else:
        status = 422
    return render(
        request, "audit_inclusion.html", status_code=status, form=form, errors=errors, proof=proof
    )


# -- whole-log verification ---------------------------------------------------------


@router.get("/verify")
def verify_start_page(request: Request, actor: Auditor) -> Response:
    """The button that starts a verification, and the newest run."""
    return render(request, "audit_verify.html", run=_runs(request).latest(), busy=False)


@router.post("/verify")
def verify_start(
    request: Request, actor: Auditor, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Start a whole-log verification in the background (or show the one running)."""
    check_csrf(request.session, csrf_token)
    run, started = _runs(request).start(actor.subject)
    suffix = "" if started else "?already=1"
    return RedirectResponse(f"/audit/verify/{run.run_id}{suffix}", status_code=303)


@router.get("/verify/{run_id}")
def verify_run_page(
    request: Request,
    run_id: Annotated[str, PathParam(max_length=40)],
    actor: Auditor,
    already: Annotated[str, Query(max_length=2)] = "",
) -> Response:
    """A run's progress (refreshing itself) and, when it is done, its report."""
    run = _runs(request).get(run_id)
    if run is None:
        raise NotFound("no verification run of that id on this server")
    return render(request, "audit_verify_run.html", run=run, already=bool(already))


@router.get("/verify/{run_id}/progress")
def verify_progress(
    request: Request, run_id: Annotated[str, PathParam(max_length=40)], actor: Auditor
) -> Response:
    """How far a run got, as JSON, for the progress page's script."""
    run = _runs(request).get(run_id)
    if run is None:
        raise NotFound("no verification run of that id on this server")
    return JSONResponse(run.progress(), headers={"Cache-Control": "no-store"})


# -- audit bundle -------------------------------------------------------------------


@router.get("/bundle")
def bundle_page(request: Request, actor: Auditor) -> Response:
    """What an audit bundle holds, and the download."""
    services = request.app.state.services
    head = services.ledger.recorder.max_notification_id() or 0
    with services.runner.transaction(commit=False) as (_, cursor):
        served = len(MerkleLogView(cursor).checkpoints(limit=1_000_000))
    recorded = services.ledger.checkpoint_log()
    counts = {"checkpoints": served, "checkpoints_in_log": recorded.count if recorded else 0}
    return render(
        request, "audit_bundle.html", head=head, counts=counts, note=checkpoint_count_note(counts)
    )


@router.get("/bundle/download")
def bundle_download(request: Request, actor: Auditor) -> Response:
    """The whole log as an audit bundle (JSON lines), as ``ledger export`` writes it;
    ``ledger verify --bundle`` checks it offline."""
    settings = request.app.state.services.settings
    with tempfile.NamedTemporaryFile(prefix="ledger-bundle-", suffix=".jsonl", delete=False) as out:
        path = Path(out.name)
        try:
            exported = export_bundle(settings, out)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
    headers = {"X-Ledger-Events": str(exported["events"])}
    headers["X-Ledger-Checkpoints"] = str(exported["checkpoints"])
    note = checkpoint_count_note(exported)
    if note is not None:
        headers["X-Ledger-Note"] = note
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return FileResponse(
        path,
        media_type="application/jsonl",
        filename=f"ledger-audit-{stamp}.jsonl",
        headers=headers,
        background=BackgroundTask(path.unlink, missing_ok=True),
    )
