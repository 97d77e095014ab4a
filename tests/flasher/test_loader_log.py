"""The loader's log (issue 12): `suitwb device serve` writes each session to stderr as plain
``suitwb-device: LEVEL module: message`` lines, at INFO unless `-v` asks for DEBUG. Real
processes: the loader on a pty, `suitwb flash` and `suitwb device reboot` talking to it."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve_process, suitwb
from tests.flasher.device.conftest import image_of
from tests.flasher.test_end_to_end import URI, signed_bundle
from workbench.cli import logs


def _device_log(data_dir: Path) -> list[str]:
    [log] = sorted(data_dir.glob("device-serve-*.log"))
    return log.read_text().splitlines()


def test_the_loader_logs_each_session(tmp_path: Path) -> None:
    image = image_of(8 * 1024, seed=3)
    (tmp_path / "app.bin").write_bytes(image)
    newer, older = signed_bundle(tmp_path, 9, image), signed_bundle(tmp_path, 4, image)
    payload = f"{URI}={tmp_path / 'app.bin'}"
    with device_serve_process("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                              data_dir=tmp_path) as (port, _process):
        flashed = suitwb("-v", "flash", newer, "--port", port, "--payload", payload,
                         data_dir=tmp_path)
        # The host's side of the same session, with -v (issue 12).
        assert "suitwb: info: flashing sequence number 9 (" in flashed.stderr
        assert f"suitwb: info: {port}: session open, frame " in flashed.stderr
        assert f"suitwb: info: {port}: ok after " in flashed.stderr
        refused = suitwb("flash", older, "--port", port, "--payload", payload,
                         data_dir=tmp_path, check=False)
        assert refused.returncode == 1
        suitwb("device", "reboot", "--port", port, data_dir=tmp_path)
    lines = _device_log(tmp_path)
    assert lines and all(line.startswith("suitwb-device: ") for line in lines), lines
    text = "\n".join(lines)
    server = "suitwb-device: INFO flasher.loader.server: "
    for expected in (f"serving on {port}", f"HELLO on {port}: protocol 1",
                     "update begun: envelope of", "envelope verified: 1 payload(s) to fetch",
                     "update installed: sequence number 9",
                     "rebooting at the host's request"):
        assert server + expected in text, expected
    assert "suitwb-device: WARNING flasher.loader.server: update refused: rollback: " in text
    assert " DEBUG " not in text  # INFO by default: no per-frame lines
    assert "\x1b[" not in text  # no colours: the journal and files read it as is


def test_v_shows_every_message_at_debug(tmp_path: Path) -> None:
    with device_serve_process("--state", tmp_path / "state", "-v", data_dir=tmp_path) as (port, _):
        suitwb("device", "status", "--port", port, data_dir=tmp_path)
    text = "\n".join(_device_log(tmp_path))
    assert "suitwb-device: DEBUG flasher.loader.server: HELLO (seq " in text
    assert "suitwb-device: DEBUG flasher.loader.server: STATUS (seq " in text


def test_the_loader_format_keeps_tracebacks() -> None:
    # The per-message guard logs with logger.exception: its traceback reaches the device log.
    stream = io.StringIO()
    logs.configure_loader(0, None, stream=stream)
    try:
        try:
            raise ZeroDivisionError("boom")
        except ZeroDivisionError:
            logging.getLogger("flasher.loader.server").exception("internal error handling X")
    finally:
        logs.reset()
    text = stream.getvalue()
    assert text.startswith("suitwb-device: ERROR flasher.loader.server: internal error handling X\n")
    assert "Traceback (most recent call last)" in text and "ZeroDivisionError: boom" in text
