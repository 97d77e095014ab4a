"""Wire fuzzing of the real loader (`suitwb device serve --pty`, issue 11): well-framed
hostile messages of every type, bad-CRC floods, oversize runs and drip-fed bytes. After
it all the device answers STATUS, boots its image, installs an update, logged no
traceback, and its memory stayed bounded."""

from __future__ import annotations

import hashlib
import os
import random
import select
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from flasher import protocol
from flasher.framing import FrameDecoder, encode_frame
from flasher.loader.layout import APP
from flasher.operations import Bundle, FlashOptions, flash, read_status, reboot
from flasher.protocol import Hello, MessageType
from flasher.session import SessionConfig
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve_process
from tests.flasher.device.conftest import image_of
from tests.flasher.hostile import IDENTITY, mutate
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"
OPTIONS = FlashOptions(SessionConfig(reply_timeout=0.5, stall_timeout=0.5))
FRAMES = 10_000
RSS_GROWTH_LIMIT = 24 * 1024 * 1024  # bytes; the loader keeps no per-frame state

_VALID_REQUESTS = {
    # With HELLO_ACK's optional fields, so mutations reach max_envelope and identity too.
    MessageType.HELLO: protocol.encode_hello(Hello(1, 256, 4, 1 << 20, IDENTITY)),
    MessageType.BEGIN: protocol.dumps({"size": 64, "sha256": hashlib.sha256(b"e" * 64).digest()}),
    MessageType.DATA: protocol.encode_data(0, 0, b"e" * 32),
    # REPORT with its nonce (mutations reach the nonce's type and size; CAPABILITIES has
    # no body, so its mutations are any bytes where none belong).
    MessageType.REPORT: protocol.encode_report_request(b"n" * 16),
}


def _rss(pid: int) -> int:
    """VmRSS of `pid` in bytes (/proc/<pid>/status)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def _hostile_frames(rng: random.Random) -> Iterator[bytes]:
    """FRAMES frames with a valid CRC: every message type (and unknown ones), with
    mutated valid bodies or random bytes, random sequence numbers."""
    kinds = [int(k) for k in MessageType] + [0x00, 0x13, 0x7F, 0xFF]
    for index in range(FRAMES):
        kind = kinds[index % len(kinds)]
        valid = _VALID_REQUESTS.get(MessageType(kind) if kind in MessageType._value2member_map_
                                    else MessageType.OK, b"")
        body = mutate(valid, rng) if rng.random() < 0.8 else valid
        yield encode_frame(kind, rng.randrange(0x10000), body)


def _bad_crc_frames(rng: random.Random, count: int) -> Iterator[bytes]:
    for _ in range(count):
        wire = bytearray(encode_frame(MessageType.HELLO, rng.randrange(0x10000),
                                      _VALID_REQUESTS[MessageType.HELLO]))
        wire[rng.randrange(len(wire) - 1)] ^= 0x40  # a flip that keeps the delimiter
        yield bytes(wire.replace(b"\x00", b"\x01")[:-1] + b"\x00")


class _Drain:
    """Reads everything the device says so its output never backs up; keeps the frames."""

    def __init__(self, fd: int) -> None:
        self.fd, self.stop = fd, threading.Event()
        self.decoder = FrameDecoder(max_body=1 << 16)
        self.kinds: list[tuple[int, int]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            if select.select([self.fd], [], [], 0.05)[0]:
                self.kinds += [(f.kind, f.seq) for f in self.decoder.feed(os.read(self.fd, 65536))]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=5)


def _flood(port: str, rng: random.Random) -> list[tuple[int, int]]:
    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    drain = _Drain(fd)
    try:
        os.write(fd, b"".join(_hostile_frames(rng)))
        os.write(fd, b"".join(_bad_crc_frames(rng, 2000)))
        for size in (5000, 200_000):  # oversize: a run longer than any frame, then a frame
            os.write(fd, bytes(rng.randrange(1, 256) for _ in range(size)) + b"\x00")
        os.write(fd, encode_frame(MessageType.HELLO, 1, b"\xa0" * 9000))
        # Drip-fed: one valid HELLO a byte at a time; the device must still answer it.
        for byte in b"\x00" + encode_frame(MessageType.HELLO, 0xD1D1,
                                           _VALID_REQUESTS[MessageType.HELLO]):
            os.write(fd, bytes([byte]))
            time.sleep(0.002)
        deadline = time.monotonic() + 10
        while (MessageType.HELLO_ACK, 0xD1D1) not in drain.kinds and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        drain.close()
        os.close(fd)
    return drain.kinds


def test_loader_survives_a_hostile_line_then_serves_boots_and_stays_small(
        tmp_path: Path) -> None:
    rng = random.Random(2026)
    with device_serve_process("--state", tmp_path / "s", "--trust-anchor", SPEC_KEY_PUBLIC,
                              data_dir=tmp_path) as (port, process):
        first = image_of(16 * 1024, seed=31)
        assert flash(port, Bundle.from_bytes(app_update(5, first, uri=URI).envelope(),
                                             {URI: first}), options=OPTIONS).result == "ok"
        rss_before = _rss(process.pid)
        replies = _flood(port, rng)
        assert process.poll() is None, "the loader died"
        assert (MessageType.HELLO_ACK, 0xD1D1) in replies  # the drip-fed HELLO was answered
        assert {kind for kind, _ in replies} >= {MessageType.ERROR, MessageType.HELLO_ACK}
        rss_after = _rss(process.pid)
        status = read_status(port, options=OPTIONS)
        assert [c.sequence_number for c in status.components if c.component_id == APP] == [5]
        reboot(port, options=OPTIONS)  # the bootloader verifies and boots the image
        after_boot = read_status(port, options=OPTIONS)
        [app] = [c for c in after_boot.components if c.component_id == APP]
        assert app.sequence_number == 5 and app.digest == hashlib.sha256(first).digest()
        newer = image_of(8 * 1024, seed=32)
        outcome = flash(port, Bundle.from_bytes(app_update(6, newer, uri=URI).envelope(),
                                                {URI: newer}), options=OPTIONS)
        assert outcome.result == "ok", outcome.reason
    log = "".join(p.read_text() for p in tmp_path.glob("device-serve-*.log"))
    assert "Traceback" not in log, log[-3000:]
    assert rss_after - rss_before < RSS_GROWTH_LIMIT, (rss_before, rss_after)
