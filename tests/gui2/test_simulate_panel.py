"""The Simulate panel (issue 14): a template release, built and signed with a real key, run
through the panel against a device file that matches it (passed) and one of another class
(refused at condition-class-identifier, its row highlighted); clicking a trace row selects
that command in the manifest tree beside it. Everything through the widgets: typed paths,
the Run button, clicks on the table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from PySide6.QtCore import Qt

from gui.release_panels import ReleasePanels
from gui.simulate_panel import FAILED_BRUSH, SimulatePanel
from suit.model import Command
from suit.spans import Step
from tests.gui2.steps import TIMEOUT, build
from tests.workbench.test_simulate import Release, _build, _device_file
from workbench.demo import payloads_of


@pytest.fixture
def release(tmp_path: Path) -> Release:
    """The single-mcu template built and signed with a fresh P-256 key."""
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = tmp_path / "release.pem", tmp_path / "release-public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return _build("single-mcu", tmp_path, (private, public))


@pytest.fixture
def panel(window) -> SimulatePanel:  # type: ignore[no-untyped-def]
    parts: ReleasePanels = window.release_panels
    window.show_view("simulate")
    return parts.simulate


def _run(qtbot, panel: SimulatePanel, release: Release, device: Path) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    for edit, path in ((panel.envelope, release.envelope), (panel.device, device)):
        edit.clear()
        qtbot.keyClicks(edit, str(path))
    panel.set_payloads(list(release.payloads.items()))
    with qtbot.waitSignal(panel.simulated, timeout=TIMEOUT) as shown:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    document: dict[str, Any] = shown.args[0].document
    return document


def _click_row(qtbot, panel: SimulatePanel, row: int) -> None:  # type: ignore[no-untyped-def]
    item = panel.trace.item(row, 3)
    assert item is not None
    panel.trace.scrollToItem(item)
    rect = panel.trace.visualItemRect(item)
    qtbot.mouseClick(panel.trace.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def _selected_command(panel: SimulatePanel) -> int:
    """The command code of the element selected in the manifest tree."""
    model = panel.manifest.model
    assert model is not None
    span = model.span_at(panel.manifest.tree.currentIndex())
    assert span is not None and span.kind == "uint", span
    return int(span.value)


_COMMANDS = {c.spec_name: c for c in Command}


def _rows(panel: SimulatePanel, column: int) -> list[str]:
    return [panel.trace.item(r, column).text() for r in range(panel.trace.rowCount())]  # type: ignore[union-attr]


def test_matching_device_passes_and_each_row_selects_its_command(qtbot, panel: SimulatePanel,
                                                                release: Release) -> None:
    document = _run(qtbot, panel, release, _device_file(release))
    assert document["outcome"]["result"] == "passed"
    assert panel.result.text().startswith("Outcome: passed.")
    assert "Report: success, reason ok." in panel.result.text()
    assert _rows(panel, 3) == [s["command"] for s in document["steps"]]
    assert set(_rows(panel, 5)) <= {"passed", "nested"}
    assert panel.trace.item(0, 0).background().color() != FAILED_BRUSH  # type: ignore[union-attr]
    # Every processor step, clicked, selects exactly its command's code in the tree,
    # in the shared sequence, in the severed install section and inside try-each.
    processor_rows = [s for s in document["steps"] if s["section"] is not None]
    assert {s["path"].split("[")[0] for s in processor_rows} >= {"shared-sequence", "install"}
    assert any("/try-each[" in s["path"] for s in processor_rows)
    for step in processor_rows:
        _click_row(qtbot, panel, step["index"])
        assert _selected_command(panel) == _COMMANDS[step["command"]], step


def test_wrong_class_is_refused_at_class_identifier_and_its_row_is_highlighted(
        qtbot, panel: SimulatePanel, release: Release) -> None:
    document = _run(qtbot, panel, release, _device_file(release, models=["another-model"]))
    outcome = document["outcome"]
    assert outcome["result"] == "refused" and outcome["refusal"] == "wrong-class"
    failing = outcome["step"]
    assert document["steps"][failing]["command"] == "condition-class-identifier"
    assert _rows(panel, 5)[failing] == "failed"
    for column in range(panel.trace.columnCount()):
        assert panel.trace.item(failing, column).background().color() == FAILED_BRUSH  # type: ignore[union-attr]
    assert panel.trace.item(failing - 1, 0).background().color() != FAILED_BRUSH  # type: ignore[union-attr]
    assert f"refused at step {failing}: condition-failed (wrong-class)" in panel.result.text()
    _click_row(qtbot, panel, failing)
    assert _selected_command(panel) == Command.CLASS_IDENTIFIER
    # The one in the shared sequence (suit-common member 4), where the step says it ran.
    assert document["steps"][failing]["path"] == "shared-sequence[3]"
    span = panel.manifest.model.span_at(panel.manifest.tree.currentIndex())  # type: ignore[union-attr]
    assert span is not None and span.path[-3:] == (4, Step.WRAPPED, 6)


def test_a_device_file_that_is_wrong_goes_to_the_error_presenter(qtbot, window, panel: SimulatePanel,
                                                                release: Release) -> None:
    device = release.folder / "bad-device.toml"
    device.write_text('[device]\nmodle = "single-mcu"\n')
    qtbot.keyClicks(panel.envelope, str(release.envelope))
    qtbot.keyClicks(panel.device, str(device))
    with qtbot.waitSignal(window.errors.presented, timeout=TIMEOUT) as presented:
        qtbot.mouseClick(panel.run_button, Qt.MouseButton.LeftButton)
    record = presented.args[0]
    assert record.title == "Could not simulate the update"
    assert "device.modle" in record.message and not record.details  # typed, no traceback
    assert panel.run_button.isEnabled()
    window.errors.box.close()


def test_the_demo_defaults_to_its_release_and_the_projects_payloads(qtbot, parts: ReleasePanels) -> None:
    assert parts.demo is not None and parts.window.workspace.project is not None
    assert parts.simulate.envelope.text() == str(parts.demo.release_file)
    expected = payloads_of(parts.window.workspace.project)
    assert expected and parts.simulate.payload_pairs() == expected
    built = build(qtbot, parts)  # the latest build becomes the default
    assert parts.simulate.envelope.text() == str(built)
