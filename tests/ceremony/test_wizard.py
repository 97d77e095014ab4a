"""The GUI wizard walks the same runner: a full ceremony by clicking through it, and a
refusal that aborts. Real Qt widgets (offscreen) and a real SoftHSM2 token."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialog

from gui.ceremony_wizard import CeremonyWizard, StepPage
from signing.ceremony.checking import verify_transcript
from suit.keys import TrustAnchor
from tests.ceremony.conftest import token_objects, unique_label, write_ceremony

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ceremony"


def _wizard(qtbot, tmp_path: Path) -> CeremonyWizard:
    label = unique_label("gui")
    ceremony = write_ceremony(tmp_path, "root-key.toml",
                              {'token_label = "suit-root-2026"': f'token_label = "{label}"'})
    wizard = CeremonyWizard(ceremony, tmp_path / "out")
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.next()  # past the introduction
    return wizard


def _screenshot(wizard: CeremonyWizard, name: str) -> None:
    page = wizard.currentPage()
    if isinstance(page, StepPage):
        page.perform()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    assert wizard.grab().save(str(ARTIFACTS / name))


def _confirm_step(wizard: CeremonyWizard) -> StepPage:
    page = wizard.currentPage()
    assert isinstance(page, StepPage)
    assert not page.isComplete()  # nothing done, nobody initialled
    page.perform()
    for person, edit in page.initials.items():
        assert not page.isComplete()
        edit.setText("".join(w[0] for w in person.split()))
    assert page.isComplete()
    wizard.next()
    return page


def test_a_ceremony_clicked_through_completes(qtbot, softhsm, tmp_path: Path) -> None:
    wizard = _wizard(qtbot, tmp_path)
    pages = [_confirm_step(wizard) for _ in range(4)]
    _screenshot(wizard, "wizard-export-step.png")  # the export step, performed
    pages += [_confirm_step(wizard) for _ in range(3)]
    assert "manufacturer: SoftHSM project" in pages[1].facts.toPlainText()
    assert "thumbprint:" in pages[4].facts.toPlainText()
    assert wizard.currentId() == wizard.finish_id
    assert wizard.ceremony_result is not None and "COMPLETED" in wizard.currentPage().summary.toPlainText()
    # issue 12 (mypy): the outcome once shadowed QDialog.result(), which then was not callable.
    wizard.accept()
    assert wizard.result() == QDialog.DialogCode.Accepted
    anchor = TrustAnchor.from_pem((tmp_path / "out" / "suit-root.pem").read_bytes(), "root")
    report = verify_transcript((tmp_path / "out" / "transcript.json").read_bytes(), anchor)
    assert report.status == "completed"
    wizard.print_pdf(tmp_path / "record.pdf")
    assert (tmp_path / "record.pdf").read_bytes().startswith(b"%PDF-")


def test_refusing_in_the_wizard_aborts_and_destroys_the_key(qtbot, softhsm,
                                                             tmp_path: Path) -> None:
    wizard = _wizard(qtbot, tmp_path)
    for _ in range(3):  # open, record-hsm, init-token
        _confirm_step(wizard)
    page = wizard.currentPage()
    assert page.step.id == "generate-root"
    page.refuse("Alice Admin", "the key id was not read aloud")
    assert wizard.currentId() == wizard.finish_id
    summary = wizard.currentPage().summary.toPlainText()
    assert "ABORTED at step generate-root: Alice Admin refused" in summary
    report = verify_transcript((tmp_path / "out" / "transcript.json").read_bytes())
    assert report.status == "aborted"
    assert token_objects(softhsm, wizard.runner.state.identity.serial) == []


def test_cancelling_mid_ceremony_aborts(qtbot, softhsm, tmp_path: Path) -> None:
    wizard = _wizard(qtbot, tmp_path)
    for _ in range(4):  # through generate-root
        _confirm_step(wizard)
    wizard.reject()
    report = verify_transcript((tmp_path / "out" / "transcript.json").read_bytes())
    assert (report.status, report.abort_reason) == ("aborted", "cancelled by the administrator")
    assert token_objects(softhsm, wizard.runner.state.identity.serial) == []


def test_main_window_opens_the_wizard_from_the_tools_menu(qtbot, softhsm, tmp_path: Path) -> None:
    from gui.app import build_window
    from gui.ceremony_wizard import open_ceremony
    window = build_window()
    qtbot.addWidget(window)
    assert window.ceremony_action.text() == "&Key ceremony…"
    ceremony = write_ceremony(tmp_path, "root-key.toml",
                              {'token_label = "suit-root-2026"': f'token_label = "{unique_label("menu")}"'})
    wizard = open_ceremony(window, ceremony)
    assert wizard is not None and wizard.isVisible() and wizard.parent() is window
    wizard.reject()
    # A ceremony file that does not parse goes to the error presenter, not a traceback.
    bad = tmp_path / "bad.toml"
    bad.write_text("this is not toml = = =")
    shown = []
    # The presenter opens a modal box, which would block a headless test: record instead.
    window.errors.show = lambda exc, doing="": shown.append((exc, doing))
    assert open_ceremony(window, bad) is None
    assert shown and "bad.toml" in shown[0][1]
