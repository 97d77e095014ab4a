"""The smaller commands and the edges of the big ones: ports, status text, reboot, bad
input, the progress lines, records on disk."""

from __future__ import annotations

import io
import json
import os
import select
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flasher.errors import RecordsError
from flasher.operations import Progress, Stage
from flasher.ports import PortInfo, list_serial_ports
from flasher.records import AttemptRecord, FactoryRecords
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import ROOT, device_serve, suitwb
from testsupport.envelopes import app_update
from workbench.cli.device_cmds import ProgressBoard

URI = "http://example.com/app.bin"


def test_ports_json_lists_what_pyserial_finds(tmp_path: Path) -> None:
    listed = json.loads(suitwb("ports", "--json", data_dir=tmp_path).stdout)
    assert [p["device"] for p in listed] == [p.device for p in list_serial_ports()]
    assert PortInfo("/dev/ttyACM0", "CDC", 0x2FE3, 0x0100, "E1").usb_id == "2fe3:0100"
    assert PortInfo("/dev/ttyS0", "uart").usb_id is None


def test_status_text_and_reboot_on_a_fresh_device(tmp_path: Path) -> None:
    with device_serve("--state", tmp_path / "s", data_dir=tmp_path) as port:
        text = suitwb("device", "status", "--port", port, data_dir=tmp_path).stdout
        rebooted = suitwb("device", "reboot", "--port", port, data_dir=tmp_path).stdout
        again = json.loads(suitwb("device", "status", "--port", port, "--json",
                                  data_dir=tmp_path).stdout)
    assert "vendor id:  fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe" in text
    assert "last update: none" in text
    assert rebooted.strip() == f"{port}: rebooting"
    assert again["last_result"] is None and again["device_id"] in text


def test_bad_input_exits_2_with_a_hint(tmp_path: Path) -> None:
    missing = suitwb("flash", tmp_path / "nope.suit", "--port", "loop://", data_dir=tmp_path,
                     check=False)
    assert missing.returncode == 2 and "nope.suit" in missing.stderr
    assert "suitwb: hint:" in missing.stderr
    (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
    bad = suitwb("flash", tmp_path / "b.suit", "--port", "loop://", "--payload", "no-equals",
                 data_dir=tmp_path, check=False)
    assert bad.returncode == 2 and "URI=FILE" in bad.stderr


def test_no_device_on_the_port_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
    # loop:// echoes our own frames back: nothing answers as a device would.
    done = suitwb("device", "status", "--port", "loop://",
                  data_dir=tmp_path, check=False, timeout=60)
    assert done.returncode == 2
    assert "loop://" in done.stderr and "suitwb: hint:" in done.stderr


def test_progress_board_plain_lines_once_per_stage() -> None:
    out = io.StringIO()
    board = ProgressBoard(["p1", "p2"], out)
    for done in (0, 100, 200):
        board.update(Progress("p1", Stage.PAYLOAD, done, 400, 50.0, (400 - done) / 50))
    board.update(Progress("p2", Stage.INSTALLING, 400, 400, 80.0, 0.0))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("p1: [") and "payload" in lines[0] and "0/400 B" in lines[0]
    assert lines[1].startswith("p2: [" + "#" * 30 + "]") and "100%" in lines[1]


def test_records_round_trip_and_unwritable_database(tmp_path: Path) -> None:
    records = FactoryRecords(tmp_path / "deep" / "records.sqlite")
    first = AttemptRecord(1_700_000_000.5, 2.25, "/dev/pts/3", "ab12", "app.suit", "ff" * 32,
                          4, "ok", None, 4096, 1, "alice", "bench-1")
    records.append(first)
    records.append(AttemptRecord(1_700_000_010.0, 0.5, "/dev/pts/4", None, "app.suit",
                                 "ff" * 32, None, "failed", "no answer", 0, 2, "bob", "bench-1"))
    assert records.all()[0] == first
    lines = records.export_csv().splitlines()
    assert lines[0].startswith("started,seconds,port,device_id")
    assert lines[1].startswith("2023-11-14T22:13:20.500+00:00,2.25,/dev/pts/3,ab12")
    assert ",failed,no answer,0,2,bob," in lines[2]
    with sqlite3.connect(tmp_path / "deep" / "records.sqlite") as db:
        assert db.execute("SELECT COUNT(*) FROM attempts").fetchone() == (2,)
    (tmp_path / "file").write_text("x")
    with pytest.raises(RecordsError):
        FactoryRecords(tmp_path / "file" / "records.sqlite").append(first)


def _read_all(fd: int) -> bytes:
    """Everything written to the pty so far: one read returns only what one write put in
    the line discipline's buffer, so read until the terminal stays quiet."""
    chunks = []
    while select.select([fd], [], [], 0.2)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def test_progress_board_redraws_in_place_on_a_terminal() -> None:
    master, slave = os.openpty()
    try:
        with os.fdopen(slave, "w", closefd=False) as stream:
            board = ProgressBoard(["p1", "p2"], stream)
            board.update(Progress("p1", Stage.PAYLOAD, 100, 400, 50.0, 6.0))
            board.last_draw = 0.0  # allow the next redraw at once
            board.update(Progress("p2", Stage.PAYLOAD, 200, 400, 50.0, 4.0))
            board.finish()
        output = _read_all(master).decode()
    finally:
        os.close(master)
        os.close(slave)
    assert "p2: waiting" in output  # first draw: one line per device
    assert output.count("\x1b[2F") == 2  # two redraws went back up over both lines
    assert "p2: [" in output and "50%" in output


def test_ctrl_c_cancels_the_gang_and_records_it(tmp_path: Path) -> None:
    image = bytes(range(256)) * 1024
    (tmp_path / "app.bin").write_bytes(image)
    with device_serve("--state", tmp_path / "s", "--baud", "115200", "--trust-anchor",
                      SPEC_KEY_PUBLIC, data_dir=tmp_path) as port:
        (tmp_path / "b.suit").write_bytes(app_update(3, image, uri=URI).envelope())
        process = subprocess.Popen(
            [sys.executable, "-m", "workbench.cli.main", "flash", str(tmp_path / "b.suit"),
             "--port", port, "--json", "--payload", f"{URI}={tmp_path / 'app.bin'}"],
            cwd=ROOT, env={**os.environ, "SUITWB_DATA_DIR": str(tmp_path)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(2.5)  # a 256 KiB payload at 115200 baud takes 23 s: still sending
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert json.loads(out), err
    [result] = json.loads(out)
    assert result["result"] == "cancelled" and 0 < result["bytes"] < len(image)
    rows = suitwb("records", "export", "--csv", data_dir=tmp_path).stdout.splitlines()
    assert len(rows) == 2 and ",cancelled," in rows[1]
