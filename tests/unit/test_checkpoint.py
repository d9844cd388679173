"""Tests for ledger.transparency.checkpoint_note: C2SP tlog-checkpoint bodies in Ed25519 signed notes."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.transparency.checkpoint_note import (
    Checkpoint,
    CheckpointError,
    encode_verifier_key,
    key_id,
    parse_signed_note,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)
from ledger.transparency.merkle_tree import MerkleTree

# Reference vector from the documentation of golang.org/x/mod/sumdb/note
# (note.go, "Example"): a signer key, its verifier key, and the exact signed
# note the Go implementation produces. Ed25519 is deterministic, so our
# encoder must reproduce it byte for byte.
GO_SIGNER_KEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER_KEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_SIG_LINE = (
    "\u2014 PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
GO_NOTE = GO_TEXT + "\n" + GO_SIG_LINE
# Same note re-signed by a second key (EnochRoot) whose verifier key the
# example does not publish: an unknown signer that verifiers must ignore.
GO_ENOCH_LINE = (
    "\u2014 EnochRoot "
    "rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n"
)

ORIGIN = "ledger.example/credentials"
ROOT = hashlib.sha256(b"some root").digest()


def _go_private_key() -> Ed25519PrivateKey:
    material = base64.b64decode(GO_SIGNER_KEY.split("+", 4)[4])
    assert material[0] == 0x01
    return Ed25519PrivateKey.from_private_bytes(material[1:])


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def checkpoint() -> Checkpoint:
    return Checkpoint(
        origin=ORIGIN,
        size=20852163,
        root_hash=ROOT,
        extensions=("time 2024-05-01T12:00:00Z",),
    )


# -- reference vector --------------------------------------------------------


def test_go_reference_note_is_reproduced_exactly() -> None:
    priv = _go_private_key()
    assert encode_verifier_key("PeterNeumann", priv.public_key()) == GO_VERIFIER_KEY
    assert sign_note(GO_TEXT, key_name="PeterNeumann", private_key=priv) == GO_NOTE


def test_go_reference_note_verifies_with_published_verifier_key() -> None:
    vkey = parse_verifier_key(GO_VERIFIER_KEY)
    assert vkey.name == "PeterNeumann"
    assert vkey.key_id.hex() == "c74f20a3"
    assert verify_note(GO_NOTE, key_name=vkey.name, public_key=vkey.public_key) == GO_TEXT
    doubly = GO_NOTE + GO_ENOCH_LINE
    assert verify_note(doubly, key_name=vkey.name, public_key=vkey.public_key) == GO_TEXT
    with pytest.raises(CheckpointError):
        verify_note(
            GO_NOTE.replace("cryptography", "cryptographY"),
            key_name=vkey.name,
            public_key=vkey.public_key,
        )


def test_key_id_formula() -> None:
    priv = _go_private_key()
    raw = priv.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    expected = hashlib.sha256(b"PeterNeumann" + b"\n" + b"\x01" + raw).digest()[:4]
    assert key_id("PeterNeumann", priv.public_key()) == expected == bytes.fromhex("c74f20a3")


# -- format ------------------------------------------------------------------


def test_body_format(checkpoint: Checkpoint) -> None:
    assert checkpoint.format_body() == (
        f"{ORIGIN}\n20852163\n{base64.b64encode(ROOT).decode()}\ntime 2024-05-01T12:00:00Z\n"
    )


def test_signed_note_layout(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key_name=ORIGIN, private_key=key)
    body, _, sig_block = note.partition("\n\n")
    assert body + "\n" == checkpoint.format_body()
    assert sig_block.startswith("\u2014 " + ORIGIN + " ")
    assert sig_block.endswith("\n") and sig_block.count("\n") == 1
    blob = base64.b64decode(sig_block.split(" ")[2])
    assert blob[:4] == key_id(ORIGIN, key.public_key())
    key.public_key().verify(blob[4:], checkpoint.format_body().encode())


def test_roundtrip(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    note = sign_checkpoint(checkpoint, key_name=ORIGIN, private_key=key)
    assert verify_checkpoint(note, key_name=ORIGIN, public_key=key.public_key()) == checkpoint
    parsed, sigs = parse_signed_note(note)
    assert parsed == checkpoint
    assert [(s.key_name, s.key_id) for s in sigs] == [(ORIGIN, key_id(ORIGIN, key.public_key()))]


def test_roundtrip_with_real_tree(key: Ed25519PrivateKey) -> None:
    tree = MerkleTree()
    tree.extend(f"event-{i}".encode() for i in range(10))
    stamp = datetime(2024, 5, 1, tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cp = Checkpoint(ORIGIN, tree.size, tree.root(), (f"time {stamp}",))
    got = verify_checkpoint(
        sign_checkpoint(cp, key_name=ORIGIN, private_key=key),
        key_name=ORIGIN,
        public_key=key.public_key(),
    )
    assert (got.size, got.root_hash) == (10, tree.root())


def test_empty_tree_checkpoint(key: Ed25519PrivateKey) -> None:
    cp = Checkpoint(ORIGIN, 0, hashlib.sha256(b"").digest())
    note = sign_checkpoint(cp, key_name=ORIGIN, private_key=key)
    assert note.split("\n")[1] == "0"
    assert verify_checkpoint(note, key_name=ORIGIN, public_key=key.public_key()) == cp


@settings(max_examples=50, deadline=None)
@given(
    origin=st.text(
        st.characters(min_codepoint=0x21, max_codepoint=0x2FFF, exclude_characters="+\u2014"),
        min_size=1,
        max_size=30,
    ).filter(lambda s: not any(c.isspace() for c in s)),
    size=st.integers(0, 2**63),
    root=st.binary(min_size=32, max_size=32),
    extensions=st.lists(
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x2FFF), min_size=1, max_size=20),
        max_size=3,
    ),
)
def test_roundtrip_property(origin: str, size: int, root: bytes, extensions: list[str]) -> None:
    priv = Ed25519PrivateKey.from_private_bytes(b"\x07" * 32)
    cp = Checkpoint(origin, size, root, tuple(extensions))
    note = sign_checkpoint(cp, key_name=origin, private_key=priv)
    assert verify_checkpoint(note, key_name=origin, public_key=priv.public_key()) == cp


# -- tampering and malformed input -------------------------------------------


def _signed(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> str:
    return sign_checkpoint(checkpoint, key_name=ORIGIN, private_key=key)


def _rejects(note: str, key: Ed25519PrivateKey, key_name: str = ORIGIN) -> None:
    with pytest.raises(CheckpointError):
        verify_checkpoint(note, key_name=key_name, public_key=key.public_key())


def test_tampered_size(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    _rejects(_signed(key, checkpoint).replace("\n20852163\n", "\n20852164\n"), key)


def test_tampered_root(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    note = _signed(key, checkpoint)
    other = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    _rejects(note.replace(base64.b64encode(ROOT).decode(), other), key)


def test_tampered_origin(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    note = _signed(key, checkpoint)
    _rejects("evil.example/log" + note[len(ORIGIN) :], key)


def test_tampered_extension(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    _rejects(_signed(key, checkpoint).replace("12:00:00Z", "12:00:01Z"), key)


def test_tampered_signature(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    note = _signed(key, checkpoint)
    body, _, line = note.partition("\n\n")
    prefix, blob = line.rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 0x01
    _rejects(f"{body}\n\n{prefix} {base64.b64encode(bytes(raw)).decode()}\n", key)


def test_wrong_key(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    other = Ed25519PrivateKey.from_private_bytes(b"\x42" * 32)
    _rejects(_signed(key, checkpoint), other)


def test_wrong_key_name(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    _rejects(_signed(key, checkpoint), key, key_name="someone.else/log")


def test_same_name_and_id_but_bad_signature_rejects_even_with_a_good_one(
    key: Ed25519PrivateKey, checkpoint: Checkpoint
) -> None:
    note = _signed(key, checkpoint)
    body, _, line = note.partition("\n\n")
    prefix, blob = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(blob))
    raw[10] ^= 0xFF
    forged = f"{prefix} {base64.b64encode(bytes(raw)).decode()}\n"
    _rejects(f"{body}\n\n{line}{forged}", key)


def test_unknown_signatures_are_ignored(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    witness = Ed25519PrivateKey.from_private_bytes(b"\x09" * 32)
    note = _signed(key, checkpoint)
    body = checkpoint.format_body()
    witness_line = sign_note(body, key_name="witness.example", private_key=witness).split("\n\n")[1]
    cosigned = note + witness_line
    assert verify_checkpoint(cosigned, key_name=ORIGIN, public_key=key.public_key()) == checkpoint
    assert (
        verify_checkpoint(cosigned, key_name="witness.example", public_key=witness.public_key())
        == checkpoint
    )
    # Only the witness signature present: the log key finds nothing to trust.
    _rejects(body + "\n" + witness_line, key)


@pytest.mark.parametrize(
    "mangle",
    [
        pytest.param(lambda n: n.replace("\n\n", "\n", 1), id="missing-blank-line"),
        pytest.param(lambda n: n.replace("\u2014 ", "- ", 1), id="ascii-dash"),
        pytest.param(lambda n: n.replace("\u2014 ", "\u2014", 1), id="no-space-after-dash"),
        pytest.param(lambda n: n[:-1], id="no-final-newline"),
        pytest.param(lambda n: n.split("\n\n")[0] + "\n\n", id="no-signatures"),
        pytest.param(lambda n: n.replace("\n20852163\n", "\n020852163\n"), id="leading-zero"),
        pytest.param(lambda n: n.replace("\n20852163\n", "\n+20852163\n"), id="signed-size"),
        pytest.param(lambda n: n.replace("\n20852163\n", "\nabc\n"), id="non-numeric-size"),
        pytest.param(lambda n: n.replace("=\ntime", "\ntime", 1), id="bad-root-base64"),
        pytest.param(lambda n: n.replace("\n", "\r\n", 1), id="carriage-return"),
        pytest.param(lambda n: n.replace(ORIGIN, "", 1), id="empty-origin"),
        pytest.param(lambda n: n[: n.rindex("=")] + "!\n", id="bad-signature-base64"),
    ],
)
def test_malformed_notes_are_rejected(
    key: Ed25519PrivateKey, checkpoint: Checkpoint, mangle: object
) -> None:
    assert callable(mangle)
    note = _signed(key, checkpoint)
    mangled = mangle(note)
    assert mangled != note
    _rejects(mangled, key)


def test_body_must_have_three_lines(key: Ed25519PrivateKey) -> None:
    note = sign_note(f"{ORIGIN}\n5\n", key_name=ORIGIN, private_key=key)
    _rejects(note, key)


def test_root_must_be_32_bytes(key: Ed25519PrivateKey) -> None:
    short = base64.b64encode(b"\x00" * 31).decode()
    note = sign_note(f"{ORIGIN}\n5\n{short}\n", key_name=ORIGIN, private_key=key)
    _rejects(note, key)


def test_invalid_checkpoints_cannot_be_constructed() -> None:
    with pytest.raises(CheckpointError):
        Checkpoint("", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint("a\nb", 1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, -1, ROOT)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT[:-1])
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT, ("",))
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, ROOT, ("tab\there",))


def test_invalid_key_names(key: Ed25519PrivateKey, checkpoint: Checkpoint) -> None:
    for bad in ("", "has space", "has+plus"):
        with pytest.raises(CheckpointError):
            sign_checkpoint(checkpoint, key_name=bad, private_key=key)


# -- verifier keys -----------------------------------------------------------


def test_verifier_key_roundtrip(key: Ed25519PrivateKey) -> None:
    text = encode_verifier_key(ORIGIN, key.public_key())
    name, hex_id, b64 = text.split("+", 2)
    assert name == ORIGIN
    assert hex_id == key_id(ORIGIN, key.public_key()).hex()
    assert base64.b64decode(b64)[0] == 0x01
    parsed = parse_verifier_key(text)
    assert parsed.name == ORIGIN
    assert parsed.key_id == bytes.fromhex(hex_id)


@pytest.mark.parametrize(
    "bad",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumanN+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+Apc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+zzzzzzzz+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_verifier_keys(bad: str) -> None:
    with pytest.raises(CheckpointError):
        parse_verifier_key(bad)


def test_docs_example_is_current() -> None:
    # docs/merkle.md shows this exact note; keep the two in sync.
    priv = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    tree = MerkleTree()
    tree.extend([b"event-0", b"event-1", b"event-2"])
    cp = Checkpoint(ORIGIN, tree.size, tree.root(), ("time 2024-05-01T12:00:00Z",))
    note = sign_checkpoint(cp, key_name=ORIGIN, private_key=priv)
    vkey = encode_verifier_key(ORIGIN, priv.public_key())
    docs = (Path(__file__).resolve().parents[2] / "docs" / "merkle.md").read_text()
    assert f"```\n{note}```" in docs
    assert vkey in docs
    parsed = parse_verifier_key(vkey)
    assert verify_checkpoint(note, key_name=parsed.name, public_key=parsed.public_key) == cp
