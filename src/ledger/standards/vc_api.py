"""The W3C VC API's verifier answers: a credential's or a presentation's verification result.

The VC API (w3c-ccg/vc-api, ``POST /credentials/verify`` and
``POST /presentations/verify``) answers with the checks that passed, warnings
and errors; our ``CredentialChecker`` report is mapped onto that shape and kept
whole under ``report``, so nothing it found is lost. A presentation is verified
when its proof (if it has one) verifies with ``proofPurpose`` ``authentication``
by a key of its ``holder`` and names the verifier's ``challenge`` and ``domain``,
and every credential it holds verifies. A presentation without a proof is
checked credential by credential, with a warning, unless the verifier asked for
a challenge: a challenge can only be answered by a proof.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ledger.errors import LedgerError
from ledger.standards.credential_checker import CheckReport, CredentialChecker, Outcome
from ledger.standards.dataintegrity import KeyResolutionError, ProofVerificationError, verify
from ledger.standards.dataintegrity.loader import CREDENTIALS_V2_URL


def credential_result(report: CheckReport) -> dict[str, Any]:
    """A checker report in the VC API's VerificationResult shape (plus ``verified``)."""
    return {
        "verified": report.verified,
        "checks": [c.name for c in report.checks if c.outcome is Outcome.PASSED],
        "warnings": [
            {"type": "SKIPPED", "title": c.name, "detail": c.detail}
            for c in report.checks
            if c.outcome is Outcome.SKIPPED
        ],
        "errors": [
            {"type": c.error or "VERIFICATION_ERROR", "title": c.name, "detail": c.detail}
            for c in report.checks
            if c.outcome is Outcome.FAILED
        ],
        "report": report.to_json(),
    }


@dataclass
class PresentationResult:
    """What checking a presentation found: its own problems and each credential's report."""

    errors: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    credentials: list[CheckReport] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        """True only if the presentation has no error and every credential verified."""
        return not self.errors and all(r.verified for r in self.credentials)

    def to_json(self) -> dict[str, Any]:
        """The VC API presentation result."""
        return {
            "verified": self.verified,
            "checks": list(self.checks),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
            "credentialResults": [credential_result(r) for r in self.credentials],
        }


def _problem(kind: str, title: str, detail: str) -> dict[str, str]:
    return {"type": kind, "title": title, "detail": detail}


def check_presentation(
    checker: CredentialChecker,
    presentation: dict[str, Any],
    *,
    challenge: str | None = None,
    domain: str | None = None,
    now: datetime | None = None,
) -> PresentationResult:
    """Check a Verifiable Presentation: its structure, its proof, and every credential."""
    result = PresentationResult()
    contexts = presentation.get("@context")
    types = presentation.get("type")
    if not isinstance(contexts, list) or not contexts or contexts[0] != CREDENTIALS_V2_URL:
        result.errors.append(
            _problem(
                "MALFORMED_VALUE_ERROR",
                "structure",
                f"@context must be a list starting with {CREDENTIALS_V2_URL}",
            )
        )
    if not isinstance(types, list | str) or "VerifiablePresentation" not in types:
        result.errors.append(
            _problem(
                "MALFORMED_VALUE_ERROR", "structure", "type must include VerifiablePresentation"
            )
        )
    _check_proof(checker, presentation, challenge, domain, result)
    held = presentation.get("verifiableCredential", [])
    credentials = held if isinstance(held, list) else [held]
    for credential in credentials:
        if not isinstance(credential, dict):
            result.errors.append(
                _problem(
                    "MALFORMED_VALUE_ERROR",
                    "verifiableCredential",
                    "an enveloped or referenced credential cannot be checked; embed it",
                )
            )
            continue
        result.credentials.append(checker.check(credential, now=now))
    if not credentials:
        result.warnings.append(_problem("EMPTY", "verifiableCredential", "no credential held"))
    return result


def _check_proof(
    checker: CredentialChecker,
    presentation: dict[str, Any],
    challenge: str | None,
    domain: str | None,
    result: PresentationResult,
) -> None:
    proof = presentation.get("proof")
    if isinstance(proof, list) and len(proof) == 1:
        proof = proof[0]
    if proof is None:
        if challenge is not None or domain is not None:
            result.errors.append(
                _problem(
                    "PROOF_VERIFICATION_ERROR",
                    "proof",
                    "a challenge or domain was given, but the presentation has no proof",
                )
            )
        else:
            result.warnings.append(
                _problem("NO_PROOF", "proof", "the presentation is not signed by its holder")
            )
        return
    if not isinstance(proof, dict):
        result.errors.append(
            _problem("MALFORMED_PROOF_ERROR", "proof", "one proof object expected")
        )
        return
    for name, wanted in (("challenge", challenge), ("domain", domain)):
        if wanted is not None and proof.get(name) != wanted:
            result.errors.append(
                _problem(
                    "PROOF_VERIFICATION_ERROR",
                    "proof",
                    f"the proof's {name} {proof.get(name)!r} is not the one asked for",
                )
            )
            return
    try:
        method = proof.get("verificationMethod")
        if not isinstance(method, str):
            raise KeyResolutionError("the proof names no verificationMethod")
        resolved = checker.resolver.resolve(method)
        holder = presentation.get("holder")
        holder_id = holder.get("id") if isinstance(holder, dict) else holder
        if holder_id is not None and holder_id != resolved.did:
            raise KeyResolutionError(f"the key {method} is not controlled by the holder")
        single = {**presentation, "proof": proof}
        verify(single, public_key=resolved.public_key, expected_proof_purpose="authentication")
    except (ProofVerificationError, KeyResolutionError, LedgerError) as error:
        result.errors.append(
            _problem("PROOF_VERIFICATION_ERROR", "proof", f"{type(error).__name__}: {error}")
        )
        return
    result.checks.append("proof")
