"""Errors of the application layer (files, projects, use cases).

`FileAccessError` lives in the leaf package `fileio` so every layer raises the same class;
it is re-exported here for the callers that always imported it from this module.
"""

from __future__ import annotations

from fileio.errors import FileAccessError

__all__ = ["FileAccessError"]
