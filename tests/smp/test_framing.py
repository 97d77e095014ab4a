"""The SMP serial framing: the bytes on the wire, checked against the `smp` package."""

from __future__ import annotations

import pytest
from smp import packet

from flasher.smp import framing


@pytest.mark.parametrize("size", [0, 1, 5, 100, 1019, 1020, 3000])
def test_frames_match_the_smp_packages_encoder(size: int) -> None:
    message = (bytes(range(256)) * 12)[:size]
    # smp.packet puts (line_length - 4) // 4 * 4 base64 characters on a line, we put
    # (line_length - 3) // 4 * 4: the same lines when ours is one shorter.
    assert framing.encode(message, 123) == b"".join(packet.encode(message, 124))


@pytest.mark.parametrize("size", [0, 1, 100, 1020, 3000])
def test_frames_decode_in_any_pieces_among_console_noise(size: int) -> None:
    message = (bytes(range(256)) * 12)[:size]
    wire = framing.encode(message)
    assert max(len(line) + 1 for line in wire.split(b"\n")[:-1]) <= framing.LINE_LENGTH
    assert framing.frame_cost(size) == len(wire)
    decoder = framing.FrameDecoder()
    got = decoder.feed(b"*** Booting Zephyr ***\n")
    for at in range(0, len(wire), 7):
        got += decoder.feed(wire[at:at + 7])
    assert got == [message]


def test_a_1024_byte_buffer_carries_71_percent_of_the_line() -> None:
    # 1020-byte messages (buf_size 1024 less the length and CRC): base64 and line framing
    # leave ~72.6 % of the line for the message, what any console-framed client can get.
    assert 0.72 < 1020 / framing.frame_cost(1020) < 0.73
