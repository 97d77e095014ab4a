"""Serial ports on this machine, with the USB identity of each (for `suitwb ports`)."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports


@dataclass(frozen=True)
class PortInfo:
    """One serial port.

    Attributes:
        device: The path or name to open (``/dev/ttyACM0``, ``COM7``).
        description: What the operating system calls it.
        vid: USB vendor id, None for a non-USB port.
        pid: USB product id.
        serial_number: The USB serial number string, if the device reports one.
    """

    device: str
    description: str
    vid: int | None = None
    pid: int | None = None
    serial_number: str | None = None

    @property
    def usb_id(self) -> str | None:
        """``VID:PID`` in hex, as lsusb prints it, or None."""
        if self.vid is None or self.pid is None:
            return None
        return f"{self.vid:04x}:{self.pid:04x}"


def list_serial_ports() -> list[PortInfo]:
    """Every serial port pyserial finds (USB CDC-ACM, USB-serial adapters, UARTs)."""
    found = [PortInfo(p.device, p.description or "", p.vid, p.pid, p.serial_number)
             for p in list_ports.comports()]
    return sorted(found, key=lambda p: p.device)
