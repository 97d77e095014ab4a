"""The application layer shared by the CLI and the GUI: release projects, use cases (build,
sign, flash, ceremony), settings and paths, and the `suitwb` command line.

`__version__` is the one version of the workbench: the installed distribution's, which
pyproject.toml's ``[project] version`` sets. `suitwb --version` and the GUI's About show it.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Final

DISTRIBUTION: Final = "suit-workbench"


def _installed_version() -> str:
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


__version__: Final = _installed_version()
