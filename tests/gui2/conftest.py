"""Fixtures for the part-2 GUI tests: a private data dir per test, the window with every
panel, and the demo workspace opened on the session's SoftHSM2 (tests/fixtures/softhsm.py).

The demo normally makes a SoftHSM2 installation of its own and points SOFTHSM2_CONF at it,
but SoftHSM2 reads that variable once per process and the test session has already chosen
its own installation; so the tests give the demo the session's ``operator`` token instead.
The demo's own installation is tested in subprocesses (test_demo_workspace.py, the
``--screenshot`` acceptance), where it is the first to load the module.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from tests.fixtures.softhsm import SoftHsm

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "gui2"
TOKEN = "operator"


@pytest.fixture(autouse=True)
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """SUITWB_DATA_DIR in a temp dir: settings, demo workspace, audit log, records."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SUITWB_DATA_DIR", str(folder))
    monkeypatch.delenv("SUITWB_PIN", raising=False)  # the PIN must come from the dialog
    return folder


@pytest.fixture
def artifacts() -> Path:
    """artifacts/gui2/, created on demand (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def window(qtbot) -> Iterator:  # type: ignore[no-untyped-def]
    """The main window as `suit-workbench` builds it (its signing and flashing panels installed), shown."""
    from gui.app import build_window
    win = build_window()
    win.show()
    yield win
    win.release_panels.shutdown()
    win.runner.wait(10000)
    # Closed here rather than by qtbot, after marking the project saved: a test's edits
    # would otherwise make the window ask (modally) whether to save them.
    win.workspace.mark_saved()
    win.close()
    win.deleteLater()


@pytest.fixture
def parts(window, qtbot, softhsm: SoftHsm):  # type: ignore[no-untyped-def]
    """The demo workspace opened in the window, its device served on a pty."""
    from gui.release_panels import open_demo
    from workbench.demo import DemoConfig
    opened = open_demo(window, config=DemoConfig(softhsm_conf=softhsm.conf, token_label=TOKEN,
                                                 token_pin=softhsm.user_pin))
    assert opened is not None, window.errors.last
    qtbot.waitUntil(lambda: not window.runner.busy, timeout=20000)  # the first status read
    return opened


class TickRecorder:
    """Counts the ticks of a 10 ms QTimer: the event loop's pulse while workers run."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(lambda: self.times.append(time.monotonic()))

    def start(self) -> None:
        self.times = [time.monotonic()]
        self.timer.start()

    def stop(self) -> None:
        self.timer.stop()
        self.times.append(time.monotonic())

    @property
    def longest_gap(self) -> float:
        return max(b - a for a, b in itertools.pairwise(self.times))


@pytest.fixture
def ticks() -> Iterator[TickRecorder]:
    recorder = TickRecorder()
    yield recorder
    recorder.timer.stop()
