"""The UI-thread collector: automatic collection off while it runs, cycles collected by
its timer, and collection handed back when it stops."""

from __future__ import annotations

import gc
import weakref

from gui.collector import UiThreadCollector


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_cycles_are_collected_by_the_timer_not_by_allocation(qtbot) -> None:
    collector = UiThreadCollector()
    was_enabled = gc.isenabled()
    collector.start()
    try:
        assert not gc.isenabled()
        node = _Node()
        alive = weakref.ref(node)
        del node
        for _ in range(5 * gc.get_threshold()[0]):  # garbage cycles: past the threshold
            _Node()
        assert alive() is not None  # nothing collected outside the timer
        qtbot.waitUntil(lambda: alive() is None, timeout=3000)
    finally:
        collector.stop()
    assert gc.isenabled() == was_enabled
