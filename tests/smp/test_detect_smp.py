"""Protocol detection and `suitwb device status` for an SMP device (issue 13): the Zephyr
SMP server as a Linux program (native_sim, no image management), a real pty."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flasher.detect import SMP, detect
from flasher.loader.device import DeviceConfig
from flasher.loader.serve import PseudoTerminal
from flasher.ports import PortInfo
from flasher.smp.operations import DeviceInfo
from tests.flasher.cli import suitwb
from tests.flasher.conftest import ServedDevice
from testsupport.smpdevices import NativeSimDevice
from workbench import flashing
from workbench.cli import device_cmds
from workbench.cli.main import main


def test_an_smp_server_is_detected_after_hello_goes_unanswered(native_sim: NativeSimDevice) -> None:
    began = time.monotonic()
    found = detect(native_sim.pty, timeout=3.0)
    assert found.protocol == SMP and time.monotonic() - began < 4.0
    assert found.smp_info is not None and found.smp_info.mode == "application"
    assert found.smp_info.has_image_group is False


def test_device_status_shows_an_smp_device(native_sim: NativeSimDevice, tmp_path: Path) -> None:
    text = suitwb("device", "status", "--port", native_sim.pty, data_dir=tmp_path).stdout
    assert "protocol:   SMP (application)" in text and "no image management" in text
    report = json.loads(suitwb("device", "status", "--port", native_sim.pty, "--protocol", "smp",
                               "--json", data_dir=tmp_path).stdout)
    assert report["protocol"] == "smp" and report["image_management"] is False
    assert report["os_info"]


def test_ports_probe_names_each_ports_protocol(native_sim: NativeSimDevice, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    # pyserial's port enumeration lists hardware UARTs and USB devices, never ptys: the
    # list is replaced (the one stand-in here); the probing talks to the real devices.
    served = ServedDevice(DeviceConfig(state_dir=tmp_path / "virtual", vendor_id=b"v" * 16,
                                       class_id=b"c" * 16))
    served.start()
    silent = PseudoTerminal()
    ports = [PortInfo(served.path, "virtual device"), PortInfo(native_sim.pty, "native_sim"),
             PortInfo(silent.path, "nothing")]
    monkeypatch.setattr(device_cmds, "list_serial_ports", lambda: ports)
    try:
        assert main(["ports", "--probe", "--detect-timeout", "2", "--json"]) == 0
    finally:
        served.stop()
        served.pty.close()
        silent.close()
    listed = {entry["device"]: entry["protocol"] for entry in json.loads(capsys.readouterr().out)}
    assert listed == {served.path: "suitwb", native_sim.pty: "smp", silent.path: None}


def test_a_devices_text_cannot_forge_terminal_output() -> None:
    info = DeviceInfo("p", "application", None, "Zephyr\n\x1b[31mforged", "MCU\rboot", False, ())
    report = flashing.smp_info_json(info)
    assert report["os_info"] == "Zephyr\\n\\x1b[31mforged" and report["bootloader"] == "MCU\\rboot"
