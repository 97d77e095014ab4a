"""The Zephyr SMP server built for native_sim: os group yes, image group no (issue 13)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from flasher.errors import SmpError
from flasher.loader.device import DeviceConfig
from flasher.loader.serve import PseudoTerminal
from flasher.operations import read_status
from flasher.smp import operations as ops
from flasher.smp.session import SmpSession
from flasher.smp.upload import upload
from tests.flasher.conftest import ServedDevice
from tests.smp.fakes import TcpBridge
from testsupport.envelopes import CLASS_ID, VENDOR_ID, spec_public_pem
from testsupport.smpdevices import NativeSimDevice


def test_identify_params_and_echo(native_sim: NativeSimDevice) -> None:
    with SmpSession.open(native_sim.pty) as session:
        ops.wait_ready(session, timeout=30)
        info = ops.identify(session)
        assert ops.echo(session, "suit workbench") == "suit workbench"
    # manifest.json: serial_fs has 1024-byte buffers, 4 of them, and no image group.
    assert info.params == ops.McumgrParams(buf_size=1024, buf_count=4)
    assert info.mode == "application"
    assert info.os_info == "Zephyr"
    assert info.has_image_group is False
    assert info.images == ()


def test_flashing_says_the_device_has_no_image_group(native_sim: NativeSimDevice,
                                                     shipped_image: bytes) -> None:
    with SmpSession.open(native_sim.pty) as session:
        ops.wait_ready(session, timeout=30)
    with pytest.raises(SmpError) as caught:
        upload(lambda: SmpSession.open(native_sim.pty), shipped_image)
    error = caught.value
    assert (error.rc, error.group, error.group_error) == (8, 1, False)
    assert "no image management" in str(error)
    assert "cannot take firmware" in error.hint
    assert error.exit_status == 1


def test_socket_urls_work(native_sim: NativeSimDevice) -> None:
    bridge = TcpBridge(native_sim.pty)
    try:
        with SmpSession.open(bridge.url) as session:
            ops.wait_ready(session, timeout=30)
            assert ops.echo(session, "over tcp") == "over tcp"
            assert ops.read_params(session).buf_size == 1024
    finally:
        bridge.close()


def test_probe_tells_an_smp_device_from_a_silent_port(native_sim: NativeSimDevice) -> None:
    info = ops.probe(native_sim.pty, timeout=30)
    assert info is not None and info.params is not None and not info.has_image_group
    silent = PseudoTerminal()  # a port where nothing answers SMP
    try:
        started = time.monotonic()
        assert ops.probe(silent.path, timeout=1.0) is None
        assert time.monotonic() - started < 3.0
    finally:
        silent.close()


def test_probe_says_our_own_recovery_loader_is_not_smp(tmp_path: Path) -> None:
    # The workbench's virtual device speaks the recovery protocol (COBS frames): it must
    # neither answer SMP lines nor be upset by them.
    served = ServedDevice(DeviceConfig(state_dir=tmp_path / "device", vendor_id=VENDOR_ID,
                                       class_id=CLASS_ID, trust_anchors=[spec_public_pem()]))
    served.start()
    try:
        assert ops.probe(served.path, timeout=1.0) is None
        status = read_status(served.path)  # and it still serves its own protocol
    finally:
        served.stop()
        served.pty.close()
    assert status.identity.vendor_id == VENDOR_ID
