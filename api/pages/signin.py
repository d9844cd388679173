"""Sign-in with OpenID Connect (authorization code flow with PKCE), and who is signed in.

Authlib discovers the provider from ``LEDGER_OIDC_ISSUER``, makes the state, the
nonce and the PKCE verifier, keeps them in the session while the browser is away,
and checks all three on return (and the ID token's signature, issuer, audience
and expiry). The ``sub`` claim is the person; the role and issuer scope come from
the claims the bearer-token API reads (``LEDGER_OIDC_ROLE_CLAIM``,
``LEDGER_OIDC_ISSUER_CLAIM``); without a role claim a person is a learner, as
everyone with an eduID is. A subject listed in ``LEDGER_OPERATOR_SUBJECTS`` signs
in as the ledger operator (to the console), and only such a subject can.

Development mode adds a shortcut form (any subject, any role) for demos and local
work; production answers it with 404.
"""

from __future__ import annotations

import time
from typing import Annotated, Any
from uuid import UUID

from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.starlette_client import OAuth
from fastapi import APIRouter, Depends, Form, Request
from ledger.api.pages.rendering import gettext_for, render
from ledger.api.pages.session import ISSUED, PageSettings, check_csrf
from starlette.responses import RedirectResponse, Response

from ledger.application import authorization
from ledger.application.actor import ROLES, Actor
from ledger.errors import NotFound
from ledger.settings import Settings

PROVIDER = "provider"
#: Roles a person may sign in with (operator and system never come from outside).
PERSON_ROLES = tuple(r for r in ROLES if r not in authorization.PRIVILEGED)
HOME_OF_ROLE = {
    "learner": "/backpack",
    "verifier": "/lookup",
    "administrator": "/console",
    "operator": "/console",
    "auditor": "/audit",
}

router = APIRouter(include_in_schema=False)


class SignInRequired(Exception):
    """The page needs a signed-in person (of a role); the handler sends them to sign in."""

    def __init__(self, next_path: str, role: str | None = None) -> None:
        super().__init__(next_path)
        self.next_path = next_path
        self.role = role


def oauth_client(settings: Settings, pages: PageSettings) -> OAuth | None:
    """The OpenID Connect client, if an issuer and a client id are configured."""
    if not (settings.oidc_issuer and pages.client_id):
        return None
    oauth = OAuth()
    oauth.register(
        name=PROVIDER,
        client_id=pages.client_id,
        client_secret=pages.client_secret,
        server_metadata_url=settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration",
        client_kwargs={"scope": "openid", "code_challenge_method": "S256"},
    )
    return oauth


def signed_in(request: Request) -> Actor | None:
    """The person of this browser session, as the actor recorded in what they do."""
    person = request.scope.get("session", {}).get("person")
    if not isinstance(person, dict):
        return None
    issuer = person.get("issuer")
    return Actor(
        subject=person["sub"],
        role=person["role"],
        authenticated_by=person["via"],
        issuer_id=UUID(issuer) if issuer else None,
    )


def person_in(*roles: str) -> Any:
    """A dependency giving the signed-in actor of one of ``roles`` (else: to sign-in)."""

    async def dependency(request: Request) -> Actor:
        actor = signed_in(request)
        if actor is None or not authorization.has_role(actor, *roles):
            raise SignInRequired(request.url.path, roles[0])
        return actor

    return Depends(dependency)


def _safe_next(value: str | None) -> str:
    """Only a path on this site (no open redirect to another one)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _start_session(request: Request, person: dict[str, Any]) -> None:
    """A new session for a new sign-in: nothing of the one before carries over."""
    session = request.scope["session"]
    session.clear()
    session["person"] = person
    session[ISSUED] = int(time.time())


def _role_and_scope(
    settings: Settings, claims: dict[str, Any], subject: str
) -> tuple[str, str | None] | None:
    """The role and issuer scope a signed-in person acts in (None: no role we know).

    The operator role is never taken from a claim: a person signs in as the operator
    exactly when their subject is listed in ``LEDGER_OPERATOR_SUBJECTS`` (the list the
    API checks an operator token against), whatever role claim they carry.
    """
    if subject in settings.operator_subjects:
        return "operator", None
    role = claims.get(settings.role_claim, "learner")
    if role not in PERSON_ROLES:
        return None
    scope = claims.get(settings.issuer_claim)
    if scope is not None:
        try:
            scope = str(UUID(str(scope)))
        except ValueError:
            return None
    if role == "administrator" and scope is None:
        return None
    return role, scope


@router.get("/signin")
def signin_page(
    request: Request,
    next: str | None = None,
    subject: str = "",
    role: str = "learner",
    issuer: str = "",
) -> Response:
    """Where a person signs in: with the provider, or (development) the shortcut, which
    ``?subject=&role=&issuer=`` fill in (the demo prints such links for its people)."""
    services = request.app.state.services
    return render(
        request,
        "signin.html",
        next_path=_safe_next(next),
        provider=request.app.state.oauth is not None,
        development=services.settings.development,
        roles=PERSON_ROLES,
        subject=subject[:200],
        chosen_role=role,
        issuer=issuer[:36],
        error=None,
    )


@router.get("/signin/start")
async def signin_start(request: Request, next: str | None = None) -> Response:
    """Off to the provider, with state, nonce and a PKCE challenge."""
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFound("no OpenID Connect provider is configured")
    request.session["next"] = _safe_next(next)
    redirect_uri = request.app.state.services.settings.public_url + "/signin/callback"
    response: Response = await oauth.create_client(PROVIDER).authorize_redirect(
        request, redirect_uri
    )
    return response


@router.get("/signin/callback")
async def signin_callback(request: Request) -> Response:
    """Back from the provider: check state, nonce and the ID token; start the session."""
    oauth: OAuth | None = request.app.state.oauth
    if oauth is None:
        raise NotFound("no OpenID Connect provider is configured")
    _ = gettext_for(request)
    try:
        token = await oauth.create_client(PROVIDER).authorize_access_token(request)
    except OAuthError:
        return _signin_failed(request, _("Signing in did not work. Please try again."))
    claims = token.get("userinfo") or {}
    settings = request.app.state.services.settings
    found = _role_and_scope(settings, claims, str(claims.get("sub", "")))
    if not claims.get("sub") or found is None:
        return _signin_failed(request, _("Your account has no role this ledger knows."))
    next_path = _safe_next(request.session.get("next"))
    role, scope = found
    _start_session(
        request, {"sub": str(claims["sub"]), "role": role, "issuer": scope, "via": "oidc"}
    )
    return RedirectResponse(_landing(next_path, role), status_code=303)


def _landing(next_path: str, role: str) -> str:
    return next_path if next_path != "/" else HOME_OF_ROLE.get(role, "/")


def _signin_failed(request: Request, message: str) -> Response:
    services = request.app.state.services
    return render(
        request,
        "signin.html",
        status_code=400,
        next_path="/",
        provider=request.app.state.oauth is not None,
        development=services.settings.development,
        roles=PERSON_ROLES,
        subject="",
        chosen_role="learner",
        error=message,
    )


@router.post("/signin/dev")
def signin_dev(
    request: Request,
    subject: Annotated[str, Form(min_length=1, max_length=200)],
    role: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    issuer: Annotated[str, Form(max_length=36)] = "",
    next: Annotated[str, Form(max_length=500)] = "/",
) -> Response:
    """Development only: sign in as anyone, to try the pages without a provider."""
    if not request.app.state.services.settings.development:
        raise NotFound("the development sign-in exists only in development mode")
    check_csrf(request.session, csrf_token)
    settings = request.app.state.services.settings
    claims: dict[str, Any] = {settings.role_claim: role}
    if issuer.strip():
        claims[settings.issuer_claim] = issuer.strip()
    found = _role_and_scope(settings, claims, subject.strip())
    if found is None or "\x00" in subject:
        _ = gettext_for(request)
        return _signin_failed(request, _("Choose a role, and an issuer id for an administrator."))
    _start_session(
        request,
        {"sub": subject.strip(), "role": found[0], "issuer": found[1], "via": "dev-session"},
    )
    return RedirectResponse(_landing(_safe_next(next), found[0]), status_code=303)


@router.post("/signout")
def signout(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    """End the session here (the cookie is emptied and the browser told to drop it)."""
    check_csrf(request.session, csrf_token)
    request.session.clear()
    return RedirectResponse("/", status_code=303)
