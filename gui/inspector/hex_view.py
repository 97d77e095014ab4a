"""A hex view that paints only the visible rows, so a multi-megabyte envelope scrolls as
fast as a small one. One byte range is highlighted; a click reports the byte's offset."""

from __future__ import annotations

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QMouseEvent, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

BYTES_PER_ROW = 16
_HIGHLIGHT = QColor("#ffd54f")


class HexView(QAbstractScrollArea):
    """Offset, hex and ASCII columns.

    Signals:
        byteClicked(int): the offset of the byte the person clicked.
    """

    byteClicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._data = b""
        self._selection: tuple[int, int] | None = None
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.viewport().setFont(font)
        self.setFont(font)
        metrics = self.fontMetrics()
        self._char = metrics.horizontalAdvance("0")
        self._line = metrics.height()
        self.setAccessibleName("hex view")
        # Never narrower than a row: a clipped hex column hides bytes (issue 17).
        self.setMinimumWidth(self.content_width() + 2 * self.frameWidth()
                             + self.verticalScrollBar().sizeHint().width())

    # --- content --------------------------------------------------------------------------

    def set_data(self, data: bytes) -> None:
        """Show `data`; clears the highlight."""
        self._data = bytes(data)
        self._selection = None
        self._update_scrollbar()
        self.viewport().update()

    def highlight(self, start: int, end: int) -> None:
        """Highlight bytes `start` to `end - 1` and scroll them into view."""
        self._selection = (start, end)
        row = start // BYTES_PER_ROW
        bar = self.verticalScrollBar()
        if not bar.value() <= row < bar.value() + self._visible_rows():
            bar.setValue(max(0, row - 2))
        self.viewport().update()

    @property
    def selection(self) -> tuple[int, int] | None:
        """The highlighted range ``(start, end)``, or None."""
        return self._selection

    def offset_at(self, x: int, y: int) -> int | None:
        """The offset of the byte painted at viewport position (x, y), if any."""
        row = self.verticalScrollBar().value() + y // self._line
        column = (x - self._hex_left()) // (3 * self._char)
        if not 0 <= column < BYTES_PER_ROW:
            ascii_column = (x - self._ascii_left()) // self._char
            if not 0 <= ascii_column < BYTES_PER_ROW:
                return None
            column = ascii_column
        offset = row * BYTES_PER_ROW + column
        return offset if 0 <= offset < len(self._data) else None

    def byte_position(self, offset: int) -> tuple[int, int]:
        """Viewport coordinates of the middle of a byte's hex digits (for tests and tools)."""
        row = offset // BYTES_PER_ROW - self.verticalScrollBar().value()
        x = self._hex_left() + (offset % BYTES_PER_ROW) * 3 * self._char + self._char
        return x, row * self._line + self._line // 2

    # --- geometry -------------------------------------------------------------------------

    def _rows(self) -> int:
        return (len(self._data) + BYTES_PER_ROW - 1) // BYTES_PER_ROW

    def _visible_rows(self) -> int:
        return max(1, self.viewport().height() // self._line)

    def content_width(self) -> int:
        """Pixels one row needs: offset, 16 hex bytes and their ASCII column."""
        return self._ascii_left() + (BYTES_PER_ROW + 1) * self._char

    def _hex_left(self) -> int:
        return 10 * self._char

    def _ascii_left(self) -> int:
        return self._hex_left() + (3 * BYTES_PER_ROW + 1) * self._char

    def _update_scrollbar(self) -> None:
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, self._rows() - self._visible_rows()))
        bar.setPageStep(self._visible_rows())

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._update_scrollbar()

    # --- painting and input ---------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        painter.fillRect(event.rect(), self.palette().base())
        first = self.verticalScrollBar().value()
        for visible in range(self._visible_rows() + 1):
            row = first + visible
            if row >= self._rows():
                break
            self._paint_row(painter, row, visible * self._line)
        painter.end()

    def _paint_row(self, painter: QPainter, row: int, y: int) -> None:
        start = row * BYTES_PER_ROW
        chunk = self._data[start:start + BYTES_PER_ROW]
        text_color = self.palette().text().color()
        painter.setPen(QColor("#888888"))
        painter.drawText(QRect(0, y, self._hex_left(), self._line), Qt.AlignmentFlag.AlignLeft,
                         f"{start:08x}")
        for i, byte in enumerate(chunk):
            offset = start + i
            hex_x = self._hex_left() + i * 3 * self._char
            ascii_x = self._ascii_left() + i * self._char
            if self._selection and self._selection[0] <= offset < self._selection[1]:
                painter.fillRect(QRect(hex_x, y, 3 * self._char, self._line), _HIGHLIGHT)
                painter.fillRect(QRect(ascii_x, y, self._char, self._line), _HIGHLIGHT)
            painter.setPen(text_color)
            painter.drawText(QRect(hex_x, y, 3 * self._char, self._line), 0, f"{byte:02x}")
            painter.drawText(QRect(ascii_x, y, self._char, self._line), 0,
                             chr(byte) if 0x20 <= byte < 0x7F else ".")

    def mousePressEvent(self, event: QMouseEvent) -> None:
        offset = self.offset_at(int(event.position().x()), int(event.position().y()))
        if offset is not None:
            self.byteClicked.emit(offset)
        super().mousePressEvent(event)
