"""Ctrl-C at any moment of `suitwb`'s start-up ends it with one line and status 130, never
a KeyboardInterrupt traceback from inside an import (issue 11 item 11)."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
INTERRUPTED = 130


def start_inspect_of_stdin() -> subprocess.Popen[bytes]:
    """`suitwb inspect /dev/stdin` with stdin left open: once started it waits for input
    for ever, so every signal lands in start-up or in the command, never after it ends.
    -X importtime reports each import on stderr as it completes: the test's clock."""
    return subprocess.Popen([sys.executable, "-X", "importtime", "-m", "workbench.cli.main",
                             "inspect", "/dev/stdin"], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_import(process: subprocess.Popen[bytes], module: str, timeout: float = 30) -> bytes:
    """Read stderr until `module` has been imported; return what was read."""
    assert process.stderr is not None
    seen, deadline = b"", time.monotonic() + timeout
    while not any(line.rstrip().endswith(b"| " + module.encode()) or
                  line.rstrip().endswith(b"|   " + module.encode())
                  for line in seen.splitlines()):
        left = deadline - time.monotonic()
        assert left > 0 and select.select([process.stderr], [], [], left)[0], seen[-500:]
        chunk = os.read(process.stderr.fileno(), 65536)
        assert chunk, f"exited {process.wait()} before importing {module}: {seen[-500:]!r}"
        seen += chunk
    return seen


def interrupt(process: subprocess.Popen[bytes], after: float) -> tuple[int, str]:
    time.sleep(after)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    return process.returncode, err.decode(errors="replace")


# argparse is the first thing main() imports, right after setting the handler; the command
# module and the whole format core follow it (tens of milliseconds), then the read of stdin.
@pytest.mark.parametrize("after", [0.0, 0.003, 0.01, 0.02, 0.04, 0.08, 0.3])
def test_ctrl_c_during_start_up_is_one_line_and_130(after: float) -> None:
    process = start_inspect_of_stdin()
    early = wait_for_import(process, "argparse")
    status, err = interrupt(process, after)
    stderr = early.decode(errors="replace") + err
    assert "Traceback" not in stderr, stderr[-2000:]
    assert status == INTERRUPTED, stderr[-2000:]
    assert stderr.rstrip().endswith("suitwb: interrupted")


@pytest.mark.parametrize("after", [0.2, 0.5])
def test_ctrl_c_counted_from_the_spawn(after: float) -> None:
    # Not at 0: the first ~15 ms are the interpreter's own start-up (site, the editable
    # install's finder), where a SIGINT kills it or makes it print its own fatal error,
    # before any line of ours runs; the moments from argparse on are tested above.
    process = start_inspect_of_stdin()
    status, err = interrupt(process, after)
    assert "Traceback" not in err, err[-2000:]
    assert status == INTERRUPTED, err[-2000:]
