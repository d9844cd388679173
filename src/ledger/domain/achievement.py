"""Achievement: what a credential certifies, a microcredential or an edubadge.

A microcredential carries the mandatory elements of the EU Council Recommendation
on micro-credentials (2022); an edubadge (non-formal learning) needs fewer. An
achievement is revised rather than edited: each revision is kept, and a
credential names the revision it was issued under.

The value lists (assessment, participation, supervision) are SURF's, from its
edubadges Open Badges 3.0 conventions (educredentials/obv3-examples), so that
an export validates against SURF's JSON Schemas. Revisions recorded before
those lists (class version 1) are upcast on reading: the old participation
forms map onto SURF's, and a free-text assessment moves to
``assessment_description`` (nothing is guessed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.policy import HOURS_PER_EC, StudyLoadPolicy
from ledger.errors import InvalidInput

Kind = Literal["microcredential", "edubadge"]
KINDS = ("microcredential", "edubadge")
#: SURF's ``assessmentType`` values.
ASSESSMENT_TYPES = (
    "testing",
    "application of a skill",
    "portfolio",
    "recognition of prior learning",
)
#: SURF's ``participationType`` values.
PARTICIPATION_FORMS = (
    "online",
    "onsite or blended",
    "volunteering",
    "work experience",
    "personalized learning activities",
)
#: SURF's ``supervisionType`` values.
SUPERVISION_TYPES = (
    "unsupervised with no identity verification",
    "supervised with no identity verification",
    "supervised online",
    "onsite with identity verification",
)
#: How version-1 records named the participation form, mapped onto SURF's list.
_OLD_PARTICIPATION = {"on-site": "onsite or blended", "blended": "onsite or blended"}
#: An achievement image: an HTTPS URL or an inline image (a data URI).
IMAGE_PREFIXES = ("https://", "data:image/")

#: EU mandatory elements a microcredential must state (beyond learner and issue date).
MICROCREDENTIAL_FIELDS = (
    "title",
    "description",
    "awarding_body",
    "country",
    "learning_outcomes",
    "study_load_hours",
    "ects",
    "eqf_level",
    "assessment_type",
    "participation_form",
    "supervision_type",
    "identity_checked",
    "quality_assurance",
    "quality_assurance_code",
    "quality_assurance_url",
    "language",
    "image",
)
#: An edubadge is SURF's "extracurricular" credential, which needs an image and a language.
EDUBADGE_FIELDS = ("title", "description", "criteria", "image", "language")


@dataclass(frozen=True)
class AchievementSpec:
    """The validated content of one achievement revision."""

    kind: Kind
    title: str
    description: str
    criteria: str = ""
    awarding_body: str = ""
    country: str = ""
    learning_outcomes: tuple[str, ...] = ()
    study_load_hours: int = 0
    ects: Decimal = Decimal(0)
    eqf_level: int | None = None
    nlqf_level: str | None = None
    assessment_type: str = ""
    participation_form: str = ""
    quality_assurance: str = ""
    language: str = ""
    field_of_study: str = ""
    extensions: dict[str, str] = field(default_factory=dict)
    supervision_type: str = ""
    identity_checked: bool | None = None
    image: str = ""
    assessment_description: str = ""
    quality_assurance_code: str = ""
    quality_assurance_url: str = ""
    quality_assurance_description: str = ""

    @classmethod
    def parse(cls, data: dict[str, Any]) -> AchievementSpec:
        """Validate raw input; name the first missing or malformed field."""
        kind = data.get("kind")
        if kind not in KINDS:
            raise InvalidInput(f"kind: must be one of {', '.join(KINDS)}")
        missing = cls.missing(data)
        if missing:
            raise InvalidInput(f"{missing[0]}: required for a {kind}")
        unknown = set(data) - {f for f in cls.__dataclass_fields__}
        if unknown:
            raise InvalidInput(f"{sorted(unknown)[0]}: not an achievement field")
        try:
            spec = cls(
                kind=kind,
                title=_text(data, "title"),
                description=_text(data, "description"),
                criteria=_text(data, "criteria"),
                awarding_body=_text(data, "awarding_body"),
                country=_text(data, "country"),
                learning_outcomes=tuple(_text_list(data, "learning_outcomes")),
                study_load_hours=_integer(data, "study_load_hours"),
                ects=Decimal(str(data.get("ects", 0))),
                eqf_level=_optional_integer(data, "eqf_level"),
                nlqf_level=data.get("nlqf_level"),
                assessment_type=_text(data, "assessment_type"),
                participation_form=_text(data, "participation_form"),
                quality_assurance=_text(data, "quality_assurance"),
                language=_text(data, "language"),
                field_of_study=_text(data, "field_of_study"),
                extensions={str(k): str(v) for k, v in dict(data.get("extensions", {})).items()},
                supervision_type=_text(data, "supervision_type"),
                identity_checked=_optional_bool(data, "identity_checked"),
                image=_text(data, "image"),
                assessment_description=_text(data, "assessment_description"),
                quality_assurance_code=_text(data, "quality_assurance_code"),
                quality_assurance_url=_text(data, "quality_assurance_url"),
                quality_assurance_description=_text(data, "quality_assurance_description"),
            )
        except (InvalidOperation, TypeError, ValueError) as error:
            raise InvalidInput(f"achievement: {error}") from None
        spec.validate()
        return spec

    @staticmethod
    def missing(data: dict[str, Any]) -> list[str]:
        """The mandatory elements of the data's kind that it leaves empty, in their order."""
        required = (
            MICROCREDENTIAL_FIELDS if data.get("kind") == "microcredential" else EDUBADGE_FIELDS
        )
        return [
            name
            for name in required
            if data.get(name) is None
            or (isinstance(data.get(name), str | list | tuple) and not data.get(name))
        ]

    def validate(self) -> None:
        """Rules that hold for every revision, whatever policy is in force."""
        for name, message in self.problems():
            raise InvalidInput(f"{name}: {message}")

    def problems(self) -> Iterator[tuple[str, str]]:
        """Every broken rule as (field, message): a form shows each next to its field."""
        if self.image and not self.image.startswith(IMAGE_PREFIXES):
            yield "image", "an https:// URL or a data:image/ URI"
        for name, allowed in (
            ("assessment_type", ASSESSMENT_TYPES),
            ("participation_form", PARTICIPATION_FORMS),
            ("supervision_type", SUPERVISION_TYPES),
        ):
            value = getattr(self, name)
            if value and value not in allowed:
                yield name, f"one of {', '.join(allowed)}"
        if self.quality_assurance_url and not self.quality_assurance_url.startswith("https://"):
            yield "quality_assurance_url", "an https:// URL of the decision"
        if self.kind != "microcredential":
            return
        if self.eqf_level is None or not 1 <= self.eqf_level <= 8:
            yield "eqf_level", "must be an EQF level from 1 to 8"
        if len(self.country) != 2 or not self.country.isupper():
            yield "country", "an ISO 3166-1 alpha-2 code"
        if self.study_load_hours <= 0 or self.ects <= 0:
            yield "study_load_hours", "a microcredential needs a positive study load"
        elif abs(self.ects * HOURS_PER_EC - self.study_load_hours) > HOURS_PER_EC:
            yield (
                "ects",
                f"{self.ects} EC does not match {self.study_load_hours} h "
                f"({HOURS_PER_EC} h per EC)",
            )

    def check_study_load(self, policy: StudyLoadPolicy) -> None:
        """Refuse a microcredential below the policy's minimum (edubadges have none)."""
        if self.kind == "microcredential":
            policy.check(hours=self.study_load_hours, ects=self.ects)

    def to_record(self) -> dict[str, Any]:
        """The revision's content as recorded in events."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


def _text(data: dict[str, Any], name: str) -> str:
    value = data.get(name, "")
    if not isinstance(value, str):
        raise InvalidInput(f"{name}: must be text")
    return value.strip()


def _text_list(data: dict[str, Any], name: str) -> list[str]:
    value = data.get(name, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value):
        raise InvalidInput(f"{name}: must be a list of non-empty texts")
    return list(value)


def _integer(data: dict[str, Any], name: str) -> int:
    value = data.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"{name}: must be a whole number")
    return value


def _optional_bool(data: dict[str, Any], name: str) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise InvalidInput(f"{name}: must be true or false")
    return value


def upcast_spec_v1(record: dict[str, Any]) -> dict[str, Any]:
    """A version-1 spec record in version-2 terms (SURF's value lists).

    Old participation forms map onto SURF's list; a free-text assessment that
    is not one of SURF's values is kept as ``assessment_description`` and the
    type is left unset, since which of SURF's values it was cannot be known.
    """
    spec = dict(record)
    form = spec.get("participation_form", "")
    spec["participation_form"] = _OLD_PARTICIPATION.get(form, form)
    assessment = spec.get("assessment_type", "")
    if assessment and assessment not in ASSESSMENT_TYPES:
        spec["assessment_description"] = assessment
        spec["assessment_type"] = ""
    return spec


def _optional_integer(data: dict[str, Any], name: str) -> int | None:
    return None if data.get(name) is None else _integer(data, name)


class Achievement(LedgerAggregate):
    """An achievement definition of one issuer, with all its revisions."""

    TOPIC = "ledger/Achievement"

    def signing_authorities(self) -> set[str]:
        return {str(self.issuer_id)}

    @event("Registered")
    def __init__(self, issuer_id: UUID, spec: dict[str, Any], policy: str) -> None:
        self.issuer_id = issuer_id
        self.revisions: dict[int, AchievementSpec] = {1: _spec(spec)}

    @classmethod
    def define(
        cls, *, issuer_id: UUID, spec: AchievementSpec, policy: StudyLoadPolicy
    ) -> Achievement:
        """Register an achievement, refused below the study-load policy in force."""
        spec.check_study_load(policy)
        return cls(issuer_id=issuer_id, spec=spec.to_record(), policy=policy.reference)

    @property
    def revision(self) -> int:
        """The number of the current revision."""
        return max(self.revisions)

    @property
    def current(self) -> AchievementSpec:
        """The content of the current revision."""
        return self.revisions[self.revision]

    def revise(self, spec: AchievementSpec, *, reason: str, policy: StudyLoadPolicy) -> int:
        """Add a revision; returns its number. Earlier revisions stay as they were."""
        if spec.kind != self.current.kind:
            raise InvalidInput("kind: a revision cannot change the kind of achievement")
        if not reason.strip():
            raise InvalidInput("reason: a revision needs a reason")
        spec.check_study_load(policy)
        self._revised(spec=spec.to_record(), reason=reason, policy=policy.reference)
        return self.revision

    @event("Revised")
    def _revised(self, spec: dict[str, Any], reason: str, policy: str) -> None:
        self.revisions[self.revision + 1] = _spec(spec)


def _upcast_state_v1_v2(state: dict[str, Any]) -> None:
    """Upcaster of ``Registered`` and ``Revised``: the spec they carry, in version-2 terms."""
    state["spec"] = upcast_spec_v1(state["spec"])


# Version 2 of both events carries SURF's value lists and the new fields; the
# events are generated by ``@event``, so their version is set here, where the
# envelope reader (``ledger.eventlog.envelope``) looks for it.
for _event_class in (Achievement.Registered, Achievement.Revised):  # type: ignore[attr-defined]
    _event_class.class_version = 2
    _event_class.upcast_v1_v2 = staticmethod(_upcast_state_v1_v2)


def _spec(record: dict[str, Any]) -> AchievementSpec:
    values = dict(record)
    values["learning_outcomes"] = tuple(values.get("learning_outcomes", ()))
    values["ects"] = Decimal(str(values.get("ects", 0)))
    return AchievementSpec(**values)
