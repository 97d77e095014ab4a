"""Telling a DSN from a file name, and keeping its password out of every message.

Kept apart from `storage.pg` so the CLI can tell them apart without importing the driver.
"""

from __future__ import annotations

import re
from typing import Final
from urllib.parse import urlsplit

SCHEMES: Final = ("postgresql://", "postgres://")
_KEY_VALUE_PASSWORD: Final = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.I)
_URL_PASSWORD: Final = re.compile(r"(postgres(?:ql)?://[^:/@\s]*:)[^@\s]*@")


def is_dsn(text: str) -> bool:
    """Whether `text` names a PostgreSQL database rather than a local file."""
    return text.startswith(SCHEMES)


def redact_dsn(text: str) -> str:
    """`text` with the password of any DSN in it replaced by ``***``."""
    text = _KEY_VALUE_PASSWORD.sub(r"\1***", text)
    return _URL_PASSWORD.sub(r"\1***@", text)


def _password(dsn: str) -> str | None:
    try:
        return urlsplit(dsn).password
    except ValueError:
        return None


def scrub(dsn: str, message: str) -> str:
    """`message` (a driver's error text) with the DSN's password removed wherever it is."""
    password = _password(dsn)
    if password:
        message = message.replace(password, "***")
    return redact_dsn(message)
