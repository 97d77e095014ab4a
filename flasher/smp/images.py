"""What the host can read from an MCUboot image without trusting it: version and hash.

MCUboot's image format (bootutil/image.h): a header (magic 0x96f3b83d, load address,
header size, protected TLV size, image size, flags, version), the image, then TLV areas
(info magic 0x6907 unprotected / 0x6908 protected, total length, then type/length/value
entries). The SHA-256 TLV (type 0x10) is what a device's image state reports as the hash.
"""

from __future__ import annotations

import struct
from typing import Final

IMAGE_MAGIC: Final = 0x96F3B83D
_HEADER: Final = struct.Struct("<IIHHII")  # magic, load, header size, protected tlv, size, flags
_VERSION: Final = struct.Struct("<BBHI")
_TLV_INFO: Final = struct.Struct("<HH")
_TLV_ENTRY: Final = struct.Struct("<HH")
_TLV_MAGICS: Final = (0x6907, 0x6908)
TLV_SHA256: Final = 0x10


def is_mcuboot_image(data: bytes) -> bool:
    """Whether `data` starts with MCUboot's image header magic."""
    return len(data) >= _HEADER.size and _HEADER.unpack_from(data)[0] == IMAGE_MAGIC


def image_version(data: bytes) -> str | None:
    """``major.minor.revision[.build]`` as a device reports it; None if not an image."""
    if not is_mcuboot_image(data) or len(data) < 20 + _VERSION.size:
        return None
    major, minor, revision, build = _VERSION.unpack_from(data, 20)
    return f"{major}.{minor}.{revision}" + (f".{build}" if build else "")


def image_hash(data: bytes) -> bytes | None:
    """The image's SHA-256 TLV (what image state shows as its hash); None if absent."""
    if not is_mcuboot_image(data):
        return None
    _magic, _load, header_size, _protected, size, _flags = _HEADER.unpack_from(data)
    offset = header_size + size
    while offset + _TLV_INFO.size <= len(data):
        magic, total = _TLV_INFO.unpack_from(data, offset)
        if magic not in _TLV_MAGICS or total < _TLV_INFO.size:
            return None
        found = _find_tlv(data[offset + _TLV_INFO.size:offset + total], TLV_SHA256)
        if found is not None:
            return found
        offset += total
    return None


def _find_tlv(area: bytes, wanted: int) -> bytes | None:
    at = 0
    while at + _TLV_ENTRY.size <= len(area):
        kind, length = _TLV_ENTRY.unpack_from(area, at)
        value = area[at + _TLV_ENTRY.size:at + _TLV_ENTRY.size + length]
        if kind == wanted and len(value) == length:
            return value
        at += _TLV_ENTRY.size + length
    return None
