"""The claims inbox on the command line: ``ledger claims list|show|approve|reject``.

The same inbox as the console's page and ``GET /v1/issuers/{id}/claims``: claims
addressed to an institution, pending by default, each with its evidence credentials
checked live (``claim_evidence.checked``: read from the log now, every event's
signature and chain checked, the state at this instant); decisions with a reason,
signed as the local operator like the other console commands.
"""

from __future__ import annotations

import argparse
from typing import Any
from uuid import UUID

from ledger.application import claim_evidence
from ledger.cli.console_commands import _views, emit, operating

STATES = ("pending", "approved", "rejected", "withdrawn", "any")


def _evidence_lines(evidence: list[dict[str, Any]]) -> list[str]:
    lines = []
    for item in evidence:
        what = item.get("achievement") or item["credential_id"]
        held = "" if item.get("held_by_claimant", True) else ", NOT held by the claimant"
        lines.append(
            f"    evidence {item['credential_id']}: {what} ({item.get('issuer_name') or '?'}), "
            f"state {item['state'] or 'unknown'}, signatures {item['signatures']}{held}"
        )
    return lines


def _claim_lines(claim: dict[str, Any]) -> list[str]:
    decided = f", decided {claim['decided_at']}" if claim.get("decided_at") else ""
    reason = f": {claim['reason']}" if claim.get("reason") else ""
    return [
        f"{claim['claim_id']}  {claim['programme']}  {claim['state']}{reason}{decided}",
        *_evidence_lines(claim["evidence"]),
    ]


def cmd_claims(args: argparse.Namespace) -> int:
    """List, show or decide exemption claims addressed to an institution."""
    views = _views(args.store)
    with operating(args) as ledger:
        if args.claims_command == "list":
            claims = views.claims_at(
                UUID(args.issuer_id),
                state=None if args.state == "any" else args.state,
                programme=args.programme,
                limit=args.limit,
            )
            for claim in claims:
                claim["evidence"] = claim_evidence.checked(
                    ledger, views, claim["credential_ids"], claim["learner_id"]
                )
            lines = [line for claim in claims for line in _claim_lines(claim)]
            emit(args, claims, "\n".join(lines) or f"no {args.state} claims")
            return 0
        claim_id = UUID(args.claim_id)
        if args.claims_command in ("approve", "reject"):
            ledger.decide_exemption_claim(
                claim_id, approve=args.claims_command == "approve", reason=args.reason
            )
        found = ledger.exemption_claim(claim_id)
        shown = claim_evidence.claim_view(ledger, views, found)
        emit(args, shown, "\n".join(_claim_lines(shown)))
    return 0


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Register ``ledger claims`` on the ``ledger`` parser."""
    claims = commands.add_parser("claims", parents=[common], help="the claims inbox")
    actions = claims.add_subparsers(dest="claims_command", required=True)
    listing = actions.add_parser("list", parents=[common], help="claims addressed to an issuer")
    listing.add_argument("issuer_id")
    listing.add_argument("--state", choices=STATES, default="pending")
    listing.add_argument("--programme", help="only claims for this programme")
    listing.add_argument("--limit", type=int, default=200)
    actions.add_parser("show", parents=[common], help="one claim").add_argument("claim_id")
    for name in ("approve", "reject"):
        decide = actions.add_parser(name, parents=[common], help=f"{name} a pending claim")
        decide.add_argument("claim_id")
        decide.add_argument("--reason", required=True, help="the learner reads it")
    claims.set_defaults(handler=cmd_claims)
