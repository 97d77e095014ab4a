"""Digest and size of payload images, streamed in constant memory (multi-GB images).

One reusable 1 MiB buffer is filled with `readinto` and handed to the hash as a
memoryview, so memory stays flat whatever the image size.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from fileio import FileAccessError, open_regular
from suit.digest import StreamingDigest
from suit.model import Digest, DigestAlgorithm
from workbench.project.errors import ImageError

CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class ImageInfo:
    """What the manifest states about an image."""

    digest: Digest
    size: int


def digest_file(path: Path, algorithm: int = DigestAlgorithm.SHA256,
                progress: Callable[[int], None] | None = None) -> ImageInfo:
    """Stream `path` through a SUIT digest.

    Args:
        path: The image file.
        algorithm: A SUIT digest algorithm (M37 §10).
        progress: Called with the bytes read so far after each chunk.

    Raises:
        ImageError: the file cannot be read or is not a regular file (a FIFO would never
            end, a device would never end or block).
    """
    stream = StreamingDigest(algorithm)
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    try:
        with open_regular(path) as image:
            while count := image.readinto(buffer):
                stream.update(view[:count])
                if progress is not None:
                    progress(stream.size)
    except FileAccessError as exc:
        raise ImageError(str(path), f"{exc.problem}", hint=exc.hint) from exc
    except OSError as exc:
        raise ImageError(str(path), f"cannot read the image: {exc.strerror or exc}") from exc
    return ImageInfo(stream.finish(), stream.size)
