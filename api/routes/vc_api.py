"""The W3C VC API verifier routes: ``POST /credentials/verify``, ``POST /presentations/verify``.

Verifier software speaks this shape (w3c-ccg/vc-api): the request carries the
credential or presentation and ``options``; the answer is 200 with the checks
that passed when it verifies, and 400 with the same body (its ``errors`` say
why) when it does not, as the W3C test suites for verifiers expect. A body that
is not the request object at all is a 422 problem, like every other route.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

# The same bounds and gate as /v1/credentials/check: checking is costly and public.
from ledger.api.check_limits import check_size
from ledger.api.deps import ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.routes.credentials import CHECKS
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from ledger.standards.credential_checker import CredentialChecker
from ledger.standards.outsider_checking import OutsiderFetcher
from ledger.standards.vc_api import check_presentation, credential_result

router = APIRouter(tags=["VC API"], responses=PROBLEM_RESPONSES)


class VerifyOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    challenge: str | None = Field(default=None, max_length=1000)
    domain: str | None = Field(default=None, max_length=1000)


class VerifyCredentialRequest(BaseModel):
    verifiableCredential: dict[str, Any] = Field(description="a VC 2.0 / OB 3.0 credential")  # noqa: N815 (VC API name)
    options: VerifyOptions = Field(default_factory=VerifyOptions)


class VerifyPresentationRequest(BaseModel):
    verifiablePresentation: dict[str, Any] = Field(  # noqa: N815 (VC API name)
        description="a VC 2.0 Verifiable Presentation embedding the credentials"
    )
    options: VerifyOptions = Field(default_factory=VerifyOptions)


class VerificationResult(BaseModel):
    verified: bool
    checks: list[str]
    warnings: list[dict[str, Any]]
    errors: list[dict[str, Any]]


class CredentialVerificationResult(VerificationResult):
    report: dict[str, Any] = Field(description="the full report of /v1/credentials/check")


class PresentationVerificationResult(VerificationResult):
    credentialResults: list[CredentialVerificationResult]  # noqa: N815 (VC API name)


RESULTS = {
    200: {"description": "verified"},
    400: {"description": "not verified: the body's errors say why"},
}


def _pin_contexts(services: Any, documents: list[Any]) -> None:
    """Another deployment's copy of our context, from a trusted origin, pinned by its bytes."""
    fetcher = OutsiderFetcher.from_settings(services.settings.trusted_origins)
    for document in documents:
        if isinstance(document, dict):
            fetcher.pin_contexts(document)


def _checker(services: Any) -> CredentialChecker:
    return CredentialChecker(
        resolver=services.publisher.resolver, status_lists=services.publisher.fetch_status_list
    )


def _answer(result: dict[str, Any], model: type[BaseModel]) -> Response:
    body = model.model_validate(result).model_dump_json().encode()
    return Response(
        body, status_code=200 if result["verified"] else 400, media_type="application/json"
    )


@router.post(
    "/credentials/verify",
    response_model=CredentialVerificationResult,
    responses=RESULTS,  # type: ignore[arg-type]
)
def verify_credential(body: VerifyCredentialRequest, services: ServicesDep) -> Response:
    """Verify a credential (proof, key validity, validity period, status), VC API shape."""
    check_size(body.verifiableCredential)
    _pin_contexts(services, [body.verifiableCredential])
    report = CHECKS.run(lambda: _checker(services).check(body.verifiableCredential))
    return _answer(credential_result(report), CredentialVerificationResult)


@router.post(
    "/presentations/verify",
    response_model=PresentationVerificationResult,
    responses=RESULTS,  # type: ignore[arg-type]
)
def verify_presentation(body: VerifyPresentationRequest, services: ServicesDep) -> Response:
    """Verify a presentation: the holder's proof (challenge, domain) and every credential."""
    check_size(body.verifiablePresentation)
    held = body.verifiablePresentation.get("verifiableCredential", [])
    _pin_contexts(services, held if isinstance(held, list) else [held])
    result = CHECKS.run(
        lambda: check_presentation(
            _checker(services),
            body.verifiablePresentation,
            challenge=body.options.challenge,
            domain=body.options.domain,
        )
    )
    return _answer(result.to_json(), PresentationVerificationResult)
