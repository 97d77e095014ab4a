"""Long work off the UI thread: hashing large images, verifying, building.

A job is a plain function that takes a `Progress` callback as its first argument (the
core's functions take such callbacks, STYLE.md §6). It runs on Qt's thread pool; its
progress, result and error come back as signals delivered on the UI thread, so no widget
is ever touched from a worker.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

#: progress(done, total, what): `total` 0 means unknown.
Progress = Callable[[int, int, str], None]


class Cancelled(Exception):
    """Raised inside a job by `Job.progress` once cancellation was asked for."""


class Job(QObject):
    """One unit of background work.

    Signals:
        progressed(int, int, str): done, total, what is being done.
        succeeded(object): the function's return value.
        failed(object): the exception it raised (`Cancelled` when cancelled).
        finished(): after succeeded or failed.
    """

    progressed = Signal(int, int, str)
    succeeded = Signal(object)
    failed = Signal(object)
    finished = Signal()

    def __init__(self, function: Callable[..., Any], *args: Any, title: str = "") -> None:
        super().__init__()
        self.title = title
        self._function = function
        self._args = args
        self._cancel = threading.Event()
        self.done = False

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        self._cancel.set()

    def progress(self, done: int, total: int, what: str = "") -> None:
        """The callback handed to the job's function (called on the worker thread)."""
        if self._cancel.is_set():
            raise Cancelled(self.title)
        self.progressed.emit(done, total, what)

    def run(self) -> None:
        """Run the function (on a pool thread) and report through signals."""
        try:
            result = self._function(self.progress, *self._args)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the UI
            self.failed.emit(exc)
        else:
            self.succeeded.emit(result)
        finally:
            self.done = True
            self.finished.emit()


class _Runnable(QRunnable):
    def __init__(self, job: Job) -> None:
        super().__init__()
        self.job = job

    def run(self) -> None:
        self.job.run()


class JobRunner(QObject):
    """Starts jobs and keeps them alive until they finish.

    Signals:
        started(object): a job began (the window shows a progress bar for it).
    """

    started = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._running: set[Job] = set()

    def start(self, job: Job) -> Job:
        """Run `job` on the pool; returns it for chaining connections."""
        self._running.add(job)
        job.finished.connect(lambda: self._running.discard(job))
        self.started.emit(job)
        self._pool.start(_Runnable(job))
        return job

    def submit(self, function: Callable[..., Any], *args: Any, title: str = "",
               on_success: Callable[[Any], None] | None = None,
               on_error: Callable[[BaseException], None] | None = None) -> Job:
        """Create a job for `function(progress, *args)`, connect handlers, start it."""
        job = Job(function, *args, title=title)
        if on_success is not None:
            job.succeeded.connect(on_success)
        if on_error is not None:
            job.failed.connect(on_error)
        return self.start(job)

    @property
    def busy(self) -> bool:
        """Whether any job is still running."""
        return bool(self._running)

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for the pool to drain (tests and shutdown only; never on a UI path)."""
        return self._pool.waitForDone(msecs)
