"""The device side of the recovery protocol: serves a `DeviceBehaviour` on a transport.

The server plays RFC 9019's firmware consumer and status tracker client on the wire
(§2.3, §3): it takes the envelope first, has the device verify it (`begin_update`) before
asking for any payload byte, pulls the payloads the device names, and reports status. Flash
writes run on a writer thread while the next frames arrive (double buffering), so a device
whose flash keeps up with the line never makes the line idle. docs/recovery-protocol.md.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

from flasher import protocol
from flasher.errors import ProtocolError, RefusalReason, TransportError, UpdateRefused
from flasher.framing import Frame, FrameDecoder, encode_frame
from flasher.loader.contract import DeviceBehaviour
from flasher.messages import PayloadRequest
from flasher.protocol import ErrorCode, Hello, MessageType
from flasher.transport import PacedTransport, Transport
from suit.errors import WorkbenchError

_POLL: Final = 0.05
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ServerConfig:
    """Limits the device announces and how it behaves on the line.

    Attributes:
        frame_size: The largest DATA chunk the device buffers.
        window: Frames the device lets the host have in flight.
        max_envelope: The largest envelope it accepts (RAM for the manifest, §3.3).
        inactivity_timeout: Seconds without a valid frame after which it leaves the session.
        baud: If set, the device reads and writes at no more than baud/10 bytes per second.
        write_queue: DATA frames buffered ahead of the flash writer (2 = double buffering).
    """

    frame_size: int = 4096
    window: int = 16
    max_envelope: int = 8 * 1024 * 1024
    inactivity_timeout: float = 10.0
    baud: int | None = None
    write_queue: int = 4


@dataclass
class _Session:
    frame_size: int
    window: int
    envelope_size: int = -1
    envelope_digest: bytes = b""
    envelope: bytearray = field(default_factory=bytearray)
    plan: list[PayloadRequest] | None = None
    received: list[int] = field(default_factory=list)  # per payload stream, next offset
    stored: list[int] = field(default_factory=list)  # per payload stream, written to flash
    failure: UpdateRefused | None = None


class RecoveryServer:
    """Serves one device on one transport until stopped.

    Args:
        transport: The device's end of the line.
        device: The device (the virtual device, or anything with its behaviour).
        config: Limits and timing.
        reboot: Called after a REBOOT request is acknowledged; None if unsupported.
    """

    def __init__(self, transport: Transport, device: DeviceBehaviour,
                 config: ServerConfig | None = None,
                 reboot: Callable[[], None] | None = None) -> None:
        self.config = config or ServerConfig()
        self.transport: Transport = (PacedTransport(transport, self.config.baud)
                                     if self.config.baud else transport)
        self.device = device
        self._reboot = reboot
        self._session: _Session | None = None
        self._cache: tuple[int, int, bytes] | None = None  # (kind, seq, reply wire bytes)
        self._write_lock = threading.Lock()
        self._writes: queue.Queue[tuple[int, int, int, bytes] | None] = queue.Queue(
            maxsize=self.config.write_queue)
        self._last_error_sent = 0.0
        self.sessions_left = 0  # sessions closed by inactivity, for tests and logs
        self._frames_received = 0

    @property
    def frames_received(self) -> int:
        """Valid frames received so far: whether this line ever carried the protocol."""
        return self._frames_received

    def serve(self, stop: threading.Event) -> None:
        """Serve until `stop` is set or the transport fails (the line is gone)."""
        writer = threading.Thread(target=self._write_loop, daemon=True, name="flash-writer")
        writer.start()
        decoder = FrameDecoder(max_body=self.config.frame_size + protocol.DATA_HEADER_SIZE)
        last_valid = time.monotonic()
        logger.info("serving on %s", self.transport.name)
        try:
            while not stop.is_set():
                data = self.transport.read(65536, _POLL)
                for frame in decoder.feed(data):
                    last_valid = time.monotonic()
                    self._frames_received += 1
                    self._guarded_dispatch(frame)
                if self._session and time.monotonic() - last_valid > self.config.inactivity_timeout:
                    logger.info("session ended: no valid frame for %.1f s",
                                self.config.inactivity_timeout)
                    self._leave_session()
        except TransportError as exc:
            # The host side closed or the cable was pulled: nothing more to serve.
            logger.info("line closed: %s", exc)
            self._abandon_session()
        finally:
            self._writes.put(None)
            writer.join(timeout=5)

    # -- dispatch -----------------------------------------------------------------------

    def _guarded_dispatch(self, frame: Frame) -> None:
        # Defence in depth (docs/recovery-protocol.md §8): whatever one message makes go
        # wrong inside the loader is logged, answered, and the loader serves the next one.
        # Only a dead line ends serving.
        try:
            self._dispatch(frame)
        except TransportError:
            raise
        except Exception:
            logger.exception("internal error handling message type %#04x (seq %d)",
                             frame.kind, frame.seq)
            self._error_limited(frame.seq, ErrorCode.INTERNAL,
                                "internal error; the device keeps serving")

    def _dispatch(self, frame: Frame) -> None:
        if frame.kind == MessageType.DATA:
            self._on_data(frame)
            return
        logger.debug("%s (seq %d, %d bytes)", _kind_name(frame.kind), frame.seq, len(frame.body))
        if self._cache and self._cache[:2] == (frame.kind, frame.seq) \
                and frame.kind != MessageType.HELLO:
            logger.debug("repeated %s (seq %d): the cached reply again", _kind_name(frame.kind),
                         frame.seq)
            self._send(self._cache[2])  # a retry: the reply was lost, not the request
            return
        reply_kind, body = self._answer(frame)
        wire = encode_frame(reply_kind, frame.seq, body)
        self._cache = (frame.kind, frame.seq, wire)
        self._send(wire)
        if frame.kind == MessageType.REBOOT and reply_kind == MessageType.OK and self._reboot:
            logger.info("rebooting at the host's request")
            self._leave_session()
            self._reboot()

    def _answer(self, frame: Frame) -> tuple[MessageType, bytes]:
        handler = _HANDLERS.get(frame.kind)
        try:
            if handler is None:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, f"unknown message type {frame.kind}")
            if frame.kind != MessageType.HELLO and self._session is None:
                raise ProtocolError(ErrorCode.NO_SESSION, "send HELLO first")
            return handler(self, frame.body)
        except UpdateRefused as exc:
            logger.warning("update refused: %s: %s", exc.reason.name.lower(), exc.detail)
            return MessageType.REFUSED, protocol.encode_refusal(exc.reason, exc.detail)
        except ProtocolError as exc:
            logger.info("answered %s (seq %d) with error %s: %s", _kind_name(frame.kind),
                        frame.seq, exc.code.name.lower(), exc.detail)
            return MessageType.ERROR, protocol.encode_error(exc.code, exc.detail)
        except WorkbenchError as exc:
            # The device should refuse with a reason; anything else it raises on purpose
            # is still a refusal the host must see, never a dead loader.
            logger.warning("update refused: operation_failed: %s", exc)
            return MessageType.REFUSED, protocol.encode_refusal(
                RefusalReason.OPERATION_FAILED, str(exc))
        except Exception as exc:
            # A defect, not a verdict: logged with its traceback for whoever reads the
            # device's log, answered (and cached for a retry) as an ERROR the host can act on.
            logger.exception("internal error handling %s (seq %d)",
                             _kind_name(frame.kind), frame.seq)
            return MessageType.ERROR, protocol.encode_error(
                ErrorCode.INTERNAL, f"internal error: {type(exc).__name__}")

    # -- control messages ---------------------------------------------------------------

    def _hello(self, body: bytes) -> tuple[MessageType, bytes]:
        proposal = protocol.decode_hello(body)
        self._drain_writes()
        frame_size = max(16, min(proposal.frame_size, self.config.frame_size))
        window = max(1, min(proposal.window, self.config.window))
        self._session = _Session(frame_size, window)
        logger.info("HELLO on %s: protocol %d, host proposes frame %d, window %d; "
                    "agreed frame %d, window %d", self.transport.name, proposal.version,
                    proposal.frame_size, proposal.window, frame_size, window)
        agreed = Hello(protocol.PROTOCOL_VERSION, frame_size, window,
                       self.config.max_envelope, self.device.identity())
        return MessageType.HELLO_ACK, protocol.encode_hello(agreed)

    def _status(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.STATUS, body)
        self._drain_writes()
        return MessageType.STATUS_REPLY, protocol.encode_status(self.device.status())

    def _begin(self, body: bytes) -> tuple[MessageType, bytes]:
        begin = protocol.decode_begin(body)
        size, digest = begin.size, begin.sha256
        if size > self.config.max_envelope:
            # Refused before a single envelope byte travels (RFC 9019 §3: manifest first).
            raise UpdateRefused(RefusalReason.TOO_LARGE,
                                f"envelope of {size} bytes exceeds {self.config.max_envelope}")
        session = self._require()
        if (session.envelope_size, session.envelope_digest) != (size, digest):
            session.envelope_size, session.envelope_digest = size, digest
            session.envelope = bytearray()
            session.plan = None
            logger.info("update begun: envelope of %d bytes, SHA-256 %s", size, digest.hex())
        else:
            logger.info("update resumed at envelope byte %d of %d", len(session.envelope), size)
        return MessageType.READY, protocol.encode_ready(len(session.envelope))

    def _verify(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.VERIFY, body)
        session = self._require()
        if len(session.envelope) != session.envelope_size:
            raise ProtocolError(ErrorCode.BAD_STATE, "the envelope is not complete")
        if hashlib.sha256(session.envelope).digest() != session.envelope_digest:
            session.envelope = bytearray()
            raise ProtocolError(ErrorCode.BAD_STATE, "envelope SHA-256 differs from BEGIN's")
        self._drain_writes()
        plan = self.device.begin_update(bytes(session.envelope))
        session.plan, session.failure = plan, None
        logger.info("envelope verified: %d payload(s) to fetch%s", len(plan),
                    "".join(f"; {r.uri} {r.received}/{r.size} bytes" for r in plan[:8]))
        session.received = [r.received for r in plan]
        session.stored = list(session.received)
        return MessageType.PLAN, protocol.encode_plan(plan)

    def _finish(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.FINISH, body)
        session = self._require()
        self._drain_writes()
        if session.failure is not None:
            raise session.failure
        if session.plan is None:
            raise ProtocolError(ErrorCode.BAD_STATE, "FINISH before VERIFY")
        missing = [r.uri for r, s in zip(session.plan, session.stored, strict=True) if s < r.size]
        if missing:
            raise ProtocolError(ErrorCode.BAD_STATE, f"payloads incomplete: {missing}")
        result = self.device.finish_update()
        logger.info("update installed: sequence number %d, %d component(s)",
                    result.sequence_number, len(result.components))
        session.plan = None
        session.envelope, session.envelope_size = bytearray(), -1
        return MessageType.DONE, protocol.encode_result(result)

    def _report(self, body: bytes) -> tuple[MessageType, bytes]:
        nonce = protocol.decode_report_request(body)
        self._drain_writes()
        report = self.device.last_report(nonce)
        if report is not None and len(report) > protocol.MAX_REPORT:
            logger.warning("report of %d bytes exceeds %d: not sent", len(report),
                           protocol.MAX_REPORT)
            report = None
        return MessageType.REPORT_REPLY, protocol.encode_report(report)

    def _capabilities(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.CAPABILITIES, body)
        return MessageType.CAPABILITIES_REPLY, protocol.encode_capabilities(
            self.device.capabilities())

    def _abort(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.ABORT, body)
        session = self._require()
        self._drain_writes()
        self.device.abort_update()
        logger.info("update aborted by the host")
        session.plan, session.envelope, session.envelope_size = None, bytearray(), -1
        return MessageType.OK, b""

    def _reboot_request(self, body: bytes) -> tuple[MessageType, bytes]:
        protocol.check_empty(MessageType.REBOOT, body)
        if self._reboot is None:
            raise ProtocolError(ErrorCode.UNSUPPORTED, "this device cannot reboot on request")
        self._drain_writes()
        return MessageType.OK, b""

    def _require(self) -> _Session:
        if self._session is None:
            raise ProtocolError(ErrorCode.NO_SESSION, "send HELLO first")
        return self._session

    # -- data ---------------------------------------------------------------------------

    def _on_data(self, frame: Frame) -> None:
        session = self._session
        try:
            stream, offset, chunk = protocol.decode_data(frame.body)
        except ProtocolError:
            return
        if session is None:
            self._error_limited(frame.seq, ErrorCode.NO_SESSION, "send HELLO first")
        elif stream == protocol.ENVELOPE_STREAM:
            self._on_envelope_data(session, frame.seq, offset, chunk)
        elif session.plan is None or stream > len(session.plan):
            self._error_limited(frame.seq, ErrorCode.BAD_STATE, f"no stream {stream} now")
        else:
            self._on_payload_data(session, frame.seq, (stream, offset), chunk)

    def _on_envelope_data(self, session: _Session, seq: int, offset: int, chunk: bytes) -> None:
        have = len(session.envelope)
        if session.envelope_size < 0:
            self._error_limited(seq, ErrorCode.BAD_STATE, "envelope data before BEGIN")
            return
        if offset == have and have + len(chunk) <= session.envelope_size:
            session.envelope += chunk
        elif offset > have:
            self._nak(seq, 0, have)
            return
        self._send(encode_frame(MessageType.ACK, 0, protocol.encode_ack(0, len(session.envelope))))

    def _on_payload_data(self, session: _Session, seq: int, place: tuple[int, int],
                         chunk: bytes) -> None:
        stream, offset = place
        index = stream - 1
        expected = session.received[index]
        if offset > expected:
            self._nak(seq, stream, expected)
        elif offset < expected:
            # A duplicate (go-back-N overlap or a duplicated frame): re-acknowledge so a
            # host that lost the last ACK learns where the device is.
            self._send(encode_frame(MessageType.ACK, 0, protocol.encode_ack(stream, expected)))
        elif session.failure is None:
            session.received[index] = offset + len(chunk)
            self._writes.put((stream, index, offset, chunk))  # blocks when flash is behind
            # Acknowledged once the writer has taken it: the acknowledgement comes back
            # within a frame time, so a small window keeps the line full; a flash that is
            # behind delays the put above, and with it the ACK (flow control, §5.1).
            self._send(encode_frame(MessageType.ACK, 0,
                                    protocol.encode_ack(stream, session.received[index])))

    def _nak(self, seq: int, stream: int, expected: int) -> None:
        # Every out-of-order frame is answered, echoing its seq: the host tells from the seq
        # whether the gap is one it already went back for (§5.3). NAKs are 12 bytes on the
        # otherwise idle return line.
        self._send(encode_frame(MessageType.NAK, seq, protocol.encode_ack(stream, expected)))

    def _write_loop(self) -> None:
        while (item := self._writes.get()) is not None:
            try:
                self._write_one(*item)
            except TransportError:
                pass  # the line is gone; the serve loop ends on its own read error
            finally:
                self._writes.task_done()
        self._writes.task_done()

    def _write_one(self, stream: int, index: int, offset: int, chunk: bytes) -> None:
        session = self._session
        if session is None or session.plan is None or session.failure is not None:
            return
        try:
            self.device.write_payload(session.plan[index].uri, offset, chunk)
        except UpdateRefused as exc:
            self._fail(session, exc)
            return
        except WorkbenchError as exc:
            self._fail(session, UpdateRefused(RefusalReason.OPERATION_FAILED, str(exc)))
            return
        except Exception as exc:
            # The writer thread must outlive a defect, or every later DATA would block.
            logger.exception("internal error writing stream %d at %d", stream, offset)
            self._fail(session, UpdateRefused(RefusalReason.OPERATION_FAILED,
                                              f"internal error: {type(exc).__name__}"))
            return
        session.stored[index] = offset + len(chunk)

    def _fail(self, session: _Session, refusal: UpdateRefused) -> None:
        # The update is over: later DATA is dropped and FINISH answers with this refusal.
        logger.warning("update failed while writing: %s: %s", refusal.reason.name.lower(),
                       refusal.detail)
        session.failure = refusal
        self._send(encode_frame(MessageType.REFUSED, 0,
                                protocol.encode_refusal(refusal.reason, refusal.detail)))

    def _drain_writes(self) -> None:
        self._writes.join()

    # -- output -------------------------------------------------------------------------

    def _error_limited(self, seq: int, code: ErrorCode, detail: str) -> None:
        # One ERROR per 200 ms: a window of DATA after a reset must not flood the line.
        now = time.monotonic()
        if now - self._last_error_sent > 0.2:
            self._last_error_sent = now
            logger.info("answered DATA (seq %d) with error %s: %s", seq, code.name.lower(), detail)
            self._send(encode_frame(MessageType.ERROR, seq, protocol.encode_error(code, detail)))

    def _send(self, wire: bytes) -> None:
        with self._write_lock:
            self.transport.write(wire)

    def _abandon_session(self) -> None:
        # The line went away mid-session (cable pulled, USB gadget unbound): as after a
        # silent host, buffered writes finish and the update stays resumable; the host
        # that comes back starts with HELLO on a new line.
        if self._session is None:
            return
        logger.info("session abandoned with the line; an update in progress stays resumable")
        self._drain_writes()
        self._session, self._cache = None, None

    def _leave_session(self) -> None:
        # Leaving is clean: buffered writes finish, the update in progress stays resumable
        # (begin_update of the same envelope reports what is stored), nothing is aborted.
        self._drain_writes()
        self._session, self._cache = None, None
        self.sessions_left += 1


def _kind_name(kind: int) -> str:
    try:
        return MessageType(kind).name
    except ValueError:  # an unknown type is the peer's mistake, reported by number
        return f"message type {kind:#04x}"


_HANDLERS: Final[dict[int, Callable[[RecoveryServer, bytes], tuple[MessageType, bytes]]]] = {
    MessageType.HELLO: RecoveryServer._hello,
    MessageType.STATUS: RecoveryServer._status,
    MessageType.BEGIN: RecoveryServer._begin,
    MessageType.VERIFY: RecoveryServer._verify,
    MessageType.FINISH: RecoveryServer._finish,
    MessageType.ABORT: RecoveryServer._abort,
    MessageType.REBOOT: RecoveryServer._reboot_request,
    MessageType.REPORT: RecoveryServer._report,
    MessageType.CAPABILITIES: RecoveryServer._capabilities,
}
