"""The Simulate panel (issue 14): the trace of `suitwb simulate` beside the manifest.

Choose the envelope (by default the project's last build, then its signed release), the
device file and the payloads, and Run: the worker reads them with the CLI's limits, runs
`workbench.simulate.simulate` (the one use case; nothing is re-implemented here) and
inspects the envelope for the manifest view. The trace is a table with the CLI's values
(`workbench.simulate_json.step_json`); the failing step is highlighted, and selecting a
step selects its command in the manifest tree beside it, found by its byte span
(`suit.spans`), since the processor's locations name sections and command numbers, not
CBOR paths.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.inspector.panel import Inspection, InspectorPanel, inspect_bytes
from gui.workers import Job, JobRunner, Progress
from suit.model import ManifestKey
from suit.processor_model import SECTION_KEYS
from suit.spans import Path as SpanPath
from suit.spans import SpanIndex, Step
from workbench.errors import FileAccessError
from workbench.simulate import AUTHENTICATE, SEQUENCE_NUMBER, Simulation, simulate_files
from workbench.simulate_json import simulation_json

logger = logging.getLogger(__name__)

COLUMNS: Final = ("#", "Sequence", "Component", "Command", "Parameters", "Result", "Reason")
#: The failing step's background (the inspector's "bad" badge colour, lightened).
FAILED_BRUSH: Final = QColor("#ffcdd2")
#: One segment of a processor location path: ``install[2]``, ``try-each[0][1]``,
#: ``run-sequence[3]`` (suit/processor_commands.py builds them).
_SEGMENT: Final = re.compile(r"^(?P<name>[a-z-]+)(?:\[(?P<alt>\d+)\])?\[(?P<n>\d+)\]$")
_COMMON_SEQUENCE: Final = 4  # suit-shared-sequence in suit-common (M37 §8.4.5)
_AUTHENTICATION: Final = 2  # suit-authentication-wrapper in the envelope (M37 §8.3)
_MANIFEST: Final = 3  # suit-manifest in the envelope (M37 §8.3)


@dataclass(frozen=True)
class SimulationShown:
    """What one Run produced: the simulation, its CLI JSON form and the envelope inspected."""

    simulation: Simulation
    document: dict[str, Any]
    inspection: Inspection


def run_simulation(progress: Progress, envelope: Path, device: Path,
                   payloads: Sequence[tuple[str, Path]]) -> SimulationShown:
    """Read the inputs as `suitwb simulate` does, simulate, inspect (a worker job)."""
    progress(0, 2, "simulating")
    run = simulate_files(envelope, device, [(_uri(uri, path), path) for uri, path in payloads])
    progress(1, 2, "inspecting the envelope")
    inspection = inspect_bytes(progress, run.envelope, envelope.name, run.device.anchors)
    simulation = run.simulation
    return SimulationShown(simulation, simulation_json(simulation), inspection)


def _uri(uri: str, path: Path) -> str:
    if not uri.strip():
        raise FileAccessError(str(path), "the payload has no URI",
                              hint="Type the URI the manifest fetches it from.")
    return uri.strip()


# --- from a trace step to its command's bytes ----------------------------------------------

def command_span_path(step: dict[str, Any], spans: SpanIndex) -> SpanPath | None:
    """The span path of the command a step (``step_json`` form) ran, or None.

    Device checks map to what they check (authentication wrapper, sequence number);
    dependency steps (depth > 0) ran another manifest and map to nothing here.
    """
    root: SpanPath = (Step.TAGGED,) if (Step.TAGGED,) in spans.by_path else ()
    manifest = (*root, _MANIFEST, Step.WRAPPED)
    if step["section"] is None:
        return _device_check(step["command"], root, manifest, spans)
    if step["depth"]:
        return None
    segments = [_SEGMENT.match(s) for s in str(step["path"]).split("/")]
    if not segments or any(m is None for m in segments):
        return None
    return _walk([m for m in segments if m is not None], root, manifest, spans)


def _device_check(command: str, root: SpanPath, manifest: SpanPath,
                  spans: SpanIndex) -> SpanPath | None:
    wanted = {AUTHENTICATE: (*root, _AUTHENTICATION),
              SEQUENCE_NUMBER: (*manifest, int(ManifestKey.SEQUENCE_NUMBER))}.get(command)
    return wanted if wanted is not None and wanted in spans.by_path else None


def _walk(segments: list[re.Match[str]], root: SpanPath, manifest: SpanPath,
          spans: SpanIndex) -> SpanPath | None:
    sequence = _top_sequence(segments[0]["name"], root, manifest, spans)
    if sequence is None:
        return None
    number = int(segments[0]["n"])  # a sequence is [command, argument, ...]
    for segment in segments[1:]:
        argument = (*sequence, 2 * number + 1)
        if segment["name"] == "try-each":  # M37 §8.4.10.2: an array of wrapped sequences
            sequence = (*argument, int(segment["alt"] or 0), Step.WRAPPED)
        else:  # run-sequence: one wrapped sequence (M37 §8.4.10.5)
            sequence = (*argument, Step.WRAPPED)
        number = int(segment["n"])
    command = (*sequence, 2 * number)
    return command if command in spans.by_path else None


def _top_sequence(name: str, root: SpanPath, manifest: SpanPath,
                  spans: SpanIndex) -> SpanPath | None:
    if name == "shared-sequence":
        common = (*manifest, int(ManifestKey.COMMON), Step.WRAPPED)
        return (*common, _COMMON_SEQUENCE, Step.WRAPPED)
    key = SECTION_KEYS.get(name)
    if key is None:
        return None
    inside = (*manifest, int(key), Step.WRAPPED)
    # A severed section (M37 §8.4.9) sits in the envelope; the manifest holds its digest.
    return inside if inside in spans.by_path else (*root, int(key), Step.WRAPPED)


# --- the panel ------------------------------------------------------------------------------

def _cell(text: str) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
    return item


def step_row(step: dict[str, Any]) -> list[str]:
    """The table's cells for one step (``step_json`` form)."""
    where = step["procedure"] if step["path"] is None else \
        f"{step['procedure']} {'  ' * step['depth']}{step['path']}"
    component = "-" if step["component"] is None else "[" + ", ".join(step["component"]) + "]"
    if step["component"] is None and step["component-index"] is not None:
        component = f"#{step['component-index']}"
    parameters = " ".join(f"{k}={v}" for k, v in step["parameters"].items())
    return [str(step["index"]), where, component, step["command"], parameters,
            step["result"], step["detail"]]


def summary(document: dict[str, Any]) -> str:
    """The outcome and report, as the CLI's last lines say them."""
    outcome = document["outcome"]
    if outcome["result"] == "passed":
        text = "Outcome: passed."
        if document["deferred"]:
            text += f" {len(document['deferred'])} image checks deferred: no payload given."
    else:
        at = "" if outcome["step"] is None else f" at step {outcome['step']}"
        text = f"Outcome: refused{at}: {outcome['reason']} ({outcome['refusal']}): " \
               f"{outcome['detail']}"
    report = document["report"]
    if report is None:
        return text + "\nReport: none (the manifest did not authenticate)."
    record = report["failing-record"]
    where = "" if record is None else (f", record section {record['section']} offset "
                                       f"{record['offset']} component {record['component-index']}")
    return text + f"\nReport: {'success' if report['success'] else 'failure'}, reason " \
                  f"{report['reason']}{where}."


class SimulatePanel(QWidget):
    """Run `suitwb simulate` from the window and show its trace beside the manifest.

    Signals:
        failed(object, str): an error and what was being done.
        simulated(object): the `SimulationShown` just shown.
    """

    failed = Signal(object, str)
    simulated = Signal(object)

    def __init__(self, runner: JobRunner,
                 project_payloads: Callable[[], list[tuple[str, Path]]] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.project_payloads = project_payloads or list
        self.job: Job | None = None
        self.shown: SimulationShown | None = None
        self.envelope, self.device = QLineEdit(), QLineEdit()
        self.envelope.setObjectName("simulate-envelope")
        self.device.setObjectName("simulate-device")
        self.payloads = QTableWidget(0, 2)
        self.payloads.setObjectName("simulate-payloads")
        self.payloads.setHorizontalHeaderLabels(["URI", "File"])
        self.payloads.horizontalHeader().setStretchLastSection(True)
        self.payloads.setMaximumHeight(110)
        self.trace = QTableWidget(0, len(COLUMNS))
        self.trace.setObjectName("simulate-trace")
        self.trace.setHorizontalHeaderLabels(list(COLUMNS))
        self.trace.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.trace.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.trace.verticalHeader().hide()
        self.trace.itemSelectionChanged.connect(self._step_chosen)
        self.manifest = InspectorPanel(runner)
        self.manifest.setObjectName("simulate-manifest")
        self.result = QLabel("Not simulated yet.")
        self.result.setObjectName("simulate-result")
        self.result.setWordWrap(True)
        self.run_button = QPushButton("Run simulation")
        self.run_button.setObjectName("simulate-run")
        self.run_button.clicked.connect(self.run)
        self._layout()

    def _layout(self) -> None:
        files = QFormLayout()
        files.addRow("Envelope", self._path_row(self.envelope, "Envelope",
                                                "SUIT envelopes (*.suit);;All files (*)"))
        files.addRow("Device file", self._path_row(self.device, "Device file",
                                                   "Device files (*.toml);;All files (*)"))
        add, remove, project = (QPushButton("Add payload file…"), QPushButton("Remove payload"),
                                QPushButton("Payloads of the project"))
        add.clicked.connect(self._add_payload_file)
        remove.clicked.connect(lambda: self.payloads.removeRow(self.payloads.currentRow()))
        project.clicked.connect(self.use_project_payloads)
        buttons = QHBoxLayout()
        for button in (add, remove, project):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.run_button)
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.trace)
        split.addWidget(self.manifest)
        split.setSizes([700, 500])
        layout = QVBoxLayout(self)
        layout.addLayout(files)
        layout.addWidget(QLabel("Payloads (the URI the manifest fetches, the file served there)"))
        layout.addWidget(self.payloads)
        layout.addLayout(buttons)
        layout.addWidget(split, 1)
        layout.addWidget(self.result)

    def _path_row(self, edit: QLineEdit, title: str, kinds: str) -> QHBoxLayout:
        browse = QPushButton("…")
        browse.clicked.connect(lambda: self._browse(edit, title, kinds))
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        row.addWidget(browse)
        return row

    def _browse(self, edit: QLineEdit, title: str, kinds: str) -> None:
        name, _ = QFileDialog.getOpenFileName(self, title, edit.text(), kinds)
        if name:
            edit.setText(name)

    # --- payloads -------------------------------------------------------------------------

    def set_payloads(self, pairs: Sequence[tuple[str, Path]]) -> None:
        """Show these (URI, file) pairs as the payloads served."""
        self.payloads.setRowCount(0)
        for uri, path in pairs:
            self.add_payload(uri, path)

    def add_payload(self, uri: str, path: Path) -> None:
        """Add one payload row (the URI stays editable)."""
        row = self.payloads.rowCount()
        self.payloads.insertRow(row)
        self.payloads.setItem(row, 0, QTableWidgetItem(uri))
        self.payloads.setItem(row, 1, _cell(str(path)))

    def use_project_payloads(self) -> None:
        """Serve the open project's detached payloads (as the flash panel does)."""
        self.set_payloads(self.project_payloads())

    def payload_pairs(self) -> list[tuple[str, Path]]:
        """The (URI, file) pairs the table shows."""
        pairs = []
        for row in range(self.payloads.rowCount()):
            uri, path = self.payloads.item(row, 0), self.payloads.item(row, 1)
            pairs.append((uri.text() if uri else "", Path(path.text() if path else "")))
        return pairs

    def _add_payload_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Payload", "", "All files (*)")
        if name:
            self.add_payload("", Path(name))
            item = self.payloads.item(self.payloads.rowCount() - 1, 0)
            if item is not None:
                self.payloads.editItem(item)

    # --- running --------------------------------------------------------------------------

    def run(self) -> Job | None:
        """Simulate in a worker; the trace and the manifest show when it is done."""
        if not self.envelope.text() or not self.device.text():
            missing = "envelope" if not self.envelope.text() else "device file"
            self.failed.emit(FileAccessError(f"the {missing}", "none chosen",
                                             hint="Choose the envelope and the device file."),
                             "simulate the update")
            return None
        envelope = Path(self.envelope.text())
        self.run_button.setEnabled(False)
        self.result.setText(f"Simulating {envelope.name}…")
        job = Job(run_simulation, envelope, Path(self.device.text()), self.payload_pairs(),
                  title=f"Simulating {envelope.name}")
        job.succeeded.connect(self.show_simulation)
        job.failed.connect(self._failed)
        self.job = self.runner.start(job)
        return job

    def show_simulation(self, shown: SimulationShown) -> None:
        """Fill the trace and the manifest view (UI thread)."""
        self.run_button.setEnabled(True)
        self.shown = shown
        self.manifest.show_inspection(shown.inspection)
        failing = shown.document["outcome"]["step"]
        self.trace.setRowCount(0)
        for step in shown.document["steps"]:
            self._add_step(step, failing)
        self.trace.resizeColumnsToContents()
        self.result.setText(summary(shown.document))
        first = self.trace.item(failing, 0) if failing is not None else None
        if first is not None:
            self.trace.scrollToItem(first)
        self.simulated.emit(shown)

    def _add_step(self, step: dict[str, Any], failing: int | None) -> None:
        row = self.trace.rowCount()
        self.trace.insertRow(row)
        for column, text in enumerate(step_row(step)):
            item = _cell(text)
            if row == failing:
                item.setBackground(QBrush(FAILED_BRUSH))
            self.trace.setItem(row, column, item)

    def _failed(self, exc: BaseException) -> None:
        self.run_button.setEnabled(True)
        self.result.setText(f"Not simulated: {exc}")
        self.failed.emit(exc, "simulate the update")

    # --- linking --------------------------------------------------------------------------

    def _step_chosen(self) -> None:
        rows = self.trace.selectionModel().selectedRows()
        if rows and self.shown is not None:
            self.select_step(rows[0].row())

    def select_step(self, index: int) -> bool:
        """Select step `index`'s command in the manifest view (False: nothing to select)."""
        if self.shown is None or self.manifest.inspection is None:
            return False
        path = command_span_path(self.shown.document["steps"][index],
                                 self.manifest.inspection.spans)
        return path is not None and self.manifest.select_path(path)
