"""The flasher's exception tree: `FlasherError` and its children (STYLE.md §3)."""

from __future__ import annotations

from enum import IntEnum
from typing import Final

from suit.errors import WorkbenchError
from suit.report import ReportReason


class FlasherError(WorkbenchError):
    """Root of every error raised by the flasher and the recovery loader."""


class RefusalReason(IntEnum):
    """Why a device refused an update; sent over the wire as this number (recovery protocol §7).

    One vocabulary with the SUIT report (docs/recovery-protocol.md §7): every
    `suit.report.ReportReason` is here under its own name and value (0-12, SUIT-FACTS §9),
    so a processor refusal travels the wire unchanged; 64 and up are the loader's own
    refinements, each with the SUIT reason it refines (`report_reason`).
    """

    OK = ReportReason.OK.value
    CBOR_PARSE = ReportReason.CBOR_PARSE.value
    COSE_UNSUPPORTED = ReportReason.COSE_UNSUPPORTED.value
    ALG_UNSUPPORTED = ReportReason.ALG_UNSUPPORTED.value
    UNAUTHORISED = ReportReason.UNAUTHORISED.value
    COMMAND_UNSUPPORTED = ReportReason.COMMAND_UNSUPPORTED.value
    COMPONENT_UNSUPPORTED = ReportReason.COMPONENT_UNSUPPORTED.value
    COMPONENT_UNAUTHORISED = ReportReason.COMPONENT_UNAUTHORISED.value
    PARAMETER_UNSUPPORTED = ReportReason.PARAMETER_UNSUPPORTED.value
    SEVERING_UNSUPPORTED = ReportReason.SEVERING_UNSUPPORTED.value
    CONDITION_FAILED = ReportReason.CONDITION_FAILED.value
    OPERATION_FAILED = ReportReason.OPERATION_FAILED.value
    INVOKE_PENDING = ReportReason.INVOKE_PENDING.value
    WRONG_VENDOR = 64
    WRONG_CLASS = 65
    ROLLBACK = 66
    TOO_LARGE = 67
    PAYLOAD_DIGEST_MISMATCH = 68
    NO_UPDATE_IN_PROGRESS = 69
    BUSY = 70
    PATH_OUTSIDE_ROOT = 71  # a file component's path escapes the loader's --root
    WRONG_KEY = 72  # no recipient of the encryption info unwraps with the device's keys
    DECRYPTION_FAILED = 73  # AEAD tag mismatch or malformed encryption info

    @classmethod
    def from_wire(cls, value: int) -> RefusalReason:
        """The reason a peer sent; one this side does not know reads as OPERATION_FAILED
        (recovery protocol §7: a newer loader may refine reasons an older host lacks)."""
        return _BY_VALUE.get(value, cls.OPERATION_FAILED)


_BY_VALUE: Final[dict[int, RefusalReason]] = {int(r): r for r in RefusalReason}

#: SUIT report reason -> wire reason: the same name, so the same number (§7).
_FROM_REPORT: Final[dict[ReportReason, RefusalReason]] = {
    r: RefusalReason[r.name] for r in ReportReason}

#: The loader's own reasons -> the SUIT report reason each refines (SUIT-FACTS §9).
_REFINES: Final[dict[RefusalReason, ReportReason]] = {
    RefusalReason.WRONG_VENDOR: ReportReason.CONDITION_FAILED,  # vendor-identifier
    RefusalReason.WRONG_CLASS: ReportReason.CONDITION_FAILED,  # class-identifier
    RefusalReason.ROLLBACK: ReportReason.CONDITION_FAILED,  # sequence number (RFC 9019 §4.3.3)
    RefusalReason.TOO_LARGE: ReportReason.OPERATION_FAILED,
    RefusalReason.PAYLOAD_DIGEST_MISMATCH: ReportReason.CONDITION_FAILED,  # image-match
    RefusalReason.NO_UPDATE_IN_PROGRESS: ReportReason.OPERATION_FAILED,
    RefusalReason.BUSY: ReportReason.OPERATION_FAILED,
    # a file path the device may not write is a component it is not authorised to touch
    RefusalReason.PATH_OUTSIDE_ROOT: ReportReason.COMPONENT_UNAUTHORISED,
    # FE §6: write or copy with encryption info could not decrypt (the directive failed).
    RefusalReason.WRONG_KEY: ReportReason.OPERATION_FAILED,
    RefusalReason.DECRYPTION_FAILED: ReportReason.OPERATION_FAILED,
}


def wire_reason(reason: ReportReason) -> RefusalReason:
    """The wire reason for a SUIT report reason (total: every ReportReason has one)."""
    return _FROM_REPORT[reason]


def report_reason(reason: RefusalReason) -> ReportReason:
    """The SUIT report reason a wire reason is or refines (total over RefusalReason)."""
    refined = _REFINES.get(reason)
    return refined if refined is not None else ReportReason(reason.value)


class UpdateRefused(FlasherError):
    """The device refused an update, with its reason (shown to the person as is).

    Attributes:
        reason: The refusal code.
        detail: The device's one-line explanation.
    """

    exit_status = 1

    def __init__(self, reason: RefusalReason, detail: str) -> None:
        super().__init__(f"device refused the update: {reason.name.lower()}: {detail}",
                         hint=_HINTS.get(reason, "See the device's reason above."))
        self.reason = reason
        self.detail = detail


_HINTS = {
    RefusalReason.UNAUTHORISED: "Sign the bundle with a key the device trusts.",
    RefusalReason.WRONG_VENDOR: "This bundle is for another vendor's devices.",
    RefusalReason.WRONG_CLASS: "This bundle is for another device class.",
    RefusalReason.ROLLBACK: "Build the release with a higher sequence number.",
    RefusalReason.TOO_LARGE: "The image does not fit the device's slot.",
    RefusalReason.WRONG_KEY: "Encrypt the payload for this device's key (its public key "
                             "or its key-encryption key).",
    RefusalReason.DECRYPTION_FAILED: "The encrypted payload or its tag was altered; send "
                                     "the payload that was built with this manifest.",
}


# -- the wire and the host side (recovery protocol, docs/recovery-protocol.md) ----------

class ProtocolErrorCode(IntEnum):
    """Protocol errors sent in an ERROR frame; the host reacts, the person rarely sees them."""

    NO_SESSION = 1      # a message that needs HELLO first: the device was reset
    BAD_MESSAGE = 2     # undecodable body or unknown type
    BAD_STATE = 3       # e.g. FINISH before VERIFY
    UNSUPPORTED = 4     # e.g. REBOOT on a device that cannot
    INTERNAL = 5        # the device failed handling the message; it keeps serving

    @classmethod
    def from_wire(cls, value: int) -> ProtocolErrorCode:
        """The code a peer sent; one this side does not know reads as BAD_MESSAGE (§8)."""
        return _CODES_BY_VALUE.get(value, cls.BAD_MESSAGE)


_CODES_BY_VALUE: Final[dict[int, ProtocolErrorCode]] = {int(c): c for c in ProtocolErrorCode}


class ProtocolError(FlasherError):
    """A message that breaks the recovery protocol.

    Attributes:
        code: The protocol error code.
        detail: What was wrong.
    """

    default_hint = "Check that the device runs a loader speaking recovery protocol 1."

    def __init__(self, code: ProtocolErrorCode, detail: str) -> None:
        super().__init__(f"recovery protocol error ({code.name.lower()}): {detail}")
        self.code = code
        self.detail = detail


class TransportError(FlasherError):
    """The serial port could not be opened, or failed while in use (unplugged, closed).

    Attributes:
        port: The port URL or path.
        problem: What the operating system or pyserial said.
    """

    default_hint = "Check the cable and the port name (`suitwb ports` lists them)."

    def __init__(self, port: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{port}: {problem}", hint=hint)
        self.port = port
        self.problem = problem


class NoSuchPort(TransportError):
    """The port names a device file that does not exist: nothing to wait for, so it is
    reported at once instead of being retried (issue 17).

    Attributes:
        port: The port path as given.
    """

    default_hint = "Check the port name: `suitwb ports` lists the ports this machine has."

    def __init__(self, port: str) -> None:
        super().__init__(port, "no such port")


class DeviceNotResponding(FlasherError):
    """No valid answer from the device within the time allowed, after every retry.

    Attributes:
        port: The port URL or path.
        waiting_for: What the host was waiting for, like ``HELLO_ACK``.
        seconds: How long it waited in all.
    """

    default_hint = ("Check that the device is in recovery mode on this port "
                    "(`suitwb device serve` for a virtual one) and the baud rate matches.")

    def __init__(self, port: str, waiting_for: str, seconds: float) -> None:
        super().__init__(f"{port}: no answer to {waiting_for} within {seconds:.1f} s")
        self.port = port
        self.waiting_for = waiting_for
        self.seconds = seconds


class OperationCancelled(FlasherError):
    """The operation was cancelled by the person (or the station) before it finished."""

    exit_status = 1


class RecordsError(FlasherError):
    """The factory records database could not be read or written.

    Attributes:
        path: The database file, or the DSN with its password redacted.
        problem: What SQLite or PostgreSQL said.
    """

    default_hint = "Check the data directory (SUITWB_DATA_DIR) is writable and not on a full disk."

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class RecordsUnavailable(RecordsError):
    """The records cannot be written now (issue 18): the shared database cannot be reached,
    or other stations held the SQLite file past the wait; the attempt waits in the
    station's spool and is delivered when the records can be written again."""

    default_hint = ("Attempts are kept in the spool until the records can be written; "
                    "`suitwb records sync` delivers them.")
    exit_status = 1  # the input was fine; the database was not there


class BundleError(FlasherError):
    """A bundle file or payload file that cannot be read or sent.

    Attributes:
        path: The file.
        problem: What was wrong.
    """

    default_hint = "Give the signed envelope (.suit) written by `suitwb sign` or `suitwb build`."

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


# -- SMP (mcumgr) devices: MCUboot serial recovery and Zephyr's SMP server ---------------

class SmpError(FlasherError):
    """An SMP device answered a request with an error code.

    Attributes:
        port: The port URL or path.
        request: What was asked, like ``image upload``.
        rc: The device's code: an SMP ``MGMT_ERR`` for a version-1 ``{"rc": n}`` reply, or the
            group's own code for a version-2 ``{"err": {"group": g, "rc": n}}`` reply.
        group: The SMP group that answered (0 os, 1 image, ...).
        group_error: True when `rc` is the group's own code (a version-2 ``err`` reply).
        reason: The device's ``rsn`` text, if it sent one.
    """

    exit_status = 1
    default_hint = "See the device's log for why it refused."

    def __init__(self, port: str, request: str, rc: int, group: int, *, group_error: bool = False,
                 reason: str | None = None, meaning: str = "", hint: str | None = None) -> None:
        detail = f"{meaning} " if meaning else ""
        said = f": {reason}" if reason else ""
        super().__init__(f"{port}: the device refused {request}: {detail}"
                         f"(SMP rc {rc}, group {group}){said}", hint=hint)
        self.port = port
        self.request = request
        self.rc = rc
        self.group = group
        self.group_error = group_error
        self.reason = reason


class SmpReplyInvalid(FlasherError):
    """A reply that is not a well-formed SMP answer to the request that was sent.

    Attributes:
        port: The port URL or path.
        problem: What was wrong with it.
    """

    default_hint = "Check that an SMP server (MCUboot serial recovery or mcumgr) runs on this port."

    def __init__(self, port: str, problem: str) -> None:
        super().__init__(f"{port}: malformed SMP reply: {problem}")
        self.port = port
        self.problem = problem


class SmpImageNotBooted(FlasherError):
    """After the reset the device runs another image than the one uploaded.

    Attributes:
        port: The port URL or path.
        expected: The uploaded image's version.
        running: The version the device runs, None if it reports none.
    """

    exit_status = 1
    default_hint = ("The bootloader refused or reverted the new image: check it is signed "
                    "for this device and its version is higher than the running one.")

    def __init__(self, port: str, expected: str, running: str | None) -> None:
        super().__init__(f"{port}: after the reset the device runs {running or 'no image'}, "
                         f"not the uploaded {expected}")
        self.port = port
        self.expected = expected
        self.running = running
