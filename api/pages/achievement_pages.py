"""The console's achievements: list, open (every revision with its reason and policy),
define and revise, for an institution's administrators.

The form shows the EU mandatory elements of a microcredential as the API's
achievement schema has them, and checks what the API and the domain check, every
field at once: the schema's bounds (``AchievementIn``), the mandatory elements of
the kind (``AchievementSpec.missing``) and the domain's rules
(``AchievementSpec.problems``). Only a form without a refused field reaches the
``Ledger`` command, which applies the study-load policy in force; its refusal is
shown at the study load with the policy's name and where another can be adopted.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from ledger.api.pages.console_pages import Errors, field_errors, own_institution
from ledger.api.pages.credential_view import elements
from ledger.api.pages.rendering import gettext_for, render
from ledger.api.pages.session import check_csrf
from ledger.api.pages.signin import person_in
from ledger.api.routes.achievements import achievement as achievement_with_revisions
from ledger.api.schemas import PRINTABLE, AchievementIn
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.domain.achievement import (
    ASSESSMENT_TYPES,
    EDUBADGE_FIELDS,
    KINDS,
    MICROCREDENTIAL_FIELDS,
    PARTICIPATION_FORMS,
    SUPERVISION_TYPES,
    AchievementSpec,
)
from ledger.domain.base import utcnow
from ledger.domain.issuer import Issuer
from ledger.domain.policy import alternatives
from ledger.errors import InvalidInput, StudyLoadTooLow

router = APIRouter(prefix="/console/achievements", include_in_schema=False)
Administrator = Annotated[Actor, person_in("administrator", "operator")]
FormText = Annotated[str, Form()]

#: The form's text fields, in the order of the page (``kind`` and ``reason`` aside).
TEXT_FIELDS = (
    "title",
    "description",
    "criteria",
    "awarding_body",
    "country",
    "language",
    "image",
    "field_of_study",
    "learning_outcomes",
    "study_load_hours",
    "ects",
    "eqf_level",
    "nlqf_level",
    "assessment_type",
    "assessment_description",
    "participation_form",
    "supervision_type",
    "identity_checked",
    "quality_assurance",
    "quality_assurance_code",
    "quality_assurance_url",
    "quality_assurance_description",
)
CHOICES = {
    "assessment_type": ASSESSMENT_TYPES,
    "participation_form": PARTICIPATION_FORMS,
    "supervision_type": SUPERVISION_TYPES,
}
WHOLE = re.compile(r"^\d{1,6}$")
ECTS = re.compile(r"^\d{1,4}([.,]\d{1,2})?$")


def _administrator(actor: Actor) -> UUID | None:
    """The institution the signed-in administrator acts for (the operator: none)."""
    return actor.issuer_id if actor.role == "administrator" else None


def _messages(request: Request, kind: str) -> dict[str, str]:
    """What each refused field says, in the visitor's language."""
    _ = gettext_for(request)
    return {
        "kind": _("Choose a microcredential or an edubadge."),
        "eqf_level": _("Choose an EQF level from 1 to 8."),
        "country": _("Enter a two-letter country code in capitals, such as NL."),
        "study_load_hours": _("Enter the study load as a whole number of hours above 0."),
        "ects": _("Enter the ECTS as a number above 0, such as 3 or 2.5."),
        "image": _("Enter an https:// address of the badge image."),
        "quality_assurance_url": _("Enter the https:// address of the quality assurance decision."),
        "assessment_type": _("Choose one of the options."),
        "participation_form": _("Choose one of the options."),
        "supervision_type": _("Choose one of the options."),
        "identity_checked": _("Say whether the learner's identity was checked."),
        "learning_outcomes": _("Write each learning outcome on its own line."),
        "reason": _("Say why the achievement changes (at most 2000 characters)."),
    }


def _required_message(request: Request, kind: str) -> str:
    _ = gettext_for(request)
    if kind == "microcredential":
        return str(_("A microcredential must state this (an EU mandatory element)."))
    return str(_("An edubadge must state this."))


def _too_long(request: Request) -> str:
    return str(gettext_for(request)("Too long, or holds characters that are not allowed."))


def _data(values: dict[str, str], errors: set[str]) -> dict[str, Any]:
    """The form's strings as the API's achievement body; a field that cannot be read as
    its type is named in ``errors`` and left out."""
    data: dict[str, Any] = {"kind": values["kind"]}
    for name in TEXT_FIELDS:
        text = values.get(name, "").strip()
        if name == "learning_outcomes":
            data[name] = [line.strip() for line in text.splitlines() if line.strip()]
        elif name == "study_load_hours":
            if text and not WHOLE.match(text):
                errors.add(name)
            data[name] = int(text) if WHOLE.match(text) else 0
        elif name == "ects":
            if text and not ECTS.match(text):
                errors.add(name)
            data[name] = text.replace(",", ".") if ECTS.match(text) else "0"
        elif name == "eqf_level":
            if text and not (text.isdigit() and len(text) == 1):
                errors.add(name)
            data[name] = int(text) if text.isdigit() and len(text) == 1 else None
        elif name == "nlqf_level":
            data[name] = text or None
        elif name == "identity_checked":
            if text not in ("", "yes", "no"):
                errors.add(name)
            data[name] = {"yes": True, "no": False}.get(text)
        else:
            data[name] = text
    return data


def check_form(request: Request, values: dict[str, str]) -> tuple[AchievementSpec | None, Errors]:
    """The achievement the form describes, or every refused field with its message."""
    kind = values["kind"]
    messages = _messages(request, kind)
    if kind not in KINDS:
        return None, {"kind": messages["kind"]}
    unreadable: set[str] = set()
    data = _data(values, unreadable)
    errors: Errors = {name: messages[name] for name in sorted(unreadable)}
    try:
        body = AchievementIn.model_validate(data)
    except ValidationError as error:
        body = None
        for name in field_errors(error):
            errors.setdefault(name, messages.get(name, _too_long(request)))
    for name in AchievementSpec.missing(data):
        errors.setdefault(name, _required_message(request, kind))
    if kind == "microcredential":  # a study load left empty is missing, not zero
        for name in ("study_load_hours", "ects"):
            if not values.get(name, "").strip():
                errors.setdefault(name, _required_message(request, kind))
    # The domain's rules on what could be read, so that every broken rule shows at once.
    readable = {
        k: v
        for k, v in data.items()
        if k not in errors and k in AchievementSpec.__dataclass_fields__
    }
    readable["learning_outcomes"] = tuple(readable.get("learning_outcomes", ()))
    try:
        readable["ects"] = Decimal(str(readable.get("ects", "0")))
    except InvalidOperation:
        readable["ects"] = Decimal(0)
    draft = AchievementSpec(**{"title": "", "description": "", **readable, "kind": kind})
    for name, _problem in draft.problems():
        if name in ("study_load_hours", "ects") and (
            "study_load_hours" in errors or "ects" in errors
        ):
            continue
        if name == "ects":
            _ = gettext_for(request)
            errors.setdefault(
                name,
                _("%(ects)s EC does not match %(hours)s hours (28 hours make 1 EC).")
                % {"ects": draft.ects, "hours": draft.study_load_hours},
            )
        else:
            errors.setdefault(name, messages.get(name, _too_long(request)))
    if errors or body is None:
        return None, errors
    try:
        return body.spec(), {}
    except InvalidInput as error:  # a rule this page does not know yet: shown at its field
        name = str(error).split(":", 1)[0]
        return None, {name: str(error)}


def _refusal(request: Request, issuer: Issuer) -> tuple[Errors, dict[str, Any]]:
    """The study-load refusal at its fields: the policy in force, and the others."""
    _ = gettext_for(request)
    now = utcnow()
    in_force = issuer.policy_at(now)
    message = _(
        "Below the minimum study load of %(hours)s hours (%(ects)s EC) of the policy in "
        "force for %(institution)s: %(policy)s."
    ) % {
        "hours": in_force.min_hours,
        "ects": in_force.min_ects,
        "institution": issuer.name,
        "policy": in_force.description or in_force.reference,
    }
    hint = {
        "in_force": in_force,
        "others": alternatives(in_force, now),
        "policies_url": f"/console/policies/{issuer.id}",
    }
    in_ects = _("Below the policy's minimum of %(ects)s EC.") % {"ects": in_force.min_ects}
    return {"study_load_hours": message, "ects": in_ects}, hint


def _form_page(
    request: Request,
    issuer: Issuer,
    values: dict[str, str],
    *,
    status_code: int = 200,
    errors: Errors | None = None,
    refusal: dict[str, Any] | None = None,
    revising: dict[str, Any] | None = None,
) -> Response:
    kind = values.get("kind", "microcredential")
    return render(
        request,
        "console_achievement_form.html",
        status_code=status_code,
        issuer=issuer,
        values=values,
        errors=errors or {},
        refusal=refusal,
        revising=revising,
        choices={name: [(v, v) for v in allowed] for name, allowed in CHOICES.items()},
        eqf_options=[(str(n), str(n)) for n in range(1, 9)],
        required=MICROCREDENTIAL_FIELDS if kind == "microcredential" else EDUBADGE_FIELDS,
        policy=issuer.policy_at(utcnow()),
    )


def _blank(kind: str) -> dict[str, str]:
    return {"kind": kind, "reason": "", **dict.fromkeys(TEXT_FIELDS, "")}


def _values_of(spec: dict[str, Any]) -> dict[str, str]:
    """A recorded revision as the form's strings (to revise it)."""
    values = _blank(str(spec.get("kind", "")))
    for name in TEXT_FIELDS:
        value = spec.get(name)
        if name == "learning_outcomes":
            values[name] = "\n".join(value or ())
        elif name == "identity_checked":
            values[name] = "" if value is None else ("yes" if value else "no")
        elif value is not None:
            values[name] = str(value)
    return values


async def _posted(request: Request) -> dict[str, str]:
    """Every field of the posted form as text (a missing field is empty), read before the
    handler runs in the thread pool."""
    form = await request.form()
    found = {name: form.get(name, "") for name in ("kind", "reason", "csrf_token", *TEXT_FIELDS)}
    return {name: value if isinstance(value, str) else "" for name, value in found.items()}


Posted = Annotated[dict[str, str], Depends(_posted)]


@router.get("")
def achievements(request: Request, actor: Administrator) -> Response:
    """The institution's achievements with their latest revision."""
    issuer_id = _administrator(actor)
    if issuer_id is None:
        return RedirectResponse("/console/institutions", status_code=303)
    issuer = own_institution(request, actor, issuer_id)
    services = request.app.state.services
    return render(
        request,
        "console_achievements.html",
        issuer=issuer,
        achievements=services.views.achievements_of(issuer_id, limit=500),
        defined=request.query_params.get("done") == "defined",
    )


@router.get("/new")
def new_achievement(
    request: Request, actor: Administrator, kind: str = "microcredential"
) -> Response:
    """The form for a new achievement, with the EU mandatory elements."""
    issuer_id = _administrator(actor)
    if issuer_id is None:
        return RedirectResponse("/console/institutions", status_code=303)
    issuer = own_institution(request, actor, issuer_id)
    values = _blank(kind if kind in KINDS else "microcredential")
    values["awarding_body"] = issuer.name
    values["country"] = issuer.country
    return _form_page(request, issuer, values)


@router.post("/new")
def define(request: Request, actor: Administrator, values: Posted) -> Response:
    """Define an achievement: every field checked; the policy in force applied."""
    check_csrf(request.session, values.pop("csrf_token"))
    issuer_id = _administrator(actor)
    if issuer_id is None:
        return RedirectResponse("/console/institutions", status_code=303)
    issuer = own_institution(request, actor, issuer_id)
    spec, errors = check_form(request, values)
    if spec is None:
        return _form_page(request, issuer, values, status_code=422, errors=errors)
    services = request.app.state.services
    try:
        achievement_id = services.write(
            actor, lambda: services.ledger.define_achievement(issuer_id, spec)
        )
    except StudyLoadTooLow:
        errors, hint = _refusal(request, issuer)
        return _form_page(request, issuer, values, status_code=422, errors=errors, refusal=hint)
    return RedirectResponse(f"/console/achievements/{achievement_id}?done=defined", 303)


def _opened(request: Request, actor: Actor, achievement_id: UUID) -> tuple[dict[str, Any], Issuer]:
    """The achievement with every revision, for its institution's administrators only
    (anyone else: not found, as over the API)."""
    services = request.app.state.services
    found = achievement_with_revisions(achievement_id, actor, services)
    issuer = own_institution(request, actor, UUID(found["issuer_id"]))
    return found, issuer


@router.get("/{achievement_id}")
def achievement(request: Request, achievement_id: UUID, actor: Administrator) -> Response:
    """One achievement: every revision with its reason, the policy it was checked under,
    and its public URL."""
    found, issuer = _opened(request, actor, achievement_id)
    for revision in found["revisions"]:
        revision["elements"] = elements(revision["spec"])
    return render(
        request,
        "console_achievement.html",
        issuer=issuer,
        achievement=found,
        latest=found["revisions"][-1],
        done=request.query_params.get("done", ""),
    )


@router.get("/{achievement_id}/revise")
def revise_form(request: Request, achievement_id: UUID, actor: Administrator) -> Response:
    """The form of a new revision, filled with the current one."""
    found, issuer = _opened(request, actor, achievement_id)
    values = _values_of(found["revisions"][-1]["spec"])
    return _form_page(request, issuer, values, revising=found)


@router.post("/{achievement_id}/revise")
def revise(
    request: Request, achievement_id: UUID, actor: Administrator, values: Posted
) -> Response:
    """Record a new revision with its reason; credentials keep the one they were issued under."""
    check_csrf(request.session, values.pop("csrf_token"))
    found, issuer = _opened(request, actor, achievement_id)
    values["kind"] = found["revisions"][-1]["spec"]["kind"]  # a revision keeps its kind
    spec, errors = check_form(request, values)
    reason = values["reason"]
    if not reason.strip() or len(reason) > 2000 or not re.fullmatch(PRINTABLE, reason):
        errors["reason"] = _messages(request, values["kind"])["reason"]
    if spec is None or errors:
        return _form_page(request, issuer, values, status_code=422, errors=errors, revising=found)
    services = request.app.state.services
    try:
        services.write(
            actor,
            lambda: services.ledger.revise_achievement(achievement_id, spec, reason=reason),
        )
    except StudyLoadTooLow:
        errors, hint = _refusal(request, issuer)
        return _form_page(
            request, issuer, values, status_code=422, errors=errors, refusal=hint, revising=found
        )
    return RedirectResponse(f"/console/achievements/{achievement_id}?done=revised", 303)
