"""The window's log (issue 12): a rotating file in the data folder and View → Log, a dock
with the most recent messages.

Records arrive on any thread (workers, the flash gang, the loader of the demo device). The
handler only appends them to a bounded buffer under a lock; the panel's UI-thread timer
takes what has arrived and shows it (docs/architecture.md, "Threads and garbage collection
in the GUI": no Qt call, and no signal, from a worker thread).
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Final

from PySide6.QtCore import QTimer
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QVBoxLayout, QWidget

from fileio.errors import FileAccessError

if TYPE_CHECKING:
    from gui.main_window import MainWindow

logger = logging.getLogger(__name__)

#: Lines the dock keeps (and the handler buffers between two drains).
MAX_LINES: Final = 1000
#: How often the UI thread takes the new records.
POLL_MS: Final = 100
#: Set to DEBUG (or any level name) for a more detailed log file and dock.
LEVEL_ENV: Final = "SUITWB_LOG_LEVEL"
LOG_FILE: Final = Path("logs") / "suit-workbench.log"
FILE_BYTES: Final = 1024 * 1024
FILE_BACKUPS: Final = 3
LINE_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FILE_FORMAT: Final = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"


class BufferedHandler(logging.Handler):
    """Keeps the last `MAX_LINES` formatted records for the UI thread to take.

    Safe from any thread: `emit` touches no Qt object, only a deque under the handler's lock.
    """

    def __init__(self, capacity: int = MAX_LINES) -> None:
        super().__init__(logging.INFO)
        self.setFormatter(logging.Formatter(LINE_FORMAT, "%H:%M:%S"))
        self._pending: deque[str] = deque(maxlen=capacity)
        self._pending_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        """Format and buffer `record` (called on the logging thread)."""
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging's contract: a bad record never raises
            self.handleError(record)
            return
        with self._pending_lock:
            self._pending.append(line)

    def take(self) -> list[str]:
        """Everything buffered since the last call, oldest first."""
        with self._pending_lock:
            lines = list(self._pending)
            self._pending.clear()
        return lines


class LogPanel(QWidget):
    """The most recent log lines, newest at the bottom; fed by a `BufferedHandler`."""

    def __init__(self, handler: BufferedHandler, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.handler = handler
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setObjectName("log-text")
        self.text.setMaximumBlockCount(MAX_LINES)  # bounded: older lines drop off the top
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.text)
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.drain)
        self.timer.start()

    def drain(self) -> None:
        """Show what was logged since the last drain (UI thread, from the timer)."""
        lines = self.handler.take()
        if lines:
            self.text.appendPlainText("\n".join(lines))

    def lines(self) -> list[str]:
        """The lines shown, oldest first."""
        return self.text.toPlainText().splitlines()


def log_level() -> int:
    """INFO, or the level named by $SUITWB_LOG_LEVEL (DEBUG for troubleshooting)."""
    name = os.environ.get(LEVEL_ENV, "").strip().upper()
    level = logging.getLevelName(name) if name else logging.INFO
    return level if isinstance(level, int) else logging.INFO


def file_handler(data_dir: Path, level: int) -> logging.handlers.RotatingFileHandler:
    """A rotating log file, ``logs/suit-workbench.log`` in `data_dir`, appended to.

    Raises:
        FileAccessError: the folder cannot be created or the file cannot be opened.
    """
    path = data_dir / LOG_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.handlers.RotatingFileHandler(
            path, maxBytes=FILE_BYTES, backupCount=FILE_BACKUPS, encoding="utf-8")
    except OSError as exc:
        raise FileAccessError(str(path), f"cannot open the log file: {exc.strerror or exc}") \
            from exc
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(FILE_FORMAT))
    return handler


class FileLog:
    """The application's log file: a rotating file handler on the root logger, at `level`
    (`log_level()` by default), removed again by `close`."""

    def __init__(self, data_dir: Path, level: int | None = None) -> None:
        self.level = log_level() if level is None else level
        self.handler = file_handler(data_dir, self.level)
        self.path = Path(self.handler.baseFilename)
        root = logging.getLogger()
        self._previous_level = root.level
        if root.getEffectiveLevel() > self.level:  # let the chosen level through
            root.setLevel(self.level)
        root.addHandler(self.handler)
        logger.info("SUIT Workbench started; logging at %s to %s",
                    logging.getLevelName(self.level), self.path)

    def close(self) -> None:
        """Detach and close the file (idempotent)."""
        root = logging.getLogger()
        if self.handler in root.handlers:
            root.removeHandler(self.handler)
            self.handler.close()
            root.setLevel(self._previous_level)


def start_file_log(data_dir: Path) -> FileLog | None:
    """The log file of a window run; None (and a warning, shown in the dock) if it cannot
    be opened: the window still opens."""
    try:
        return FileLog(data_dir)
    except FileAccessError as exc:
        logger.warning("no log file: %s", exc)
        return None


def install(window: MainWindow) -> LogPanel:
    """Add View → Log (hidden until asked for), showing what reaches the root logger at
    `log_level()` for as long as the window lives."""
    handler = BufferedHandler()
    handler.setLevel(log_level())
    panel = LogPanel(handler)
    panel.setObjectName("log-panel")
    root = logging.getLogger()
    root.addHandler(handler)
    panel.destroyed.connect(lambda *_: root.removeHandler(handler))
    window.register_dock("log", "Log", panel).hide()
    return panel
