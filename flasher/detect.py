"""Which protocol a port answers: the workbench's recovery protocol (HELLO) or SMP (issue 13).

Deterministic order and a bounded total: our HELLO first with short retries (the recovery
loader answers in milliseconds and ignores SMP lines), then an SMP echo with whatever time
is left (MCUboot and Zephyr's SMP server skip bytes that are not an SMP line, so the
HELLO does them no harm). A port that answers neither within the bound is an error that
says so and how to force a protocol.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Final

from flasher import protocol
from flasher.errors import DeviceNotResponding, FlasherError, ProtocolError
from flasher.messages import DeviceStatus
from flasher.protocol import MessageType
from flasher.session import RecoverySession, SessionConfig
from flasher.smp import operations as smp_ops
from flasher.smp.operations import DeviceInfo
from flasher.smp.session import SessionOptions
from flasher.transport import DEFAULT_BAUD, SerialTransport

logger = logging.getLogger(__name__)

SUITWB: Final = "suitwb"
SMP: Final = "smp"
PROTOCOLS: Final = (SUITWB, SMP)
#: Seconds `detect` may take in all, unless told otherwise.
DEFAULT_DETECT_TIMEOUT: Final = 3.0
#: The share of the bound given to HELLO: enough for three tries of a recovery loader.
HELLO_SHARE: Final = 0.4


class ProtocolNotDetected(FlasherError):
    """Nothing on the port answered HELLO or SMP within the bound (exit status 2, as for
    DeviceNotResponding: most often the wrong port or a device not in its loader).

    Attributes:
        port: The port.
        seconds: How long detection waited in all.
    """

    default_hint = ("Check the device is in its recovery loader or MCUboot serial recovery "
                    "(or runs an SMP server), or force one with --protocol suitwb|smp.")

    def __init__(self, port: str, seconds: float) -> None:
        super().__init__(f"{port}: no answer to HELLO (suitwb recovery protocol) or SMP "
                         f"within {seconds:.1f} s")
        self.port = port
        self.seconds = seconds


@dataclass(frozen=True)
class Detected:
    """What answered: the protocol, and for SMP what the device said about itself."""

    protocol: str
    smp_info: DeviceInfo | None = None


def detect(port: str, *, timeout: float = DEFAULT_DETECT_TIMEOUT,
           baudrate: int = DEFAULT_BAUD) -> Detected:
    """The protocol `port` answers, within `timeout` seconds in all.

    Raises:
        ProtocolNotDetected: neither answered.
        TransportError: the port cannot be opened.
    """
    deadline = time.monotonic() + timeout
    if _answers_hello(port, timeout * HELLO_SHARE, baudrate):
        return Detected(SUITWB)
    left = max(deadline - time.monotonic(), 0.5)
    info = smp_ops.probe(port, left, SessionOptions(timeout=min(left, 1.0), baudrate=baudrate))
    if info is not None:
        return Detected(SMP, info)
    raise ProtocolNotDetected(port, timeout)


def status_or_smp_info(port: str, *, timeout: float = DEFAULT_DETECT_TIMEOUT,
                       baudrate: int = DEFAULT_BAUD) -> DeviceStatus | DeviceInfo:
    """The recovery protocol's status report, or what an SMP device says about itself.

    HELLO and STATUS go in one session (one connection: a ``socket://`` line may accept
    only one); only a HELLO nobody answers moves on to SMP. A device that answered HELLO
    and then sends a bad status is that device's error (ProtocolError), not "not ours".

    Raises:
        ProtocolNotDetected: neither answered within about `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    tries = 3
    quick = SessionConfig(reply_timeout=timeout * HELLO_SHARE / tries, retries=tries)
    with RecoverySession(SerialTransport.open(port, baudrate), quick) as session:
        try:
            session.hello()
        except (DeviceNotResponding, ProtocolError) as exc:
            logger.debug("%s: no HELLO answer (%s)", port, exc)
        else:
            session.config = SessionConfig()  # our device: the usual patience from here on
            reply = session.request(MessageType.STATUS, b"", expect=MessageType.STATUS_REPLY)
            return protocol.decode_status(reply.body)
    left = max(deadline - time.monotonic(), 0.5)
    info = smp_ops.probe(port, left, SessionOptions(timeout=min(left, 1.0), baudrate=baudrate))
    if info is None:
        raise ProtocolNotDetected(port, timeout)
    return info


def _answers_hello(port: str, seconds: float, baudrate: int) -> bool:
    tries = 3
    config = SessionConfig(reply_timeout=seconds / tries, retries=tries)
    with RecoverySession(SerialTransport.open(port, baudrate), config) as session:
        try:
            session.hello()
        except (DeviceNotResponding, ProtocolError) as exc:
            logger.debug("%s: no HELLO answer (%s)", port, exc)
            return False
    return True
