"""Running the real `suitwb` in subprocesses: a virtual device served on a pty, the flasher."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_SERVED = itertools.count(1)


def _env(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "SUITWB_DATA_DIR": str(data_dir)}


def suitwb(*args: object, data_dir: Path, check: bool = True,
           timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``python -m workbench.cli.main ARGS`` and return the finished process."""
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", *map(str, args)],
                            cwd=ROOT, env=_env(data_dir), capture_output=True, text=True,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"suitwb {args} exited {result.returncode}:\n{result.stderr}")
    return result


@contextmanager
def device_serve(*args: object, data_dir: Path) -> Iterator[str]:
    """Start ``suitwb device serve --pty ARGS``; yield the pty path from its first line."""
    with device_serve_process(*args, data_dir=data_dir) as (path, _process):
        yield path


@contextmanager
def device_serve_process(*args: object,
                         data_dir: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """As `device_serve`, yielding the process too. Its stderr (the device's log) goes to
    ``data_dir/device-serve-N.log``: a pipe nobody reads would block a talkative loader."""
    log_path = data_dir / f"device-serve-{next(_SERVED)}.log"
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli.main", "device", "serve", "--pty",
             *map(str, args)], cwd=ROOT, env=_env(data_dir), stdout=subprocess.PIPE,
            stderr=log, text=True)
    try:
        assert process.stdout is not None
        path = process.stdout.readline().strip()
        if not path.startswith("/dev/"):
            process.kill()
            raise AssertionError(f"device serve printed {path!r}: {log_path.read_text()}")
        yield path, process
    finally:
        process.terminate()  # SIGTERM: the loader closes its flash file and exits 0
        try:
            code = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
        if process.stdout:
            process.stdout.close()
        assert code == 0, f"device serve exited {code}: {log_path.read_text()}"
