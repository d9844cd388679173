"""One handle on every projection's queries, for the API and the CLI (CQRS views).

The queries themselves live with their projection (``backpack``, ``status``,
``exemptions``, ``audit_trails``; the Merkle tree's in ``merkle_log.MerkleLogView``);
this class only gathers them, so a route needs one dependency. Nothing here writes.
"""

from __future__ import annotations

from ledger.projections.audit_trails import AuditQueries
from ledger.projections.backpack import BackpackQueries
from ledger.projections.exemptions import ExemptionQueries
from ledger.projections.institutions import InstitutionQueries
from ledger.projections.status import StatusQueries


class ReadModels(
    BackpackQueries, StatusQueries, ExemptionQueries, AuditQueries, InstitutionQueries
):
    """Queries over the projections of one store (``ReadModels(runner)``)."""
