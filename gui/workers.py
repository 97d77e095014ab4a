"""Long work off the UI thread: hashing large images, verifying, building.

A job is a plain function that takes a `Progress` callback as its first argument (the
core's functions take such callbacks, STYLE.md §6). It runs on a Python thread that
touches no Qt object at all: its progress, result or exception go into a queue, and the
runner, on the UI thread, drains the queue every few milliseconds and emits the job's
signals there. No Qt call crosses threads, so a job can never touch a widget that the
UI thread has deleted meanwhile.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, Final

from PySide6.QtCore import QObject, QTimer, Signal

logger = logging.getLogger(__name__)

#: progress(done, total, what): `total` 0 means unknown.
Progress = Callable[[int, int, str], None]
#: How often the UI thread collects what the workers reported.
POLL_MS: Final = 10


class Cancelled(Exception):
    """Raised inside a job by its progress callback once cancellation was asked for."""


class Job(QObject):
    """One unit of background work; its signals are emitted on the UI thread.

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
        self.function = function
        self.args = args
        self.done = False
        self._cancel = threading.Event()
        self._reports: queue.SimpleQueue[tuple[Job, str, Any]] | None = None

    def cancel(self) -> None:
        """Ask the job to stop at its next progress report."""
        self._cancel.set()

    def progress(self, done: int, total: int, what: str = "") -> None:
        """The callback handed to the job's function (called on the worker thread)."""
        if self._cancel.is_set():
            raise Cancelled(self.title)
        if self._reports is not None:
            self._reports.put((self, "progress", (done, total, what)))


class JobRunner(QObject):
    """Starts jobs on worker threads and delivers their reports on the UI thread.

    Signals:
        started(object): a job began (the window shows a progress bar for it).
    """

    started = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._reports: queue.SimpleQueue[tuple[Job, str, Any]] = queue.SimpleQueue()
        self._running: set[Job] = set()
        self._threads: set[threading.Thread] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(POLL_MS)
        self._timer.timeout.connect(self.deliver)

    def start(self, job: Job) -> Job:
        """Run `job` on a new worker thread; returns it for chaining connections."""
        job._reports = self._reports
        self._running.add(job)
        self.started.emit(job)
        thread = threading.Thread(target=self._work, args=(job,), name=job.title or "job",
                                  daemon=True)
        self._threads.add(thread)
        thread.start()
        self._timer.start()
        return job

    def _work(self, job: Job) -> None:
        """The worker thread: run the function, queue the outcome. No Qt here."""
        logger.debug("job %r started", job.title)
        try:
            result = job.function(job.progress, *job.args)
        except BaseException as exc:  # noqa: BLE001 - every failure goes to the UI
            logger.debug("job %r ended with %s", job.title, type(exc).__name__)
            self._reports.put((job, "failed", exc))
        else:
            self._reports.put((job, "succeeded", result))
        finally:
            self._threads.discard(threading.current_thread())

    def deliver(self) -> None:
        """Emit what the workers reported (UI thread; the timer calls it).

        Only what was queued when the call began: a report queued by a job that a slot
        started meanwhile waits for the next round, as a queued Qt event would.
        """
        for _ in range(self._reports.qsize()):
            try:
                job, kind, payload = self._reports.get_nowait()
            except queue.Empty:
                break
            if kind == "progress":
                job.progressed.emit(*payload)
                continue
            job.done = True
            self._running.discard(job)
            (job.succeeded if kind == "succeeded" else job.failed).emit(payload)
            job.finished.emit()
        if not self._running:
            self._timer.stop()

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
        """Whether any job has not delivered its outcome yet."""
        return bool(self._running)

    def wait(self, msecs: int = 30000) -> bool:
        """Wait for the workers, then deliver their reports here (tests and shutdown
        only; never on a UI path). Returns whether everything finished in time."""
        deadline = time.monotonic() + msecs / 1000
        for thread in list(self._threads):
            thread.join(max(0.0, deadline - time.monotonic()))
        self.deliver()
        return not self._running
