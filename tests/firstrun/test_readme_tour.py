"""README's tour, run as written from a fresh clone (issue 12, "First run").

The tour's commands are taken from README.md itself, so README cannot drift: `suitwb`
comes onto PATH by `make install` (its launchers point at a venv-shaped folder running
this tree), the tour runs in bash in a fresh HOME, and the only text replaced is the
pseudo-terminal path `/dev/pts/N`, read from the virtual device's first line.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from tests.firstrun.conftest import ROOT, clean_env

README = ROOT / "README.md"
TOUR_HEADING = "## A tour from the command line"
PTY_PLACEHOLDER = "/dev/pts/N"
PTY_LINE = re.compile(r"^/dev/pts/\d+$")


def tour_blocks() -> list[str]:
    """The ```sh blocks of README's tour section, in order."""
    text = README.read_text(encoding="utf-8")
    section = text.split(TOUR_HEADING, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```", section, re.DOTALL | re.MULTILINE)


def split_at_device(script: str) -> tuple[str, str]:
    """(the tour up to and including the background `device serve`, the rest)."""
    match = re.search(r"^suitwb device serve --pty (?:.*\\\n)*.*&\n", script, re.MULTILINE)
    assert match, "the tour no longer starts a virtual device in the background"
    return script[:match.end()], script[match.end():]


def make_install(home: Path, venv: Path) -> subprocess.CompletedProcess[str]:
    """`make install`, with the venv given and `setup` taken as done (-o): the tests
    must not build a venv or call apt-get."""
    return subprocess.run(["make", "--no-print-directory", "-o", "setup", "install",
                           f"VENV={venv}"], cwd=ROOT, env=clean_env(home),
                          check=False, capture_output=True, text=True, timeout=60)


def test_make_install_links_the_launchers_into_local_bin(tmp_path: Path, fake_venv: Path) -> None:
    home = tmp_path / "home"
    run = make_install(home, fake_venv)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in ("suitwb", "suit-workbench"):
        link = home / ".local" / "bin" / name
        assert link.is_symlink() and link.resolve() == (fake_venv / "bin" / name).resolve()
    assert "is not on PATH" in run.stdout  # the person is told what to add
    listed = subprocess.run([home / ".local" / "bin" / "suitwb", "new", "--list"],
                            capture_output=True, text=True, env=clean_env(home), timeout=60,
                            check=False)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.startswith("single-mcu")
    again = make_install(home, fake_venv)  # idempotent
    assert again.returncode == 0, again.stderr


def test_readme_says_how_to_get_suitwb_on_path() -> None:
    first, *_ = tour_blocks()
    assert first.startswith("make install")
    assert ". .venv/bin/activate" in first


class Tour:
    """A bash reading the tour from a pipe, its stdout collected line by line."""

    def __init__(self, cwd: Path, env: dict[str, str], stderr: Path) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.stdout: list[str] = []
        self._stderr = stderr.open("w")
        # -e: stop at the first failing command; -x: the trace says which (in stderr).
        self.bash = subprocess.Popen(["bash", "-ex"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self._stderr, text=True,
                                     cwd=cwd, env=env, start_new_session=True)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.bash.stdout is not None
        for line in self.bash.stdout:
            self.stdout.append(line)
            self.lines.put(line.rstrip("\n"))

    def feed(self, script: str) -> None:
        assert self.bash.stdin is not None
        self.bash.stdin.write(script)
        self.bash.stdin.flush()

    def wait_for_line(self, pattern: re.Pattern[str], timeout: float) -> str | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.bash.poll() is None:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                continue
            if pattern.match(line):
                return line
        return None

    def finish(self, timeout: float) -> int:
        assert self.bash.stdin is not None
        self.bash.stdin.close()
        return self.bash.wait(timeout=timeout)

    def stop(self) -> None:
        """End the bash and anything it left running (the device, if the tour failed)."""
        try:
            os.killpg(self.bash.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        self.bash.wait(timeout=30)
        self._stderr.close()


@pytest.mark.slow
def test_readme_tour_runs_verbatim_in_a_fresh_home(tmp_path: Path, fake_venv: Path) -> None:
    home = tmp_path / "home"
    assert make_install(home, fake_venv).returncode == 0
    path = f"{home / '.local' / 'bin'}:{os.environ['PATH']}"
    _, tour = tour_blocks()
    assert tour.count(PTY_PLACEHOLDER) >= 2
    before, after = split_at_device(tour)
    errors = tmp_path / "tour.stderr"
    run = Tour(tmp_path, clean_env(home, PATH=path), errors)
    try:
        run.feed(before)
        pty = run.wait_for_line(PTY_LINE, timeout=120)
        assert pty, f"no pseudo-terminal path printed\n{''.join(run.stdout)}\n{errors.read_text()}"
        run.feed(after.replace(PTY_PLACEHOLDER, pty))
        status = run.finish(timeout=240)
    finally:
        run.stop()
    output = "".join(run.stdout)
    assert status == 0, f"the tour failed:\n{output}\n{errors.read_text()[-3000:]}"
    tour_dir = home / "suit-tour"
    assert (tour_dir / "fw.suit").is_file() and (tour_dir / "fw2.suit").is_file()
    assert re.search(r"sequence.number\D+1\b", output, re.IGNORECASE), output
    assert "intact and anchored" in output
    # The ceremony's outputs went next to the ceremony file, not into the cwd.
    assert (tour_dir / "ceremonies" / "root-key-output" / "transcript.json").is_file()
    assert not (tour_dir / "root-key-output").exists()
