"""Gang flashing: one bundle to many ports at once, each with its own progress and result.

Every port runs `operations.flash` on a thread of its own; a device that fails, refuses or
hangs never stops the others (each has its own session, timeouts and outcome). The work
is I/O bound, so threads are enough: the GIL is released while waiting on the ports.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence

from flasher.operations import (
    Bundle,
    FlashOptions,
    FlashOutcome,
    Opener,
    ProgressCallback,
    flash,
)

logger = logging.getLogger(__name__)

OutcomeCallback = Callable[[FlashOutcome], None]
#: Flashes one port: (port, progress callback, cancel event) -> outcome; never raises for a
#: device-side failure. The default is the recovery protocol's `flash`.
PortRunner = Callable[[str, ProgressCallback | None, threading.Event], FlashOutcome]


class GangFlash:
    """Flash one bundle to several ports in parallel.

    Args:
        ports: The ports (URLs or paths), each flashed once.
        bundle: What to send.
        options: Shared options for every port.
        openers: Optional transports per port (tests, line simulators); the default opens
            the port with pyserial.
        runner: Flashes one port instead of the recovery protocol's `flash` (a station
            that also flashes SMP devices chooses the protocol per port).
    """

    def __init__(self, ports: Sequence[str], bundle: Bundle, options: FlashOptions | None = None,
                 openers: Mapping[str, Opener] | None = None,
                 runner: PortRunner | None = None) -> None:
        if len(set(ports)) != len(ports):
            raise ValueError("a port appears twice in the gang")
        self.ports = list(ports)
        self.bundle = bundle
        self.options = options or FlashOptions()
        self.openers = dict(openers or {})
        self.cancel = threading.Event()
        self.runner = runner or self._recovery_flash

    def run(self, on_progress: ProgressCallback | None = None,
            on_outcome: OutcomeCallback | None = None) -> list[FlashOutcome]:
        """Flash every port; return the outcomes in port order once all have ended.

        `on_progress` and `on_outcome` are called from the worker threads.
        """
        outcomes: dict[str, FlashOutcome] = {}
        threads = [threading.Thread(target=self._one, args=(port, outcomes, on_progress, on_outcome),
                                    name=f"gang {port}", daemon=True) for port in self.ports]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [outcomes[port] for port in self.ports]

    def _one(self, port: str, outcomes: dict[str, FlashOutcome],
             on_progress: ProgressCallback | None, on_outcome: OutcomeCallback | None) -> None:
        started, began = time.time(), time.monotonic()
        try:
            outcome = self.runner(port, on_progress, self.cancel)
        except Exception as exc:  # noqa: BLE001 - a thread boundary
            # flash() reports device failures as outcomes; anything raised (a bug, a full
            # disk) is still this port's failure alone, never the gang's.
            outcome = FlashOutcome(port, "failed", 0, time.monotonic() - began, str(exc),
                                   started=started)
        outcomes[port] = outcome
        if on_outcome is None:
            return
        try:
            on_outcome(outcome)
        except Exception as exc:  # noqa: BLE001 - a thread boundary
            # The outcome stands and `run` still returns it; what the callback did with it
            # (a record, a line on screen) failed, and is said once, without a traceback.
            logger.error("%s: after the attempt (%s): %s: %s", port, outcome.result,
                         type(exc).__name__, exc)

    def _recovery_flash(self, port: str, on_progress: ProgressCallback | None,
                        cancel: threading.Event) -> FlashOutcome:
        return flash(port, self.bundle, options=self.options, on_progress=on_progress,
                     cancel=cancel, opener=self.openers.get(port))
