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
