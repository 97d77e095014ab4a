"""Device replies: one boundary where SMP reply bytes become validated models or typed errors.

An SMP message is an 8-byte header and a CBOR map (RFC 9419 is not SMP; see Zephyr's
"SMP protocol specification", doc/services/device_mgmt/smp_protocol.rst). A version-1
error is ``{"rc": n}`` with a general ``MGMT_ERR`` code; a version-2 error is
``{"err": {"group": g, "rc": n}}`` with the group's own code. The success body is checked
by the `smp` package's pydantic model for the request (smpclient's request classes name it).
"""

from __future__ import annotations

import logging
import struct
from dataclasses import dataclass
from typing import Any, Final

import cbor2
from pydantic import ValidationError
from smp import header as smpheader
from smp.error import MGMT_ERR
from smp.image_management import IMG_MGMT_ERR

from flasher.errors import SmpError, SmpReplyInvalid

logger = logging.getLogger(__name__)

HEADER: Final = struct.Struct("!BBHHBB")  # res|ver|op, flags, length, group, sequence, command
IMAGE_GROUP: Final = 1
OS_GROUP: Final = 0


@dataclass(frozen=True)
class Reply:
    """A decoded reply before it is matched to its request."""

    op: int
    group: int
    sequence: int
    command: int
    body: dict[str, Any]
    raw: bytes


def parse(port: str, message: bytes) -> Reply:
    """Header and CBOR body of one reply message; SmpReplyInvalid if either is malformed."""
    if len(message) < HEADER.size:
        raise SmpReplyInvalid(port, f"{len(message)} bytes is shorter than an SMP header")
    first, _flags, length, group, sequence, command = HEADER.unpack_from(message)
    if length != len(message) - HEADER.size:
        raise SmpReplyInvalid(port, f"header says {length} body bytes, "
                                    f"the frame has {len(message) - HEADER.size}")
    try:
        body = cbor2.loads(message[HEADER.size:])
    except (cbor2.CBORDecodeError, ValueError, TypeError, RecursionError, MemoryError) as exc:
        raise SmpReplyInvalid(port, f"body is not CBOR ({exc})") from exc
    if not isinstance(body, dict) or not all(isinstance(key, str) for key in body):
        raise SmpReplyInvalid(port, "body is not a CBOR map with text keys")
    return Reply(first & 0b111, group, sequence, command, body, message)


def raise_for_error(port: str, what: str, reply: Reply, *, writes: bool = False) -> None:
    """SmpError if `reply` carries an error code (version 1 or version 2).

    `writes` says the request was a write (image state write is a write of command 0,
    image state read a read of it: a device may support one and not the other).
    """
    err = reply.body.get("err")
    if err is not None:
        if not (isinstance(err, dict) and _is_int(err.get("rc")) and _is_int(err.get("group"))):
            raise SmpReplyInvalid(port, f"malformed err map {err!r:.80}")
        if err["rc"] != 0:
            raise _error(port, what, (err["rc"], err["group"], True, writes), None)
    rc = reply.body.get("rc", 0)
    if not _is_int(rc):
        raise SmpReplyInvalid(port, f"rc is {type(rc).__name__}, not an integer")
    if rc != 0:
        reason = reply.body.get("rsn")
        raise _error(port, what, (rc, reply.group, False, writes and reply.command == 0),
                     reason if isinstance(reason, str) else None)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def validate(port: str, model: type[Any], reply: Reply) -> Any:
    """The reply's body as `model` (a `smp` package response class); SmpReplyInvalid if not."""
    body = dict(reply.body)
    if "rc" not in model.model_fields:  # {"rc": 0} is a success in version 1
        body.pop("rc", None)
    try:
        header = smpheader.Header.loads(reply.raw[:HEADER.size])
        return model(header=header, smp_data=reply.raw, **body)
    except (ValidationError, ValueError, TypeError) as exc:
        first = str(exc).splitlines()[0:3]
        raise SmpReplyInvalid(port, f"not a valid {model.__name__}: {' '.join(first)}") from exc


# (group, version-2 group code or None for a version-1 MGMT_ERR code, rc) -> meaning, hint
_NOT_MCUBOOT = ("the device says this is not an MCUboot image",
                "Sign the file with imgtool for this device (header size, load address, "
                "slot size); a raw binary or a SUIT envelope is not an MCUboot image.")
_KNOWN: Final[dict[tuple[int | None, bool, int], tuple[str, str]]] = {
    (IMAGE_GROUP, False, MGMT_ERR.ENOTSUP): (
        "the device has no image management (SMP group 1)",
        "This SMP server cannot take firmware: use its bootloader's serial recovery "
        "(MCUboot) or a build with CONFIG_MCUMGR_GRP_IMG."),
    (None, False, MGMT_ERR.ENOTSUP): (
        "the device does not support this request",
        "This SMP server lacks the command (MCUboot serial recovery answers only image "
        "and reset requests)."),
    (None, False, MGMT_ERR.EINVAL): (
        "the device found a value in the request invalid",
        "For an upload: check the file is an MCUboot image that fits the slot."),
    (None, False, MGMT_ERR.EBUSY): ("the device is busy", "Wait and try again."),
    (None, False, MGMT_ERR.ENOMEM): ("the device ran out of memory",
                                     "Use smaller frames (a lower SMP buffer size)."),
    (None, False, MGMT_ERR.EBADSTATE): ("the device's state does not allow it",
                                        "Read the image state; reset the device and retry."),
    (None, False, MGMT_ERR.EACCESSDENIED): ("the device denied access", ""),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.INVALID_IMAGE_HEADER_MAGIC): _NOT_MCUBOOT,
    (IMAGE_GROUP, True, IMG_MGMT_ERR.INVALID_IMAGE_HEADER): _NOT_MCUBOOT,
    (IMAGE_GROUP, True, IMG_MGMT_ERR.INVALID_IMAGE_VECTOR_TABLE): _NOT_MCUBOOT,
    (IMAGE_GROUP, True, IMG_MGMT_ERR.CURRENT_VERSION_IS_NEWER): (
        "the device runs a newer version", "Build the image with a higher version (rollback "
        "is refused)."),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.INVALID_IMAGE_TOO_LARGE): (
        "the image does not fit the slot", "Build a smaller image or use the right slot size."),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.NO_FREE_SLOT): (
        "the device has no free slot", "Confirm or erase the pending image first."),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.IMAGE_ALREADY_PENDING): (
        "an image is already pending", "Reset the device to test the pending image first."),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.HASH_NOT_FOUND): (
        "no image with that hash is on the device", "Read the image state for the hashes."),
    (IMAGE_GROUP, True, IMG_MGMT_ERR.IMAGE_CONFIRMATION_DENIED): (
        "the device refused to confirm the image", "Only the running image can be confirmed."),
}


_STATE_WRITE_UNSUPPORTED: Final = (
    "the device does not mark images for test or confirm",
    "Its MCUboot picks the image itself (RAM load or direct XIP boot the highest valid "
    "version): reset it to run the new image; there is nothing to confirm.")


def _error(port: str, what: str, code: tuple[int, int, bool, bool],
           reason: str | None) -> SmpError:
    rc, group, group_error, state_write = code
    if state_write and group == IMAGE_GROUP and not group_error and rc == MGMT_ERR.ENOTSUP:
        meaning, hint = _STATE_WRITE_UNSUPPORTED
        return SmpError(port, what, rc, group, reason=reason, meaning=meaning, hint=hint)
    meaning, hint = _KNOWN.get((group, group_error, rc)) or _KNOWN.get(
        (None, group_error, rc)) or (_name(rc, group_error, group), "")
    return SmpError(port, what, rc, group, group_error=group_error, reason=reason,
                    meaning=meaning, hint=hint or None)


def _name(rc: int, group_error: bool, group: int) -> str:
    table: type[MGMT_ERR | IMG_MGMT_ERR] = (
        IMG_MGMT_ERR if group_error and group == IMAGE_GROUP else MGMT_ERR)
    try:
        return table(rc).name.lower().replace("_", " ")
    except ValueError:
        return "an unknown error"
