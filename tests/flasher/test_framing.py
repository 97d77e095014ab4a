"""Framing: COBS stuffing, CRC-32 per frame, resynchronisation after noise."""

from __future__ import annotations

import random
import zlib

from hypothesis import given
from hypothesis import strategies as st

from flasher.framing import (
    FRAME_OVERHEAD,
    FrameDecoder,
    cobs_decode,
    cobs_encode,
    decode_frame,
    encode_frame,
    max_wire_size,
)


@given(st.binary(max_size=3000))
def test_cobs_round_trip_has_no_zero_and_bounded_overhead(data: bytes) -> None:
    stuffed = cobs_encode(data)
    assert b"\x00" not in stuffed
    assert cobs_decode(stuffed) == data
    assert len(stuffed) <= len(data) + len(data) // 254 + 1


def test_cobs_known_vectors() -> None:
    # Cheshire and Baker's examples (IEEE/ACM ToN 1999, and the COBS Wikipedia table).
    assert cobs_encode(b"\x00") == b"\x01\x01"
    assert cobs_encode(b"\x00\x00") == b"\x01\x01\x01"
    assert cobs_encode(b"\x11\x22\x00\x33") == b"\x03\x11\x22\x02\x33"
    assert cobs_encode(b"\x11\x00\x00\x00") == b"\x02\x11\x01\x01\x01"
    run = bytes(range(1, 255))  # 254 non-zero bytes: one full block
    assert cobs_encode(run)[:1] == b"\xff" and cobs_decode(cobs_encode(run)) == run


def test_frame_layout_and_crc() -> None:
    wire = encode_frame(0x10, 0x1234, b"\x00payload\x00")
    assert wire.endswith(b"\x00") and b"\x00" not in wire[:-1]
    raw = cobs_decode(wire[:-1])
    assert raw[:3] == b"\x10\x12\x34"
    assert raw[3:-4] == b"\x00payload\x00"
    assert int.from_bytes(raw[-4:], "big") == zlib.crc32(raw[:-4])
    frame = decode_frame(wire[:-1])
    assert frame is not None and (frame.kind, frame.seq, frame.body) == (0x10, 0x1234, b"\x00payload\x00")


def test_every_single_bit_flip_is_caught() -> None:
    wire = encode_frame(0x10, 7, bytes(range(64)))[:-1]
    for position in range(len(wire)):
        for bit in range(8):
            damaged = bytearray(wire)
            damaged[position] ^= 1 << bit
            if 0 in damaged:
                continue  # the flip made a delimiter: the receiver sees two short frames
            assert decode_frame(bytes(damaged)) is None, (position, bit)


def test_decoder_finds_frames_between_garbage_and_drops_oversized_runs() -> None:
    rng = random.Random(5)
    decoder = FrameDecoder(max_body=256)
    good = [encode_frame(0x11, n, bytes([n]) * 40) for n in range(20)]
    stream = bytearray()
    for wire in good:
        stream += bytes(rng.randrange(256) for _ in range(rng.randrange(0, 30))) + b"\x00"
        stream += wire
    stream += bytes(rng.randrange(1, 256) for _ in range(5000)) + b"\x00"  # long noise
    stream += good[0]
    frames = []
    for start in range(0, len(stream), 97):  # arbitrary read boundaries
        frames += decoder.feed(bytes(stream[start:start + 97]))
    assert [f.seq for f in frames] == list(range(20)) + [0]
    assert all(f.body == bytes([f.seq]) * 40 for f in frames)
    assert decoder.dropped >= 1
    assert max_wire_size(256) >= len(encode_frame(1, 1, bytes(256)))
    assert FRAME_OVERHEAD == 7
