"""The sign panel with several signers in turn (a token key, then a key file), each step
shown while the worker runs; and a cancelled PIN dialog, which signs nothing."""

from __future__ import annotations

from PySide6.QtCore import Qt

from gui.release_panels import ReleasePanels
from signing.audit import SigningAuditLog
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.fixtures.softhsm import SoftHsm
from tests.fixtures.vectors import SPEC_KEY_PRIVATE, SPEC_KEY_PUBLIC
from tests.gui2.steps import TIMEOUT, build, sign_typing_pin


def test_two_signers_in_turn_each_step_shown(qtbot, parts: ReleasePanels, softhsm: SoftHsm) -> None:
    build(qtbot, parts)
    parts.signing.add_key(str(SPEC_KEY_PRIVATE))
    seen: list[tuple[str, ...]] = []
    parts.signing.stepsShown.connect(lambda states: seen.append(tuple(states)))
    sign_typing_pin(qtbot, parts, softhsm.user_pin)
    # The token's step, then the file's, each opened then signed; then all done.
    steps = parts.signing.steps
    assert [steps.item(r, 2).text() for r in range(2)] == ["done", "done"]
    assert seen[:4] == [("opening key", "waiting"), ("signing", "waiting"),
                        ("done", "opening key"), ("done", "signing")]
    assert seen[-1] == ("done", "done")
    signed = parts.demo.release_file.read_bytes()
    token_anchor = TrustAnchor.from_pem(parts.demo.public_key.read_bytes())
    file_anchor = TrustAnchor.from_pem(SPEC_KEY_PUBLIC.read_bytes())
    report = verify_envelope(signed, [token_anchor, file_anchor])
    assert [b.verified_by for b in report.blocks] == [token_anchor.name, file_anchor.name]
    # Each key alone verifies its own block: two independent signatures.
    assert [bool(b.verified_by) for b in verify_envelope(signed, [file_anchor]).blocks] == [False, True]
    entries = SigningAuditLog().entries()
    assert [r.key_reference for _, r in entries] == [parts.demo.key_uri, str(SPEC_KEY_PRIVATE)]
    assert parts.signing.result.text().startswith("Verified (2 of 2 blocks")


def test_cancelling_the_pin_dialog_signs_nothing(qtbot, parts: ReleasePanels) -> None:
    build(qtbot, parts)
    with qtbot.waitSignal(parts.pins.dialogOpened, timeout=TIMEOUT) as opened:
        qtbot.mouseClick(parts.signing.sign_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(parts.signing.failed, timeout=TIMEOUT):
        opened.args[0].reject()
    shown = parts.window.errors.last
    assert shown is not None and "PIN entry for" in shown.message and "cancelled" in shown.message
    assert not parts.demo.release_file.exists() and SigningAuditLog().entries() == []
    assert parts.signing.sign_button.isEnabled()


class _FlippingSigner:
    """A real software signer whose signatures come back with one bit flipped: a faulty
    HSM, which no real token here can be made to be."""

    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner = inner
        self.identity = inner.identity

    def sign(self, tbs: bytes) -> bytes:
        signature = bytearray(self.inner.sign(tbs))
        signature[-1] ^= 1
        return bytes(signature)

    def close(self) -> None:
        self.inner.close()


def test_a_release_that_does_not_verify_is_not_saved(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import pytest

    from signing.backends import open_signer
    from suit.errors import SignatureInvalid
    from workbench import signing as signing_use_cases
    from workbench.project.builder import build_project, write_envelope
    from workbench.project.projectfile import load_project
    from workbench.project.templates import create_project

    project = load_project(create_project("single-mcu", tmp_path / "project"))
    source, output = tmp_path / "unsigned.suit", tmp_path / "signed.suit"
    write_envelope(build_project(project), source)
    monkeypatch.setattr(signing_use_cases, "open_signer", lambda key, *_a, **_k: _FlippingSigner(open_signer(key)))
    steps: list[str] = []
    with pytest.raises(SignatureInvalid):
        signing_use_cases.sign_release(lambda _d, _t, what: steps.append(what), source, output,
                          [str(SPEC_KEY_PRIVATE)], None)
    assert steps[-1] == "verifying the signed envelope"  # it got as far as checking
    assert not output.exists() and SigningAuditLog().entries() == []
