"""The device status panel: identity, components with their sequence numbers, slots and
the last update's result of the selected device, read in a worker. The port's protocol is
found as `suitwb device status` finds it (`flasher.detect.status_or_smp_info`): the
recovery protocol's report (`workbench.flashing.status_json`), or an SMP device's mode,
bootloader and image slots with versions, hashes and flags (`smp_info_json`).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from flasher.detect import status_or_smp_info
from flasher.smp.operations import DeviceInfo
from gui.tables import fill_table, make_table
from gui.workers import Job, JobRunner, Progress
from workbench import flashing


def _read(progress: Progress, port: str) -> dict[str, Any]:
    progress(0, 0, f"asking {port} for its status")
    found = status_or_smp_info(port)
    if isinstance(found, DeviceInfo):
        return flashing.smp_info_json(found)
    return {"protocol": "suitwb", **flashing.status_json(found)}


_SMP_FLAGS = ("active", "confirmed", "pending", "permanent", "bootable")
_SUIT_COLUMNS = ["Component", "Sequence", "Size", "Active slot", "Digest"]
#: A Linux-class device reports files: their paths and permission bits (RFC 9019 §5).
_FILE_COLUMNS = ["File", "Sequence", "Size", "Mode / slot", "Digest"]
_SMP_COLUMNS = ["Image slot", "Version", "", "", "Hash"]


class DevicePanel(QWidget):
    """Status of one device.

    Signals:
        failed(object, str): an error and what was being done.
        updated(object): the status report (the JSON-shaped dict) just shown.
        readFailed(object): a status read failed (shown in the panel, asked for or not).
    """

    failed = Signal(object, str)
    updated = Signal(object)
    readFailed = Signal(object)

    def __init__(self, runner: JobRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.port: str | None = None
        self.status: dict[str, Any] | None = None
        self.labels = {name: QLabel("—") for name in
                       ("port", "vendor_id", "class_id", "device_id", "last_result")}
        for name, label in self.labels.items():
            label.setObjectName(f"device-{name}")
            label.setWordWrap(True)
            label.setTextInteractionFlags(label.textInteractionFlags().TextSelectableByMouse)
        self.components = make_table(_SUIT_COLUMNS)
        self.components.setObjectName("device-components")
        self.slots = make_table(["Slot", "State"])
        self.slots.setObjectName("device-slots")
        # A dock is narrow: columns as wide as their header and cells, scrolling sideways,
        # rather than five stretched columns that clip their own titles (issue 17).
        for table in (self.components, self.slots):
            header = table.horizontalHeader()
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
            header.setStretchLastSection(True)
        # Only this button (and a flash) opens the port: a status read on selection would
        # hold the port the person is about to flash (issue 17).
        self.read_button = QPushButton("Read status")
        self.read_button.setObjectName("device-read-status")
        self.read_button.setToolTip("Ask the device on the selected port for its status "
                                    "(opens the port for a moment)")
        self.read_button.setEnabled(False)
        self.read_button.clicked.connect(self._read_clicked)
        form = QFormLayout()
        for title, name in (("Port", "port"), ("Vendor id", "vendor_id"), ("Class id", "class_id"),
                            ("Device id", "device_id"), ("Last update", "last_result")):
            form.addRow(title, self.labels[name])
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.components, 2)
        layout.addWidget(self.slots, 1)
        layout.addWidget(self.read_button)

    def select_port(self, port: str | None) -> None:
        """Follow the selected port without opening it: what was shown for another port
        is cleared, and Read status asks this one."""
        if port == self.port:
            return
        self.port, self.status = port, None
        self.labels["port"].setText(f"{port} (not read: press Read status)" if port else "—")
        for name in ("vendor_id", "class_id", "device_id", "last_result"):
            self.labels[name].setText("—")
        self.components.setHorizontalHeaderLabels(_SUIT_COLUMNS)
        fill_table(self.components, [])
        fill_table(self.slots, [])
        self.read_button.setEnabled(port is not None)

    def _read_clicked(self) -> None:
        if self.port:
            self.show_port(self.port, quiet=False)

    def show_status(self, port: str, status: dict[str, Any]) -> None:
        """Show a status report already read (`flashing.status_json`'s shape) for `port`."""
        self.port = port
        self._show(port, status)

    def show_port(self, port: str, *, quiet: bool = True) -> Job:
        """Read and show the status of the device on `port`.

        A failure is shown in the panel; only a read the person asked for (`quiet` False)
        also emits `failed` (a dialog), so one failure is one message (issue 17).
        """
        self.port = port
        self.read_button.setEnabled(True)
        self.labels["port"].setText(f"{port} (reading…)")
        return self.runner.submit(_read, port, title=f"Reading status of {port}",
                                  on_success=lambda status: self._show(port, status),
                                  on_error=lambda exc: self._failed(port, exc, quiet))

    def _show(self, port: str, status: dict[str, Any]) -> None:
        if port != self.port:
            return  # another device was selected meanwhile
        self.status = status
        if status.get("protocol") == "smp":
            self._show_smp(port, status)
            self.updated.emit(status)
            return
        files = any(c.get("path") is not None for c in status["components"])
        self.components.setHorizontalHeaderLabels(_FILE_COLUMNS if files else _SUIT_COLUMNS)
        self.labels["port"].setText(port)
        for name in ("vendor_id", "class_id", "device_id"):
            self.labels[name].setText(status[name])
        last = status["last_result"]
        self.labels["last_result"].setText("none yet" if last is None else
                                           f"{last['result']} — sequence number "
                                           f"{last['sequence_number']}: {last['detail']}")
        fill_table(self.components, [_component_row(c, files) for c in status["components"]])
        fill_table(self.slots, [[name, state] for name, state in status["slots"].items()])
        self.updated.emit(status)

    def _show_smp(self, port: str, status: dict[str, Any]) -> None:
        # An SMP device has no SUIT identity of its own: the rows say what it reports.
        self.components.setHorizontalHeaderLabels(_SMP_COLUMNS)
        self.labels["port"].setText(f"{port} (SMP, {status['mode']})")
        self.labels["vendor_id"].setText(f"— (bootloader: {status['bootloader'] or 'not reported'})")
        self.labels["class_id"].setText(f"— (OS: {status['os_info'] or 'not reported'})")
        self.labels["device_id"].setText("— (SMP reports none)")
        self.labels["last_result"].setText("see the factory records" if status["image_management"]
                                           else "no image management on this device")
        fill_table(self.components, [[f"image {i['image']} slot {i['slot']}", i["version"], "", "",
                                      i["hash"] or ""] for i in status["images"]])
        fill_table(self.slots, [[f"image {i['image']} slot {i['slot']}",
                                 ", ".join(f for f in _SMP_FLAGS if i[f]) or "no flags"]
                                for i in status["images"]])

    def _failed(self, port: str, exc: BaseException, quiet: bool) -> None:
        if port != self.port:
            return  # another device was selected meanwhile: this one's row is gone
        self.labels["port"].setText(f"{port} (no status: {exc})")
        self.readFailed.emit(exc)
        if not quiet:
            self.failed.emit(exc, f"read the status of {port}")


def _component_row(component: dict[str, Any], files: bool) -> list[str]:
    # A file shows its path and ls-style mode. A flash component shows its id and active
    # slot; beside files (a device may hold both kinds) the slot says that it is one.
    path, mode, slot = component.get("path"), component.get("mode"), component["active_slot"]
    if mode is not None:
        fourth = flashing.mode_text(mode)
    elif slot is None:
        fourth = ""
    else:
        fourth = f"slot {slot}" if files else str(slot)
    return [path if path is not None else "/".join(component["id"]),
            str(component["sequence_number"]), str(component["size"]), fourth,
            component["digest"] or ""]
