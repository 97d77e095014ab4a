"""The sign panel and MTI profiles (issue 16): it shows the release's profile (the
envelope's, or the open project's) and refuses, with a message, a key of the wrong kind for
it; a key of the right kind (here a stateful HSS-LMS key) signs, and the result verifies."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from gui.keys_panel import KeysPanel
from gui.signing_panel import SigningPanel
from gui.workers import JobRunner
from signing.pin import FixedPinProvider
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.fixtures.projects import encrypted_project, generate_hss_lms, generate_key
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.flasher.cli import suitwb

HSS = "suit-sha256-hsslms-a256kw-a256ctr"
TIMEOUT = 20000


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    """The real CLI, with the GUI's data folder (the HSS-LMS journal must be the same)."""
    return suitwb(*args, data_dir=Path(os.environ["SUITWB_DATA_DIR"]))


def _suitwb(*args: object) -> None:
    _run(*args)


def _unsigned_encrypted_release(folder: Path) -> Path:
    """An HSS-LMS-profile release, built unsigned: its A256KW + A256CTR encryption fits
    only that profile."""
    generate_key(_run, folder / "kek.cose", "--alg", "A256KW")
    encrypted_project(folder, bytes(range(256)) * 8, profile=HSS, recipient="kek.cose")
    _suitwb("build", folder / "project.toml", "-o", folder / "unsigned.suit")
    return folder / "unsigned.suit"


def test_profile_shown_wrong_kind_of_key_refused_right_kind_signs(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    runner = JobRunner()
    panel = SigningPanel(runner, FixedPinProvider("unused"))
    qtbot.addWidget(panel)
    envelope = _unsigned_encrypted_release(tmp_path)
    generate_key(_run, tmp_path / "ec.pem", "--alg", "ESP256")
    generate_hss_lms(_run, tmp_path / "release.hss")

    panel.source.setText(str(envelope))
    panel.show_envelope_profile()
    assert HSS in panel.profile_label.text() and "HSS-LMS" in panel.profile_label.text()

    with qtbot.waitSignal(panel.keyRefused, timeout=TIMEOUT) as refused:
        assert panel.add_key(str(tmp_path / "ec.pem")) is False
    assert "ec.pem signs ESP256" in refused.args[0] and "HSS-LMS" in refused.args[0]
    assert panel.keys == [] and panel.result.text().startswith("Not added: ")

    assert panel.add_key(str(tmp_path / "release.hss")) is True
    assert panel.steps.item(0, 3).text() == "HSS-LMS"
    panel.output.setText(str(tmp_path / "signed.suit"))
    with qtbot.waitSignal(panel.signed, timeout=TIMEOUT):
        panel.sign()
    anchor = TrustAnchor.load((tmp_path / "release.hss.pub.cose").read_bytes(), "hss")
    report = verify_envelope((tmp_path / "signed.suit").read_bytes(), [anchor])
    assert [b.verified_by for b in report.blocks] == ["hss"]

    # The open project's profile wins: an ESP256 one refuses the HSS-LMS signer at sign().
    panel.set_project_profile("suit-sha256-esp256-ecdh-a128gcm")
    assert panel.profile_label.text().startswith("suit-sha256-esp256-ecdh-a128gcm (the project's")
    (tmp_path / "signed.suit").unlink()
    with qtbot.waitSignal(panel.keyRefused, timeout=TIMEOUT):
        assert panel.sign() is None
    assert panel.result.text().startswith("Not signed: release.hss signs HSS-LMS")
    assert not (tmp_path / "signed.suit").exists()
    runner.wait(5000)


def test_an_unsigned_unencrypted_envelope_shows_no_profile_and_takes_any_key(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    panel = SigningPanel(JobRunner(), FixedPinProvider("unused"))
    qtbot.addWidget(panel)
    panel.source.setText(str(MANIFEST_SPEC / "example3-unsigned.cbor"))
    panel.show_envelope_profile()
    assert panel.profile_label.text() == "any (no profile)"
    _suitwb("keys", "generate", "-o", tmp_path / "ec.pem", "--alg", "ESP256")
    assert panel.add_key(str(tmp_path / "ec.pem")) is True


def test_recipient_key_files_are_listed_by_kind_and_refused_as_signers(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Recipient keys (`keys generate --alg X25519|A128KW`) decrypt and never sign: the key
    manager lists them with their algorithm, and the sign panel refuses them."""
    runner = JobRunner()
    keys, panel = KeysPanel(runner, FixedPinProvider("unused")), SigningPanel(runner, FixedPinProvider("unused"))
    qtbot.addWidget(keys)
    qtbot.addWidget(panel)
    _suitwb("keys", "generate", "-o", tmp_path / "device.pem", "--alg", "X25519")
    _suitwb("keys", "generate", "-o", tmp_path / "kek.cose", "--alg", "A128KW", "--kid", "k1")
    for name in ("device.pem", "device.pub.pem", "kek.cose"):
        with qtbot.waitSignal(keys.files.added, timeout=TIMEOUT):
            keys.files.add(tmp_path / name)
    table = keys.files.table
    assert [(table.item(r, 1).text(), table.item(r, 2).text()) for r in range(3)] == [
        ("ECDH-ES-A128KW", ""), ("ECDH-ES-A128KW", ""), ("A128KW", b"k1".hex())]
    assert [i.kind for i in keys.files.infos] == ["X25519 recipient", "X25519 recipient",
                                                 "A128KW key-encryption key"]
    for name in ("device.pem", "kek.cose"):
        with qtbot.waitSignal(panel.keyRefused, timeout=TIMEOUT) as refused:
            assert panel.add_key(str(tmp_path / name)) is False
        assert f"{name} is a recipient key" in refused.args[0]
    assert panel.keys == []
    runner.wait(5000)


def test_a_signed_unencrypted_envelope_chooses_no_profile_so_a_hybrid_signer_is_taken(
        qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """An ESP256 signature alone names no profile: an ML-DSA-65 second signer (hybrid) is
    not refused."""
    panel = SigningPanel(JobRunner(), FixedPinProvider("unused"))
    qtbot.addWidget(panel)
    _suitwb("keys", "generate", "-o", tmp_path / "ec.pem", "--alg", "ESP256")
    _suitwb("keys", "generate", "-o", tmp_path / "pq.pem", "--type", "ml-dsa-65")
    _suitwb("sign", MANIFEST_SPEC / "example3-unsigned.cbor", "-o", tmp_path / "one.suit",
            "--key", tmp_path / "ec.pem")
    panel.source.setText(str(tmp_path / "one.suit"))
    panel.show_envelope_profile()
    assert panel.profile_label.text() == "any (no profile)"
    assert panel.add_key(str(tmp_path / "pq.pem")) is True
