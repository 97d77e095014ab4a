"""Entry point of `suitwb`: builds the argument parser from each command module and turns
the exception tree into one line on stderr and an exit status. Nothing below this layer
prints or exits (STYLE.md §6)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from suit.errors import WorkbenchError
from workbench.cli import (
    ceremony_cmds,
    device_cmds,
    format_cmds,
    project_cmds,
    signing_cmds,
)

COMMAND_MODULES = (format_cmds, signing_cmds, project_cmds, device_cmds, ceremony_cmds)


def build_parser() -> argparse.ArgumentParser:
    """The full `suitwb` parser; every subcommand sets `func(args) -> int`."""
    parser = argparse.ArgumentParser(
        prog="suitwb", description="SUIT Workbench: author, sign, inspect and flash SUIT envelopes.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(sub)
    # Listed for --help only: main() hands `gui ...` to the window before parsing, since
    # argparse cannot pass options like --screenshot through a subcommand untouched.
    sub.add_parser("gui", help="open the workstation window (suitwb gui [--demo] [--screenshot PNG])")
    return parser


def _run_gui(rest: Sequence[str]) -> int:
    # The GUI is the layer above this one, so it is started as its own program rather
    # than imported (import-linter's layers contract, pyproject.toml).
    os.execv(sys.executable, [sys.executable, "-m", "gui", *rest])
    return 0  # pragma: no cover - execv does not return


def main(argv: Sequence[str] | None = None) -> int:
    """Run `suitwb` and return its exit status (0 ok, 1 checked and refused, 2 bad input)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["gui"]:
        return _run_gui(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        print(f"suitwb: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"suitwb: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("suitwb: interrupted", file=sys.stderr)
        return 130


def gui_main() -> int:
    """Entry point of `suit-workbench`."""
    return _run_gui(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
