"""Operations on one device: flash a bundle, read its status, reboot it.

Each opens its own session over a fresh transport. `flash` survives a disconnect or a
device reset mid-transfer: it reopens the port, says HELLO again and resumes from what
the device reports as stored (docs/recovery-protocol.md §6). Progress is reported through
a callback with typed `Progress`; a `threading.Event` cancels.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from flasher import protocol
from flasher.errors import (
    BundleError,
    DeviceNotResponding,
    FlasherError,
    NoSuchPort,
    OperationCancelled,
    ProtocolError,
    RefusalReason,
    TransportError,
    UpdateRefused,
)
from flasher.messages import DeviceIdentity, DeviceStatus, PayloadRequest, UpdateResult
from flasher.protocol import MessageType
from flasher.reports import DeviceReport, fetch_capabilities, fetch_report
from flasher.session import RecoverySession, SessionConfig
from flasher.smp.update import SmpDetails
from flasher.transport import DEFAULT_BAUD, SerialTransport, Transport
from suit.codec import decode_envelope
from suit.errors import ManifestError
from suit.keys import TrustAnchor
from suit.report_capabilities import CapabilityReport

logger = logging.getLogger(__name__)

Opener = Callable[[], Transport]


class Stage(str, Enum):
    """Where a flash operation is."""

    CONNECTING = "connecting"
    MANIFEST = "manifest"
    PAYLOAD = "payload"
    INSTALLING = "installing"
    RECONNECTING = "reconnecting"
    DONE = "done"


@dataclass(frozen=True)
class Progress:
    """One progress report.

    Attributes:
        port: The port the operation runs on.
        stage: Where it is.
        bytes_done: Bytes the device has acknowledged so far (envelope and payloads).
        bytes_total: Bytes to send in all (grows once the device's plan is known).
        rate: Bytes per second acknowledged since the transfer began.
        eta: Seconds left at that rate, None while unknown.
    """

    port: str
    stage: Stage
    bytes_done: int
    bytes_total: int
    rate: float
    eta: float | None


ProgressCallback = Callable[[Progress], None]


@dataclass(frozen=True)
class Bundle:
    """A signed envelope and the payloads the host serves as the device's firmware server.

    Attributes:
        envelope: The envelope bytes, sent as they are (integrated payloads included).
        payloads: URI -> bytes for payloads fetched from the host; integrated payloads are
            offered too, for a device that asks for them by their ``#name``.
        name: Where it came from, for messages and records.
        sequence_number: The manifest's sequence number, None if the host cannot read it.
    """

    envelope: bytes
    payloads: dict[str, bytes] = field(default_factory=dict)
    name: str = "<bundle>"
    sequence_number: int | None = None

    @classmethod
    def from_bytes(cls, envelope: bytes, payloads: dict[str, bytes] | None = None,
                   name: str = "<bundle>") -> Bundle:
        """A bundle whose integrated payloads and sequence number are read if readable.

        An envelope the host cannot decode is still sent: refusing it is the device's job
        (and the wire-attack tests depend on the device seeing it).
        """
        served = dict(payloads or {})
        sequence = None
        try:
            decoded = decode_envelope(envelope)
        except ManifestError:
            decoded = None
        if decoded is not None:
            sequence = decoded.manifest.sequence_number
            for uri, data in decoded.integrated.items():
                served.setdefault(uri, data)
        return cls(envelope, served, name, sequence)

    @property
    def digest(self) -> bytes:
        """SHA-256 of the envelope bytes (the records' bundle digest)."""
        return hashlib.sha256(self.envelope).digest()


@dataclass(frozen=True)
class FlashOptions:
    """How patient a flash is.

    Attributes:
        session: Frame size, window and timeouts of each session.
        reconnects: Sessions reopened after a lost line or a device reset before giving up.
        reconnect_delay: Seconds to wait before reopening the port.
        baudrate: The baud rate set on real ports.
        write_timeout: Seconds a write may block on a line that does not drain.
        want_report: Ask the device for its SUIT report when the attempt ends (REPORT).
        device_key: The device's public key the report must verify with (None: the
            report is stored unverified).
    """

    session: SessionConfig = field(default_factory=SessionConfig)
    reconnects: int = 5
    reconnect_delay: float = 0.5
    baudrate: int = DEFAULT_BAUD
    write_timeout: float = 10.0
    want_report: bool = True
    device_key: TrustAnchor | None = None


@dataclass(frozen=True)
class FlashOutcome:
    """The result of flashing one device.

    Attributes:
        port: The port.
        result: ``ok``, ``refused``, ``failed`` or ``cancelled``.
        bytes: Bytes the device acknowledged (envelope and payloads, every attempt).
        seconds: Wall time of the whole operation.
        reason: Why it did not succeed (the device's reason, or the error), None if ok.
        refusal: The device's refusal code when refused.
        identity: The device's identity, once known.
        update: The device's report of the installed update when ok.
        sessions: Sessions used (more than one after a disconnect or a reset).
        started: When it began (seconds since the epoch).
        protocol: ``suitwb`` (the recovery protocol) or ``smp`` (an MCUboot device).
        smp: What an SMP flash checked and found, None for the recovery protocol.
        report: The device's SUIT report of the attempt (ok or refused), None if it sent
            none.
    """

    port: str
    result: str
    bytes: int
    seconds: float
    reason: str | None = None
    refusal: RefusalReason | None = None
    identity: DeviceIdentity | None = None
    update: UpdateResult | None = None
    sessions: int = 1
    started: float = 0.0
    protocol: str = "suitwb"
    smp: SmpDetails | None = None
    report: DeviceReport | None = None


class _Tracker:
    """Turns acknowledged offsets into Progress reports."""

    def __init__(self, port: str, callback: ProgressCallback | None, total: int) -> None:
        self.port, self.callback, self.total = port, callback, total
        self.done = 0  # bytes of finished streams and earlier sessions
        self.current = 0  # bytes acknowledged in the stream being sent
        self.stage = Stage.CONNECTING
        self.began = time.monotonic()
        self.identity: DeviceIdentity | None = None
        self.device_report: DeviceReport | None = None

    def report(self, stage: Stage | None = None) -> None:
        self.stage = stage or self.stage
        if self.callback is None:
            return
        done = self.done + self.current
        elapsed = max(time.monotonic() - self.began, 1e-6)
        rate = done / elapsed
        eta = (self.total - done) / rate if rate > 0 else None
        self.callback(Progress(self.port, self.stage, done, self.total, rate, eta))

    def stream(self, start: int) -> Callable[[int], None]:
        """A session progress callback for a stream resumed at `start`."""
        def on_ack(offset: int) -> None:
            self.current = offset - start
            self.report()
        return on_ack

    def close_stream(self) -> None:
        self.done, self.current = self.done + self.current, 0


def _transfer(session: RecoverySession, bundle: Bundle, tracker: _Tracker,
              cancel: threading.Event | None) -> UpdateResult:
    """One session's worth of the update: envelope, verification, payloads, install."""
    tracker.report(Stage.MANIFEST)
    ready = session.request(MessageType.BEGIN, protocol.encode_begin(
        protocol.Begin(len(bundle.envelope), bundle.digest)), expect=MessageType.READY)
    have = protocol.decode_ready(ready.body)
    if have > len(bundle.envelope):
        raise ProtocolError(protocol.ErrorCode.BAD_MESSAGE,
                            f"READY.have: {have} exceeds the envelope's {len(bundle.envelope)}")
    session.send_stream(protocol.ENVELOPE_STREAM, bundle.envelope, have,
                        tracker.stream(have), cancel)
    tracker.close_stream()
    # Manifest first (RFC 9019 §3): the device checks everything before asking for payloads.
    plan = protocol.decode_plan(session.request(
        MessageType.VERIFY, b"", expect=MessageType.PLAN).body)
    tracker.total = tracker.done + sum(r.size - r.received for r in plan)
    tracker.report(Stage.PAYLOAD)
    for stream, request in enumerate(plan, start=1):
        data = _payload_for(bundle, request)
        session.send_stream(stream, data, request.received, tracker.stream(request.received),
                            cancel)
        tracker.close_stream()
    tracker.report(Stage.INSTALLING)
    done = session.request(MessageType.FINISH, b"", expect=MessageType.DONE,
                           patience=session.config.finish_timeout)
    return protocol.decode_result(done.body)


def _payload_for(bundle: Bundle, request: PayloadRequest) -> bytes:
    data = bundle.payloads.get(request.uri)
    if data is None:
        raise BundleError(bundle.name, f"the device asks for payload {request.uri!r}, "
                                       "which the bundle does not carry")
    if len(data) != request.size:
        raise BundleError(bundle.name, f"payload {request.uri!r} has {len(data)} bytes, "
                                       f"the manifest says {request.size}")
    return data


def _opener(port: str, options: FlashOptions, opener: Opener | None) -> Opener:
    return opener or (lambda: SerialTransport.open(port, options.baudrate,
                                                   options.write_timeout))


def flash(port: str, bundle: Bundle, *, options: FlashOptions | None = None,
          on_progress: ProgressCallback | None = None, cancel: threading.Event | None = None,
          opener: Opener | None = None) -> FlashOutcome:
    """Flash `bundle` to the device on `port`; never raises for a device-side failure.

    A lost line, a silent device or a device reset (NO_SESSION) reopens the session and
    resumes; a refusal, a bundle problem or a cancel ends the operation. The outcome says
    which. Programming errors still raise.
    """
    options = options or FlashOptions()
    tracker = _Tracker(port, on_progress, len(bundle.envelope))
    outcome = _Outcome(port, time.time(), time.monotonic())
    for attempt in range(options.reconnects + 1):
        outcome.sessions = attempt + 1
        try:
            return outcome.ok(*_one_session(port, bundle, options, tracker, cancel, opener),
                              tracker)
        except UpdateRefused as exc:
            return outcome.end("refused", str(exc.detail), tracker, refusal=exc.reason)
        except OperationCancelled:
            return outcome.end("cancelled", "cancelled", tracker)
        except BundleError as exc:
            return outcome.end("failed", str(exc), tracker)
        except (TransportError, DeviceNotResponding, ProtocolError) as exc:
            if attempt == 0 and _never_there(exc, tracker):
                # Nothing to wait for: reopening is for a line lost or a device reset after
                # it answered, not a port that is missing or silent from the start (issue 17).
                return outcome.end("failed", f"{exc} ({exc.hint})", tracker)
            logger.info("%s: session %d lost (%s); reconnecting", port, attempt + 1, exc)
            outcome.last_error = str(exc)
            tracker.current = 0
            tracker.report(Stage.RECONNECTING)
            if cancel is not None and cancel.wait(options.reconnect_delay):
                return outcome.end("cancelled", "cancelled", tracker)
            if cancel is None:
                time.sleep(options.reconnect_delay)
    return outcome.end("failed", outcome.last_error, tracker)


def _never_there(exc: FlasherError, tracker: _Tracker) -> bool:
    """A port that does not exist, or a device that never answered HELLO (its wait was
    already bounded by the session's retries)."""
    return isinstance(exc, NoSuchPort) or (
        isinstance(exc, DeviceNotResponding) and tracker.identity is None)


def _one_session(port: str, bundle: Bundle, options: FlashOptions, tracker: _Tracker,
                 cancel: threading.Event | None,
                 opener: Opener | None) -> tuple[DeviceIdentity, UpdateResult]:
    tracker.report(Stage.CONNECTING)
    with RecoverySession(_opener(port, options, opener)(), options.session) as session:
        agreed = session.hello()
        identity = agreed.identity or DeviceIdentity(b"", b"", b"")  # hello() checked it
        tracker.identity = identity
        try:
            result = _transfer(session, bundle, tracker, cancel)
        except (OperationCancelled, BundleError):
            _abort_quietly(session)
            raise
        except UpdateRefused:
            _ask_report(session, options, tracker)  # a refusal has its report too
            raise
        _ask_report(session, options, tracker)
        return identity, result


def _ask_report(session: RecoverySession, options: FlashOptions, tracker: _Tracker) -> None:
    if options.want_report:
        tracker.device_report = fetch_report(session, options.device_key)


def _abort_quietly(session: RecoverySession) -> None:
    # Tell the device to drop the candidate; if the line is gone, its inactivity timeout
    # ends the session anyway and the active slot was never touched.
    try:
        session.request(MessageType.ABORT, b"", expect=MessageType.OK)
    except FlasherError:
        pass


@dataclass
class _Outcome:
    port: str
    started: float
    began: float
    sessions: int = 1
    last_error: str = "no attempt made"

    def ok(self, identity: DeviceIdentity, update: UpdateResult, tracker: _Tracker) -> FlashOutcome:
        tracker.report(Stage.DONE)
        tracker.identity = identity
        return self.end("ok", None, tracker, update=update)

    def end(self, result: str, reason: str | None, tracker: _Tracker, *,
            refusal: RefusalReason | None = None,
            update: UpdateResult | None = None) -> FlashOutcome:
        return FlashOutcome(self.port, result, tracker.done + tracker.current,
                            time.monotonic() - self.began, reason, refusal, tracker.identity,
                            update, self.sessions, self.started,
                            report=tracker.device_report)


def read_status(port: str, *, options: FlashOptions | None = None,
                opener: Opener | None = None) -> DeviceStatus:
    """The device's status report: identity, components, slots, last update's result."""
    options = options or FlashOptions()
    with RecoverySession(_opener(port, options, opener)(), options.session) as session:
        session.hello()
        reply = session.request(MessageType.STATUS, b"", expect=MessageType.STATUS_REPLY)
        return protocol.decode_status(reply.body)


def read_capabilities(port: str, *, options: FlashOptions | None = None,
                      opener: Opener | None = None) -> CapabilityReport:
    """What the device can process: its SUIT_Capability_Report (report draft §6)."""
    options = options or FlashOptions()
    with RecoverySession(_opener(port, options, opener)(), options.session) as session:
        session.hello()
        return fetch_capabilities(session)


def reboot(port: str, *, options: FlashOptions | None = None,
           opener: Opener | None = None) -> None:
    """Ask the device to leave the loader and boot (its bootloader picks the image)."""
    options = options or FlashOptions()
    with RecoverySession(_opener(port, options, opener)(), options.session) as session:
        session.hello()
        session.request(MessageType.REBOOT, b"", expect=MessageType.OK)
