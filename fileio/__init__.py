"""File I/O every layer may use: bounded reads and the one atomic writer.

A leaf package: it imports only the standard library and `suit.errors` (for the root
`WorkbenchError`), so `signing`, `flasher` and `workbench` can all use it while `suit`
itself does no I/O (an import-linter contract keeps it so).
"""

from __future__ import annotations

from fileio.errors import FileAccessError
from fileio.paths import is_within, same_file
from fileio.read import MAX_KEY_FILE, open_regular, read_limited
from fileio.write import check_output, write_atomic

__all__ = ["MAX_KEY_FILE", "FileAccessError", "check_output", "is_within", "open_regular", "read_limited",
           "same_file", "write_atomic"]
