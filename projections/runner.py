"""Runs projections over the ledger's notification log, with the library's tracking.

One pass over the log feeds every projection: each notification is opened and its
signature checked once (the mapper), its chain link checked against the previous
event of its aggregate, and then applied to each projection that has not yet seen
it. A batch is one transaction that also records each projection's new position
(a ``Tracking`` row named after the projection), so a crash half way loses
nothing and counts nothing twice, and a restart resumes where it left off.

eventsourcing 9.5.6's SQLite recorder cannot ``subscribe`` and a PostgreSQL
subscription can stall on a lost notification, so this runner polls
``select_notifications`` on both stores (every ``interval`` seconds while idle).
Notification ids can have gaps; only their order is relied on. An event that
fails its signature or chain stops the runner with that error: a projection
never builds on tampered data.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, Notification, OperationalError, Tracking
from eventsourcing.sqlite import SQLiteTrackingRecorder
from ledger.projections.audit_trails import AuditTrailProjection
from ledger.projections.backpack import BackpackProjection
from ledger.projections.database import POSTGRES, SQLITE, Cursor
from ledger.projections.exemptions import ExemptionRegisterProjection
from ledger.projections.institutions import InstitutionsProjection
from ledger.projections.merkle_log import MerkleLogProjection, MerkleLogView
from ledger.projections.projection import Applied, Projection
from ledger.projections.rebuild import Background, Fingerprint, Replay
from ledger.projections.status import StatusListProjection

from ledger.application.ledger import Ledger
from ledger.audit.log_sources import StoreSource
from ledger.audit.log_verifier import CheckpointClaim, Verifier
from ledger.errors import ChainBroken, TamperDetected
from ledger.eventlog.chain import START, ChainHead, follow
from ledger.eventlog.envelope import event_digest, open_row, seal_of
from ledger.eventlog.persistence import lock_schema_changes

logger = logging.getLogger(__name__)

BATCH_SIZE = 500
#: Events per transaction of a rebuild's replay (fewer commits; nobody reads a rebuild's
#: intermediate positions).
REBUILD_BATCH_SIZE = 5000
#: Chain heads remembered between batches (an older head is read from the store once:
#: one indexed row). Bounded, so that a projector over a million records stays small.
CHAIN_CACHE_SIZE = 100_000
#: How many times each projection was rebuilt: a view held in memory (the status view)
#: that sees the count move reloads, since a rebuild may rewrite rows at the positions
#: they had (the same log, through corrected projection code).
REBUILDS_DDL = (
    "CREATE TABLE IF NOT EXISTS projection_rebuilds "
    "(projection TEXT PRIMARY KEY, generation BIGINT NOT NULL)"
)
BUMP_REBUILD = (
    "INSERT INTO projection_rebuilds (projection, generation) VALUES (?, 1) "
    "ON CONFLICT (projection) DO UPDATE SET generation = projection_rebuilds.generation + 1"
)


#: The background the verification of a rebuild runs in (tests may run it in place).
in_background: Callable[[Callable[[], Fingerprint]], Background[Fingerprint]] = Background


class _SourceUpTo(StoreSource):
    """A store read up to a fixed position: what a rebuild replays, and nothing after."""

    def __init__(self, store: Any, upto: int) -> None:
        super().__init__(store)
        self._upto = upto

    def head(self) -> int:
        return min(self._upto, super().head())


def all_projections() -> list[Projection]:
    """Every read model of the ledger, in a fixed order."""
    return [
        StatusListProjection(),
        BackpackProjection(),
        ExemptionRegisterProjection(),
        AuditTrailProjection(),
        MerkleLogProjection(),
        InstitutionsProjection(),
    ]


class ProjectionRunner:
    """Catches projections up with the log, once or continuously."""

    def __init__(
        self,
        ledger: Ledger,
        projections: Sequence[Projection] | None = None,
        *,
        batch_size: int = BATCH_SIZE,
        create_tables: bool = True,
    ) -> None:
        self.ledger = ledger
        self.projections = list(projections if projections is not None else all_projections())
        self.batch_size = batch_size
        self.tracking = ledger.factory.tracking_recorder()
        self.dialect = SQLITE if isinstance(self.tracking, SQLiteTrackingRecorder) else POSTGRES
        self._datastore: Any = self.tracking.datastore  # type: ignore[attr-defined]
        self._heads: OrderedDict[UUID, ChainHead] = OrderedDict()
        self._lock = threading.Lock()
        self._on_schema: weakref.WeakSet[Any] = weakref.WeakSet()
        #: Why this runner stopped, if it did: a broken read side says so (``/readyz``)
        #: instead of serving stale answers in silence.
        self.failure: str | None = None
        if create_tables:
            self.create_tables()

    @contextmanager
    def transaction(self, *, commit: bool) -> Iterator[tuple[Any, Cursor]]:
        """A transaction in the store, with the ledger's schema first on PostgreSQL's path."""
        with self._datastore.transaction(commit=commit) as raw:
            if self.dialect is POSTGRES:
                raw.execute(f"SET LOCAL search_path TO {self._datastore.schema}")
            cursor = Cursor(raw, self.dialect)
            yield raw, cursor
            cursor.flush()  # nothing held back is lost when the transaction commits

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read statement over the projections.

        On PostgreSQL this is one round trip: the pool's connections are in autocommit
        mode, so a single statement is its own consistent snapshot and needs no
        BEGIN, SET LOCAL and ROLLBACK around it (four round trips, most of a status
        check's time). The ledger's schema is put on a connection's search path once;
        the library qualifies its own tables with the schema, so that changes nothing
        for them.
        """
        if self.dialect is not POSTGRES:
            with self.transaction(commit=False) as (_, cursor):
                return cursor.rows(statement, params)
        with self._datastore.get_connection() as conn:
            if conn not in self._on_schema:
                conn.execute(f"SET search_path TO {self._datastore.schema}")
                self._on_schema.add(conn)
            return Cursor(conn.cursor(), self.dialect).rows(statement, params)

    def tracking_name(self, projection: Projection) -> str:
        """The tracking row of a projection (one tracking table serves them all)."""
        return f"{self.ledger.name}.{projection.name}"

    def create_tables(self, *, secondary_indexes: bool = True) -> None:
        """Create every projection's tables (and, unless told not to, their indexes)."""
        with self.transaction(commit=True) as (raw, cursor):
            if self.dialect is POSTGRES:
                lock_schema_changes(raw)
            cursor.execute(REBUILDS_DDL)
            for projection in self.projections:
                for statement in projection.ddl:
                    if secondary_indexes or not statement.startswith("CREATE INDEX"):
                        cursor.execute(statement)

    def position(self, projection: Projection) -> int:
        """The last notification id a projection has applied (0 if none)."""
        return self.tracking.max_tracking_id(self.tracking_name(projection)) or 0

    def positions(self) -> dict[str, int]:
        """Every projection's position, by name."""
        return {p.name: self.position(p) for p in self.projections}

    def slowest_position(self) -> int:
        """The position of the projection furthest behind."""
        return min(self.positions().values(), default=0)

    def lag(self) -> int:
        """How many notification ids the slowest projection is behind the log's head."""
        head = self.ledger.recorder.max_notification_id() or 0
        return max((head - position for position in self.positions().values()), default=0)

    def run_once(self) -> int:
        """Apply one batch; returns the number of notifications read (0: caught up).

        Anything but a lost connection (tampering, an event a projection cannot
        apply) is recorded as this runner's ``failure`` before it propagates.
        """
        try:
            read = self._run_once()
        except OperationalError:
            raise
        except Exception as error:
            self.failure = f"{type(error).__name__}: {error}"
            logger.error("the read side stopped: %s", self.failure)
            raise
        self.failure = None
        return read

    def _run_once(self) -> int:
        with self._lock:
            positions = {p.name: self.position(p) for p in self.projections}
            start = min(positions.values(), default=0)
            notifications = self.ledger.recorder.select_notifications(
                start=start, limit=self.batch_size, inclusive_of_start=False
            )
            if not notifications:
                return 0
            applied = [self._verified(n) for n in notifications]
            try:
                self._apply_batch(applied, positions)
            except IntegrityError:
                # Another runner (a second projector, say) recorded these positions
                # first, and our batch rolled back whole: go on from where it got to.
                # If nobody moved on, the conflict is ours to report.
                if min(self.position(p) for p in self.projections) <= start:
                    raise
                logger.info("another runner applied notifications after %s first", start)
            return len(notifications)

    def _apply_batch(self, applied: Sequence[Applied], positions: dict[str, int]) -> None:
        """Apply verified events to every projection behind them, in one transaction."""
        with self.transaction(commit=True) as (raw, cursor):
            for projection in self.projections:
                behind = [a for a in applied if a.position > positions[projection.name]]
                if not behind:
                    continue
                projection.begin(cursor, positions[projection.name])
                for item in behind:
                    projection.apply(cursor, item)
                projection.finish(cursor)
                cursor.flush()
                self.tracking._insert_tracking(  # type: ignore[attr-defined]
                    raw, Tracking(self.tracking_name(projection), behind[-1].position)
                )

    def catch_up(self) -> int:
        """Apply batches until the projections reach the log's head; returns events read."""
        total = 0
        while True:
            read = self.run_once()
            if read == 0:
                return total
            total += read

    def run_forever(
        self,
        stop: threading.Event,
        *,
        interval: float = 0.05,
        tick: Callable[[], object] | None = None,
    ) -> None:
        """Follow the log until ``stop`` is set.

        ``tick`` runs after every batch (the checkpoint publisher's policy check).
        A lost connection or a deadlock is retried with backoff: the batch rolled
        back whole, so retrying it is safe. Tampering (a ``LedgerError``) propagates
        and stops the follower.
        """
        failures = 0
        while not stop.is_set():
            try:
                read = self.run_once()
                if tick is not None:
                    tick()
            except OperationalError as error:
                failures += 1
                delay = min(interval * 2**failures, 30.0)
                logger.warning("projection batch failed (%s); retrying in %.1fs", error, delay)
                stop.wait(delay)
                continue
            failures = 0
            if read == 0:
                stop.wait(interval)

    def wait(self, position: int, *, timeout: float = 5.0) -> None:
        """Block until every projection has applied ``position`` (read-after-write)."""
        deadline = time.monotonic() + timeout
        while min(self.positions().values(), default=position) < position:
            if time.monotonic() > deadline:
                raise TimeoutError(f"projections did not reach position {position} in {timeout}s")
            time.sleep(0.01)

    def rebuild(
        self, names: Sequence[str] | None = None, *, workers: int = 1, full: bool = False
    ) -> None:
        """Drop the named projections' tables (all if none) and replay them from the log.

        The whole log up to its current head is verified (``ledger.audit.log_verifier``,
        in a process of its own and ``workers`` more: signatures, keys, authority,
        chains, and every checkpoint, those in the log and those the Merkle projection
        serves) while this process replays it into the dropped tables, in one
        transaction (``ledger.projections.rebuild``). It commits only if the
        verification passes and the replay applied exactly the bytes that were
        verified (equal Merkle roots); otherwise it rolls back and the old tables stay:
        a rebuild never forgets what a cut or altered log no longer shows (a deleted
        revocation). Events written after that head are applied afterwards as usual
        (signatures and chains checked one by one).
        Unless ``full``, the events the newest checkpoint covers are held to its
        operator-signed Merkle root instead of having their signatures checked one by
        one (the verifier's ``trust_checkpoint``).
        Secondary indexes are built after the load, and each projection's count in
        ``projection_rebuilds`` goes up in the same transaction, which tells the
        servers' in-memory status views to reload (no restart needed).
        """
        chosen = [p for p in self.projections if names is None or p.name in names]
        unknown = set(names or ()) - {p.name for p in self.projections}
        if unknown:
            raise KeyError(f"unknown projection {sorted(unknown)[0]!r}")
        head = self.ledger.recorder.max_notification_id() or 0
        # Read before the transaction drops the Merkle projection's tables.
        served = self._served_checkpoints()
        verification: Background[Fingerprint] = in_background(
            lambda: self._verify_log(workers, trust_checkpoint=not full, upto=head, served=served)
        )
        try:
            with self._lock, self.transaction(commit=True) as (raw, cursor):
                self._replay_verified(raw, cursor, chosen, head, verification)
        except BaseException:
            verification.cancel()
            for projection in chosen:
                projection.reset()
            raise
        self._heads.clear()
        ProjectionRunner(
            self.ledger,
            chosen,
            batch_size=max(self.batch_size, REBUILD_BATCH_SIZE),
            create_tables=False,
        ).catch_up()

    def _replay_verified(
        self,
        raw: Any,
        cursor: Cursor,
        chosen: Sequence[Projection],
        head: int,
        verification: Background[Fingerprint],
    ) -> None:
        """Drop, replay up to ``head`` and index, in the caller's transaction; raise (so
        that it rolls back) unless the verification passed on the same bytes."""
        if self.dialect is POSTGRES:
            lock_schema_changes(raw)
        for projection in chosen:
            projection.reset()
            for table in projection.tables:
                cursor.execute(f"DROP TABLE IF EXISTS {table}")
            cursor.execute(
                f"DELETE FROM {self._tracking_table()} WHERE application_name = ?",  # noqa: S608
                (self.tracking_name(projection),),
            )
        cursor.execute(REBUILDS_DDL)
        # Secondary indexes are built once after the replay: maintaining them row by
        # row while loading costs more than sorting once (primary keys stay, the
        # projections' upserts need them).
        secondary = [s for p in chosen for s in p.ddl if s.startswith("CREATE INDEX")]
        for projection in chosen:
            for statement in projection.ddl:
                if statement not in secondary:
                    cursor.execute(statement)
        replay = Replay(cursor, self.dialect, self._events_table(), chosen)
        try:
            replayed = replay.run(head)
        except Exception:
            # The verifier's verdict names the tampering better than a replay that
            # stumbled on it (a row that does not open, a change of nothing issued).
            verification.result()
            raise
        verified = verification.result()
        if replayed != verified:
            raise TamperDetected(
                f"the log changed after it was verified: {verified.size} events verified, "
                f"{replayed.size} replayed up to position {head}, with other bytes"
            )
        for statement in secondary:
            cursor.execute(statement)
        for projection in chosen:
            if replay.position:
                cursor.flush()
                self.tracking._insert_tracking(  # type: ignore[attr-defined]
                    raw, Tracking(self.tracking_name(projection), replay.position)
                )
            # Counted once the replay is whole, in its transaction: a view that reloads
            # on seeing it reads the rebuilt tables, never a half-replayed one.
            cursor.execute(BUMP_REBUILD, (projection.name,))

    def _verify_log(
        self,
        workers: int,
        *,
        trust_checkpoint: bool = False,
        upto: int | None = None,
        served: tuple[list[CheckpointClaim], dict[int, str]] | None = None,
    ) -> Fingerprint:
        """Verify the log (up to ``upto``, all if None) on ``workers`` processes; the size
        and Merkle root of what was verified. Raises ``TamperDetected`` at the first problem.

        ``served``: the Merkle projection's checkpoints and roots (read here if None).
        """
        claims, served_roots = served if served is not None else self._served_checkpoints()
        source = (
            StoreSource(self.ledger.store) if upto is None else _SourceUpTo(self.ledger.store, upto)
        )
        try:
            verifier = Verifier(
                source,
                workers=workers,
                checkpoints=claims,
                served_roots=served_roots,
                trust_checkpoint=trust_checkpoint,
                # The replay decodes every event and rolls back on one that does not.
                decode=False,
            )
            report = verifier.run()
        finally:
            source.close()
        first = report.first_problem
        if first is not None:
            raise TamperDetected(
                f"the log fails verification at position {first.position}: "
                f"{first.kind}: {first.message}"
            )
        return Fingerprint(report.tree_size, report.root_hash)

    def _served_checkpoints(self) -> tuple[list[CheckpointClaim], dict[int, str]]:
        """The checkpoints the Merkle projection holds, and the roots its tree serves.

        A cut log can lose the checkpoint events that covered the cut; the projection
        built before the cut still remembers them.
        """
        merkle = next((p for p in self.projections if isinstance(p, MerkleLogProjection)), None)
        if merkle is None or self.position(merkle) == 0:
            return [], {}
        with self.transaction(commit=False) as (_, cursor):
            view = MerkleLogView(cursor)
            served = [c.to_json() for c in view.checkpoints(limit=1_000_000)]
            sizes = {c["tree_size"] for c in served if c["tree_size"] <= view.size}
            roots = {size: view.tree.root(size).hex() for size in sizes}
            if view.size:
                roots[view.size] = view.tree.root().hex()
        claims = [
            CheckpointClaim(note=c["note"], source=f"served checkpoint of {c['tree_size']} events")
            for c in served
        ]
        return claims, roots

    def _events_table(self) -> str:
        name: str = self.ledger.recorder.events_table_name  # type: ignore[attr-defined]
        if self.dialect is POSTGRES:
            return f"{self._datastore.schema}.{name}"
        return name

    def _tracking_table(self) -> str:
        name = getattr(self.tracking, "tracking_table_name", "tracking")
        if self.dialect is POSTGRES:
            return f"{self._datastore.schema}.{name}"
        return str(name)

    def _verified(self, notification: Notification) -> Applied:
        """Open, check the signature (mapper) and the chain link of one notification."""
        event = self.ledger.mapper.to_domain_event(notification)
        seal = seal_of(event)
        if seal is None:
            raise ChainBroken(f"notification {notification.id} carries no seal")
        originator_id = notification.originator_id
        if not isinstance(originator_id, UUID):
            originator_id = UUID(str(originator_id))
        version = notification.originator_version
        self._heads[originator_id] = follow(
            self._previous_head(originator_id, version),
            version=version,
            prev=seal.prev,
            digest=seal.digest,
            where=f"event {originator_id} v{version} at position {notification.id}",
        )
        self._heads.move_to_end(originator_id)
        if len(self._heads) > CHAIN_CACHE_SIZE:
            self._heads.popitem(last=False)
        return Applied(event=event, notification=notification)

    def _previous_head(self, originator_id: UUID, version: int) -> ChainHead:
        """The head the event of ``version`` must follow: remembered, or read from the store."""
        if version == 1:
            return START
        cached = self._heads.get(originator_id)
        if cached is not None and cached.version == version - 1:
            return cached
        previous = self.ledger.recorder.select_events(
            originator_id, lte=version - 1, desc=True, limit=1
        )
        if not previous:
            return START
        sealed = open_row(previous[0])
        return ChainHead(previous[0].originator_version, event_digest(sealed.signed_bytes))
