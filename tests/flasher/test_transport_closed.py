"""A socket:// port whose socket is closed under it (the session closing the port while its
reader thread polls) is a TransportError, never an exception escaping the reader thread.
Found by CI: pyserial's in_waiting ran select() on fd -1 and raised ValueError."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from flasher.errors import TransportError
from flasher.transport import SerialTransport


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    server = socket.create_server(("127.0.0.1", 0))
    yield server
    server.close()


def test_reading_a_socket_closed_under_the_port_is_a_transport_error(
        listener: socket.socket) -> None:
    transport = SerialTransport.open(f"socket://127.0.0.1:{listener.getsockname()[1]}")
    peer, _ = listener.accept()
    try:
        transport._port._socket.close()  # what a concurrent close leaves: an fd of -1
        with pytest.raises(TransportError, match="read failed"):
            transport.read(16, 0.05)
        with pytest.raises(TransportError, match="write failed"):
            transport.write(b"x")
    finally:
        transport.close()
        peer.close()
