"""Guard against a reference-count defect of PySide6 6.12 on Python 3.11.

Measured here (see docs/gui.md): every call of a Qt method that returns void takes one
reference from `None` (``QComboBox.addItem``, ``QCheckBox.setChecked``, ...), and every
signal emission takes one from `True`. Python 3.12 made these objects immortal, so the
defect is invisible there; on 3.11 a few thousand calls bring the count to zero and the
interpreter aborts ("none_dealloc"/"bool_dealloc"), typically while a test session or a
long editing session ends. Until PySide fixes it, the three singletons are given a
reference count no session can exhaust, which is what 3.12 does for them anyway.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Final

#: 2**40 references: at a million Qt calls a second, twelve days of headroom.
HEADROOM: Final = 1 << 40


def guard_singletons() -> None:
    """Raise the reference counts of None, True and False (Python < 3.12 only)."""
    if sys.version_info >= (3, 12):
        return
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))  # ob_refcnt is the first field
        if count.value < HEADROOM:
            count.value += HEADROOM
