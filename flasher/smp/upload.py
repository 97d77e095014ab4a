"""Upload an image over SMP (image group, upload): full frames, two in flight, resumable.

Each request carries ``off`` and as much ``data`` as the device's receive buffer holds
(MCUmgr parameters ``buf_size`` minus the 4 bytes of serial framing); the first also
carries ``len``, ``sha`` and ``image``. The device answers each with the offset it expects
next, and both MCUboot's serial recovery and Zephyr's img_mgmt drop a chunk whose offset
is not the one they expect and answer with the expected one. That makes two things safe:

- keeping the next frame on the wire while the device handles the current one (the line
  never idles while it writes flash and answers: the upload reaches ~70 % of the line,
  which is what base64 framing allows), and
- resuming after a disconnect: a new session sends the chunk at the last acknowledged
  offset and follows the offset the device answers (0 when it lost the upload).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from smpclient.requests.image_management import ImageUploadWrite

from flasher.errors import (
    BundleError,
    DeviceNotResponding,
    OperationCancelled,
    SmpError,
    SmpReplyInvalid,
    TransportError,
)
from flasher.smp import framing
from flasher.smp.operations import read_params
from flasher.smp.session import Sent, SmpSession

logger = logging.getLogger(__name__)

SessionOpener = Callable[[], SmpSession]
SERIAL_FRAMING: Final = 4  # the frame length and CRC share the device's receive buffer
# MCUboot's serial recovery does not report MCUmgr parameters; its receive buffer is
# CONFIG_BOOT_SERIAL_MAX_RECEIVE_SIZE, 1024 by default.
DEFAULT_BUFFER: Final = 1024


@dataclass(frozen=True)
class UploadProgress:
    """One progress report.

    Attributes:
        port: Where the upload runs.
        bytes_done: Bytes the device has acknowledged.
        bytes_total: The image's size.
        rate: Acknowledged bytes per second since the upload began.
        eta: Seconds left at that rate, None while unknown.
        reconnecting: True while the line is being reopened after a disconnect.
    """

    port: str
    bytes_done: int
    bytes_total: int
    rate: float
    eta: float | None
    reconnecting: bool = False


ProgressCallback = Callable[[UploadProgress], None]


@dataclass(frozen=True)
class UploadOptions:
    """How an upload runs.

    Attributes:
        image: The image number (0 unless the device has several); the device picks the
            slot (MCUboot recovery: the primary, an application: the secondary).
        buffer_size: The device's receive buffer; None reads MCUmgr parameters (or assumes
            MCUboot's default when the device does not report them).
        window: Frames on the wire at once (1 waits for each answer).
        reconnects: Sessions reopened after a lost line before giving up.
        reconnect_delay: Seconds before reopening.
        first_timeout: Seconds for the first answer (the device may erase the slot first).
        retries: Resends of an unanswered chunk within one session.
        alignment: Chunks are a multiple of this many bytes (the device writes flash in
            aligned units and acknowledges only whole ones; MCUboot's serial recovery
            answers the aligned offset, which would cost a resend per frame).
    """

    image: int = 0
    buffer_size: int | None = None
    window: int = 2
    reconnects: int = 5
    reconnect_delay: float = 0.5
    first_timeout: float = 20.0
    retries: int = 3
    alignment: int = 8


@dataclass(frozen=True)
class UploadResult:
    """How an upload went.

    Attributes:
        port: Where it ran.
        size: Bytes uploaded.
        seconds: Wall time.
        sessions: Sessions used (more than one after a disconnect).
        resumed_at: The offsets the device resumed at after each reconnect.
        sha256: The image's digest (what image state will show as its hash).
    """

    port: str
    size: int
    seconds: float
    sessions: int
    resumed_at: tuple[int, ...]
    sha256: bytes


class _Progress:
    def __init__(self, port: str, total: int, callback: ProgressCallback | None) -> None:
        self.port, self.total, self.callback = port, total, callback
        self.began = time.monotonic()
        self.acked = 0

    def report(self, acked: int, reconnecting: bool = False) -> None:
        self.acked = acked
        if self.callback is None:
            return
        rate = acked / max(time.monotonic() - self.began, 1e-6)
        eta = (self.total - acked) / rate if rate > 0 else None
        self.callback(UploadProgress(self.port, acked, self.total, rate, eta, reconnecting))


def upload(open_session: SessionOpener, data: bytes, *, options: UploadOptions | None = None,
           on_progress: ProgressCallback | None = None,
           cancel: threading.Event | None = None) -> UploadResult:
    """Upload `data` (an MCUboot image) through sessions from `open_session`.

    A lost line or a silent device reopens a session and resumes at the offset the device
    expects; a refusal (SmpError), a malformed reply or a cancel ends it. Raises
    DeviceNotResponding or TransportError when every reconnect failed.
    """
    options = options or UploadOptions()
    if not data:
        raise BundleError("<image>", "the image is empty")
    digest = hashlib.sha256(data).digest()
    progress: _Progress | None = None
    resumed: list[int] = []
    for attempt in range(options.reconnects + 1):
        try:
            with open_session() as session:
                progress = progress or _Progress(session.port, len(data), on_progress)
                if attempt:
                    resumed.append(_resume_offset(session, data, progress.acked))
                _Upload(session, data, digest, options, progress, cancel).run(resumed[-1]
                                                                             if attempt else 0)
                return UploadResult(session.port, len(data), time.monotonic() - progress.began,
                                    attempt + 1, tuple(resumed), digest)
        except (TransportError, DeviceNotResponding) as exc:
            if attempt == options.reconnects:
                raise
            logger.info("upload interrupted (%s); reconnecting", exc)
            if progress is not None:
                progress.report(progress.acked, reconnecting=True)
            if _wait(cancel, options.reconnect_delay):
                raise OperationCancelled("upload cancelled") from exc
    raise AssertionError("unreachable")  # the loop returns or raises


def _wait(cancel: threading.Event | None, seconds: float) -> bool:
    if cancel is not None:
        return cancel.wait(seconds)
    time.sleep(seconds)
    return False


def _resume_offset(session: SmpSession, data: bytes, acked: int) -> int:
    # Offer the chunk at the last acknowledged offset: a device that kept the upload takes
    # it (or names the offset it wants); one that lost it answers 0 (or asks for len).
    if acked == 0:
        return 0
    # The line may have died mid-frame: a newline ends the device's partial line, so our
    # next frame's first line is not glued to it and lost.
    session.transport.write(b"\n")
    fields: dict[str, Any] = {"off": acked, "data": data[acked:acked + 32]}
    try:
        reply = session.request(ImageUploadWrite, "image upload (resume)", **fields)
    except SmpError:
        return 0
    offset = _offset(session, reply, len(data))
    logger.info("%s: device resumes the upload at %d of %d", session.port, offset, len(data))
    return offset


def _offset(session: SmpSession, reply: Any, total: int) -> int:
    offset = reply.off
    if offset is None or not 0 <= offset <= total:
        raise SmpReplyInvalid(session.port, f"upload offset {offset!r} outside 0..{total}")
    if reply.match is False:
        raise SmpReplyInvalid(session.port, "the device reports the image's SHA-256 mismatched")
    return int(offset)


class _Upload:
    """One session's part of an upload: frames pipelined `window` deep."""

    def __init__(self, session: SmpSession, data: bytes, digest: bytes, options: UploadOptions,
                 progress: _Progress, cancel: threading.Event | None) -> None:
        self.session, self.data, self.digest = session, data, digest
        self.options, self.progress, self.cancel = options, progress, cancel
        self.window = max(1, options.window)
        self.message_limit = self._message_limit()
        self.in_flight: deque[tuple[Sent, int]] = deque()

    def _message_limit(self) -> int:
        if self.options.buffer_size is not None:
            return self.options.buffer_size - SERIAL_FRAMING
        try:
            params = read_params(self.session)
        except SmpError:  # MCUboot's serial recovery does not say: assume its default
            return DEFAULT_BUFFER - SERIAL_FRAMING
        # A server with one receive buffer drops a frame that arrives while it works.
        self.window = min(self.window, max(1, params.buf_count))
        return params.buf_size - SERIAL_FRAMING

    def run(self, offset: int) -> None:
        acked, sent_to, misses, stalls = offset, offset, 0, 0
        self.progress.report(acked)
        while acked < len(self.data):
            if self.cancel is not None and self.cancel.is_set():
                raise OperationCancelled("upload cancelled")
            while len(self.in_flight) < self.window and sent_to < len(self.data):
                sent_to = self._send(sent_to)
            before = acked
            try:
                acked, resync = self._next_ack()
                misses = 0
            except (DeviceNotResponding, SmpReplyInvalid):
                # A lost or corrupted reply (a noisy line): resend from the last offset.
                misses += 1
                if misses > self.options.retries:
                    raise
                resync = True
            if resync:
                # A device that answers without moving forward, again and again, is not
                # going to finish: stop instead of resending forever.
                stalls = stalls + 1 if acked <= before else 0
                if stalls > self.options.retries:
                    raise SmpReplyInvalid(self.session.port, "the device does not advance the "
                                                             f"upload (stuck at offset {acked})")
                self.in_flight.clear()
                self.session.discard_input()
                sent_to = acked
            self.progress.report(acked)

    def _next_ack(self) -> tuple[int, bool]:
        sent, end = self.in_flight.popleft()
        timeout = self.options.first_timeout if end <= self._first_end() else None
        reply = self.session.receive(sent, timeout=timeout)
        offset = _offset(self.session, reply, len(self.data))
        if offset == end:
            return offset, False
        logger.debug("%s: device expects offset %d, not %d", self.session.port, offset, end)
        self._drain()
        return offset, True

    def _first_end(self) -> int:
        return min(len(self.data), self.message_limit)

    def _drain(self) -> None:
        # Replies to frames already on the wire name offsets the device has dropped.
        while self.in_flight:
            sent, _ = self.in_flight.popleft()
            try:
                self.session.receive(sent, timeout=1.0)
            except (DeviceNotResponding, SmpError, SmpReplyInvalid):
                pass

    def _send(self, offset: int) -> int:
        fields = self._fields(offset)
        size = self._chunk_size(fields)
        end = min(len(self.data), offset + size)
        sent = self.session.send(ImageUploadWrite, "image upload",
                                 data=self.data[offset:end], **fields)
        self.in_flight.append((sent, end))
        return end

    def _fields(self, offset: int) -> dict[str, Any]:
        if offset:
            return {"off": offset}
        # The first chunk announces the image: its length, digest and image number.
        return {"off": 0, "len": len(self.data), "sha": self.digest, "image": self.options.image,
                "upgrade": False}

    def _chunk_size(self, fields: dict[str, Any]) -> int:
        empty = len(ImageUploadWrite(data=b"", sequence=0, **fields).BYTES)
        best, best_rate = 0, 0.0
        # Every limit up to one line (93 message bytes) below the buffer: a frame that ends
        # with a full line beats a slightly longer one that starts a line for a few bytes.
        for limit in range(self.message_limit, max(empty, self.message_limit - 93), -1):
            size = self._fit(limit - empty)
            rate = size / framing.frame_cost(empty + size + _bstr_extra(size),
                                             self.session.options.line_length)
            if size > 0 and rate > best_rate:
                best, best_rate = size, rate
        if best <= 0:
            raise SmpReplyInvalid(self.session.port,
                                  f"the device's buffer ({self.message_limit} B) cannot hold "
                                  "an upload request")
        return best

    def _fit(self, room: int) -> int:
        size = room - _bstr_extra(room - 2)
        return size - size % max(1, self.options.alignment)


def _bstr_extra(size: int) -> int:
    # A CBOR byte string's length takes 1 or 2 more bytes past 23 and 255 bytes (the
    # empty request already counts the one-byte header).
    return 2 if size >= 256 else 1 if size >= 24 else 0
