"""The loader as a service survives the cable (issue 15): `suitwb device serve --port P`
keeps running when P disappears (read EIO, open ENOENT: a USB gadget unbound) and serves
the NEW port that appears at P, the same process; a session cut mid-update is abandoned and
the update completes afterwards; SIGTERM (systemd's stop) ends it with exit 0.

Real parts: two real pseudo-terminals joined by tests/flasher/cable.py, the real `suitwb`
processes on both ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from flasher.errors import TransportError
from flasher.loader.serve import Outage
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cable import Cable
from tests.flasher.cli import ROOT, _env, suitwb
from tests.flasher.device.conftest import image_of
from tests.flasher.test_end_to_end import URI, signed_bundle

GONE = "is gone; waiting for it to come back"
BACK = "is back after"


@contextmanager
def loader(tmp_path: Path, *args: object) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    """``suitwb device serve ARGS`` with its log in a file; stopped with SIGTERM (exit 0)."""
    log = tmp_path / "loader.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli.main", "device", "serve", *map(str, args)],
            cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=sink, text=True)
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("serving on "), log.read_text()
        yield process, log
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        assert process.stdout is not None
        process.stdout.close()
        assert code == 0, log.read_text()


def wait_for_log(log: Path, text: str, count: int = 1, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while log.read_text().count(text) < count:
        assert time.monotonic() < deadline, f"no {text!r} (x{count}) in:\n{log.read_text()}"
        time.sleep(0.05)


def status_of(port: str, tmp_path: Path) -> dict[str, object]:
    result = suitwb("device", "status", "--port", port, "--json", data_dir=tmp_path)
    status: dict[str, object] = json.loads(result.stdout)
    return status


def test_the_loader_serves_the_port_again_after_a_replug(tmp_path: Path) -> None:
    link = tmp_path / "ttyGS0"
    image = image_of(24 * 1024, seed=7)
    (tmp_path / "app.bin").write_bytes(image)
    bundle = signed_bundle(tmp_path, 3, image)
    cable = Cable(link)
    cable.plug()
    try:
        with loader(tmp_path, "--port", link, "--state", tmp_path / "state",
                    "--trust-anchor", SPEC_KEY_PUBLIC) as (process, log):
            before = status_of(cable.host_path, tmp_path)
            cable.unplug()  # the port vanishes: EIO on read, then ENOENT on open
            wait_for_log(log, GONE)
            time.sleep(1.0)  # several retries while the port is absent
            cable.plug()  # a NEW pty at the same path
            wait_for_log(log, BACK)
            after = status_of(cable.host_path, tmp_path)
            suitwb("flash", bundle, "--port", cable.host_path, "--payload",
                   f"{URI}={tmp_path / 'app.bin'}", data_dir=tmp_path)
            flashed = status_of(cable.host_path, tmp_path)
            assert process.poll() is None  # the same loader process served all of it
        text = log.read_text()
    finally:
        cable.close()
    assert after["device_id"] == before["device_id"]
    [app] = [c for c in flashed["components"] if c["id"] == ["00"]]  # type: ignore[union-attr, index]
    assert app["digest"] == hashlib.sha256(image).hexdigest()
    # One warning for the outage and one line for the return, not one per retry.
    assert (text.count(GONE), text.count(BACK), text.count("not available")) == (1, 1, 0), text


def test_an_update_cut_by_an_unplug_completes_after_the_replug(tmp_path: Path) -> None:
    link = tmp_path / "ttyGS0"
    image = image_of(256 * 1024, seed=8)
    (tmp_path / "app.bin").write_bytes(image)
    bundle = signed_bundle(tmp_path, 4, image)
    cut = bundle.stat().st_size + 96 * 1024  # mid-payload
    cable = Cable(link, cut_after=cut)
    cable.plug()
    try:
        with loader(tmp_path, "--port", link, "--state", tmp_path / "state",
                    "--trust-anchor", SPEC_KEY_PUBLIC) as (process, log):
            flash = subprocess.Popen(
                [sys.executable, "-m", "workbench.cli.main", "flash", str(bundle), "--port",
                 cable.host_path, "--payload", f"{URI}={tmp_path / 'app.bin'}", "--json"],
                cwd=ROOT, env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True)
            assert cable.cut.wait(timeout=60), "the flash never reached the cut"
            wait_for_log(log, "session abandoned with the line")
            cable.plug()  # while the host is still reconnecting
            out, err = flash.communicate(timeout=120)
            assert process.poll() is None
        text = log.read_text()
    finally:
        cable.close()
    assert flash.returncode == 0, err
    [result] = json.loads(out)
    assert result["result"] == "ok" and result["sessions"] > 1, result
    assert "update installed" in text and text.count(GONE) == 1, text
    # The new line's session resumed where the abandoned one had stored payload bytes.
    assert re.search(r"app\.bin [1-9][0-9]*/262144 bytes", text), text


def test_sigterm_during_an_outage_exits_0_at_once(tmp_path: Path) -> None:
    # systemd stops the service with SIGTERM; the backoff wait must not hold up the stop.
    with loader(tmp_path, "--port", tmp_path / "absent", "--state", tmp_path / "state") \
            as (process, log):
        wait_for_log(log, "is not available")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
        assert time.monotonic() - started < 2.0
    assert log.read_text().count("is not available") == 1


def test_the_backoff_is_bounded_and_a_flapping_port_is_one_outage(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="flasher.loader.serve")
    outage = Outage("/dev/ttyGS0")
    outage.lost(worked=True)
    assert [outage.next_delay() for _ in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.6, 2.0, 2.0]
    for _ in range(3):  # a node that opens and hangs up at once, again and again
        outage.open_failed(TransportError("/dev/ttyGS0", "No such file or directory"))
        outage.opened()
        outage.lost(worked=False)
    assert outage.next_delay() == 2.0  # still backing off: the same outage
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(warnings) == 2 and GONE in warnings[0] and BACK in warnings[1], warnings
    outage.lost(worked=True)  # a line that carried frames, then lost: a new outage
    assert outage.next_delay() == 0.1
    assert sum(GONE in r.getMessage() for r in caplog.records) == 2
