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
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

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
    VerifiedProof,
    verify_proof_set,
)
from ledger.standards.dataintegrity.loader import CREDENTIALS_V1_URL, CREDENTIALS_V2_URL
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
        first = contexts[0] if isinstance(contexts, list) and contexts else None
        if first not in (CREDENTIALS_V2_URL, CREDENTIALS_V1_URL):
            problems.append(
                f"@context must be a list starting with {CREDENTIALS_V2_URL} (VC 2.0) "
                f"or {CREDENTIALS_V1_URL} (VC 1.1)"
            )
        if not isinstance(types, list) or "VerifiableCredential" not in types:
            problems.append("type must be a list including VerifiableCredential")
        if issuer is None:
            problems.append("issuer (or issuer.id) must be a URL")
        if not isinstance(document.get("credentialSubject"), dict | list):
            problems.append("credentialSubject is missing")
        identifier = document.get("id")
        if identifier is not None and (not isinstance(identifier, str) or ":" not in identifier):
            # VC 2.0 4.4: "If present, the value of the id property MUST be a single URL".
            problems.append(f"id {identifier!r} is not a URL")
        if problems:
            return Check(
                "structure", Outcome.FAILED, "; ".join(problems), ErrorCode.MALFORMED_VALUE_ERROR
            )
        if first == CREDENTIALS_V1_URL:
            if _parse_time(document.get("issuanceDate")) is None:
                return Check(
                    "structure",
                    Outcome.FAILED,
                    "a VC 1.1 credential needs an issuanceDate (a dateTime with a time zone)",
                    ErrorCode.MALFORMED_VALUE_ERROR,
                )
            return Check("structure", Outcome.PASSED, "a VC 1.1 credential")
        return Check("structure", Outcome.PASSED, "a VC 2.0 credential")

    def _verify_signed(
        self, document: dict[str, Any], issuer: str | None
    ) -> tuple[ResolvedKey, datetime | None, list[VerifiedProof]]:
        """Verify every proof (a set or chain); one must be by a key the issuer controls.

        VC Data Integrity 4.6: each proof of a set is verified, and the document is
        verified only if all are. Which proof binds the credential to its issuer is
        VC 2.0's question, not Data Integrity's: at least one must be by a key of
        the issuer's DID (others, e.g. an endorser's, only have to verify).
        """
        resolved_keys: dict[str, ResolvedKey] = {}

        def key_for(method: str) -> Ed25519PublicKey:
            resolved = self.resolver.resolve(method)
            resolved_keys[method] = resolved
            return resolved.public_key

        verified = verify_proof_set(
            document, key_for=key_for, expected_proof_purpose="assertionMethod"
        )
        for proof in verified:
            resolved = resolved_keys[proof.verification_method]
            if issuer is not None and resolved.did == issuer:
                return resolved, _parse_time(proof.created), verified
        methods = ", ".join(p.verification_method for p in verified)
        raise KeyResolutionError(f"no proof is by a key the issuer {issuer!r} controls ({methods})")

    def _proof(
        self, document: dict[str, Any], issuer: str | None
    ) -> tuple[Check, ResolvedKey | None, datetime | None]:
        try:
            resolved, created, verified = self._verify_signed(document, issuer)
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
        suites = ", ".join(sorted({p.cryptosuite for p in verified}))
        many = f"; all {len(verified)} proofs of the set verified" if len(verified) > 1 else ""
        return (
            Check(
                "proof", Outcome.PASSED, f"{suites} by {resolved.method} ({resolved.source}){many}"
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
        # VC 1.1 names the period issuanceDate / expirationDate, VC 2.0 validFrom / validUntil.
        contexts = document.get("@context")
        v1 = isinstance(contexts, list) and bool(contexts) and contexts[0] == CREDENTIALS_V1_URL
        start, end = ("issuanceDate", "expirationDate") if v1 else ("validFrom", "validUntil")
        for name in (start, end):
            if name in document and _parse_time(document[name]) is None:
                return f"{name} is not a dateTime with a time zone"
        valid_from = _parse_time(document.get(start))
        valid_until = _parse_time(document.get(end))
        if valid_from is not None and now + skew < valid_from:
            return f"not yet valid ({start} {document[start]})"
        if valid_until is not None and now >= valid_until:
            return f"expired ({end} {document[end]})"
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
            kind = entry.get("type") if isinstance(entry, dict) else None
            if kind not in LIST_TYPES:
                # VC 2.0 4.10: a verifier checks the status methods it knows; others are reported.
                checks.append(
                    Check(
                        name, Outcome.SKIPPED, f"status type {kind!r} is not one this checker reads"
                    )
                )
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
        entry_type = str(entry.get("type"))
        self._verify_list(listed, url, issuer, now, entry_type)
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
            bits = Bitstring.decode(
                encoded_list, policy=self._decode_policy(entry_type), status_size=size
            )
        except StatusListTooShortError as error:
            raise StatusError(ErrorCode.STATUS_LIST_LENGTH_ERROR, str(error)) from None
        except (StatusListDecodeError, ValueError) as error:
            raise StatusError(ErrorCode.MALFORMED_VALUE_ERROR, f"encodedList: {error}") from None
        tolerated.extend(
            d.value
            for d in bits.deviations
            if not (
                entry_type != "BitstringStatusListEntry"
                and d is DecodeDeviation.MISSING_MULTIBASE_PREFIX
            )
        )
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
        list_issuer = _issuer_id(listed)
        if list_issuer != issuer:
            detail += f"; the list is issued by {list_issuer!r}, not the credential's issuer"
        return value != 0, tolerated, detail

    def _decode_policy(self, entry_type: str) -> DecodePolicy:
        """StatusList2021 lists carry plain base64url (that draft had no multibase prefix)."""
        if entry_type == "BitstringStatusListEntry":
            return self.policy.decode
        return replace(self.policy.decode, allow_missing_prefix=True)

    def _verify_list(
        self,
        listed: dict[str, Any],
        url: str,
        issuer: str | None,
        now: datetime,
        entry_type: str = "BitstringStatusListEntry",
    ) -> None:
        types = listed.get("type")
        wanted = LIST_TYPES[entry_type]
        if not isinstance(types, list) or wanted[0] not in types:
            raise StatusError(ErrorCode.STATUS_VERIFICATION_ERROR, f"{url} is not a {wanted[0]}")
        subject = listed.get("credentialSubject")
        if isinstance(subject, dict) and subject.get("type") != wanted[1]:
            raise StatusError(
                ErrorCode.STATUS_VERIFICATION_ERROR,
                f"{url}: the list's credentialSubject is not a {wanted[1]}",
            )
        # No refusal when the list's id differs from the URL it was fetched from:
        # Bitstring Status List 2.2 says the list "MAY express an id property that
        # matches" statusListCredential, not that a verifier must refuse otherwise.
        # A list issued by someone other than the credential's issuer is reported in
        # the detail, not refused: Bitstring Status List 3.2 validates the list
        # credential and its proof, and has no rule that the two issuers match (the
        # credential's issuer chose, and signed, the list's URL).
        list_issuer = _issuer_id(listed)
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


#: Status entry type -> (list credential type, list type) it points at. StatusList2021
#: is the W3C CCG draft Bitstring Status List replaced; wallets still hold it.
LIST_TYPES = {
    "BitstringStatusListEntry": ("BitstringStatusListCredential", "BitstringStatusList"),
    "StatusList2021Entry": ("StatusList2021Credential", "StatusList2021"),
}

#: A status list index has at most this many digits (lists hold far fewer entries).
MAX_INDEX_DIGITS = 12


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
    # ASCII digits only ("²".isdigit() is true) and few enough for any list's length.
    if (
        not isinstance(raw_index, str)
        or not raw_index.isascii()
        or not raw_index.isdigit()
        or len(raw_index) > MAX_INDEX_DIGITS
    ):
        raise StatusError(
            ErrorCode.MALFORMED_VALUE_ERROR,
            f"statusListIndex {raw_index!r} is not a non-negative integer string",
        )
    if isinstance(raw_size, bool) or not isinstance(raw_size, int) or raw_size < 1:
        raise StatusError(
            ErrorCode.MALFORMED_VALUE_ERROR, f"statusSize {raw_size!r} is not a positive integer"
        )
    return int(raw_index), raw_size
