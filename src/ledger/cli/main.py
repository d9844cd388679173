"""The ``ledger`` command line: every command takes ``--store`` and ``--json``."""

from __future__ import annotations

import argparse
import contextlib
import copy
import os
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import PersistenceError

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.cli import audit_commands, auditor_console, claims_commands, console_commands
from ledger.cli.demo import build_demo
from ledger.errors import Conflict, LedgerError
from ledger.eventlog.canonical_json import loads, to_json_value
from ledger.eventlog.envelope import open_row
from ledger.settings import Settings


def open_ledger(store_url: str | None) -> Ledger:
    """The ledger named by ``--store`` or the environment."""
    settings = Settings.from_env(store_url=store_url)
    return Ledger(
        settings.store, key_store=settings.key_store(), operator_anchor=settings.operator_anchor
    )


def _print(args: argparse.Namespace, data: Any, text: str) -> None:
    if args.json:
        sys.stdout.write(
            orjson.dumps(to_json_value(data), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def cmd_init(args: argparse.Namespace) -> int:
    """Create the store and the operator key."""
    ledger = open_ledger(args.store)
    with acting_as(CLI_OPERATOR):
        try:
            kid = ledger.establish()
            created = True
        except Conflict:
            kid, created = ledger.operator_kid, False
    message = (
        f"Initialised {ledger.store.url}\nOperator key: {kid}\n"
        "Publish the operator key id: auditors pin it (LEDGER_OPERATOR_KEY_ID)."
        if created
        else f"{ledger.store.url} is already initialised; operator key {kid}"
    )
    _print(args, {"store": ledger.store.url, "operator_kid": kid, "created": created}, message)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    """Fill the store with the demo world."""
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415 (read side, loaded on use)

    ledger = open_ledger(args.store)
    _require_fresh(ledger)
    made = build_demo(ledger)
    # The embedded default projects in process: catch up before reporting.
    ProjectionRunner(ledger).catch_up()
    cohort = made["credentials"]["cohort"]
    text = (
        f"Demo world written to {ledger.store.url}\n"
        f"  issuers: {made['issuers']['university']} (Universiteit Demo), "
        f"{made['issuers']['college']} (Hogeschool Demo)\n"
        f"  {len(cohort)} cohort credentials, an edubadge and a second microcredential\n"
        f"  amended {made['credentials']['amended']}\n"
        f"  revoked {made['credentials']['revoked']}\n"
        f"  exemption claims: approved {made['exemption_claims']['approved']}, "
        f"rejected {made['exemption_claims']['rejected']}\n"
        f"Try: ledger history {made['credentials']['amended']}"
    )
    _print(args, made, text)
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    """Show the signed events of one credential (or any aggregate)."""
    ledger = open_ledger(args.store)
    stored_events = ledger.history(UUID(args.credential_id))
    rows = []
    for stored in stored_events:
        sealed = open_row(stored)
        rows.append(
            {
                "version": sealed.originator_version,
                "topic": sealed.topic,
                "timestamp": sealed.timestamp,
                "actor": sealed.seal.actor,
                "kid": sealed.seal.kid,
                "prev": sealed.seal.prev,
                "hash": sealed.seal.digest,
                "signature": sealed.seal.signature_text,
                "state": {k: v for k, v in sealed.state.items() if k not in ("timestamp",)},
                "signed_bytes": loads(sealed.signed_bytes),
            }
        )
    lines = [
        f"History of {args.credential_id} ({len(rows)} events, all signatures and links checked)"
    ]
    for row in rows:
        actor = row["actor"]
        details = {
            k: v for k, v in row["state"].items() if k not in ("class_version", "originator_topic")
        }
        lines.append(
            f"v{row['version']} {row['timestamp']} {row['topic'].rsplit('/', 1)[-1]} "
            f"by {actor['sub']} ({actor['role']}, {actor['auth']}) key {row['kid']}\n"
            f"    hash {row['hash']}  prev {row['prev'][:16]}…\n"
            f"    {orjson.dumps(details).decode()}"
        )
    _print(args, rows, "\n".join(lines))
    return 0


def cmd_project(args: argparse.Namespace) -> int:
    """Run the projections as their own process, following the log until interrupted."""
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415 (read side, loaded on use)
    from ledger.transparency.checkpoint_publisher import (  # noqa: PLC0415
        CheckpointPolicy,
        CheckpointPublisher,
    )

    settings = Settings.from_env(store_url=args.store)
    ledger = open_ledger(args.store)
    runner = ProjectionRunner(ledger, batch_size=args.batch_size)
    publisher = CheckpointPublisher(runner, CheckpointPolicy.from_settings(settings))
    if args.once:
        read = runner.catch_up()
        publisher.maybe_publish()
        _print(
            args,
            {"read": read, "positions": runner.positions()},
            f"caught up: {runner.positions()}",
        )
        return 0
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    sys.stderr.write(f"projecting {ledger.store.url} from {runner.positions()}\n")
    with contextlib.suppress(KeyboardInterrupt):
        runner.run_forever(stop, interval=args.interval, tick=publisher.maybe_publish)
    return 0


def cmd_rebuild(args: argparse.Namespace) -> int:
    """Drop projections and replay them from the log."""
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415 (read side, loaded on use)

    ledger = open_ledger(args.store)
    runner = ProjectionRunner(ledger)
    names = [args.name] if args.name else None
    try:
        runner.rebuild(names, workers=args.workers, full=args.full)
    except KeyError as error:
        sys.stderr.write(f"ledger: {error.args[0]}\n")
        return 2
    _print(
        args, runner.positions(), f"rebuilt {args.name or 'all projections'}: {runner.positions()}"
    )
    return 0


def cmd_erase_learner(args: argparse.Namespace) -> int:
    """Erase a learner's personal data (their data key); the log stays intact."""
    ledger = open_ledger(args.store)
    if bool(args.subject) == bool(args.learner_id):
        raise ValueError("give either a learner id or --subject")
    learner_id = ledger.learner_ids.of(args.subject) if args.subject else UUID(args.learner_id)
    with acting_as(CLI_OPERATOR):
        ledger.erase_learner(
            learner_id, reason=args.reason, holds_credentials=_holds_credentials(ledger, learner_id)
        )
    _print(
        args,
        {"learner_id": str(learner_id), "erased": True},
        f"erased the personal data of learner {learner_id}; the log and its signatures are intact",
    )
    return 0


def _holds_credentials(ledger: Ledger, learner_id: UUID) -> bool:
    """Whether any credential names the learner (a learner may have no record of their own)."""
    from ledger.projections.read_models import ReadModels  # noqa: PLC0415 (read side, loaded on use)
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    runner = ProjectionRunner(ledger)
    runner.catch_up()
    return bool(ReadModels(runner).credential_ids_of_learner(learner_id))


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the HTTP API with uvicorn."""
    import uvicorn  # noqa: PLC0415 (only the server needs it)
    from uvicorn.config import LOGGING_CONFIG  # noqa: PLC0415

    settings = Settings.from_env(store_url=args.store)
    if args.workers > 1 and settings.store.kind == "sqlite":
        sys.stderr.write("ledger: several workers need PostgreSQL; SQLite serves one process\n")
        return 2
    if args.store:
        os.environ["LEDGER_STORE"] = args.store
    # Given to uvicorn, which applies it in every worker process: a logging setup made
    # here would reach only this process, and the workers' access logs would be lost.
    log_config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    log_config["formatters"]["ledger"] = {"format": "%(message)s"}
    log_config["handlers"]["ledger"] = {
        "class": "logging.StreamHandler",
        "formatter": "ledger",
        "stream": "ext://sys.stderr",
    }
    log_config["loggers"]["ledger"] = {"handlers": ["ledger"], "level": "INFO", "propagate": False}
    uvicorn.run(
        "ledger.api.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=False,
        log_level="warning",
        log_config=log_config,
    )
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    """Mint a development token (refused outside development mode)."""
    from ledger.api.auth import mint_dev_token  # noqa: PLC0415

    settings = Settings.from_env(store_url=args.store)
    _require_initialised(settings)
    token = mint_dev_token(
        settings,
        role=args.role,
        subject=args.subject,
        issuer_id=UUID(args.issuer) if args.issuer else None,
        ttl=args.ttl,
    )
    _print(args, {"token": token}, token)
    return 0


def _require_fresh(ledger: Ledger) -> None:
    """The demo fills a fresh ledger once: a second run would repeat every institution."""
    first = ledger.recorder.select_notifications(start=None, limit=100)
    records = [n for n in first if not n.topic.startswith("ledger/KeyRegistry")]
    if records:
        raise Conflict(
            f"{ledger.store.url} already holds records (the demo ran before?): the demo "
            "fills a fresh ledger only; use another --store, or remove this one to start over"
        )


def _store_exists(settings: Settings) -> bool:
    """Whether the store holds a ledger (checked without creating anything)."""
    path = settings.store.sqlite_path
    if path is not None and not path.exists():
        return False
    reader = audit_commands._readonly_ledger(settings)
    try:
        reader.keyring.refresh()
        return reader.keyring.registry is not None
    except PersistenceError:
        return False
    finally:
        reader.close()


def _require_initialised(settings: Settings) -> None:
    """Refuse, clearly, to act on a store that ``ledger init`` has not set up."""
    if not _store_exists(settings):
        raise LedgerError(
            f"the store {settings.store.url} is not initialised: run `ledger init` first "
            "(or point --store / LEDGER_STORE at the ledger you mean)"
        )


def _publisher(ledger: Ledger, store_url: str | None) -> Any:
    """The publisher of standard documents, with the read side for status lists."""
    from ledger.application.publishing import publisher_for  # noqa: PLC0415
    from ledger.projections.read_models import ReadModels  # noqa: PLC0415 (read side, loaded on use)
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    runner = ProjectionRunner(ledger)
    runner.catch_up()
    views = ReadModels(runner)

    def encoded_list(issuer_id: UUID, list_number: int, purpose: str) -> str | None:
        found = views.status_list(issuer_id, list_number, purpose)
        return None if found is None else found[0]

    return publisher_for(Settings.from_env(store_url=store_url), ledger, encoded_list)


def cmd_credential_export(args: argparse.Namespace) -> int:
    """Print a credential as a signed Open Badges 3.0 credential (as the operator)."""
    ledger = open_ledger(args.store)
    with acting_as(CLI_OPERATOR):
        document = _publisher(ledger, args.store).export_credential(UUID(args.credential_id))
    sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    return 0


def cmd_check(args: argparse.Namespace) -> int:
    """Check a presented credential (a file or a URL); exit 0 if it verifies, 3 if not.

    Where no ledger is initialised no store is opened or created: the
    checker is an outsider's, fetching did:web documents, status lists and
    contexts only from trusted origins (``LEDGER_TRUSTED_ORIGINS``, ``--trust``);
    ``--offline`` fetches nothing and says which checks could not be made.
    """
    from ledger.standards.credential_checker import CheckPolicy, CredentialChecker  # noqa: PLC0415
    from ledger.standards.did_documents import DidResolver  # noqa: PLC0415
    from ledger.standards.outsider_checking import OutsiderFetcher  # noqa: PLC0415

    settings = Settings.from_env(store_url=args.store)
    fetcher = OutsiderFetcher.from_settings(
        [*settings.trusted_origins, *(args.trust or ())], offline=args.offline
    )
    document = _presented(args.file, fetcher)
    # A ledger here (never created by checking): its own DIDs and lists are built
    # locally; otherwise an outsider's check, everything fetched from trusted origins.
    if _store_exists(settings):
        publisher = _publisher(open_ledger(args.store), args.store)
        resolver, status_lists = publisher.resolver, publisher.fetch_status_list
    else:
        resolver = DidResolver(public_url=settings.public_url, keyring=None, fetch=fetcher.fetch)
        status_lists = fetcher.fetch
    context_problems = fetcher.pin_contexts(document)
    checker = CredentialChecker(
        resolver=resolver,
        status_lists=status_lists,
        policy=CheckPolicy.tolerating(args.tolerate or ()),
    )
    report = checker.check(document).to_json()
    report["not_fetched"] = [*dict.fromkeys(fetcher.refused_offline)]
    report["context_problems"] = context_problems
    lines = [f"{'VERIFIED' if report['verified'] else 'NOT VERIFIED'}: {report['credential_id']}"]
    lines += [f"  {c['outcome']:7} {c['check']}: {c['detail']}" for c in report["checks"]]
    lines += [f"  not checked (offline, not fetched): {url}" for url in report["not_fetched"]]
    lines += [f"  context: {problem}" for problem in context_problems]
    lines.append(f"  policy: {report['policy']['name']} {report['policy']['tolerated']}")
    _print(args, report, "\n".join(lines))
    return 0 if report["verified"] else 3


def _presented(source: str, fetcher: Any) -> dict[str, Any]:
    """The credential to check: a file, or a URL fetched under the fetcher's rules."""
    if source.startswith(("https://", "http://")):
        fetched: dict[str, Any] = fetcher.fetch(source)
        return fetched
    try:
        document = orjson.loads(Path(source).read_bytes())
    except (OSError, orjson.JSONDecodeError) as error:
        raise ValueError(f"{source}: {error}") from None
    if not isinstance(document, dict):
        raise ValueError(f"{source}: not a JSON object")
    return document


def _add_standard_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    credential = commands.add_parser("credential", parents=[common], help="standard credentials")
    actions = credential.add_subparsers(dest="credential_command", required=True)
    export = actions.add_parser("export", parents=[common], help="print a signed OB 3.0 export")
    export.add_argument("credential_id")
    check = commands.add_parser("check", parents=[common], help="check a presented credential")
    check.add_argument("file", metavar="FILE|URL")
    check.add_argument(
        "--tolerate", action="append", help="a status list deviation to accept (repeatable)"
    )
    check.add_argument(
        "--trust",
        action="append",
        metavar="ORIGIN",
        help="an origin (https://host) whose DID documents, lists and contexts may be fetched",
    )
    check.add_argument(
        "--offline", action="store_true", help="fetch nothing; report what could not be checked"
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``ledger`` command."""
    parser = argparse.ArgumentParser(prog="ledger", description=__doc__)
    parser.add_argument("--store", help="store URL (default: $LEDGER_STORE or sqlite:///ledger.db)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    # The same options after the command; SUPPRESS keeps a value given before it.
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--store", default=argparse.SUPPRESS, help="store URL")
    common.add_argument(
        "--json", action="store_true", default=argparse.SUPPRESS, help="JSON output"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", parents=[common], help="create the store and the operator key")
    commands.add_parser("demo", parents=[common], help="fill the store with a small demo world")
    history = commands.add_parser("history", parents=[common], help="signed events of a credential")
    history.add_argument("credential_id")
    project = commands.add_parser("project", parents=[common], help="run the projections")
    project.add_argument("--once", action="store_true", help="catch up, then exit")
    project.add_argument("--batch-size", type=int, default=500)
    # Writers through the API wait for the projector, so its idle poll interval adds
    # to every write's latency; 20 polls a second of an idle log cost the store little.
    project.add_argument("--interval", type=float, default=0.05, help="poll interval when idle")
    rebuild = commands.add_parser("rebuild", parents=[common], help="drop and replay projections")
    rebuild.add_argument(
        "name",
        nargs="?",
        help="status, backpack, exemptions, audit, merkle or institutions (default all)",
    )
    rebuild.add_argument(
        "--workers",
        type=int,
        default=os.cpu_count() or 1,
        help="worker processes that verify the log while it is replayed (in one transaction)",
    )
    rebuild.add_argument(
        "--full",
        action="store_true",
        help="check every signature, even those the newest checkpoint already covers",
    )
    erase = commands.add_parser(
        "erase-learner", parents=[common], help="erase a learner's personal data (GDPR art. 17)"
    )
    erase.add_argument("learner_id", nargs="?", help="the learner's id")
    erase.add_argument("--subject", help="or the learner's eduID subject")
    erase.add_argument("--reason", required=True, help="why (recorded in the log)")
    serve = commands.add_parser("serve", parents=[common], help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    token = commands.add_parser("token", parents=[common], help="mint a development token")
    token.add_argument("--role", required=True)
    token.add_argument("--subject", required=True)
    token.add_argument("--issuer", help="issuer id (administrators)")
    token.add_argument("--ttl", type=int, default=3600)
    audit_commands.add_commands(commands, common)
    console_commands.add_commands(commands, common)
    auditor_console.add_commands(commands, common)
    claims_commands.add_commands(commands, common)
    _add_standard_commands(commands, common)
    return parser


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "init": cmd_init,
    "demo": cmd_demo,
    "history": cmd_history,
    "project": cmd_project,
    "rebuild": cmd_rebuild,
    "erase-learner": cmd_erase_learner,
    "serve": cmd_serve,
    "token": cmd_token,
    "credential": cmd_credential_export,
    "check": cmd_check,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ledger`` console script."""
    args = build_parser().parse_args(argv)
    try:
        handler = getattr(args, "handler", None) or COMMANDS[args.command]
        return int(handler(args))
    except LedgerError as error:
        if args.json:
            sys.stdout.write(
                orjson.dumps({"error": error.kind, "detail": str(error)}).decode() + "\n"
            )
        sys.stderr.write(f"ledger: {error.kind}: {error}\n")
        return 1
    except ValueError as error:
        sys.stderr.write(f"ledger: invalid input: {error}\n")
        return 2
    except PersistenceError as error:
        sys.stderr.write(
            f"ledger: the store cannot be read or written ({error}); "
            "is it reachable, and was `ledger init` run?\n"
        )
        return 1
    except OSError as error:
        # A bundle, checkpoint note or credential file that cannot be read or written.
        sys.stderr.write(f"ledger: {error.strerror or error}: {error.filename or ''}\n")
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
