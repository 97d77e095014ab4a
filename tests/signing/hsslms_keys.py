"""Small HSS-LMS keys for tests: H5 trees with a small Winternitz parameter generate in
milliseconds (the default H10/W8 takes seconds)."""

from __future__ import annotations

from pathlib import Path

from signing import hsslms
from signing.hashlog import HashChainedLog
from signing.hsslms_state import KeyState
from suit.hsslms import LMOTS_BY_NAME, LMS_BY_NAME

H5 = LMS_BY_NAME["LMS_SHA256_M32_H5"]
W2 = LMOTS_BY_NAME["LMOTS_SHA256_N32_W2"]


def small_key(path: Path, data_dir: Path, levels: int = 1) -> tuple[KeyState, HashChainedLog]:
    """Generate an H5/W2 key of `levels` at `path`, journaled in `data_dir`."""
    log = hsslms.journal(data_dir)
    return hsslms.generate(path, H5, W2, levels, log), log
