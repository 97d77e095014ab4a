"""Flashing use cases shared by the CLI and the GUI: load a bundle, flash a gang of ports
with factory records, read a device's status, serve a virtual device.

Everything here returns data; `workbench/cli/device_cmds.py` and the GUI present it.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
import socket
import stat
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import platformdirs

from flasher.detect import DEFAULT_DETECT_TIMEOUT, SMP, detect
from flasher.errors import (
    BundleError,
    FlasherError,
    NoSuchPort,
    OperationCancelled,
    RecordsError,
    TransportError,
)
from flasher.gang import GangFlash
from flasher.loader.contract import DeviceStatus
from flasher.loader.device import DEFAULT_BATTERY_MWH, DeviceConfig, VirtualDevice
from flasher.loader.flash import KillSwitch
from flasher.loader.serve import PseudoTerminal, serve_port, serve_transport
from flasher.loader.server import ServerConfig
from flasher.operations import Bundle, FlashOptions, FlashOutcome, ProgressCallback, flash
from flasher.records import AttemptRecord, RecordsStore, open_records
from flasher.records_spool import SpooledRecords, SyncResult
from flasher.reports import DeviceReport
from flasher.smp import operations as smp_ops
from flasher.smp.operations import DeviceInfo
from flasher.smp.session import SessionOptions, SmpSession
from flasher.smp.update import SmpDetails
from storage.dsn import is_dsn, redact_dsn
from suit.keys import TrustAnchor
from suit.verify import VerificationPolicy
from workbench.device_keys import decryption_keys
from workbench.files import read_bytes
from workbench.smp_flash import SmpFlashSettings, flash_smp

logger = logging.getLogger(__name__)

DATA_DIR_ENV: Final = "SUITWB_DATA_DIR"
RECORDS_FILE: Final = "factory-records.sqlite"
#: A DSN or file for the factory records when --records and the settings name none.
RECORDS_ENV: Final = "SUITWB_RECORDS"
SPOOL_DIR: Final = "records-spool"
MAX_BUNDLE: Final = 64 * 1024 * 1024
#: The vendor and class ids of the SUIT manifest examples (M37 App. B), the defaults of
#: `suitwb device serve` so the published example bundles address the virtual device.
EXAMPLE_VENDOR_ID: Final = uuid.UUID("fa6b4a53-d5ad-5fdf-be9d-e663e4d41ffe")
EXAMPLE_CLASS_ID: Final = uuid.UUID("1492af14-2569-5e48-bf42-9b2d51f2ab45")


def data_dir() -> Path:
    """``$SUITWB_DATA_DIR`` if set, else the platform's user data directory."""
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV])
    return Path(platformdirs.user_data_dir("suit-workbench", appauthor=False))


def records_path() -> Path:
    """Where the single station's factory records database lives by default."""
    return data_dir() / RECORDS_FILE


def records_store(target: str | Path | None = None) -> SpooledRecords:
    """The factory records `target` names (a ``postgresql://`` DSN or a file), else
    ``$SUITWB_RECORDS``, else the data directory's SQLite file, with the station's spool
    in front of it: an attempt whose write fails for any reason (a server away, a file
    locked past its deadline, a full disk) is kept and delivered later (issue 18)."""
    chosen = target or os.environ.get(RECORDS_ENV) or records_path()
    where = chosen if isinstance(chosen, str) and is_dsn(chosen) else Path(chosen)
    return SpooledRecords(open_records(where), spool_dir(where))


def spool_dir(target: str | Path) -> Path:
    """The station's spool for one records target (a DSN, told apart by its text without
    the password, or a file by its absolute path): a spooled attempt waits for the
    database it was meant for and is never delivered to another one."""
    key = redact_dsn(target) if isinstance(target, str) else str(Path(target).absolute())
    return data_dir() / SPOOL_DIR / hashlib.sha256(key.encode("utf-8")).hexdigest()[:16]


def sync_records(target: str | Path | None = None) -> SyncResult:
    """Deliver the station's spooled attempts to its records now.

    Raises:
        RecordsError: they still cannot be written (they stay spooled).
    """
    return records_store(target).sync()


@dataclass(frozen=True)
class Station:
    """Who flashes where: recorded with every attempt."""

    operator: str
    station: str

    @classmethod
    def current(cls, operator: str | None = None, station: str | None = None) -> Station:
        """The OS user and host name unless given."""
        return cls(operator or _os_user(), station or socket.gethostname())


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def load_bundle(path: Path, payloads: Sequence[tuple[str, Path]] = ()) -> Bundle:
    """The signed envelope at `path` and the payload files served for fetch URIs.

    Args:
        path: The envelope file.
        payloads: (URI, file) pairs for payloads the manifest fetches from elsewhere.
    """
    envelope = read_bytes(path, limit=MAX_BUNDLE)
    served = {uri: read_bytes(file, limit=MAX_BUNDLE) for uri, file in payloads}
    if not envelope:
        raise BundleError(str(path), "the file is empty")
    return Bundle.from_bytes(envelope, served, name=str(path))


@dataclass(frozen=True)
class ProtocolChoice:
    """How a port's protocol is chosen, and how SMP ports are flashed.

    Attributes:
        forced: ``suitwb`` or ``smp`` for every port; None detects each port's protocol
            (`flasher.detect`: HELLO, then SMP, within `detect_timeout` seconds).
        detect_timeout: The bound on detection, per port.
        smp: Device profile, host checks and timeouts for SMP ports.
    """

    forced: str | None = None
    detect_timeout: float = DEFAULT_DETECT_TIMEOUT
    smp: SmpFlashSettings = field(default_factory=SmpFlashSettings)


@dataclass
class FlashJob:
    """Flash one bundle to several ports and record every attempt.

    Attributes:
        bundle: What to send.
        ports: Where.
        station: Who and where, for the records.
        records: The records database, None to keep no records.
        options: Timeouts and sizes.
        protocols: Which protocol each port speaks, and the SMP ports' settings.
    """

    bundle: Bundle
    ports: Sequence[str]
    station: Station
    records: RecordsStore | None
    options: FlashOptions = field(default_factory=FlashOptions)
    protocols: ProtocolChoice = field(default_factory=lambda: ProtocolChoice())

    def __post_init__(self) -> None:
        self._gang = GangFlash(self.ports, self.bundle, self.options, runner=self._flash_port)

    @property
    def cancel(self) -> threading.Event:
        """Set it to cancel every port (each ends with result ``cancelled``)."""
        return self._gang.cancel

    def run(self, on_progress: ProgressCallback | None = None) -> list[FlashOutcome]:
        """Flash all ports in parallel; each attempt is recorded as it ends."""
        logger.info("flashing sequence number %s (%d bytes) to %s",
                    self.bundle.sequence_number, len(self.bundle.envelope), ", ".join(self.ports))
        return self._gang.run(on_progress, self._record)

    def _flash_port(self, port: str, on_progress: ProgressCallback | None,
                    cancel: threading.Event) -> FlashOutcome:
        started, began = time.time(), time.monotonic()
        try:
            protocol = self.protocols.forced or self._detect(port, cancel)
        except OperationCancelled:
            return FlashOutcome(port, "cancelled", 0, time.monotonic() - began, "cancelled",
                                started=started, protocol="unknown")
        except FlasherError as exc:  # nothing answered, or the port cannot be opened
            return FlashOutcome(port, "failed", 0, time.monotonic() - began,
                                f"{exc} ({exc.hint})" if exc.hint else str(exc),
                                started=started, protocol="unknown")
        logger.info("%s: %s", port, f"protocol {protocol}" + (
            "" if self.protocols.forced else " (detected)"))
        if protocol == SMP:
            return flash_smp(port, self.bundle, self.protocols.smp, on_progress=on_progress,
                             cancel=cancel)
        return flash(port, self.bundle, options=self.options, on_progress=on_progress,
                     cancel=cancel)

    def _detect(self, port: str, cancel: threading.Event) -> str:
        # A port that cannot be opened right now (another program, or this station's
        # status read, holds it) is tried again as the recovery protocol's flash would
        # reopen it; a port that answers nothing is not.
        for _ in range(self.options.reconnects):
            try:
                return self._detect_once(port)
            except NoSuchPort:
                raise  # nothing to wait for: said at once (issue 17)
            except TransportError as exc:
                logger.info("%s: %s; trying again", port, exc)
                if cancel.wait(self.options.reconnect_delay):
                    raise OperationCancelled("cancelled") from None
        return self._detect_once(port)

    def _detect_once(self, port: str) -> str:
        return detect(port, timeout=self.protocols.detect_timeout,
                      baudrate=self.options.baudrate).protocol

    def _record(self, outcome: FlashOutcome) -> None:
        level = logging.INFO if outcome.result == "ok" else logging.WARNING
        logger.log(level, "%s: %s after %.1f s%s", outcome.port, outcome.result, outcome.seconds,
                   f": {outcome.reason}" if outcome.reason else "")
        if self.records is None:
            return
        try:
            self.records.append(attempt_record(outcome, self.bundle, self.station))
        except RecordsError as exc:
            # Called on a gang thread: the attempt's outcome stands and is still shown; a
            # record that could be neither written nor spooled is said once, in one line.
            logger.error("%s: the attempt's record was not kept: %s%s", outcome.port, exc,
                         f" ({exc.hint})" if exc.hint else "")


def attempt_record(outcome: FlashOutcome, bundle: Bundle, station: Station) -> AttemptRecord:
    """The factory record of one outcome."""
    number = outcome.update.sequence_number if outcome.update else bundle.sequence_number
    smp = outcome.smp
    return AttemptRecord(
        started=outcome.started, seconds=round(outcome.seconds, 3), port=outcome.port,
        device_id=outcome.identity.device_id.hex() if outcome.identity else None,
        bundle=bundle.name, bundle_digest=bundle.digest.hex(), sequence_number=number,
        result=outcome.result, reason=outcome.reason, bytes=outcome.bytes,
        sessions=outcome.sessions, operator=station.operator, station=station.station,
        protocol=outcome.protocol,
        device_kind=smp.device_kind if smp else None,
        host_checks=smp.host_checks if smp else None,
        image_version=smp.image_version if smp else None,
        image_hash=smp.image_hash.hex() if smp and smp.image_hash else None,
        image_match=smp.image_match if smp else None,
        running_version=smp.running_version if smp else None,
        **_report_columns(outcome))


def _report_columns(outcome: FlashOutcome) -> dict[str, Any]:
    report = outcome.report
    if report is None:
        return {}
    return {"report": report.raw, "report_verified": report.verified,
            "report_result": None if report.result is None
            else json.dumps(report.result, sort_keys=True)}


def device_public_key(path: Path | None) -> TrustAnchor | None:
    """The pinned key device reports must verify with (`suitwb flash --device-key`)."""
    if path is None:
        return None
    return TrustAnchor.from_pem(read_bytes(path, limit=1 << 16, regular_only=True), str(path))


def report_summary(report: DeviceReport | None) -> str:
    """The SUIT report's part of a flash line ("" when the device sent none)."""
    if report is None:
        return ""
    proof = {True: "verified", False: "DOES NOT VERIFY", None: "unverified"}[report.verified]
    if report.result is None:
        return f"; SUIT report {proof}: {report.problem}"
    outcome = "success" if report.result["success"] else report.result["reason"]
    return f"; SUIT report {proof}: {outcome}"


def outcome_json(outcome: FlashOutcome) -> dict[str, Any]:
    """The JSON object `suitwb flash --json` prints for one port."""
    return {"port": outcome.port, "result": outcome.result, "bytes": outcome.bytes,
            "seconds": round(outcome.seconds, 3), "reason": outcome.reason,
            "refusal": outcome.refusal.name.lower() if outcome.refusal is not None else None,
            "device_id": outcome.identity.device_id.hex() if outcome.identity else None,
            "sequence_number": outcome.update.sequence_number if outcome.update else None,
            "sessions": outcome.sessions, "protocol": outcome.protocol,
            "smp": None if outcome.smp is None else smp_json(outcome.smp),
            "report": None if outcome.report is None else {
                "verified": outcome.report.verified, "problem": outcome.report.problem,
                "result": outcome.report.result}}


def smp_json(details: SmpDetails) -> dict[str, Any]:
    """The ``smp`` member of an SMP port's JSON outcome."""
    return {"mode": details.mode, "device_kind": details.device_kind,
            "host_checks": details.host_checks, "image_version": details.image_version,
            "image_hash": details.image_hash.hex() if details.image_hash else None,
            "image_match": details.image_match, "running_version": details.running_version}


def status_json(status: DeviceStatus) -> dict[str, Any]:
    """The JSON object `suitwb device status --json` prints."""
    identity, last = status.identity, status.last_result
    return {
        "vendor_id": _uuid_text(identity.vendor_id), "class_id": _uuid_text(identity.class_id),
        "device_id": identity.device_id.hex(),
        "components": [{"id": [part.hex() for part in c.component_id],
                        "sequence_number": c.sequence_number,
                        "digest": c.digest.hex() if c.digest is not None else None,
                        "size": c.size, "active_slot": c.active_slot,
                        # a file component's path under the loader's root (control
                        # characters escaped), and its permission bits as on the wire
                        # (an int; 0o755 is 493)
                        "path": _printable(c.path), "mode": c.mode}
                       for c in status.components],
        "slots": dict(status.slots),
        "last_result": None if last is None else {
            "result": last.result.name.lower(), "detail": last.detail,
            "sequence_number": last.sequence_number,
            "manifest_digest": last.manifest_digest.hex() if last.manifest_digest else None,
            "time": last.time},
    }


def smp_status(port: str, baud: int) -> DeviceInfo:
    """What the SMP device on `port` says about itself (``device status --protocol smp``)."""
    with SmpSession.open(port, SessionOptions(baudrate=baud)) as session:
        smp_ops.wait_ready(session)
        return smp_ops.identify(session)


def smp_info_json(info: DeviceInfo) -> dict[str, Any]:
    """The JSON object `suitwb device status --json` prints for an SMP device."""
    return {"protocol": SMP, "port": info.port, "mode": info.mode,
            "os_info": _printable(info.os_info), "bootloader": _printable(info.bootloader),
            "image_management": info.has_image_group,
            "params": None if info.params is None else {
                "buf_size": info.params.buf_size, "buf_count": info.params.buf_count},
            "images": [{"image": s.image, "slot": s.slot, "version": _printable(s.version),
                        "hash": s.hash.hex() if s.hash else None, "active": s.active,
                        "confirmed": s.confirmed, "pending": s.pending,
                        "permanent": s.permanent, "bootable": s.bootable}
                       for s in info.images]}


def mode_text(mode: int) -> str:
    """A file's permission bits as ``ls -l`` shows them: 0o755 -> ``-rwxr-xr-x``.

    Only the permission bits (with setuid, setgid and sticky) are a device's to report;
    whatever else a device sends in `mode` is not shown as a file type.
    """
    return stat.filemode(stat.S_IFREG | (mode & 0o7777))


def _printable(text: str | None) -> str | None:
    """A device's text with control characters escaped: it is shown on a terminal and in
    the GUI, and an escape sequence or a newline from a device must not forge output."""
    if text is None:
        return None
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def probe_protocol(port: str, timeout: float) -> str | None:
    """``suitwb``, ``smp`` or None (no answer, or the port cannot be opened)."""
    try:
        return detect(port, timeout=timeout).protocol
    except FlasherError as exc:
        logger.info("%s: %s", port, exc)
        return None


def _uuid_text(raw: bytes) -> str:
    return str(uuid.UUID(bytes=raw)) if len(raw) == 16 else raw.hex()


@dataclass(frozen=True)
class VirtualDeviceSpec:
    """What `suitwb device serve` builds.

    Attributes:
        state_dir: Flash contents, sequence numbers and trust anchors persist here.
        profile: The flash profile name.
        trust_anchors: PEM public key files the device trusts (added to its store).
        vendor_id: The SUIT vendor id it answers to.
        class_id: The SUIT class id it answers to.
        baud: Pace the line (and the flash, in real time) like a UART at this rate.
        flash_size: Bytes of flash instead of the profile's own (same sectors and timings).
        battery_mwh: The simulated battery's charge (None: no gauge).
        device_key: PEM private key file the device signs its SUIT reports with.
        device_id: The device's UUID (None: chosen at the first start, kept in the state).
        root: Install file components (``['fs', ...]`` ids) under this folder (a Linux-class
            device, docs/linux-device.md).
        root_layout: ``direct`` or ``ab`` (release trees switched by a symlink).
        authorized_priority: Updates with update-priority at most this are authorised.
        kill_at_step: Test hook: SIGKILL the loader at this write step (power-cut tests).
        signature_policy: ``all``: every trust anchor must verify an envelope it installs.
        decryption_keys: Key files or PKCS#11 URIs the device decrypts payloads with.
    """

    state_dir: Path
    profile: str
    trust_anchors: Sequence[Path] = ()
    vendor_id: uuid.UUID = EXAMPLE_VENDOR_ID
    class_id: uuid.UUID = EXAMPLE_CLASS_ID
    baud: int | None = None
    flash_size: int | None = None
    battery_mwh: int | None = DEFAULT_BATTERY_MWH
    device_key: Path | None = None
    device_id: uuid.UUID | None = None
    root: Path | None = None
    root_layout: str = "direct"
    authorized_priority: int | None = None
    kill_at_step: int | None = None
    signature_policy: VerificationPolicy = VerificationPolicy.ANY
    decryption_keys: Sequence[str] = ()


def open_virtual_device(spec: VirtualDeviceSpec) -> VirtualDevice:
    """The virtual device of `spec`, its state loaded from (or provisioned in) `state_dir`."""
    anchors = [read_bytes(path, limit=1 << 16, regular_only=True) for path in spec.trust_anchors]
    logger.info("virtual device: profile %s, state in %s, %d trust anchor(s)", spec.profile,
                spec.state_dir, len(anchors))
    # With a paced line the flash works in real time too, so the line and the flash
    # compete as on a real device; unpaced (tests) both are as fast as the machine.
    power = None if spec.kill_at_step is None else KillSwitch(spec.kill_at_step)
    return VirtualDevice(DeviceConfig(
        state_dir=spec.state_dir, vendor_id=spec.vendor_id.bytes, class_id=spec.class_id.bytes,
        profile=spec.profile, flash_size=spec.flash_size, battery_mwh=spec.battery_mwh,
        trust_anchors=anchors,
        device_id=None if spec.device_id is None else spec.device_id.bytes,
        realtime=spec.baud is not None, signature_policy=spec.signature_policy,
        device_key=None if spec.device_key is None
        else read_bytes(spec.device_key, limit=1 << 16, regular_only=True),
        root=spec.root, root_layout=spec.root_layout,
        authorized_priority=spec.authorized_priority,
        decryption_keys=decryption_keys(spec.decryption_keys)), power=power)


def server_config(device: VirtualDevice, baud: int | None) -> ServerConfig:
    """The server limits for `device` (its envelope limit) at `baud`."""
    return ServerConfig(max_envelope=device.config.max_envelope_size, baud=baud)


def serve_on_pty(device: VirtualDevice, pty: PseudoTerminal, baud: int | None,
                 stop: threading.Event) -> None:
    """Serve `device` on the pseudo-terminal until `stop` is set."""
    serve_transport(pty.transport, device, server_config(device, baud), stop,
                    reboot=lambda: _reboot(device))


def serve_on_port(device: VirtualDevice, url: str, baud: int | None,
                  stop: threading.Event) -> None:
    """Serve `device` on an existing port until `stop` is set (reopened if it drops)."""
    serve_port(url, device, server_config(device, baud), stop, reboot=lambda: _reboot(device))


def _reboot(device: VirtualDevice) -> None:
    device.reboot()
