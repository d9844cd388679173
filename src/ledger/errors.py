"""The ledger's error hierarchy.

Every error a caller can meet is a ``LedgerError``; the API maps each subclass to
one RFC 9457 problem type in one place. Persistence errors of the library never
leave the application: they are translated into these.
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base of every error the ledger raises on purpose."""

    #: Stable short name of the kind of error; the API builds its problem type URI from it.
    kind: str = "ledger-error"


class RuleViolation(LedgerError):
    """A command would break a rule of the domain; no event was created."""

    kind = "rule-violation"


class StudyLoadTooLow(RuleViolation):
    """A microcredential's study load is below the policy in force."""

    kind = "study-load-too-low"


class InvalidTransition(RuleViolation):
    """The aggregate is not in a state that allows this command."""

    kind = "invalid-transition"


class CredentialRevoked(InvalidTransition):
    """A revoked credential is final: it cannot be amended, reinstated or claimed with."""

    kind = "credential-revoked"


class InvalidInput(RuleViolation):
    """A value given to a command is malformed or missing."""

    kind = "invalid-input"


class NotFound(LedgerError):
    """The named aggregate does not exist (or the caller may not know it exists)."""

    kind = "not-found"


class Unauthenticated(LedgerError):
    """No valid bearer token was presented."""

    kind = "unauthenticated"


class Forbidden(LedgerError):
    """The acting party may not perform this command."""

    kind = "forbidden"


class Conflict(LedgerError):
    """Another writer changed the same aggregate first, or an idempotency key was reused."""

    kind = "conflict"


class IdempotencyKeyReused(Conflict):
    """The same request id was used before with a different request body."""

    kind = "idempotency-key-reused"


class TamperDetected(LedgerError):
    """A stored event fails its signature, its chain link or its key's validity."""

    kind = "tamper-detected"


class SignatureInvalid(TamperDetected):
    """The Ed25519 signature does not match the event's canonical bytes."""

    kind = "signature-invalid"


class ChainBroken(TamperDetected):
    """An event does not link to the hash of the previous event of its aggregate."""

    kind = "chain-broken"


class UnknownKey(TamperDetected):
    """An event names a signing key that the key registry does not hold."""

    kind = "unknown-key"


class KeyNotValid(TamperDetected):
    """An event was signed by a key outside that key's validity period."""

    kind = "key-not-valid"


class CheckpointMismatch(TamperDetected):
    """The log does not have the Merkle root a signed checkpoint commits to."""

    kind = "checkpoint-mismatch"


class OrderBroken(TamperDetected):
    """The global log order is not what was recorded (positions out of order, repeated)."""

    kind = "order-broken"


class WrongSigner(TamperDetected):
    """An event is signed by a valid key of a party with no authority over its aggregate."""

    kind = "wrong-signer"


class MalformedEvent(TamperDetected):
    """A stored event cannot be decoded into the documented envelope."""

    kind = "malformed-event"


class ConfigurationError(LedgerError):
    """The ledger is configured wrongly (store URL, keys, secrets)."""

    kind = "configuration-error"


class KeyUnavailable(ConfigurationError):
    """A private key needed to sign is not in the configured key store."""

    kind = "key-unavailable"
