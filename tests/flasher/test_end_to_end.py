"""Acceptance, end to end on a pty: build and sign a bundle, `suitwb device serve`,
`suitwb flash`, then `suitwb device status` shows the new sequence number and digest, and
the device runs the new image. Every step is a real `suitwb` subprocess."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.fixtures.vectors import SPEC_KEY_PRIVATE, SPEC_KEY_PUBLIC
from tests.flasher.cli import ROOT, device_serve, suitwb
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"


def signed_bundle(tmp_path: Path, number: int, image: bytes, name: str = "app") -> Path:
    """Build the unsigned envelope, then sign it with `suitwb sign` (software signer)."""
    unsigned = tmp_path / f"{name}-{number}-unsigned.suit"
    unsigned.write_bytes(app_update(number, image, uri=URI, signed=False).envelope())
    signed = tmp_path / f"{name}-{number}.suit"
    suitwb("sign", unsigned, "-o", signed, "--key", SPEC_KEY_PRIVATE, "--alg", "ES256",
           data_dir=tmp_path)
    return signed


@pytest.fixture
def state(tmp_path: Path) -> Path:
    return tmp_path / "device-state"


def test_flash_then_status_shows_the_new_image(tmp_path: Path, state: Path) -> None:
    image = image_of(40 * 1024, seed=1)
    (tmp_path / "app.bin").write_bytes(image)
    bundle = signed_bundle(tmp_path, 5, image)
    with device_serve("--state", state, "--trust-anchor", SPEC_KEY_PUBLIC,
                      data_dir=tmp_path) as port:
        flashed = suitwb("flash", bundle, "--port", port, "--payload", f"{URI}={tmp_path / 'app.bin'}",
                         "--json", "--operator", "alice", "--station", "bench-3",
                         data_dir=tmp_path)
        [result] = json.loads(flashed.stdout)
        assert result["port"] == port and result["result"] == "ok", result
        assert result["reason"] is None
        assert result["bytes"] == bundle.stat().st_size + len(image)
        assert result["seconds"] > 0 and result["sequence_number"] == 5
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    assert status["vendor_id"] == "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"
    assert status["class_id"] == "1492af14-2569-5e48-bf42-9b2d51f2ab45"
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 5
    assert app["digest"] == hashlib.sha256(image).hexdigest()
    assert status["last_result"]["result"] == "ok"
    assert status["last_result"]["sequence_number"] == 5
    # The bootloader verified the candidate and made it active: the device runs it.
    assert "active" in status["slots"].values()
    assert status["device_id"] == result["device_id"]
    records = list(csv.DictReader(io.StringIO(
        suitwb("records", "export", "--csv", data_dir=tmp_path).stdout)))
    assert [(r["port"], r["result"], r["sequence_number"], r["operator"], r["station"])
            for r in records] == [(port, "ok", "5", "alice", "bench-3")]
    assert records[0]["bundle_digest"] == hashlib.sha256(bundle.read_bytes()).hexdigest()


def test_state_persists_and_rollback_is_refused_with_its_reason(tmp_path: Path, state: Path) -> None:
    image = image_of(16 * 1024, seed=2)
    (tmp_path / "app.bin").write_bytes(image)
    newer, older = signed_bundle(tmp_path, 9, image), signed_bundle(tmp_path, 4, image)
    payload = f"{URI}={tmp_path / 'app.bin'}"
    with device_serve("--state", state, "--trust-anchor", SPEC_KEY_PUBLIC, data_dir=tmp_path) as port:
        suitwb("flash", newer, "--port", port, "--payload", payload, data_dir=tmp_path)
    # A restarted loader keeps its sequence number (state dir), so the older bundle is refused.
    with device_serve("--state", state, data_dir=tmp_path) as port:
        refused = suitwb("flash", older, "--port", port, "--payload", payload, "--json",
                         data_dir=tmp_path, check=False)
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    assert refused.returncode == 1
    [result] = json.loads(refused.stdout)
    assert (result["result"], result["refusal"]) == ("refused", "rollback")
    assert result["reason"]
    assert result["bytes"] == older.stat().st_size  # not one payload byte was sent
    [app] = [c for c in status["components"] if c["id"] == ["00"]]
    assert app["sequence_number"] == 9
    assert status["last_result"]["result"] == "rollback"


def _bridge(left: socket.socket, right: socket.socket) -> None:
    """Copy bytes both ways between two connected sockets (a null-modem cable)."""
    def pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
    for src, dst in ((left, right), (right, left)):
        threading.Thread(target=pump, args=(src, dst), daemon=True).start()


def test_serve_on_an_existing_port_url(tmp_path: Path) -> None:
    # `device serve --port socket://…` connects to a line (here: a TCP "cable" whose other
    # end the flasher opens), as it would open a USB-serial loopback cable.
    device_end, host_end = socket.create_server(("127.0.0.1", 0)), socket.create_server(("127.0.0.1", 0))
    device_url = f"socket://127.0.0.1:{device_end.getsockname()[1]}"
    host_url = f"socket://127.0.0.1:{host_end.getsockname()[1]}"
    process = subprocess.Popen(
        [sys.executable, "-m", "workbench.cli.main", "device", "serve", "--port", device_url,
         "--state", str(tmp_path / "s")], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "SUITWB_DATA_DIR": str(tmp_path)})
    try:
        assert process.stdout.readline().strip() == f"serving on {device_url}"
        device_end.settimeout(20)
        device_sock, _ = device_end.accept()
        accepted: list[socket.socket] = []
        acceptor = threading.Thread(target=lambda: accepted.append(host_end.accept()[0]))
        acceptor.start()
        result: list[subprocess.CompletedProcess[str]] = []
        runner = threading.Thread(target=lambda: result.append(suitwb(
            "device", "status", "--port", host_url, "--json", data_dir=tmp_path)))
        runner.start()
        acceptor.join(timeout=20)
        _bridge(device_sock, accepted[0])
        runner.join(timeout=60)
        status = json.loads(result[0].stdout)
        assert status["vendor_id"] == "fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe"
        assert status["last_result"] is None
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
        process.stdout.close()
        device_end.close()
        host_end.close()
