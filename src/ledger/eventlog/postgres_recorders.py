"""The PostgreSQL recorders: the library's, with the append-only guard and chunked inserts.

Kept apart from ``persistence.py`` because importing them imports psycopg and
psycopg_pool (half of the CLI's start-up time); ``parse_store_url`` imports this
module only when the store is PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from psycopg.sql import SQL, Identifier

from ledger.eventlog.persistence import APPEND_ONLY_MESSAGE, INSERT_CHUNK, lock_schema_changes


class AppendOnlyPostgresApplicationRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with triggers that refuse UPDATE, DELETE, TRUNCATE.

    Large batches (bulk issuance) are inserted in chunks inside one transaction
    and outside pipeline mode: one multi-megabyte pipelined statement can stall
    psycopg and the server both waiting to read (psycopg issue #685), which we saw
    with 10,000 signed events. The table lock and the notification are the
    library's, taken exactly as in its own insert.
    """

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if len(stored_events) <= INSERT_CHUNK:
            return cast(Sequence[int] | None, super().insert_events(stored_events, **kwargs))
        notification_ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._lock_table(curs)
            self._notify_channel(curs)
            for start in range(0, len(stored_events), INSERT_CHUNK):
                chunk = stored_events[start : start + INSERT_CHUNK]
                rows = [
                    self.construct_pg_stored_event(
                        s.originator_id, s.originator_version, s.topic, s.state
                    )
                    for s in chunk
                ]
                curs.execute(self.insert_events_statement, (rows,))
                notification_ids.extend(int(row["notification_id"]) for row in curs.fetchall())
        return notification_ids

    def _create_table(self, curs: Any) -> None:
        lock_schema_changes(curs)
        super()._create_table(curs)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        function = Identifier(f"{self.events_table_name}_refuse_change")
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '{message}: % refused on %', TG_OP, TG_TABLE_NAME "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            ).format(schema=schema, function=function, message=SQL(APPEND_ONLY_MESSAGE))
        )
        for name, timing in (
            ("refuse_update_delete", "BEFORE UPDATE OR DELETE ON {schema}.{table} FOR EACH ROW"),
            ("refuse_truncate", "BEFORE TRUNCATE ON {schema}.{table} FOR EACH STATEMENT"),
        ):
            trigger = Identifier(f"{self.events_table_name}_{name}")
            self.sql_create_statements.append(
                SQL(
                    "DO $$ BEGIN "
                    "CREATE TRIGGER {trigger} "
                    + timing
                    + " EXECUTE FUNCTION {schema}.{function}(); "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ).format(trigger=trigger, schema=schema, table=table, function=function)
            )


class LedgerPostgresTrackingRecorder(PostgresTrackingRecorder):
    """The library's tracking recorder, creating its table under the schema lock."""

    def _create_table(self, curs: Any) -> None:
        lock_schema_changes(curs)
        super()._create_table(curs)
