"""`suitwb inspect` and `suitwb verify`: open any SUIT envelope, explain it, check it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from fileio import MAX_KEY_FILE
from suit.errors import DecodeError, ManifestError, VerificationError
from suit.keys import TrustAnchor
from suit.verify import (
    VerificationPolicy,
    VerificationReport,
    describe_algorithm,
    verify_envelope,
)
from workbench.errors import FileAccessError
from workbench.files import read_bytes, read_envelope


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `inspect` and `verify`."""
    inspect = sub.add_parser("inspect", help="decode and explain a SUIT envelope")
    inspect.add_argument("file", help="the envelope (.suit / .cbor)")
    inspect.add_argument("--format", choices=("text", "json", "diag"), default="text")
    inspect.set_defaults(func=run_inspect)

    verify = sub.add_parser(
        "verify", help="check an envelope's signatures, MACs and digests",
        description="Exit 0: authentic and intact; 1: verification failed; 2: malformed input "
                    "or misuse. A one-line reason always goes to stderr.")
    verify.add_argument("file", help="the envelope")
    verify.add_argument("--key", action="append", default=[], metavar="PEM",
                        help="a trusted public key (PEM or COSE_Key); repeatable")
    verify.add_argument("--secret-hex", action="append", default=[], metavar="HEX",
                        help="a trusted HMAC secret in hex (COSE_Mac0); repeatable")
    verify.add_argument("--require", choices=[p.value for p in VerificationPolicy],
                        default=VerificationPolicy.ANY.value,
                        help="any (default): one block verifies with one key; all: every "
                             "--key / --secret-hex must verify a block (hybrid signatures)")
    verify.add_argument("--json", action="store_true", help="print the result as JSON on stdout")
    verify.set_defaults(func=run_verify)


def run_inspect(args: argparse.Namespace) -> int:
    from suit import render  # only inspect renders: verify starts without it (issue 12)

    envelope = read_envelope(args.file)
    if args.format == "json":
        print(json.dumps(render.inspect_summary(envelope), indent=2))
    elif args.format == "diag":
        sys.stdout.write(render.envelope_diag(envelope))
    else:
        sys.stdout.write(render.summary_text(envelope))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    try:
        anchors = _anchors(args)
        report = verify_envelope(read_envelope(args.file), anchors,
                                 VerificationPolicy(args.require))
    except (VerificationError, ManifestError, FileAccessError) as exc:
        status = exc.exit_status if isinstance(exc, VerificationError) else 2
        result = "failed" if status == 1 else "malformed" if isinstance(exc, DecodeError) else "error"
        return _verdict(args, status, result, str(exc), exc.hint)
    return _verdict(args, 0, "ok", _success_line(report), "", report)


def _anchors(args: argparse.Namespace) -> list[TrustAnchor]:
    anchors = [TrustAnchor.load(read_bytes(path, limit=MAX_KEY_FILE, regular_only=True), path)
               for path in args.key]
    for i, text in enumerate(args.secret_hex):
        try:
            anchors.append(TrustAnchor.from_secret(bytes.fromhex(text), f"secret {i + 1}"))
        except ValueError as exc:
            raise FileAccessError(f"--secret-hex #{i + 1}", "not hexadecimal") from exc
    if not anchors:
        raise FileAccessError("--key", "no trust anchor given",
                              hint="Give --key PEM (or --secret-hex for a MAC).")
    return anchors


def _success_line(report: VerificationReport) -> str:
    used = [f"{b.kind} {describe_algorithm(b.algorithm)} by {b.verified_by}"
            for b in report.blocks if b.verified_by]
    return "authentic and intact: " + "; ".join(used)


def _verdict(args: argparse.Namespace, status: int, result: str, reason: str, hint: str,
             report: VerificationReport | None = None) -> int:
    print(f"suitwb verify: {reason}", file=sys.stderr)
    if args.json:
        out: dict[str, Any] = {"file": args.file, "result": result, "exit_status": status, "reason": reason}
        if hint:
            out["hint"] = hint
        if report is not None:
            out["blocks"] = [{"index": b.index, "type": b.kind, "alg": b.algorithm,
                              "verified_by": b.verified_by} for b in report.blocks]
        print(json.dumps(out))
    return status
