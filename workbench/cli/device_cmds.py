"""`suitwb flash`, `suitwb device serve|status|capabilities|reboot`, `suitwb ports`,
`suitwb records`.

The commands talk to the person; the work is in `workbench.flashing` and `flasher`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, TextIO

from flasher import operations
from flasher.detect import DEFAULT_DETECT_TIMEOUT, PROTOCOLS, SMP, status_or_smp_info
from flasher.errors import FlasherError
from flasher.loader.device import DEFAULT_BATTERY_MWH, ROOT_LAYOUTS
from flasher.loader.profiles import DEFAULT_PROFILE, PROFILES
from flasher.loader.serve import PseudoTerminal
from flasher.operations import FlashOptions, FlashOutcome, Progress
from flasher.ports import list_serial_ports
from flasher.records import export_csv
from flasher.smp.operations import DeviceInfo
from flasher.smp.session import SessionOptions
from flasher.smp.update import SmpDetails
from flasher.transport import DEFAULT_BAUD
from storage.dsn import is_dsn
from suit.verify import VerificationPolicy
from workbench import flashing
from workbench.cli import logs
from workbench.cli.capability_cmds import register_capabilities
from workbench.device_profile import load_profile
from workbench.files import write_atomic
from workbench.loader_config import LoaderConfigError, LoaderSettings, load_loader_config
from workbench.smp_flash import SmpFlashSettings

KILL_AT_STEP_ENV = "SUITWB_LOADER_KILL_AT_STEP"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `flash`, `device`, `ports` and `records`."""
    _register_flash(sub)
    device = sub.add_parser("device", help="a device's status or capabilities, or serve a virtual device")
    device_sub = device.add_subparsers(dest="device_command", required=True, metavar="ACTION")
    _register_serve(device_sub)
    status = device_sub.add_parser("status", help="ask a device for its status report")
    status.add_argument("--port", required=True, help="port path or pyserial URL")
    status.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    status.add_argument("--json", action="store_true", help="print JSON on stdout")
    _register_protocol(status)
    status.set_defaults(func=run_status)
    register_capabilities(device_sub)
    reboot = device_sub.add_parser("reboot", help="ask a device to leave the loader and boot")
    reboot.add_argument("--port", required=True)
    reboot.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    reboot.set_defaults(func=run_reboot)
    ports = sub.add_parser("ports", help="list serial ports with USB VID:PID and serial number")
    ports.add_argument("--json", action="store_true")
    ports.add_argument("--probe", action="store_true",
                       help="ask each port which protocol it answers (suitwb or SMP; bounded)")
    ports.add_argument("--detect-timeout", type=float, default=DEFAULT_DETECT_TIMEOUT,
                       metavar="SECONDS")
    ports.set_defaults(func=run_ports)
    records = sub.add_parser("records", help="factory records of flash attempts")
    records_sub = records.add_subparsers(dest="records_command", required=True, metavar="ACTION")
    export = records_sub.add_parser("export", help="export every attempt")
    export.add_argument("--csv", action="store_true", required=True, help="as CSV")
    export.add_argument("--output", "-o", type=Path, help="write to this file (default stdout)")
    export.add_argument("--db", "--records", dest="db", type=_records_target, metavar="FILE|DSN",
                        help="the records database: a file or a postgresql:// DSN (default: "
                             "$SUITWB_RECORDS, else the data dir's file)")
    export.set_defaults(func=run_records_export)
    sync = records_sub.add_parser(
        "sync", help="deliver attempts spooled while the shared database was away",
        description="Exit 0 when the spool is empty afterwards, 1 when the database is "
                    "still unavailable (nothing is lost: they stay spooled).")
    sync.add_argument("--db", "--records", dest="db", type=_records_target, metavar="DSN",
                      help="the shared records database (default: $SUITWB_RECORDS)")
    sync.set_defaults(func=run_records_sync)


def _records_target(text: str) -> str | Path:
    """A DSN stays text (a Path would fold its //); anything else is a file."""
    return text if is_dsn(text) else Path(text)


def _register_flash(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    flash = sub.add_parser(
        "flash", help="push a signed bundle to one or more devices over serial",
        description="Exit 0: every device installed the bundle; 1: a device refused it or "
                    "the transfer failed; 2: bad input.")
    flash.add_argument("bundle", type=Path, help="the signed envelope")
    flash.add_argument("--port", action="append", required=True,
                       help="port path or pyserial URL (socket://, loop://); repeat for a gang")
    flash.add_argument("--payload", action="append", default=[], metavar="URI=FILE",
                       help="serve FILE when the device fetches URI; repeatable")
    flash.add_argument("--baud", type=int, default=DEFAULT_BAUD)
    flash.add_argument("--device-key", type=Path, metavar="PEM",
                       help="the devices' report key (public PEM): their SUIT reports must "
                            "verify with it")
    flash.add_argument("--json", action="store_true", help="print one JSON object per port")
    flash.add_argument("--operator", help="recorded operator (default: the OS user)")
    flash.add_argument("--station", help="recorded station (default: the host name)")
    flash.add_argument("--records", type=_records_target, metavar="FILE|DSN",
                       help="records database: a file or postgresql://USER@HOST/DB (password "
                            "from ~/.pgpass or PGPASSWORD; default: $SUITWB_RECORDS, else the "
                            "data dir's file)")
    _register_protocol(flash)
    flash.add_argument("--device-profile", type=Path, metavar="FILE",
                       help="TOML mapping SMP devices to vendor/class ids, trust anchors, slot "
                            "size and rollback rule (needed for SMP ports; docs/smp.md)")
    flash.add_argument("--skip-host-checks", action="store_true",
                       help="ENGINEERING ONLY: upload to SMP devices without the station's SUIT "
                            "checks (recorded; the post-reset image check still runs)")
    flash.set_defaults(func=run_flash)


def _register_protocol(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--protocol", choices=PROTOCOLS,
                        help="force the protocol (default: detect per port, HELLO then SMP)")
    parser.add_argument("--detect-timeout", type=float, default=DEFAULT_DETECT_TIMEOUT,
                        metavar="SECONDS", help="bound on protocol detection per port "
                                                "(default %(default)s)")


def _register_serve(device_sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = device_sub.add_parser(
        "serve", help="run a virtual device's recovery loader on a pty or a port",
        description="With --pty the first stdout line is the pseudo-terminal's path alone. "
                    "Serves until interrupted or stopped (SIGTERM: exit 0); a port that "
                    "goes away is reopened when it comes back; state persists in --state. "
                    "Options given here override the --config file's members.")
    serve.add_argument("--config", type=Path, metavar="TOML",
                       help="device configuration file: identity, keys, port, state, root "
                            "(docs/linux-device.md)")
    where = serve.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true", help="create a pseudo-terminal")
    where.add_argument("--port", help="serve on an existing port (path or pyserial URL)")
    serve.add_argument("--baud", type=int, help="pace the line at this baud rate (8N1)")
    serve.add_argument("--profile", choices=sorted(PROFILES),
                       help=f"flash profile (default {DEFAULT_PROFILE})")
    serve.add_argument("--flash-size", type=_size, metavar="BYTES",
                       help="flash of the profile's part (same timings), like 4M, for larger images")
    serve.add_argument("--battery-mwh", type=int, metavar="N",
                       help=f"simulated battery charge for minimum-battery conditions "
                            f"(default {DEFAULT_BATTERY_MWH}; -1: no gauge, such conditions fail)")
    serve.add_argument("--state", type=Path, help="state directory (default ./device-state)")
    serve.add_argument("--root", type=Path, metavar="DIR",
                       help="install file components (ids ['fs', 'relative/path']) as real "
                            "files under DIR (docs/loader.md, Installing files)")
    serve.add_argument("--root-layout", choices=ROOT_LAYOUTS,
                       help="direct (default): files at DIR/<path>; ab: whole release trees in "
                            "DIR/releases/a|b, DIR/current switched atomically per release")
    serve.add_argument("--authorized-priority", type=int, metavar="N",
                       help="authorise updates whose update-priority is N or lower (more "
                            "urgent); default: the update-authorized condition fails")
    serve.add_argument("--trust-anchor", action="append", type=Path, metavar="PEM",
                       help="a public key the device trusts; repeatable")
    serve.add_argument("--require", choices=[p.value for p in VerificationPolicy],
                       help="any (default): one trust anchor must verify an envelope; all: "
                            "every trust anchor must (hybrid classical + ML-DSA signing)")
    serve.add_argument("--device-key", type=Path, metavar="PEM",
                       help="the device's own private key: it signs its SUIT reports "
                            "(COSE_Sign1); without it reports go unsigned")
    serve.add_argument("--decryption-key", action="append", metavar="PEM|KEK|URI",
                       help="a key the device decrypts payloads with: a PEM private key "
                            "(P-256 or X25519), an AES key-encryption key file (the COSE_Key "
                            "`keys generate --alg A128KW` writes, or 16/24/32 bytes raw or "
                            "hex) or a PKCS#11 URI of a token's AES key; "
                            "repeatable")
    serve.add_argument("--vendor-id", type=uuid.UUID, metavar="UUID",
                       help=f"the SUIT vendor id it answers to (default {flashing.EXAMPLE_VENDOR_ID})")
    serve.add_argument("--class-id", type=uuid.UUID, metavar="UUID",
                       help=f"the SUIT class id it answers to (default {flashing.EXAMPLE_CLASS_ID})")
    serve.add_argument("--device-id", type=uuid.UUID, metavar="UUID",
                       help="the device's own id (default: chosen at the first start, kept)")
    # Its own dest: a subcommand's default would overwrite the global -v's count.
    serve.add_argument("-v", "--verbose", dest="device_verbose", action="count", default=0,
                       help="log every message at debug level (default: sessions, at info)")
    serve.set_defaults(func=run_serve)


# -- flash ------------------------------------------------------------------------------

def run_flash(args: argparse.Namespace) -> int:
    bundle = flashing.load_bundle(args.bundle, [_payload_arg(p) for p in args.payload])
    profile = load_profile(args.device_profile) if args.device_profile else None
    if args.skip_host_checks:
        print("warning: --skip-host-checks: SMP devices get the image WITHOUT the station's "
              "SUIT checks (engineering only; recorded)", file=sys.stderr)
    smp = SmpFlashSettings(profile, args.skip_host_checks,
                           SessionOptions(baudrate=args.baud))
    job = flashing.FlashJob(
        bundle, args.port, flashing.Station.current(args.operator, args.station),
        flashing.records_store(args.records),
        FlashOptions(baudrate=args.baud, device_key=flashing.device_public_key(args.device_key)),
        flashing.ProtocolChoice(args.protocol, args.detect_timeout, smp))
    board = ProgressBoard(args.port, sys.stderr)
    outcomes, interrupted = _run_interruptible(job, board)
    board.finish()
    _print_outcomes(outcomes, args.json)
    if interrupted:
        return 130
    # A report that does not verify with the pinned key is a refusal of what the device said.
    unproven = any(o.report is not None and o.report.verified is False for o in outcomes)
    return 0 if all(o.result == "ok" for o in outcomes) and not unproven else 1


def _run_interruptible(job: flashing.FlashJob,
                       board: ProgressBoard) -> tuple[list[FlashOutcome], bool]:
    # Ctrl-C cancels every port cleanly (each device is told to abort, each attempt is
    # recorded as cancelled) instead of killing the transfers mid-frame.
    outcomes: list[FlashOutcome] = []
    done = threading.Event()

    def work() -> None:
        try:
            outcomes.extend(job.run(board.update))
        finally:
            done.set()

    threading.Thread(target=work, name="flash-job", daemon=True).start()
    interrupted = False
    # An Event, not Thread.join: a join interrupted by Ctrl-C can leave the thread looking
    # finished while it still runs (CPython issue 90882).
    while not done.is_set():
        try:
            done.wait(timeout=0.2)
        except KeyboardInterrupt:
            interrupted = True
            job.cancel.set()
    return outcomes, interrupted


def _payload_arg(text: str) -> tuple[str, Path]:
    uri, sep, file = text.partition("=")
    if not sep or not uri or not file:
        raise FlasherError(f"--payload {text!r}: expected URI=FILE",
                           hint="For example --payload http://example.com/app.bin=app.bin")
    return uri, Path(file)


def _print_outcomes(outcomes: list[FlashOutcome], as_json: bool) -> None:
    if as_json:
        print(json.dumps([flashing.outcome_json(o) for o in outcomes], indent=2))
        return
    for outcome in outcomes:
        line = f"{outcome.port}: {outcome.result} ({outcome.bytes} bytes in {outcome.seconds:.1f} s"
        line += f", {outcome.sessions} sessions)" if outcome.sessions > 1 else ")"
        if outcome.update is not None:
            line += f", sequence number {outcome.update.sequence_number}"
        if outcome.smp is not None:
            line += _smp_summary(outcome.smp)
        if outcome.reason:
            line += f": {outcome.reason}"
        print(line + flashing.report_summary(outcome.report))


def _smp_summary(details: SmpDetails) -> str:
    text = f", SMP {details.mode}, host checks {details.host_checks}"
    if details.image_version:
        text += f", image {details.image_version}"
    if details.image_match is not None:
        text += ", image-match " + ("ok" if details.image_match else "FAILED")
    return text


class ProgressBoard:
    """One progress line per device: redrawn in place on a terminal, plain lines otherwise
    (only when a device changes stage, so logs stay short)."""

    def __init__(self, ports: list[str], stream: TextIO) -> None:
        self.ports, self.stream = ports, stream
        self.tty = stream.isatty()
        self.latest: dict[str, Progress] = {}
        self.lock = threading.Lock()
        self.drawn = False
        self.last_draw = 0.0

    def update(self, progress: Progress) -> None:
        """Record a report (called from the gang's threads)."""
        with self.lock:
            previous = self.latest.get(progress.port)
            self.latest[progress.port] = progress
            if not self.tty:
                if previous is None or previous.stage != progress.stage:
                    print(_line(progress), file=self.stream, flush=True)
            elif time.monotonic() - self.last_draw > 0.1:
                self._draw()

    def finish(self) -> None:
        """Draw the final state."""
        with self.lock:
            if self.tty and self.latest:
                self._draw()

    def _draw(self) -> None:
        if self.drawn:
            self.stream.write(f"\x1b[{len(self.ports)}F")  # back to the first line
        for port in self.ports:
            progress = self.latest.get(port)
            text = _line(progress) if progress else f"{port}: waiting"
            self.stream.write("\r\x1b[2K" + text + "\n")
        self.stream.flush()
        self.drawn, self.last_draw = True, time.monotonic()


def _line(progress: Progress) -> str:
    total = max(progress.bytes_total, 1)
    fraction = min(progress.bytes_done / total, 1.0)
    bar = "#" * int(fraction * 30)
    eta = f" ETA {progress.eta:4.0f} s" if progress.eta is not None and progress.eta > 0 else ""
    return (f"{progress.port}: [{bar:<30}] {fraction:4.0%} {progress.stage.value:<12} "
            f"{progress.bytes_done}/{progress.bytes_total} B {progress.rate / 1024:7.1f} KiB/s{eta}")


# -- device status, reboot, serve -------------------------------------------------------

def run_status(args: argparse.Namespace) -> int:
    if args.protocol == SMP:
        return _smp_status(flashing.smp_status(args.port, args.baud), args.json)
    if args.protocol is None:
        found = status_or_smp_info(args.port, timeout=args.detect_timeout, baudrate=args.baud)
        if isinstance(found, DeviceInfo):
            return _smp_status(found, args.json)
        status = found
    else:
        status = operations.read_status(args.port, options=FlashOptions(baudrate=args.baud))
    report = flashing.status_json(status)
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"vendor id:  {report['vendor_id']}\nclass id:   {report['class_id']}\n"
          f"device id:  {report['device_id']}")
    for component in report["components"]:
        file = "" if component["path"] is None else f", file {component['path']}" + (
            "" if component["mode"] is None else f" {flashing.mode_text(component['mode'])}")
        print(f"component {'/'.join(component['id'])}: sequence number "
              f"{component['sequence_number']}, digest {component['digest'] or '-'}, "
              f"{component['size']} bytes{file}")
    for slot, state in report["slots"].items():
        print(f"slot {slot}: {state}")
    last = report["last_result"]
    print("last update: " + ("none" if last is None else
                             f"{last['result']} ({last['detail']}), sequence number "
                             f"{last['sequence_number']}"))
    return 0


def _smp_status(info: DeviceInfo, as_json: bool) -> int:
    report = flashing.smp_info_json(info)
    if as_json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"protocol:   SMP ({report['mode']})\nbootloader: {report['bootloader'] or '-'}\n"
          f"os info:    {report['os_info'] or '-'}")
    if not report["images"]:
        print("images:     none reported" + ("" if report["image_management"]
                                              else " (no image management)"))
    for slot in report["images"]:
        flags = [name for name in ("active", "confirmed", "pending", "permanent", "bootable")
                 if slot[name]]
        print(f"image {slot['image']} slot {slot['slot']}: version {slot['version']}, "
              f"hash {slot['hash'] or '-'}, {', '.join(flags) or 'no flags'}")
    return 0


def run_reboot(args: argparse.Namespace) -> int:
    operations.reboot(args.port, options=FlashOptions(baudrate=args.baud))
    print(f"{args.port}: rebooting")
    return 0


def _size(text: str) -> int:
    """``4194304``, ``4096K`` or ``4M`` -> bytes."""
    units = {"K": 1024, "M": 1024 * 1024}
    try:
        if text[-1:].upper() in units:
            return int(text[:-1]) * units[text[-1].upper()]
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (like 4M or 4194304)") from None


def run_serve(args: argparse.Namespace) -> int:
    settings = _serve_settings(args)
    # The loader's log is its stderr (journal-friendly), whatever the CLI's -v chose.
    logs.configure_loader(1 if settings.verbose else 0,
                          Path(args.log_file) if args.log_file else None)
    port = settings.port
    if not args.pty and port is None:
        raise LoaderConfigError("device serve", "no line to serve on",
                                hint="Give --pty, --port, or port in the --config file's "
                                     "[loader] table.")
    # Signals first: a stop that arrives while the device starts up still ends in exit 0.
    stop = threading.Event()
    _stop_on_signals(stop)
    device = flashing.open_virtual_device(
        dataclasses.replace(settings.device_spec(), kill_at_step=_kill_at_step()))
    try:
        if args.pty:
            pty = PseudoTerminal()
            print(pty.path, flush=True)  # alone on the first line: scripts read it
            try:
                flashing.serve_on_pty(device, pty, settings.baud, stop)
            finally:
                pty.close()
        elif port is not None:
            print(f"serving on {port}", flush=True)
            flashing.serve_on_port(device, port, settings.baud, stop)
    finally:
        device.close()
    return 0


def _serve_settings(args: argparse.Namespace) -> LoaderSettings:
    """The command line's options over the configuration file's members."""
    given = LoaderSettings(
        vendor_id=args.vendor_id, class_id=args.class_id, device_id=args.device_id,
        trust_anchors=None if args.trust_anchor is None else tuple(args.trust_anchor),
        device_key=args.device_key, port=args.port, baud=args.baud, state=args.state,
        root=args.root, root_layout=args.root_layout,
        decryption_keys=None if args.decryption_key is None else tuple(args.decryption_key),
        authorized_priority=args.authorized_priority,
        profile=args.profile, flash_size=args.flash_size,
        battery_mwh=args.battery_mwh, verbose=True if args.verbose + args.device_verbose else None,
        signature_policy=None if args.require is None else VerificationPolicy(args.require))
    return given.over(load_loader_config(args.config)) if args.config else given


def _kill_at_step() -> int | None:
    """The power-cut test hook: ``SUITWB_LOADER_KILL_AT_STEP=N`` SIGKILLs the loader at
    its write step N (docs/loader.md); unset in normal use."""
    text = os.environ.get(KILL_AT_STEP_ENV)
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise FlasherError(f"{KILL_AT_STEP_ENV}={text!r} is not a step number",
                           hint=f"Unset {KILL_AT_STEP_ENV}; it is a test hook.") from None


def _stop_on_signals(stop: threading.Event) -> None:
    def handler(signum: int, frame: Any) -> None:
        stop.set()
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


# -- ports, records ---------------------------------------------------------------------

def run_ports(args: argparse.Namespace) -> int:
    ports = list_serial_ports()
    answers = {p.device: flashing.probe_protocol(p.device, args.detect_timeout)
               for p in ports} if args.probe else {}
    if args.json:
        print(json.dumps([{"device": p.device, "description": p.description,
                           "usb_id": p.usb_id, "serial_number": p.serial_number,
                           **({"protocol": answers[p.device]} if args.probe else {})}
                          for p in ports], indent=2))
        return 0
    for port in ports:
        usb = f" [{port.usb_id}" + (f" SN {port.serial_number}]" if port.serial_number else "]") \
            if port.usb_id else ""
        answer = f"  ({answers[port.device] or 'no answer'})" if args.probe else ""
        print(f"{port.device}  {port.description}{usb}{answer}")
    if not ports:
        print("no serial ports found", file=sys.stderr)
    return 0


def run_records_sync(args: argparse.Namespace) -> int:
    result = flashing.sync_records(args.db)
    print(f"{result.delivered} spooled attempt(s) delivered, {result.waiting} waiting")
    return 0 if result.waiting == 0 else 1


def run_records_export(args: argparse.Namespace) -> int:
    text = export_csv(flashing.records_store(args.db))
    if args.output:
        write_atomic(args.output, text.encode())
    else:
        sys.stdout.write(text)
    return 0
