"""Reading inputs and writing outputs safely: size-limited reads, atomic writes."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Final

from suit.codec import decode_envelope
from suit.model import Envelope
from workbench.errors import FileAccessError

#: Largest envelope file the CLI reads; integrated payloads for small devices fit easily.
MAX_ENVELOPE: Final = 64 * 1024 * 1024


def read_bytes(path: str | os.PathLike[str], *, limit: int | None = None) -> bytes:
    """Read a whole file, refusing one larger than `limit` bytes before reading it."""
    try:
        with open(path, "rb") as handle:
            if limit is not None and os.fstat(handle.fileno()).st_size > limit:
                raise FileAccessError(str(path), f"larger than the limit of {limit} bytes")
            return handle.read()
    except OSError as exc:
        raise FileAccessError(str(path), exc.strerror or str(exc)) from exc


def read_envelope(path: str | os.PathLike[str], *, limit: int = MAX_ENVELOPE) -> Envelope:
    """Read and decode an envelope file, refusing one over `limit` bytes before reading it
    and decoding with the same limit (DecodeError for malformed bytes)."""
    return decode_envelope(read_bytes(path, limit=limit), max_size=limit)


def write_atomic(path: str | os.PathLike[str], data: bytes, *, mode: int = 0o644) -> None:
    """Write `data` to `path` so that readers see the old file or the new, never a part.

    The bytes go to a temporary file in the same directory, are flushed to disk, and the
    temporary file is renamed over `path` (rename is atomic within a file system).
    """
    target = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    except OSError as exc:
        raise FileAccessError(str(path), exc.strerror or str(exc)) from exc
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except OSError as exc:
        _remove_quietly(tmp)
        raise FileAccessError(str(path), exc.strerror or str(exc)) from exc
    except BaseException:
        _remove_quietly(tmp)
        raise


def _remove_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
