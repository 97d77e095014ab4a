"""`suitwb report inspect|verify`: read a device's SUIT report (issue 14; report draft).

A report file holds what the device sent: a COSE_Sign1 carrying the SUIT_Report, or a
bare SUIT_Report. Exit 0: read (inspect) or verified (verify); 1: the signature does not
verify with the key; 2: not a report, or misuse.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from suit import cbor
from suit.keys import TrustAnchor
from suit.render import value_diag
from suit.report import report_json
from suit.report_cose import MAX_REPORT_SIZE, OpenedReport, open_report
from workbench.cli.capability_cmds import capability_lines
from workbench.files import read_bytes
from workbench.report_view import record_entry, record_where

#: The JSON output's schema name; a change that is not an addition bumps the number.
SCHEMA: Final = "suitwb-report/1"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `report inspect` and `report verify`."""
    report = sub.add_parser("report", help="read and verify a device's SUIT report")
    commands = report.add_subparsers(dest="report_command", required=True, metavar="COMMAND")
    inspect = commands.add_parser("inspect", help="decode a SUIT report (signed or bare)")
    inspect.add_argument("file", type=Path, metavar="FILE")
    inspect.add_argument("--format", choices=("text", "json", "diag"), default="text")
    inspect.set_defaults(func=run_inspect)
    verify = commands.add_parser("verify", help="check a SUIT report's signature with the "
                                                "device's key")
    verify.add_argument("file", type=Path, metavar="FILE")
    verify.add_argument("--key", type=Path, required=True, metavar="PEM",
                        help="the device's public key (or its private key)")
    verify.set_defaults(func=run_verify)


def run_inspect(args: argparse.Namespace) -> int:
    data = read_bytes(args.file, limit=MAX_REPORT_SIZE)
    opened = open_report(data)
    if args.format == "diag":
        sys.stdout.write(report_diag(data, opened) + "\n")
    elif args.format == "json":
        document = {"schema": SCHEMA, "file": str(args.file), **_opened_json(opened)}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(report_text(opened))
    return 0


def run_verify(args: argparse.Namespace) -> int:
    key = TrustAnchor.from_pem(read_bytes(args.key, limit=1 << 16, regular_only=True),
                               str(args.key))
    opened = open_report(read_bytes(args.file, limit=MAX_REPORT_SIZE), key)
    outcome = "success" if opened.report.success else opened.report.reason.name.lower()
    print(f"{args.file}: signature verified with {args.key}; result {outcome}")
    return 0


def _opened_json(opened: OpenedReport) -> dict[str, Any]:
    return {"signed": opened.signed, "algorithm": opened.algorithm,
            "report": report_json(opened.report)}


def report_diag(data: bytes, opened: OpenedReport) -> str:
    """The report in CBOR diagnostic notation; a signed report's payload shown decoded
    (``<< ... >>``, embedded CBOR)."""
    inner = value_diag(cbor.loads(opened.payload, path="report"))
    if not opened.signed:
        return inner
    tag = cbor.loads(data, path="report")
    protected, unprotected, _payload, signature = tag.value
    return (f"18([{value_diag(protected)}, {value_diag(unprotected)}, <<{inner}>>, "
            f"{value_diag(signature)}])")


def report_text(opened: OpenedReport) -> str:
    """A few lines for a person: reference, result, records."""
    value = report_json(opened.report)
    digest = value["manifest-digest"]
    lines = [f"signed: {'COSE_Sign1, alg ' + str(opened.algorithm) if opened.signed else 'no'}",
             f"manifest: {value['reference-uri'] or '(no uri)'} "
             f"digest {digest['algorithm']}:{digest['value']}",
             "result: success" if value["success"] else
             f"result: {value['reason']} (code {value['result-code']}) at "
             f"{record_where(value['failing-record'])}"]
    lines += [record_entry(entry) for entry in value["records"]]
    if opened.report.nonce is not None:
        lines.append(f"nonce: {opened.report.nonce.hex()}")
    if opened.report.capabilities is not None:
        lines += [f"capability {line}" for line in capability_lines(opened.report.capabilities)]
    return "\n".join(lines) + "\n"

