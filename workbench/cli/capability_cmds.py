"""`suitwb device capabilities`: what a device can process (its SUIT_Capability_Report,
draft-ietf-suit-report §6), asked over the recovery protocol (CAPABILITIES)."""

from __future__ import annotations

import argparse
import json
from enum import IntEnum

from flasher import operations
from flasher.operations import FlashOptions
from flasher.transport import DEFAULT_BAUD
from suit.cose import CoseAlgorithm
from suit.model import Command, Parameter
from suit.report_capabilities import CapabilityReport, capabilities_json


def register_capabilities(device_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `device capabilities`."""
    parser = device_sub.add_parser(
        "capabilities", help="ask a device what it can process (algorithms, commands, "
                             "parameters, components)")
    parser.add_argument("--port", required=True, help="port path or pyserial URL")
    parser.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    parser.add_argument("--json", action="store_true", help="print JSON on stdout")
    parser.set_defaults(func=run_capabilities)


def run_capabilities(args: argparse.Namespace) -> int:
    report = operations.read_capabilities(args.port, options=FlashOptions(baudrate=args.baud))
    if args.json:
        print(json.dumps(capabilities_json(report), indent=2))
    else:
        print("\n".join(capability_lines(report)))
    return 0


def _named(numbers: tuple[int, ...], names: type[IntEnum]) -> str:
    def one(number: int) -> str:
        try:
            return f"{number} {names(number).name.lower().replace('_', '-')}"
        except ValueError:
            return str(number)
    return ", ".join(one(n) for n in numbers)


def capability_lines(report: CapabilityReport) -> list[str]:
    """The report as text, one line per list; numbers with their SUIT or COSE names."""
    lines = [f"component: {'/'.join(p.hex() for p in c.prefix) or '(empty)'}"
             + ("/* (any id with this prefix)" if c.wildcard else "")
             for c in report.components]
    lines += [f"commands: {_named(report.commands, Command)}",
              f"parameters: {_named(report.parameters, Parameter)}",
              f"algorithms: {_named(report.algorithms, CoseAlgorithm)}"]
    extra = capabilities_json(report)
    lines += [f"{name}: {', '.join(str(v) for v in extra[name])}" for name in list(extra)[4:]]
    return lines
