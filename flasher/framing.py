"""Frames of the recovery protocol: pure bytes functions, no I/O (STYLE.md §5).

A frame on the wire is ``COBS(type | seq | body | crc32) 0x00``: Consistent Overhead Byte
Stuffing removes every zero byte so a single ``0x00`` delimits frames and a receiver that
lost sync (noise, a reset mid-frame) finds the next frame boundary at once. The CRC-32
(IEEE 802.3, as zlib computes it) covers type, sequence number and body; a frame whose CRC
does not match is dropped, never answered (docs/recovery-protocol.md §2).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import Final

DELIMITER: Final = b"\x00"
HEADER: Final = struct.Struct(">BH")  # message type, sequence number
CRC: Final = struct.Struct(">I")
#: Bytes a frame adds around its body before stuffing: header and CRC-32.
FRAME_OVERHEAD: Final = HEADER.size + CRC.size


@dataclass(frozen=True)
class Frame:
    """One decoded frame.

    Attributes:
        kind: The message type (protocol.MessageType value).
        seq: The sequence number (16 bits, wrapping); a reply echoes its request's.
        body: The message body.
    """

    kind: int
    seq: int
    body: bytes


def cobs_encode(data: bytes) -> bytes:
    """Stuff `data` so that it holds no zero byte (COBS, Cheshire and Baker 1999)."""
    out = bytearray()
    blocks = data.split(b"\x00")
    for block in blocks:
        while len(block) >= 254:
            out.append(0xFF)
            out += block[:254]
            block = block[254:]
        # The code byte counts the block plus one; codes below 0xFF imply the zero that
        # followed the block (none after the last one).
        out.append(len(block) + 1)
        out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Undo `cobs_encode`; raise ValueError on bytes no encoder produces."""
    out = bytearray()
    index, end = 0, len(data)
    while index < end:
        code = data[index]
        stop = index + code
        if code == 0 or stop > end:
            raise ValueError("malformed COBS block")
        out += data[index + 1:stop]
        index = stop
        if code != 0xFF and index < end:
            out.append(0)
    return bytes(out)


def encode_frame(kind: int, seq: int, body: bytes = b"") -> bytes:
    """The wire bytes of one frame, delimiter included."""
    raw = HEADER.pack(kind, seq & 0xFFFF) + body
    return cobs_encode(raw + CRC.pack(zlib.crc32(raw))) + DELIMITER


def decode_frame(stuffed: bytes) -> Frame | None:
    """Decode the bytes between two delimiters; None if they are not a valid frame."""
    try:
        raw = cobs_decode(stuffed)
    except ValueError:
        return None
    if len(raw) < FRAME_OVERHEAD:
        return None
    (crc,) = CRC.unpack_from(raw, len(raw) - CRC.size)
    if zlib.crc32(raw[:-CRC.size]) != crc:
        return None
    kind, seq = HEADER.unpack_from(raw)
    return Frame(kind, seq, raw[HEADER.size:-CRC.size])


def max_wire_size(body_size: int) -> int:
    """The largest number of stuffed bytes a frame with `body_size` body bytes takes."""
    raw = body_size + FRAME_OVERHEAD
    return raw + raw // 254 + 2


class FrameDecoder:
    """Splits a byte stream into frames, dropping damaged ones and oversized runs.

    Args:
        max_body: The largest body accepted; a longer run without a delimiter is noise
            and is discarded up to the next delimiter (garbage never grows the buffer).
    """

    def __init__(self, max_body: int) -> None:
        self._limit = max_wire_size(max_body)
        self._buffer = bytearray()
        self._skipping = False
        self.dropped = 0  # frames discarded for a bad CRC, bad stuffing or size

    def feed(self, data: bytes) -> list[Frame]:
        """Add received bytes; return the complete valid frames they finish."""
        frames: list[Frame] = []
        parts = data.split(DELIMITER)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            self._absorb(part)
            if last:
                break
            frame = self._take()
            if frame is not None:
                frames.append(frame)
        return frames

    def _absorb(self, part: bytes) -> None:
        if self._skipping:
            return
        self._buffer += part
        if len(self._buffer) > self._limit:
            self._buffer.clear()
            self._skipping = True

    def _take(self) -> Frame | None:
        if self._skipping:
            self._skipping = False
            self.dropped += 1
            return None
        if not self._buffer:
            return None  # back-to-back delimiters: an idle line or a resync
        frame = decode_frame(bytes(self._buffer))
        self._buffer.clear()
        if frame is None:
            self.dropped += 1
        return frame
