"""The key-ceremony wizard: one page per step of the ceremony file, walking the same
runner as `suitwb ceremony run` (signing.ceremony.runner).

Each step page shows the step's text and role. "Perform step" runs its action (the
runner records it) and shows the facts to check aloud; then every person the role names
types their initials, or refuses (which aborts the ceremony: the runner destroys the keys
made so far). Next confirms. The last page finishes (signs the transcript with the new key,
commits the PIN) or reports the abort, and prints the record to PDF.

Token work runs on the GUI thread: each action is one or two PKCS#11 calls that take
well under a second on SoftHSM2 and USB tokens.

Run it as ``python -m gui.ceremony_wizard CEREMONY.toml [--out DIR]``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from gui.ceremony_pdf import write_pdf
from signing.ceremony.answers import Confirmation, StepPrompt
from signing.ceremony.errors import CeremonyAborted
from signing.ceremony.runner import CeremonyResult, CeremonyRunner
from suit.errors import WorkbenchError
from workbench.ceremony import prepare_ceremony, read_transcript


class WizardParticipants:
    """Participants answering through the current step page (see `StepPage`)."""

    def __init__(self) -> None:
        self.answers: dict[str, Confirmation] = {}
        self.share_files: list[Path] = []

    def announce(self, prompt: StepPrompt) -> None:
        """The page already shows the step."""

    def confirm(self, prompt: StepPrompt, person: str) -> Confirmation:
        """The answer the page collected for `person` (no answer refuses)."""
        return self.answers.get(person, Confirmation(person, False, "", "no answer given"))

    def old_shares(self, prompt: StepPrompt) -> list[Path]:
        """The share files added on the page."""
        return list(self.share_files)


def _facts_text(facts: dict[str, Any]) -> str:
    return "\n".join(f"{name}: {value}" for name, value in facts.items()) or "(nothing to check)"


class IntroPage(QWizardPage):
    """What the ceremony is: name, roles, HSM, keys, quorum, outputs."""

    def __init__(self, runner: CeremonyRunner) -> None:
        super().__init__()
        c = runner.ceremony
        self.setTitle(c.name)
        self.setSubTitle(c.description)
        form = QFormLayout(self)
        form.addRow("Administrator", QLabel(c.roles.administrator))
        form.addRow("Custodians", QLabel(", ".join(c.roles.custodians)))
        form.addRow("Witnesses", QLabel(", ".join(c.roles.witnesses) or "none"))
        form.addRow("Quorum", QLabel(f"{c.threshold} of {len(c.roles.custodians)}"))
        form.addRow("HSM", QLabel(f"{c.hsm.module} -> token {c.hsm.token_label}"))
        form.addRow("Keys", QLabel(", ".join(f"{k.label} ({k.algorithm.name})" for k in c.keys)))
        form.addRow("Outputs", QLabel(str(runner.out)))
        form.addRow("Script", QLabel(f"{len(c.steps)} steps, SHA-256 {c.source_sha256[:16]}..."))


class StepPage(QWizardPage):
    """One step: perform, check the facts, initial (or refuse)."""

    def __init__(self, wizard: CeremonyWizard, index: int) -> None:
        super().__init__()
        self.owner = wizard
        self.index = index
        self.step = wizard.runner.ceremony.steps[index]
        self.prompt: StepPrompt | None = None
        total = len(wizard.runner.ceremony.steps)
        self.setTitle(f"Step {index + 1} of {total}: {self.step.id}")
        self.setSubTitle(f"{self.step.action}, confirmed by {self.step.role}")
        self.setCommitPage(True)  # a confirmed step cannot be taken back: no Back button
        layout = QVBoxLayout(self)
        text = QLabel(self.step.text.strip())
        text.setWordWrap(True)
        layout.addWidget(text)
        self.perform_button = QPushButton("Perform step")
        self.perform_button.clicked.connect(self.perform)
        layout.addWidget(self.perform_button)
        if self.step.action == "sign-rotation":
            layout.addWidget(self._share_picker())
        self.facts = QPlainTextEdit(readOnly=True)
        self.facts.setPlaceholderText("What the step produced appears here, to be read aloud.")
        layout.addWidget(self.facts)
        layout.addWidget(self._initials_form())

    def _share_picker(self) -> QWidget:
        box = QWidget()
        row = QHBoxLayout(box)
        self.share_list = QListWidget()
        add = QPushButton("Add old key share file...")
        add.clicked.connect(self._ask_share_file)
        row.addWidget(self.share_list)
        row.addWidget(add)
        return box

    def _ask_share_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Share file", "", "Share files (*.json)")
        if path:
            self.add_share_file(Path(path))

    def add_share_file(self, path: Path) -> None:
        """Add one of the old key's share files (sign-rotation steps)."""
        self.owner.participants.share_files.append(path)
        self.share_list.addItem(str(path))

    def _initials_form(self) -> QWidget:
        box = QWidget()
        form = QFormLayout(box)
        self.initials: dict[str, QLineEdit] = {}
        roles = self.owner.runner.ceremony.roles
        for person in roles.members(self.step.role):
            row = QWidget()
            line = QHBoxLayout(row)
            line.setContentsMargins(0, 0, 0, 0)
            edit = QLineEdit(placeholderText="initials")
            edit.textChanged.connect(self.completeChanged)
            refuse = QPushButton("Refuse...")
            refuse.clicked.connect(lambda _=False, p=person: self._ask_refusal(p))
            line.addWidget(edit)
            line.addWidget(refuse)
            self.initials[person] = edit
            form.addRow(f"{person} ({roles.role_of(person)})", row)
        self.note = QLineEdit(placeholderText="note for the transcript (optional)")
        form.addRow("Note", self.note)
        return box

    def perform(self) -> None:
        """Run the step's action; show its facts."""
        if self.prompt is not None or self.owner.aborted is not None:
            return
        try:
            self.prompt = self.owner.runner.perform_next()
        except CeremonyAborted as exc:
            self.owner.on_aborted(exc)
            return
        self.facts.setPlainText(_facts_text(self.prompt.facts))
        self.perform_button.setEnabled(False)
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # noqa: N802 - Qt's name
        """Performed, and every person has initialled."""
        return self.prompt is not None and all(e.text().strip() for e in self.initials.values())

    def _ask_refusal(self, person: str) -> None:
        reason, ok = QInputDialog.getText(self, "Refuse step", f"Why does {person} refuse?")
        if ok:
            self.refuse(person, reason or "refused")

    def refuse(self, person: str, reason: str) -> None:
        """`person` refuses the step: the ceremony aborts (performing the step first if
        needed, so the refusal is recorded against what it produced)."""
        self.perform()
        if self.prompt is None:
            return
        refusal = Confirmation(person, False, self.initials[person].text().strip(), reason)
        try:
            self.owner.runner.refuse_performed(self.prompt, refusal)
        except CeremonyAborted as exc:
            self.owner.on_aborted(exc)

    def validatePage(self) -> bool:  # noqa: N802 - Qt's name
        """Record every person's confirmation and move on (or to the end, if aborted)."""
        if self.owner.aborted is not None:
            return True
        if self.prompt is None:
            return False
        self.owner.participants.answers = {
            p: Confirmation(p, True, e.text().strip(), self.note.text())
            for p, e in self.initials.items()}
        try:
            self.owner.runner.confirm_performed(self.prompt)
        except CeremonyAborted as exc:
            self.owner.on_aborted(exc, navigate=False)  # QWizard is moving on: nextId()
        return True

    def nextId(self) -> int:  # noqa: N802 - Qt's name
        """The next step, or the last page once aborted."""
        if self.owner.aborted is not None:
            return self.owner.finish_id
        return super().nextId()


class FinishPage(QWizardPage):
    """Finishes (signs and commits) or reports the abort; prints the record."""

    def __init__(self, wizard: CeremonyWizard) -> None:
        super().__init__()
        self.owner = wizard
        self.setTitle("End of the ceremony")
        layout = QVBoxLayout(self)
        self.summary = QPlainTextEdit(readOnly=True)
        layout.addWidget(self.summary)
        self.print_button = QPushButton("Print the record to PDF...")
        self.print_button.clicked.connect(self._ask_pdf)
        layout.addWidget(self.print_button)

    def initializePage(self) -> None:  # noqa: N802 - Qt's name
        """Finish the ceremony when every step was confirmed."""
        owner = self.owner
        if owner.aborted is None and owner.ceremony_result is None:
            try:
                owner.ceremony_result = owner.runner.finish()
            except CeremonyAborted as exc:
                owner.on_aborted(exc, navigate=False)
        self.summary.setPlainText(self.owner.outcome_text())

    def _ask_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Print to PDF", "ceremony.pdf", "PDF (*.pdf)")
        if path:
            self.owner.print_pdf(Path(path))


def install(window: Any) -> None:
    """Add Tools → Key ceremony… to the main window: pick a ceremony file, run the wizard."""
    tools = window.menuBar().addMenu("&Tools")
    window.ceremony_action = window.add_action(tools, "&Key ceremony…", lambda: open_ceremony(window))


def open_ceremony(window: Any, path: Path | None = None) -> CeremonyWizard | None:
    """Start the wizard for `path` (asked for when None); errors go to the window's presenter."""
    if path is None:
        chosen, _ = QFileDialog.getOpenFileName(window, "Ceremony file", "", "Ceremony files (*.toml)")
        if not chosen:
            return None
        path = Path(chosen)
    try:
        wizard = CeremonyWizard(path, parent=window)
    except WorkbenchError as exc:
        window.errors.show(exc, f"start the ceremony {path.name}")
        return None
    wizard.open()
    return wizard


class CeremonyWizard(QWizard):
    """The wizard for one ceremony file.

    Args:
        ceremony_file: The TOML ceremony file.
        output: Output directory instead of the file's ``outputs.directory``.
    """

    def __init__(self, ceremony_file: Path, output: Path | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.participants = WizardParticipants()
        self.runner = prepare_ceremony(ceremony_file, self.participants, output=output)
        self.aborted: CeremonyAborted | None = None
        self.ceremony_result: CeremonyResult | None = None
        self.setWindowTitle(f"Key ceremony: {self.runner.ceremony.name}")
        self.setButtonText(QWizard.WizardButton.CommitButton, "Confirm step")
        self.addPage(IntroPage(self.runner))
        self.step_pages = [StepPage(self, i) for i in range(len(self.runner.ceremony.steps))]
        for page in self.step_pages:
            self.addPage(page)
        self.finish_id = self.addPage(FinishPage(self))

    def on_aborted(self, exc: CeremonyAborted, *, navigate: bool = True) -> None:
        """Remember the abort and (from a button, not inside QWizard's own navigation) go
        to the last page."""
        self.aborted = exc
        if navigate and self.currentId() != self.finish_id:
            self.next()

    def outcome_text(self) -> str:
        """What the last page says."""
        transcript = self.runner.out / "transcript.json"
        if self.aborted is not None:
            return (f"ABORTED at step {self.aborted.step}: {self.aborted.reason}\n"
                    f"Keys made so far were destroyed and outputs removed.\n"
                    f"Transcript: {transcript}")
        if self.ceremony_result is None:
            return "The ceremony has not finished."
        result = self.ceremony_result
        outputs = "\n".join(f"  {p}" for _, p in sorted(result.outputs.items()))
        return (f"COMPLETED. Transcript signed by the new key: {result.transcript}\n"
                f"Final chain hash: {result.head}\nOutputs:\n{outputs}")

    def print_pdf(self, path: Path) -> None:
        """Print the transcript (completed or aborted) to `path`."""
        write_pdf(read_transcript(self.runner.out / "transcript.json"), path)

    def reject(self) -> None:
        """Cancel: an unfinished ceremony is aborted (keys destroyed) before closing."""
        if self.aborted is None and self.ceremony_result is None and self.runner.transcript.entries:
            self.aborted = CeremonyAborted("cancel", "cancelled by the administrator")
            self.runner.abort(self._current_step_id(), "cancelled by the administrator")
        super().reject()

    def _current_step_id(self) -> str:
        steps = self.runner.ceremony.steps
        return steps[min(self.runner.next_step, len(steps) - 1)].id


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m gui.ceremony_wizard FILE [--out DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m gui.ceremony_wizard")
    parser.add_argument("file", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    wizard = CeremonyWizard(args.file, args.out)
    wizard.show()
    return int(app.exec())


if __name__ == "__main__":
    sys.exit(main())
