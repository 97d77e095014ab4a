"""What `suitwb` shows of the log: `-v`/`-vv` on stderr, `--log-file` for everything.

Every module logs through `logging.getLogger(__name__)` (STYLE.md §15); only here is it
decided where records go. stderr gets one line per record, `suitwb: warning: ...`, so that
a warning reads like the CLI's own errors; the log file gets every record at DEBUG with
time, level and module, and the tracebacks stderr leaves out unless `-v` asked for them.

The log file is appended to, never replaced (it is a log, not a document: fileio's atomic
replacement is for documents), and only a regular file is accepted: `/dev/tty`, a FIFO
(whose open would wait for a reader) or a directory are refused up front, exit 2.
"""

from __future__ import annotations

import logging
import os
import stat
import sys
from pathlib import Path
from typing import Final, TextIO

from fileio.errors import FileAccessError

logger = logging.getLogger(__name__)

#: `-v` count -> the least level shown on stderr.
CONSOLE_LEVELS: Final = (logging.WARNING, logging.INFO, logging.DEBUG)
FILE_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
#: Set on a record (``extra={QUIET_ON_CONSOLE: True}``) whose console line the caller
#: prints itself: the record still reaches the log file, and stderr when `-v` is given.
QUIET_ON_CONSOLE: Final = "suitwb_quiet_on_console"


class OneLineFormatter(logging.Formatter):
    """``PROG: level: message`` on one line; the traceback only when asked for."""

    def __init__(self, prog: str, tracebacks: bool) -> None:
        super().__init__()
        self.prog = prog
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        """One line (newlines in the message folded), then the traceback if enabled."""
        message = " ".join(record.getMessage().splitlines())
        line = f"{self.prog}: {record.levelname.lower()}: {message}"
        if self.tracebacks and record.exc_info:
            line += "\n" + self.formatException(record.exc_info).rstrip("\n")
        return line


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is when a record arrives (as logging's last resort
    does), so a handler set up by one in-process `main()` never writes to a stream that a
    caller has since replaced and closed."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, value: TextIO) -> None:
        pass  # always sys.stderr


class _QuietOnConsole(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, QUIET_ON_CONSOLE, False)


def configure(verbosity: int, log_file: Path | None, prog: str = "suitwb",
              stream: TextIO | None = None) -> None:
    """Route the root logger: stderr at WARNING (INFO with -v, DEBUG with -vv), and every
    record to `log_file` when given.

    Raises:
        FileAccessError: `log_file` cannot be opened for appending or is not a regular file.
    """
    console = logging.StreamHandler(stream) if stream else StderrHandler()
    console.setLevel(CONSOLE_LEVELS[min(max(verbosity, 0), len(CONSOLE_LEVELS) - 1)])
    console.setFormatter(OneLineFormatter(prog, tracebacks=verbosity > 0))
    if verbosity == 0:
        console.addFilter(_QuietOnConsole())
    _install(console, log_file)


def configure_loader(verbosity: int, log_file: Path | None,
                     stream: TextIO | None = None) -> None:
    """The virtual device's log (`suitwb device serve`): stderr at INFO, DEBUG with -v, as
    ``suitwb-device: LEVEL module: message`` lines with tracebacks - plain text without
    colours or times, for a terminal, a file or the journal (which adds its own times).

    Raises:
        FileAccessError: as `configure`.
    """
    console = logging.StreamHandler(stream) if stream else StderrHandler()
    console.setLevel(logging.DEBUG if verbosity > 0 else logging.INFO)
    console.setFormatter(logging.Formatter(LOADER_FORMAT))
    _install(console, log_file)


LOADER_FORMAT: Final = "suitwb-device: %(levelname)s %(name)s: %(message)s"


def reset() -> None:
    """Detach and close what `configure` attached (main() does, as it returns)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "suitwb_cli", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.WARNING)


def _install(console: logging.Handler, log_file: Path | None) -> None:
    # The file is opened first: a refused --log-file leaves the previous set-up in place.
    file_handler = _file_handler(log_file) if log_file is not None else None
    reset()  # a second configuration (the loader's, a second main() in one process) replaces
    root = logging.getLogger()
    _attach(root, console)
    if file_handler is not None:
        _attach(root, file_handler)
    root.setLevel(logging.DEBUG if file_handler is not None else console.level)


def _attach(root: logging.Logger, handler: logging.Handler) -> None:
    handler.suitwb_cli = True  # type: ignore[attr-defined]
    root.addHandler(handler)


def _file_handler(path: Path) -> logging.Handler:
    handler = logging.StreamHandler(open_log_file(path))
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler


def open_log_file(path: Path) -> TextIO:
    """`path` opened for appending (created if missing), refused unless a regular file.

    O_NONBLOCK keeps a FIFO with no reader from hanging the open; the type is checked on
    the opened descriptor, so a path swapped between a check and the open cannot slip by.
    """
    # O_NONBLOCK and O_NOCTTY are POSIX; Windows has neither FIFOs to wait on nor ttys to adopt.
    nonblocking = getattr(os, "O_NONBLOCK", 0)
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | nonblocking | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        raise FileAccessError(str(path), f"cannot open the log file: {exc.strerror or exc}",
                              hint="Give --log-file a regular file in a writable folder.") \
            from exc
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise FileAccessError(str(path), "the log file is not a regular file",
                                  hint="Give --log-file a regular file, not a device, FIFO "
                                       "or folder.")
        if nonblocking:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "a", encoding="utf-8", errors="backslashreplace")
    except BaseException:
        os.close(fd)
        raise
