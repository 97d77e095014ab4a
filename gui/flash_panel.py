"""The flash panel: serial ports with their USB identity (refreshed on hot-plug, virtual
devices included), one bundle flashed to the selected devices at once with one progress
bar per device (rate and ETA), a results table, cancel, and retry of the failed ones.

The flashing itself is `workbench.flashing.FlashJob` (gang flashing with factory records)
run in a worker; the gang's threads report progress through a queued signal.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from flasher.errors import FlasherError, TransportError, UpdateRefused
from flasher.operations import FlashOutcome, Progress
from flasher.ports import PortInfo, list_serial_ports
from gui.tables import fill_table, make_table
from gui.workers import Job, JobRunner
from workbench import flashing
from workbench.device_profile import load_profile
from workbench.smp_flash import SmpFlashSettings

HOTPLUG_MS = 2000
DRAIN_MS = 30  # how often the UI thread shows what the worker threads reported
_REPORT_EVERY = 0.05  # seconds between reports per port: plenty for a progress bar
#: Protocol last, so the columns older tests and scripts index stay where they were.
_RUN_COLUMNS = ["Port", "Progress", "Stage", "Rate", "ETA", "Result", "Sequence", "Reason",
                "Protocol"]
PayloadSource = Callable[[], Sequence[tuple[str, Path]]]


def _protocol_text(outcome: FlashOutcome) -> str:
    """``suitwb``, or for SMP its mode, host checks, image version and image-match."""
    smp = outcome.smp
    if smp is None:
        return outcome.protocol
    match = {True: "image-match ok", False: "image-match FAILED", None: ""}[smp.image_match]
    parts = [f"SMP {smp.mode}", f"host checks {smp.host_checks}", smp.image_version or "", match]
    return ", ".join(part for part in parts if part)


def outcome_error(outcome: FlashOutcome) -> FlasherError | None:
    """The error to present for a device that did not install the bundle (None if ok)."""
    if outcome.result == "refused" and outcome.refusal is not None:
        return UpdateRefused(outcome.refusal, outcome.reason or "")
    if outcome.result == "failed":
        reason = outcome.reason or "failed"
        busy = any(w in reason.lower() for w in ("busy", "lock", "in use"))
        return TransportError(outcome.port, reason, hint=(
            "Another program has the port open: close it (a terminal, another flasher)."
            if busy else None))
    return None


class _Throttle:
    """Passes a port's report on when its stage changes or enough time has passed."""

    def __init__(self, emit: Callable[[Progress], None]) -> None:
        self._emit, self._lock = emit, threading.Lock()
        self._last: dict[str, tuple[str, float]] = {}

    def __call__(self, progress: Progress) -> None:
        now = time.monotonic()
        with self._lock:
            stage, when = self._last.get(progress.port, ("", 0.0))
            if stage == progress.stage.value and now - when < _REPORT_EVERY:
                return
            self._last[progress.port] = (progress.stage.value, now)
        self._emit(progress)


class FlashPanel(QWidget):
    """Ports, the bundle, per-device progress and results.

    Signals:
        failed(object, str): an error and what was being done.
        flashed(object): the list of `FlashOutcome` of a finished run.
        portSelected(str): the port whose status should be shown.
        progressed(object): one device's `Progress`, after its row was updated.
    """

    failed = Signal(object, str)
    flashed = Signal(object)
    portSelected = Signal(str)
    progressed = Signal(object)

    def __init__(self, runner: JobRunner, payloads: PayloadSource,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self.payloads = runner, payloads
        self.ports: list[PortInfo] = []
        self.virtual: dict[str, str] = {}
        self.flash_job: flashing.FlashJob | None = None
        self.job: Job | None = None
        self.outcomes: list[FlashOutcome] = []
        self.bars: dict[str, QProgressBar] = {}
        self._scanning = False
        self._cancel_asked = False
        self.bundle = QLineEdit()
        self.bundle.setObjectName("flash-bundle")
        self.device_profile = QLineEdit()
        self.device_profile.setObjectName("flash-device-profile")
        self.device_profile.setPlaceholderText("device profile for SMP (MCUboot) devices, optional")
        self.port_table = make_table(["Port", "Description", "USB VID:PID", "Serial number"], multi=True)
        self.port_table.setObjectName("port-table")
        self.port_table.itemSelectionChanged.connect(self._selection_changed)
        self.runs = make_table(_RUN_COLUMNS)
        self.runs.setObjectName("flash-results")
        self.summary = QLabel("Select devices and press Flash.")
        self.flash_button, self.cancel_button, self.retry_button = (
            QPushButton("Flash selected"), QPushButton("Cancel"), QPushButton("Retry failed"))
        self.flash_button.clicked.connect(lambda: self.flash())
        self.cancel_button.clicked.connect(self.cancel)
        self.retry_button.clicked.connect(self.retry_failed)
        self.cancel_button.setEnabled(False)
        self.retry_button.setEnabled(False)
        # Worker threads (the gang's device threads, the port scan) never touch Qt: they put
        # reports in this queue and the UI thread drains it (the JobRunner's rule).
        self._reports: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._drain_timer = QTimer(self)
        self._drain_timer.setInterval(DRAIN_MS)
        self._drain_timer.timeout.connect(self._drain)
        self._drain_timer.start()
        self._layout()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.scan_ports)
        self.timer.start(HOTPLUG_MS)

    def _layout(self) -> None:
        browse = QPushButton("…")
        browse.clicked.connect(self._browse)
        top = QHBoxLayout()
        top.addWidget(QLabel("Signed bundle"))
        top.addWidget(self.bundle, 1)
        top.addWidget(browse)
        top.addWidget(self.device_profile, 1)
        buttons = QHBoxLayout()
        for button in (self.flash_button, self.cancel_button, self.retry_button):
            buttons.addWidget(button)
        buttons.addWidget(self.summary, 1)
        split = QSplitter()
        split.setOrientation(split.orientation().Vertical)
        split.addWidget(self.port_table)
        split.addWidget(self.runs)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(split, 1)
        layout.addLayout(buttons)

    def _browse(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Signed bundle", self.bundle.text(),
                                              "SUIT envelopes (*.suit);;All files (*)")
        if name:
            self.bundle.setText(name)

    # --- ports -----------------------------------------------------------------------------

    def add_virtual(self, path: str, description: str = "virtual device (pseudo-terminal)") -> None:
        """List a virtual device the workspace serves."""
        self.virtual[path] = description
        self._set_ports([p for p in self.ports if p.device not in self.virtual])

    def remove_virtual(self, path: str) -> None:
        """Stop listing a virtual device."""
        self.virtual.pop(path, None)
        self._set_ports([p for p in self.ports if p.device != path])

    def scan_ports(self) -> None:
        """List the machine's ports in a thread (hot-plug poll); the table follows."""
        if self._scanning:
            return
        self._scanning = True
        threading.Thread(target=self._scan, name="port scan", daemon=True).start()

    def _scan(self) -> None:
        self._reports.put(("ports", list_serial_ports()))

    def _drain(self) -> None:
        """Show what worker threads reported (UI thread, every DRAIN_MS)."""
        for _ in range(self._reports.qsize()):
            try:
                kind, payload = self._reports.get_nowait()
            except queue.Empty:
                break
            if kind == "ports":
                self._set_ports(payload)
            else:
                self._show_progress(payload)
                self.progressed.emit(payload)

    def _set_ports(self, found: list[PortInfo]) -> None:
        self._scanning = False
        ports = [PortInfo(path, text) for path, text in self.virtual.items()]
        ports += [p for p in found if p.device not in self.virtual]
        if [p.device for p in ports] == [p.device for p in self.ports]:
            return  # nothing plugged or unplugged: keep the selection untouched
        chosen = set(self.selected_ports())
        self.ports = ports
        fill_table(self.port_table, [[p.device, p.description, p.usb_id or "",
                                      p.serial_number or ""] for p in ports])
        for row, port in enumerate(ports):
            if port.device in chosen:
                self.port_table.selectRow(row)

    def selected_ports(self) -> list[str]:
        """The selected ports, in table order."""
        rows = sorted(i.row() for i in self.port_table.selectionModel().selectedRows())
        return [self.ports[r].device for r in rows if r < len(self.ports)]

    def select_ports(self, paths: Sequence[str]) -> None:
        """Select exactly these ports."""
        self.port_table.clearSelection()
        for row, port in enumerate(self.ports):
            if port.device in paths:
                self.port_table.selectionModel().select(
                    self.port_table.model().index(row, 0),
                    self.port_table.selectionModel().SelectionFlag.Select
                    | self.port_table.selectionModel().SelectionFlag.Rows)

    def _selection_changed(self) -> None:
        ports = self.selected_ports()
        if len(ports) == 1:
            self.portSelected.emit(ports[0])

    # --- flashing --------------------------------------------------------------------------

    def flash(self, ports: Sequence[str] | None = None) -> Job | None:
        """Flash the bundle to `ports` (default: the selected ones) in a worker."""
        ports = list(ports if ports is not None else self.selected_ports())
        if not ports or self.job is not None:
            return None
        self._start_rows(ports)
        self._cancel_asked = False
        self.flash_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.retry_button.setEnabled(False)
        self.summary.setText(f"Flashing {len(ports)} device(s)…")
        job = Job(self._run, Path(self.bundle.text()), ports, list(self.payloads()),
                  self.device_profile.text().strip(), title=f"Flashing {len(ports)} device(s)")
        job.succeeded.connect(self._done)  # all connected before the job can end
        job.failed.connect(self._failed)
        job.finished.connect(self._ended)
        self.job = self.runner.start(job)
        return job

    def _run(self, progress: Callable[[int, int, str], None], bundle_path: Path,
             ports: list[str], payloads: list[tuple[str, Path]],
             profile_path: str) -> list[FlashOutcome]:
        progress(0, 0, "loading the bundle")
        bundle = flashing.load_bundle(bundle_path, payloads)
        # Each port's protocol is detected (HELLO, then SMP); SMP devices are checked
        # against the device profile before anything is uploaded (docs/smp.md).
        profile = load_profile(Path(profile_path)) if profile_path else None
        job = flashing.FlashJob(bundle, ports, flashing.Station.current(),
                                flashing.records_store(),
                                protocols=flashing.ProtocolChoice(smp=SmpFlashSettings(profile)))
        self.flash_job = job
        if self._cancel_asked:
            job.cancel.set()
        return job.run(_Throttle(lambda progress: self._reports.put(("progress", progress))))

    def cancel(self) -> None:
        """Cancel every device of the running flash (each ends ``cancelled``)."""
        self._cancel_asked = True
        if self.flash_job is not None:
            self.flash_job.cancel.set()

    def retry_failed(self) -> Job | None:
        """Flash again the devices whose last attempt did not succeed."""
        return self.flash([o.port for o in self.outcomes if o.result != "ok"])

    def _start_rows(self, ports: list[str]) -> None:
        fill_table(self.runs, [[port, "", "waiting", "", "", "", "", "", ""] for port in ports])
        self.bars = {}
        for row, port in enumerate(ports):
            bar = QProgressBar()
            bar.setObjectName(f"progress-{port}")
            self.runs.setCellWidget(row, 1, bar)
            self.bars[port] = bar

    def _row(self, port: str) -> int:
        return list(self.bars).index(port)

    def _show_progress(self, progress: Progress) -> None:
        bar = self.bars.get(progress.port)
        if bar is None:
            return
        bar.setRange(0, max(progress.bytes_total, 1))
        bar.setValue(min(progress.bytes_done, max(progress.bytes_total, 1)))
        eta = "" if progress.eta is None else f"{progress.eta:.1f} s"
        row = self._row(progress.port)
        for column, text in ((2, progress.stage.value), (3, f"{progress.rate / 1024:.1f} KiB/s"),
                             (4, eta)):
            self.runs.setItem(row, column, QTableWidgetItem(text))

    def _done(self, outcomes: list[FlashOutcome]) -> None:
        self._drain()  # the last progress reports first, so they cannot overwrite results
        self.outcomes = outcomes
        for outcome in outcomes:
            row = self._row(outcome.port)
            if outcome.result == "ok":
                self.bars[outcome.port].setValue(self.bars[outcome.port].maximum())
            sequence = outcome.update.sequence_number if outcome.update else ""
            for column, text in ((5, outcome.result), (6, str(sequence)), (7, outcome.reason or ""),
                                 (8, _protocol_text(outcome))):
                self.runs.setItem(row, column, QTableWidgetItem(text))
        ok = sum(o.result == "ok" for o in outcomes)
        self.summary.setText(f"{ok} of {len(outcomes)} device(s) updated.")
        self.retry_button.setEnabled(ok < len(outcomes))
        self.flashed.emit(outcomes)
        errors = [e for e in map(outcome_error, outcomes) if e is not None]
        if errors:
            self.failed.emit(errors[0], f"update {len(errors)} of {len(outcomes)} device(s)")

    def _failed(self, exc: BaseException) -> None:
        self.summary.setText(f"Not flashed: {exc}")
        self.failed.emit(exc, "flash")

    def _ended(self) -> None:
        self.job, self.flash_job = None, None
        self.flash_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
