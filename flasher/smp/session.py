"""A synchronous SMP session over any `flasher.transport.Transport` (STYLE.md §5).

smpclient's client is asyncio and reads the port by polling; the workbench's flasher is
synchronous and threaded (gang flashing runs one thread per port). So the session speaks
the wire itself: requests are built with smpclient's request classes (the `smp` package's
pydantic models), framed by `flasher.smp.framing`, and every reply is checked once in
`flasher.smp.replies`. It can also `send` without waiting and `receive` later, which the
upload uses to keep the line busy (two frames in flight).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, Self

from flasher.errors import DeviceNotResponding, SmpReplyInvalid
from flasher.smp import framing, replies
from flasher.smp.replies import Reply
from flasher.transport import DEFAULT_BAUD, SerialTransport, Transport

logger = logging.getLogger(__name__)

Opener = Callable[[], Transport]
_READ_SIZE: Final = 4096
_WRITE: Final = 2  # the SMP header's op for a write request


@dataclass(frozen=True)
class SessionOptions:
    """How a session talks.

    Attributes:
        timeout: Seconds to wait for one reply.
        line_length: Longest line on the wire (servers buffer 128-byte lines).
        baudrate: Set on real ports (ignored by pseudo-terminals, sockets, USB CDC-ACM).
        ready_timeout: Seconds `wait_ready` keeps asking; a fresh port may ignore the first
            requests for a few seconds (QEMU's pseudo-terminal does).
    """

    timeout: float = 2.5
    line_length: int = framing.LINE_LENGTH
    baudrate: int = DEFAULT_BAUD
    ready_timeout: float = 10.0


@dataclass(frozen=True)
class Sent:
    """A request on the wire whose reply is awaited."""

    sequence: int
    model: type[Any]
    what: str
    group: int
    command: int
    op: int


class SmpSession:
    """One open SMP conversation; close it (or use `with`).

    Args:
        transport: The byte pipe (already open).
        options: Timeouts and framing.
    """

    def __init__(self, transport: Transport, options: SessionOptions | None = None) -> None:
        self.transport = transport
        self.options = options or SessionOptions()
        self._decoder = framing.FrameDecoder()
        self._sequence = 0
        self._waiting: list[Reply] = []

    @classmethod
    def open(cls, url: str, options: SessionOptions | None = None) -> SmpSession:
        """Open `url` (a serial device, ``socket://host:port``, ...) with serial_for_url."""
        options = options or SessionOptions()
        return cls(SerialTransport.open(url, options.baudrate), options)

    @property
    def port(self) -> str:
        """The port's name, for messages."""
        return self.transport.name

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the transport."""
        self.transport.close()

    def request(self, request_class: type[Any], what: str, *, timeout: float | None = None,
                **fields: Any) -> Any:
        """Send one request and return its validated reply model; SmpError on an error reply."""
        return self.receive(self.send(request_class, what, **fields), timeout=timeout)

    def send(self, request_class: type[Any], what: str, **fields: Any) -> Sent:
        """Write one request built from `fields`; return what `receive` needs."""
        self._sequence = (self._sequence + 1) % 256
        request = request_class(sequence=self._sequence, **fields)
        self.transport.write(framing.encode(request.BYTES, self.options.line_length))
        header = request.header
        return Sent(self._sequence, _response_model(request_class), what, int(header.group_id),
                    int(header.command_id), int(header.op))

    def receive(self, sent: Sent, *, timeout: float | None = None) -> Any:
        """The validated reply to `sent`; replies to other requests are dropped."""
        patience = self.options.timeout if timeout is None else timeout
        reply = self._reply_for(sent, time.monotonic() + patience)
        if reply is None:
            if self._decoder.last_problem is not None:
                problem, self._decoder.last_problem = self._decoder.last_problem, None
                raise SmpReplyInvalid(self.port, f"{problem} (waiting for {sent.what})")
            raise DeviceNotResponding(self.port, sent.what, patience)
        replies.raise_for_error(self.port, sent.what, reply, writes=sent.op == _WRITE)
        return replies.validate(self.port, sent.model, reply)

    def _reply_for(self, sent: Sent, deadline: float) -> Reply | None:
        while True:
            while self._waiting:
                reply = self._waiting.pop(0)
                if _answers(reply, sent):
                    return reply
                logger.debug("%s: dropped a reply to sequence %d", self.port, reply.sequence)
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            data = self.transport.read(_READ_SIZE, min(left, 0.05))
            for message in self._decoder.feed(data) if data else []:
                self._waiting.append(replies.parse(self.port, message))

    def discard_input(self) -> None:
        """Forget replies received so far and any partial frame."""
        self._waiting.clear()
        self._decoder = framing.FrameDecoder()


def _response_model(request_class: type[Any]) -> type[Any]:
    # smpclient's request classes name their reply model as a pydantic private attribute.
    private = getattr(request_class, "__private_attributes__", {}).get("_Response")
    return private.default if private is not None else request_class._Response  # type: ignore[no-any-return]


def _answers(reply: Reply, sent: Sent) -> bool:
    # A reply answers a request when its sequence, group and command match and its op is
    # the request's op + 1 (READ 0 -> READ_RSP 1, WRITE 2 -> WRITE_RSP 3).
    return (reply.sequence == sent.sequence and reply.group == sent.group
            and reply.command == sent.command and reply.op == sent.op + 1)
