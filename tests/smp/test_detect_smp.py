"""Protocol detection and `suitwb device status` for an SMP device (issue 13): the Zephyr
SMP server as a Linux program (native_sim, no image management), a real pty."""

from __future__ import annotations

import json
import time
from pathlib import Path

from flasher.detect import SMP, detect
from tests.flasher.cli import suitwb
from testsupport.smpdevices import NativeSimDevice


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
