"""Protocol detection (issue 13): our HELLO first, then SMP, within a bound; silence is a
clear error. Real ptys: the virtual device's loader, and a pty nobody answers on."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from flasher.detect import SUITWB, ProtocolNotDetected, detect
from flasher.loader.serve import PseudoTerminal
from flasher.records import FactoryRecords
from tests.flasher.cli import suitwb
from tests.flasher.conftest import ServedDevice


def test_the_recovery_loader_is_detected_by_hello(served: ServedDevice) -> None:
    began = time.monotonic()
    assert detect(served.path).protocol == SUITWB
    assert time.monotonic() - began < 1.0  # the loader answers the first HELLO


def test_a_silent_port_fails_within_the_bound_saying_what_was_tried() -> None:
    silent = PseudoTerminal()  # opened, never read: nothing answers
    try:
        began = time.monotonic()
        with pytest.raises(ProtocolNotDetected) as caught:
            detect(silent.path, timeout=2.0)
        assert time.monotonic() - began < 3.5
    finally:
        silent.close()
    assert "HELLO" in str(caught.value) and "SMP" in str(caught.value)
    assert "--protocol" in caught.value.hint and caught.value.exit_status == 2


def test_flash_records_a_port_that_answers_neither(tmp_path: Path) -> None:
    silent = PseudoTerminal()
    try:
        (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
        done = suitwb("flash", tmp_path / "b.suit", "--port", silent.path, "--detect-timeout",
                      "1", "--records", tmp_path / "r.sqlite", "--json",
                      data_dir=tmp_path, check=False)
    finally:
        silent.close()
    assert done.returncode == 1
    [outcome] = json.loads(done.stdout)
    assert outcome["result"] == "failed" and outcome["protocol"] == "unknown"
    assert "no answer to HELLO" in outcome["reason"] and "Traceback" not in done.stderr
    [record] = FactoryRecords(tmp_path / "r.sqlite").all()
    assert record.result == "failed" and record.protocol == "unknown"


def test_a_port_that_does_not_exist_fails_at_once_on_the_cli(tmp_path: Path) -> None:
    (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
    missing = str(tmp_path / "ttyNOPE")
    status = suitwb("device", "status", "--port", missing, data_dir=tmp_path, check=False)
    assert status.returncode == 2 and f"{missing}: no such port" in status.stderr
    for forced in ((), ("--protocol", "suitwb")):
        done = suitwb("flash", tmp_path / "b.suit", "--port", missing, "--json", *forced,
                      "--records", tmp_path / "r.sqlite", data_dir=tmp_path, check=False)
        [outcome] = json.loads(done.stdout)
        assert done.returncode == 1 and "no such port" in outcome["reason"]
        assert outcome["seconds"] < 0.5 and "Traceback" not in done.stderr


def test_a_silent_port_with_the_protocol_forced_fails_after_one_bounded_hello(
        tmp_path: Path) -> None:
    silent = PseudoTerminal()
    try:
        (tmp_path / "b.suit").write_bytes(b"\xd8\x6b\xa0")
        done = suitwb("flash", tmp_path / "b.suit", "--port", silent.path, "--protocol",
                      "suitwb", "--records", tmp_path / "r.sqlite", "--json",
                      data_dir=tmp_path, check=False)
    finally:
        silent.close()
    [outcome] = json.loads(done.stdout)
    # One session's HELLO retries (stated in the reason), not five reconnects of them.
    assert outcome["result"] == "failed" and "no answer to HELLO_ACK within" in outcome["reason"]
    assert outcome["seconds"] < 8.0 and outcome.get("sessions", 1) == 1
