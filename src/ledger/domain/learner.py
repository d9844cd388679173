"""Learner: a pseudonymous eduID subject, their consents and share links.

The learner aggregate's id is derived from the eduID pseudonym, so the same
subject always finds the same backpack: by a keyed function the application holds
(``ledger.application.learner_ids``); logs written before that hold the unkeyed
``legacy_learner_id``. A consent lets one grantee look up
named credentials (or all) for one purpose until it expires or is withdrawn;
every lookup made under it is recorded here, where the learner sees it. A share
link is known to the ledger only by the SHA-256 of its secret token.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, utcnow
from ledger.errors import Forbidden, InvalidInput, InvalidTransition, NotFound


def legacy_learner_id(subject: str) -> UUID:
    """The unkeyed learner id of logs written before keyed ids (anyone can compute it).

    Only for subjects whose learner the log already names by it, and for upcasting
    version 1 events; new learners get ``ledger.application.learner_ids`` ids.
    """
    return uuid5(NAMESPACE_URL, f"urn:ledger:learner:{subject}")


@dataclass(frozen=True)
class Consent:
    """One consent grant, as the learner gave it."""

    consent_id: UUID
    grantee: str
    credential_ids: tuple[UUID, ...]
    all_credentials: bool
    purpose: str
    expires_at: datetime
    withdrawn: bool = False

    def live(self, at: datetime) -> bool:
        """Whether the consent can be used at ``at``."""
        return not self.withdrawn and at < self.expires_at

    def covers(self, credential_id: UUID) -> bool:
        """Whether the consent's scope includes a credential."""
        return self.all_credentials or credential_id in self.credential_ids

    def allows_purpose(self, purpose: str) -> bool:
        """Whether a lookup stated for ``purpose`` is the purpose the learner consented to
        (the same words; case and surrounding space aside)."""
        return " ".join(purpose.split()).casefold() == " ".join(self.purpose.split()).casefold()


@dataclass(frozen=True)
class ShareLink:
    """A link a learner handed out, known only by its token's digest."""

    link_id: UUID
    token_digest: str
    credential_ids: tuple[UUID, ...]
    expires_at: datetime | None
    revoked: bool = False
    #: The learner's name as the link's page shows it, sealed under their data key; ""
    #: when the learner chose not to show it; None when they were not asked (links made
    #: before the choice existed, and LinkedIn links).
    sealed_name: str | None = None

    def open_at(self, at: datetime) -> bool:
        """Whether the link still opens at ``at``."""
        return not self.revoked and (self.expires_at is None or at < self.expires_at)


def _require_owned(credential_ids: list[UUID], owned: set[UUID]) -> None:
    """A learner can only consent to or share credentials in their own backpack."""
    foreign = [c for c in credential_ids if c not in owned]
    if foreign:
        # Another learner's (or no) credential: do not confirm that it exists.
        raise NotFound(f"credential {foreign[0]} not found")


#: Marks a subject recorded in clear by a version 1 ``Registered`` event (before sealing).
CLEAR_SUBJECT = "clear:"


class Learner(LedgerAggregate):
    """A learner's own decisions: consents and share links; and their erasure.

    The eduID subject is personal data: the log holds it only sealed under the
    learner's own data key (``ledger.application.privacy``), which erasure destroys. The log
    and every signature stay intact; the subject can no longer be read.
    """

    TOPIC = "ledger/Learner"

    class Registered(LedgerAggregate.Created):
        """Version 2 seals the subject; version 1 recorded it in clear."""

        TOPIC = "ledger/Learner/Registered"
        class_version = 2
        learner_id: UUID
        sealed_subject: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            subject = str(state.pop("subject"))
            state["learner_id"] = str(legacy_learner_id(subject))
            state["sealed_subject"] = CLEAR_SUBJECT + subject

    #: A new learner's data key until the application stores it with the first event
    #: (not part of the learner's state: never in an event).
    unsaved_data_key: bytes | None = None

    @staticmethod
    def create_id(learner_id: UUID, **_: object) -> UUID:
        return learner_id

    @event("Registered")
    def __init__(self, learner_id: UUID, sealed_subject: str) -> None:
        if not sealed_subject:
            raise InvalidInput("subject: an eduID subject is required")
        self.sealed_subject = sealed_subject
        self.erased = False
        self.consents: dict[UUID, Consent] = {}
        self.share_links: dict[UUID, ShareLink] = {}
        self.lookups = 0

    def erase(self, *, reason: str) -> None:
        """Record the erasure of the learner's personal data; their consents and links end."""
        if self.erased:
            raise InvalidTransition(f"learner {self.id} is already erased")
        if not reason.strip():
            raise InvalidInput("reason: say why the learner's data is erased")
        self._erased(reason=reason)

    @event("Erased")
    def _erased(self, reason: str) -> None:
        self.erased = True
        self.consents = {
            cid: Consent(**{**consent.__dict__, "withdrawn": True})
            for cid, consent in self.consents.items()
        }
        self.share_links = {
            lid: ShareLink(**{**link.__dict__, "revoked": True})
            for lid, link in self.share_links.items()
        }

    def _require_present(self) -> None:
        if self.erased:
            raise InvalidTransition(f"learner {self.id} was erased")

    def grant_consent(
        self,
        *,
        consent_id: UUID,
        grantee: str,
        credential_ids: list[UUID],
        all_credentials: bool,
        purpose: str,
        expires_at: datetime,
        owned: set[UUID],
    ) -> None:
        """Let ``grantee`` look up the scoped credentials for ``purpose`` until ``expires_at``."""
        self._require_present()
        if not grantee.strip():
            raise InvalidInput("grantee: required")
        if not purpose.strip():
            raise InvalidInput("purpose: required")
        if expires_at <= utcnow():
            raise InvalidInput("expires_at: must be in the future")
        if all_credentials == bool(credential_ids):
            raise InvalidInput("scope: name credentials or choose all, not both or neither")
        _require_owned(credential_ids, owned)
        if consent_id in self.consents:
            raise InvalidTransition(f"consent {consent_id} already exists")
        self._consent_granted(
            consent_id=consent_id,
            grantee=grantee.strip(),
            credential_ids=list(dict.fromkeys(credential_ids)),
            all_credentials=all_credentials,
            purpose=purpose.strip(),
            expires_at=expires_at,
        )

    @event("ConsentGranted")
    def _consent_granted(
        self,
        consent_id: UUID,
        grantee: str,
        credential_ids: list[UUID],
        all_credentials: bool,
        purpose: str,
        expires_at: datetime,
    ) -> None:
        self.consents[consent_id] = Consent(
            consent_id=consent_id,
            grantee=grantee,
            credential_ids=tuple(credential_ids),
            all_credentials=all_credentials,
            purpose=purpose,
            expires_at=expires_at,
        )

    def withdraw_consent(self, consent_id: UUID) -> None:
        """End a consent now."""
        consent = self._consent(consent_id)
        if consent.withdrawn:
            raise InvalidTransition(f"consent {consent_id} is already withdrawn")
        self._consent_withdrawn(consent_id=consent_id)

    @event("ConsentWithdrawn")
    def _consent_withdrawn(self, consent_id: UUID) -> None:
        old = self.consents[consent_id]
        self.consents[consent_id] = Consent(**{**old.__dict__, "withdrawn": True})

    def _consent(self, consent_id: UUID) -> Consent:
        try:
            return self.consents[consent_id]
        except KeyError:
            raise NotFound(f"consent {consent_id} not found") from None

    def live_consent(self, *, grantee: str, credential_id: UUID, at: datetime) -> Consent:
        """A live consent of ``grantee`` covering a credential, or ``Forbidden``."""
        for consent in self.consents.values():
            if consent.grantee == grantee and consent.live(at) and consent.covers(credential_id):
                return consent
        raise Forbidden(f"no live consent of this learner for {grantee}")

    def record_lookup(self, *, grantee: str, credential_id: UUID, purpose_seen: str) -> bool:
        """Record a register lookup made under a live consent (refused without one).

        A lookup for another purpose than the consent's is recorded as refused, so the
        learner sees the attempt, and answers False: the caller saves the record and
        then refuses the lookup.
        """
        consent = self.live_consent(grantee=grantee, credential_id=credential_id, at=utcnow())
        if not consent.allows_purpose(purpose_seen):
            self._lookup_refused(
                consent_id=consent.consent_id,
                grantee=grantee,
                credential_id=credential_id,
                purpose=purpose_seen,
            )
            return False
        self._looked_up(
            consent_id=consent.consent_id,
            grantee=grantee,
            credential_id=credential_id,
            purpose=purpose_seen,
        )
        return True

    @event("LookedUp")
    def _looked_up(self, consent_id: UUID, grantee: str, credential_id: UUID, purpose: str) -> None:
        self.lookups += 1

    @event("LookupRefused")
    def _lookup_refused(
        self, consent_id: UUID, grantee: str, credential_id: UUID, purpose: str
    ) -> None:
        """A lookup stated for another purpose than the consent's; nothing was shown."""

    def create_share_link(
        self,
        *,
        link_id: UUID,
        token_digest: str,
        credential_ids: list[UUID],
        expires_at: datetime | None,
        owned: set[UUID],
        sealed_name: str | None = None,
    ) -> None:
        """Publish credentials under a secret link until it expires or is revoked.

        ``sealed_name`` is the name the learner chose to show on the link's page,
        sealed under their data key; "" if they chose to show none; None if they
        were not asked.
        """
        self._require_present()
        if not credential_ids:
            raise InvalidInput("credential_ids: share at least one credential")
        _require_owned(credential_ids, owned)
        if expires_at is not None and expires_at <= utcnow():
            raise InvalidInput("expires_at: must be in the future")
        if len(token_digest) != 64:
            raise InvalidInput("token_digest: a hex SHA-256 digest")
        self._share_link_created(
            link_id=link_id,
            token_digest=token_digest,
            credential_ids=list(dict.fromkeys(credential_ids)),
            expires_at=expires_at,
            sealed_name=sealed_name,
        )

    class ShareLinkCreated(LedgerAggregate.Event):
        """Version 2 records the learner's choice of name on the link's page (sealed);
        version 1 links were made before learners had that choice: they show none."""

        class_version = 2
        link_id: UUID
        token_digest: str
        credential_ids: list[UUID]
        expires_at: datetime | None
        sealed_name: str | None

        @staticmethod
        def upcast_v1_v2(state: dict[str, object]) -> None:
            state["sealed_name"] = None

    @event(ShareLinkCreated)
    def _share_link_created(
        self,
        link_id: UUID,
        token_digest: str,
        credential_ids: list[UUID],
        expires_at: datetime | None,
        sealed_name: str | None,
    ) -> None:
        self.share_links[link_id] = ShareLink(
            link_id=link_id,
            token_digest=token_digest,
            credential_ids=tuple(credential_ids),
            expires_at=expires_at,
            sealed_name=sealed_name,
        )

    def revoke_share_link(self, link_id: UUID) -> None:
        """Close a share link now."""
        link = self.share_links.get(link_id)
        if link is None:
            raise NotFound(f"share link {link_id} not found")
        if link.revoked:
            raise InvalidTransition(f"share link {link_id} is already revoked")
        self._share_link_revoked(link_id=link_id)

    @event("ShareLinkRevoked")
    def _share_link_revoked(self, link_id: UUID) -> None:
        old = self.share_links[link_id]
        self.share_links[link_id] = ShareLink(**{**old.__dict__, "revoked": True})
