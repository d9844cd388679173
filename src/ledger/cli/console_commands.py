"""The operator's console on the command line: institutions, administrators, policies, keys.

``ledger institution register|list|show|edit``, ``ledger administrator add|remove|list``,
``ledger policy adopt|show`` and ``ledger key list|rotate|signed-since|compromise``.
They act as the local operator (the machine that holds the keys), like ``ledger init``;
every change is a signed event in the log.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.domain.base import utcnow
from ledger.domain.keyregistry import KeyEntry
from ledger.domain.policy import CATALOGUE, StudyLoadPolicy, policy_for_period
from ledger.errors import NotFound
from ledger.eventlog.canonical_json import format_datetime, to_json_value
from ledger.settings import Settings


def open_ledger(store_url: str | None) -> Ledger:
    """The ledger named by ``--store`` or the environment, with its key store."""
    settings = Settings.from_env(store_url=store_url)
    return Ledger(
        settings.store, key_store=settings.key_store(), operator_anchor=settings.operator_anchor
    )


@contextmanager
def operating(args: argparse.Namespace) -> Iterator[Ledger]:
    """The ledger, acting as the local operator; closed afterwards."""
    ledger = open_ledger(args.store)
    try:
        with acting_as(CLI_OPERATOR):
            yield ledger
    finally:
        ledger.close()


def emit(args: argparse.Namespace, data: Any, text: str) -> None:
    """JSON with ``--json``, else the text."""
    if args.json:
        sys.stdout.write(
            orjson.dumps(to_json_value(data), option=orjson.OPT_INDENT_2).decode() + "\n"
        )
    else:
        sys.stdout.write(text.rstrip("\n") + "\n")


def _identifiers(pairs: list[str] | None) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in pairs or ():
        scheme, sep, value = pair.partition("=")
        if not sep:
            raise ValueError(f"--identifier {pair!r}: write SCHEME=VALUE, e.g. BRIN=21PB")
        found[scheme.strip()] = value.strip()
    return found


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 instant") from None
    if value.tzinfo is None:
        raise ValueError(f"{text!r} needs a time zone (e.g. 2026-01-01T00:00:00+00:00)")
    return value


def policy_json(policy: StudyLoadPolicy) -> dict[str, Any]:
    """A policy as the console shows it."""
    return {
        "policy": policy.policy_id,
        "reference": policy.reference,
        "min_hours": policy.min_hours,
        "min_ects": str(policy.min_ects),
        "in_force_from": policy.in_force_from,
        "in_force_until": policy.in_force_until,
        "description": policy.description,
    }


def key_json(entry: KeyEntry) -> dict[str, Any]:
    """A key as the console shows it."""
    return {
        "kid": entry.kid,
        "owner": entry.owner,
        "valid_from": entry.valid_from,
        "retired_at": entry.retired_at,
        "compromised_since": entry.compromised_since,
        "active": entry.active,
    }


def _key_line(entry: KeyEntry) -> str:
    state = (
        f"compromised since {format_datetime(entry.compromised_since)}"
        if entry.compromised_since
        else f"retired {format_datetime(entry.retired_at)}"
        if entry.retired_at
        else "active"
    )
    return f"  {entry.kid}  from {format_datetime(entry.valid_from)}  {state}"


# -- institutions ---------------------------------------------------------------------


def cmd_register(args: argparse.Namespace) -> int:
    """Register an institution."""
    with operating(args) as ledger:
        issuer_id = ledger.register_issuer(
            name=args.name,
            country=args.country,
            identifiers=_identifiers(args.identifier),
            homepage=args.homepage or "",
            logo_url=args.logo_url or "",
            administrators=args.administrator or (),
        )
        kid = ledger.keyring.active_key(str(issuer_id))
    emit(
        args,
        {"issuer_id": issuer_id, "kid": kid.kid if kid else None},
        f"registered {args.name}: {issuer_id}\nsigning key {kid.kid if kid else '-'}",
    )
    return 0


def _profile(ledger: Ledger, issuer_id: UUID) -> dict[str, Any]:
    issuer = ledger.administered_issuer(issuer_id)
    now = utcnow()
    return {
        "issuer_id": issuer.id,
        **issuer.profile(),
        "administrators": sorted(issuer.administrators),
        "policy_in_force": policy_json(issuer.policy_at(now)),
        "policies": [policy_json(p) for p in issuer.policies],
        "keys": [key_json(k) for k in ledger.key_registry().keys_of(str(issuer.id))],
    }


def cmd_show(args: argparse.Namespace) -> int:
    """Show an institution: profile, administrators, policies, keys."""
    with operating(args) as ledger:
        data = _profile(ledger, UUID(args.issuer_id))
        keys = ledger.key_registry().keys_of(args.issuer_id)
    identifiers = ", ".join(f"{k}={v}" for k, v in data["identifiers"].items()) or "-"
    lines = [
        f"{data['name']} ({data['country']})  {data['issuer_id']}",
        f"  identifiers: {identifiers}",
        f"  homepage: {data['homepage'] or '-'}   logo: {data['logo_url'] or '-'}",
        f"  administrators: {', '.join(data['administrators']) or '-'}",
        f"  policy in force: {data['policy_in_force']['reference']} "
        f"({data['policy_in_force']['min_hours']} h / {data['policy_in_force']['min_ects']} EC)",
        "  keys:",
        *(_key_line(k) for k in keys),
    ]
    emit(args, data, "\n".join(lines))
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    """List every institution (from the read side, caught up first)."""
    views = _views(args.store)
    items: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        page = views.institutions(after=after, limit=500)
        items += page
        if len(page) < 500:
            break
        after = page[-1]["issuer_id"]
    lines = [f"{i['issuer_id']}  {i['country']}  {i['name']}" for i in items]
    emit(args, items, "\n".join(lines) or "no institutions yet")
    return 0


def cmd_edit(args: argparse.Namespace) -> int:
    """Edit an institution's public profile."""
    changes: dict[str, Any] = {
        key: value
        for key, value in (
            ("name", args.name),
            ("country", args.country),
            ("homepage", args.homepage),
            ("logo_url", args.logo_url),
        )
        if value is not None
    }
    if args.identifier is not None:
        changes["identifiers"] = _identifiers(args.identifier)
    if not changes:
        raise ValueError(
            "name at least one of --name, --country, --identifier, --homepage, --logo-url"
        )
    with operating(args) as ledger:
        ledger.edit_issuer_profile(UUID(args.issuer_id), **changes)
        data = _profile(ledger, UUID(args.issuer_id))
    emit(args, data, f"profile of {args.issuer_id} changed: {', '.join(sorted(changes))}")
    return 0


# -- administrators -------------------------------------------------------------------


def cmd_administrator(args: argparse.Namespace) -> int:
    """Add, remove or list an institution's administrators."""
    issuer_id = UUID(args.issuer_id)
    with operating(args) as ledger:
        if args.administrator_command == "add":
            ledger.add_administrator(issuer_id, args.subject)
        elif args.administrator_command == "remove":
            ledger.remove_administrator(issuer_id, args.subject)
        subjects = sorted(ledger.administered_issuer(issuer_id).administrators)
    subject = getattr(args, "subject", "")
    done = {"add": f"added {subject}\n", "remove": f"removed {subject}\n"}.get(
        args.administrator_command, ""
    )
    emit(
        args,
        {"issuer_id": issuer_id, "administrators": subjects},
        done + "administrators: " + (", ".join(subjects) or "-"),
    )
    return 0


# -- policies -------------------------------------------------------------------------


def cmd_policy(args: argparse.Namespace) -> int:
    """Adopt a study-load policy for a period, or show those adopted."""
    issuer_id = UUID(args.issuer_id)
    with operating(args) as ledger:
        if args.policy_command == "adopt":
            policy = policy_for_period(
                args.policy,
                start=_instant(args.start) if args.start else None,
                until=_instant(args.until) if args.until else None,
            )
            ledger.adopt_policy(issuer_id, policy)
        issuer = ledger.administered_issuer(issuer_id)
        in_force = issuer.policy_at(utcnow())
        adopted = list(issuer.policies)
    data = {"in_force": policy_json(in_force), "adopted": [policy_json(p) for p in adopted]}
    lines = [f"in force now: {in_force.reference}: {in_force.description}"]
    lines += [
        f"  adopted {p.reference} from {p.in_force_from.date()} "
        f"until {p.in_force_until.date() if p.in_force_until else 'further notice'}"
        for p in adopted
    ]
    lines.append("catalogue: " + ", ".join(CATALOGUE))
    emit(args, data, "\n".join(lines))
    return 0


# -- keys -----------------------------------------------------------------------------


def _views(store_url: str | None) -> Any:
    from ledger.projections.read_models import ReadModels  # noqa: PLC0415 (read side, on use)
    from ledger.projections.runner import ProjectionRunner  # noqa: PLC0415

    runner = ProjectionRunner(open_ledger(store_url))
    runner.catch_up()
    return ReadModels(runner)


def consequences(store_url: str | None, kid: str, since: datetime) -> dict[str, Any]:
    """What a compromise of ``kid`` from ``since`` invalidates (from the audit trail)."""
    found: dict[str, Any] = _views(store_url).compromise_consequences(
        kid, since=format_datetime(since)
    )
    return found


def _consequence_lines(effects: dict[str, Any]) -> list[str]:
    lines = [f"  {effect}" for effect in effects["effects"]]
    for kind in ("credentials", "institutions", "other_records"):
        if effects[kind]:
            lines.append(f"  {kind.replace('_', ' ')} signed since then:")
            lines += [f"    {record}" for record in effects[kind]]
    return lines


def cmd_key(args: argparse.Namespace) -> int:
    """List, rotate or mark compromised; or show what a key signed since an instant."""
    command = args.key_command
    if command == "signed-since":
        since = _instant(args.since)
        effects = consequences(args.store, args.kid, since)
        lines = _consequence_lines(effects)
        emit(
            args,
            {"kid": args.kid, "since": since, **effects},
            "\n".join(
                [
                    f"signed by {args.kid} since {format_datetime(since)}:",
                    *_consequence_lines(effects),
                ]
            ),
        )
        return 0
    if command == "compromise":
        since = _instant(args.since)
        effects = consequences(args.store, args.kid, since)
        with operating(args) as ledger:
            new_kid = ledger.mark_key_compromised(args.kid, since=since, reason=args.reason)
            owner = ledger.key_registry().keys[args.kid].owner
        lines = [f"key {args.kid} ({owner}) marked compromised since {format_datetime(since)}"]
        if new_kid:
            lines.append(f"  replaced by the new active key {new_kid}")
        emit(
            args,
            {"kid": args.kid, "owner": owner, "since": since, "replaced_by": new_kid, **effects},
            "\n".join(lines + _consequence_lines(effects)),
        )
        return 0
    issuer_id = UUID(args.issuer_id)
    with operating(args) as ledger:
        ledger.administered_issuer(issuer_id)
        new_kid = ledger.rotate_issuer_key(issuer_id) if command == "rotate" else None
        keys = ledger.key_registry().keys_of(str(issuer_id))
    head = f"rotated: new key {new_kid}; the old key is retired, what it signed stays valid\n"
    emit(
        args,
        {"issuer_id": issuer_id, "new_kid": new_kid, "keys": [key_json(k) for k in keys]},
        (head if new_kid else "") + "\n".join(_key_line(k) for k in keys),
    )
    return 0


# -- achievements ---------------------------------------------------------------------


def _spec_file(path: str) -> AchievementSpec:
    try:
        data = orjson.loads(Path(path).read_bytes())
    except orjson.JSONDecodeError as error:
        raise ValueError(f"{path}: not JSON ({error})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: an achievement is a JSON object")
    if "ects" in data:
        data["ects"] = Decimal(str(data["ects"]))
    return AchievementSpec.parse(data)


def cmd_achievement(args: argparse.Namespace) -> int:
    """Define, list, show or revise achievements."""
    command = args.achievement_command
    if command == "define":
        with operating(args) as ledger:
            achievement_id = ledger.define_achievement(UUID(args.issuer_id), _spec_file(args.file))
        emit(args, {"achievement_id": achievement_id}, f"defined achievement {achievement_id}")
        return 0
    if command == "revise":
        with operating(args) as ledger:
            revision = ledger.revise_achievement(
                UUID(args.achievement_id), _spec_file(args.file), reason=args.reason
            )
        emit(
            args,
            {"achievement_id": args.achievement_id, "revision": revision},
            f"achievement {args.achievement_id} is now at revision {revision}",
        )
        return 0
    views = _views(args.store)
    if command == "list":
        with operating(args) as ledger:
            ledger.administered_issuer(UUID(args.issuer_id))
        items = views.achievements_of(UUID(args.issuer_id), limit=1_000_000)
        lines = [
            f"{a['achievement_id']}  r{a['revision']}  {a['kind']:15}  {a['title']}" for a in items
        ]
        emit(args, items, "\n".join(lines) or "no achievements yet")
        return 0
    revisions = views.achievement_revisions(UUID(args.achievement_id))
    if not revisions:
        raise NotFound(f"achievement {args.achievement_id} not found")
    lines = [f"achievement {args.achievement_id} of issuer {revisions[0]['issuer_id']}"]
    for r in revisions:
        spec = r["spec"]
        load = (
            f", {spec.get('study_load_hours')} h / {spec.get('ects')} EC"
            if spec.get("ects")
            else ""
        )
        lines.append(
            f"  revision {r['revision']} at {r['at']} under {r['policy'] or '-'}: "
            f"{spec.get('title')} ({spec.get('kind')}{load})"
            + (f"\n    reason: {r['reason']}" if r["reason"] else "")
        )
    emit(args, revisions, "\n".join(lines))
    return 0


# -- cohorts from CSV ------------------------------------------------------------------


def _stderr_progress(done: int, total: int, what: str) -> None:
    count = f"{done:,} of {total:,}" if total else f"{done:,}"
    sys.stderr.write(f"  {count} {what}\n")
    sys.stderr.flush()


def _report_lines(report: dict[str, Any]) -> list[str]:
    lines = [
        f"{report['rows']:,} rows: {report['rows_ok']:,} ready, "
        f"{report['rows_with_problems']:,} with problems"
    ]
    lines += [f"  header: {p}" for p in report["header_problems"]]
    lines += [f"  row {p['row']}: {'; '.join(p['problems'])}" for p in report["problems"]]
    return lines


def cmd_cohort_template(args: argparse.Namespace) -> int:
    """Print the CSV template of a cohort."""
    from ledger.application import cohort_csv  # noqa: PLC0415

    sys.stdout.write(cohort_csv.TEMPLATE)
    return 0


def cmd_issue_cohort(args: argparse.Namespace) -> int:
    """Check a cohort CSV (``--dry-run``) or issue it in one transaction; exit 1 on problems."""
    from ledger.application import cohort_csv  # noqa: PLC0415

    path = Path(args.file)
    data = path.read_bytes()
    text = cohort_csv.decode(data)
    achievement_id = UUID(args.achievement)
    progress = None if args.quiet else _stderr_progress
    started = time.perf_counter()
    views = _views(args.store)
    with operating(args) as ledger:
        issuer_id = ledger.achievement(achievement_id).issuer_id
        if args.dry_run:
            cohort = cohort_csv.dry_run(
                text,
                achievement_id=achievement_id,
                holders=views.learners_holding,
                learner_ids_of=ledger.learner_ids.of_many,
                progress=progress,
            )
            report = cohort.report()
            verdict = "ready to import" if cohort.ok else "NOT ready: fix the rows above"
            emit(args, report, "\n".join([*_report_lines(report), verdict]))
            return 0 if cohort.ok else 1
        # The file and the achievement make the default key: running the same file again
        # returns the same credentials instead of issuing twice.
        key = args.idempotency_key or (
            "csv:" + hashlib.sha256(achievement_id.bytes + data).hexdigest()
        )
        try:
            done = cohort_csv.import_cohort(
                ledger,
                text,
                issuer_id=issuer_id,
                achievement_id=achievement_id,
                request_id=key,
                holders=views.learners_holding,
                progress=progress,
            )
        except cohort_csv.CohortRefused as refused:
            emit(
                args,
                {"issued": False, **refused.report},
                "\n".join([*_report_lines(refused.report), "nothing was issued"]),
            )
            return 1
    result = Path(args.result) if args.result else path.with_suffix(".result.csv")
    result.write_text(done.result_csv(), encoding="utf-8", newline="")
    seconds = time.perf_counter() - started
    emit(
        args,
        {
            "issued": True,
            "credentials": len(done.rows),
            "result": str(result),
            "idempotency_key": key,
        },
        f"issued {len(done.rows):,} credentials in one transaction ({seconds:.1f} s)\n"
        f"result (row -> credential id): {result}\nidempotency key: {key}",
    )
    return 0


# -- parser ---------------------------------------------------------------------------


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register the console's subcommands on the ``ledger`` parser."""
    _institution_commands(commands, common)
    administrator = commands.add_parser(
        "administrator", parents=[common], help="an institution's administrators"
    )
    actions = administrator.add_subparsers(dest="administrator_command", required=True)
    for name in ("add", "remove"):
        action = actions.add_parser(name, parents=[common])
        action.add_argument("issuer_id")
        action.add_argument("subject", help="the administrator's eduID subject")
    actions.add_parser("list", parents=[common]).add_argument("issuer_id")
    administrator.set_defaults(handler=cmd_administrator)

    policy = commands.add_parser("policy", parents=[common], help="study-load policies")
    actions = policy.add_subparsers(dest="policy_command", required=True)
    adopt = actions.add_parser("adopt", parents=[common], help="adopt a policy for a period")
    adopt.add_argument("issuer_id")
    adopt.add_argument("policy", help=f"one of {', '.join(CATALOGUE)}")
    adopt.add_argument("--from", dest="start", help="start (ISO 8601 with zone)")
    adopt.add_argument("--until", help="end (ISO 8601 with zone)")
    actions.add_parser("show", parents=[common]).add_argument("issuer_id")
    policy.set_defaults(handler=cmd_policy)

    key = commands.add_parser("key", parents=[common], help="signing keys")
    actions = key.add_subparsers(dest="key_command", required=True)
    actions.add_parser("list", parents=[common]).add_argument("issuer_id")
    actions.add_parser("rotate", parents=[common]).add_argument("issuer_id")
    since = actions.add_parser(
        "signed-since", parents=[common], help="what a key signed from an instant on"
    )
    since.add_argument("kid")
    since.add_argument("since", help="ISO 8601 instant with zone")
    compromise = actions.add_parser(
        "compromise", parents=[common], help="mark a key compromised from an instant"
    )
    compromise.add_argument("kid")
    compromise.add_argument("--since", required=True, help="ISO 8601 instant with zone")
    compromise.add_argument("--reason", required=True)
    key.set_defaults(handler=cmd_key)

    achievement = commands.add_parser("achievement", parents=[common], help="achievements")
    actions = achievement.add_subparsers(dest="achievement_command", required=True)
    define = actions.add_parser("define", parents=[common], help="define from a JSON file")
    define.add_argument("issuer_id")
    define.add_argument("file", help="the achievement as JSON (the fields of the HTTP API)")
    actions.add_parser("list", parents=[common]).add_argument("issuer_id")
    actions.add_parser("show", parents=[common]).add_argument("achievement_id")
    revise = actions.add_parser("revise", parents=[common], help="add a revision")
    revise.add_argument("achievement_id")
    revise.add_argument("file", help="the new revision as JSON")
    revise.add_argument("--reason", required=True)
    achievement.set_defaults(handler=cmd_achievement)
    _cohort_commands(commands, common)


def _cohort_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    cohort = commands.add_parser(
        "issue-cohort", parents=[common], help="issue a cohort from a CSV file (or --dry-run)"
    )
    cohort.add_argument("file", help="the CSV file (see GET /v1/cohorts/template.csv)")
    cohort.add_argument("--achievement", required=True, help="the achievement id")
    cohort.add_argument("--dry-run", action="store_true", help="report every row's problems")
    cohort.add_argument("--idempotency-key", help="default: derived from the file's content")
    cohort.add_argument("--result", help="where to write the result CSV (default FILE.result.csv)")
    cohort.add_argument("--quiet", action="store_true", help="no progress on stderr")
    cohort.set_defaults(handler=cmd_issue_cohort)
    template = commands.add_parser(
        "cohort-template", parents=[common], help="print the CSV template"
    )
    template.set_defaults(handler=cmd_cohort_template)


def _institution_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    institution = commands.add_parser("institution", parents=[common], help="institutions")
    actions = institution.add_subparsers(dest="institution_command", required=True)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}
    register = actions.add_parser("register", parents=[common], help="register an institution")
    register.add_argument("name")
    register.add_argument("--country", required=True, help="ISO 3166-1 alpha-2, e.g. NL")
    register.add_argument(
        "--identifier", action="append", help="SCHEME=VALUE, e.g. BRIN=21PB or OIN=… (repeatable)"
    )
    register.add_argument("--homepage")
    register.add_argument("--logo-url")
    register.add_argument("--administrator", action="append", help="eduID subject (repeatable)")
    handlers["register"] = cmd_register
    actions.add_parser("list", parents=[common], help="every institution")
    handlers["list"] = cmd_list
    actions.add_parser("show", parents=[common]).add_argument("issuer_id")
    handlers["show"] = cmd_show
    edit = actions.add_parser("edit", parents=[common], help="edit the public profile")
    edit.add_argument("issuer_id")
    edit.add_argument("--name")
    edit.add_argument("--country")
    edit.add_argument("--identifier", action="append", help="replaces all identifiers")
    edit.add_argument("--homepage")
    edit.add_argument("--logo-url")
    handlers["edit"] = cmd_edit

    def dispatch(args: argparse.Namespace) -> int:
        return handlers[args.institution_command](args)

    institution.set_defaults(handler=dispatch)
