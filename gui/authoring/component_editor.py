"""The editor of the selected component and of release-wide settings. Every change is one
core edit command on the undo stack; a value that does not parse is refused in place with
the reason, and the project is left as it was."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from gui.authoring.encryption_fields import EncryptionFields
from gui.authoring.session import Preview
from gui.workspace import Workspace
from suit.diff import show_digest
from suit.errors import WorkbenchError
from workbench.project import values
from workbench.project.commands import (
    AddSlot,
    RenameComponent,
    SetMapEntry,
    SetSeverable,
    SetValue,
)
from workbench.project.images import ImageInfo
from workbench.project.model import COMPONENT_TEXT_FIELDS, SEVERABLE_NAMES, Component, Image, Slot

_VALIDATE_CHOICES: Final = (("when it has an image", None), ("yes", True), ("no", False))


def _form(box: QGroupBox) -> QFormLayout:
    """A form that puts a field under its label when the dock is too narrow for both."""
    form = QFormLayout(box)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
    return form


class ComponentEditor(QWidget):
    """Form for the component selected in the workspace."""

    def __init__(self, workspace: Workspace, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.workspace = workspace
        self.preview = Preview()
        self.name: str | None = None
        self._loading = False
        self._choices: dict[int, list[str]] = {}
        self.error = QLabel()
        self.error.setStyleSheet("color:#c62828;")
        self.error.setWordWrap(True)
        self.encryption = EncryptionFields(self)
        layout = QVBoxLayout(self)
        layout.addWidget(self._release_group())
        layout.addWidget(self._component_group())
        layout.addWidget(self.error)
        layout.addStretch(1)
        workspace.selectionChanged.connect(self._selected)
        workspace.projectChanged.connect(lambda *_: self.load())
        workspace.projectOpened.connect(self._opened)

    # --- layout ---------------------------------------------------------------------------

    def _line(self, form: QFormLayout, label: str, commit: Callable[[str], None]) -> QLineEdit:
        edit = QLineEdit()
        edit.setObjectName(label.lower().replace(" ", "-"))
        edit.editingFinished.connect(lambda: self._commit(lambda: commit(edit.text().strip())))
        form.addRow(label, edit)
        return edit

    def _release_group(self) -> QGroupBox:
        box = QGroupBox("Release")
        form = _form(box)
        self.release_name = self._line(form, "Release name", lambda v: self._set(("name",), v))
        self.sequence = QSpinBox(maximum=2**31 - 1)
        self.sequence.setObjectName("sequence-number")
        self.sequence.editingFinished.connect(
            lambda: self._commit(lambda: self._set(("sequence-number",), self.sequence.value())))
        form.addRow("Sequence number", self.sequence)
        # One column: two did not fit the dock's width at 1280x800 and were cut off.
        column = QVBoxLayout()
        self.severable: dict[str, QCheckBox] = {}
        for member in SEVERABLE_NAMES:
            box_ = QCheckBox(member)
            box_.toggled.connect(lambda on, m=member: self._commit(lambda: self._sever(m, on)))
            column.addWidget(box_)
            self.severable[member] = box_
        form.addRow("Severed", column)
        self.encryption.add_release_rows(form)
        return box

    def _component_group(self) -> QGroupBox:
        self.group = QGroupBox("Component")
        form = _form(self.group)
        self.component_name = self._line(form, "Name", self._rename)
        self.display_name = self._line(form, "Display name", lambda v: self._field("display-name", v))
        self.component_id = self._line(form, "Component id", self._set_id)
        self.image_file = self._line(form, "Image file", self._set_image)
        browse = QPushButton("Choose image…")
        browse.clicked.connect(self._choose_image)
        form.addRow("", browse)
        self.image_info = QLabel()
        self.image_info.setWordWrap(True)
        self.image_info.setTextInteractionFlags(self.image_info.textInteractionFlags().TextSelectableByMouse)
        form.addRow("Computed", self.image_info)
        # A/B slots (M37 §8.4.8.9): each an image and the URI it is fetched from.
        self.slots = QTableWidget(0, 2)
        self.slots.setHorizontalHeaderLabels(["Slot image", "Fetch URI"])
        self.slots.horizontalHeader().setStretchLastSection(True)
        self.slots.setMaximumHeight(110)
        self.slots.itemChanged.connect(lambda _item: self._commit(self._set_slots))
        add_slot = QPushButton("Add slot image…")
        add_slot.clicked.connect(self._add_slot)
        remove_slot = QPushButton("Remove slot")
        remove_slot.clicked.connect(lambda: self._commit(self._remove_slot))
        buttons = QHBoxLayout()
        buttons.addWidget(add_slot)
        buttons.addWidget(remove_slot)
        form.addRow("Slots", self.slots)
        form.addRow("", buttons)
        self.uri = self._line(form, "Fetch URI", lambda v: self._field("uri", v or None))
        self.staging = self._combo(form, "Stored via (staging)", "staging")
        self.load_from = self._combo(form, "Loaded from", "load-from")
        self.integrated = self._check(form, "Integrated in the envelope", "integrated")
        self.invoke = self._check(form, "Invoke (boot) it", "invoke")
        self.validate = QComboBox()
        for text, _value in _VALIDATE_CHOICES:
            self.validate.addItem(text)
        self.validate.activated.connect(lambda i: self._commit(
            lambda: self._field("validate", _VALIDATE_CHOICES[i][1])))
        form.addRow("Validate at boot", self.validate)
        self.encryption.add_component_rows(form)
        self.text: dict[str, QLineEdit] = {}
        for key in COMPONENT_TEXT_FIELDS:
            self.text[key] = self._line(form, f"Text: {key}", functools.partial(self._text, key))
        return self.group

    def _combo(self, form: QFormLayout, label: str, member: str) -> QComboBox:
        # Item data is kept here, keyed by the combo, so the choices stay plain Python values.
        combo = QComboBox()
        combo.activated.connect(lambda i: self._commit(
            lambda: self._field(member, self._choices[id(combo)][i - 1] if i > 0 else None)))
        form.addRow(label, combo)
        return combo

    def _check(self, form: QFormLayout, label: str, member: str) -> QCheckBox:
        box = QCheckBox(label)
        box.toggled.connect(lambda on: self._commit(lambda: self._field(member, on)))
        form.addRow("", box)
        return box

    # --- loading --------------------------------------------------------------------------

    def _opened(self) -> None:
        project = self.workspace.project
        self.name = project.components[0].name if project and project.components else None
        self.load()

    def _selected(self, kind: str, name: str) -> None:
        if kind == "component":
            self.name = name
            self.error.clear()
            self.load()

    def set_preview(self, preview: Preview) -> None:
        """Show the computed digest and size of the selected component's image."""
        self.preview = preview
        self.load()

    @property
    def component(self) -> Component | None:
        project = self.workspace.project
        if project is None or self.name is None:
            return None
        return next((c for c in project.components if c.name == self.name), None)

    def load(self) -> None:
        """Fill the fields from the project (without committing anything)."""
        project = self.workspace.project
        self._loading = True
        try:
            if project is not None:
                self.release_name.setText(project.name)
                number = project.sequence_number
                self.sequence.setValue(number if isinstance(number, int) else 0)
                for member, box in self.severable.items():
                    box.setChecked(member in project.severable)
                self.encryption.load_project(project)
            self._load_component(self.component)
        finally:
            self._loading = False

    def _load_component(self, c: Component | None) -> None:
        self.group.setEnabled(c is not None)
        self.group.setTitle(f"Component {c.name}" if c else "Component (none selected)")
        if c is None:
            return
        self.component_name.setText(c.name)
        self.display_name.setText(c.display_name)
        self.component_id.setText(", ".join(c.id))
        self.image_file.setText(c.image.file or "" if c.image else "")
        self.image_info.setText(self._image_text(c))
        self.slots.setRowCount(len(c.slots))
        for row, slot in enumerate(c.slots):
            self.slots.setItem(row, 0, QTableWidgetItem(slot.image.file or ""))
            self.slots.setItem(row, 1, QTableWidgetItem(slot.uri or ""))
        self.uri.setText(c.uri or "")
        others = [o.name for o in self.workspace.project.components  # type: ignore[union-attr]
                  if o.name != c.name]
        for combo, current in ((self.staging, c.staging), (self.load_from, c.load_from)):
            if self._choices.get(id(combo)) != others:  # 500 components: refill only on change
                combo.clear()
                combo.addItems(["(none)", *others])
                self._choices[id(combo)] = others
            combo.setCurrentIndex(others.index(current) + 1 if current in others else 0)
        self.integrated.setChecked(c.integrated)
        self.invoke.setChecked(c.invoke)
        self.validate.setCurrentIndex([v for _t, v in _VALIDATE_CHOICES].index(c.validate))
        for key, edit in self.text.items():
            edit.setText(c.text.get(key, ""))
        self.encryption.load_component(self.workspace.project, c)  # type: ignore[arg-type]

    def _image_text(self, c: Component) -> str:
        keys = [c.name] if c.image else [f"{c.name}[{k}]" for k in range(len(c.slots))]
        parts = []
        for key in keys:
            info = self.preview.images.get(key)
            if isinstance(info, ImageInfo):
                shown = show_digest(info.digest)
                parts.append(f"{info.size} bytes, {shown[:30]}…")
                self.image_info.setToolTip(shown)
            elif isinstance(info, WorkbenchError):
                parts.append(f"error: {info}")
        return "\n".join(parts) or "—"

    # --- committing -----------------------------------------------------------------------

    def _commit(self, action: Callable[[], None]) -> None:
        """Run an edit unless the fields are being loaded; show why it was refused."""
        if self._loading or self.workspace.project is None:
            return
        try:
            action()
            self.error.clear()
        except WorkbenchError as exc:
            self.error.setText(f"{exc}" + (f"\n{exc.hint}" if exc.hint else ""))
            self.load()

    def _set(self, path: tuple[str, ...], value: Any) -> None:
        if self._current(path) != value:
            self.workspace.push(SetValue(path, value))

    def _current(self, path: tuple[str, ...]) -> Any:
        """The value a SetValue path names now (``("component", name, member)`` too)."""
        obj: Any = self.workspace.project
        rest = path
        if path[0] == "component":
            obj, rest = obj.component(path[1]), path[2:]
        for part in rest[:-1]:
            obj = getattr(obj, part.replace("-", "_"))
        return getattr(obj, rest[-1].replace("-", "_"))

    def _field(self, member: str, value: Any) -> None:
        if self.name is not None:
            self._set(("component", self.name, member), value)

    def _rename(self, new: str) -> None:
        if self.name is None or not new or new == self.name:
            return
        old = self.name
        self.name = new
        try:
            self.workspace.push(RenameComponent(old, new))
        except WorkbenchError:
            self.name = old
            raise
        self.workspace.select("component", new)

    def _set_id(self, text: str) -> None:
        parts = [p.strip() for p in text.split(",") if p.strip()]
        values.parse_component_id(parts, "component id")  # refuses what the build would
        self._field("id", parts)

    def _set_image(self, path: str) -> None:
        c = self.component
        if c is None or (c.image.file if c.image else "") == path:
            return
        self._field("image", Image(file=path) if path else None)

    def _choose_image(self) -> None:
        project = self.workspace.project
        if project is None or self.component is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Choose image", str(project.folder))
        if path:
            self._commit(lambda: self._set_image(self._relative(path)))

    def _relative(self, path: str) -> str:
        from pathlib import Path
        folder = self.workspace.project.folder  # type: ignore[union-attr]
        try:
            return str(Path(path).resolve().relative_to(folder))
        except ValueError:
            return path

    def _cell(self, row: int, column: int) -> str:
        """A slot table cell's text; a cell never edited has no item."""
        item = self.slots.item(row, column)
        return item.text().strip() if item is not None else ""

    def _set_slots(self) -> None:
        """The slot table's files and URIs -> one edit replacing the slot list."""
        c = self.component
        if c is None:
            return
        slots = []
        for row, old in enumerate(c.slots):
            file, uri = self._cell(row, 0), self._cell(row, 1)
            image = Image(file=file or None, digest=None if file else old.image.digest,
                          size=None if file else old.image.size)
            slots.append(Slot(image, uri or None))
        if [(s.image.file, s.uri) for s in slots] != [(s.image.file, s.uri) for s in c.slots]:
            self._field("slots", slots)

    def _remove_slot(self) -> None:
        c = self.component
        row = self.slots.currentRow()
        if c is not None and 0 <= row < len(c.slots):
            self._field("slots", [s for k, s in enumerate(c.slots) if k != row])

    def _add_slot(self) -> None:
        project = self.workspace.project
        if project is None or self.name is None:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Slot image", str(project.folder))
        if path:
            self._commit(lambda: self.workspace.push(
                AddSlot(self.name, Slot(Image(file=self._relative(path))))))  # type: ignore[arg-type]

    def _text(self, key: str, value: str) -> None:
        c = self.component
        if c is not None and c.text.get(key, "") != value:
            self.workspace.push(SetMapEntry(("component", c.name, "text"), key, value or None))

    def _sever(self, member: str, on: bool) -> None:
        project = self.workspace.project
        if project is not None and (member in project.severable) != on:
            self.workspace.push(SetSeverable(member, on))
