"""What the ledger publishes in standard form: signed exports, status list credentials, DIDs.

The glue between the ledger (aggregates, key registry, key store) and the pure
document builders (``openbadges``, ``statuscredential``, ``did``). Documents are
signed on request with the issuer's active key, with ``eddsa-rdfc-2022``;
Ed25519 is deterministic and ``created`` is derived from the data (the time of
the credential version or the status window, moved up to the key's registration
if the key is newer), so a re-export is byte-identical until the key rotates.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from ledger.application import authorization
from ledger.application.ledger import Ledger
from ledger.domain.base import utcnow
from ledger.domain.statusallocation import LIST_PURPOSES
from ledger.errors import KeyUnavailable, NotFound
from ledger.eventlog.canonical_json import parse_datetime
from ledger.eventlog.envelope import open_row
from ledger.settings import Settings
from ledger.standards.dataintegrity import sign
from ledger.standards.dataintegrity.loader import serve_own_context
from ledger.standards.did_documents import DidResolver, issuer_did, method_id
from ledger.standards.open_badges import (
    MESSAGE_PURPOSE,
    IssuerProfile,
    StatusPointer,
    achievement,
    achievement_revision_url,
    contexts,
    identity_salt,
    issuer_profile,
    open_badge_credential,
    xsd_datetime,
)
from ledger.standards.remote_documents import JsonFetcher, RemoteRefused, TrustedOrigins
from ledger.standards.status_list_credential import (
    StatusCredentialCache,
    content_digest,
    status_list_credential,
    status_list_url,
    validity_window,
)

#: ``(issuer id, list number, purpose) -> encodedList`` or None; fed by the read side.
EncodedListSource = Callable[[UUID, int, str], str | None]

_TOPICS_OF_A_VERSION = ("ledger/Credential/Issued", "ledger/Credential/Amended")


def _whole_second(value: datetime) -> datetime:
    """Round up to a whole second, so that ``created`` is never before ``value``."""
    seconds = math.ceil(value.timestamp())
    return datetime.fromtimestamp(seconds, UTC)


class Publisher:
    """Builds and signs the ledger's standard documents, and resolves its DIDs."""

    def __init__(
        self,
        ledger: Ledger,
        *,
        public_url: str,
        encoded_list: EncodedListSource | None = None,
        fetch: JsonFetcher | None = None,
    ) -> None:
        self.ledger = ledger
        self.public_url = public_url.rstrip("/")
        self._encoded_list = encoded_list
        self._fetch = fetch
        self._cache = StatusCredentialCache()
        self.resolver = DidResolver(public_url=self.public_url, keyring=ledger.keyring, fetch=fetch)
        # Our exports name our context at this deployment's URL: the loader must know it.
        self.context_url = serve_own_context(self.public_url)

    def issuer_did(self, issuer_id: UUID) -> str:
        """The issuer's did:web."""
        return issuer_did(self.public_url, issuer_id)

    # -- signing ------------------------------------------------------------------

    def _sign(
        self, issuer_id: UUID, document: dict[str, Any], not_before: datetime
    ) -> dict[str, Any]:
        entry = self.ledger.keyring.active_key(str(issuer_id))
        if entry is None:
            raise KeyUnavailable(f"issuer {issuer_id} has no active signing key")
        created = _whole_second(max(not_before, entry.valid_from))
        return sign(
            document,
            private_key=self.ledger.key_store.private_key(entry.kid),
            verification_method=method_id(self.issuer_did(issuer_id), entry.kid),
            created=xsd_datetime(created),
        )

    # -- credentials --------------------------------------------------------------

    def achievement_revision(self, achievement_id: UUID, revision: int) -> dict[str, Any]:
        """The OB ``Achievement`` of one revision, as the ``id`` URL in exports names it.

        Public: an achievement is what every credential issued under it shows anyway.
        A revision never changes once recorded, so the document is stable.
        """
        try:
            found = self.ledger.achievement(achievement_id)
            spec = found.revisions[revision]
        except (NotFound, KeyError):
            raise NotFound(f"achievement {achievement_id} revision {revision} not found") from None
        issuer = self.ledger.issuer(found.issuer_id)
        document = achievement(
            spec,
            achievement_url=achievement_revision_url(self.public_url, achievement_id, revision),
            revision=revision,
            issuer_url=self.public_url,
            result_names=[],
        )
        creator = issuer_profile(
            IssuerProfile(
                did=self.issuer_did(issuer.id),
                name=issuer.name,
                country=issuer.country,
                identifiers=issuer.identifiers,
                homepage=issuer.homepage,
                logo_url=issuer.logo_url,
            )
        )
        return {"@context": contexts(self.public_url), **document, "creator": creator}

    def export_credential(self, credential_id: UUID) -> dict[str, Any]:
        """The signed ``OpenBadgeCredential`` of a credential's current version.

        Only the credential's learner, an administrator of its issuer or the
        operator may export it; anyone else is told it does not exist.
        """
        try:
            credential = self.ledger.credential(credential_id)
            issuer = self.ledger.issuer(credential.issuer_id)
        except NotFound:
            raise NotFound(f"credential {credential_id} not found") from None
        if not authorization.may_read_credential(self.ledger.acting(), credential, issuer):
            raise NotFound(f"credential {credential_id} not found")
        issued_digest, awarded_at, version_at = self._version_facts(credential_id)
        spec = self.ledger.achievement(credential.achievement_id).revisions[
            credential.achievement_revision
        ]
        document = open_badge_credential(
            credential,
            spec=spec,
            issuer=IssuerProfile(
                did=self.issuer_did(issuer.id),
                name=issuer.name,
                country=issuer.country,
                identifiers=issuer.identifiers,
                homepage=issuer.homepage,
                logo_url=issuer.logo_url,
            ),
            public_url=self.public_url,
            awarded_at=awarded_at,
            salt=identity_salt(issued_digest),
            status=StatusPointer(
                purpose=MESSAGE_PURPOSE,
                list_credential=status_list_url(
                    self.public_url, issuer.id, credential.status_list, MESSAGE_PURPOSE
                ),
                index=credential.status_index,
            ),
        )
        signed = self._sign(issuer.id, document, version_at)
        # OB 3.0's schema wants ``proof`` as an array (a proof set of one).
        signed["proof"] = [signed["proof"]]
        return signed

    def _version_facts(self, credential_id: UUID) -> tuple[str, datetime, datetime]:
        """(digest of the Issued event, issue time, time of the current version)."""
        issued_digest, awarded_at, version_at = "", None, None
        for stored in self.ledger.history(credential_id):
            sealed = open_row(stored)
            if sealed.topic not in _TOPICS_OF_A_VERSION:
                continue
            at = parse_datetime(sealed.timestamp)
            if sealed.topic.endswith("/Issued"):
                issued_digest, awarded_at = sealed.seal.digest, at
            version_at = at
        if awarded_at is None or version_at is None:
            raise NotFound(f"credential {credential_id} was never issued")
        return issued_digest, awarded_at, version_at

    # -- status lists -------------------------------------------------------------

    def status_list_credential(
        self, issuer_id: UUID, list_number: int, purpose: str, *, now: datetime | None = None
    ) -> dict[str, Any] | None:
        """The signed list credential as of ``now`` (None if there is no such list)."""
        if self._encoded_list is None:
            raise RuntimeError("this publisher has no read side for status lists")
        encoded = self._encoded_list(issuer_id, list_number, purpose)
        if encoded is None:
            return None
        valid_from, _ = validity_window(now or utcnow())
        entry = self.ledger.keyring.active_key(str(issuer_id))
        if entry is None:
            raise KeyUnavailable(f"issuer {issuer_id} has no active signing key")
        url = status_list_url(self.public_url, issuer_id, list_number, purpose)
        key = (url, content_digest(encoded), valid_from.isoformat(), entry.kid)

        def build() -> dict[str, Any]:
            document = status_list_credential(
                url=url,
                issuer_did=self.issuer_did(issuer_id),
                purpose=purpose,
                encoded_list=encoded,
                valid_from=valid_from,
            )
            return self._sign(issuer_id, document, valid_from)

        return self._cache.get(key, build)

    def fetch_status_list(self, url: str) -> dict[str, Any]:
        """A status list credential by URL: ours built here, others' only if trusted."""
        own = self._own_status_list(url)
        if own is not None:
            found = self.status_list_credential(*own)
            if found is None:
                raise NotFound(f"no status list at {url}")
            return found
        if self._fetch is None:
            raise RemoteRefused(f"{url} is not this ledger's and no remote fetching is configured")
        return self._fetch(url)

    def _own_status_list(self, url: str) -> tuple[UUID, int, str] | None:
        prefix = f"{self.public_url}/v1/status-lists/"
        if not url.startswith(prefix) or urlsplit(url).query or "#" in url:
            return None
        parts = url[len(prefix) :].split("/")
        if len(parts) != 4 or parts[3] != "credential" or parts[2] not in LIST_PURPOSES:
            return None
        try:
            return UUID(parts[0]), int(parts[1]), parts[2]
        except ValueError:
            return None


def publisher_for(settings: Settings, ledger: Ledger, encoded_list: EncodedListSource) -> Publisher:
    """The publisher these settings describe; remote fetching only from trusted origins."""
    origins = TrustedOrigins(settings.trusted_origins)
    return Publisher(
        ledger,
        public_url=settings.public_url,
        encoded_list=encoded_list,
        fetch=origins.fetcher() if origins.origins else None,
    )
