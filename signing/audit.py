"""The signing audit log: one hash-chained record per signature the workbench makes.

The log lives in the user's data directory (platformdirs), or in ``$SUITWB_DATA_DIR`` so
tests and CI use a temporary one. Records name keys by their redacted reference, so no
PIN ever reaches the database.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Final

import platformdirs

from signing.hashlog import HashChainedLog, LogRecord

DATA_DIR_ENV: Final = "SUITWB_DATA_DIR"
AUDIT_FILE: Final = "signing-audit.sqlite3"


@dataclass(frozen=True)
class SignatureRecord:
    """What is recorded about one signature (all text, as stored)."""

    time_utc: str
    operator: str
    host: str
    key_reference: str
    kid: str
    algorithm: str
    manifest_digest: str
    sequence_number: str
    output_path: str
    output_digest: str


FIELDS: Final = tuple(SignatureRecord.__dataclass_fields__)


def default_data_dir(environ: Mapping[str, str] | None = None) -> Path:
    """``$SUITWB_DATA_DIR`` if set, else the platform's user data dir for the workbench."""
    env = os.environ if environ is None else environ
    if env.get(DATA_DIR_ENV):
        return Path(env[DATA_DIR_ENV])
    return Path(platformdirs.user_data_dir("suit-workbench", appauthor=False))


def default_operator() -> str:
    """The OS user name (no prompt; `getpass.getuser` reads the environment)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def new_record(*, key_reference: str, kid: bytes, algorithm: str, manifest_digest: bytes,
               sequence_number: int, output_path: str, output: bytes,
               operator: str | None = None) -> SignatureRecord:
    """A record for a signature made now by this operator on this host."""
    return SignatureRecord(
        time_utc=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        operator=operator or default_operator(), host=platform.node(),
        key_reference=key_reference, kid=kid.hex(), algorithm=algorithm,
        manifest_digest=manifest_digest.hex(), sequence_number=str(sequence_number),
        output_path=output_path, output_digest=hashlib.sha256(output).hexdigest())


class SigningAuditLog:
    """The signing audit log at `path` (default: the data directory's audit database)."""

    def __init__(self, path: Path | None = None) -> None:
        self._log = HashChainedLog(path or default_data_dir() / AUDIT_FILE, FIELDS)

    @property
    def path(self) -> Path:
        """The database file."""
        return self._log.path

    def append(self, record: SignatureRecord) -> int:
        """Record one signature; return its sequence number in the log."""
        return self._log.append(asdict(record)).seq

    def entries(self) -> list[tuple[int, SignatureRecord]]:
        """Every record with its position."""
        return [(r.seq, SignatureRecord(**r.fields)) for r in self._log.records()]

    def verify(self) -> int:
        """Check the chain; return the record count or raise `AuditChainBroken`."""
        return self._log.verify()

    def raw_records(self) -> list[LogRecord]:
        """Records with their chain hashes (for display and tests)."""
        return self._log.records()
