"""The inspector on every manifest-spec vector: selecting a tree node highlights exactly
that element's bytes, with offsets computed here independently of suit.spans (by letting
cbor2 decode item after item and reading the stream position); clicking a byte selects
its element; badges and findings follow suit.verify."""

from __future__ import annotations

import io
from typing import Any

import cbor2
import pytest
from PySide6.QtCore import QModelIndex, QPoint, Qt

from gui.inspector.panel import InspectorPanel
from gui.inspector.tree_model import SpanRole
from gui.workers import JobRunner
from suit.keys import TrustAnchor
from suit.spans import Step
from tests.fixtures.vectors import MANIFEST_SPEC, SPEC_KEY_PUBLIC

VECTORS = sorted(MANIFEST_SPEC.glob("*.cbor"))


def _head_length(initial: int) -> int:
    info = initial & 0x1F
    return 1 if info < 24 else 1 + (1 << (info - 24))


def _decode_at(data: bytes, offset: int) -> tuple[Any, int]:
    stream = io.BytesIO(data)
    stream.seek(offset)
    value = cbor2.CBORDecoder(stream).decode()
    return value, stream.tell()


def independent_range(data: bytes, path: tuple[Any, ...]) -> tuple[int, int]:
    """Byte range of the element at `path`, found by decoding with cbor2 only."""
    start = 0
    _, end = _decode_at(data, 0)
    for step in path:
        content = start + _head_length(data[start])
        if step is Step.TAGGED or step is Step.WRAPPED:
            start = content
            _, end = _decode_at(data, start)
            continue
        major, pos = data[start] >> 5, content
        if major == 4:
            for _ in range(step):
                _, pos = _decode_at(data, pos)
            start = pos
            _, end = _decode_at(data, pos)
        else:
            while True:
                key, pos = _decode_at(data, pos)
                _, after = _decode_at(data, pos)
                if key == step or (isinstance(key, list) and tuple(key) == step):
                    start, end = pos, after
                    break
                pos = after
    return start, end


def _all_indexes(model, parent=QModelIndex()):
    for row in range(model.rowCount(parent)):
        index = model.index(row, 0, parent)
        yield index
        yield from _all_indexes(model, index)


@pytest.fixture
def panel(qtbot):
    runner = JobRunner()
    widget = InspectorPanel(runner)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    yield widget
    runner.wait()


def _open(qtbot, panel, path, anchors=()):
    with qtbot.waitSignal(panel.loaded, timeout=10000):
        panel.open_file(path, anchors)


@pytest.mark.parametrize("path", VECTORS, ids=lambda p: p.name)
def test_selecting_each_node_highlights_exactly_its_bytes(qtbot, panel, path):
    _open(qtbot, panel, path)
    data = path.read_bytes()
    checked = 0
    for index in _all_indexes(panel.model):
        panel.tree.setCurrentIndex(index)
        span = panel.model.data(index, SpanRole)
        assert panel.hex.selection == independent_range(data, span.path), span.path
        checked += 1
    assert checked == len(panel.inspection.spans) > 20


@pytest.mark.parametrize("path", [MANIFEST_SPEC / "example2.cbor", MANIFEST_SPEC / "example4.cbor"],
                         ids=lambda p: p.name)
def test_clicking_a_byte_selects_its_element(qtbot, panel, path):
    _open(qtbot, panel, path)
    data = path.read_bytes()
    spans = panel.inspection.spans
    sequence_number = next(s for s in spans if s.path[-1:] == (2,) and s.kind == "uint"
                           and len(s.path) == 4)  # manifest/sequence-number
    panel.tabs.setCurrentWidget(panel.hex)
    panel.hex.highlight(sequence_number.start, sequence_number.end)  # scroll it into view
    x, y = panel.hex.byte_position(sequence_number.start)
    qtbot.mouseClick(panel.hex.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(x, y))
    current = panel.tree.currentIndex()
    assert panel.model.data(current, SpanRole).path == sequence_number.path
    assert panel.model.data(current) .startswith("2  sequence-number")
    assert data[sequence_number.start] == panel.inspection.envelope.manifest.sequence_number


def test_badges_with_and_without_the_signers_key(qtbot, panel):
    _open(qtbot, panel, MANIFEST_SPEC / "example2-severed.cbor")
    labels = panel.badge_labels
    assert labels["digest"].property("state") == "ok"
    assert labels["signature"].property("state") == "warn"
    assert labels["severed:install"].text() == "install: severed, absent"
    anchor = TrustAnchor.from_pem(SPEC_KEY_PUBLIC.read_bytes(), "spec key")
    _open(qtbot, panel, MANIFEST_SPEC / "example2.cbor", [anchor])
    labels = panel.badge_labels
    assert labels["signature"].text() == "signature verified (spec key)"
    assert labels["severed:text"].text() == "text: carried, digest ok"


def test_unsigned_envelope_finding_jumps_to_the_authentication_wrapper(qtbot, panel):
    _open(qtbot, panel, MANIFEST_SPEC / "example0-unsigned.cbor")
    assert panel.badge_labels["signature"].text() == "unsigned"
    item = next(panel.findings.item(i) for i in range(panel.findings.count())
                if "no authentication block" in panel.findings.item(i).text())
    panel.findings.itemClicked.emit(item)
    span = panel.model.data(panel.tree.currentIndex(), SpanRole)
    assert span.path == (Step.TAGGED, 2)
    assert panel.hex.selection == (span.start, span.end)


def test_tampered_manifest_digest_is_a_red_badge(qtbot, panel, tmp_path):
    data = bytearray((MANIFEST_SPEC / "example0.cbor").read_bytes())
    assert data[-3:] == bytes.fromhex("821702")  # the last command: invoke, policy 2
    data[-1] = 0x0F  # policy 15: same structure, other bytes
    target = tmp_path / "tampered.suit"
    target.write_bytes(bytes(data))
    _open(qtbot, panel, target)
    assert panel.badge_labels["digest"].property("state") == "bad"


def test_tree_model_passes_the_model_tester(qtbot, panel, qtmodeltester):
    _open(qtbot, panel, MANIFEST_SPEC / "example3.cbor")
    qtmodeltester.check(panel.model)


def test_lint_finding_jumps_to_the_severed_members_digest(qtbot, panel):
    _open(qtbot, panel, MANIFEST_SPEC / "example2-severed.cbor")
    number = next(i for i, f in enumerate(panel.finding_list) if f.message.startswith("SUIT006 install"))
    item = panel.findings.item(number)
    assert "Distribute the unsevered envelope" in item.text()
    panel.findings.itemClicked.emit(item)
    span = panel.model.data(panel.tree.currentIndex(), SpanRole)
    assert span.path == (Step.TAGGED, 3, Step.WRAPPED, 20)  # manifest/install: its digest
    assert span.kind == "array" and panel.hex.selection == (span.start, span.end)
