"""Issue 17, inspector: the diagnostic notation is linked to the tree and the hex view both
ways (a click on a line selects its element and highlights its bytes; selecting an element
in the tree or a byte in the hex view puts the notation's cursor on its line), and changing
the trust anchors verifies the open envelope again. Real window, real mouse clicks."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from gui.inspector.diag_map import diag_paths
from suit.codec import decode_envelope
from suit.errors import WorkbenchError
from suit.render import envelope_diag
from suit.spans import locate
from tests.fixtures.vectors import MANIFEST_SPEC, SPEC_KEY_PUBLIC, VECTORS
from tests.gui2.steps import TIMEOUT


def _open(qtbot, window, name: str):  # type: ignore[no-untyped-def]
    with qtbot.waitSignal(window.inspector.loaded, timeout=TIMEOUT):
        window.open_envelope(MANIFEST_SPEC / name)
    return window.inspector


def _click_line(qtbot, panel, text: str) -> int:  # type: ignore[no-untyped-def]
    panel.tabs.setCurrentWidget(panel.diag)
    [line] = [n for n, t in enumerate(panel.inspection.diag.splitlines()) if text in t]
    panel.diag.verticalScrollBar().setValue(max(line - 2, 0))  # scrolled to, cursor unmoved
    block = panel.diag.document().findBlockByNumber(line)
    rect = panel.diag.blockBoundingGeometry(block).translated(panel.diag.contentOffset())
    assert panel.diag.viewport().rect().contains(rect.center().toPoint())  # on screen
    qtbot.mouseClick(panel.diag.viewport(), Qt.MouseButton.LeftButton,
                     pos=QPoint(int(rect.left()) + 60, int(rect.center().y())))
    return line


def test_every_line_of_every_vector_names_an_element_that_exists() -> None:
    checked = 0
    for path in sorted(VECTORS.glob("*/*.cbor")):
        data = path.read_bytes()
        try:
            envelope = decode_envelope(data)
        except WorkbenchError:  # not every vector is an envelope (COSE pieces, keys)
            continue
        checked += 1
        known = {span.path for span in locate(data)}
        for line, element in zip(envelope_diag(envelope).splitlines(),
                                 diag_paths(envelope_diag(envelope)), strict=True):
            assert element in known, (path, line, element)
    assert checked >= 10


def test_clicking_a_diag_line_selects_the_element_and_its_bytes(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = _open(qtbot, window, "example0-unsigned.cbor")
    assert panel.diag_line() == 0 and not panel.tree.currentIndex().isValid()
    line = _click_line(qtbot, panel, "/ parameter-class-id / 2:")
    assert panel.diag_line() == line
    current = panel.tree.currentIndex()
    span = panel.model.span_at(current)
    assert span is not None and span.path[-1] == 2 and span.kind == "bstr"
    assert panel.model.data(current).startswith("2  parameter-class-id")
    assert panel.hex.selection == (span.start, span.end)
    assert panel.inspection.data[span.start + 1:span.end] == bytes.fromhex(
        "1492af1425695e48bf429b2d51f2ab45")


def test_selecting_in_the_tree_or_the_hex_moves_the_diag_cursor(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = _open(qtbot, window, "example0-unsigned.cbor")
    lines = panel.inspection.diag.splitlines()
    spans = panel.inspection.spans
    size = next(s for s in spans if s.path[-1:] == (14,))  # parameter-image-size
    assert panel.select_path(size.path)
    assert "parameter-image-size" in lines[panel.diag_line()]
    assert panel.diag.extraSelections()[0].cursor.blockNumber() == panel.diag_line()
    # A click on a byte of the sequence number in the hex view.
    number = next(s for s in spans if s.path[-1:] == (2,) and len(s.path) == 4)
    panel.tabs.setCurrentWidget(panel.hex)
    panel.hex.highlight(number.start, number.end)
    x, y = panel.hex.byte_position(number.start)
    qtbot.mouseClick(panel.hex.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    assert "manifest-sequence-number" in lines[panel.diag_line()]


def test_changing_trust_anchors_verifies_the_open_envelope_again(qtbot, window) -> None:  # type: ignore[no-untyped-def]
    panel = _open(qtbot, window, "example2.cbor")
    assert panel.badge_labels["signature"].property("state") == "warn"  # no anchor yet
    with qtbot.waitSignal(panel.loaded, timeout=TIMEOUT):
        window.set_trust_anchors([str(SPEC_KEY_PUBLIC)])
    assert panel.badge_labels["signature"].property("state") == "ok"
    assert "Verifying again" in window.statusBar().currentMessage()
