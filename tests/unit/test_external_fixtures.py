"""Every public fixture under ``external/``, with the outcome its source expects.

Sources and how their expectation is read:

* DCC vc-test-fixtures and verifier-core: the file name says it (``noStatus``,
  ``revokedStatus``, ``expired``, ``notYetValid``, ``tampered``, ``badDidWeb``,
  ``expiredStatus``/``notYetValidStatus``/``tamperedStatus``/``missingTypeStatus``
  for a bad status list, ``ValidStatus``, ``BadStatusUrl``). did:web documents and
  status lists are served from the fixtures by a fetcher standing in for HTTPS.
  DCC's status lists hold 100,000 entries, fewer than the 131,072 Bitstring Status
  List requires ("STATUS_LIST_LENGTH_ERROR MUST be raised"): strict checking
  refuses them (tested), and the expectations below are read with the one
  tolerance ``short-list``, which the report names.
* ``derived``: verifier-core's negative cases (no context, no VC context, no
  proof, a non-URL id, tampered): each must fail.
* W3C vc-di-eddsa: every intermediate value, the signed examples, the proof sets
  and chains (verified, and reproduced by signing with ``multiKeyPairs``).
* 1EdTech: the OB 3.0 proof example's intermediates and signature.
* bitstring, C2SP, golang sumdb note, W3C examples context: as their ``expect``
  fields and notes say.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ledger.standards.bitstring_status_list import Bitstring, DecodePolicy, StatusListDecodeError
from ledger.standards.credential_checker import CheckPolicy, CredentialChecker
from ledger.standards.dataintegrity import (
    decode_secret_key_multibase,
    hashing_intermediates,
    multibase_encode,
    resolve_did_key,
    verify,
    verify_proof_set,
)
from ledger.standards.dataintegrity.loader import load_context
from ledger.standards.did_documents import DidResolver
from ledger.transparency.checkpoint_note import (
    CheckpointError,
    parse_signed_note,
    parse_verifier_key,
    verify_note,
)
from tests.external_vectors import external, load_json

DCC = "dcc-vc-test-fixtures"
FIXTURE_SITE = "https://digitalcredentials.github.io/vc-test-fixtures/"
VERIFIER_CORE_STATUS = (
    "https://raw.githubusercontent.com/digitalcredentials/verifier-core/refs/heads/main/"
    "src/test-fixtures/status/e5WK8CbZ1GjycuPombrj"
)


def _served() -> dict[str, Path]:
    lists = external(DCC, "statusLists", "didkey-ed25519Signature2020")
    served = {
        f"{FIXTURE_SITE}dids/legacy/did.json": external(DCC, "dids", "legacy", "did.json"),
        f"{FIXTURE_SITE}dids/oidf/did.json": external(DCC, "dids", "oidf", "did.json"),
        VERIFIER_CORE_STATUS: external("dcc-verifier-core", "status-e5WK8CbZ1GjycuPombrj.json"),
    }
    for path in lists.iterdir():
        served[f"{FIXTURE_SITE}statusLists/didkey-ed25519Signature2020/{path.name}"] = path
    return served


def fetch(url: str) -> dict[str, Any]:
    """HTTPS as the fixtures' sites would answer it; anything else is not found."""
    path = _served().get(url)
    if path is None:
        raise LookupError(f"404 {url}")
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def checker(*tolerate: str) -> CredentialChecker:
    return CredentialChecker(
        resolver=DidResolver(public_url="https://verifier.test", keyring=None, fetch=fetch),
        status_lists=fetch,
        policy=CheckPolicy.tolerating(tolerate),
    )


def _dcc_files() -> list[str]:
    root = external(DCC, "verifiableCredentials")
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.json"))


BAD_LIST = {"expiredStatus", "notYetValidStatus", "tamperedStatus", "missingTypeStatus"}


#: Files whose content contradicts their name: the content decides (VC 2.0 4.9:
#: past ``validUntil`` means not valid), and the disagreement is stated here.
NAMED_WRONG = {
    # Named noExpiry, but carries validUntil 2010-01-02T00:00:00Z.
    "v2/dataIntegrityProof/didKey/noRegistry-revokedStatus-noExpiry.json": "expired",
}


def expected_failures(name: str) -> dict[str, str | None]:
    """Failed checks (and an error code or detail word) the file name announces."""
    tokens = set(Path(name).stem.replace(" ", "").split("-"))
    if name in NAMED_WRONG:
        tokens.add(NAMED_WRONG[name])
    failed: dict[str, str | None] = {}
    if "tampered" in tokens or Path(name).stem == "badDidWeb":
        failed["proof"] = None
    if "expired" in tokens or "notYetValid" in tokens:
        failed["validity-period"] = "VALIDITY_PERIOD_ERROR"
    if tokens & BAD_LIST:
        failed["status:revocation"] = "STATUS_VERIFICATION_ERROR"
    if "revokedStatus" in tokens or "revoked" in tokens:
        failed["status:revocation"] = "revoked"
    return failed


def _failed(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["check"]: c for c in report["checks"] if c["outcome"] == "failed"}


@pytest.mark.parametrize("name", _dcc_files())
def test_dcc_fixture_has_the_outcome_its_name_states(name: str) -> None:
    document = load_json(DCC, "verifiableCredentials", name)
    report = checker("short-list").check(document).to_json()
    want = expected_failures(name)
    failed = _failed(report)
    assert set(failed) == set(want), (name, failed)
    assert report["verified"] is (not want)
    for check, marker in want.items():
        if marker is None:
            continue
        found = failed[check]
        assert marker == found["error"] or marker in found["detail"], (name, found)


def test_dcc_fixture_names_cover_every_kind_of_outcome() -> None:
    kinds = {frozenset(expected_failures(n)) for n in _dcc_files()}
    assert frozenset() in kinds and frozenset({"proof"}) in kinds
    assert frozenset({"status:revocation"}) in kinds
    assert frozenset({"validity-period", "status:revocation"}) in kinds


def test_dcc_short_status_list_is_refused_when_strict() -> None:
    name = "v2/ed25519/didKey/noRegistry-revokedStatus-notExpired.json"
    report = checker().check(load_json(DCC, "verifiableCredentials", name)).to_json()
    status = _failed(report)["status:revocation"]
    assert status["error"] == "STATUS_LIST_LENGTH_ERROR"
    tolerant = checker("short-list").check(load_json(DCC, "verifiableCredentials", name))
    assert tolerant.to_json()["policy"]["tolerated"] == ["short-list"]


def test_dcc_proof_set_of_both_signature_types_verifies_both() -> None:
    name = "v2/bothSignatureTypes/didkey/legacy-noStatus-noExpiry.json"
    report = checker().check(load_json(DCC, "verifiableCredentials", name)).to_json()
    proof = next(c for c in report["checks"] if c["check"] == "proof")
    assert "Ed25519Signature2020" in proof["detail"] and "eddsa-rdfc-2022" in proof["detail"]
    assert "all 2 proofs" in proof["detail"]


def test_dcc_did_documents_embed_ed25519_2020_methods() -> None:
    for kind in ("legacy", "oidf"):
        document = load_json(DCC, "dids", kind, "did.json")
        method = document["assertionMethod"][0]
        # Embedded in assertionMethod (DID Core allows it); legacy uses the 2020 key type.
        assert isinstance(method, dict)
        assert method["type"] == {"legacy": "Ed25519VerificationKey2020", "oidf": "Multikey"}[kind]
        resolver = DidResolver(public_url="https://verifier.test", keyring=None, fetch=fetch)
        resolved = resolver.resolve(method["id"])
        assert resolved.did == document["id"]


@pytest.mark.parametrize(
    ("name", "failed"),
    [
        ("v2EddsaWithValidStatus.json", {}),
        ("v2DoubleSigWithValidStatus.json", {}),
        ("v2DoubleSigWithBadStatusUrl.json", {"status:revocation": "STATUS_RETRIEVAL_ERROR"}),
        # Breaks JSON-LD "safe mode": a term no context defines would fall out of the
        # signature; verifier-core refuses it, so do we (naming the term).
        ("safeModeBreaker.json", {"proof": "PROOF_TRANSFORMATION_ERROR", "status": None}),
        # The status list credential itself, checked as a credential.
        ("status-e5WK8CbZ1GjycuPombrj.json", {}),
    ],
)
def test_verifier_core_fixture(name: str, failed: dict[str, str | None]) -> None:
    report = checker("short-list").check(load_json("dcc-verifier-core", name)).to_json()
    found = _failed(report)
    assert set(found) == set(failed), found
    for check, code in failed.items():
        if code is not None:
            assert found[check]["error"] == code, found[check]
    assert report["verified"] is (not failed)


@pytest.mark.parametrize(
    ("name", "failed"),
    [
        ("verifier-core-noContext.json", {"structure", "proof"}),
        ("verifier-core-noVcContext.json", {"structure", "proof"}),
        ("verifier-core-noProof.json", {"proof"}),
        ("verifier-core-nonUriId.json", {"structure", "proof"}),
        ("verifier-core-tampered.json", {"proof"}),
    ],
)
def test_derived_negative_fixture_fails(name: str, failed: set[str]) -> None:
    report = checker("short-list").check(load_json("derived", name)).to_json()
    assert set(_failed(report)) == failed
    assert report["verified"] is False


# -- W3C vc-di-eddsa -------------------------------------------------------------

EDDSA = "w3c-vc-di-eddsa"


def _text(*parts: str) -> str:
    return external(*parts).read_text().strip()


@pytest.mark.parametrize("folder", [(), ("employ",)])
def test_w3c_eddsa_intermediates_and_signature(folder: tuple[str, ...]) -> None:
    base = (EDDSA, "eddsa-rdfc-2022", *folder)
    signed = load_json(*base, "signedDataInt.json")
    config = load_json(*base, "proofConfigDataInt.json")
    unsecured = load_json(EDDSA, "employmentAuth.json" if folder else "unsigned.json")
    assert {k: v for k, v in signed.items() if k != "proof"} == unsecured
    values = hashing_intermediates(unsecured, {k: v for k, v in config.items() if k != "@context"})
    assert values.canonical_document.strip() == _text(*base, "canonDocDataInt.txt")
    assert values.canonical_proof_config.strip() == _text(*base, "proofCanonDataInt.txt")
    assert values.document_hash.hex() == _text(*base, "docHashDataInt.txt")
    assert values.proof_config_hash.hex() == _text(*base, "proofHashDataInt.txt")
    assert values.hash_data.hex() == _text(*base, "combinedHashDataInt.txt")
    keys = load_json(EDDSA, "keyPair.json")
    private = decode_secret_key_multibase(keys["privateKeyMultibase"])
    signature = private.sign(values.hash_data)
    assert signature.hex() == _text(*base, "sigHexDataInt.txt")
    assert multibase_encode(signature) == _text(*base, "sigBTC58DataInt.txt")
    method = signed["proof"]["verificationMethod"]
    verify(signed, public_key=resolve_did_key(method).public_key)


def _did_key(method: str) -> Any:
    return resolve_did_key(method).public_key


@pytest.mark.parametrize(
    ("name", "count"),
    [
        ("signedProofSet1.json", 1),
        ("signedProofSet2.json", 2),
        ("signedProofChain1.json", 3),
        ("signedProofChain2.json", 4),
    ],
)
def test_w3c_proof_sets_and_chains_verify(name: str, count: int) -> None:
    document = load_json(EDDSA, "proof-set-chain", name)
    verified = verify_proof_set(
        document, key_for=_did_key, expected_proof_purpose="assertionMethod"
    )
    assert len(verified) == count
    # Breaking the chain (a previous proof dropped) is refused, naming the missing id.
    if count > 2:
        broken = {**document, "proof": [p for p in document["proof"] if "previousProof" in p]}
        with pytest.raises(Exception, match="previousProof"):
            verify_proof_set(broken, key_for=_did_key)


@pytest.mark.parametrize(
    ("config", "signed", "document", "key"),
    [
        ("proofSetConfig1.json", "proofSetConfigSigned1.json", "unsigned.json", "keyPair1"),
        ("proofSetConfig2.json", "proofSetConfigSigned2.json", "unsigned.json", "keyPair2"),
        (
            "proofChainConfig1.json",
            "proofChainConfigSigned1.json",
            "proofChainTempDoc1.json",
            "keyPair3",
        ),
        (
            "proofChainConfig2.json",
            "proofChainConfigSigned2.json",
            "proofChainTempDoc2.json",
            "keyPair4",
        ),
    ],
)
def test_w3c_proof_set_and_chain_signatures_are_reproduced(
    config: str, signed: str, document: str, key: str
) -> None:
    folder = (EDDSA, "proof-set-chain")
    options = load_json(*folder, config)
    options = {k: v for k, v in options.items() if k != "@context"}
    values = hashing_intermediates(load_json(*folder, document), options)
    private = decode_secret_key_multibase(
        load_json(*folder, "multiKeyPairs.json")[key]["privateKeyMultibase"]
    )
    assert (
        multibase_encode(private.sign(values.hash_data)) == load_json(*folder, signed)["proofValue"]
    )


# -- 1EdTech OB 3.0 proof example --------------------------------------------------


def test_1edtech_ob_example_intermediates_and_signature() -> None:
    folder = "1edtech-openbadges-specification"
    signed = load_json(folder, "signed-credential.json")
    values = load_json(folder, "vector-values.json")
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    options = {k: v for k, v in signed["proof"].items() if k != "proofValue"}
    got = hashing_intermediates(unsecured, options)
    assert got.canonical_document.strip() == _text(folder, "document-canon.txt")
    assert got.canonical_proof_config.strip() == _text(folder, "proof-canon.txt")
    assert got.document_hash.hex() == values["Document hash (hex)"]
    assert got.proof_config_hash.hex() == values["Proof hash (hex)"]
    assert got.hash_data.hex() == values["Data to sign (hex)"]
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(bytes.fromhex(values["Public key (hex)"]))
    verify(signed, public_key=public)
    # The example's method is an HTTPS URL, not a DID: the checker names what it refuses.
    report = checker().check(signed).to_json()
    proof = _failed(report)["proof"]
    assert "unsupported DID method" in proof["detail"] and "https://example.edu" in proof["detail"]


# -- status lists, notes, contexts --------------------------------------------------


@pytest.mark.parametrize(
    "case", load_json("bitstring", "vectors.json")["cases"], ids=lambda c: c["name"]
)
def test_bitstring_vector(case: dict[str, Any]) -> None:
    policy = CheckPolicy.tolerating([] if case["policy"] == "strict" else [case["policy"]]).decode
    expect = case["expect"]
    if not expect["decodes"]:
        with pytest.raises((StatusListDecodeError, ValueError)) as raised:
            Bitstring.decode(case["encodedList"], policy=policy)
        if expect.get("error") == "STATUS_LIST_LENGTH_ERROR":
            assert "short" in type(raised.value).__name__.lower() or "entries" in str(raised.value)
        return
    bits = Bitstring.decode(case["encodedList"], policy=policy)
    if "length_bits" in expect:
        assert len(bits) == expect["length_bits"]
    if "set_bits" in expect:
        assert list(bits.iter_set()) == expect["set_bits"]
    for index, value in expect.get("status", {}).items():
        assert bits.get_status(int(index)) == value
    if "range_error_at" in expect:
        with pytest.raises(IndexError):
            bits.get_status(expect["range_error_at"])


def test_decode_policy_names_are_the_checker_tolerances() -> None:
    assert isinstance(CheckPolicy.tolerating(["short-list"]).decode, DecodePolicy)


def test_c2sp_signed_note_and_checkpoint_examples() -> None:
    vectors = load_json("c2sp", "vectors.json")
    example = vectors["signed_note_example"]
    key = parse_verifier_key(example["vkey"])
    assert verify_note(example["note"], key_name=key.name, public_key=key.public_key) == (
        "This is an example message.\n"
    )
    checkpoint, signatures = parse_signed_note(vectors["tlog_checkpoint_example"]["note"])
    assert checkpoint.origin == "example.com/behind-the-sofa"
    assert checkpoint.size == 20852163
    assert [s.key_name for s in signatures] == ["example.com/behind-the-sofa"]


def test_golang_note_open_cases() -> None:
    vectors = load_json("golang-mod-sumdb-note", "vectors.json")
    keys = {
        "peter": parse_verifier_key(vectors["peterKey"]),
        "enoch": parse_verifier_key(vectors["enochKey"]),
    }
    cases = vectors["open_cases"]
    assert len(cases) == 14
    for case in cases:
        key = keys[case["key"]]
        if "note_bytes_hex" in case:
            # Not UTF-8: our notes are text, so such bytes never reach the verifier.
            with pytest.raises(UnicodeDecodeError):
                bytes.fromhex(case["note_bytes_hex"]).decode("utf-8")
            assert case["wantErr"]
            continue
        if case["wantErr"]:
            with pytest.raises(CheckpointError):
                verify_note(case["note"], key_name=key.name, public_key=key.public_key)
        else:
            assert (
                verify_note(case["note"], key_name=key.name, public_key=key.public_key)
                == vectors["text"]
            )
    for bad in vectors["badKeys_explicit"]:
        with pytest.raises(CheckpointError):
            parse_verifier_key(bad)


def test_w3c_examples_context_is_the_bundled_one() -> None:
    assert load_json("w3c-vc-data-model", "credentials-examples-v2.json") == load_context(
        "https://www.w3.org/ns/credentials/examples/v2"
    )


def test_every_external_fixture_file_is_named_by_a_test_here() -> None:
    # A guard against a fixture added to external/ and never read: each file's
    # folder is one this module (or the Merkle and SURF modules) reads.
    covered = {
        "1edtech-openbadges-specification",
        "bitstring",
        "c2sp",
        DCC,
        "dcc-verifier-core",
        "derived",
        "educredentials-obv3-examples",
        "golang-mod-sumdb-note",
        "transparency-dev-merkle",
        "w3c-vc-data-model",
        EDDSA,
    }
    root = external()
    folders = {p.name for p in root.iterdir() if p.is_dir()}
    assert folders == covered, folders ^ covered
