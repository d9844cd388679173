"""Checkpoints and Merkle proofs through a real server, checked with the standalone verifier."""

from __future__ import annotations

import base64
import hashlib

import pytest
from ledger.projections.runner import ProjectionRunner

from ledger.domain.keyregistry import OPERATOR
from ledger.eventlog.signing_keys import decode_public_key
from ledger.transparency.checkpoint_note import verify_checkpoint
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher
from ledger.transparency.proof_verifier import ProofError, verify_consistency, verify_inclusion
from tests.e2e.conftest import Server
from tests.e2e.test_api import assert_problem, issue, setup_issuer


def publish(server: Server) -> int:
    publisher = CheckpointPublisher(
        ProjectionRunner(server.ledger), CheckpointPolicy(origin=server.settings.log_origin)
    )
    published = publisher.publish()
    assert published is not None
    return published.tree_size


def leaf_hash(signed_bytes: str) -> bytes:
    return hashlib.sha256(b"\x00" + signed_bytes.encode("utf-8")).digest()


def test_checkpoints_and_proofs_verify_independently(server: Server) -> None:
    client = server.client
    auditor = server.token("auditor", "auditor@example")
    issuer_id, headers, achievement_id = setup_issuer(server)
    assert_problem(client.get("/v1/log/checkpoint"), 404, "not-found")
    for n in range(3):
        issue(server, issuer_id, headers, achievement_id, f"learner-{n}")
    first = publish(server)
    for n in range(3, 5):
        issue(server, issuer_id, headers, achievement_id, f"learner-{n}")
    second = publish(server)

    # The latest checkpoint is public and verifies with the operator key alone.
    response = client.get("/v1/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    operator = server.ledger.keyring.active_key(OPERATOR)
    assert operator is not None
    latest = verify_checkpoint(
        response.text,
        key_name=server.settings.log_origin,
        public_key=decode_public_key(operator.public_key),
    )
    assert latest.size == second

    listed = client.get("/v1/audit/checkpoints", headers=auditor).json()["checkpoints"]
    assert [c["tree_size"] for c in listed] == [first, second]
    roots = {c["tree_size"]: bytes.fromhex(c["root_hash"]) for c in listed}
    assert roots[second] == latest.root_hash

    events = client.get("/v1/audit/log", params={"limit": 1000}, headers=auditor).json()["events"]
    for index, event in enumerate(events[:first]):
        proof = client.get(
            "/v1/audit/proofs/inclusion",
            params={"position": event["position"], "tree_size": first},
            headers=auditor,
        ).json()
        assert proof["leaf_index"] == index
        assert bytes.fromhex(proof["leaf_hash"]) == leaf_hash(event["signed_bytes"])
        verify_inclusion(
            leaf_hash=leaf_hash(event["signed_bytes"]),
            index=index,
            size=first,
            proof=[bytes.fromhex(h) for h in proof["proof"]],
            root=roots[first],
        )
    consistency = client.get(
        "/v1/audit/proofs/consistency", params={"first": first, "second": second}, headers=auditor
    ).json()
    verify_consistency(
        old_size=first,
        new_size=second,
        old_root=roots[first],
        new_root=roots[second],
        proof=[bytes.fromhex(h) for h in consistency["proof"]],
    )
    # A proof for a changed event does not verify.
    forged = events[0]["signed_bytes"].replace("ledger", "ledgeR", 1)
    with pytest.raises(ProofError):
        verify_inclusion(
            leaf_hash=leaf_hash(forged),
            index=0,
            size=first,
            proof=[
                bytes.fromhex(h)
                for h in client.get(
                    "/v1/audit/proofs/inclusion",
                    params={"position": events[0]["position"], "tree_size": first},
                    headers=auditor,
                ).json()["proof"]
            ],
            root=roots[first],
        )
    assert base64.b64decode(response.text.splitlines()[2]) == latest.root_hash


def test_proof_routes_refuse_bad_requests(server: Server) -> None:
    client = server.client
    auditor = server.token("auditor", "auditor@example")
    issuer_id, headers, achievement_id = setup_issuer(server)
    issue(server, issuer_id, headers, achievement_id, "learner")
    size = publish(server)
    inclusion = "/v1/audit/proofs/inclusion"
    assert_problem(
        client.get(inclusion, params={"position": 1, "tree_size": 1}), 401, "unauthenticated"
    )
    learner = server.token("learner", "learner")
    assert_problem(
        client.get(inclusion, params={"position": 1, "tree_size": 1}, headers=learner),
        403,
        "forbidden",
    )
    assert_problem(
        client.get(inclusion, params={"position": 1, "tree_size": size + 50}, headers=auditor),
        422,
        "invalid-input",
    )
    assert_problem(
        client.get(inclusion, params={"position": 10_000, "tree_size": size}, headers=auditor),
        404,
        "not-found",
    )
    last = client.get("/v1/audit/log", params={"limit": 1000}, headers=auditor).json()["events"][-1]
    assert_problem(
        client.get(
            inclusion, params={"position": last["position"], "tree_size": 1}, headers=auditor
        ),
        422,
        "invalid-input",
    )
    assert_problem(
        client.get(
            "/v1/audit/proofs/consistency", params={"first": 3, "second": 2}, headers=auditor
        ),
        422,
        "invalid-input",
    )
    assert_problem(
        client.get(
            "/v1/audit/proofs/inclusion", params={"position": "x", "tree_size": 1}, headers=auditor
        ),
        422,
        "invalid-input",
    )
