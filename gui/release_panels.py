"""Puts signing, keys, flashing, simulation, device status and records into the main window, and opens
the demo workspace with its token key and virtual device.

`install(window)` adds the views and docks through the window's extension points;
`open_demo(window)` creates what the demo needs (`workbench.demo`), opens its project,
starts its virtual device on a pseudo-terminal and fills the panels, so build, sign and
flash work at once. With ``flow=True`` (``--screenshot``) it also runs build, sign and
flash itself, so the picture shows a signed release and a flashed device.
"""

from __future__ import annotations

import atexit
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QApplication, QTextBrowser

from gui.device_panel import DevicePanel
from gui.flash_panel import FlashPanel
from gui.keys_panel import KeysPanel
from gui.pin_dialog import DialogPinProvider
from gui.records_panel import RecordsPanel, apply_targets
from gui.signing_panel import SigningPanel
from gui.simulate_panel import SimulatePanel
from signing.token import SOFTHSM_MODULE
from suit.errors import WorkbenchError
from workbench.demo import (
    KEY_LABEL,
    DemoConfig,
    DemoDevice,
    DemoWorkspace,
    ensure_demo,
    payloads_of,
)
from workbench.project.commands import SetValue

if TYPE_CHECKING:
    from gui.main_window import MainWindow


@dataclass
class ReleasePanels:
    """The signing, keys, flash, device and records panels and the demo's running parts
    (tests reach them here)."""

    window: MainWindow
    pins: DialogPinProvider
    signing: SigningPanel
    keys: KeysPanel
    flash: FlashPanel
    device: DevicePanel
    records: RecordsPanel
    notes: QTextBrowser
    simulate: SimulatePanel
    demo: DemoWorkspace | None = None
    devices: list[DemoDevice] = field(default_factory=list)

    def start_device(self, state: Path | None = None, description: str = "") -> str:
        """Serve a demo virtual device (state dir `state`) and list it in the flash panel."""
        assert self.demo is not None  # noqa: S101 - invariant: callers open the demo first
        device = DemoDevice(self.demo.device_spec(state))
        path = device.start()
        self.devices.append(device)
        self.flash.add_virtual(path, description or "virtual demo device (trusts the demo key)")
        return path

    def shutdown(self) -> None:
        """Stop every virtual device the workspace started."""
        for device in self.devices:
            if device.path is not None:
                self.flash.remove_virtual(device.path)
            device.stop()
        self.devices.clear()


def _stop_all(devices: list[DemoDevice]) -> None:
    for device in devices:
        device.stop()


def _payloads(window: MainWindow) -> list[tuple[str, Path]]:
    project = window.workspace.project
    return [] if project is None else payloads_of(project)


def install(window: MainWindow) -> ReleasePanels:
    """Create the part-2 panels and wire them into `window`."""
    runner = window.runner
    pins = DialogPinProvider(window)
    if window.settings.records_target() or window.settings.audit_target():
        apply_targets(window.settings.records_target(), window.settings.audit_target())
    parts = ReleasePanels(window, pins, SigningPanel(runner, pins), KeysPanel(runner, pins),
                  FlashPanel(runner, lambda: _payloads(window)), DevicePanel(runner),
                  RecordsPanel(runner, pins=pins, settings=window.settings), QTextBrowser(),
                  SimulatePanel(runner, lambda: _payloads(window)))
    window.add_view("sign", "Sign", parts.signing)
    window.add_view("keys", "Keys", parts.keys)
    window.add_view("simulate", "Simulate", parts.simulate)
    window.add_view("flash", "Flash", parts.flash)
    window.add_view("records", "Records", parts.records)
    window.register_dock("device", "Device status", parts.device, Qt.DockWidgetArea.RightDockWidgetArea)
    window.register_dock("notes", "Workspace notes", parts.notes, Qt.DockWidgetArea.BottomDockWidgetArea)
    if "lint" in window.docks:
        window.tabifyDockWidget(window.docks["lint"], window.docks["notes"])
    window.docks["notes"].hide()
    for panel in (parts.signing, parts.keys, parts.flash, parts.device, parts.records,
                  parts.simulate):
        panel.failed.connect(lambda exc, doing: window.errors.show(exc, doing))
    _wire(window, parts)
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(parts.shutdown)
    atexit.register(_stop_all, parts.devices)  # no Qt at exit: the widgets may be gone
    window.release_panels = parts  # type: ignore[attr-defined]
    return parts


def _wire(window: MainWindow, parts: ReleasePanels) -> None:
    parts.signing.signed.connect(lambda outcome: _signed(parts, outcome))
    parts.flash.portSelected.connect(lambda port: _select_port(parts, port))
    parts.flash.flashed.connect(lambda outcomes: _flashed(parts, outcomes))
    parts.keys.exported.connect(lambda path: window.statusBar().showMessage(
        f"Public key written to {path}", 8000))
    parts.records.exported.connect(lambda path: window.statusBar().showMessage(
        f"Records exported to {path}", 8000))
    session = getattr(getattr(window, "authoring", None), "session", None)
    if session is not None:
        session.built.connect(lambda path: _built(parts, Path(path), _project_profile(session)))
    window.workspace.projectOpened.connect(lambda: _follow_project(parts))


def _follow_project(parts: ReleasePanels) -> None:
    """The sign panel's input and output and the flash panel's bundle are the open
    project's build and signed release, not those of the project opened before."""
    project = parts.window.workspace.project
    if project is None:
        return
    built = project.folder / "build" / f"{project.name}.suit"
    signed = built.with_name(f"{built.stem}-signed.suit")
    parts.signing.source.setText(str(built))
    parts.signing.output.setText(str(signed))
    parts.signing.set_project_profile(getattr(project, "profile", None))
    parts.flash.bundle.setText(str(signed))
    _simulate_release(parts, signed if signed.exists() else built)


def _project_profile(session: Any) -> str | None:
    project = getattr(session.workspace, "project", None)
    return getattr(project, "profile", None)


def _built(parts: ReleasePanels, path: Path, profile: str | None = None) -> None:
    parts.signing.source.setText(str(path))
    parts.signing.set_project_profile(profile)  # MTI §3: the signers must fit it
    _simulate_release(parts, path)
    if not parts.signing.output.text():
        parts.signing.output.setText(str(path.with_name(f"{path.stem}-signed.suit")))


def _signed(parts: ReleasePanels, outcome: Any) -> None:
    parts.flash.bundle.setText(str(outcome.output))
    _simulate_release(parts, Path(outcome.output))
    parts.window.statusBar().showMessage(f"Signed and verified: {outcome.output}", 10000)
    parts.records.refresh()


def _simulate_release(parts: ReleasePanels, path: Path) -> None:
    """The simulation's default: the project's latest envelope (built, then signed) and
    the payloads the project serves."""
    parts.simulate.envelope.setText(str(path))
    parts.simulate.use_project_payloads()


def _select_port(parts: ReleasePanels, port: str) -> None:
    # Selecting never opens the port (issue 17): the panel clears and waits for Read status.
    parts.device.select_port(port)


def _flashed(parts: ReleasePanels, outcomes: list[Any]) -> None:
    ports = parts.flash.selected_ports()
    port = ports[0] if len(ports) == 1 else (outcomes[0].port if outcomes else None)
    if port is not None:
        parts.device.show_port(port)
    parts.records.refresh()


# --- the demo workspace ----------------------------------------------------------------------

def open_demo(window: MainWindow, flow: bool = False,
              config: DemoConfig | None = None) -> ReleasePanels | None:
    """Create (first run) and open the demo workspace; with `flow`, also build, sign and
    flash it and wait until the panels show the result (``--screenshot``)."""
    parts: ReleasePanels = getattr(window, "release_panels", None) or install(window)
    try:
        parts.demo = ensure_demo(config)
    except WorkbenchError as exc:
        window.errors.show(exc, "set up the demo workspace")
        return None
    from gui.authoring.demo import open_demo as open_project
    open_project(window)
    _fill(parts, parts.demo)
    if flow:
        run_flow(parts)
    return parts


def _fill(parts: ReleasePanels, demo: DemoWorkspace) -> None:
    notes = demo.notes_file.read_text(encoding="utf-8")
    parts.notes.setMarkdown(notes)
    parts.window.docks["notes"].show()
    parts.window.docks["notes"].raise_()
    project = parts.window.workspace.project
    build = (project.folder if project else demo.project_file.parent) / "build" / \
        f"{project.name if project else 'single-mcu'}.suit"
    parts.signing.source.setText(str(build))
    parts.signing.output.setText(str(demo.release_file))
    if demo.key_uri not in parts.signing.keys:
        parts.signing.add_key(demo.key_uri)
    for browser in (parts.keys.browser, parts.signing.browser):
        browser.module.setCurrentText(SOFTHSM_MODULE)
        browser.listed.connect(lambda b=browser: b.select_token(demo.token_label)
                               and b.select_key(KEY_LABEL))
        browser.refresh()
    parts.flash.bundle.setText(str(demo.release_file))
    _simulate_release(parts, demo.release_file)
    parts.records.refresh()
    port = parts.start_device()
    parts.flash.select_ports([port])
    parts.window.statusBar().showMessage(
        f"Demo workspace ready: the demo token's PIN is in the notes ({demo.notes_file}).", 15000)


def run_flow(parts: ReleasePanels, timeout: float = 120.0) -> bool:
    """Build, sign with the demo PIN, flash the demo device and read its status; wait for it.

    Only for the scripted demo (``--screenshot``): it pumps the event loop while waiting,
    which the window does before `exec()` starts.
    """
    assert parts.demo is not None  # noqa: S101 - invariant: only the scripted demo calls this
    authoring = getattr(parts.window, "authoring", None)
    done: list[bool] = []
    hooks = _Chain(parts, done)
    parts.signing.pins = parts.demo.pins()
    try:
        _above_device(parts)
        if authoring is not None:
            authoring.session.built.connect(hooks.built)
            authoring.session.failed.connect(hooks.stop)
            authoring.build()
        else:
            hooks.built("")
        return _pump_until(lambda: bool(done), timeout)
    finally:
        parts.signing.pins = parts.pins
        hooks.detach(authoring)


def _above_device(parts: ReleasePanels) -> None:
    """Raise the project's sequence number above the device's, so a demo flashed before
    takes the new release instead of refusing it as a rollback (M37 §8.4.8.3)."""
    if parts.device.port:  # the scripted demo reads the status as a person would
        parts.device.show_port(parts.device.port)
    _pump_until(lambda: "reading" not in parts.device.labels["port"].text(), 10.0)
    project = parts.window.workspace.project
    if parts.device.status is None or project is None:
        return
    installed = max((c["sequence_number"] for c in parts.device.status["components"]), default=0)
    if isinstance(project.sequence_number, int) and project.sequence_number <= installed:
        parts.window.workspace.push(SetValue(("sequence_number",), installed + 1))


class _Chain(QObject):
    """One-shot links: built -> sign, signed -> flash, flashed -> status shown."""

    def __init__(self, parts: ReleasePanels, done: list[bool]) -> None:
        super().__init__()
        self.parts, self.done = parts, done
        self.flashed_once = False
        parts.signing.signed.connect(self.signed)
        parts.signing.failed.connect(self.stop)
        parts.flash.flashed.connect(self.flashed)
        parts.flash.failed.connect(self.stop)
        parts.device.updated.connect(self.status_shown)
        parts.device.readFailed.connect(self.status_shown)

    def built(self, _path: str) -> None:
        self.parts.signing.sign()

    def signed(self, _outcome: object) -> None:
        self.parts.flash.flash()

    def flashed(self, _outcomes: object) -> None:
        self.flashed_once = True
        self.parts.window.show_view("flash")

    def status_shown(self, *_args: object) -> None:
        if self.flashed_once:  # not the status read when the device was first selected
            self.done.append(True)

    def stop(self, *_args: object) -> None:
        self.done.append(True)

    def detach(self, authoring: Any) -> None:
        for signal, slot in ((self.parts.signing.signed, self.signed),
                             (self.parts.signing.failed, self.stop),
                             (self.parts.flash.flashed, self.flashed),
                             (self.parts.flash.failed, self.stop),
                             (self.parts.device.updated, self.status_shown),
                             (self.parts.device.readFailed, self.status_shown)):
            signal.disconnect(slot)
        if authoring is not None:
            authoring.session.built.disconnect(self.built)
            authoring.session.failed.disconnect(self.stop)


def _pump_until(condition: Any, timeout: float) -> bool:
    app = QApplication.instance()
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        app.processEvents()  # type: ignore[union-attr]
        time.sleep(0.01)
    app.processEvents()  # type: ignore[union-attr]
    return bool(condition())
