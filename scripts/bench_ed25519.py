"""Ed25519 verification: ``cryptography`` (OpenSSL) against PyNaCl (libsodium), in one run.

Signs ``--count`` messages of the size of a stored event's signed bytes with one key,
then verifies them all with each library, alternating rounds (best round counts,
the least disturbed by the shared machine). The ledger would switch its verifier to
libsodium only if it were at least 1.3x faster (the decision in docs/decisions.md);
PyNaCl is not a dependency, so without it only the ``cryptography`` rate is shown.

    python scripts/bench_ed25519.py [--count 5000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import time

from benchkit import Figure, load_average, print_figures
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

SWITCH_AT = 1.3
MESSAGE_BYTES = 700


def measure(full: bool = False, count: int = 0, rounds: int = 0) -> list[Figure]:
    """Verifications per second of both libraries over the same signatures."""
    count = count or (20_000 if full else 5_000)
    rounds = rounds or 5
    load = load_average()
    private = Ed25519PrivateKey.generate()
    public = private.public_key()
    messages = [os.urandom(MESSAGE_BYTES) for _ in range(count)]
    signed = [(private.sign(m), m) for m in messages]

    def with_cryptography() -> None:
        verify = public.verify
        for signature, message in signed:
            verify(signature, message)

    runs: dict[str, list[float]] = {"cryptography": []}
    try:
        from nacl.signing import VerifyKey  # noqa: PLC0415 (optional, for this comparison)

        nacl_key = VerifyKey(public.public_bytes(Encoding.Raw, PublicFormat.Raw))

        def with_nacl() -> None:
            verify = nacl_key.verify
            for signature, message in signed:
                verify(message, signature)

        runs["pynacl"] = []
    except ImportError:
        with_nacl = None  # type: ignore[assignment]
    for _ in range(rounds):
        for name, run in (("cryptography", with_cryptography), ("pynacl", with_nacl)):
            if run is None:
                continue
            started = time.perf_counter()
            run()
            runs[name].append(count / (time.perf_counter() - started))
    best = {name: max(rates) for name, rates in runs.items() if rates}
    if "pynacl" not in best:
        return [
            Figure(
                "Ed25519 verify, cryptography (PyNaCl not installed)",
                best["cryptography"],
                load=load,
            )
        ]
    return [
        Figure(
            "Ed25519 verify: PyNaCl / cryptography (switch only if >= 1.3)",
            best["pynacl"],
            best["cryptography"],
            None,
            "verifies/s",
            note=f"pynacl {best['pynacl']:,.0f}/s, cryptography {best['cryptography']:,.0f}/s, "
            f"{count:,} signatures, best of {rounds}",
            load=load,
        )
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print_figures(measure(count=args.count, rounds=args.rounds))


if __name__ == "__main__":
    main()
