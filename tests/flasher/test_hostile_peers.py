"""Hostile or broken peers (issue 11 items 1, 8, 12): the loader survives any HELLO and any
defect while handling one message; the host turns any reply into a typed error."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable
from pathlib import Path

import cbor2
import pytest

from flasher import protocol
from flasher.errors import FlasherError, ProtocolError
from flasher.loader.layout import APP
from flasher.operations import (
    Bundle,
    FlashOptions,
    flash,
    read_capabilities,
    read_status,
    reboot,
)
from flasher.protocol import MessageType
from flasher.session import RecoverySession, SessionConfig
from flasher.transport import SerialTransport
from suit.errors import WorkbenchError
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve_process, suitwb
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of, slot_bytes
from tests.flasher.hostile import (
    PAYLOAD,
    PAYLOAD_URI,
    ScriptedDevice,
    mutate,
    valid_replies,
)
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"
QUICK = SessionConfig(reply_timeout=0.5, retries=3, stall_timeout=0.5)
HELLO = {"version": 1, "frame": 2048, "window": 4}

BAD_HELLOS = [
    cbor2.dumps({**HELLO, "max_envelope": value}) for value in
    ("big", b"\x01", math.nan, 1.5, -1, 2**70, cbor2.CBORTag(2, b"\x01" * 9), True)
] + [
    cbor2.dumps({**HELLO, "frame": "2048"}), cbor2.dumps({**HELLO, "window": None}),
    cbor2.dumps({"version": 1}), cbor2.dumps([1, 2048, 4]), b"", b"\xff\xfe",
    b"\xa1\x61a" + b"\x81" * 4000 + b"\x00",  # deep nesting that fits in one frame
]


def _request(path: str, kind: MessageType, body: bytes) -> protocol.Frame:
    with RecoverySession(SerialTransport.open(path), QUICK) as session:
        return session.request(kind, body, expect=MessageType.HELLO_ACK)


def test_bad_hellos_never_stop_the_loader_process(tmp_path: Path) -> None:
    # Issue 11 item 1: on the old code the first HELLO with a text max_envelope ended
    # `suitwb device serve` (int() outside the error tree).
    with device_serve_process("--state", tmp_path / "s", "--trust-anchor", SPEC_KEY_PUBLIC,
                              data_dir=tmp_path) as (port, process):
        for body in BAD_HELLOS:
            with pytest.raises(ProtocolError) as info:
                _request(port, MessageType.HELLO, body)
            assert info.value.code == protocol.ErrorCode.BAD_MESSAGE, (body[:20], info.value)
            assert process.poll() is None
        image = image_of(16 * 1024, seed=21)
        outcome = flash(port, Bundle.from_bytes(app_update(5, image, uri=URI).envelope(),
                                                {URI: image}), options=FlashOptions(QUICK))
        assert outcome.result == "ok", outcome.reason
        status = read_status(port)
    assert [c.sequence_number for c in status.components if c.component_id == APP] == [5]


# -- the host against a broken device ----------------------------------------------------

def _deep_status() -> bytes:
    # As deep as the host's 64 KiB frame limit allows (the decoder test goes to 100,000).
    return b"\xa1\x65slots" + b"\x81" * 60_000 + b"\x00"


def _status_with(**change: object) -> bytes:
    body = cbor2.loads(valid_replies()[MessageType.STATUS_REPLY])
    return cbor2.dumps({**body, **change})


_RECORD = {"result": 0, "detail": "ok", "sequence_number": 1, "manifest_digest": None}


@pytest.mark.parametrize("body", [
    _status_with(slots=["app/A", "active"]),
    _status_with(last_result={**_RECORD, "time": "yesterday"}),
    _status_with(last_result={**_RECORD, "time": math.nan}),
    _status_with(components=[{"id": "app"}]),
    _status_with(slots={"app/A": "active\n\x1b[31mforged second line"}),
    _deep_status(),
], ids=["slots-list", "time-text", "time-nan", "component-text-id", "control-chars", "deep"])
def test_device_status_against_a_broken_device_is_one_line_and_exit_2(
        tmp_path: Path, body: bytes) -> None:
    # Issue 11 item 8: on the old code these gave tracebacks (slots.items() on a list,
    # int("yesterday")) and exit 1.
    fake = ScriptedDevice()
    fake.script({MessageType.STATUS_REPLY: body})
    with fake.running() as port:
        done = suitwb("device", "status", "--port", port, data_dir=tmp_path, check=False,
                      timeout=60)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.splitlines()
    assert [line for line in lines if line.startswith("suitwb: error:")] == lines[:1]
    assert "bad_message" in lines[0] and "STATUS_REPLY" in lines[0]
    assert all(line.startswith("suitwb: ") for line in lines)


_FUZZ_SESSION = SessionConfig(frame_size=256, window=4, reply_timeout=0.1, retries=2,
                              stall_timeout=0.1, max_stalls=1, finish_timeout=0.2)
_FUZZ_OPTIONS = FlashOptions(_FUZZ_SESSION, reconnects=0, reconnect_delay=0.0)


def _flash(port: str) -> object:
    outcome = flash(port, Bundle(b"\x01" * 300, {PAYLOAD_URI: PAYLOAD}), options=_FUZZ_OPTIONS)
    return outcome


# Reply type -> (the operation that meets it, the request it may stand in for).
_OPERATIONS: dict[MessageType, tuple[Callable[[str], object], MessageType | None]] = {
    MessageType.HELLO_ACK: (lambda p: read_status(p, options=_FUZZ_OPTIONS), None),
    MessageType.STATUS_REPLY: (lambda p: read_status(p, options=_FUZZ_OPTIONS), None),
    MessageType.READY: (_flash, None),
    MessageType.PLAN: (_flash, None),
    MessageType.ACK: (_flash, None),
    MessageType.DONE: (_flash, None),
    MessageType.OK: (lambda p: reboot(p, options=_FUZZ_OPTIONS), None),
    MessageType.REFUSED: (_flash, MessageType.VERIFY),
    MessageType.ERROR: (lambda p: read_status(p, options=_FUZZ_OPTIONS), MessageType.STATUS),
    # flash() asks for the SUIT report (with a nonce) when the attempt ends.
    MessageType.REPORT_REPLY: (_flash, None),
}


def test_host_meets_mutated_replies_of_every_type_with_typed_errors_only() -> None:
    # Issue 11 reply fuzzing: the real host operations against a fake device on a pty
    # whose reply of one type is mutated each time. Every outcome is a result or a
    # FlasherError; anything else (KeyError, TypeError, ValueError...) fails the test.
    rng = random.Random(8)
    fake = ScriptedDevice()
    typed = 0
    with fake.running() as port:
        for kind, (operation, replaces) in _OPERATIONS.items():
            valid = valid_replies()[kind]
            for _ in range(50):
                fake.script({kind: mutate(valid, rng)}, {replaces: kind} if replaces else None)
                try:
                    operation(port)
                except FlasherError:
                    typed += 1
            fake.script({})
            read_status(port, options=_FUZZ_OPTIONS)  # a sane device is served as before
    assert typed > 50  # the mutations do reach the host's checks


def test_host_meets_mutated_capability_replies_with_typed_errors_only(tmp_path: Path) -> None:
    # CAPABILITIES_REPLY: the protocol's schema, then the SUIT_Capability_Report's own
    # decoder (suit.report_capabilities); a DecodeError there is typed too (exit 2).
    rng = random.Random(15)
    fake = ScriptedDevice()
    typed = 0
    with fake.running() as port:
        for _ in range(60):
            fake.script({MessageType.CAPABILITIES_REPLY: mutate(
                valid_replies()[MessageType.CAPABILITIES_REPLY], rng)})
            try:
                read_capabilities(port, options=_FUZZ_OPTIONS)
            except WorkbenchError:
                typed += 1
        fake.script({MessageType.CAPABILITIES_REPLY: cbor2.dumps(
            {"capabilities": cbor2.dumps({1: [[b"\x00"]], 2: "commands", 3: [1], 4: [-7]})})})
        done = suitwb("device", "capabilities", "--port", port, data_dir=tmp_path,
                      check=False, timeout=60)
    assert typed > 20
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) <= 2


# -- defence in depth on the device (item 12) --------------------------------------------

def _boom_once(target: object, name: str, error: Exception) -> None:
    original = getattr(target, name)
    calls = {"n": 0}

    def boom(*args: object) -> object:
        calls["n"] += 1
        if calls["n"] == 1:
            raise error
        return original(*args)
    setattr(target, name, boom)


def test_a_defect_while_handling_a_message_is_logged_answered_and_survived(
        served: ServedDevice, caplog: pytest.LogCaptureFixture) -> None:
    # On the old code a non-WorkbenchError in a handler ended the serve loop: the loader
    # was dead for every later request.
    image = image_of(8 * 1024, seed=22)
    bundle = Bundle.from_bytes(app_update(5, image, uri=URI).envelope(), {URI: image})
    assert flash(served.path, bundle, options=FlashOptions(QUICK)).result == "ok"
    before = slot_bytes(served.device, APP, 0)
    assert served.device is not None
    _boom_once(served.device, "status", RuntimeError("a bug in the status tracker"))
    with caplog.at_level(logging.ERROR, logger="flasher.loader.server"), \
            pytest.raises(ProtocolError) as info:
        read_status(served.path, options=FlashOptions(QUICK))
    assert info.value.code == protocol.ErrorCode.INTERNAL
    assert "RuntimeError" in info.value.detail
    [record] = [r for r in caplog.records if r.exc_info]
    assert "STATUS" in record.getMessage() and record.exc_info[0] is RuntimeError
    assert read_status(served.path).components[0].sequence_number == 5
    assert slot_bytes(served.device, APP, 0) == before


def test_a_defect_in_the_flash_writer_refuses_that_update_and_the_next_installs(
        served: ServedDevice) -> None:
    # The writer thread outlives the defect: on the old code it died, and the next flash
    # blocked on its queue.
    image = image_of(8 * 1024, seed=23)
    bundle = Bundle.from_bytes(app_update(6, image, uri=URI).envelope(), {URI: image})
    assert served.device is not None
    _boom_once(served.device, "write_payload", ZeroDivisionError("bad arithmetic"))
    first = flash(served.path, bundle, options=FlashOptions(QUICK))
    assert first.result == "refused" and "ZeroDivisionError" in (first.reason or "")
    second = flash(served.path, bundle, options=FlashOptions(QUICK))
    assert second.result == "ok", second.reason
    assert served.device.status().components[0].sequence_number == 6
