"""The Ledger application: every command loads, decides, saves signed events.

A thin ``Application`` subclass, like the library's examples: each method loads
aggregates, asks one of them to decide, and saves the new events in one atomic
transaction, signed by the authority the command acts for (the issuer's key for
what an issuer decides, the operator's key for everything else). Library errors
never leave it: a missing aggregate becomes ``NotFound``, a lost optimistic
concurrency race becomes ``Conflict`` (or a retry, where retrying is safe).
"""

from __future__ import annotations

import hashlib
import random
import secrets
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar, TypeVar, cast
from uuid import UUID, uuid4

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.application import (
    AggregateNotFoundError,
    Application,
    ProcessingEvent,
    Repository,
)
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import EventStore, IntegrityError, Recording, StoredEvent
from eventsourcing.utils import get_topic

from ledger.application import authorization
from ledger.application.actor import SYSTEM, Actor, current_actor
from ledger.application.learner_ids import LearnerIds, LegacyLearnerIds
from ledger.application.privacy import LearnerDataKeys, new_data_key, seal, unseal
from ledger.application.status_entries import StatusEntryPool
from ledger.domain.achievement import Achievement, AchievementSpec
from ledger.domain.base import LedgerAggregate, utcnow
from ledger.domain.credential import Amendment, Credential, check_evidence, check_result
from ledger.domain.exemption import ExemptionClaim
from ledger.domain.issuance import IssuanceRequest, issuance_request_id
from ledger.domain.issuer import Issuer
from ledger.domain.keyregistry import KEY_REGISTRY_ID, OPERATOR, KeyRegistry
from ledger.domain.learner import CLEAR_SUBJECT, Learner
from ledger.domain.log_checkpoints import LOG_CHECKPOINTS_ID, LogCheckpoints
from ledger.domain.policy import StudyLoadPolicy, alternatives
from ledger.errors import (
    ConfigurationError,
    Conflict,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    KeyUnavailable,
    NotFound,
    StudyLoadTooLow,
)
from ledger.eventlog.canonical_json import canonical_bytes
from ledger.eventlog.chain import ChainedRepository, project_chained
from ledger.eventlog.keyring import KeyRing
from ledger.eventlog.persistence import StoreConfig, create_private_file, parse_store_url
from ledger.eventlog.signing_keys import SECRET_NAMES, KeyStore, encode_public_key, key_id
from ledger.eventlog.signing_mapper import SealingContext, SignedEventMapper, sealing
from ledger.eventlog.signing_store import SigningEventStore

A = TypeVar("A", bound=LedgerAggregate)
R = TypeVar("R")

#: How often a command that lost an optimistic-concurrency race is re-run.
CONFLICT_RETRIES = 10

#: How long a block reservation of status entries keeps trying (it always makes
#: progress for some writer, so only a pathological pile-up reaches this).
RESERVATION_DEADLINE_SECONDS = 60.0


@dataclass(frozen=True)
class CredentialOrder:
    """One credential to issue: to whom, for how long, with which result."""

    learner_subject: str
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    result: dict[str, str] | None = None
    evidence: tuple[str, ...] = ()


class Ledger(Application[UUID]):
    """The credential ledger's write side."""

    name = "Ledger"
    env: ClassVar[dict[str, str]] = {
        "MAPPER_TOPIC": get_topic(SignedEventMapper),
        "AGGREGATE_CACHE_MAXSIZE": "500",
    }

    def __init__(
        self,
        store: StoreConfig | str,
        *,
        key_store: KeyStore,
        operator_anchor: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.store = parse_store_url(store) if isinstance(store, str) else store
        self.key_store = key_store
        if self.store.sqlite_path is not None:
            create_private_file(self.store.sqlite_path)
        settings = dict(self.store.settings)
        settings.update(env or {})
        super().__init__(env=settings)
        mapper = self.mapper
        if not isinstance(mapper, SignedEventMapper):
            raise ConfigurationError("MAPPER_TOPIC must name the signing mapper")
        self.keyring = KeyRing(self._load_registry_events, operator_anchor=operator_anchor)
        mapper.bind(self.keyring)
        #: The mapper with its signing type (``self.mapper`` is typed as the library's).
        self.signing_mapper: SignedEventMapper = mapper
        self.data_keys = LearnerDataKeys(
            self.recorder.datastore,  # type: ignore[attr-defined]
            kind=self.store.kind,
            kek=lambda: self._secret("data-keys"),
        )
        legacy = LegacyLearnerIds(self.recorder, kind=self.store.kind)
        #: The learner id of an eduID subject (keyed; see ``learner_ids``).
        self.learner_ids = LearnerIds(lambda: self._secret("learner-ids"), legacy)
        if self.factory.env_create_table():  # type: ignore[attr-defined]
            self.data_keys.create_table()
            legacy.create_and_scan()
            self.data_keys.wrap_clear_keys()
        #: Holds a record about to be written on against the history the read side
        #: verified (``record id, loaded version, chain head``); raises if it was cut.
        self.history_check: Callable[[UUID, int, str], None] | None = None
        self.status_entries = StatusEntryPool(self._reserve_status_block)

    def construct_repository(self) -> Repository[UUID]:
        """The library's repository, holding every stored event to its chain and signer."""
        plain = super().construct_repository()
        chained = ChainedRepository(
            event_store=plain.event_store,
            snapshot_store=plain.snapshot_store,
            fastforward=plain.fastforward,
            fastforward_skipping=plain.fastforward_skipping,
            deepcopy_from_cache=plain.deepcopy_from_cache,
        )
        chained.cache = plain.cache
        return chained

    def construct_event_store(self) -> EventStore[UUID]:
        """The library's event store, with large batches signed on every core."""
        return SigningEventStore(mapper=self.mapper, recorder=self.recorder)

    def _secret(self, name: str) -> bytes:
        """A secret of the key store, made on first need unless the store shows it existed.

        The secrets are made together. Wrapped data keys prove that they were made
        before: making new ones then would strand every learner (their keys
        unopenable, their ids changed), so a missing file is refused as a lost key.
        """
        try:
            return self.key_store.secret(name)
        except KeyUnavailable:
            if self.data_keys.any_wrapped():
                raise KeyUnavailable(
                    f"the key directory lacks the {name!r} secret although this store's "
                    "learners depend on it: restore it from the backup of the keys"
                ) from None
            for each in SECRET_NAMES:
                self.key_store.secret(each, create=True)
            return self.key_store.secret(name)

    def _load_registry_events(self, gt: int | None) -> Sequence[StoredEvent]:
        return self.recorder.select_events(KEY_REGISTRY_ID, gt=gt)

    # -- saving -------------------------------------------------------------------

    def save(
        self,
        *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None,
        **kwargs: Any,
    ) -> list[Recording[UUID]]:
        """The library's ``save``, collecting our aggregates' events directly.

        The library tells aggregates from events with ``isinstance`` against
        runtime-checkable protocols, which costs about 100 µs per object on
        Python 3.11 (profiled: 1.5 s of a 10,000-credential save, as much as
        preparing all their canonical bytes). Our aggregates are known; anything
        else takes the library's path.
        """
        if kwargs or not all(isinstance(obj, LedgerAggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in cast(Sequence[LedgerAggregate], objs):
            processing_event.events.extend(obj.collect_events())
            processing_event.aggregates[obj.id] = obj
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _save(
        self, *aggregates: LedgerAggregate, authority: str = OPERATOR
    ) -> list[Recording[UUID]]:
        """Save pending events atomically, signed by ``authority``'s active key."""
        for aggregate in aggregates:
            if isinstance(aggregate, Learner) and aggregate.unsaved_data_key is not None:
                key = aggregate.unsaved_data_key
                if self.data_keys.key_for_new(aggregate.id, key) != key:
                    raise Conflict("another request registered this learner first; try again")
                aggregate.unsaved_data_key = None
        if self.history_check is not None:
            for aggregate in aggregates:
                loaded = aggregate.version - len(aggregate.pending_events)
                head = aggregate.chain_head
                if loaded > 0 and head is not None:
                    self.history_check(aggregate.id, loaded, head)
        kid, private_key = self._signing_key(authority)
        actor = self.learner_ids.resolve(current_actor() or SYSTEM)
        context = SealingContext(
            kid=kid,
            private_key=private_key,
            actor=actor.to_json(),
            heads={a.id: a.chain_head for a in aggregates if a.chain_head is not None},
        )
        try:
            with sealing(context):
                recordings = self.save(
                    *cast(Sequence[MutableOrImmutableAggregate[UUID]], aggregates)
                )
        except IntegrityError as error:
            raise Conflict("another writer changed the same record first; try again") from error
        for aggregate in aggregates:
            aggregate.record_chain_head(context.heads[aggregate.id])
        if any(isinstance(aggregate, KeyRegistry) for aggregate in aggregates):
            self.keyring.refresh()
        return recordings

    def _signing_key(self, authority: str) -> tuple[str, Ed25519PrivateKey]:
        entry = self.keyring.active_key(authority)
        if entry is None:
            self.keyring.refresh()
            entry = self.keyring.active_key(authority)
        if entry is None:
            raise KeyUnavailable(f"{authority} has no active signing key; run `ledger init`")
        return entry.kid, self.key_store.private_key(entry.kid)

    def _retrying(self, command: Callable[[], R]) -> R:
        """Run a command again when it lost a concurrency race (it reloads each time)."""
        for attempt in range(1, CONFLICT_RETRIES):
            try:
                return command()
            except IdempotencyKeyReused:
                raise
            except Conflict:
                # Exponential backoff with full jitter, so that writers who collided do
                # not collide again in step, even on a loaded machine where one
                # load-sign-save cycle takes tens of milliseconds.
                time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311
        return command()

    def _reserve_status_block(self, issuer_id: UUID, count: int) -> list[tuple[int, int]]:
        """Reserve ``count`` status entries on the issuer in a transaction of their own.

        Only block reservations write to the issuer on the issuance path; a lost race
        is retried here (with jitter, until a generous deadline) and never reaches
        the caller, since reserving again is always safe.
        """
        deadline = time.monotonic() + RESERVATION_DEADLINE_SECONDS
        attempt = 0
        while True:
            issuer = self.issuer(issuer_id)
            entries = issuer.reserve_status_entries(count)
            try:
                self._save(issuer, authority=str(issuer_id))
                return entries
            except Conflict:
                attempt += 1
                if time.monotonic() > deadline:
                    raise
                time.sleep(random.uniform(0, min(0.2, 0.002 * 2**attempt)))  # noqa: S311

    # -- loading ------------------------------------------------------------------

    def _get(self, cls: type[A], aggregate_id: UUID, *, what: str, version: int | None = None) -> A:
        try:
            aggregate: object = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            raise NotFound(f"{what} {aggregate_id} not found") from None
        if not isinstance(aggregate, cls):
            raise NotFound(f"{what} {aggregate_id} not found")
        return aggregate

    def issuer(self, issuer_id: UUID) -> Issuer:
        """The issuer as it is now."""
        return self._get(Issuer, issuer_id, what="issuer")

    def achievement(self, achievement_id: UUID) -> Achievement:
        """The achievement with all its revisions."""
        return self._get(Achievement, achievement_id, what="achievement")

    def credential(self, credential_id: UUID, *, version: int | None = None) -> Credential:
        """The credential as it is now, or as it was at ``version``."""
        return self._get(Credential, credential_id, what="credential", version=version)

    def learner(self, learner_id: UUID) -> Learner:
        """The learner's consents and share links."""
        return self._get(Learner, learner_id, what="learner")

    def exemption_claim(self, claim_id: UUID) -> ExemptionClaim:
        """One exemption claim."""
        return self._get(ExemptionClaim, claim_id, what="exemption claim")

    def key_registry(self) -> KeyRegistry:
        """Every registered public key with its validity."""
        return self._get(KeyRegistry, KEY_REGISTRY_ID, what="key registry")

    def history(self, aggregate_id: UUID) -> list[StoredEvent]:
        """The stored (signed) events of one aggregate, each checked before it is returned."""
        stored = self.recorder.select_events(aggregate_id)
        if not stored:
            raise NotFound(f"nothing recorded for {aggregate_id}")
        project_chained(None, map(self.mapper.to_domain_event, stored))
        return list(stored)

    # -- authorisation ------------------------------------------------------------

    # Every decision is ledger.application.authorization's; these apply it to the actor.

    def acting(self) -> Actor:
        """The acting party (``authorization.acting``), a learner with their learner id."""
        return self.learner_ids.resolve(authorization.acting())

    def _actor(self) -> Actor:
        return self.acting()

    def _require_operator(self) -> None:
        authorization.require_operator(self._actor())

    def _require_administrator(self, issuer: Issuer, *, hidden: str | None = None) -> None:
        authorization.require_administrator(self._actor(), issuer, hidden=hidden)

    def _require_learner(self, learner_id: UUID, *, hidden: str | None = None) -> None:
        authorization.require_learner(self._actor(), learner_id, hidden=hidden)

    def administered_issuer(self, issuer_id: UUID) -> Issuer:
        """The issuer named by a request, for an administrator of it (reads and writes)."""
        return authorization.require_own_issuer(self._actor(), issuer_id, self.issuer)

    # -- keys and issuers ---------------------------------------------------------

    def establish(self) -> str:
        """Create the operator key and the key registry; returns the operator key id.

        Also makes the key store's secrets (keyed learner ids, the key-encryption key of
        data keys), so that ``ledger init`` leaves a key directory complete for backup.
        """
        self._require_operator()
        for name in SECRET_NAMES:
            self._secret(name)
        if self.keyring.registry is None:
            self.keyring.refresh()
        if self.keyring.registry is not None:
            raise Conflict("the ledger is already established")
        private_key = Ed25519PrivateKey.generate()
        kid = self.key_store.add(private_key)
        registry = KeyRegistry(
            operator_kid=kid,
            operator_public_key=encode_public_key(private_key.public_key()),
            valid_from=utcnow(),
        )
        actor = self._actor()
        context = SealingContext(kid=kid, private_key=private_key, actor=actor.to_json())
        with sealing(context):
            try:
                self.save(registry)
            except IntegrityError as error:
                raise Conflict("the ledger is already established") from error
        self.keyring.refresh()
        return kid

    @property
    def operator_kid(self) -> str:
        """The operator's active key id."""
        entry = self.keyring.active_key(OPERATOR)
        if entry is None:
            raise KeyUnavailable("the ledger has no operator key; run `ledger init`")
        return entry.kid

    def _new_key(self, registry: KeyRegistry, owner: str) -> str:
        private_key = Ed25519PrivateKey.generate()
        public = encode_public_key(private_key.public_key())
        registry.register(kid=key_id(private_key.public_key()), owner=owner, public_key=public)
        return self.key_store.add(private_key)

    def register_issuer(
        self,
        *,
        name: str,
        country: str,
        identifiers: dict[str, str] | None = None,
        administrators: Sequence[str] = (),
        homepage: str = "",
        logo_url: str = "",
    ) -> UUID:
        """Register an institution with its first signing key."""
        self._require_operator()
        issuer = Issuer.register(
            name=name,
            country=country,
            identifiers=dict(identifiers or {}),
            homepage=homepage,
            logo_url=logo_url,
        )
        for subject in administrators:
            issuer.add_administrator(subject)

        def command() -> None:
            registry = self.key_registry()
            self._new_key(registry, str(issuer.id))
            self._save(issuer, registry)

        self._retrying(command)
        return issuer.id

    def edit_issuer_profile(self, issuer_id: UUID, **changes: Any) -> None:
        """Change an institution's public profile (name, country, identifiers, homepage, logo)."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        issuer.edit_profile(**changes)
        self._save(issuer, authority=str(issuer.id))

    def add_administrator(self, issuer_id: UUID, subject: str) -> None:
        """Let ``subject`` administer an issuer."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        issuer.add_administrator(subject)
        self._save(issuer, authority=str(issuer.id))

    def remove_administrator(self, issuer_id: UUID, subject: str) -> None:
        """Withdraw an administrator's rights."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        issuer.remove_administrator(subject)
        self._save(issuer, authority=str(issuer.id))

    def rotate_issuer_key(self, issuer_id: UUID) -> str:
        """Give an issuer a new signing key and retire the old one; returns the new key id."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)

        def command() -> str:
            registry = self.key_registry()
            old = registry.active_key(str(issuer_id))
            new_kid = self._new_key(registry, str(issuer_id))
            if old is not None:
                registry.retire(old.kid)
            self._save(registry)
            return new_kid

        new_kid = self._retrying(command)
        self.keyring.refresh()
        return new_kid

    def rotate_operator_key(self) -> str:
        """Give the operator a new key and retire the old one."""
        self._require_operator()
        registry = self.key_registry()
        old = registry.active_key(OPERATOR)
        new_kid = self._new_key(registry, OPERATOR)
        if old is not None:
            registry.retire(old.kid)
        self._save(registry)
        self.keyring.refresh()
        return new_kid

    def mark_key_compromised(self, kid: str, *, since: datetime, reason: str) -> str | None:
        """Invalidate what a key signed from ``since`` on (operator only).

        A key that was still its owner's active key is replaced in the same
        transaction, so the owner can go on signing; returns the new key id then.
        """
        self._require_operator()
        registry = self.key_registry()
        entry = registry.keys.get(kid)
        was_active = entry is not None and entry.active
        registry.mark_compromised(kid, since=since, reason=reason)
        new_kid = self._new_key(registry, entry.owner) if was_active and entry else None
        self._save(registry)
        self.keyring.refresh()
        return new_kid

    def record_checkpoint(
        self, *, tree_size: int, root_hash: str, checkpoint_time: datetime, note: str
    ) -> None:
        """Record a signed checkpoint of the log's Merkle tree (operator only).

        The caller (``ledger.transparency.checkpoint_publisher``) computed the root from the
        Merkle projection and signed the note with the operator key; the event
        itself is signed with the operator key as well, like every operator event.
        """
        self._require_operator()

        def command() -> None:
            log = self.checkpoint_log() or LogCheckpoints()
            log.publish(
                tree_size=tree_size,
                root_hash=root_hash,
                checkpoint_time=checkpoint_time,
                note=note,
            )
            self._save(log)

        self._retrying(command)

    def checkpoint_log(self) -> LogCheckpoints | None:
        """The aggregate of published checkpoints (None before the first)."""
        try:
            return self._get(LogCheckpoints, LOG_CHECKPOINTS_ID, what="checkpoint log")
        except NotFound:
            return None

    def adopt_policy(self, issuer_id: UUID, policy: StudyLoadPolicy) -> None:
        """Adopt a study-load policy for an issuer."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        issuer.adopt_policy(policy)
        self._save(issuer, authority=str(issuer.id))

    # -- achievements -------------------------------------------------------------

    def define_achievement(self, issuer_id: UUID, spec: AchievementSpec) -> UUID:
        """Register an achievement of an issuer."""
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        with _policy_hint(issuer):
            achievement = Achievement.define(
                issuer_id=issuer.id, spec=spec, policy=issuer.policy_at(utcnow())
            )
        self._save(achievement, authority=str(issuer.id))
        return achievement.id

    def revise_achievement(
        self, achievement_id: UUID, spec: AchievementSpec, *, reason: str
    ) -> int:
        """Add a revision to an achievement; returns the revision number."""
        achievement = self.achievement(achievement_id)
        issuer = self.issuer(achievement.issuer_id)
        self._require_administrator(issuer, hidden=f"achievement {achievement_id}")
        with _policy_hint(issuer):
            revision = achievement.revise(spec, reason=reason, policy=issuer.policy_at(utcnow()))
        self._save(achievement, authority=str(issuer.id))
        return revision

    # -- credentials --------------------------------------------------------------

    def issue_credential(
        self, issuer_id: UUID, achievement_id: UUID, order: CredentialOrder
    ) -> UUID:
        """Issue one credential."""
        return self._retrying(lambda: self._issue(issuer_id, achievement_id, [order], None))[0]

    def issue_cohort(
        self,
        issuer_id: UUID,
        achievement_id: UUID,
        orders: Sequence[CredentialOrder],
        *,
        request_id: str,
    ) -> list[UUID]:
        """Issue a whole cohort atomically; the same request id returns the same credentials."""
        if not request_id.strip():
            raise InvalidInput("request_id: required for bulk issuance")
        if not orders:
            raise InvalidInput("orders: a cohort needs at least one learner")
        return self._retrying(lambda: self._issue(issuer_id, achievement_id, orders, request_id))

    def _issue(
        self,
        issuer_id: UUID,
        achievement_id: UUID,
        orders: Sequence[CredentialOrder],
        request_id: str | None,
    ) -> list[UUID]:
        issuer = self.issuer(issuer_id)
        self._require_administrator(issuer)
        digest = _orders_digest(achievement_id, orders)
        if request_id is not None:
            previous = self._previous_request(issuer_id, request_id)
            if previous is not None:
                if previous.body_digest != digest:
                    raise IdempotencyKeyReused(
                        f"request id {request_id!r} was used before with another body"
                    )
                return previous.credential_ids
        achievement = self.achievement(achievement_id)
        if achievement.issuer_id != issuer.id:
            # Another issuer's achievement: do not confirm that it exists.
            raise NotFound(f"achievement {achievement_id} not found")
        now = utcnow()
        policy = issuer.policy_at(now)
        with _policy_hint(issuer):
            achievement.current.check_study_load(policy)
        policy_reference = (
            policy.reference if achievement.current.kind == "microcredential" else None
        )
        # Every order is checked before entries are taken: a reservation is a write,
        # and bad input must change nothing.
        learner_ids = self.learner_ids.of_many(_subject(o.learner_subject) for o in orders)
        for order in orders:
            Credential.check_validity(order.valid_from or now, order.valid_until)
        entries = self.status_entries.take(issuer.id, len(orders))
        credentials = [
            Credential(
                issuer_id=issuer.id,
                achievement_id=achievement.id,
                achievement_revision=achievement.revision,
                learner_id=learner_id,
                valid_from=order.valid_from or now,
                valid_until=order.valid_until,
                status_list=status_list,
                status_index=status_index,
                policy=policy_reference,
                result=check_result(order.result or {}),
                evidence=list(check_evidence(order.evidence)),
            )
            for order, learner_id, (status_list, status_index) in zip(
                orders, learner_ids, entries, strict=True
            )
        ]
        ids = [credential.id for credential in credentials]
        extra: list[LedgerAggregate] = []
        if request_id is not None:
            extra.append(
                IssuanceRequest(
                    issuer_id=issuer.id,
                    request_id=request_id,
                    body_digest=digest,
                    credential_ids=ids,
                )
            )
        # Only new aggregates: nothing here can collide with another writer except a
        # duplicate request id, which the retry answers from the first request.
        self._save(*credentials, *extra, authority=str(issuer.id))
        return ids

    def request_completed(self, issuer_id: UUID, request_id: str) -> bool:
        """Whether an issuance under this request id was already recorded (a retry)."""
        return self._previous_request(issuer_id, request_id) is not None

    def _previous_request(self, issuer_id: UUID, request_id: str) -> IssuanceRequest | None:
        try:
            return self._get(
                IssuanceRequest, issuance_request_id(issuer_id, request_id), what="request"
            )
        except NotFound:
            return None

    def _administered_credential(self, credential_id: UUID) -> tuple[Credential, Issuer]:
        credential = self.credential(credential_id)
        issuer = self.issuer(credential.issuer_id)
        # Another issuer's credential: do not even confirm that it exists.
        self._require_administrator(issuer, hidden=f"credential {credential_id}")
        return credential, issuer

    def amend_credential(self, credential_id: UUID, amendment: Amendment, *, reason: str) -> None:
        """Correct a credential, keeping its history."""
        credential, issuer = self._administered_credential(credential_id)
        if amendment.achievement_revision is not None:
            achievement = self.achievement(credential.achievement_id)
            if amendment.achievement_revision not in achievement.revisions:
                raise InvalidInput("achievement_revision: no such revision")
        credential.amend(amendment, reason=reason)
        self._save(credential, authority=str(issuer.id))

    def suspend_credential(self, credential_id: UUID, *, reason: str) -> None:
        """Suspend a credential."""
        credential, issuer = self._administered_credential(credential_id)
        credential.suspend(reason=reason)
        self._save(credential, authority=str(issuer.id))

    def reinstate_credential(self, credential_id: UUID, *, reason: str) -> None:
        """Lift a suspension."""
        credential, issuer = self._administered_credential(credential_id)
        credential.reinstate(reason=reason)
        self._save(credential, authority=str(issuer.id))

    def revoke_credential(self, credential_id: UUID, *, reason: str) -> None:
        """Revoke a credential for good."""
        credential, issuer = self._administered_credential(credential_id)
        credential.revoke(reason=reason)
        self._save(credential, authority=str(issuer.id))

    def record_expiry(self, credential_id: UUID) -> None:
        """Record that a credential's validity has ended."""
        credential, issuer = self._administered_credential(credential_id)
        credential.record_expiry()
        self._save(credential, authority=str(issuer.id))

    # -- learners -----------------------------------------------------------------

    def _learner_or_new(self, subject: str) -> Learner:
        subject = _subject(subject)
        learner_id = self.learner_ids.of(subject)
        self._require_learner(learner_id)
        try:
            return self.learner(learner_id)
        except NotFound:
            # The key is stored only when the learner's first event is about to be
            # saved (``_save``): a refused request leaves no key row behind.
            key = new_data_key()
            learner = Learner(learner_id=learner_id, sealed_subject=seal(key, learner_id, subject))
            learner.unsaved_data_key = key
            return learner

    def learner_subject(self, learner_id: UUID) -> str | None:
        """The learner's eduID subject, or None once their data was erased."""
        self._require_learner(learner_id)
        learner = self.learner(learner_id)
        if learner.sealed_subject.startswith(CLEAR_SUBJECT):
            return None if learner.erased else learner.sealed_subject[len(CLEAR_SUBJECT) :]
        key = self.data_keys.key(learner_id)
        return None if key is None else unseal(key, learner_id, learner.sealed_subject)

    def _data_key(self, learner: Learner) -> bytes:
        """The data key of a learner not erased: a new learner's (stored with its first
        event), the stored one, or, for a learner recorded before subjects were sealed
        (who has none), a new one stored now."""
        if learner.unsaved_data_key is not None:
            return learner.unsaved_data_key
        return self.data_keys.key(learner.id) or self.data_keys.key_for_new(learner.id)

    def erase_learner(
        self, learner_id: UUID, *, reason: str, holds_credentials: bool = False
    ) -> None:
        """Erase a learner's personal data (operator only): record it, then destroy the key.

        The event comes first: if destroying the key fails, erasing again finishes
        the job (the key of an erased learner is always destroyed).
        """
        self._require_operator()
        try:
            learner = self.learner(learner_id)
        except NotFound:
            if not holds_credentials:
                raise
            # A learner who only holds credentials has no record yet: start one whose
            # sealed value opens with no stored key (it holds nothing), to record the erasure.
            learner = Learner(
                learner_id=learner_id, sealed_subject=seal(new_data_key(), learner_id, "")
            )
        if not learner.erased:
            learner.erase(reason=reason)
            self._save(learner)
        self.data_keys.destroy(learner_id)

    def _owned(self, learner_id: UUID, credential_ids: Sequence[UUID]) -> set[UUID]:
        owned = set()
        for credential_id in credential_ids:
            try:
                if self.credential(credential_id).learner_id == learner_id:
                    owned.add(credential_id)
            except NotFound:
                continue
        return owned

    def grant_consent(
        self,
        learner_subject: str,
        *,
        grantee: str,
        credential_ids: Sequence[UUID] = (),
        all_credentials: bool = False,
        purpose: str,
        expires_at: datetime,
    ) -> UUID:
        """A learner lets an employer look up credentials; returns the consent id."""
        learner = self._learner_or_new(learner_subject)
        consent_id = uuid4()
        learner.grant_consent(
            consent_id=consent_id,
            grantee=grantee,
            credential_ids=list(credential_ids),
            all_credentials=all_credentials,
            purpose=purpose,
            expires_at=expires_at,
            owned=self._owned(learner.id, credential_ids),
        )
        self._save(learner)
        return consent_id

    def withdraw_consent(self, learner_subject: str, consent_id: UUID) -> None:
        """A learner ends a consent."""
        learner = self._learner_or_new(learner_subject)
        learner.withdraw_consent(consent_id)
        self._save(learner)

    def create_share_link(
        self,
        learner_subject: str,
        *,
        credential_ids: Sequence[UUID],
        expires_at: datetime | None = None,
        shown_name: str | None = None,
        name_asked: bool = True,
    ) -> tuple[UUID, str]:
        """A learner shares credentials; returns the link id and its secret token (once).

        ``shown_name`` is the name the link's page shows, as the learner gave it (None:
        they chose to show no name). It is personal data, so the event holds it only
        sealed under the learner's data key, and erasing the learner makes it
        unreadable. ``name_asked`` False records that the learner was not asked (a
        link made in one step, for LinkedIn): the page then says no more than that.
        """
        name = check_shown_name(shown_name)
        if name is not None and not name_asked:
            raise InvalidInput("shown_name: a link made without the choice shows no name")
        learner = self._learner_or_new(learner_subject)
        sealed_name: str | None = "" if name_asked else None
        if name is not None and not learner.erased:  # (an erased learner is refused below)
            sealed_name = seal(self._data_key(learner), learner.id, name, field=SHOWN_NAME)
        token = secrets.token_urlsafe(32)
        link_id = uuid4()
        learner.create_share_link(
            link_id=link_id,
            token_digest=share_token_digest(token),
            credential_ids=list(credential_ids),
            expires_at=expires_at,
            owned=self._owned(learner.id, credential_ids),
            sealed_name=sealed_name,
        )
        self._save(learner)
        return link_id, token

    def revoke_share_link(self, learner_subject: str, link_id: UUID) -> None:
        """A learner closes a share link."""
        learner = self._learner_or_new(learner_subject)
        learner.revoke_share_link(link_id)
        self._save(learner)

    def look_up(self, *, learner_id: UUID, credential_id: UUID, purpose: str) -> Credential:
        """A verifier's register lookup under a live consent; the lookup is recorded."""
        actor = self._actor()
        if actor.role != "verifier" and not authorization.is_privileged(actor):
            raise Forbidden("register lookups are for verifiers")
        try:
            learner = self.learner(learner_id)
        except NotFound:
            raise Forbidden("no live consent of this learner for you") from None
        credential = self.credential(credential_id)
        if credential.learner_id != learner_id:
            raise Forbidden("no live consent of this learner for you")
        allowed = learner.record_lookup(
            grantee=actor.subject, credential_id=credential_id, purpose_seen=purpose
        )
        self._save(learner)
        if not allowed:
            raise Forbidden("the learner's consent is for another purpose; the attempt is recorded")
        return credential

    # -- exemptions ---------------------------------------------------------------

    def submit_exemption_claim(
        self,
        learner_subject: str,
        *,
        institution_id: UUID,
        programme: str,
        credential_ids: Sequence[UUID],
        motivation: str = "",
    ) -> UUID:
        """A learner claims an exemption with their credentials."""
        learner_id = self.learner_ids.of(_subject(learner_subject))
        self._require_learner(learner_id)
        self.issuer(institution_id)
        backing: dict[UUID, tuple[UUID, str]] = {}
        for credential_id in credential_ids:
            credential = self.credential(credential_id)
            backing[credential_id] = (credential.learner_id, credential.status())
        claim = ExemptionClaim.submit(
            learner_id=learner_id,
            institution_id=institution_id,
            programme=programme,
            credentials=backing,
            motivation=motivation,
        )
        self._save(claim)
        return claim.id

    def withdraw_exemption_claim(self, claim_id: UUID, *, reason: str = "") -> None:
        """The learner withdraws a pending claim."""
        claim = self.exemption_claim(claim_id)
        self._require_learner(claim.learner_id, hidden=f"exemption claim {claim_id}")
        claim.withdraw(reason=reason)
        self._save(claim)

    def decide_exemption_claim(self, claim_id: UUID, *, approve: bool, reason: str) -> None:
        """The receiving institution approves or rejects a claim."""
        claim = self.exemption_claim(claim_id)
        institution = self.issuer(claim.institution_id)
        self._require_administrator(institution, hidden=f"exemption claim {claim_id}")
        if approve:
            claim.approve(reason=reason)
        else:
            claim.reject(reason=reason)
        self._save(claim, authority=str(institution.id))


@contextmanager
def _policy_hint(issuer: Issuer) -> Iterator[None]:
    """Add to a study-load refusal which policy is in force and how to adopt another."""
    try:
        yield
    except StudyLoadTooLow as error:
        now = utcnow()
        in_force = issuer.policy_at(now)
        others = alternatives(in_force, now)
        hint = (
            f"{error} (in force for {issuer.name} since {in_force.in_force_from.date()}: "
            f"{in_force.description or in_force.reference})."
        )
        if others:
            names = ", ".join(f"{p.policy_id} ({p.description})" for p in others)
            hint += (
                f" An operator or administrator of this institution may adopt another policy "
                f"for a period: {names}; with `ledger policy adopt {issuer.id} "
                f"{others[0].policy_id}` or POST /v1/institutions/{issuer.id}/policies "
                f'{{"policy": "{others[0].policy_id}"}}.'
            )
        raise StudyLoadTooLow(hint) from None


#: The sealed field of a share link: the learner's name as its page shows it.
SHOWN_NAME = "shown-name"
#: The longest name a share link's page shows.
SHOWN_NAME_MAX = 200


def check_shown_name(name: str | None) -> str | None:
    """The name a learner chose to show, tidied (None: no name shown); refused when
    empty, too long or holding control characters."""
    if name is None:
        return None
    tidy = " ".join(name.split())
    if not tidy:
        raise InvalidInput("shown_name: give the name to show, or choose not to show it")
    if len(tidy) > SHOWN_NAME_MAX:
        raise InvalidInput(f"shown_name: at most {SHOWN_NAME_MAX} characters")
    # (Format characters such as the zero-width non-joiner are part of some names.)
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in tidy):
        raise InvalidInput("shown_name: no control characters")
    return tidy


def share_token_digest(token: str) -> str:
    """The digest under which a share link's token is recorded."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _subject(subject: str) -> str:
    if not isinstance(subject, str) or not subject.strip():
        raise InvalidInput("learner_subject: an eduID subject is required")
    return subject.strip()


def _orders_digest(achievement_id: UUID, orders: Sequence[CredentialOrder]) -> str:
    body = {"achievement_id": achievement_id, "orders": [vars(order) for order in orders]}
    return hashlib.sha256(canonical_bytes(body)).hexdigest()
