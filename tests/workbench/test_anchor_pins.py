"""An anchored audit log asks for its token's PIN the way the command asks for keys' PINs
(issue 11 item 9 loose ends): `build --sign` at the terminal. No pin-source in the anchor
URI, no SUITWB_PIN: before, the log had no PinProvider and the build failed."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from pathlib import Path

from tests.fixtures.softhsm import SoftHsm
from tests.signing.cli import suitwb

ROOT = Path(__file__).resolve().parents[2]
PROJECT = """name = "anchored"
sequence-number = 7
[device]
vendor-domain = "example.com"
model = "widget"

[[component]]
name = "app"
id = ["h'00'"]
uri = "https://example.com/app.bin"
image = { file = "app.bin" }
"""


def at_terminal(*args: object, data_dir: Path, answer: str, timeout: float = 60) -> tuple[int, str]:
    """Run suitwb with a real pseudo-terminal as stdin; type `answer` at the PIN prompt.

    Returns the exit status and stderr. A new session: the prompt cannot reach the
    terminal pytest runs in.
    """
    env = {k: v for k, v in os.environ.items() if k != "SUITWB_PIN"}
    env["SUITWB_DATA_DIR"] = str(data_dir)
    master, slave = os.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli.main", *map(str, args)],
                            cwd=ROOT, env=env, stdin=slave, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    os.close(slave)
    seen, deadline = b"", time.monotonic() + timeout
    try:
        while b"pin for" not in seen.lower() and proc.poll() is None and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stderr], [], [], 0.5)
            if ready:
                seen += os.read(proc.stderr.fileno(), 4096)  # type: ignore[union-attr]
        if b"pin for" in seen.lower():
            time.sleep(0.2)  # getpass flushes pending input as it turns echo off
            os.write(master, answer.encode() + b"\n")
        _, err = proc.communicate(timeout=timeout)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, (seen + err).decode(errors="replace")


def _anchored_without_pin_source(softhsm: SoftHsm, data_dir: Path) -> str:
    uri = softhsm.uri("release", pin=False, object=f"audit-{data_dir.name}")
    suitwb("audit", "init", "--anchor", uri, data_dir=data_dir,
           env={"SUITWB_PIN": softhsm.user_pin})
    return uri


def test_build_sign_asks_the_anchor_pin_at_the_terminal(softhsm: SoftHsm, tmp_path: Path,
                                                        signing_key: tuple[Path, Path]) -> None:
    data_dir = tmp_path / "data"
    _anchored_without_pin_source(softhsm, data_dir)
    (tmp_path / "app.bin").write_bytes(b"\x5a" * 100)
    (tmp_path / "project.toml").write_text(PROJECT)
    status, err = at_terminal("build", tmp_path / "project.toml", "-o", tmp_path / "out.suit",
                              "--sign", signing_key[0], data_dir=data_dir,
                              answer=softhsm.user_pin)
    assert status == 0, err
    assert "Token pin for release: " in err and softhsm.user_pin not in err
    verify = suitwb("audit", "verify", data_dir=data_dir, env={"SUITWB_PIN": softhsm.user_pin})
    assert "intact and anchored: 1 record(s)" in verify.stdout
