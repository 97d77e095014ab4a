"""The device status panel, and `suitwb device status`, show the files a Linux-class device
reports (issue 15): each file's path, size, digest and permission bits as ``ls -l`` writes
them.

The status arrives as `DeviceStatus` values (the contract with the file installer: the
optional `path` and `mode` of `ComponentStatus`) and goes through the same
`flashing.status_json` the panel's worker uses; the wire encoding of the two fields belongs
to the installer's branch, so no device on a pty can report them here yet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from flasher.errors import RefusalReason
from flasher.messages import ComponentStatus, DeviceIdentity, DeviceStatus, UpdateRecord
from gui.device_panel import DevicePanel
from gui.workers import JobRunner
from workbench import flashing

APP = hashlib.sha256(b"app").digest()
CONFIG = hashlib.sha256(b"config").digest()


@pytest.fixture
def runner() -> Iterator[JobRunner]:
    jobs = JobRunner()
    yield jobs
    jobs.wait(10000)


def linux_status() -> DeviceStatus:
    return DeviceStatus(
        DeviceIdentity(b"\x01" * 16, b"\x02" * 16, b"\x03" * 16),
        (ComponentStatus((b"bin", b"app"), 7, APP, 40960, path="bin/app", mode=0o755),
         ComponentStatus((b"etc", b"app.json"), 7, CONFIG, 312, path="etc/app.json",
                         mode=0o640),
         ComponentStatus((b"\x00",), 3, None, 0, active_slot=1)),
        last_result=UpdateRecord(RefusalReason.OK, "installed", 7, None, 0))


def cells(panel: DevicePanel) -> list[list[str]]:
    table = panel.components
    return [[table.item(r, c).text() for c in range(table.columnCount())]
            for r in range(table.rowCount())]


def test_the_panel_lists_files_with_path_size_digest_and_mode(
        qtbot, runner: JobRunner) -> None:  # type: ignore[no-untyped-def]
    panel = DevicePanel(runner)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.updated, timeout=1000):
        panel.show_status("/dev/ttyACM0", flashing.status_json(linux_status()))
    headers = [panel.components.horizontalHeaderItem(c).text()
               for c in range(panel.components.columnCount())]
    assert headers == ["File", "Sequence", "Size", "Mode / slot", "Digest"]
    assert cells(panel) == [
        ["bin/app", "7", "40960", "-rwxr-xr-x", APP.hex()],
        ["etc/app.json", "7", "312", "-rw-r-----", CONFIG.hex()],
        ["00", "3", "0", "slot 1", ""],  # a flash component beside the files
    ]


def test_a_device_without_files_keeps_the_flash_columns(qtbot, runner: JobRunner) -> None:  # type: ignore[no-untyped-def]
    status = linux_status()
    flash_only = DeviceStatus(status.identity, status.components[2:])
    panel = DevicePanel(runner)
    qtbot.addWidget(panel)
    panel.show_status("/dev/ttyACM0", flashing.status_json(flash_only))
    assert panel.components.horizontalHeaderItem(3).text() == "Active slot"
    assert cells(panel) == [["00", "3", "0", "1", ""]]


@pytest.mark.parametrize(("mode", "shown"), [
    (0o755, "-rwxr-xr-x"), (0o600, "-rw-------"), (0o4755, "-rwsr-xr-x"),
    (0o1777, "-rwxrwxrwt"),
    (0o40755, "-rwxr-xr-x"),  # type bits a device sends are not shown as a directory
])
def test_mode_text_is_ls_style_permission_bits(mode: int, shown: str) -> None:
    assert flashing.mode_text(mode) == shown


def test_a_path_with_control_characters_is_shown_escaped() -> None:
    status = DeviceStatus(DeviceIdentity(b"\x01" * 16, b"\x02" * 16, b"\x03" * 16),
                          (ComponentStatus((b"x",), 1, None, 0, path="a\x1b[2Jb\nc", mode=0o644),))
    [component] = flashing.status_json(status)["components"]
    assert component["path"] == "a\\x1b[2Jb\\nc" and component["mode"] == 0o644


def test_device_status_prints_each_file_with_its_mode(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Mocked, and why: the wire encoding of path and mode is the file installer's branch;
    # until it is merged no device on a pty can report them, so the report is handed in.
    from workbench.cli import device_cmds
    from workbench.cli.main import main

    monkeypatch.setattr(device_cmds.operations, "read_status",
                        lambda port, options: linux_status())
    assert main(["device", "status", "--port", "/dev/ttyACM0", "--protocol", "suitwb"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"component 62696e/617070: sequence number 7, digest {APP.hex()}, 40960 bytes, " \
           "file bin/app -rwxr-xr-x" in lines
    assert "component 00: sequence number 3, digest -, 0 bytes" in lines
