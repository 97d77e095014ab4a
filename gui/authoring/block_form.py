"""The form that edits the selected block, with an editor suited to each parameter's type:
the image digest and size picked from a component's image, URIs, slots, a version with
its comparison (UM §4), use-before with a date-time picker (M37 §8.4.9.7), vendor and class
ids, battery, priority and wait conditions. Anything the form does not know stays as it
was, and a raw TOML field edits any other argument."""

from __future__ import annotations

from typing import Any, Final

from PySide6.QtCore import QDateTime, QTimeZone, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFormLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from gui.authoring.notation import parse_argument, safe_toml
from workbench.project import sequence_tree as tree
from workbench.project.encryption_summary import encryption_summary
from workbench.project.model import Component, Project
from workbench.project.values import COMPARISONS

#: The form's widest: the blocks keep the rest of the page.
FORM_WIDTH: Final = 280
#: More alternatives than anyone tries; keeps the spin box's range sane.
MAX_BRANCHES: Final = 16
PARAMETER_COMMANDS: Final = ("override-parameters", "set-parameters",
                             "directive-override-parameters", "directive-set-parameters")
#: Shown in a spin box while a number parameter is not set.
_NOT_SET: Final = "not set"


def image_choices(project: Project | None) -> list[str]:
    """The references an image digest/size can take: each component image, each slot
    image (``@app[1]``) and each dependency."""
    if project is None:
        return []
    out = [f"@{c.name}" for c in project.components if c.image is not None]
    out += [f"@{c.name}[{k}]" for c in project.components for k in range(len(c.slots))]
    return out + [f"@{d.name}" for d in project.dependencies]


def _number(low: int = 0, high: int = (1 << 31) - 1) -> QSpinBox:
    box = QSpinBox()
    box.setRange(low - 1, high)
    box.setSpecialValueText(_NOT_SET)  # shown at the minimum: the parameter is absent
    box.setValue(box.minimum())
    return box


class BlockForm(QWidget):
    """Edits one block; `apply` hands the form to whoever commits it.

    Signals:
        applied(object, object): the block's path and this form (read it with `value`,
            which raises for a field that does not parse).
    """

    applied = Signal(object, object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path: tree.Path | None = None
        self.item: dict[str, Any] = {}
        #: The component the shown parameter block acts on, when it has encryption info.
        self.encrypted: Component | None = None
        self.title = QLabel("Select a block to edit it.")
        self.title.setWordWrap(True)
        self.form = QFormLayout()
        # Beside the blocks, not instead of them: rows wrap rather than widen the form.
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.setMaximumWidth(FORM_WIDTH)
        self.fields: dict[str, QWidget] = {}
        self.apply_button = QPushButton("Apply")
        self.apply_button.setToolTip("Write the form into the block (one undoable edit).")
        self.apply_button.clicked.connect(self.apply)
        layout = QVBoxLayout(self)
        layout.addWidget(self.title)
        layout.addLayout(self.form)
        layout.addWidget(self.apply_button)
        layout.addStretch(1)
        self.show_block(None, None, None)

    # --- building the form ----------------------------------------------------------------

    def show_block(self, path: tree.Path | None, item: Any, project: Project | None,
                   context: Any = None) -> None:
        """Show the block at `path` (None: nothing selected); `context` is the component
        index in effect there (None: the default, 0)."""
        self.encrypted = _component_at(project, context)
        while self.form.rowCount():
            self.form.removeRow(0)
        self.fields = {}
        command = tree.command_or_none(item)
        self.path, self.item = path, dict(item) if command else {}
        self.apply_button.setEnabled(command is not None)
        if path is None or command is None:
            self.title.setText("Select a block to edit it." if path is None else
                               "Not a command (a hand-edited project file?): Delete removes it.")
            return
        name, argument = command
        self.title.setText(f"<b>{tree.spec_name(name)}</b>")
        if name in PARAMETER_COMMANDS and isinstance(argument, dict):
            self._parameter_rows(argument, project)
        elif name in ("try-each", "directive-try-each") and isinstance(argument, list):
            self._try_each_rows(argument)
        elif tree.branches(item) is not None:
            self.title.setText(self.title.text() + " — drop blocks into it")
            self.apply_button.setEnabled(False)
        elif name in ("set-component-index", "directive-set-component-index"):
            self._component_row(argument, project)
        else:
            self._add("argument", QLineEdit(safe_toml(argument)), "Argument (TOML)",
                      "A reporting policy 0..15 for conditions, or any TOML value.")

    def _add(self, key: str, widget: QWidget, label: str, tip: str) -> None:
        widget.setToolTip(tip)
        self.fields[key] = widget
        self.form.addRow(label, widget)
        # Now, not at the next event-loop turn (a layout's default): Enter on a block moves
        # the focus into its form at once.
        widget.setVisible(self.isVisible())
        if isinstance(widget, QLineEdit):
            widget.returnPressed.connect(self.apply)

    def _try_each_rows(self, alternatives: list[Any]) -> None:
        count = QSpinBox()
        count.setRange(1, MAX_BRANCHES)
        count.setValue(max(1, len([a for a in alternatives if isinstance(a, list)])))
        self._add("branches", count, "Branches", "How many alternatives (lanes) it tries in order.")
        nil = QCheckBox("ends with an empty alternative (nil)")
        nil.setChecked(bool(alternatives) and alternatives[-1] == "nil")
        self._add("nil", nil, "", "M37 §8.4.10.2: a final nil alternative makes the "
                  "try-each succeed when every branch fails.")

    def _component_row(self, argument: Any, project: Project | None) -> None:
        box = QComboBox()
        for k, component in enumerate(project.components if project else []):
            box.addItem(f"{k} · {component.name}", k)
        box.addItem("all components (true)", True)
        found = box.findData(argument)
        box.setCurrentIndex(found if found >= 0 else 0)
        self._add("index", box, "Component", "The component the following commands act on.")

    def _parameter_rows(self, params: dict[str, Any], project: Project | None) -> None:
        image = QComboBox()
        image.addItem(_NOT_SET, None)
        for choice in image_choices(project):
            image.addItem(choice, choice)
        current = params.get("image-digest")
        if current is not None and image.findData(current) < 0:
            image.addItem(str(current), current)  # a literal digest stays choosable
        image.setCurrentIndex(max(0, image.findData(current)))
        self._add("image", image, "Image",
                  "Image digest and size: a component's (or slot's) image, or a dependency.")
        self._line("uri", params, "URI", "Where the payload is fetched from (M37 §8.4.8.9).")
        self._spin("component-slot", params, "Slot", "Component slot (A/B), UM §4.", 0)
        comparison = QComboBox()
        comparison.addItem(_NOT_SET, None)
        for sign in COMPARISONS:
            comparison.addItem(sign, sign)
        given = params.get("version")
        version: dict[str, Any] = given if isinstance(given, dict) else {}
        comparison.setCurrentIndex(max(0, comparison.findData(version.get("comparison"))))
        self._add("comparison", comparison, "Comparison", "How the installed version must compare.")
        text = version.get("version", "")
        self._add("version", QLineEdit(".".join(map(str, text)) if isinstance(text, list) else str(text)),
                  "Version", "Like 1.2.0.")
        self._use_before(params.get("use-before"))
        self._identifier("vendor-id", params, "Vendor id")
        self._identifier("class-id", params, "Class id")
        self._spin("minimum-battery", params, "Battery", "Battery level the update needs.", 0)
        self._spin("update-priority", params, "Priority", "Priority (negative: lower).",
                   -(1 << 30))
        self._line("wait-info", params, "Wait info", "Embedded CBOR of the wait event, h'..'.")
        self._encryption_row(params, project)

    def _encryption_row(self, params: dict[str, Any], project: Project | None) -> None:
        """Encryption info (FE §5): of an encrypted component, a read-only account of what
        the build generates from its encrypt and recipients (a fresh content key each
        build, so no blob to edit); else, if given, the embedded COSE_Encrypt as h'..'."""
        c = self.encrypted
        if c is not None and c.encrypt and project is not None:
            summary = QLabel(encryption_summary(project, c) or "")
            summary.setWordWrap(True)
            self._add("encryption-info", summary, "Encryption info",
                      f"Generated at each build for component {c.name} (encryption-info = "
                      f"\"@{c.name}\"); edit encrypt and recipients in the component editor.")
        elif c is not None and "encryption-info" in params:
            self._line("encryption-info", params, "Encryption info",
                       "suit-parameter-encryption-info: an embedded COSE_Encrypt, h'..'.")
        else:
            self.encrypted = None

    def _line(self, key: str, params: dict[str, Any], label: str, tip: str) -> None:
        value = params.get(key)
        self._add(key, QLineEdit("" if value is None else str(value)), label, tip)

    def _identifier(self, key: str, params: dict[str, Any], label: str) -> None:
        box = QComboBox()
        box.setEditable(True)
        box.addItems(["", "@device"])  # @device: the project's own id (docs/project-format.md)
        value = params.get(key)
        box.setCurrentText("" if value is None else str(value))
        self._add(key, box, label, '"@device" (the project\'s id), a UUID, or h\'..\' bytes.')

    def _spin(self, key: str, params: dict[str, Any], label: str, tip: str, low: int) -> None:
        box = _number(low)
        value = params.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            box.setValue(value)
        self._add(key, box, label, tip)

    def _use_before(self, value: Any) -> None:
        picker = QDateTimeEdit()
        picker.setCalendarPopup(True)
        picker.setDisplayFormat("yyyy-MM-dd HH:mm:ss 'UTC'")
        picker.setTimeZone(QTimeZone.utc())  # M37 §8.4.9.7: seconds since the epoch, UTC
        unset = QDateTime.fromSecsSinceEpoch(0, QTimeZone.utc())
        picker.setMinimumDateTime(unset)
        picker.setSpecialValueText(_NOT_SET)  # at the minimum: no use-before
        picker.setDateTime(QDateTime.fromSecsSinceEpoch(value, QTimeZone.utc())
                           if isinstance(value, int) and not isinstance(value, bool) else unset)
        self._add("use-before", picker, "Use before", "The update is refused after this time.")

    # --- reading it back ------------------------------------------------------------------

    def value(self) -> dict[str, Any]:
        """The block as the form says (raises ProjectFileError for an unreadable field)."""
        name, argument = tree.command_of(self.item)  # the form only shows commands
        if "argument" in self.fields:
            text = self.fields["argument"].text()  # type: ignore[attr-defined]
            return {name: parse_argument(text, tree.spec_name(name))}
        if "branches" in self.fields:
            return {name: self._alternatives(argument)}
        if "index" in self.fields:
            return {name: self.fields["index"].currentData()}  # type: ignore[attr-defined]
        params = dict(argument) if isinstance(argument, dict) else {}
        self._read_parameters(params)
        return {name: params}

    def _alternatives(self, argument: list[Any]) -> list[Any]:
        """The branches kept (a branch beyond the new count goes, contents and all; undo
        brings it back), new empty ones, and the nil alternative if asked for."""
        lanes: list[Any] = [a for a in argument if isinstance(a, list)]
        count = self.fields["branches"].value()  # type: ignore[attr-defined]
        lanes = lanes[:count] + [[] for _ in range(count - len(lanes))]
        nil = self.fields["nil"].isChecked()  # type: ignore[attr-defined]
        return [*lanes, "nil"] if nil else lanes

    def _read_parameters(self, params: dict[str, Any]) -> None:
        image = self.fields["image"].currentData()  # type: ignore[attr-defined]
        _put(params, "image-digest", image)
        _put(params, "image-size", image)
        for key in ("uri", "wait-info"):
            _put(params, key, self.fields[key].text().strip() or None)  # type: ignore[attr-defined]
        for key in ("vendor-id", "class-id"):
            _put(params, key, self.fields[key].currentText().strip() or None)  # type: ignore[attr-defined]
        for key in ("component-slot", "minimum-battery", "update-priority"):
            box = self.fields[key]
            _put(params, key, None if box.value() == box.minimum() else box.value())  # type: ignore[attr-defined]
        comparison = self.fields["comparison"].currentData()  # type: ignore[attr-defined]
        version = self.fields["version"].text().strip()  # type: ignore[attr-defined]
        _put(params, "version", {"comparison": comparison, "version": version}
             if comparison and version else None)
        if self.encrypted is not None:
            info = self.fields["encryption-info"]
            _put(params, "encryption-info", f"@{self.encrypted.name}" if isinstance(info, QLabel)
                 else info.text().strip() or None)  # type: ignore[attr-defined]
        picker = self.fields["use-before"]
        seconds = picker.dateTime().toSecsSinceEpoch()  # type: ignore[attr-defined]
        _put(params, "use-before", seconds if picker.dateTime() != picker.minimumDateTime() else None)  # type: ignore[attr-defined]

    def apply(self) -> None:
        """Emit the edited block (the panel commits it, or shows why it is refused)."""
        if self.path is not None:
            self.applied.emit(self.path, self)


def _component_at(project: Project | None, context: Any) -> Component | None:
    """The one component a block acts on (None for "all components" or a list)."""
    index = 0 if context is None else context
    if project is None or isinstance(index, bool) or not isinstance(index, int):
        return None
    return project.components[index] if 0 <= index < len(project.components) else None


def _put(params: dict[str, Any], key: str, value: Any) -> None:
    if value is None:
        params.pop(key, None)
    else:
        params[key] = value
