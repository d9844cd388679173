"""A credential in the console: details and history; amend, suspend, reinstate, revoke.

Only administrators of the credential's institution see it (anyone else: 404, which
confirms nothing). Every change asks for a reason and goes through a confirmation:
an amendment shows each field's old and new value before it is made; revoking says
that it is final. The commands are the ledger's (``amend_credential`` and the
others), run through ``services.write``, so the read side, and with it the public
share page and the status lists, show the change on the next request.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.console_access import Administrator, administered
from ledger.api.pages.credential_view import elements
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.domain.credential import KEEP, Amendment
from ledger.errors import InvalidInput, InvalidTransition, NotFound

router = APIRouter(prefix="/console/credentials", include_in_schema=False)
ACTIONS = ("suspend", "reinstate", "revoke")
MAX_REASON = 2000
#: The fields the amendment form corrects.
AMENDED = ("valid_until", "result", "evidence")


def _credential(request: Request, actor: Actor, credential_id: UUID) -> dict[str, Any]:
    """The credential as the read side shows it, if the administrator's institution issued it."""
    services = request.app.state.services
    issuer = administered(services, actor)
    found = services.views.credential(credential_id)
    if found is None or found.issuer_id != str(issuer.id):
        raise NotFound("credential not found")
    shown: dict[str, Any] = found.shown()
    shown["evidence"] = list(services.ledger.credential(credential_id).evidence)
    return shown


@router.get("/{credential_id}")
def credential(
    request: Request, credential_id: UUID, actor: Administrator, done: str = ""
) -> Response:
    """Details, history, and what can be done with it now."""
    found = _credential(request, actor, credential_id)
    return render(
        request,
        "console_credential.html",
        credential=found,
        elements=elements(found["achievement"]),
        done=done if done in (*ACTIONS, "amend") else "",
    )


# -- suspend, reinstate, revoke ---------------------------------------------------------


def _change_page(
    request: Request, found: dict[str, Any], action: str, status_code: int = 200, **extra: Any
) -> Response:
    return render(
        request,
        "console_credential_change.html",
        status_code=status_code,
        credential=found,
        action=action,
        errors=extra.get("errors", {}),
        reason=extra.get("reason", ""),
    )


def _action(action: str) -> str:
    if action not in ACTIONS:
        raise NotFound("no such action")
    return action


# -- amend --------------------------------------------------------------------------------


def _day_of(value: str | None) -> str:
    return value[:10] if value else ""


def _result_text(result: dict[str, str]) -> str:
    return "\n".join(f"{name} = {value}" for name, value in result.items())


def _amend_page(
    request: Request, found: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response:
    given = extra.get("given") or {
        "valid_until": _day_of(found["valid_until"]),
        "result": _result_text(found["result"]),
        "evidence": "\n".join(found["evidence"]),
        "reason": "",
    }
    return render(
        request,
        "console_credential_amend.html",
        status_code=status_code,
        credential=found,
        given=given,
        errors=extra.get("errors", {}),
        diff=extra.get("diff"),
    )


def _parse_result(text: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        name, sep, value = line.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise InvalidInput("result: one 'name = value' per line")
        result[name.strip()] = value.strip()
    return result


def _amendment(
    found: dict[str, Any], given: dict[str, str], errors: dict[str, str]
) -> tuple[Amendment | None, list[tuple[str, str, str]]]:
    """The amendment of the fields that differ from the credential, and the diff shown
    (field, old value, new value); ``errors`` gets a kind per field that is not valid."""
    diff: list[tuple[str, str, str]] = []
    valid_until: Any = KEEP
    if given["valid_until"] != _day_of(found["valid_until"]):
        if given["valid_until"]:
            try:
                day = date.fromisoformat(given["valid_until"])
                valid_until = datetime.combine(day, time(23, 59, 59), tzinfo=UTC)
            except ValueError:
                errors["valid_until"] = "invalid"
        else:
            valid_until = None
        diff.append(("valid_until", _day_of(found["valid_until"]), given["valid_until"]))
    result = None
    try:
        parsed = _parse_result(given["result"])
        if parsed != found["result"]:
            result = parsed
            diff.append(("result", _result_text(found["result"]), _result_text(parsed)))
    except InvalidInput:
        errors["result"] = "invalid"
    evidence = None
    urls = [u.strip() for u in given["evidence"].splitlines() if u.strip()]
    if urls != found["evidence"]:
        if any(not u.startswith(("https://", "http://")) for u in urls):
            errors["evidence"] = "invalid"
        evidence = tuple(urls)
        diff.append(("evidence", "\n".join(found["evidence"]), "\n".join(urls)))
    if not given["reason"].strip():
        errors["reason"] = "required"
    if not diff and not errors:
        errors["changes"] = "none"
    if errors:
        return None, diff
    try:
        amendment = Amendment(valid_until=valid_until, result=result, evidence=evidence)
    except InvalidInput as error:
        field = str(error).split(":", 1)[0]
        errors[field if field in given else "changes"] = "invalid"
        return None, diff
    return amendment, diff


@router.get("/{credential_id}/amend")
def amend_form(request: Request, credential_id: UUID, actor: Administrator) -> Response:
    """The amendment form, filled in with the credential's values."""
    return _amend_page(request, _credential(request, actor, credential_id))


@router.post("/{credential_id}/amend")
def amend(
    request: Request,
    credential_id: UUID,
    actor: Administrator,
    valid_until: Annotated[str, Form(max_length=20)] = "",
    result: Annotated[str, Form(max_length=20_000)] = "",
    evidence: Annotated[str, Form(max_length=50_000)] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    confirm: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """First the diff of old and new values for review; with ``confirm``, the amendment."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    found = _credential(request, actor, credential_id)
    given = {"valid_until": valid_until, "result": result, "evidence": evidence, "reason": reason}
    errors: dict[str, str] = {}
    amendment, diff = _amendment(found, given, errors)
    if amendment is None:
        return _amend_page(request, found, 422, given=given, errors=errors)
    if confirm != "yes":
        return _amend_page(request, found, given=given, diff=diff)
    try:
        services.write(
            actor,
            lambda: services.ledger.amend_credential(
                credential_id, amendment, reason=reason.strip()
            ),
        )
    except InvalidTransition:
        return _amend_page(request, found, 409, given=given, errors={"changes": "state"})
    except InvalidInput as error:  # a rule of issuance, e.g. an end before the start
        field = str(error).split(":", 1)[0]
        kind = {field: "invalid"} if field in AMENDED else {"changes": "state"}
        if "after valid_from" in str(error):
            kind = {"valid_until": "before"}
        return _amend_page(request, found, 422, given=given, errors=kind)
    return RedirectResponse(f"/console/credentials/{credential_id}?done=amend", status_code=303)


# The generic routes come last: ``/amend`` above must match first.


@router.get("/{credential_id}/{action}")
def confirm_change(
    request: Request, credential_id: UUID, action: str, actor: Administrator
) -> Response:
    """The confirmation step: the reason, and for a revocation that it is final."""
    return _change_page(request, _credential(request, actor, credential_id), _action(action))


@router.post("/{credential_id}/{action}")
def change(
    request: Request,
    credential_id: UUID,
    action: str,
    actor: Administrator,
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Suspend, reinstate or revoke, with the reason given."""
    check_csrf(request.session, csrf_token)
    _action(action)
    services = request.app.state.services
    found = _credential(request, actor, credential_id)
    if not reason.strip():
        return _change_page(request, found, action, 422, errors={"reason": "required"})
    command = {
        "suspend": services.ledger.suspend_credential,
        "reinstate": services.ledger.reinstate_credential,
        "revoke": services.ledger.revoke_credential,
    }[action]
    try:
        services.write(actor, lambda: command(credential_id, reason=reason.strip()))
    except (InvalidInput, InvalidTransition):
        return _change_page(request, found, action, 409, errors={"state": "invalid"}, reason=reason)
    return RedirectResponse(f"/console/credentials/{credential_id}?done={action}", status_code=303)
