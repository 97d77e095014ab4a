"""The sign panel: choose the envelope, one or more keys (key files, or token keys found
in the configured PKCS#11 modules), the block policy; sign in a worker, one step per key
with its progress, verify the result, and only then save it (`workbench.signing.sign_release`).

Each signer shows the algorithm it signs with, so a hybrid release (a classical key and
an ML-DSA key, issue 16) is visibly two different signatures before anything is signed.

The panel shows the release's MTI algorithm profile (draft-ietf-suit-mti §3): the open
project's ``profile``, else the profile(s) the envelope's algorithms fit. A profile fixes
the authentication algorithm, so a key of another kind is refused when it is added (and
again before signing), with a message saying which algorithm the profile needs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from gui.keys_panel import TOKEN_LOCK, TokenBrowser, key_uri
from gui.tables import fill_table, make_table
from gui.workers import Job, JobRunner, Progress
from signing.algorithms import DEFAULT_ALGORITHM
from signing.envelope import BlockPolicy
from signing.management import key_file_algorithm
from signing.pin import PinProvider
from suit.algorithms_used import algorithms_used
from suit.cose import SIGNATURE_ALGORITHMS, algorithm_name
from suit.errors import WorkbenchError
from suit.profiles import PROFILES, Profile, matching_profiles
from workbench.files import read_envelope
from workbench.signing import ReleaseSigned, sign_release

logger = logging.getLogger(__name__)

_STATES = ("waiting", "opening key", "signing")
#: The algorithms a signer can make, as shown (a recipient key's algorithm is not one).
_SIGNING_NAMES = frozenset(algorithm_name(a) for a in SIGNATURE_ALGORITHMS)


def _sign(progress: Progress, *args: Any) -> ReleaseSigned:
    with TOKEN_LOCK:  # see TOKEN_LOCK: one PKCS#11 job at a time
        return sign_release(progress, *args)


def _path_row(edit: QLineEdit, browse: QPushButton) -> QHBoxLayout:
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    row.addWidget(browse)
    return row


class SigningPanel(QWidget):
    """Sign an envelope with several keys in turn.

    Signals:
        failed(object, str): an error and what was being done.
        signed(object): the `ReleaseSigned` of a saved release.
        stepsShown(object): the list of step states just shown (``waiting``...).
        keyRefused(str): a key of the wrong kind for the profile, and why.
    """

    failed = Signal(object, str)
    signed = Signal(object)
    stepsShown = Signal(object)
    keyRefused = Signal(str)

    def __init__(self, runner: JobRunner, pins: PinProvider, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner, self.pins = runner, pins
        self.keys: list[str] = []
        self.algorithms: list[str] = []  # per signer, as shown ("" when not known)
        self.job: Job | None = None
        self.profiles: tuple[Profile, ...] = ()  # what the signers must fit; () = any
        self._project_profile: Profile | None = None
        self.profile_label = QLabel("any (no profile)")
        self.profile_label.setObjectName("sign-profile")
        self.source, self.output = QLineEdit(), QLineEdit()
        self.source.setObjectName("sign-source")
        self.source.editingFinished.connect(self.show_envelope_profile)
        self.output.setObjectName("sign-output")
        self.policy = QComboBox()
        for policy in BlockPolicy:
            self.policy.addItem(f"{policy.value}: an existing block of the same key", policy)
        self.policy.setCurrentIndex(self.policy.findData(BlockPolicy.REFUSE))  # the safe default
        self.browser = TokenBrowser(runner)
        self.browser.failed.connect(self.failed)
        self.steps = make_table(["#", "Key", "State", "Algorithm"])
        self.steps.setObjectName("sign-steps")
        for column in (0, 2, 3):
            self.steps.horizontalHeader().setSectionResizeMode(
                column, self.steps.horizontalHeader().ResizeMode.ResizeToContents)
        self.progress = QProgressBar()
        self.result = QLabel("Not signed yet.")
        self.result.setObjectName("sign-result")
        self.result.setWordWrap(True)
        self.sign_button = QPushButton("Sign, verify and save")
        self.sign_button.setObjectName("sign-button")
        self.sign_button.clicked.connect(self.sign)
        self._layout()

    def _layout(self) -> None:
        files = QFormLayout()
        browse_source, browse_output = QPushButton("…"), QPushButton("…")
        browse_source.clicked.connect(lambda: self._browse(self.source, save=False))
        browse_output.clicked.connect(lambda: self._browse(self.output, save=True))
        files.addRow("Envelope to sign", _path_row(self.source, browse_source))
        files.addRow("Signed output", _path_row(self.output, browse_output))
        files.addRow("Signing policy", self.policy)
        files.addRow("Algorithm profile", self.profile_label)
        add_token, add_file, remove = (QPushButton("Add token key ↓"), QPushButton("Add key file…"),
                                       QPushButton("Remove signer"))
        add_token.clicked.connect(self.add_selected_token_key)
        add_file.clicked.connect(self._add_key_file)
        remove.clicked.connect(self._remove_step)
        # Two rows: in one, the buttons made the view wider than the window at 1280x800.
        buttons = QGridLayout()
        for number, button in enumerate((add_token, add_file, remove)):
            buttons.addWidget(button, number // 2, number % 2)
        signers = QGroupBox("Signers, in turn")
        column = QVBoxLayout(signers)
        column.addLayout(buttons)
        column.addWidget(self.steps)
        keys = QGroupBox("Keys in PKCS#11 tokens")
        QVBoxLayout(keys).addWidget(self.browser)
        split = QSplitter()
        split.addWidget(keys)
        split.addWidget(signers)
        layout = QVBoxLayout(self)
        layout.addLayout(files)
        layout.addWidget(split, 1)
        layout.addWidget(self.progress)
        layout.addWidget(self.result)
        layout.addWidget(self.sign_button)

    # --- the profile ------------------------------------------------------------------------

    def set_project_profile(self, name: str | None) -> None:
        """The open project's ``profile`` (None: the project names none); it wins over
        what the envelope's algorithms fit."""
        self._project_profile = None if name is None else PROFILES.get(name)
        self.show_envelope_profile()

    def show_envelope_profile(self) -> None:
        """Show the profile the signers must fit: the project's, else the envelope's."""
        if self._project_profile is not None:
            self._show_profile((self._project_profile,), "the project's")
            return
        self._show_profile(_envelope_profiles(Path(self.source.text())), "the envelope fits")

    def _show_profile(self, profiles: tuple[Profile, ...], whose: str) -> None:
        self.profiles = profiles
        if not profiles:
            self.profile_label.setText("any (no profile)")
            return
        needs = " or ".join(sorted({algorithm_name(p.auth) for p in profiles}))
        self.profile_label.setText(f"{' or '.join(p.name for p in profiles)} ({whose}; "
                                   f"signers must sign {needs})")

    def _refusal(self, reference: str, algorithm: str | None) -> str | None:
        """Why `reference` cannot sign for the profile, or None when it can (or when its
        algorithm is not known before signing: the signer then says)."""
        shown = reference if reference.startswith("pkcs11:") else Path(reference).name
        if algorithm and algorithm not in _SIGNING_NAMES:  # FE §5: it decrypts, never signs
            return (f"{shown} is a recipient key ({algorithm}): it lets a device decrypt "
                    "payloads and cannot sign; choose a signing key.")
        allowed = {algorithm_name(p.auth) for p in self.profiles}
        if not allowed or not algorithm or algorithm in allowed:
            return None
        names = " or ".join(p.name for p in self.profiles)
        return (f"{shown} signs {algorithm}, but the profile {names} authenticates with "
                f"{' or '.join(sorted(allowed))} (draft-ietf-suit-mti §3): choose a key of "
                "that kind.")

    # --- signers ----------------------------------------------------------------------------

    def add_key(self, reference: str, algorithm: str | None = None) -> bool:
        """Add a signer: a key file path or a PKCS#11 URI (no PIN in it). `algorithm` is
        what it signs with; for a key file it is read from the file when not given. A key
        of the wrong kind for the profile is refused (False, the reason shown)."""
        if algorithm is None and not reference.startswith("pkcs11:"):
            algorithm = _file_algorithm(Path(reference))
        refusal = self._refusal(reference, algorithm)
        if refusal is not None:
            self.result.setText(f"Not added: {refusal}")
            self.keyRefused.emit(refusal)
            return False
        self.keys.append(reference)
        self.algorithms.append(algorithm or "")
        self._show_steps(["waiting"] * len(self.keys))
        return True

    def add_selected_token_key(self) -> None:
        """Add the key selected in the token browser."""
        chosen = self.browser.current_key()
        if chosen is not None:
            default = DEFAULT_ALGORITHM.get(chosen[1].kind)
            self.add_key(key_uri(*chosen), algorithm_name(default) if default else None)

    def _add_key_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Signing key", "", "Keys (*.pem *.cose *.key *.hss);;All files (*)")
        if name:
            self.add_key(name)

    def _remove_step(self) -> None:
        rows = self.steps.selectionModel().selectedRows()
        if rows:
            del self.keys[rows[0].row()], self.algorithms[rows[0].row()]
            self._show_steps(["waiting"] * len(self.keys))

    def _show_steps(self, states: list[str]) -> None:
        fill_table(self.steps, [[str(i + 1), key, state, alg] for i, (key, state, alg)
                                in enumerate(zip(self.keys, states, self.algorithms, strict=True))])
        self.stepsShown.emit(list(states))

    def _browse(self, edit: QLineEdit, *, save: bool) -> None:
        dialog = QFileDialog.getSaveFileName if save else QFileDialog.getOpenFileName
        name, _ = dialog(self, "Envelope", edit.text(), "SUIT envelopes (*.suit);;All files (*)")
        if name:
            edit.setText(name)

    # --- signing ------------------------------------------------------------------------------

    def sign(self) -> Job | None:
        """Sign in a worker; the PIN dialog opens when a token needs it."""
        source, output = Path(self.source.text()), Path(self.output.text())
        policy: BlockPolicy = self.policy.currentData()
        self.show_envelope_profile()  # the envelope may have changed since it was chosen
        refusals = [r for key, alg in zip(self.keys, self.algorithms, strict=True)
                    if (r := self._refusal(key, alg)) is not None]
        if refusals:
            self.result.setText(f"Not signed: {refusals[0]} Nothing was written.")
            self.keyRefused.emit(refusals[0])
            return None
        self.sign_button.setEnabled(False)
        self.result.setText("Signing…")
        job = Job(_sign, source, output, list(self.keys), self.pins, policy,
                  title=f"Signing {source.name}")
        # Connected before the job starts, so not even its first report is missed.
        job.progressed.connect(self._progressed)
        job.succeeded.connect(self._signed)
        job.failed.connect(self._failed)
        self.job = self.runner.start(job)
        return job

    def _progressed(self, done: int, total: int, what: str) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        step, phase = divmod(done, 2)
        states = [("done" if i < step else _STATES[1 + phase] if i == step else "waiting")
                  for i in range(len(self.keys))]
        if done >= total - 1:
            states = ["done"] * len(self.keys)
        self._show_steps(states)
        self.result.setText(what)

    def _signed(self, outcome: ReleaseSigned) -> None:
        self.sign_button.setEnabled(True)
        self._show_steps(["done"] * len(self.keys))
        verified = sum(1 for b in outcome.report.blocks if b.verified_by)
        algorithms = ", ".join(algorithm_name(s.identity.algorithm.algorithm)
                               for s in outcome.signatures)
        self.result.setText(f"Verified ({verified} of {len(outcome.report.blocks)} blocks by the "
                            f"signers' keys: {algorithms}) and saved to {outcome.output}; "
                            f"audit records {', '.join(map(str, outcome.audit_seqs))}.")
        self.signed.emit(outcome)

    def _failed(self, exc: BaseException) -> None:
        self.sign_button.setEnabled(True)
        self.progress.setValue(0)
        self.result.setText(f"Not signed: {exc}. Nothing was written.")
        self.failed.emit(exc, "sign the envelope")


def _file_algorithm(path: Path) -> str | None:
    """The algorithm a key file signs with by default, or None when the file cannot tell
    without a passphrase (or is unreadable: signing will say why)."""
    try:
        return key_file_algorithm(path)
    except WorkbenchError as exc:
        logger.debug("no algorithm shown for %s: %s", path, exc)
        return None


def _envelope_profiles(path: Path) -> tuple[Profile, ...]:
    """The profiles an encrypted envelope's algorithms fit: its key exchange and content
    encryption say which profile its author chose (MTI §3). An unencrypted one shows none
    (()): a signature alone chooses no profile, and a hybrid second signer (ML-DSA after
    ESP256) must stay possible. An unreadable file shows none; signing it will say why."""
    if not path.name or not path.is_file():
        return ()
    try:
        used = algorithms_used(read_envelope(path))
    except WorkbenchError as exc:
        logger.debug("no profile shown for %s: %s", path, exc)
        return ()
    if not (used.key_exchange or used.encryption):
        return ()
    return tuple(matching_profiles(used))
