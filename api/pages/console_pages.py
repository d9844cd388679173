"""The institution console: the administrator's home, the operator's onboarding of
institutions and their administrators, study-load policies and signing keys.

Every page goes through the same application calls as the HTTP API
(``api/routes/institutions.py``): a read checks the signed-in person against the
institution's administrator list (``administered``) exactly as a write does, so
another institution's administrator, or a removed one, sees nothing of it. Every
change is one ``Ledger`` command, a signed event. Forms keep what was typed and
name each refused field next to it; nothing is written while any field is wrong.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.days import day_start
from ledger.api.pages.rendering import gettext_for, render
from ledger.api.pages.session import check_csrf
from ledger.api.pages.signin import person_in
from ledger.api.routes.institutions import administered, consequences
from ledger.api.schemas import AdministratorIn, InstitutionIn, ProfileIn
from pydantic import BaseModel, ValidationError
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.domain.base import utcnow
from ledger.domain.issuer import Issuer, check_identifiers, check_public_url
from ledger.domain.policy import CATALOGUE, StudyLoadPolicy, policy_for_period
from ledger.errors import InvalidInput, NotFound, RuleViolation

router = APIRouter(prefix="/console", include_in_schema=False)
Staff = Annotated[Actor, person_in("administrator", "operator")]
Operator = Annotated[Actor, person_in("operator")]
FormText = Annotated[str, Form()]
#: Field errors of a form: the field's id, and the message shown next to it.
Errors = dict[str, str]


def _services(request: Request) -> Any:
    return request.app.state.services


def own_institution(request: Request, actor: Actor, issuer_id: UUID) -> Issuer:
    """The institution, if the signed-in person is the operator or on its administrator
    list: the one gate of every page on an institution, reads and writes alike."""
    return administered(_services(request), actor, issuer_id)


def field_errors(error: ValidationError) -> set[str]:
    """The top-level fields a schema of the API refused."""
    return {str(e["loc"][0]) for e in error.errors() if e["loc"]}


def _validated(schema: type[BaseModel], data: dict[str, Any]) -> tuple[Any, set[str]]:
    try:
        return schema.model_validate(data), set()
    except ValidationError as error:
        return None, field_errors(error)


def _domain_field(error: InvalidInput | RuleViolation) -> str:
    """The field a domain refusal names (``"homepage: must be …"``)."""
    return str(error).split(":", 1)[0].split(".", 1)[0].strip()


def _domain_checks(data: dict[str, Any], wrong: set[str]) -> None:
    """The domain's own rules on the profile's fields (identifier shapes, https URLs),
    run on every field at once so the form names each refused one."""
    for name in ("homepage", "logo_url"):
        if name not in wrong:
            try:
                check_public_url(name, data[name])
            except InvalidInput:
                wrong.add(name)
    if "identifiers" not in wrong:
        try:
            check_identifiers(data["identifiers"])
        except InvalidInput:
            wrong.add("identifiers")


def parse_identifiers(text: str) -> dict[str, str] | None:
    """``SCHEME=VALUE`` per line (BRIN=21PB); None when a line has no ``=``."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        scheme, sep, value = line.partition("=")
        if not sep:
            return None
        found[scheme.strip()] = value.strip()
    return found


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def _profile_messages(request: Request, fields: set[str]) -> Errors:
    _ = gettext_for(request)
    messages = {
        "name": _("Enter the institution's name (at most 500 characters)."),
        "country": _("Enter a two-letter country code in capitals, such as NL."),
        "identifiers": _(
            "Write one identifier per line as SCHEME=VALUE, such as BRIN=21PB; "
            "a BRIN or OIN must have its official form."
        ),
        "homepage": _("Enter an https:// address."),
        "logo_url": _("Enter an https:// address."),
        "administrators": _(
            "Enter eduID subjects, one per line, with no space or control characters at the start."
        ),
        "subject": _("Enter the eduID subject, with no space or control characters at the start."),
    }
    return {field: messages.get(field, _("Check this field.")) for field in sorted(fields)}


def _notice(request: Request) -> str | None:
    """The message of a change just made (``?done=`` after a redirect)."""
    _ = gettext_for(request)
    return {
        "registered": _("The institution is registered, with its own signing key."),
        "profile": _("The profile is changed."),
        "unchanged": _("Nothing changed: the profile already says this."),
        "added": _("The administrator is added."),
        "removed": _("The administrator is removed."),
        "adopted": _("The policy is adopted."),
        "rotated": _("A new signing key is active; the old one is retired."),
    }.get(request.query_params.get("done", ""))


# -- the administrator's home ----------------------------------------------------------


@router.get("")
def home(request: Request, actor: Staff) -> Response:
    """An administrator's institution: profile, administrators, policy, the sections.
    The operator, who acts for no one institution, starts at the list of institutions."""
    if actor.role == "operator" or actor.issuer_id is None:
        return RedirectResponse("/console/institutions", status_code=303)
    issuer = own_institution(request, actor, actor.issuer_id)
    return render(
        request,
        "console_home.html",
        issuer=issuer,
        profile=issuer.profile(),
        administrators=sorted(issuer.administrators),
        policy=issuer.policy_at(utcnow()),
    )


# -- institutions (the operator; an institution's administrators for their own) -------


def _institutions_page(
    request: Request, status_code: int = 200, errors: Errors | None = None, **values: str
) -> Response:
    services = _services(request)
    return render(
        request,
        "console_institutions.html",
        status_code=status_code,
        institutions=services.views.institutions(limit=500),
        errors=errors or {},
        values=values,
        notice=_notice(request),
    )


@router.get("/institutions")
def institutions(request: Request, actor: Operator) -> Response:
    """Every institution, and the form to register one."""
    return _institutions_page(request)


@router.post("/institutions")
def register(
    request: Request,
    actor: Operator,
    csrf_token: FormText = "",
    name: FormText = "",
    country: FormText = "",
    identifiers: FormText = "",
    homepage: FormText = "",
    logo_url: FormText = "",
    administrators: FormText = "",
) -> Response:
    """Register an institution (a signed event with its first signing key)."""
    check_csrf(request.session, csrf_token)
    values = {
        "name": name,
        "country": country,
        "identifiers": identifiers,
        "homepage": homepage,
        "logo_url": logo_url,
        "administrators": administrators,
    }
    parsed = parse_identifiers(identifiers)
    data = {
        "name": name.strip(),
        "country": country.strip(),
        "identifiers": parsed or {},
        "homepage": homepage.strip(),
        "logo_url": logo_url.strip(),
        "administrators": _lines(administrators),
    }
    body, wrong = _validated(InstitutionIn, data)
    if parsed is None:
        wrong.add("identifiers")
    _domain_checks(data, wrong)
    if not wrong:
        services = _services(request)
        try:
            issuer_id = services.write(
                actor,
                lambda: services.ledger.register_issuer(
                    name=body.name,
                    country=body.country,
                    identifiers=body.identifiers,
                    homepage=body.homepage,
                    logo_url=body.logo_url,
                    administrators=body.administrators,
                ),
            )
        except InvalidInput as error:
            wrong.add(_domain_field(error))
        else:
            return RedirectResponse(f"/console/institutions/{issuer_id}?done=registered", 303)
    return _institutions_page(
        request, status_code=422, errors=_profile_messages(request, wrong), **values
    )


def _institution_page(
    request: Request,
    actor: Actor,
    issuer: Issuer,
    status_code: int = 200,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    profile = issuer.profile()
    shown = {
        "name": profile["name"],
        "country": profile["country"],
        "identifiers": "\n".join(f"{k}={v}" for k, v in profile["identifiers"].items()),
        "homepage": profile["homepage"],
        "logo_url": profile["logo_url"],
        "subject": "",
        **(values or {}),
    }
    return render(
        request,
        "console_institution.html",
        status_code=status_code,
        issuer=issuer,
        administrators=sorted(issuer.administrators),
        policy=issuer.policy_at(utcnow()),
        errors=errors or {},
        values=shown,
        notice=_notice(request),
        operator=actor.role == "operator",
    )


@router.get("/institutions/{issuer_id}")
def institution(request: Request, issuer_id: UUID, actor: Staff) -> Response:
    """An institution's public profile and administrators, with the forms to change them."""
    return _institution_page(request, actor, own_institution(request, actor, issuer_id))


@router.post("/institutions/{issuer_id}/profile")
def edit_profile(
    request: Request,
    issuer_id: UUID,
    actor: Staff,
    csrf_token: FormText = "",
    name: FormText = "",
    country: FormText = "",
    identifiers: FormText = "",
    homepage: FormText = "",
    logo_url: FormText = "",
) -> Response:
    """Change the public profile (one signed ``ProfileEdited`` event)."""
    check_csrf(request.session, csrf_token)
    issuer = own_institution(request, actor, issuer_id)
    values = {
        "name": name,
        "country": country,
        "identifiers": identifiers,
        "homepage": homepage,
        "logo_url": logo_url,
    }
    parsed = parse_identifiers(identifiers)
    data = {
        "name": name.strip(),
        "country": country.strip(),
        "identifiers": parsed or {},
        "homepage": homepage.strip(),
        "logo_url": logo_url.strip(),
    }
    body, wrong = _validated(ProfileIn, data)
    if parsed is None:
        wrong.add("identifiers")
    _domain_checks(data, wrong)
    if not wrong:
        services = _services(request)
        changes = body.model_dump()
        try:
            services.write(actor, lambda: services.ledger.edit_issuer_profile(issuer_id, **changes))
        except InvalidInput as error:
            wrong.add(_domain_field(error))
        except RuleViolation:  # the profile already says this
            return RedirectResponse(f"/console/institutions/{issuer_id}?done=unchanged", 303)
        else:
            return RedirectResponse(f"/console/institutions/{issuer_id}?done=profile", 303)
    return _institution_page(request, actor, issuer, 422, _profile_messages(request, wrong), values)


@router.post("/institutions/{issuer_id}/administrators")
def add_administrator(
    request: Request,
    issuer_id: UUID,
    actor: Staff,
    csrf_token: FormText = "",
    subject: FormText = "",
) -> Response:
    """Let an eduID subject administer the institution."""
    check_csrf(request.session, csrf_token)
    issuer = own_institution(request, actor, issuer_id)
    body, wrong = _validated(AdministratorIn, {"subject": subject.rstrip()})
    errors = _profile_messages(request, wrong)
    if not wrong:
        services = _services(request)
        try:
            services.write(
                actor, lambda: services.ledger.add_administrator(issuer_id, body.subject)
            )
        except RuleViolation:
            errors = {"subject": gettext_for(request)("This person is already an administrator.")}
        else:
            return RedirectResponse(f"/console/institutions/{issuer_id}?done=added", 303)
    return _institution_page(request, actor, issuer, 422, errors, {"subject": subject})


@router.post("/institutions/{issuer_id}/administrators/remove")
def remove_administrator(
    request: Request,
    issuer_id: UUID,
    actor: Staff,
    csrf_token: FormText = "",
    subject: FormText = "",
) -> Response:
    """Withdraw an administrator's rights (the subject travels in the body, not the URL)."""
    check_csrf(request.session, csrf_token)
    own_institution(request, actor, issuer_id)
    services = _services(request)
    try:
        services.write(actor, lambda: services.ledger.remove_administrator(issuer_id, subject))
    except RuleViolation:
        raise NotFound("no such administrator") from None
    return RedirectResponse(f"/console/institutions/{issuer_id}?done=removed", 303)


# -- study-load policies ---------------------------------------------------------------


def _home_institution(actor: Actor, what: str) -> RedirectResponse:
    """``/console/<what>`` without an institution: the administrator's own; the operator
    chooses one from the list."""
    if actor.issuer_id is not None and actor.role == "administrator":
        return RedirectResponse(f"/console/{what}/{actor.issuer_id}", status_code=303)
    return RedirectResponse("/console/institutions", status_code=303)


@router.get("/policies")
def policies_home(request: Request, actor: Staff) -> Response:
    """The policies of the administrator's institution."""
    return _home_institution(actor, "policies")


def _policies_page(
    request: Request,
    actor: Actor,
    issuer: Issuer,
    status_code: int = 200,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    now = utcnow()
    return render(
        request,
        "console_policies.html",
        status_code=status_code,
        issuer=issuer,
        in_force=issuer.policy_at(now),
        adopted=list(issuer.policies),
        catalogue=list(CATALOGUE.values()),
        errors=errors or {},
        values={"policy": "", "in_force_from": "", "in_force_until": "", **(values or {})},
        notice=_notice(request),
    )


@router.get("/policies/{issuer_id}")
def policies(request: Request, issuer_id: UUID, actor: Staff) -> Response:
    """The policy in force, those adopted, and the form to adopt one for a period."""
    return _policies_page(request, actor, own_institution(request, actor, issuer_id))


@router.post("/policies/{issuer_id}")
def adopt_policy(
    request: Request,
    issuer_id: UUID,
    actor: Staff,
    csrf_token: FormText = "",
    policy: FormText = "",
    in_force_from: FormText = "",
    in_force_until: FormText = "",
) -> Response:
    """Adopt a catalogue policy for a period inside its own window (a signed event)."""
    check_csrf(request.session, csrf_token)
    issuer = own_institution(request, actor, issuer_id)
    values = {"policy": policy, "in_force_from": in_force_from, "in_force_until": in_force_until}
    _ = gettext_for(request)
    errors: Errors = {}
    chosen: StudyLoadPolicy | None = None
    if policy not in CATALOGUE:
        errors["policy"] = _("Choose a policy.")
    start = until = None
    for field, text in (("in_force_from", in_force_from), ("in_force_until", in_force_until)):
        try:
            found = day_start(text)
        except ValueError:
            errors[field] = _("Enter a date, such as 2026-09-01.")
            continue
        if field == "in_force_from":
            start = found
        else:
            until = found
    if not errors:
        base = CATALOGUE[policy]
        try:
            chosen = policy_for_period(policy, start=start, until=until)
        except InvalidInput as error:
            window = (
                _("%(start)s to %(end)s")
                % {"start": base.in_force_from.date(), "end": base.in_force_until.date()}
                if base.in_force_until
                else _("from %(start)s on") % {"start": base.in_force_from.date()}
            )
            if "may only be adopted" in str(error):
                early = start is not None and start < base.in_force_from
                errors["in_force_from" if early else "in_force_until"] = _(
                    "%(policy)s may only be adopted within %(window)s."
                ) % {"policy": base.description, "window": window}
            else:
                errors["in_force_until"] = _("The period must end after it starts.")
    if chosen is not None and not errors:
        services = _services(request)
        adopted = chosen
        try:
            services.write(actor, lambda: services.ledger.adopt_policy(issuer_id, adopted))
        except RuleViolation:
            errors["policy"] = _("This policy is already adopted for this institution.")
        else:
            return RedirectResponse(f"/console/policies/{issuer_id}?done=adopted", 303)
    return _policies_page(request, actor, issuer, 422, errors, values)


# -- signing keys ----------------------------------------------------------------------

KID = re.compile(r"^[A-Za-z0-9:_-]{1,200}$")


@router.get("/keys")
def keys_home(request: Request, actor: Staff) -> Response:
    """The keys of the administrator's institution."""
    return _home_institution(actor, "keys")


def _keys_page(
    request: Request,
    actor: Actor,
    issuer: Issuer,
    status_code: int = 200,
    errors: Errors | None = None,
    values: dict[str, str] | None = None,
    effects: dict[str, Any] | None = None,
    marked: dict[str, Any] | None = None,
) -> Response:
    services = _services(request)
    keys = services.ledger.key_registry().keys_of(str(issuer.id))
    return render(
        request,
        "console_keys.html",
        status_code=status_code,
        issuer=issuer,
        keys=keys,
        kid_options=[(k.kid, k.kid) for k in keys if k.compromised_since is None],
        errors=errors or {},
        values={"kid": "", "since": "", "reason": "", **(values or {})},
        effects=effects,
        marked=marked,
        operator=actor.role == "operator",
        notice=_notice(request),
    )


@router.get("/keys/{issuer_id}")
def keys(request: Request, issuer_id: UUID, actor: Staff) -> Response:
    """Every signing key of the institution; rotation; marking a key compromised."""
    return _keys_page(request, actor, own_institution(request, actor, issuer_id))


@router.post("/keys/{issuer_id}/rotate")
def rotate(request: Request, issuer_id: UUID, actor: Staff, csrf_token: FormText = "") -> Response:
    """A new signing key; the old one is retired and what it signed stays valid."""
    check_csrf(request.session, csrf_token)
    own_institution(request, actor, issuer_id)
    services = _services(request)
    services.write(actor, lambda: services.ledger.rotate_issuer_key(issuer_id))
    return RedirectResponse(f"/console/keys/{issuer_id}?done=rotated", 303)


def _since(text: str) -> datetime | None:
    """A ``datetime-local`` value read as UTC (the form says so)."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _compromise_form(
    request: Request, issuer: Issuer, kid: str, since: str, reason: str, *, confirm: bool
) -> tuple[Errors, datetime | None]:
    _ = gettext_for(request)
    errors: Errors = {}
    owned = {k.kid for k in _services(request).ledger.key_registry().keys_of(str(issuer.id))}
    if not KID.match(kid) or kid not in owned:
        errors["kid"] = _("Choose one of the institution's keys.")
    instant = _since(since)
    if instant is None:
        errors["since"] = _("Enter the date and time (UTC) from which the key is compromised.")
    elif instant > utcnow():
        errors["since"] = _("Enter an instant in the past.")
    if confirm and (not reason.strip() or len(reason) > 2000 or "\x00" in reason):
        errors["reason"] = _("Say why the key is compromised (at most 2000 characters).")
    return errors, instant


@router.post("/keys/{issuer_id}/compromise")
def compromise(
    request: Request,
    issuer_id: UUID,
    actor: Operator,
    csrf_token: FormText = "",
    kid: FormText = "",
    since: FormText = "",
    reason: FormText = "",
    confirm: FormText = "",
) -> Response:
    """Show what marking a key compromised from an instant invalidates; with ``confirm``,
    mark it (operator only; a signed event, an active key is replaced at once)."""
    check_csrf(request.session, csrf_token)
    issuer = own_institution(request, actor, issuer_id)
    values = {"kid": kid, "since": since, "reason": reason}
    errors, instant = _compromise_form(request, issuer, kid, since, reason, confirm=bool(confirm))
    if set(errors) - {"reason"} or instant is None:
        return _keys_page(request, actor, issuer, 422, errors, values)
    services = _services(request)
    effects = consequences(services, kid, instant)
    if errors or not confirm:  # first the consequences; a missing reason shows them again
        status_code = 422 if errors else 200
        return _keys_page(request, actor, issuer, status_code, errors, values, effects=effects)
    try:
        replaced_by = services.write(
            actor,
            lambda: services.ledger.mark_key_compromised(kid, since=instant, reason=reason),
        )
    except RuleViolation:
        _ = gettext_for(request)
        errors = {"kid": _("This key is already marked compromised.")}
        return _keys_page(request, actor, issuer, 422, errors, values)
    marked = {"kid": kid, "since": instant, "replaced_by": replaced_by}
    return _keys_page(request, actor, issuer, 200, {}, {}, effects=effects, marked=marked)
