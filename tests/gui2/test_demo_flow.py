"""The demo flow through the widgets, headless: build, sign with the token key (PIN typed
into the dialog), flash the virtual device, see its new status; the event loop keeps
turning all the while. Then what must go wrong does: a wrong PIN, a rolled-back bundle."""

from __future__ import annotations

import hashlib
from pathlib import Path

from gui.release_panels import ReleasePanels
from signing.audit import SigningAuditLog
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.fixtures.softhsm import SoftHsm
from tests.gui2.steps import build, flash_selected, result_column, sign_typing_pin, sign_with_demo_pin
from workbench.project.commands import SetValue


def _slot_digests(parts: ReleasePanels) -> set[str]:
    folder = parts.demo.project_file.parent
    return {hashlib.sha256((folder / "images" / name).read_bytes()).hexdigest()
            for name in ("app-slot-a.bin", "app-slot-b.bin")}


def test_build_sign_with_pin_flash_and_see_the_new_status(qtbot, parts: ReleasePanels, softhsm: SoftHsm,
                                                         data_dir: Path, ticks) -> None:
    demo = parts.demo
    assert demo is not None and parts.signing.keys == [demo.key_uri]
    unsigned = build(qtbot, parts)
    ticks.start()
    sign_typing_pin(qtbot, parts, softhsm.user_pin)
    # Verified before it was saved, and verifiable by anyone holding the exported key.
    signed = demo.release_file.read_bytes()
    report = verify_envelope(signed, [TrustAnchor.from_pem(demo.public_key.read_bytes())])
    assert report.ok and len(report.blocks) == 1
    assert decode_envelope(signed).manifest == decode_envelope(unsigned.read_bytes()).manifest
    assert parts.signing.result.text().startswith("Verified (1 of 1 blocks")
    [(_seq, record)] = SigningAuditLog().entries()
    assert record.key_reference == demo.key_uri and record.output_path == str(demo.release_file)
    assert parts.flash.bundle.text() == str(demo.release_file)  # the flash panel follows

    [port] = parts.flash.selected_ports()
    [outcome] = flash_selected(qtbot, parts)
    ticks.stop()
    assert (outcome.port, outcome.result) == (port, "ok")
    assert result_column(parts, 5) == ["ok"] and result_column(parts, 6) == ["1"]
    bar = parts.flash.bars[port]
    assert bar.value() == bar.maximum() == outcome.bytes > len(signed)
    status = parts.device.status
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 1 and app["digest"] in _slot_digests(parts)
    assert status["last_result"]["result"] == "ok"
    assert "active" in status["slots"].values()
    assert parts.device.labels["last_result"].text().startswith("ok — sequence number 1")
    assert parts.device.components.item(0, 1).text() == "1"
    # The UI thread never blocked: the 10 ms timer kept ticking while the token signed
    # and the device was flashed (generous bound for a shared machine).
    elapsed = ticks.times[-1] - ticks.times[0]
    assert len(ticks.times) >= max(3, 0.3 * elapsed / 0.010), (len(ticks.times), elapsed)
    assert ticks.longest_gap < 0.2, ticks.longest_gap
    # The PIN reached the token and nothing else (settings, audit log, records, outputs);
    # only the demo's notes show it, on purpose: it is the demo token's PIN.
    assert f"Demo token PIN: {softhsm.user_pin}" in demo.notes_file.read_text()
    for path in data_dir.rglob("*"):
        if path.is_file() and path != demo.notes_file:
            assert softhsm.user_pin.encode() not in path.read_bytes(), path
    assert window_errors_empty(parts)


def window_errors_empty(parts: ReleasePanels) -> bool:
    return parts.window.errors.last is None


def test_a_wrong_pin_shows_its_message_and_nothing_is_written(qtbot, parts: ReleasePanels) -> None:
    build(qtbot, parts)
    sign_typing_pin(qtbot, parts, "not-the-pin", expect_ok=False)
    shown = parts.window.errors.last
    assert shown is not None and shown.title == "Could not sign the envelope"
    assert "PIN or passphrase incorrect" in shown.message
    assert shown.hint.startswith("Check the PIN")
    assert not parts.demo.release_file.exists()
    assert SigningAuditLog().entries() == []
    assert "Nothing was written" in parts.signing.result.text()


def test_a_rolled_back_bundle_is_refused_with_the_devices_reason(qtbot, parts: ReleasePanels) -> None:
    parts.window.workspace.push(SetValue(("sequence_number",), 3))
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    [first] = flash_selected(qtbot, parts)
    assert first.result == "ok" and first.update.sequence_number == 3

    parts.window.workspace.push(SetValue(("sequence_number",), 2))
    build(qtbot, parts)
    sign_with_demo_pin(qtbot, parts)
    [refused] = flash_selected(qtbot, parts)
    assert refused.result == "refused" and refused.refusal.name == "ROLLBACK"
    assert result_column(parts, 5) == ["refused"]
    assert result_column(parts, 7) == [refused.reason] and "3" in refused.reason
    shown = parts.window.errors.last
    assert shown is not None and "device refused the update: rollback" in shown.message
    assert refused.reason in shown.message
    assert shown.hint == "Build the release with a higher sequence number."
    # The device kept the installed release and says why it refused the other.
    status = parts.device.status
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 3
    assert status["last_result"]["result"] == "rollback"
    assert parts.flash.retry_button.isEnabled()
