"""The PIN dialog, and the `PinProvider` that asks it from a worker thread.

Signing runs in a worker; the PKCS#11 login there asks its `PinProvider` for the PIN. The
provider hands the question to the UI thread (a queued signal), which opens a window-modal
dialog with `open()` — never `exec()`, so the event loop keeps turning — and the worker
waits for the answer. The PIN is masked, handed over once and not kept: the line edit is
cleared as soon as it is read, and the provider forgets it when it returns it.
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from gui.workers import POLL_MS
from signing.errors import PinUnavailable
from signing.pin import PinRequest


class PinDialog(QDialog):
    """Asks for one PIN or passphrase, masked."""

    def __init__(self, request: PinRequest, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("pin-dialog")
        self.setWindowTitle(f"Enter {request.purpose}")
        self.edit = QLineEdit()
        self.edit.setObjectName("pin-edit")
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        form = QFormLayout()
        form.addRow(QLabel(f"The {request.purpose} for <b>{request.target}</b>:"))
        form.addRow(request.purpose.capitalize(), self.edit)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("The PIN is used for this operation only and never stored."))
        layout.addWidget(self.buttons)
        self.setWindowModality(self.windowModality().WindowModal)

    def take_pin(self) -> str:
        """The typed PIN; the field is cleared so the widget no longer holds it."""
        pin = self.edit.text()
        self.edit.clear()
        return pin


@dataclass
class _Answer:
    done: threading.Event = field(default_factory=threading.Event)
    pin: str | None = field(default=None, repr=False)


class DialogPinProvider(QObject):
    """A `PinProvider` for workers: shows `PinDialog` on the UI thread and waits.

    Signals:
        dialogOpened(object): the `PinDialog` just shown (tests type into it).
    """

    dialogOpened = Signal(object)

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self._parent = parent
        self.dialog: PinDialog | None = None
        self._ui_thread = threading.current_thread()
        # Workers never touch Qt: they queue their request and the UI thread, polling,
        # opens the dialog (the JobRunner's rule, gui/workers.py).
        self._requests: queue.SimpleQueue[tuple[PinRequest, _Answer]] = queue.SimpleQueue()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self._take_requests)
        self._timer.start()

    def get_pin(self, request: PinRequest) -> str:
        """Ask on the UI thread and wait (call from a worker thread only).

        Raises:
            PinUnavailable: the person cancelled the dialog.
        """
        if threading.current_thread() is self._ui_thread:
            raise RuntimeError("DialogPinProvider.get_pin would block the UI thread")
        answer = _Answer()
        self._requests.put((request, answer))
        answer.done.wait()
        pin, answer.pin = answer.pin, None
        if pin is None:
            raise PinUnavailable(f"PIN entry for {request.target} was cancelled",
                                 hint="Sign again and enter the PIN to go on.")
        return pin

    def _take_requests(self) -> None:
        while not self._requests.empty():
            self._ask(*self._requests.get_nowait())

    def _ask(self, request: PinRequest, answer: _Answer) -> None:
        dialog = PinDialog(request, self._parent)
        dialog.finished.connect(lambda result: self._answered(dialog, answer, result))
        self.dialog = dialog
        dialog.open()
        self.dialogOpened.emit(dialog)

    def _answered(self, dialog: PinDialog, answer: _Answer, result: int) -> None:
        pin = dialog.take_pin()
        answer.pin = pin if result == QDialog.DialogCode.Accepted else None
        answer.done.set()
        dialog.deleteLater()
        if self.dialog is dialog:
            self.dialog = None
