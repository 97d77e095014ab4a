"""Garbage collection on the UI thread, at the top of the event loop, and nowhere else.

Python's cyclic collector runs whenever an allocation crosses a threshold: inside a Qt
slot, in the middle of an event's dispatch, or on a worker thread. When the garbage holds
PySide wrappers, collecting it there deletes C++ objects that Qt is still using further up
the stack, or deletes them from the wrong thread, and the process dies (seen here as
segfaults and aborts during "Garbage-collecting" in the test suite). The known remedy for
Qt applications in Python (pyqtgraph documents the same one) is to switch automatic
collection off and collect from a timer on the UI thread, where no Qt call is under way.
"""

from __future__ import annotations

import gc
from typing import Final

from PySide6.QtCore import QObject, QTimer

#: How often the UI thread looks at the collector's counters.
INTERVAL_MS: Final = 250


class UiThreadCollector(QObject):
    """Runs the cyclic garbage collector from a UI-thread timer while started."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(INTERVAL_MS)
        self._timer.timeout.connect(self.check)
        self._was_enabled = True

    def start(self) -> None:
        """Switch automatic collection off; collect on the timer instead."""
        self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        """Collect everything once more and give collection back to Python."""
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()

    def check(self) -> int:
        """Collect the oldest generation whose counter passed Python's own threshold.

        Returns the number of unreachable objects found.
        """
        counts, thresholds = gc.get_count(), gc.get_threshold()
        generation = -1
        for level in range(3):
            if counts[level] > thresholds[level]:
                generation = level
        return gc.collect(generation) if generation >= 0 else 0
