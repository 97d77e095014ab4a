"""ML-DSA in the GUI (issue 16): the key manager generates and lists software key files
with their algorithm (ML-DSA-65, which no token here holds), and the sign panel takes a
P-256 key and an ML-DSA-65 key as two signers, shows each one's algorithm, and saves a
hybrid envelope that verifies under policy all."""

from __future__ import annotations

from pathlib import Path

from gui.keys_panel import KeysPanel
from gui.signing_panel import SigningPanel
from gui.workers import JobRunner
from signing.pin import FixedPinProvider
from suit.keys import TrustAnchor
from suit.verify import VerificationPolicy, verify_envelope
from tests.fixtures.vectors import MANIFEST_SPEC

EXAMPLE = MANIFEST_SPEC / "example3-unsigned.cbor"
TIMEOUT = 20000


def _generate(qtbot, keys: KeysPanel, kind: str, path: Path) -> None:  # type: ignore[no-untyped-def]
    keys.files.kind.setCurrentText(kind)
    with qtbot.waitSignal(keys.files.added, timeout=TIMEOUT):
        keys.files.generate(path)


def test_key_manager_lists_mldsa_and_sign_panel_signs_hybrid(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner, pins = JobRunner(), FixedPinProvider("unused")
    keys, signing = KeysPanel(runner, pins), SigningPanel(runner, pins)
    qtbot.addWidget(keys)
    qtbot.addWidget(signing)
    assert "ML-DSA-65" in [keys.files.kind.itemText(i) for i in range(keys.files.kind.count())]
    _generate(qtbot, keys, "P-256", tmp_path / "ec.pem")
    _generate(qtbot, keys, "ML-DSA-65", tmp_path / "pq.pem")
    table = keys.files.table
    assert [table.item(r, 1).text() for r in range(table.rowCount())] == ["ESP256", "ML-DSA-65"]
    assert (tmp_path / "pq.pem").stat().st_mode & 0o077 == 0

    for info in keys.files.infos:
        signing.add_key(str(info.path))
    steps = signing.steps
    assert [steps.item(r, 3).text() for r in range(2)] == ["ESP256", "ML-DSA-65"]
    signing.source.setText(str(EXAMPLE))
    signing.output.setText(str(tmp_path / "hybrid.suit"))
    with qtbot.waitSignal(signing.signed, timeout=TIMEOUT):
        signing.sign()
    assert "signers' keys: ESP256, ML-DSA-65)" in signing.result.text()

    anchors = [TrustAnchor.from_pem(info.path.read_bytes(), info.path.name)
               for info in keys.files.infos]
    data = (tmp_path / "hybrid.suit").read_bytes()
    report = verify_envelope(data, anchors, VerificationPolicy.ALL)
    assert [b.verified_by for b in report.blocks] == ["ec.pem", "pq.pem"]
    runner.wait(5000)


def test_a_key_file_that_exists_is_not_overwritten(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = JobRunner()
    keys = KeysPanel(runner, FixedPinProvider("unused"))
    qtbot.addWidget(keys)
    (tmp_path / "taken.pem").write_bytes(b"mine")
    failures: list[str] = []
    keys.failed.connect(lambda exc, what: failures.append(f"{what}: {exc}"))
    keys.files.kind.setCurrentText("ML-DSA-44")
    with qtbot.waitSignal(keys.failed, timeout=TIMEOUT):
        keys.files.generate(tmp_path / "taken.pem")
    assert failures and "never overwritten" in failures[0]
    assert (tmp_path / "taken.pem").read_bytes() == b"mine"
    assert keys.files.table.rowCount() == 0
    runner.wait(5000)
