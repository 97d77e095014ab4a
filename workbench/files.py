"""Reading inputs and writing outputs of the application layer, through `fileio`:
bounded reads (at most limit + 1 bytes whatever the file is) and the one atomic writer."""

from __future__ import annotations

import os
from typing import Final

from fileio import read_limited, write_atomic
from suit.codec import decode_envelope
from suit.model import Envelope

__all__ = ["MAX_ENVELOPE", "read_bytes", "read_envelope", "write_atomic"]

#: Largest envelope file the CLI reads; integrated payloads for small devices fit easily.
MAX_ENVELOPE: Final = 64 * 1024 * 1024


def read_bytes(path: str | os.PathLike[str], *, limit: int, regular_only: bool = False) -> bytes:
    """Read a whole file of at most `limit` bytes (FIFOs and devices included: never more
    than limit + 1 bytes are read; `regular_only` refuses them, as for keys).

    Raises:
        FileAccessError: unreadable, a folder, not regular when required, or larger than
            `limit`.
    """
    return read_limited(path, limit, regular_only=regular_only)


def read_envelope(path: str | os.PathLike[str], *, limit: int = MAX_ENVELOPE) -> Envelope:
    """Read and decode an envelope file of at most `limit` bytes, decoding with the same
    limit (DecodeError for malformed bytes)."""
    return decode_envelope(read_bytes(path, limit=limit), max_size=limit)
