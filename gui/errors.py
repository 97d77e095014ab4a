"""The one place that turns an exception into something a person reads.

Errors from the core carry a message and a hint (`WorkbenchError`); the presenter shows
both. Anything else is a defect: it is shown with its type and traceback in the details
so it can be reported, never swallowed.
"""

from __future__ import annotations

import logging
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QMessageBox, QWidget

from suit.errors import WorkbenchError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Presented:
    """What the presenter showed last (the window's status bar and the tests read it)."""

    title: str
    message: str
    hint: str
    details: str


def describe(exc: BaseException, doing: str = "") -> Presented:
    """The title, message, hint and details the dialog shows for `exc`."""
    title = f"Could not {doing}" if doing else "Something went wrong"
    if isinstance(exc, WorkbenchError):
        return Presented(title, str(exc), exc.hint or "", "")
    details = "".join(traceback.format_exception(exc))
    return Presented(title, f"Unexpected {type(exc).__name__}: {exc}",
                     "This is a defect in SUIT Workbench; the details help to report it.",
                     details)


class ErrorPresenter(QObject):
    """Shows errors as window-modal message boxes with their hint.

    Signals:
        presented(object): the `Presented` record, after the box is shown.
    """

    presented = Signal(object)

    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        self._window = window
        self.last: Presented | None = None
        self.box: QMessageBox | None = None

    def show(self, exc: BaseException, doing: str = "") -> Presented:
        """Present `exc`; `doing` completes "Could not ..." (like "open example.suit")."""
        record = describe(exc, doing)
        # The log file keeps what the dialog said, and a defect's traceback, after the
        # person clicked OK (issue 12).
        if isinstance(exc, WorkbenchError):
            logger.warning("%s: %s", record.title, record.message)
        else:
            logger.error("%s: %s", record.title, record.message, exc_info=exc)
        if self.box is not None and self.box.isVisible():
            # One dialog at a time (issue 17): the newer error replaces the one still
            # open, which the log keeps; modal boxes never stack up.
            self.box.close()
        box = QMessageBox(QMessageBox.Icon.Warning, record.title, record.message,
                          QMessageBox.StandardButton.Ok, self._window)
        if record.hint:
            box.setInformativeText(record.hint)
        if record.details:
            box.setDetailedText(record.details)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the event loop keeps running and workers keep reporting
        self.box, self.last = box, record
        self.presented.emit(record)
        return record
