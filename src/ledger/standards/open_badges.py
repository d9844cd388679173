"""Open Badges 3.0 ``OpenBadgeCredential`` documents (W3C VC 2.0) of ledger credentials.

The EU micro-credential elements are expressed as SURF's edubadges OB 3.0
conventions express them (educredentials/obv3-examples), so that an export
validates against 1EdTech's OB 3.0 JSON Schema and SURF's schemas: the
achievement is also an ``EducredentialAchievement``; EQF and NLQF levels and the
quality-assurance decision (name, code, URL, description) are ``alignment``
entries; the study load is ``ECTS`` and ``timeInvestment`` (hours); assessment,
participation and supervision use SURF's value lists; ``identityChecked``, an
``image`` and ``inLanguage`` are given; BRIN is ``ext:BRIN``. SURF's terms and
our few own ones (learning outcomes, awarding body, the study-load policy,
amendments) come from version 2 of our context, served by the deployment under
its public URL (``ledger_context_url``); version 1 stays bundled and served for
credentials exported before.

Status: ONE ``BitstringStatusListEntry`` (OB 3.0 allows one) with
``statusPurpose`` ``message`` and ``statusSize`` 2: the high bit says revoked,
the low bit suspended (docs/decisions.md, "One status entry").

The document is a pure function of the credential version: same input, same
bytes. Nothing here signs; ``ledger.application.publishing`` does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID, uuid5

from ledger.domain.achievement import AchievementSpec
from ledger.domain.credential import Credential
from ledger.domain.statusallocation import PublishedPurpose
from ledger.standards.dataintegrity.loader import (
    CREDENTIALS_V2_URL,
    OPEN_BADGES_V3_URL,
    ledger_context_url,
)

EQF_URL = "https://europa.eu/europass/en/description-eight-eqf-levels"
NLQF_URL = "https://www.nlqf.nl/nlqf-niveaus"
#: The entry of exports from v2 on: one two-bit ``message`` list per issuer list
#: (the one-bit lists of ``STATUS_PURPOSES`` stay published for older exports).
MESSAGE_PURPOSE: PublishedPurpose = "message"
MESSAGE_STATUS_SIZE = 2
#: value = revoked << 1 | suspended; a revoked credential stays revoked whatever else.
STATUS_MESSAGES = (
    ("0x0", "valid"),
    ("0x1", "suspended"),
    ("0x2", "revoked"),
    ("0x3", "revoked"),
)


def status_value(*, revoked: bool, suspended: bool) -> int:
    """The two-bit value of the message list (see ``STATUS_MESSAGES``)."""
    return (2 if revoked else 0) | (1 if suspended else 0)


def contexts(public_url: str) -> list[str]:
    """The ``@context`` of an export: VC 2.0, OB 3.0 and our v2 context as served here."""
    return [CREDENTIALS_V2_URL, OPEN_BADGES_V3_URL, ledger_context_url(public_url)]


@dataclass(frozen=True)
class IssuerProfile:
    """The issuer as an OB ``Profile``: its DID, name, country and registered identifiers,
    and its homepage and logo when the institution gave them."""

    did: str
    name: str
    country: str
    identifiers: dict[str, str]
    homepage: str = ""
    logo_url: str = ""


@dataclass(frozen=True)
class StatusPointer:
    """Where a credential's bit sits: a status list credential URL and an index."""

    purpose: PublishedPurpose
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
    # OB 3.0 Profile: ``url`` is the homepage, ``image`` an Image object (the logo).
    if profile.homepage:
        document["url"] = profile.homepage
    if profile.logo_url:
        document["image"] = {"id": profile.logo_url, "type": "Image"}
    if profile.identifiers:
        # Registry codes are written as their registries name them: BRIN as ext:BRIN (SURF).
        document["otherIdentifier"] = [
            {"type": "IdentifierEntry", "identifier": value, "identifierType": f"ext:{key.upper()}"}
            for key, value in sorted(profile.identifiers.items())
        ]
    return document


def _alignment(
    target_type: str, name: str, code: str, url: str, description: str = ""
) -> dict[str, Any]:
    found: dict[str, Any] = {
        "type": ["Alignment"],
        "targetType": target_type,
        "targetName": name,
        "targetCode": code,
        "targetUrl": url,
    }
    if description:
        found["targetDescription"] = description
    return found


def achievement_revision_url(public_url: str, achievement_id: UUID, revision: int) -> str:
    """Where an achievement revision resolves (the ``id`` of the OB ``Achievement``)."""
    return f"{public_url}/v1/achievements/{achievement_id}/revisions/{revision}"


def _result_id(achievement_url: str, name: str) -> str:
    return f"{achievement_url}#result-{quote(name, safe='')}"


#: The result every credential without graded results carries: it was completed.
COMPLETION = "Completion"


def _number(value: Decimal) -> int | float:
    """A JSON number that reads the same in every JSON-LD processor (5, not 5.0)."""
    return int(value) if value == value.to_integral_value() else float(value)


def _alignments(spec: AchievementSpec, issuer_url: str) -> list[dict[str, Any]]:
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
                "ext:QualityAssurance",
                spec.quality_assurance,
                spec.quality_assurance_code or "quality-assurance",
                spec.quality_assurance_url or issuer_url,
                spec.quality_assurance_description,
            )
        )
    return alignments


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
        "type": ["Achievement", "EducredentialAchievement"],
        "achievementType": "MicroCredential" if spec.kind == "microcredential" else "Badge",
        "name": spec.title,
        "description": spec.description,
        "criteria": {"narrative": spec.criteria or spec.description},
        "version": str(revision),
    }
    if spec.image:
        document["image"] = {"id": spec.image, "type": "Image"}
    alignments = _alignments(spec, issuer_url)
    if alignments:
        document["alignment"] = alignments
    if spec.ects > 0:
        document["creditsAvailable"] = float(spec.ects)
        document["ECTS"] = _number(spec.ects)
    optional: dict[str, Any] = {
        "fieldOfStudy": spec.field_of_study,
        "inLanguage": spec.language,
        "timeInvestment": spec.study_load_hours or None,
        "learningOutcome": list(spec.learning_outcomes) or None,
        "assessmentType": spec.assessment_type,
        "assessmentDescription": spec.assessment_description,
        "participationType": spec.participation_form,
        "supervisionType": spec.supervision_type,
        "awardingBody": spec.awarding_body,
        "achievementExtensions": dict(sorted(spec.extensions.items())) or None,
    }
    document.update({key: value for key, value in optional.items() if value})
    if spec.identity_checked is not None:
        document["identityChecked"] = spec.identity_checked
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
    else:
        document["resultDescription"] = [
            {
                "id": _result_id(achievement_url, COMPLETION),
                "type": ["ResultDescription"],
                "name": COMPLETION,
                "resultType": "Status",
            }
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
    status: StatusPointer,
) -> dict[str, Any]:
    """The unsigned ``OpenBadgeCredential`` of a credential as it stands now."""
    achievement_url = achievement_revision_url(
        public_url, credential.achievement_id, credential.achievement_revision
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
    else:
        subject["result"] = [
            {
                "type": ["Result"],
                "resultDescription": _result_id(achievement_url, COMPLETION),
                "status": "Completed",
            }
        ]
    if spec.ects > 0:
        subject["creditsEarned"] = float(spec.ects)
    document: dict[str, Any] = {
        "@context": contexts(public_url),
        "id": document_id(credential.id, credential.amendments),
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": spec.title,
        "issuer": issuer_profile(issuer),
        "validFrom": xsd_datetime(credential.valid_from),
        "awardedDate": xsd_datetime(awarded_at),
        "credentialSubject": subject,
        "credentialStatus": {
            "id": f"{status.list_credential}#{status.index}",
            "type": "BitstringStatusListEntry",
            "statusPurpose": status.purpose,
            "statusListIndex": str(status.index),
            "statusListCredential": status.list_credential,
            "statusSize": MESSAGE_STATUS_SIZE,
            "statusMessage": [
                {"status": value, "message": message} for value, message in STATUS_MESSAGES
            ],
        },
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
