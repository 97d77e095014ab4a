"""SMP over a serial line ("SMP over console" framing): pure bytes functions.

Zephyr's UART/shell SMP transports and MCUboot's serial recovery wrap one SMP message as
``[uint16 length][message][uint16 CRC-16/XMODEM]`` (the length counts the message and the
CRC), base64-encode it and cut it into lines of at most 127 bytes: the first starts with
0x06 0x09, the rest with 0x04 0x14, each ends with a newline (Zephyr
subsys/mgmt/mcumgr/transport/src/serial_util.c; MCUboot boot_serial.c). Base64 costs 4/3
and the line framing 3/127, so at best ~71 % of the line carries message bytes.

`FrameDecoder` takes whatever bytes arrive (console output between frames included) and
returns complete, CRC-checked messages. Everything it keeps is bounded.
"""

from __future__ import annotations

import binascii
import logging
import struct
from typing import Final

logger = logging.getLogger(__name__)

START: Final = b"\x06\x09"
CONTINUE: Final = b"\x04\x14"
LINE_LENGTH: Final = 127  # delimiter + base64 + newline; servers buffer 128-byte lines
MAX_LINE: Final = 1024  # longer "lines" are noise, not SMP
MAX_MESSAGE: Final = 16384  # no reply we ask for is larger; a bigger length is corrupt

_LENGTH: Final = struct.Struct("!H")


def crc16(data: bytes) -> int:
    """CRC-16/XMODEM (poly 0x1021, init 0), as the SMP serial framing uses."""
    return binascii.crc_hqx(data, 0)


def frame_cost(message_size: int, line_length: int = LINE_LENGTH) -> int:
    """Bytes on the wire for a message of `message_size` bytes."""
    chars = (message_size + 4 + 2) // 3 * 4
    per_line = _chars_per_line(line_length)
    lines = -(-chars // per_line)
    return chars + lines * (len(START) + 1)


def _chars_per_line(line_length: int) -> int:
    # A line's base64 must decode on its own: a multiple of 4 characters.
    return (line_length - len(START) - 1) // 4 * 4


def encode(message: bytes, line_length: int = LINE_LENGTH) -> bytes:
    """The lines that carry `message`, ready to write."""
    body = _LENGTH.pack(len(message) + 2) + message + _LENGTH.pack(crc16(message))
    text = binascii.b2a_base64(body, newline=False)
    step = _chars_per_line(line_length)
    parts = [(START if at == 0 else CONTINUE) + text[at:at + step] + b"\n"
             for at in range(0, len(text), step)]
    return b"".join(parts)


class FrameDecoder:
    """Reassembles messages from received bytes; drops (and remembers) malformed frames.

    Attributes:
        last_problem: Why the most recent malformed frame was dropped, None if none was.
    """

    def __init__(self) -> None:
        self._line = bytearray()
        self._skipping = False  # inside an over-long line: drop up to its newline
        self._frame: bytearray | None = None
        self._expected = 0
        self.last_problem: str | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Take `data`; return the messages it completed, oldest first."""
        messages: list[bytes] = []
        *complete, rest = data.split(b"\n")
        for chunk in complete:
            self._add(chunk)
            line, self._line = bytes(self._line), bytearray()
            skipped, self._skipping = self._skipping, False
            if not skipped:
                message = self._take_line(line)
                if message is not None:
                    messages.append(message)
        self._add(rest)
        return messages

    def _add(self, chunk: bytes) -> None:
        if self._skipping:
            return
        self._line += chunk
        if len(self._line) > MAX_LINE:
            self._line.clear()
            self._skipping = True

    def _take_line(self, line: bytes) -> bytes | None:
        line = line.rstrip(b"\r")
        head, text = line[:2], line[2:]
        if head == START:
            self._frame, self._expected = bytearray(), 0
        elif head != CONTINUE or self._frame is None:
            if line:
                logger.debug("console line: %r", line[:80])
            return None
        try:
            self._frame += binascii.a2b_base64(text, strict_mode=True)
        except binascii.Error as exc:
            self._drop(f"bad base64 ({exc})")
            return None
        return self._complete()

    def _complete(self) -> bytes | None:
        frame = self._frame
        if frame is None:  # _take_line sets it before calling
            return None
        if self._expected == 0 and len(frame) >= 2:
            self._expected = _LENGTH.unpack_from(frame)[0]
            if not 2 <= self._expected <= MAX_MESSAGE + 2:
                self._drop(f"frame length {self._expected} out of range")
                return None
        if self._expected == 0 or len(frame) < self._expected + 2:
            return None
        if len(frame) > self._expected + 2:
            self._drop(f"{len(frame) - self._expected - 2} bytes past the frame's length")
            return None
        message, crc = bytes(frame[2:-2]), _LENGTH.unpack_from(frame, len(frame) - 2)[0]
        self._frame = None
        if crc16(message) != crc:
            self._drop("CRC mismatch")
            return None
        return message

    def _drop(self, problem: str) -> None:
        logger.debug("dropped SMP frame: %s", problem)
        self._frame, self._expected, self.last_problem = None, 0, problem
