"""Entry point of `suitwb`: builds the argument parser from each command module and turns
the exception tree into one line on stderr and an exit status. Nothing below this layer
prints or exits (STYLE.md §6).

Start-up is kept short (issue 12): this module imports only the standard library, and only
the command module that owns the command being run is imported - `suitwb inspect` never
loads the signing stack, PKCS#11, pyserial or the ceremony runner. `suitwb --help` lists
every command from the table below without importing any of them.
"""

from __future__ import annotations

# Only sys and signal (both built in) here: this module's own imports run before main() can
# catch Ctrl-C, and even `typing` takes milliseconds. mypy reads the name TYPE_CHECKING as true.
import signal
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # the rest is imported when it is used, not at start-up
    import argparse
    from collections.abc import Sequence
    from types import FrameType
    from typing import Any, Final

#: The status a shell reports for a program ended by SIGINT (128 + 2).
INTERRUPTED: Final = 130

# Every top-level command as (name, module that registers it, help line), in `suitwb --help`
# order. The help lines repeat the modules' own: a test builds the parser with every module
# loaded and checks that `--help` reads the same either way.
COMMANDS: Final = (
    ("inspect", "workbench.cli.format_cmds", "decode and explain a SUIT envelope"),
    ("verify", "workbench.cli.format_cmds", "check an envelope's signatures, MACs and digests"),
    ("sign", "workbench.cli.signing_cmds", "add a signature (or MAC) to an envelope"),
    ("keys", "workbench.cli.signing_cmds", "list, generate and export keys"),
    ("audit", "workbench.cli.signing_cmds", "the signing audit log"),
    ("new", "workbench.cli.project_cmds", "start a release project from a template"),
    ("build", "workbench.cli.project_cmds", "build a release project into a SUIT envelope"),
    ("lint", "workbench.cli.project_cmds", "check a project or an envelope"),
    ("flash", "workbench.cli.device_cmds", "push a signed bundle to one or more devices over serial"),
    ("device", "workbench.cli.device_cmds", "a device's status, or serve a virtual device"),
    ("ports", "workbench.cli.device_cmds", "list serial ports with USB VID:PID and serial number"),
    ("records", "workbench.cli.device_cmds", "factory records of flash attempts"),
    ("ceremony", "workbench.cli.ceremony_cmds", "key ceremonies: run, verify, unlock, print"),
)
ALL_MODULES: Final = tuple(dict.fromkeys(module for _, module, _ in COMMANDS))


def build_parser(load: Sequence[str] = ALL_MODULES) -> argparse.ArgumentParser:
    """The `suitwb` parser; every subcommand of a module in `load` sets `func(args) -> int`.

    Commands of the other modules are listed by name and help line only, so that building
    the parser for one command imports one module.
    """
    import argparse
    import importlib

    parser = argparse.ArgumentParser(
        prog="suitwb", description="SUIT Workbench: author, sign, inspect and flash SUIT envelopes.")
    parser.add_argument("--version", action=_version_action(argparse), nargs=0,
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    registered: set[str] = set()
    for name, module, help_line in COMMANDS:
        if module not in load:
            sub.add_parser(name, help=help_line, add_help=False)
        elif module not in registered:
            registered.add(module)
            importlib.import_module(module).register(sub)
    # Listed for --help only: main() hands `gui ...` to the window before parsing, since
    # argparse cannot pass options like --screenshot through a subcommand untouched.
    sub.add_parser("gui", help="open the workstation window (suitwb gui [--demo] [--screenshot PNG])")
    return parser


def _version_action(argparse: Any) -> type:
    """`--version`, resolved only when asked for (the metadata look-up costs start-up)."""

    class Version(argparse.Action):  # type: ignore[misc, name-defined]
        def __call__(self, parser: Any, namespace: Any, values: Any,
                     option_string: str | None = None) -> None:
            from workbench import __version__

            sys.stdout.write(f"suitwb {__version__}\n")
            parser.exit()

    return Version


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command module that `argv` runs: the owner of its first word that is not an
    option; none for `--help` or an unknown command (argparse then lists the commands)."""
    word = next((arg for arg in argv if not arg.startswith("-")), None)
    return tuple(module for name, module, _ in COMMANDS if name == word)


def _interrupted(signum: int, frame: FrameType | None) -> None:
    # issue 11 item 11: a Ctrl-C while the interpreter is still importing or parsing. Nothing
    # has been done yet, so one line and the shell's status rather than a KeyboardInterrupt
    # traceback from inside some import; os._exit, since there is nothing to clean up.
    import os

    os.write(2, b"suitwb: interrupted\n")
    os._exit(INTERRUPTED)


def _catch_early_interrupts() -> Any:
    """Make SIGINT end the program quietly until the command runs; return the handler it
    replaced, or None where this thread may not set one (an embedding caller's thread)."""
    try:
        return signal.signal(signal.SIGINT, _interrupted)
    except ValueError:  # signal handlers belong to the main thread
        return None


def _run_gui(rest: Sequence[str]) -> int:
    # The GUI is the layer above this one, so it is started as its own program rather
    # than imported (import-linter's layers contract, pyproject.toml).
    import os

    os.execv(sys.executable, [sys.executable, "-m", "gui", *rest])
    return 0  # pragma: no cover - execv does not return


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser(modules_for(argv)).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `suitwb` and return its exit status (0 ok, 1 checked and refused, 2 bad input)."""
    previous = _catch_early_interrupts()
    try:
        argv = list(sys.argv[1:] if argv is None else argv)
        if argv[:1] == ["gui"]:
            return _run_gui(argv[1:])
        args = _parse(argv)
        from suit.errors import WorkbenchError
    finally:
        if previous is not None:  # the command itself sees Ctrl-C as KeyboardInterrupt
            signal.signal(signal.SIGINT, previous)
    try:
        return int(args.func(args))
    except WorkbenchError as exc:
        print(f"suitwb: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"suitwb: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("suitwb: interrupted", file=sys.stderr)
        return INTERRUPTED


def gui_main() -> int:
    """Entry point of `suit-workbench`."""
    return _run_gui(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
