"""Issue 17 with issue 16: the component editor edits the release's algorithm profile and a
component's encryption. Chosen with real mouse and keys (the profile combo, the Encrypt
box, a KEK file picked in the file dialog, a pkcs11: URI typed), saved by Ctrl+S through
the tomlkit round trip (the comments stay), and built: the envelope carries the
component's encryption info, unwrapped here with the KEK made by the test. The block
editor's parameter form shows that encryption info as generated, not as a blob to edit."""

from __future__ import annotations

import os
from pathlib import Path

import cbor2
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.keywrap import aes_key_unwrap
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QDialogButtonBox, QLabel, QLineEdit

from suit.codec import decode_envelope
from tests.fixtures.projects import install_encryption_info
from workbench.project import sequence_tree as tree
from workbench.project.builder import BuildOptions, build_project
from workbench.project.projectfile import load_project

PROFILE = "suit-sha256-hmac-a128kw-a128ctr"  # MTI §3.1: A128KW key distribution, A128CTR
IMAGE = bytes(range(256)) * 8
PROJECT = """# A hand-written project: this comment must survive the GUI.
name = "sealed"
sequence-number = 1

[device]
vendor-domain = "example.com"
model = "widget"

[[component]]
name = "app"
id = ["h'00'"]
integrated = true  # the ciphertext travels in the envelope
staging = "download"
[component.image]
file = "app.bin"

[[component]]
name = "download"
id = ["h'01'"]
"""


def _project(folder: Path) -> tuple[Path, bytes]:
    """The project file, its image, and a KEK file (RFC 9053 §7.3 COSE_Key, kty Symmetric)."""
    folder.mkdir()
    (folder / "app.bin").write_bytes(IMAGE)
    kek = os.urandom(16)
    (folder / "kek.cose").write_bytes(cbor2.dumps({1: 4, 2: b"kek-1", 3: -3, -1: kek}))
    (folder / "project.toml").write_text(PROJECT, encoding="utf-8")
    return folder / "project.toml", kek


def _pick_in_dialog(qtbot, dialog, name: str) -> None:  # type: ignore[no-untyped-def]
    assert dialog is not None and dialog.isVisible()
    qtbot.keyClicks(dialog.findChild(QLineEdit, "fileNameEdit"), name)
    accept = dialog.findChild(QDialogButtonBox, "buttonBox").button(
        QDialogButtonBox.StandardButton.Open)
    qtbot.waitUntil(accept.isEnabled, timeout=5000)
    with qtbot.waitSignal(dialog.fileSelected, timeout=5000):
        qtbot.mouseClick(accept, Qt.MouseButton.LeftButton)


def _choose(qtbot, combo, text: str) -> None:  # type: ignore[no-untyped-def]
    """Pick a combo entry with the keyboard: focus, then arrows until it shows `text`."""
    combo.setFocus()
    target = combo.findText(text)
    assert target >= 0, text
    while combo.currentIndex() != target:
        qtbot.keyClick(combo, Qt.Key.Key_Down if combo.currentIndex() < target else Qt.Key.Key_Up)


def test_profile_and_encryption_set_in_the_editor_save_and_build(
        qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, kek = _project(tmp_path / "sealed")
    window.openers[".toml"](path)
    editor = window.authoring.editor
    fields = editor.encryption
    assert editor.name == "app" and fields.summary.text() == "not encrypted"
    assert [fields.profile.itemText(i) for i in range(fields.profile.count())][1:] == [
        "suit-sha256-hmac-a128kw-a128ctr", "suit-sha256-esp256-ecdh-a128ctr",
        "suit-sha256-ed25519-ecdh-a128ctr", "suit-sha256-esp256-ecdh-a128gcm",
        "suit-sha256-ed25519-ecdh-chacha-poly", "suit-sha256-hsslms-a256kw-a256ctr"]
    _choose(qtbot, fields.profile, PROFILE)
    assert window.workspace.project.profile == PROFILE
    qtbot.mouseClick(fields.encrypt, Qt.MouseButton.LeftButton)
    assert window.workspace.project.component("app").encrypt
    qtbot.mouseClick(fields.choose_button, Qt.MouseButton.LeftButton)
    _pick_in_dialog(qtbot, fields.file_dialog, "kek.cose")
    # A pkcs11: URI is typed; then removed again with the button (one undo step each).
    uri = "pkcs11:token=operator;object=kek"
    fields.recipient_entry.setFocus()
    qtbot.keyClicks(fields.recipient_entry, uri)
    qtbot.keyClick(fields.recipient_entry, Qt.Key.Key_Return)
    assert window.workspace.project.component("app").recipients == ["kek.cose", uri]
    assert [fields.recipients.item(k).text() for k in range(2)] == ["kek.cose", uri]
    fields.recipients.setCurrentRow(1)
    qtbot.mouseClick(fields.remove_button, Qt.MouseButton.LeftButton)
    assert window.workspace.project.component("app").recipients == ["kek.cose"]
    assert "A128CTR" in fields.summary.text() and "kek.cose" in fields.summary.text()
    # Saved with Ctrl+S: the comments stay, the members are there, and it loads back.
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: not window.workspace.dirty, timeout=5000)
    saved = path.read_text(encoding="utf-8")
    assert "# A hand-written project" in saved and "# the ciphertext travels" in saved
    assert f'profile = "{PROFILE}"' in saved and "encrypt = true" in saved
    loaded = load_project(path)
    assert loaded.profile == PROFILE
    assert (loaded.component("app").encrypt, loaded.component("app").recipients) == (
        True, ["kek.cose"])
    # It builds: the integrated payload is the ciphertext, and the KEK unwraps its key.
    with qtbot.waitSignal(window.authoring.session.built, timeout=20000) as built:
        window.authoring.build()
    data = Path(built.args[0]).read_bytes()
    envelope = decode_envelope(data)
    ciphertext = envelope.integrated["#app"]
    assert len(ciphertext) == len(IMAGE) and ciphertext != IMAGE
    recipient = cbor2.loads(install_encryption_info(data)).value[3][0]
    assert recipient[1] == {1: -3, 4: b"kek-1"}
    assert len(aes_key_unwrap(kek, recipient[2])) == 16


def test_the_parameter_form_shows_generated_encryption_info_and_apply_keeps_it_generated(
        qtbot, window, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path, kek = _project(tmp_path / "sealed")
    text = path.read_text(encoding="utf-8").replace(
        'staging = "download"', 'staging = "download"\nencrypt = true\nrecipients = ["kek.cose"]')
    path.write_text(f'profile = "{PROFILE}"\n' + text, encoding="utf-8")
    window.openers[".toml"](path)
    window.show_view("sequences")
    page = window.authoring.sequences.show_sequence("install")
    qtbot.waitUntil(lambda: bool(page.canvas.root.blocks), timeout=20000)
    [where] = [p for p in tree.walk(page.model.entries)
               if "encryption-info" in repr(tree.block(page.model.entries, p))]
    assert "h'" in repr(tree.block(page.model.entries, where))  # the preview's blob
    qtbot.mouseClick(page.canvas.widgets[where], Qt.MouseButton.LeftButton, pos=QPoint(8, 8))
    assert page.canvas.selected == where
    shown = page.form.fields["encryption-info"]
    assert isinstance(shown, QLabel)  # read-only: no blob to edit
    assert "Generated at build" in shown.text() and "A128CTR" in shown.text()
    assert "A128KW" in shown.text() and "kek.cose" in shown.text()
    assert not any(isinstance(f, QLineEdit) and "h'" in f.text() for f in page.form.fields.values())
    # Apply makes the sequence explicit; the parameter names the component, so each
    # build still puts in the encryption info of its own fresh content key.
    refused: list[str] = []
    page.model.refused.connect(refused.append)
    qtbot.mouseClick(page.form.apply_button, Qt.MouseButton.LeftButton)
    assert refused == [] and page.model.explicit
    params = next(iter(tree.block(page.model.entries, where).values()))
    assert params["encryption-info"] == "@app"
    data = build_project(window.workspace.project, BuildOptions()).data
    info = cbor2.loads(install_encryption_info(data)).value
    cek = aes_key_unwrap(kek, info[3][0][2])
    decryptor = Cipher(algorithms.AES(cek), modes.CTR(info[1][5])).decryptor()
    plain = decryptor.update(decode_envelope(data).integrated["#app"]) + decryptor.finalize()
    assert plain == IMAGE
