"""The window's log (issue 12): View → Log shows what any thread logged, fed through a
buffer the UI thread drains (never a signal from a worker), bounded to the last 1,000 lines;
the log file in the data folder gets the same records."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, QThread

from gui import log_panel
from gui.app import build_window
from gui.log_panel import MAX_LINES, BufferedHandler, LogPanel, start_file_log

logger = logging.getLogger("tests.gui.log_panel")


@pytest.fixture
def window(qtbot):
    win = build_window()
    win.show()
    yield win
    win.workspace.mark_saved()
    win.close()
    win.runner.wait()
    win.deleteLater()


def test_a_worker_threads_message_reaches_the_dock_and_the_file(qtbot, window,
                                                               data_dir: Path) -> None:
    file_log = start_file_log(data_dir)
    assert file_log is not None
    try:
        window.docks["log"].show()
        panel = window.docks["log"].widget()
        worker = threading.Thread(target=logger.info, args=("flashed %s", "board-7"),
                                  name="flash-worker")
        worker.start()
        worker.join()
        qtbot.waitUntil(lambda: any(line.endswith("INFO tests.gui.log_panel: flashed board-7")
                                    for line in panel.lines()), timeout=3000)
        text = file_log.path.read_text()
    finally:
        file_log.close()
    assert file_log.path == data_dir / "logs" / "suit-workbench.log"
    assert " INFO tests.gui.log_panel [flash-worker]: flashed board-7" in text
    assert "SUIT Workbench started; logging at INFO" in text


def test_the_handler_emits_no_qt_signal_and_is_bounded(qtbot) -> None:
    # docs/architecture.md: a worker thread never touches Qt. The handler's emit is pure
    # Python; the panel's timer, on the UI thread, is what calls into Qt.
    handler = BufferedHandler()
    assert not isinstance(handler, QObject)
    seen: list[QThread] = []
    panel = LogPanel(handler)
    qtbot.addWidget(panel)
    original = panel.drain

    def drain() -> None:
        seen.append(QThread.currentThread())
        original()
    panel.timer.timeout.disconnect()
    panel.timer.timeout.connect(drain)
    record = logging.makeLogRecord({"name": "x", "levelno": logging.INFO, "levelname": "INFO"})
    threads = [threading.Thread(target=lambda n=n: [handler.emit(logging.makeLogRecord(
        {**record.__dict__, "msg": f"line {n}-{i}"})) for i in range(600)]) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(handler._pending) == MAX_LINES  # 2,400 logged between two drains: bounded
    qtbot.waitUntil(lambda: len(panel.lines()) == MAX_LINES, timeout=3000)
    assert set(seen) == {panel.thread()}  # drained on the UI thread only
    for n in range(2 * MAX_LINES):
        handler.emit(logging.makeLogRecord({**record.__dict__, "msg": f"more {n}"}))
        if n % 500 == 0:
            panel.drain()
    panel.drain()
    lines = panel.lines()
    assert len(lines) == MAX_LINES and lines[-1].endswith(f"more {2 * MAX_LINES - 1}")


def test_level_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(log_panel.LEVEL_ENV, "debug")
    assert log_panel.log_level() == logging.DEBUG
    monkeypatch.setenv(log_panel.LEVEL_ENV, "nonsense")
    assert log_panel.log_level() == logging.INFO
    monkeypatch.delenv(log_panel.LEVEL_ENV)
    assert log_panel.log_level() == logging.INFO


def test_an_unwritable_data_folder_still_opens_the_window(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with caplog.at_level(logging.WARNING):
        assert start_file_log(blocker) is None  # logs/ cannot be made under a file
    assert "no log file: " in caplog.text


def test_what_the_error_presenter_shows_is_logged(qtbot, window,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    from suit.errors import WorkbenchError
    with caplog.at_level(logging.INFO, logger="gui.errors"):
        window.errors.show(WorkbenchError("no such key"), "sign the envelope")
        try:
            raise ZeroDivisionError("defect")
        except ZeroDivisionError as exc:
            window.errors.show(exc, "build")
    refused, defect = [r for r in caplog.records if r.name == "gui.errors"]
    assert (refused.levelno, refused.getMessage()) == (
        logging.WARNING, "Could not sign the envelope: no such key")
    assert (defect.levelno, defect.getMessage()) == (
        logging.ERROR, "Could not build: Unexpected ZeroDivisionError: defect")
    assert defect.exc_info is not None  # the traceback reaches the log file
