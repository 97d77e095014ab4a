"""SMP operations on one device, each a small function over an open `SmpSession`.

Identify it (MCUmgr parameters, OS and bootloader information, image state), read and set
image state (test, confirm), reset it and wait for it to answer again. Upload lives in
`flasher.smp.upload`. Errors are the flasher's typed errors (`SmpError` carries the
device's code and a hint); nothing here prints.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from smpclient.requests.image_management import ImageStatesRead, ImageStatesWrite
from smpclient.requests.os_management import (
    BootloaderInformationRead,
    EchoWrite,
    MCUMgrParametersRead,
    OSApplicationInfoRead,
    ResetWrite,
)

from flasher.errors import DeviceNotResponding, SmpError, SmpReplyInvalid
from flasher.smp.session import SessionOptions, SmpSession

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class McumgrParams:
    """The SMP server's receive buffers (os group, MCUmgr parameters).

    Attributes:
        buf_size: Bytes of one decoded frame (SMP message + 4 bytes of serial framing).
        buf_count: Frames the server can hold at once.
    """

    buf_size: int
    buf_count: int


@dataclass(frozen=True)
class ImageSlot:
    """One slot of the device's image state (image group, state read).

    Attributes:
        image: The image number (0 unless the device has several images).
        slot: 0 primary, 1 secondary.
        version: ``major.minor.revision[.build]`` as the device reports it.
        hash: The image's SHA-256 (MCUboot's hash TLV), None if not reported.
        active, confirmed, pending, permanent, bootable: MCUboot's flags for the slot.
    """

    image: int
    slot: int
    version: str
    hash: bytes | None
    active: bool
    confirmed: bool
    pending: bool
    permanent: bool
    bootable: bool


@dataclass(frozen=True)
class DeviceInfo:
    """What a device says about itself.

    Attributes:
        port: Where it answered.
        mode: ``serial recovery`` (MCUboot waiting for an image), ``application`` (an SMP
            server in the running firmware) or ``unknown``.
        params: MCUmgr parameters, None if the device does not report them.
        os_info: The OS/application info string, None if not reported.
        bootloader: The bootloader's name (``MCUboot``), None if not reported.
        has_image_group: Whether it manages images (can be flashed over SMP).
        images: The image state (empty when there is none or no image group).
    """

    port: str
    mode: str
    params: McumgrParams | None
    os_info: str | None
    bootloader: str | None
    has_image_group: bool
    images: tuple[ImageSlot, ...]


def wait_ready(session: SmpSession, timeout: float | None = None) -> None:
    """Ask until the device answers anything (an error reply counts), within `timeout` s.

    A fresh port may swallow the first requests (QEMU's pseudo-terminal does for 1-5 s)
    and a device that was just reset needs time to boot, so ask with short timeouts.
    """
    patience = session.options.ready_timeout if timeout is None else timeout
    deadline = time.monotonic() + patience
    while True:
        try:
            session.request(EchoWrite, "echo", timeout=0.5, d="suitwb")
            return
        except (SmpError, SmpReplyInvalid):
            return  # it answered
        except DeviceNotResponding:
            if time.monotonic() >= deadline:
                raise DeviceNotResponding(session.port, "any SMP reply", patience) from None
            session.discard_input()


def echo(session: SmpSession, text: str) -> str:
    """What the device echoes back for `text` (os group, echo)."""
    return str(session.request(EchoWrite, "echo", d=text).r)


def read_params(session: SmpSession) -> McumgrParams:
    """The server's MCUmgr buffer parameters; SmpError (rc 8) if it does not report them."""
    reply = session.request(MCUMgrParametersRead, "MCUmgr parameters read")
    return McumgrParams(int(reply.buf_size), int(reply.buf_count))


def read_image_state(session: SmpSession) -> tuple[ImageSlot, ...]:
    """Every slot the device reports, in its order."""
    reply = session.request(ImageStatesRead, "image state read")
    return tuple(_slot(state) for state in reply.images)


def _slot(state: Any) -> ImageSlot:
    return ImageSlot(image=state.image or 0, slot=state.slot, version=state.version,
                     hash=bytes(state.hash) if state.hash is not None else None,
                     active=bool(state.active), confirmed=bool(state.confirmed),
                     pending=bool(state.pending), permanent=bool(state.permanent),
                     bootable=bool(state.bootable))


def mark_test(session: SmpSession, image_hash: bytes) -> tuple[ImageSlot, ...]:
    """Mark the image with `image_hash` for a test boot at the next reset (MCUboot swap)."""
    reply = session.request(ImageStatesWrite, "image test", hash=image_hash, confirm=False)
    return tuple(_slot(state) for state in reply.images)


def confirm(session: SmpSession, image_hash: bytes | None = None) -> tuple[ImageSlot, ...]:
    """Make an image permanent; without a hash, the running one (after a test boot)."""
    fields: dict[str, Any] = {"confirm": True}
    if image_hash is not None:
        fields["hash"] = image_hash
    reply = session.request(ImageStatesWrite, "image confirm", **fields)
    return tuple(_slot(state) for state in reply.images)


def reset(session: SmpSession) -> None:
    """Ask the device to reset (os group); it answers before it goes."""
    session.request(ResetWrite, "reset")


def identify(session: SmpSession) -> DeviceInfo:
    """Everything the device will say about itself; requests it does not support are skipped."""
    params_reply = _optional(lambda: read_params(session))
    os_info = _optional(lambda: str(session.request(OSApplicationInfoRead, "OS info").output))
    bootloader = _optional(lambda: str(session.request(BootloaderInformationRead,
                                                       "bootloader info").bootloader))
    try:
        images, has_images = read_image_state(session), True
    except SmpError as exc:
        if exc.rc != 8:  # MGMT_ERR.ENOTSUP: no image group; anything else is a real failure
            raise
        images, has_images = (), False
    return DeviceInfo(session.port, _mode(os_info, has_images), params_reply, os_info,
                      bootloader, has_images, images)


def _mode(os_info: str | None, has_images: bool) -> str:
    # MCUboot's serial recovery answers the image group and reset but no OS information.
    if os_info is None and has_images:
        return "serial recovery"
    if os_info is not None:
        return "application"
    return "unknown"


def _optional(read: Any) -> Any:
    try:
        return read()
    except SmpError as exc:
        logger.debug("not supported: %s", exc)
        return None


def reset_and_wait(session: SmpSession, timeout: float = 30.0, reset_delay: float = 1.0) -> None:
    """Reset the device and wait until it answers again (it boots the chosen image).

    Zephyr's SMP server answers and resets only after CONFIG_MCUMGR_GRP_OS_RESET_MS
    (250 ms by default): `reset_delay` seconds pass before asking again, so the answer
    comes from the new boot, not from the firmware that was asked to reset.
    """
    reset(session)
    time.sleep(reset_delay)
    session.discard_input()
    wait_ready(session, timeout)


def probe(url: str, timeout: float = 2.0,
          options: SessionOptions | None = None) -> DeviceInfo | None:
    """What the SMP device on `url` is, or None if nothing there answers SMP in `timeout` s.

    For choosing a protocol: a device speaking another protocol (the workbench's own
    recovery loader) ignores SMP lines, so silence means "not SMP". A port that cannot be
    opened still raises TransportError.
    """
    with SmpSession.open(url, options) as session:
        try:
            wait_ready(session, timeout)
        except DeviceNotResponding:
            return None
        return identify(session)
