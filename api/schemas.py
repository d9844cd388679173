"""Request and response bodies: separate input and output models, never stored objects."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import Path
from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from ledger.application.ledger import CredentialOrder
from ledger.domain.achievement import AchievementSpec
from ledger.domain.credential import KEEP, Amendment

#: The largest log position or tree size either store can hold (a signed 64-bit integer).
MAX_POSITION = 2**63 - 1
#: A status list's number in its issuer's sequence, as routes take it from the path.
ListNumber = Annotated[int, Path(ge=1, le=1_000_000)]


#: Characters no free text may hold: C0 controls but tab, line feed and carriage return,
#: and DEL. NUL in particular cannot be stored in PostgreSQL text, and a signed event
#: holding one would stop the read side; the others have no place in a credential.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f"
#: The same rule as a pattern, so that the OpenAPI document says it too.
PRINTABLE = f"^[^{CONTROL_CHARACTERS}]*$"

#: Free text, bounded, without control characters: every text field of every body uses
#: one of these, so the rule and the bounds live here once.
Name = Annotated[str, StringConstraints(max_length=200, pattern=PRINTABLE)]
ShortText = Annotated[str, StringConstraints(max_length=500, pattern=PRINTABLE)]
Text = Annotated[str, StringConstraints(max_length=2000, pattern=PRINTABLE)]
LongText = Annotated[str, StringConstraints(max_length=10_000, pattern=PRINTABLE)]

#: The instants a body or query may name: with a time zone, and far enough from the
#: calendar's ends that arithmetic on them (a grace period, a conversion to UTC) cannot
#: overflow.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


def _bounded_instant(value: datetime) -> datetime:
    try:
        instant = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError("the instant lies outside the calendar") from None
    if not EARLIEST <= instant < LATEST:
        raise ValueError(f"the instant must lie between {EARLIEST.date()} and {LATEST.date()}")
    return instant


#: A point in time: ISO 8601 with a time zone (a date alone or a local time is refused,
#: since it would mean a different instant on every server), kept in UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_bounded_instant)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str


class AchievementIn(Strict):
    kind: Literal["microcredential", "edubadge"]
    title: ShortText = Field(min_length=1)
    description: LongText = Field(min_length=1)
    criteria: LongText = ""
    awarding_body: ShortText = ""
    country: Name = ""
    learning_outcomes: list[Text] = Field(default_factory=list, max_length=100)
    study_load_hours: int = Field(default=0, ge=0, le=100_000)
    ects: str = Field(default="0", pattern=r"^\d{1,4}(\.\d{1,2})?$")
    eqf_level: int | None = Field(default=None, ge=1, le=8)
    nlqf_level: Name | None = None
    assessment_type: Literal[
        "", "testing", "application of a skill", "portfolio", "recognition of prior learning"
    ] = ""
    participation_form: Literal[
        "",
        "online",
        "onsite or blended",
        "volunteering",
        "work experience",
        "personalized learning activities",
    ] = ""
    quality_assurance: Text = ""
    language: Name = ""
    field_of_study: ShortText = ""
    # SURF's edubadges conventions (issue 14): value lists as in SURF's JSON Schemas.
    supervision_type: Literal[
        "",
        "unsupervised with no identity verification",
        "supervised with no identity verification",
        "supervised online",
        "onsite with identity verification",
    ] = ""
    identity_checked: bool | None = None
    image: Annotated[str, StringConstraints(max_length=65_536, pattern=PRINTABLE)] = Field(
        default="", description="https:// URL or data:image/ URI"
    )
    assessment_description: Text = ""
    quality_assurance_code: Name = ""
    quality_assurance_url: Text = ""
    quality_assurance_description: Text = ""

    def spec(self) -> AchievementSpec:
        """The typed achievement (the one place HTTP meets the command; its rules check it)."""
        return AchievementSpec.parse({**self.model_dump(), "ects": Decimal(self.ects)})


class RevisionIn(Strict):
    achievement: AchievementIn
    reason: Text = Field(min_length=1)


class Created(BaseModel):
    id: UUID


class RevisionOut(BaseModel):
    revision: int


class CredentialIn(Strict):
    learner_subject: ShortText = Field(min_length=1)
    valid_from: Instant | None = None
    valid_until: Instant | None = None
    result: dict[Name, Text] = Field(default_factory=dict, max_length=50)
    evidence: list[Text] = Field(default_factory=list, max_length=50)

    def order(self) -> CredentialOrder:
        """The typed order of one credential (the one place HTTP meets the command)."""
        return CredentialOrder(
            learner_subject=self.learner_subject,
            valid_from=self.valid_from,
            valid_until=self.valid_until,
            result=self.result,
            evidence=tuple(self.evidence),
        )


class CohortIn(Strict):
    achievement_id: UUID
    credentials: list[CredentialIn] = Field(min_length=1, max_length=20_000)


class IssueIn(Strict):
    achievement_id: UUID
    credential: CredentialIn


class CohortOut(BaseModel):
    credential_ids: list[UUID]


class ReasonIn(Strict):
    reason: Text = Field(min_length=1)


class AmendIn(Strict):
    """Only the fields sent are corrected; each by the rules of issuance (``CredentialIn``).
    ``valid_until: null`` removes the end date; ``result``, ``achievement_revision`` and
    ``evidence`` cannot be null (unsent, they are kept)."""

    reason: Text = Field(min_length=1)
    valid_until: Instant | None = None
    result: dict[Name, Text] | None = Field(default=None, max_length=50)
    achievement_revision: int | None = Field(default=None, ge=1)
    evidence: list[Text] | None = Field(default=None, max_length=50)

    @field_validator("result", "achievement_revision", "evidence", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("may not be null (leave it out to keep it)")
        return value

    def amendment(self) -> Amendment:
        """The typed amendment of the fields sent (the one place HTTP meets the command)."""
        sent = self.model_fields_set
        return Amendment(
            valid_until=self.valid_until if "valid_until" in sent else KEEP,
            result=self.result if "result" in sent else None,
            achievement_revision=self.achievement_revision
            if "achievement_revision" in sent
            else None,
            evidence=tuple(self.evidence) if self.evidence is not None else None,
        )


class KeyOut(BaseModel):
    kid: str


class DecisionIn(Strict):
    approve: bool
    reason: Text = Field(min_length=1)


class ConsentIn(Strict):
    grantee: ShortText = Field(min_length=1)
    credential_ids: list[UUID] = Field(default_factory=list, max_length=1000)
    all_credentials: bool = False
    purpose: Text = Field(min_length=1)
    expires_at: Instant


class ShareLinkIn(Strict):
    credential_ids: list[UUID] = Field(min_length=1, max_length=1000)
    expires_at: Instant | None = None
    shown_name: Name | None = Field(
        default=None,
        min_length=1,
        description="The learner's name as the link's page shows it; leave it out (the "
        "default) to show no name. Kept sealed under the learner's data key.",
    )


class ShareLinkOut(BaseModel):
    id: UUID
    token: str
    url: str


class ClaimIn(Strict):
    institution_id: UUID
    programme: ShortText = Field(min_length=1)
    credential_ids: list[UUID] = Field(min_length=1, max_length=100)
    motivation: LongText = ""


class WithdrawIn(Strict):
    reason: Text = ""


class LookupIn(Strict):
    learner_id: UUID
    credential_id: UUID
    purpose: Text = Field(min_length=1)


class StatusOut(BaseModel):
    credential_id: UUID
    status: Literal["active", "suspended", "revoked", "expired"]


class CredentialView(BaseModel):
    credential_id: str
    issuer_id: str
    issuer_name: str
    achievement_id: str
    achievement_revision: int
    achievement: dict[str, Any]
    state: str
    issued_at: str
    valid_from: str
    valid_until: str | None
    amendments: int
    result: dict[str, Any]
    history: list[dict[str, Any]]


class BackpackOut(BaseModel):
    learner_id: UUID
    credentials: list[CredentialView]
    consents: list[dict[str, Any]]
    share_links: list[dict[str, Any]]
    lookups: list[dict[str, Any]]
    exemption_claims: list[dict[str, Any]]
    erased_at: str | None = Field(
        default=None, description="when the learner's personal data was erased, if it was"
    )


class LookupOut(BaseModel):
    credential_id: UUID
    status: str
    achievement: dict[str, Any]
    result: dict[str, Any]
    issuer_name: str


class Page(BaseModel):
    items: list[dict[str, Any]]
    next: str | None


class LogEvent(BaseModel):
    position: int
    originator_id: UUID
    originator_version: int
    topic: str
    signed_bytes: str
    signature: str
    hash: str
    kid: str
    prev: str
    verified: bool = Field(
        description="the signature, the key's validity and the chain link all check out"
    )
    problem: str | None = Field(default=None, description="why the event does not verify")


class LogPage(BaseModel):
    events: list[LogEvent]
    next_after: int | None


class CheckItem(BaseModel):
    check: str
    outcome: Literal["passed", "failed", "skipped"]
    detail: str
    error: str | None
    tolerated: list[str]


class CheckReportOut(BaseModel):
    verified: bool
    credential_id: str | None
    issuer: str | None
    checked_at: str
    policy: dict[str, Any]
    checks: list[CheckItem]


class LinkedInOut(BaseModel):
    url: str
    cert_url: str
    share_link_id: UUID


class CheckpointOut(BaseModel):
    tree_size: int
    root_hash: str = Field(
        description="hex SHA-256 Merkle root (RFC 9162) of the first tree_size events"
    )
    checkpoint_time: str
    note: str = Field(
        description="the C2SP tlog-checkpoint signed note, signed by the operator key"
    )
    position: int = Field(description="log position of the event that records this checkpoint")


class CheckpointPage(BaseModel):
    checkpoints: list[CheckpointOut]
    next_after: int | None


class InclusionProofOut(BaseModel):
    position: int
    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="hex SHA-256(0x00 || the event's signed bytes)")
    root_hash: str
    proof: list[str] = Field(
        description="hex hashes, from the leaf's sibling upwards (RFC 9162 2.1.3)"
    )


class ConsistencyProofOut(BaseModel):
    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str] = Field(description="hex hashes (RFC 9162 2.1.4)")


# -- the console: institutions, policies, keys, achievements, cohorts (issue 12) ---------

#: An eduID subject as a person typed it: no control characters, no leading space.
Subject = Annotated[
    str, Field(min_length=1, max_length=500, pattern=r"^[^\x00-\x1f\x7f\s][^\x00-\x1f\x7f]*$")
]


class InstitutionIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=500)]
    country: str = Field(pattern=r"^[A-Z]{2}$")
    identifiers: dict[
        Annotated[Name, Field(max_length=32)], Annotated[Text, Field(max_length=200)]
    ] = Field(default_factory=dict, max_length=20)
    homepage: Annotated[Text, Field(max_length=2000)] = ""
    logo_url: Annotated[Text, Field(max_length=2000)] = ""
    administrators: list[Subject] = Field(default_factory=list, max_length=100)


class ProfileIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=500)] | None = None
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    identifiers: (
        dict[Annotated[Name, Field(max_length=32)], Annotated[Text, Field(max_length=200)]] | None
    ) = Field(default=None, max_length=20)
    homepage: Annotated[Text, Field(max_length=2000)] | None = None
    logo_url: Annotated[Text, Field(max_length=2000)] | None = None


class AdministratorIn(Strict):
    subject: Subject


class PolicyIn(Strict):
    policy: str = Field(min_length=1, max_length=200, pattern=r"^[a-z0-9-]+$")
    in_force_from: Instant | None = None
    in_force_until: Instant | None = None


class CompromiseIn(Strict):
    since: Instant
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class CompromiseOut(BaseModel):
    kid: str
    owner: str
    since: str
    replaced_by: str | None
    consequences: dict[str, Any]


class IssuedSearchIn(Strict):
    """Filters of an institution's issued list; the learner's subject travels in a body,
    never in a URL (it is personal data)."""

    learner_subject: Subject | None = None
    achievement_id: UUID | None = None
    state: Literal["active", "suspended", "revoked", "expired"] | None = None
    issued_from: AwareDatetime | None = None
    issued_until: AwareDatetime | None = None
    after: str | None = Field(default=None, max_length=64)
    limit: int = Field(default=100, ge=1, le=500)
