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
#: A defect in suitwb itself rather than in its input (BSD sysexits' EX_SOFTWARE).
INTERNAL_ERROR: Final = 70
#: Global options that take a value: `modules_for` skips the value with the option.
VALUED_OPTIONS: Final = ("--log-file",)
#: This module's logger, fetched when needed (logging is not imported at start-up). Named,
#: not __name__: `python -m workbench.cli.main` runs this module as __main__.
LOGGER: Final = "workbench.cli.main"

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
    ("device", "workbench.cli.device_cmds", "a device's status or capabilities, or serve a virtual device"),
    ("ports", "workbench.cli.device_cmds", "list serial ports with USB VID:PID and serial number"),
    ("records", "workbench.cli.device_cmds", "factory records of flash attempts"),
    ("simulate", "workbench.cli.simulate_cmds",
     "run the SUIT processor over a described device and print the trace"),
    ("ceremony", "workbench.cli.ceremony_cmds", "key ceremonies: run, verify, unlock, print"),
    ("report", "workbench.cli.report_cmds", "read and verify a device's SUIT report"),
)
ALL_MODULES: Final = tuple(dict.fromkeys(module for _, module, _ in COMMANDS))


def build_parser(load: Sequence[str] = ALL_MODULES) -> argparse.ArgumentParser:
    """The `suitwb` parser; every subcommand of a module in `load` sets `func(args) -> int`.

    Commands of the other modules are listed by name and help line only, so that building
    the parser for one command imports one module.
    """
    import argparse
    import importlib

    parser: argparse.ArgumentParser = _parser_class(argparse)(
        prog="suitwb", description="SUIT Workbench: author, sign, inspect and flash SUIT envelopes.")
    parser.add_argument("--version", action=_version_action(argparse), nargs=0,
                        help="print the version and exit")
    parser.add_argument("-v", "--verbose", action="count", default=0,
                        help="show more of the log on stderr: -v progress, -vv debugging")
    parser.add_argument("--log-file", metavar="PATH",
                        help="append the whole log (debug level, with times) to PATH")
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


def _parser_class(argparse: Any) -> type:
    """ArgumentParser whose help formatter is told the terminal's width. argparse asks
    shutil for it, and shutil brings bz2, lzma and zlib along (3 ms of every command's
    start-up, issue 12) each time add_argument checks an option; subparsers share the class."""

    class Parser(argparse.ArgumentParser):  # type: ignore[misc]  # argparse: Any, as above
        def _get_formatter(self) -> Any:
            return self.formatter_class(prog=self.prog, width=_help_width())

    return Parser


def _help_width() -> int:
    """What argparse would use: $COLUMNS, else the terminal's, else 80, less 2."""
    import os
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 80
    return max((columns or 80) - 2, 11)


def _version_action(argparse: Any) -> type:
    """`--version`, resolved only when asked for (the metadata look-up costs start-up)."""

    class Version(argparse.Action):  # type: ignore[misc]  # argparse arrives as a module: Any
        def __call__(self, parser: Any, namespace: Any, values: Any,
                     option_string: str | None = None) -> None:
            from workbench import __version__

            sys.stdout.write(f"suitwb {__version__}\n")
            parser.exit()

    return Version


def modules_for(argv: Sequence[str]) -> tuple[str, ...]:
    """The command module that `argv` runs: the owner of its first word that is neither an
    option nor an option's value; none for `--help` or an unknown command (argparse then
    lists the commands)."""
    word = _command_word(argv)
    return tuple(module for name, module, _ in COMMANDS if name == word)


def _command_word(argv: Sequence[str]) -> str | None:
    at = _command_index(argv)
    return None if at is None else argv[at]


def _command_index(argv: Sequence[str]) -> int | None:
    skip = False
    for at, arg in enumerate(argv):
        if skip:
            skip = False
        elif arg in VALUED_OPTIONS:  # `--log-file PATH`; `--log-file=PATH` is one word
            skip = True
        elif not arg.startswith("-"):
            return at
    return None


def _gui_arguments(argv: Sequence[str]) -> list[str] | None:
    """What follows `gui` when `argv` opens the window (global options may precede it),
    else None; `suitwb --help gui` is still help."""
    at = _command_index(argv)
    if at is None or argv[at] != "gui" or {"-h", "--help", "--version"} & set(argv[:at]):
        return None
    return list(argv[at + 1:])


class _Interrupts:
    """SIGINT for the whole run with one handler, so no Ctrl-C can fall between two.

    Until the command runs, nothing has been done: one line and the shell's status, by
    os._exit, rather than a KeyboardInterrupt traceback from inside some import (issue 11
    item 11). Once it runs, the command sees Ctrl-C as KeyboardInterrupt and cleans up.
    (Swapping in Python's default handler when the command starts left a window: a signal
    that arrived under the first handler but was handled after the swap.)
    """

    def __init__(self) -> None:
        self.command_running = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.command_running:
            raise KeyboardInterrupt
        import os

        os.write(2, b"suitwb: interrupted\n")
        os._exit(INTERRUPTED)

    def install(self) -> Any:
        """Install the handler; return the one it replaced, or None where this thread may
        not set one (an embedding caller's thread)."""
        try:
            return signal.signal(signal.SIGINT, self)
        except ValueError:  # signal handlers belong to the main thread
            return None


def _run_gui(rest: Sequence[str]) -> int:
    # The GUI is the layer above this one, so it is started as its own program rather
    # than imported (import-linter's layers contract, pyproject.toml).
    import os

    os.execv(sys.executable, [sys.executable, "-m", "gui", *rest])  # noqa: S606 - our own interpreter
    return 0  # pragma: no cover - execv does not return


def _parse(argv: list[str]) -> argparse.Namespace:
    return build_parser(modules_for(argv)).parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run `suitwb` and return its exit status: 0 ok, 1 checked and refused, 2 bad input or
    misuse, 70 internal error (a defect of suitwb), 130 interrupted."""
    interrupts = _Interrupts()
    previous = interrupts.install()
    try:
        try:
            argv = list(sys.argv[1:] if argv is None else argv)
            gui = _gui_arguments(argv)
            if gui is not None:
                return _run_gui(gui)
            args = _parse(argv)
            # Loaded while Ctrl-C still ends the program quietly: _run's own imports of
            # them are then look-ups in sys.modules.
            import suit.errors  # noqa: F401
            import workbench.cli.logs  # noqa: F401
        except Exception as exc:  # noqa: BLE001 - a defect while building the parser: no traceback
            return _internal_error(exc)
        return _run(args, argv, interrupts)
    finally:
        if previous is not None:  # an in-process caller gets its own handler back
            signal.signal(signal.SIGINT, previous)


def _run(args: argparse.Namespace, argv: Sequence[str], interrupts: _Interrupts) -> int:
    from suit.errors import WorkbenchError
    from workbench.cli import logs

    try:
        interrupts.command_running = True  # from here Ctrl-C is KeyboardInterrupt, caught below
        _configure_logging(args, argv)
        return int(args.func(args))
    except WorkbenchError as exc:
        _log_refusal(exc)
        print(f"suitwb: error: {exc}", file=sys.stderr)
        if exc.hint:
            print(f"suitwb: hint: {exc.hint}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("suitwb: interrupted", file=sys.stderr)
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - issue 11: a bug is one line and status 70
        return _internal_error(exc)
    finally:
        logs.reset()  # an in-process caller (tests, an embedding tool) gets its logging back


def _configure_logging(args: argparse.Namespace, argv: Sequence[str]) -> None:
    import logging
    from pathlib import Path

    from workbench.cli import logs

    logs.configure(args.verbose, Path(args.log_file) if args.log_file else None)
    logging.getLogger(LOGGER).debug("suitwb %s", " ".join(argv))


def _log_refusal(exc: Exception) -> None:
    # The one-line message is printed below; the log file keeps where it came from.
    import logging

    logging.getLogger(LOGGER).debug("command ended with %s", type(exc).__name__, exc_info=exc)


def _internal_error(exc: Exception) -> int:
    """One line on stderr; the traceback to the log file (and stderr with -v)."""
    import logging

    from workbench.cli.logs import QUIET_ON_CONSOLE

    if logging.getLogger().handlers:  # else logging's last resort would print the traceback
        logging.getLogger(LOGGER).error("internal error", exc_info=exc,
                                          extra={QUIET_ON_CONSOLE: True})
    what = ": ".join([type(exc).__name__, *[" ".join(str(exc).splitlines())][:bool(str(exc))]])
    print(f"suitwb: internal error: {what} (run with -v or --log-file for details)",
          file=sys.stderr)
    return INTERNAL_ERROR


def gui_main() -> int:
    """Entry point of `suit-workbench`."""
    return _run_gui(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
