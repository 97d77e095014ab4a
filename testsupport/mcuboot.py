"""MCUboot images for the SMP tests, made with imgtool from the shipped application.

The shipped ``.signed.bin`` is the Zephyr SMP server application in MCUboot's format
(0x200-byte header, RAM load at 0x20240000, SHA-256 TLV, no signature). Re-signing its raw
part with another ``--version`` gives an image the MPS2 MCUboot accepts and boots, which
tells the test which image runs (../shared/firmware/README.md).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

IMAGE_MAGIC: Final = 0x96F3B83D
_HEADER: Final = struct.Struct("<IIHHI")  # magic, load address, header size, tlv size, img size
_IMGTOOL: Final = "import sys; from imgtool.main import imgtool; sys.argv[0] = 'imgtool'; imgtool()"


def raw_application(signed: bytes) -> bytes:
    """The application's code from an MCUboot image (header and TLVs removed)."""
    magic, _load, header_size, _tlv, size = _HEADER.unpack_from(signed)
    if magic != IMAGE_MAGIC:
        raise ValueError("not an MCUboot image")
    return signed[header_size:header_size + size]


def sign(raw: bytes, version: str) -> bytes:
    """`raw` as an MCUboot image this board's bootloader accepts, with `version`."""
    with tempfile.TemporaryDirectory() as folder:
        source, target = Path(folder, "app.bin"), Path(folder, "app.signed.bin")
        source.write_bytes(raw)
        subprocess.run([sys.executable, "-c", _IMGTOOL, "sign", "--header-size", "0x200",
                        "--pad-header", "--align", "4", "--load-addr", "0x20240000",
                        "--slot-size", "0x80000", "--erased-val", "0", "--version", version,
                        str(source), str(target)], check=True, capture_output=True)
        return target.read_bytes()


def version_of(signed: bytes) -> str:
    """The version in an MCUboot image header, as the device reports it."""
    major, minor, revision, build = struct.unpack_from("<BBHI", signed, 20)
    return f"{major}.{minor}.{revision}" + (f".{build}" if build else "")
