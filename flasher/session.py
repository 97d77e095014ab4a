"""The host side of a recovery session: sequence numbers, windows, retries, timeouts.

One `RecoverySession` owns one open Transport. A reader thread turns received bytes into
frames; the caller's thread sends requests (stop-and-wait, retried with the same sequence
number so the device can answer a duplicate from its reply cache) and streams (a sliding
window over a byte stream, acknowledged cumulatively by the device, go-back-N on a gap or a
stall). docs/recovery-protocol.md §4 and §5 describe the rules this follows.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Self

from flasher import protocol
from flasher.errors import (
    DeviceNotResponding,
    OperationCancelled,
    ProtocolError,
    TransportError,
    UpdateRefused,
)
from flasher.framing import Frame, FrameDecoder, encode_frame
from flasher.protocol import Hello, MessageType
from flasher.transport import Transport

logger = logging.getLogger(__name__)

_READ_CHUNK: Final = 65536
_POLL: Final = 0.05


@dataclass(frozen=True)
class SessionConfig:
    """What the host proposes and how patient it is.

    Attributes:
        frame_size: Payload bytes per DATA frame the host proposes (the device may lower it).
        window: Frames in flight the host proposes (the device may lower it).
        reply_timeout: Seconds to wait for a reply before sending the request again.
        retries: How many times a request is sent before giving up.
        stall_timeout: Seconds without acknowledged progress before going back to the last
            acknowledged offset (go-back-N).
        max_stalls: Consecutive stalls before the device is declared not responding.
        finish_timeout: Seconds the host keeps asking for FINISH's answer (installing takes time).
    """

    frame_size: int = 2048
    window: int = 4
    reply_timeout: float = 1.0
    retries: int = 5
    stall_timeout: float = 3.0
    max_stalls: int = 5
    finish_timeout: float = 30.0


ProgressCallback = Callable[[int], None]


class RecoverySession:
    """A session with one device over one transport.

    Args:
        transport: An open transport; the session closes it in `close`.
        config: Sizes and timeouts.
    """

    def __init__(self, transport: Transport, config: SessionConfig | None = None) -> None:
        self.transport = transport
        self.config = config or SessionConfig()
        self.agreed: Hello | None = None
        # A random start only keeps two sessions' frames apart; it is not a secret.
        self._seq = random.randrange(0x10000)  # noqa: S311
        self._frames: queue.Queue[Frame | TransportError] = queue.Queue()
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read_loop, daemon=True,
                                        name=f"recovery-reader {transport.name}")
        self._reader.start()

    # -- life cycle ---------------------------------------------------------------------

    def close(self) -> None:
        """Stop the reader and close the transport."""
        self._stop.set()
        self.transport.close()
        self._reader.join(timeout=2)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def hello(self) -> Hello:
        """Open the session: agree on version, frame size and window (§4.1)."""
        # A lone delimiter first: whatever half frame the device holds is ended and dropped.
        self._send_raw(b"\x00")
        proposal = Hello(protocol.PROTOCOL_VERSION, self.config.frame_size, self.config.window)
        reply = self.request(MessageType.HELLO, protocol.encode_hello(proposal),
                             expect=MessageType.HELLO_ACK)
        agreed = protocol.decode_hello_ack(reply.body)
        if agreed.version != protocol.PROTOCOL_VERSION:
            raise ProtocolError(protocol.ErrorCode.BAD_MESSAGE,
                                f"device speaks protocol version {agreed.version}")
        # §4.1: the device may lower the proposal, never raise it.
        if not 16 <= agreed.frame_size <= self.config.frame_size \
                or not 1 <= agreed.window <= self.config.window:
            raise ProtocolError(protocol.ErrorCode.BAD_MESSAGE,
                                f"unusable frame size {agreed.frame_size} / window {agreed.window}")
        self.agreed = agreed
        logger.info("%s: session open, frame %d, window %d", self.transport.name,
                    agreed.frame_size, agreed.window)
        return agreed

    # -- requests -----------------------------------------------------------------------

    def request(self, kind: MessageType, body: bytes, *, expect: MessageType,
                patience: float = 0.0) -> Frame:
        """Send a control request and return its reply, retrying with the same seq.

        The request is sent again every `reply_timeout` seconds, at least `retries` times
        and for at least `patience` seconds (FINISH: an install can take a while; resending
        is harmless because the device answers a repeat from its reply cache, §4).

        Raises:
            UpdateRefused: The device answered REFUSED.
            ProtocolError: The device answered ERROR.
            DeviceNotResponding: No reply after every retry.
        """
        self._seq = (self._seq + 1) & 0xFFFF
        wire = encode_frame(kind, self._seq, body)
        began = time.monotonic()
        tries = 0
        while tries < self.config.retries or time.monotonic() - began < patience:
            tries += 1
            if tries > 1:
                logger.debug("%s: no reply to %s (seq %d), sending it again (try %d)",
                             self.transport.name, kind.name, self._seq, tries)
            self._send_raw(wire)
            reply = self._await_reply(self._seq, self.config.reply_timeout)
            if reply is not None:
                return _check_reply(reply, expect)
        raise DeviceNotResponding(self.transport.name, expect.name, time.monotonic() - began)

    def _await_reply(self, seq: int, timeout: float) -> Frame | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            frame = self._next_frame(left)
            if frame is not None and frame.seq == seq and frame.kind in _REPLY_KINDS:
                return frame
        # Stale acks and old replies are dropped on the way, and so are requests: a line
        # that echoes (a loopback with no device) must read as "no answer".
        return None

    # -- streams ------------------------------------------------------------------------

    def send_stream(self, stream: int, data: bytes, start: int,
                    on_progress: ProgressCallback | None = None,
                    cancel: threading.Event | None = None) -> None:
        """Send `data[start:]` as stream `stream` until the device acknowledges all of it.

        The host keeps up to `window` frames in flight so the line never idles waiting for
        an acknowledgement (§5.2); a NAK or a stall sends again from the device's offset.
        """
        if self.agreed is None:
            raise ProtocolError(protocol.ErrorCode.BAD_STATE, "send_stream before hello")
        window = _StreamWindow(stream, data, start, self.agreed, self.config)
        while not window.complete:
            if cancel is not None and cancel.is_set():
                raise OperationCancelled("cancelled during the transfer")
            for chunk in window.sendable():
                self._send_raw(chunk)
            frame = self._next_frame(_POLL)
            if frame is not None and window.absorb(frame) and on_progress is not None:
                on_progress(window.acked)
            for chunk in window.check_stall(self.transport.name):
                self._send_raw(chunk)

    # -- plumbing -----------------------------------------------------------------------

    def _next_frame(self, timeout: float) -> Frame | None:
        try:
            item = self._frames.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None
        if isinstance(item, TransportError):
            self._frames.put(item)  # stays fatal for every later call
            raise item
        return item

    def _send_raw(self, data: bytes) -> None:
        self.transport.write(data)

    def _read_loop(self) -> None:
        decoder = FrameDecoder(max_body=1 << 16)
        while not self._stop.is_set():
            try:
                data = self.transport.read(_READ_CHUNK, _POLL)
            except TransportError as exc:
                if not self._stop.is_set():
                    self._frames.put(exc)
                return
            for frame in decoder.feed(data):
                self._frames.put(frame)


_REPLY_KINDS: Final = frozenset({
    MessageType.HELLO_ACK, MessageType.STATUS_REPLY, MessageType.READY, MessageType.PLAN,
    MessageType.DONE, MessageType.OK, MessageType.REFUSED, MessageType.ERROR,
    MessageType.REPORT_REPLY, MessageType.CAPABILITIES_REPLY})


def _check_reply(reply: Frame, expect: MessageType) -> Frame:
    if reply.kind == MessageType.REFUSED:
        raise UpdateRefused(*protocol.decode_refusal(reply.body))
    if reply.kind == MessageType.ERROR:
        raise protocol.decode_error(reply.body)
    if reply.kind != expect:
        raise ProtocolError(protocol.ErrorCode.BAD_MESSAGE,
                            f"expected {expect.name}, got message type {reply.kind:#04x}")
    if reply.kind == MessageType.OK:
        protocol.check_empty(MessageType.OK, reply.body)
    return reply


class _StreamWindow:
    """Sliding-window bookkeeping for one stream (go-back-N with cumulative ACKs)."""

    def __init__(self, stream: int, data: bytes, start: int, agreed: Hello,
                 config: SessionConfig) -> None:
        self.stream, self.data, self.config = stream, data, config
        self.max_frame = self.frame_size = agreed.frame_size
        self.clean_frames = 0  # frames acknowledged since the last go-back
        self.ack_interval = config.stall_timeout / 6  # smoothed time between ACKs
        self.last_probe = 0.0
        # The window in bytes: it halves on every loss and grows back by about a frame
        # per window acknowledged (as TCP's congestion window does), so on a noisy line a
        # go-back resends little, and on a clean one the whole agreed window is used.
        self.max_window = self.window = agreed.frame_size * agreed.window
        self.acked = self.next = start
        self.last_progress = time.monotonic()
        self.stalls = 0
        self.tx_seq = 0  # DATA frames sent; a frame's seq is this counter (16 bits)
        self.rewind_seq = 0  # the first seq (16 bits) sent after the last go-back

    @property
    def complete(self) -> bool:
        return self.acked >= len(self.data)

    def sendable(self) -> list[bytes]:
        """Frames that fit in the window now."""
        out = []
        while self.next < len(self.data) and self.next - self.acked < self.window:
            chunk = self.data[self.next:self.next + self.frame_size]
            out.append(encode_frame(MessageType.DATA, self.tx_seq & 0xFFFF,
                                    protocol.encode_data(self.stream, self.next, chunk)))
            self.next += len(chunk)
            self.tx_seq += 1
        return out

    def absorb(self, frame: Frame) -> bool:
        """React to one received frame; True if the acknowledged offset moved."""
        if frame.kind == MessageType.REFUSED:
            raise UpdateRefused(*protocol.decode_refusal(frame.body))
        if frame.kind == MessageType.ERROR:
            raise protocol.decode_error(frame.body)
        if frame.kind not in (MessageType.ACK, MessageType.NAK):
            return False
        stream, offset = protocol.decode_ack(frame.body)
        if stream != self.stream or offset > len(self.data):
            return False
        if frame.kind == MessageType.NAK:
            self._rewind(offset, frame.seq)
            return False
        if offset <= self.acked:
            return False
        self.window = min(self.max_window, self.window + max(
            1, (offset - self.acked) * self.frame_size // self.window))
        now = time.monotonic()
        self.ack_interval = 0.8 * self.ack_interval + 0.2 * (now - self.last_progress)
        self.acked, self.next = offset, max(self.next, offset)
        self.last_progress, self.stalls = now, 0
        self.clean_frames += 1
        if self.clean_frames >= 32 and self.frame_size < self.max_frame:
            self.frame_size, self.clean_frames = min(self.max_frame, self.frame_size * 2), 0
        return True

    def _rewind(self, offset: int, trigger: int) -> None:
        # A NAK echoes the seq of the out-of-order frame that caused it. Frames sent before
        # the last go-back were already in flight: their NAKs say nothing new, and going
        # back again would only duplicate data. A NAK caused by a frame sent after it means
        # the resent frame was lost too (§5.3).
        if offset < self.acked or (trigger - self.rewind_seq) & 0xFFFF >= 0x8000:
            return
        self._go_back(offset)

    def _go_back(self, offset: int) -> None:
        self.next, self.rewind_seq = offset, self.tx_seq & 0xFFFF
        # A noisy line loses long frames more often (a frame survives a bit error rate p
        # with probability (1-p)^(8n)): halve the frame on repeated losses, grow it again
        # after a clean run. Offsets are in bytes, so the device needs no notice.
        if self.clean_frames < 4:
            self.frame_size = max(64, self.frame_size // 2)
        self.window = max(2 * self.frame_size, self.window // 2)
        self.clean_frames = 0

    def check_stall(self, port: str) -> list[bytes]:
        """Frames to send because nothing moved for a while: a probe, or a go-back.

        After a few acknowledgement intervals without progress the first unacknowledged
        frame is sent again alone (a tail-loss probe, as TCP's): the device acknowledges
        it, takes it, or answers NAK, so a lost last frame or a lost NAK costs milliseconds
        rather than the stall timeout. After the stall timeout the host goes back.
        """
        now = time.monotonic()
        idle = now - self.last_progress
        if idle >= self.config.stall_timeout:
            self.stalls += 1
            if self.stalls > self.config.max_stalls:
                raise DeviceNotResponding(port, f"ACK of stream {self.stream} at {self.acked}",
                                          idle * self.stalls)
            self._go_back(self.acked)
            self.last_progress = self.last_probe = now
            return []
        if self.acked >= self.next or now - max(self.last_probe, self.last_progress) \
                < max(0.05, 4 * self.ack_interval):
            return []
        self.last_probe = now
        chunk = self.data[self.acked:self.acked + self.frame_size]
        self.tx_seq += 1
        return [encode_frame(MessageType.DATA, (self.tx_seq - 1) & 0xFFFF,
                             protocol.encode_data(self.stream, self.acked, chunk))]
