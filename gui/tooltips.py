"""Tooltips for the controls of every panel, in one catalogue (issue 17: "tooltips on every
control of every panel").

A control is found by the panel class it sits in and its object name, else its text (a
button, a check box), else its widget class (the one unnamed line edit or combo box of a
panel). `apply_tooltips` fills in what a panel did not set itself, so a panel's own
tooltip always wins; `controls_without_tooltip` is what the test walks to keep it so.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractSpinBox,
    QComboBox,
    QLineEdit,
    QTabBar,
    QWidget,
)

_PICK: Final = "Choose the file in a file dialog"
_SEVERABLE: Final = ("Sever this member: the envelope carries its digest and the member "
                     "travels apart (M37 §8.4.9)")
_TEXT: Final = "Component text (M37 §8.4.4): shown to people, not checked by the device"

#: (panel class, object name / text / <widget class>) -> tooltip.
TIPS: Final[dict[tuple[str, str], str]] = {
    ("MainWindow", "Add component"): "Add a component after the others (Ctrl+Shift+N)",
    ("MainWindow", "Remove component"): "Remove the selected component",
    ("ComponentEditor", "release-name"): "The release's name: the build is build/<name>.suit",
    ("ComponentEditor", "sequence-number"): "manifest-sequence-number (M37 §8.4.2): devices "
                                            "refuse a release not above what they run",
    ("ComponentEditor", "dependency-resolution"): _SEVERABLE,
    ("ComponentEditor", "payload-fetch"): _SEVERABLE,
    ("ComponentEditor", "candidate-verification"): _SEVERABLE,
    ("ComponentEditor", "install"): _SEVERABLE,
    ("ComponentEditor", "text"): _SEVERABLE,
    ("ComponentEditor", "name"): "The project's name for this component (used in references)",
    ("ComponentEditor", "display-name"): "A name for people, shown in the views",
    ("ComponentEditor", "component-id"): "The SUIT component identifier (M37 §8.4.5.1), "
                                         "like h'00' or [\"flash\", h'01']",
    ("ComponentEditor", "image-file"): "The image the component holds after the update; "
                                       "its digest and size are computed at build",
    ("ComponentEditor", "Choose image…"): _PICK,
    ("ComponentEditor", "Add slot image…"): "Add an A/B slot with its own image: the "
                                            "builder emits try-each over the slots",
    ("ComponentEditor", "Remove slot"): "Remove the selected slot",
    ("ComponentEditor", "fetch-uri"): "Where the device fetches the image (a detached "
                                      "payload)",
    ("ComponentEditor", "<QComboBox>"): "The component this one relates to",
    ("ComponentEditor", "Integrated in the envelope"): "Carry the image inside the envelope "
                                                       "instead of fetching it",
    ("ComponentEditor", "Invoke (boot) it"): "Boot this component after the update "
                                             "(directive-invoke)",
    ("ComponentEditor", "text:-vendor-name"): _TEXT,
    ("ComponentEditor", "text:-model-name"): _TEXT,
    ("ComponentEditor", "text:-vendor-domain"): _TEXT,
    ("ComponentEditor", "text:-model-info"): _TEXT,
    ("ComponentEditor", "text:-description"): _TEXT,
    ("ComponentEditor", "text:-version"): _TEXT,
    ("GraphPanel", "<QComboBox>"): "What a drag from one component onto another creates",
    ("DiffPanel", "Left envelope…"): "The older envelope to compare",
    ("DiffPanel", "Right envelope…"): "The newer envelope to compare",
    ("RecordTable", "<QLineEdit>"): "Show only the rows containing this text",
    ("RecordsPanel", "Refresh"): "Read the audit log and the factory records again",
    ("RecordsPanel", "Verify audit chain"): "Check every audit record's hash chain and "
                                            "signature",
    ("RecordsPanel", "Export CSV…"): "Write the rows shown in this tab to a CSV file",
    ("FlashPanel", "flash-bundle"): "The signed envelope to flash (follows the open project)",
    ("FlashPanel", "…"): _PICK,
    ("FlashPanel", "flash-device-profile"): "An SMP (MCUboot) device's profile: what the "
                                            "host checks before uploading",
    ("FlashPanel", "Flash selected"): "Flash the bundle to every selected port at once",
    ("FlashPanel", "Cancel"): "Cancel the running flash on every device",
    ("FlashPanel", "Retry failed"): "Flash again the devices whose last attempt failed",
    ("SimulatePanel", "simulate-envelope"): "The envelope the simulated device processes",
    ("SimulatePanel", "…"): _PICK,
    ("SimulatePanel", "simulate-device"): "The described device (TOML) to simulate",
    ("SimulatePanel", "Add payload file…"): "Serve a file for a URI the device fetches",
    ("SimulatePanel", "Remove payload"): "Stop serving the selected payload",
    ("SimulatePanel", "Payloads of the project"): "Serve the open project's detached "
                                                  "payloads",
    ("SimulatePanel", "simulate-run"): "Run the SUIT processor over the device and show "
                                       "the trace",
    ("TokenBrowser", "module-combo"): "The PKCS#11 module (the token's library)",
    ("TokenBrowser", "<QLineEdit>"): "The PKCS#11 module's path",
    ("TokenBrowser", "Refresh tokens"): "List the module's tokens and keys again",
    ("KeysPanel", "<QLineEdit>"): "The new key's label in the token",
    ("KeysPanel", "<QComboBox>"): "The COSE algorithm of the new key",
    ("KeysPanel", "Generate in token"): "Generate the key pair inside the token (the "
                                        "private key never leaves it)",
    ("KeysPanel", "Export public key…"): "Write the selected key's public key (PEM or "
                                         "COSE_Key) for devices to trust",
    ("SigningPanel", "sign-source"): "The unsigned envelope (the open project's build)",
    ("SigningPanel", "…"): _PICK,
    ("SigningPanel", "sign-output"): "Where the signed envelope is written",
    ("SigningPanel", "<QComboBox>"): "The signer to add",
    ("SigningPanel", "Add token key ↓"): "Sign with the key selected in the token browser",
    ("SigningPanel", "Add key file…"): "Sign with a private key file (development only)",
    ("SigningPanel", "Remove signer"): "Remove the selected signer",
    ("SigningPanel", "sign-button"): "Sign, verify the result and save it",
    ("KeyFilesBox", "file-key-kind"): "The kind of software key to generate (P-256, "
                                      "Ed25519, ML-DSA-44/65/87...)",
    ("KeyFilesBox", "Generate key file…"): "Generate a new private key file (PKCS#8 PEM, "
                                            "owner-only, never overwriting a file)",
    ("KeyFilesBox", "Add key file…"): "List an existing private key file with its algorithm "
                                      "and kid",
    ("StatefulKeysView", "Refresh stateful keys"): "Read the HSS-LMS keys' remaining "
                                                   "signatures again from this machine's "
                                                   "state journal",
    ("RecordsPanel", "records-target"): "Factory records: a SQLite file, or a "
                                        "postgresql:// DSN (no password: use ~/.pgpass)",
    ("RecordsPanel", "audit-target"): "Signing audit log: a SQLite file, or a "
                                      "postgresql:// DSN (no password: use ~/.pgpass)",
    ("RecordsPanel", "Use these databases"): "Save these databases in the settings and "
                                             "show their records",
    ("RecordTable", "filter-station"): "Show only attempts of this station",
    ("RecordTable", "filter-operator"): "Show only attempts by this operator",
    ("RecordTable", "filter-release"): "Show only attempts of this release",
    ("RecordTable", "filter-device"): "Show only attempts on this device",
}

CONTROLS: Final = (QAbstractButton, QLineEdit, QComboBox, QAbstractSpinBox)


def _panel(widget: QWidget) -> str:
    parent = widget.parentWidget()
    while parent is not None:
        if type(parent).__module__.startswith("gui."):
            return type(parent).__name__
        parent = parent.parentWidget()
    return ""


def _key(widget: QWidget) -> str:
    if widget.objectName():
        return widget.objectName()
    if isinstance(widget, QAbstractButton) and widget.text():
        return widget.text()
    return f"<{type(widget).__name__}>"


def controls(root: QWidget) -> list[QWidget]:
    """The controls a person uses under `root`, without Qt's own parts (tab scrollers,
    spin box editors, dock buttons, table corners)."""
    found: list[QWidget] = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or widget.objectName().startswith("qt_"):
            continue
        if isinstance(widget.parentWidget(), QTabBar | QAbstractSpinBox):
            continue
        found.append(widget)
    return found


def apply_tooltips(root: QWidget) -> int:
    """Give every control under `root` without a tooltip its catalogued one; returns how
    many were set."""
    count = 0
    for widget in controls(root):
        tip = TIPS.get((_panel(widget), _key(widget)))
        if not widget.toolTip() and tip:
            widget.setToolTip(tip)
            count += 1
    return count


def controls_without_tooltip(root: QWidget) -> list[str]:
    """``panel/key`` of each control under `root` that has no tooltip."""
    return [f"{_panel(w)}/{_key(w)}" for w in controls(root) if not w.toolTip()]
