"""Checking a presented VC 2.0 / Open Badges 3.0 credential, ours or another issuer's.

Every check is run and reported (JSON), none is skipped silently, and the result
is ``verified`` only if no check failed and the proof passed: there is no path
by which an exception or a missing field turns into a success.

The checks, in order:

* ``structure``: VC 2.0 ``@context`` first, ``VerifiableCredential`` type, an issuer;
* ``proof``: the ``eddsa-rdfc-2022`` proof, with a key the method resolves to
  (``ledger.standards.did_documents``), controlled by the credential's issuer;
* ``key-validity``: for this ledger's keys, the key was registered and neither
  retired (after the rotation grace) nor ever compromised when the proof was
  created; other keys have no lifecycle we know of and are taken from their DID;
* ``validity-period``: ``validFrom`` / ``validUntil`` against the clock;
* ``status:<purpose>`` per ``BitstringStatusListEntry``: the validation steps of
  W3C Bitstring Status List v1.0 section 3.2, with its error types
  (``STATUS_RETRIEVAL_ERROR``, ``STATUS_VERIFICATION_ERROR``,
  ``STATUS_LIST_LENGTH_ERROR``, ``RANGE_ERROR``, ``MALFORMED_VALUE_ERROR``),
  including the list credential's own proof, issuer and validity period.

Deviations of lists published elsewhere are tolerated only as ``CheckPolicy``
says (strict by default); each tolerated deviation is named in the report.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from ledger.domain.base import utcnow
from ledger.errors import LedgerError
from ledger.eventlog.keyring import ROTATION_GRACE
from ledger.standards.bitstring_status_list import (
    STRICT,
    Bitstring,
    DecodeDeviation,
    DecodePolicy,
    StatusListDecodeError,
    StatusListIndexError,
    StatusListTooShortError,
)
from ledger.standards.dataintegrity import (
    KeyResolutionError,
    ProofPurposeMismatchError,
    ProofTransformationError,
    ProofVerificationError,
    SignatureMismatchError,
    verify,
)
from ledger.standards.dataintegrity.loader import CREDENTIALS_V2_URL
from ledger.standards.did_documents import DidResolver, ResolvedKey
from ledger.standards.error_codes import ErrorCode

#: Fetches a status list credential by URL; raises on anything it cannot deliver.
StatusListSource = Callable[[str], dict[str, Any]]

PURPOSE_ARRAY = "status-purpose-array"
#: The names ``--tolerate`` / ``?tolerate=`` accept: the decoder's deviations and ours.
TOLERANCES = (*(d.value for d in DecodeDeviation), PURPOSE_ARRAY)


class Outcome(enum.StrEnum):
    """How one check ended."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass
class Check:
    """One line of the report."""

    name: str
    outcome: Outcome
    detail: str
    error: ErrorCode | None = None
    tolerated: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The check as it appears in the report."""
        return {
            "check": self.name,
            "outcome": self.outcome.value,
            "detail": self.detail,
            "error": self.error,
            "tolerated": list(self.tolerated),
        }


@dataclass(frozen=True)
class CheckPolicy:
    """What the checker tolerates in others' documents; strict (the spec) by default."""

    decode: DecodePolicy = STRICT
    allow_purpose_array: bool = False
    clock_skew: timedelta = timedelta(minutes=5)

    @classmethod
    def tolerating(cls, names: Iterable[str]) -> CheckPolicy:
        """A policy tolerating the named deviations (see ``TOLERANCES``)."""
        chosen = set(names)
        unknown = chosen - set(TOLERANCES)
        if unknown:
            raise ValueError(f"unknown tolerance {sorted(unknown)[0]!r}; known: {TOLERANCES}")
        return cls(
            decode=DecodePolicy(
                allow_missing_prefix=DecodeDeviation.MISSING_MULTIBASE_PREFIX in chosen,
                allow_padding=DecodeDeviation.BASE64_PADDING in chosen,
                allow_standard_alphabet=DecodeDeviation.STANDARD_BASE64_ALPHABET in chosen,
                allow_short_list=DecodeDeviation.SHORT_LIST in chosen,
            ),
            allow_purpose_array=PURPOSE_ARRAY in chosen,
        )

    def describe(self) -> dict[str, Any]:
        """The policy as the report states it."""
        tolerated = [d.value for d in DecodeDeviation if self.decode.allows(d)]
        if self.allow_purpose_array:
            tolerated.append(PURPOSE_ARRAY)
        return {
            "name": "strict" if not tolerated else "tolerant",
            "tolerated": tolerated,
            "minimum_status_entries": self.decode.min_entries,
            "clock_skew_seconds": int(self.clock_skew.total_seconds()),
            "key_rotation_grace_seconds": int(ROTATION_GRACE.total_seconds()),
        }


@dataclass
class CheckReport:
    """The outcome of checking one credential."""

    credential_id: str | None
    issuer: str | None
    checked_at: datetime
    policy: dict[str, Any]
    checks: list[Check]

    @property
    def verified(self) -> bool:
        """True only if the proof passed and no check failed."""
        proof_passed = any(c.name == "proof" and c.outcome is Outcome.PASSED for c in self.checks)
        return proof_passed and all(c.outcome is not Outcome.FAILED for c in self.checks)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON."""
        return {
            "verified": self.verified,
            "credential_id": self.credential_id,
            "issuer": self.issuer,
            "checked_at": _xsd(self.checked_at),
            "policy": self.policy,
            "checks": [c.to_json() for c in self.checks],
        }


def _xsd(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _issuer_id(document: dict[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, dict):
        issuer = issuer.get("id")
    return issuer if isinstance(issuer, str) else None


def _proof_error(error: Exception) -> ErrorCode:
    if isinstance(error, KeyResolutionError | SignatureMismatchError):
        return ErrorCode.PROOF_VERIFICATION_ERROR
    if isinstance(error, ProofPurposeMismatchError):
        return ErrorCode.MISMATCHED_PROOF_PURPOSE_ERROR
    if isinstance(error, ProofTransformationError):
        return ErrorCode.PROOF_TRANSFORMATION_ERROR
    return ErrorCode.MALFORMED_PROOF_ERROR


class StatusError(Exception):
    """A status check failed with one of the Bitstring Status List error types."""

    def __init__(self, error: ErrorCode, detail: str) -> None:
        super().__init__(detail)
        self.error = error


class CredentialChecker:
    """Checks presented credentials against a resolver, status lists and a policy."""

    def __init__(
        self,
        *,
        resolver: DidResolver,
        status_lists: StatusListSource,
        policy: CheckPolicy | None = None,
    ) -> None:
        self.resolver = resolver
        self.status_lists = status_lists
        self.policy = policy or CheckPolicy()

    def check(self, document: dict[str, Any], *, now: datetime | None = None) -> CheckReport:
        """Run every check on ``document`` and report each."""
        when = now or utcnow()
        issuer = _issuer_id(document)
        checks = [self._structure(document, issuer)]
        proof_check, resolved, created = self._proof(document, issuer)
        checks.append(proof_check)
        checks.append(self._key_validity(resolved, created, when))
        checks.append(self._validity_period(document, when))
        checks.extend(self._statuses(document, issuer, when))
        identifier = document.get("id")
        return CheckReport(
            credential_id=identifier if isinstance(identifier, str) else None,
            issuer=issuer,
            checked_at=when,
            policy=self.policy.describe(),
            checks=checks,
        )

    # -- the checks ---------------------------------------------------------------

    @staticmethod
    def _structure(document: dict[str, Any], issuer: str | None) -> Check:
        contexts = document.get("@context")
        types = document.get("type")
        problems = []
        if not isinstance(contexts, list) or not contexts or contexts[0] != CREDENTIALS_V2_URL:
            problems.append(f"@context must be a list starting with {CREDENTIALS_V2_URL}")
        if not isinstance(types, list) or "VerifiableCredential" not in types:
            problems.append("type must be a list including VerifiableCredential")
        if issuer is None:
            problems.append("issuer (or issuer.id) must be a URL")
        if not isinstance(document.get("credentialSubject"), dict | list):
            problems.append("credentialSubject is missing")
        if problems:
            return Check(
                "structure", Outcome.FAILED, "; ".join(problems), ErrorCode.MALFORMED_VALUE_ERROR
            )
        return Check("structure", Outcome.PASSED, "a VC 2.0 credential")

    def _verify_signed(
        self, document: dict[str, Any], issuer: str | None
    ) -> tuple[ResolvedKey, datetime | None]:
        """Verify a document's proof with a key its issuer controls (raises on failure)."""
        proof = document.get("proof")
        if isinstance(proof, list) and len(proof) == 1:
            proof = proof[0]  # a proof set of one, as OB 3.0's schema writes it
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        if not isinstance(method, str):
            raise KeyResolutionError("the proof names no verificationMethod")
        resolved = self.resolver.resolve(method)
        if issuer is None or resolved.did != issuer:
            raise KeyResolutionError(f"the key {method} is not controlled by the issuer {issuer!r}")
        verified = verify(
            document, public_key=resolved.public_key, expected_proof_purpose="assertionMethod"
        )
        return resolved, _parse_time(verified.created)

    def _proof(
        self, document: dict[str, Any], issuer: str | None
    ) -> tuple[Check, ResolvedKey | None, datetime | None]:
        try:
            resolved, created = self._verify_signed(document, issuer)
        except (ProofVerificationError, KeyResolutionError, LedgerError) as error:
            code = (
                _proof_error(error)
                if not isinstance(error, LedgerError)
                else ErrorCode.PROOF_VERIFICATION_ERROR
            )
            return (
                Check("proof", Outcome.FAILED, f"{type(error).__name__}: {error}", code),
                None,
                None,
            )
        return (
            Check(
                "proof", Outcome.PASSED, f"eddsa-rdfc-2022 by {resolved.method} ({resolved.source})"
            ),
            resolved,
            created,
        )

    def _key_validity(
        self, resolved: ResolvedKey | None, created: datetime | None, now: datetime
    ) -> Check:
        name = "key-validity"
        if resolved is None:
            return Check(name, Outcome.SKIPPED, "no verified proof, so no key to judge")
        if created is None:
            return Check(
                name,
                Outcome.FAILED,
                "the proof has no 'created' time",
                ErrorCode.MALFORMED_PROOF_ERROR,
            )
        if created > now + self.policy.clock_skew:
            return Check(
                name,
                Outcome.FAILED,
                f"the proof claims to be made in the future ({_xsd(created)})",
                ErrorCode.PROOF_VERIFICATION_ERROR,
            )
        entry = resolved.entry
        if entry is None:
            return Check(
                name,
                Outcome.SKIPPED,
                f"{resolved.source}: no key lifecycle is known beyond the DID itself",
            )
        if entry.compromised_since is not None:
            return Check(
                name,
                Outcome.FAILED,
                f"key {entry.kid} is marked compromised: its proofs are refused "
                "whatever their 'created' (re-export for a fresh proof)",
                ErrorCode.PROOF_VERIFICATION_ERROR,
            )
        problem = entry.invalid_reason(created, retirement_grace=ROTATION_GRACE)
        if problem is not None:
            return Check(
                name,
                Outcome.FAILED,
                f"at proof creation {_xsd(created)}: {problem}",
                ErrorCode.PROOF_VERIFICATION_ERROR,
            )
        return Check(name, Outcome.PASSED, f"key {entry.kid} was valid at {_xsd(created)}")

    def _validity_period(self, document: dict[str, Any], now: datetime) -> Check:
        problem = self._period_problem(document, now)
        if problem is not None:
            return Check(
                "validity-period", Outcome.FAILED, problem, ErrorCode.VALIDITY_PERIOD_ERROR
            )
        return Check("validity-period", Outcome.PASSED, f"valid at {_xsd(now)}")

    def _period_problem(self, document: dict[str, Any], now: datetime) -> str | None:
        skew = self.policy.clock_skew
        for name in ("validFrom", "validUntil"):
            if name in document and _parse_time(document[name]) is None:
                return f"{name} is not a dateTime with a time zone"
        valid_from = _parse_time(document.get("validFrom"))
        valid_until = _parse_time(document.get("validUntil"))
        if valid_from is not None and now + skew < valid_from:
            return f"not yet valid (validFrom {document['validFrom']})"
        if valid_until is not None and now >= valid_until:
            return f"expired (validUntil {document['validUntil']})"
        return None

    def _statuses(self, document: dict[str, Any], issuer: str | None, now: datetime) -> list[Check]:
        entries = document.get("credentialStatus")
        if entries is None:
            return [Check("status", Outcome.SKIPPED, "the credential names no status list")]
        if isinstance(entries, dict):
            entries = [entries]
        if not isinstance(entries, list):
            return [
                Check(
                    "status",
                    Outcome.FAILED,
                    "credentialStatus is malformed",
                    ErrorCode.MALFORMED_VALUE_ERROR,
                )
            ]
        checks = []
        for entry in entries:
            purpose = entry.get("statusPurpose") if isinstance(entry, dict) else None
            name = f"status:{purpose}" if isinstance(purpose, str) else "status"
            if not isinstance(entry, dict) or entry.get("type") != "BitstringStatusListEntry":
                checks.append(Check(name, Outcome.SKIPPED, "not a BitstringStatusListEntry"))
                continue
            try:
                set_bit, tolerated, detail = self._status(entry, issuer, now)
            except StatusError as error:
                checks.append(Check(name, Outcome.FAILED, str(error), error.error))
                continue
            outcome = Outcome.FAILED if set_bit else Outcome.PASSED
            checks.append(Check(name, outcome, detail, None, tolerated))
        return checks

    def _status(
        self, entry: dict[str, Any], issuer: str | None, now: datetime
    ) -> tuple[bool, list[str], str]:
        purpose = entry.get("statusPurpose")
        url = entry.get("statusListCredential")
        if not isinstance(purpose, str) or not isinstance(url, str):
            raise StatusError(
                ErrorCode.MALFORMED_VALUE_ERROR,
                "statusPurpose and statusListCredential are required",
            )
        index, size = _entry_numbers(entry)
        try:
            listed = self.status_lists(url)
        except Exception as error:  # any failure to obtain the list is a retrieval error
            raise StatusError(ErrorCode.STATUS_RETRIEVAL_ERROR, f"{url}: {error}") from None
        self._verify_list(listed, url, issuer, now)
        subject = listed.get("credentialSubject")
        if not isinstance(subject, dict):
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR, "the list credential has no credentialSubject"
            )
        tolerated = self._check_purpose(subject.get("statusPurpose"), purpose)
        encoded_list = subject.get("encodedList")
        if not isinstance(encoded_list, str):
            raise StatusError(ErrorCode.MALFORMED_VALUE_ERROR, "the list has no encodedList string")
        try:
            bits = Bitstring.decode(encoded_list, policy=self.policy.decode, status_size=size)
        except StatusListTooShortError as error:
            raise StatusError(ErrorCode.STATUS_LIST_LENGTH_ERROR, str(error)) from None
        except (StatusListDecodeError, ValueError) as error:
            raise StatusError(ErrorCode.MALFORMED_VALUE_ERROR, f"encodedList: {error}") from None
        tolerated.extend(d.value for d in bits.deviations)
        try:
            value = bits.get_status(index, size)
        except StatusListIndexError as error:
            raise StatusError(ErrorCode.RANGE_ERROR, str(error)) from None
        if size > 1 or purpose == "message":
            message = _status_message(entry, value, size)
            detail = f"status {value:#x} {message!r} (entry {index} of {url})"
            return message.strip().lower() in REFUSING_MESSAGES, tolerated, detail
        state = {"revocation": "revoked", "suspension": "suspended"}.get(purpose, f"{purpose} set")
        detail = (
            f"{state} (bit {index} of {url})" if value else f"not {state} (bit {index} of {url})"
        )
        return value != 0, tolerated, detail

    def _verify_list(
        self, listed: dict[str, Any], url: str, issuer: str | None, now: datetime
    ) -> None:
        types = listed.get("type")
        if not isinstance(types, list) or "BitstringStatusListCredential" not in types:
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR, f"{url} is not a BitstringStatusListCredential"
            )
        if listed.get("id") not in (None, url):
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR, f"{url} serves the list {listed.get('id')!r}"
            )
        list_issuer = _issuer_id(listed)
        if list_issuer != issuer:
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR,
                f"the list is issued by {list_issuer!r}, not by the credential's issuer",
            )
        try:
            self._verify_signed(listed, list_issuer)
        except (ProofVerificationError, KeyResolutionError, LedgerError) as error:
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR,
                f"the list's proof: {type(error).__name__}: {error}",
            ) from None
        problem = self._period_problem(listed, now)
        if problem is not None:
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR, f"the list credential is {problem}"
            )

    def _check_purpose(self, listed: Any, purpose: str) -> list[str]:
        if listed == purpose:
            return []
        if isinstance(listed, list) and purpose in listed:
            if self.policy.allow_purpose_array:
                return [PURPOSE_ARRAY]
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR,
                f"{PURPOSE_ARRAY}: statusPurpose is a list; the policy does not tolerate it",
            )
        raise StatusError(
            ErrorCode.STATUS_VERIFICATION_ERROR,
            f"the list's statusPurpose {listed!r} is not {purpose!r}",
        )


#: Status messages that make a credential fail: the issuer itself says it is not in force.
REFUSING_MESSAGES = frozenset({"revoked", "suspended"})


def _status_message(entry: dict[str, Any], value: int, size: int) -> str:
    """The issuer's message for ``value`` (Bitstring Status List 2.1, ``statusMessage``).

    "If statusSize is provided and is greater than 1, then the property
    credentialStatus.statusMessage MUST be present, and the number of status
    messages must equal the number of possible values": a missing or short list
    is a malformed entry, since the value then has no meaning we may assume.
    """
    messages = entry.get("statusMessage")
    if not isinstance(messages, list) or (size > 1 and len(messages) != 1 << size):
        raise StatusError(
            ErrorCode.MALFORMED_VALUE_ERROR,
            f"statusMessage must list {1 << size} messages for statusSize {size}",
        )
    for item in messages:
        status = item.get("status") if isinstance(item, dict) else None
        message = item.get("message") if isinstance(item, dict) else None
        if not isinstance(status, str) or not isinstance(message, str):
            raise StatusError(
                ErrorCode.MALFORMED_VALUE_ERROR, f"statusMessage entry {item!r} is malformed"
            )
        try:
            number = int(status, 16)
        except ValueError:
            raise StatusError(
                ErrorCode.MALFORMED_VALUE_ERROR,
                f"statusMessage status {status!r} is not hexadecimal",
            ) from None
        if number == value:
            return message
    raise StatusError(
        ErrorCode.MALFORMED_VALUE_ERROR, f"statusMessage has no message for {value:#x}"
    )


def _entry_numbers(entry: dict[str, Any]) -> tuple[int, int]:
    raw_index = entry.get("statusListIndex")
    raw_size = entry.get("statusSize", 1)
    if not isinstance(raw_index, str) or not raw_index.isdigit():
        raise StatusError(
            ErrorCode.MALFORMED_VALUE_ERROR,
            f"statusListIndex {raw_index!r} is not a non-negative integer string",
        )
    if isinstance(raw_size, bool) or not isinstance(raw_size, int) or raw_size < 1:
        raise StatusError(
            ErrorCode.MALFORMED_VALUE_ERROR, f"statusSize {raw_size!r} is not a positive integer"
        )
    return int(raw_index), raw_size
