"""The flasher's exception tree: `FlasherError` and its children (STYLE.md §3)."""

from __future__ import annotations

from enum import IntEnum

from suit.errors import WorkbenchError


class FlasherError(WorkbenchError):
    """Root of every error raised by the flasher and the recovery loader."""


class RefusalReason(IntEnum):
    """Why a device refused an update; sent over the wire as this number (recovery protocol).

    The first values follow the SUIT report reasons (draft-ietf-suit-report §9 of
    docs/SUIT-FACTS.md) where one fits; the rest are the loader's own.
    """

    OK = 0
    CBOR_PARSE = 1
    COSE_UNSUPPORTED = 2
    ALG_UNSUPPORTED = 3
    UNAUTHORISED = 4
    COMMAND_UNSUPPORTED = 5
    COMPONENT_UNSUPPORTED = 6
    COMPONENT_UNAUTHORISED = 7
    PARAMETER_UNSUPPORTED = 8
    SEVERING_UNSUPPORTED = 9
    CONDITION_FAILED = 10
    OPERATION_FAILED = 11
    WRONG_VENDOR = 64
    WRONG_CLASS = 65
    ROLLBACK = 66
    TOO_LARGE = 67
    PAYLOAD_DIGEST_MISMATCH = 68
    NO_UPDATE_IN_PROGRESS = 69
    BUSY = 70


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
}


# -- the wire and the host side (recovery protocol, docs/recovery-protocol.md) ----------

class ProtocolErrorCode(IntEnum):
    """Protocol errors sent in an ERROR frame; the host reacts, the person rarely sees them."""

    NO_SESSION = 1      # a message that needs HELLO first: the device was reset
    BAD_MESSAGE = 2     # undecodable body or unknown type
    BAD_STATE = 3       # e.g. FINISH before VERIFY
    UNSUPPORTED = 4     # e.g. REBOOT on a device that cannot
    INTERNAL = 5        # the device failed handling the message; it keeps serving


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
        path: The database file.
        problem: What SQLite said.
    """

    default_hint = "Check the data directory (SUITWB_DATA_DIR) is writable and not on a full disk."

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


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
