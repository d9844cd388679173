"""Typed errors for Data Integrity proofs.

Every failure is a subclass of :class:`DataIntegrityError` so callers can catch
one base class, while tests and audit logs can still tell *what* failed.
Verification never answers with a boolean: a failed check is an exception.
"""

from __future__ import annotations


class DataIntegrityError(Exception):
    """Base class for every error raised by :mod:`ledger.standards.dataintegrity`."""


class UnknownContextError(DataIntegrityError):
    """A JSON-LD context URL is not bundled; we refuse to fetch it.

    Fetching contexts at run time would let whoever controls the URL change
    what a signature means, so only the bundled copies are ever used.
    """

    def __init__(self, url: str) -> None:
        super().__init__(f"JSON-LD context is not bundled and will not be fetched: {url!r}")
        self.url = url


class CanonicalizationError(DataIntegrityError):
    """JSON-LD expansion or RDFC-1.0 canonicalization failed."""


class UnsafeJsonLdError(CanonicalizationError):
    """Safe mode: the document would lose data when converted to RDF.

    Undefined terms, relative ``@type`` values and relative ``@id`` values are
    silently dropped by JSON-LD processing; a signature over such a document
    would not cover what a human reads, so we refuse instead.
    """


class MultibaseError(DataIntegrityError):
    """A multibase / base58btc / multikey value is malformed."""


class KeyResolutionError(DataIntegrityError):
    """A verification method could not be resolved to an Ed25519 public key."""


class ProofGenerationError(DataIntegrityError):
    """Signing inputs are invalid (bad proof options, bad ``created`` value, ...)."""


class ProofVerificationError(DataIntegrityError):
    """Base class of every verification failure."""


class MissingProofError(ProofVerificationError):
    """The document has no ``proof`` (or a proof set we do not support)."""


class ProofTypeError(ProofVerificationError):
    """``type`` is not ``DataIntegrityProof`` or ``cryptosuite`` is not ``eddsa-rdfc-2022``."""


class MalformedProofError(ProofVerificationError):
    """Required proof options are missing or ill-formed (e.g. ``created``)."""


class ProofValueEncodingError(ProofVerificationError):
    """``proofValue`` is not multibase base58btc, or is not a 64-byte signature."""


class ProofContextMismatchError(ProofVerificationError):
    """The proof's ``@context`` is not a prefix of the document's ``@context``."""


class ProofPurposeMismatchError(ProofVerificationError):
    """The proof was made for another purpose than the verifier expects."""


class ProofTransformationError(ProofVerificationError):
    """Canonicalizing the document or proof configuration failed while verifying."""


class ProofUnknownContextError(ProofTransformationError, UnknownContextError):
    """Verification refused: the document references a context we do not bundle."""


class SignatureMismatchError(ProofVerificationError):
    """The Ed25519 signature does not match the canonical document and proof options."""
