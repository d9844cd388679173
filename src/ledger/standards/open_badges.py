"""Open Badges 3.0 ``OpenBadgeCredential`` documents (W3C VC 2.0) of ledger credentials.

The mapping of the EU micro-credential elements follows SURF's OB 3.0 examples
(educredentials/obv3-examples) where they have one: EQF level and quality
assurance are ``alignment`` entries (``ext:EQF``, ``ext:QualityAssurance``; NLQF
as ``ext:NLQF``), ECTS are ``creditsAvailable``, the field of study
``fieldOfStudy``, the language ``inLanguage``, results ``resultDescription`` with
``result``. Elements OB 3.0 has no field for (study load in hours, learning
outcomes, assessment and participation type, awarding body, the study-load
policy, free extensions) use the terms of our bundled context
``LEDGER_EXTENSIONS_V1_URL``, so that the canonicalizer, which refuses undefined
terms, covers every value with the signature.

The document is a pure function of the credential version: same input, same
bytes. Nothing here signs; ``ledger.application.publishing`` does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID, uuid5

from ledger.domain.achievement import AchievementSpec
from ledger.domain.credential import Credential
from ledger.domain.statusallocation import StatusPurpose
from ledger.standards.dataintegrity.loader import (
    CREDENTIALS_V2_URL,
    LEDGER_EXTENSIONS_V1_URL,
    OPEN_BADGES_V3_URL,
)

CONTEXTS = [CREDENTIALS_V2_URL, OPEN_BADGES_V3_URL, LEDGER_EXTENSIONS_V1_URL]
EQF_URL = "https://europa.eu/europass/en/description-eight-eqf-levels"
NLQF_URL = "https://www.nlqf.nl/nlqf-niveaus"


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer as an OB ``Profile``: its DID, name, country and registered identifiers."""

    did: str
    name: str
    country: str
    identifiers: dict[str, str]


@dataclass(frozen=True)
class StatusPointer:
    """Where a credential's bit sits: a status list credential URL and an index."""

    purpose: StatusPurpose
    list_credential: str
    index: int


def xsd_datetime(value: datetime) -> str:
    """An XML Schema dateTime in UTC to the second, the form VC 2.0 examples use."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def document_id(credential_id: UUID, amendments: int) -> str:
    """The id of a credential version: the credential's URN, a derived URN after amendments."""
    if amendments == 0:
        return f"urn:uuid:{credential_id}"
    return f"urn:uuid:{uuid5(credential_id, f'amendment:{amendments}')}"


def identity_salt(issued_event_digest: str) -> str:
    """A per-credential salt, fixed forever by the credential's signed ``Issued`` event.

    Different for every credential (the same learner's hashes do not correlate
    across credentials) and stable (re-export gives the same document).
    """
    return hashlib.sha256(f"ledger:identity-salt:{issued_event_digest}".encode()).hexdigest()[:32]


def learner_identifier(learner_id: UUID) -> str:
    """What the identity hash covers: the learner's pseudonymous ledger id as a URN."""
    return f"urn:uuid:{learner_id}"


def identity_object(learner_id: UUID, *, salt: str | None) -> dict[str, Any]:
    """An OB ``IdentityObject``: hashed and salted unless ``salt`` is None."""
    identifier = learner_identifier(learner_id)
    if salt is None:
        return {
            "type": "IdentityObject",
            "identityType": "identifier",
            "hashed": False,
            "identityHash": identifier,
        }
    digest = hashlib.sha256((identifier + salt).encode("utf-8")).hexdigest()
    return {
        "type": "IdentityObject",
        "identityType": "identifier",
        "hashed": True,
        "identityHash": f"sha256${digest}",
        "salt": salt,
    }


def issuer_profile(profile: IssuerProfile) -> dict[str, Any]:
    """The OB ``Profile`` of the issuer."""
    document: dict[str, Any] = {
        "id": profile.did,
        "type": ["Profile"],
        "name": profile.name,
        "address": {"type": ["Address"], "addressCountryCode": profile.country},
    }
    if profile.identifiers:
        document["otherIdentifier"] = [
            {"type": "IdentifierEntry", "identifier": value, "identifierType": f"ext:{key}"}
            for key, value in sorted(profile.identifiers.items())
        ]
    return document


def _alignment(target_type: str, name: str, code: str, url: str) -> dict[str, Any]:
    return {
        "type": ["Alignment"],
        "targetType": target_type,
        "targetName": name,
        "targetCode": code,
        "targetUrl": url,
    }


def _result_id(achievement_url: str, name: str) -> str:
    return f"{achievement_url}#result-{quote(name, safe='')}"


def achievement(
    spec: AchievementSpec,
    *,
    achievement_url: str,
    revision: int,
    issuer_url: str,
    result_names: list[str],
) -> dict[str, Any]:
    """The OB ``Achievement``, with the EU elements mapped as the module docstring says."""
    document: dict[str, Any] = {
        "id": achievement_url,
        "type": ["Achievement"],
        "achievementType": "MicroCredential" if spec.kind == "microcredential" else "Badge",
        "name": spec.title,
        "description": spec.description,
        "criteria": {"narrative": spec.criteria or spec.description},
        "version": str(revision),
    }
    alignments = []
    if spec.eqf_level is not None:
        code = str(spec.eqf_level)
        alignments.append(_alignment("ext:EQF", f"EQF level {code}", code, EQF_URL))
    if spec.nlqf_level:
        alignments.append(
            _alignment("ext:NLQF", f"NLQF level {spec.nlqf_level}", spec.nlqf_level, NLQF_URL)
        )
    if spec.quality_assurance:
        alignments.append(
            _alignment(
                "ext:QualityAssurance", spec.quality_assurance, "quality-assurance", issuer_url
            )
        )
    if alignments:
        document["alignment"] = alignments
    if spec.ects > 0:
        document["creditsAvailable"] = float(spec.ects)
    optional: dict[str, Any] = {
        "fieldOfStudy": spec.field_of_study,
        "inLanguage": spec.language,
        "studyLoad": spec.study_load_hours or None,
        "learningOutcome": list(spec.learning_outcomes) or None,
        "assessmentType": spec.assessment_type,
        "participationType": spec.participation_form,
        "awardingBody": spec.awarding_body,
        "achievementExtensions": dict(sorted(spec.extensions.items())) or None,
    }
    document.update({key: value for key, value in optional.items() if value})
    if result_names:
        document["resultDescription"] = [
            {
                "id": _result_id(achievement_url, name),
                "type": ["ResultDescription"],
                "name": name,
                "resultType": "Result",
            }
            for name in result_names
        ]
    return document


def open_badge_credential(
    credential: Credential,
    *,
    spec: AchievementSpec,
    issuer: IssuerProfile,
    public_url: str,
    awarded_at: datetime,
    salt: str | None,
    status: list[StatusPointer],
) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential`` of a credential as it stands now."""
    achievement_url = (
        f"{public_url}/v1/achievements/{credential.achievement_id}"
        f"/revisions/{credential.achievement_revision}"
    )
    result_names = sorted(credential.result)
    subject: dict[str, Any] = {
        "type": ["AchievementSubject"],
        "identifier": [identity_object(credential.learner_id, salt=salt)],
        "achievement": achievement(
            spec,
            achievement_url=achievement_url,
            revision=credential.achievement_revision,
            issuer_url=public_url,
            result_names=result_names,
        ),
    }
    if result_names:
        subject["result"] = [
            {
                "type": ["Result"],
                "resultDescription": _result_id(achievement_url, name),
                "value": credential.result[name],
            }
            for name in result_names
        ]
    if spec.ects > 0:
        subject["creditsEarned"] = float(spec.ects)
    document: dict[str, Any] = {
        "@context": list(CONTEXTS),
        "id": document_id(credential.id, credential.amendments),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": spec.title,
        "issuer": issuer_profile(issuer),
        "validFrom": xsd_datetime(credential.valid_from),
        "awardedDate": xsd_datetime(awarded_at),
        "credentialSubject": subject,
        "credentialStatus": [
            {
                "id": f"{pointer.list_credential}#{pointer.index}",
                "type": "BitstringStatusListEntry",
                "statusPurpose": pointer.purpose,
                "statusListIndex": str(pointer.index),
                "statusListCredential": pointer.list_credential,
            }
            for pointer in status
        ],
    }
    if credential.valid_until is not None:
        document["validUntil"] = xsd_datetime(credential.valid_until)
    if credential.amendments:
        document["credentialVersion"] = credential.amendments + 1
        document["replaces"] = document_id(credential.id, credential.amendments - 1)
    if credential.policy:
        document["studyLoadPolicy"] = credential.policy
    return document


LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def linkedin_add_to_profile_url(document: dict[str, Any], *, cert_url: str) -> str:
    """LinkedIn's "add certification to profile" link for an exported credential.

    ``cert_url`` is the public page a viewer on LinkedIn follows (a share link).
    """
    issuer = document.get("issuer", {})
    awarded = datetime.fromisoformat(str(document.get("awardedDate", document["validFrom"])))
    query = {
        "startTask": "CERTIFICATION_NAME",
        "name": str(document.get("name", "")),
        "organizationName": str(issuer.get("name", "")) if isinstance(issuer, dict) else "",
        "issueYear": str(awarded.year),
        "issueMonth": str(awarded.month),
        "certUrl": cert_url,
        "certId": str(document["id"]),
    }
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(query)}"
