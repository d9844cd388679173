"""The W3C error types a credential check reports, as one enumeration.

Verifiable Credentials Data Model 2.0 (section 7.1, validation and proof errors),
Data Integrity 1.0 (section 2.1, proof errors) and Bitstring Status List 1.0 (section
3.2, status errors) name the failures a verifier reports; the checker's report
carries them in each check's ``error``. Values are the specifications' names, so
the report's JSON is unchanged by using the enumeration.
"""

from __future__ import annotations

import enum


class ErrorCode(enum.StrEnum):
    """A W3C-defined error type."""

    # Data Integrity 1.0
    PROOF_GENERATION_ERROR = "PROOF_GENERATION_ERROR"
    PROOF_VERIFICATION_ERROR = "PROOF_VERIFICATION_ERROR"
    PROOF_TRANSFORMATION_ERROR = "PROOF_TRANSFORMATION_ERROR"
    MALFORMED_PROOF_ERROR = "MALFORMED_PROOF_ERROR"
    MISMATCHED_PROOF_PURPOSE_ERROR = "MISMATCHED_PROOF_PURPOSE_ERROR"
    INVALID_DOMAIN_ERROR = "INVALID_DOMAIN_ERROR"
    INVALID_CHALLENGE_ERROR = "INVALID_CHALLENGE_ERROR"
    # Verifiable Credentials Data Model 2.0
    VALIDITY_PERIOD_ERROR = "VALIDITY_PERIOD_ERROR"
    # Bitstring Status List 1.0
    STATUS_RETRIEVAL_ERROR = "STATUS_RETRIEVAL_ERROR"
    STATUS_VERIFICATION_ERROR = "STATUS_VERIFICATION_ERROR"
    STATUS_LIST_LENGTH_ERROR = "STATUS_LIST_LENGTH_ERROR"
    RANGE_ERROR = "RANGE_ERROR"
    MALFORMED_VALUE_ERROR = "MALFORMED_VALUE_ERROR"
