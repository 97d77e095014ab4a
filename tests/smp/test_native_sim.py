"""The Zephyr SMP server built for native_sim: os group yes, image group no (issue 13)."""

from __future__ import annotations

import pytest

from flasher.errors import SmpError
from flasher.smp import operations as ops
from flasher.smp.session import SmpSession
from flasher.smp.upload import upload
from tests.smp.fakes import TcpBridge
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
