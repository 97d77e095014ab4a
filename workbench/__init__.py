"""The application layer shared by the CLI and the GUI: release projects, use cases (build,
sign, flash, ceremony), settings and paths, and the `suitwb` command line.

`__version__` is the one version of the workbench: the installed distribution's, which
pyproject.toml's ``[project] version`` sets. `suitwb --version` and the GUI's About show it.
"""

from __future__ import annotations

from functools import cache
from typing import Final

DISTRIBUTION: Final = "suit-workbench"


@cache
def _installed_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:  # a source tree on sys.path that was never installed
        return "0+unknown"


def __getattr__(name: str) -> str:
    # PEP 562: the metadata look-up scans sys.path, so it runs when the version is asked
    # for (--version, About), not on every `suitwb` start.
    if name == "__version__":
        return _installed_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
