"""The signing audit log: one hash-chained record per signature the workbench makes.

The log lives in the user's data directory (platformdirs), or in ``$SUITWB_DATA_DIR`` so
tests and CI use a temporary one; a ``postgresql://`` DSN (``--audit`` or ``$SUITWB_AUDIT``)
puts it in a database several signing machines share (`signing.audit_pg`, issue 18).
Records name keys by their redacted reference, so no PIN ever reaches the database.

A log with an anchor (`signing.audit_anchor`) keeps its chain head in a token as well, and
`check` reports it "anchored" only when the log ends exactly where the token says. A log
without one can only be "self-consistent": its files agree with each other, which
anybody able to write them can arrange (docs/signing.md, "Threat model").
"""

from __future__ import annotations

import getpass
import hashlib
import os
import platform
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import platformdirs

from signing.audit_anchor import (
    TokenAnchor,
    parse_anchor_uri,
    read_config,
    write_config,
)
from signing.errors import AuditAnchorError, AuditError
from signing.hashlog import ChainHead, ChainStore, HashChainedLog, LogRecord, check_head
from signing.keyref import Pkcs11Uri
from signing.pin import PinProvider
from storage.dsn import is_dsn

DATA_DIR_ENV: Final = "SUITWB_DATA_DIR"
#: A DSN (or file) for the audit log when no --audit option names one.
AUDIT_ENV: Final = "SUITWB_AUDIT"
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
        time_utc=datetime.now(UTC).isoformat(timespec="seconds"),
        operator=operator or default_operator(), host=platform.node(),
        key_reference=key_reference, kid=kid.hex(), algorithm=algorithm,
        manifest_digest=manifest_digest.hex(), sequence_number=str(sequence_number),
        output_path=output_path, output_digest=hashlib.sha256(output).hexdigest())


@dataclass(frozen=True)
class AuditVerdict:
    """What checking the log found (a broken chain raises instead).

    Attributes:
        count: How many records the log holds.
        anchor: The anchor that vouched for the head (redacted URI), or None when the
            log is only self-consistent.
    """

    count: int
    anchor: str | None

    @property
    def anchored(self) -> bool:
        """Whether a token confirmed the head, not only the log's own files."""
        return self.anchor is not None


class SigningAuditLog:
    """The signing audit log `target` names (default: ``$SUITWB_AUDIT``, else the data
    directory's audit database).

    Args:
        target: The database file, or a ``postgresql://`` DSN.
        pins: Asked for the anchor token's PIN when neither its URI nor SUITWB_PIN has it.
    """

    def __init__(self, target: Path | str | None = None, pins: PinProvider | None = None) -> None:
        chosen = target or os.environ.get(AUDIT_ENV) or default_data_dir() / AUDIT_FILE
        self._log: ChainStore
        if isinstance(chosen, str) and is_dsn(chosen):
            from signing.audit_pg import PgHashChainedLog
            self._log = PgHashChainedLog(chosen, FIELDS)
        else:
            self._log = HashChainedLog(Path(chosen), FIELDS)
        self._pins = pins

    @property
    def name(self) -> str:
        """The database file, or the DSN without its password."""
        return self._log.name

    @property
    def path(self) -> Path:
        """The database file (the SQLite backend's; a DSN has none)."""
        if not isinstance(self._log, HashChainedLog):
            raise AuditError(f"{self.name} is a database, not a file")
        return self._log.path

    def exists(self) -> bool:
        """Whether the log was ever written."""
        return self._log.exists()

    def _anchor_uri(self) -> Pkcs11Uri | None:
        if isinstance(self._log, HashChainedLog):
            return read_config(self._log.path)
        from signing.audit_pg import PgHashChainedLog
        assert isinstance(self._log, PgHashChainedLog)  # noqa: S101 - the two backends
        text = self._log.read_anchor()
        return None if text is None else parse_anchor_uri(text)

    def _set_anchor_uri(self, uri: Pkcs11Uri) -> None:
        if isinstance(self._log, HashChainedLog):
            write_config(self._log.path, uri)
            return
        from signing.audit_pg import PgHashChainedLog
        assert isinstance(self._log, PgHashChainedLog)  # noqa: S101
        if uri.pin_value is not None:
            raise AuditAnchorError("the anchor URI is stored with the log: give the PIN with "
                                   "pin-source= or SUITWB_PIN, not pin-value=")
        self._log.write_anchor(uri.redacted())

    def anchor(self) -> TokenAnchor | None:
        """The configured anchor, or None for a log that has none."""
        uri = self._anchor_uri()
        return TokenAnchor(uri, self._pins) if uri is not None else None

    def append(self, record: SignatureRecord) -> int:
        """Record one signature (moving the anchor's head with it); return its sequence
        number in the log. Nothing is recorded when the anchor cannot be moved."""
        anchor = self.anchor()
        hook = anchor.write if anchor is not None else None
        return self._log.append(asdict(record), before_commit=hook).seq

    def init_anchor(self, uri_text: str) -> AuditVerdict:
        """Anchor this log in the token data object `uri_text` names, from its current
        head on (records already there are vouched for as they are now).

        Raises:
            AuditAnchorError: the log has an anchor already, or the token has the object.
            AuditChainBroken: the log does not hold together now.
        """
        uri = parse_anchor_uri(uri_text)
        if self._anchor_uri() is not None:
            raise AuditAnchorError(f"{self.name} is anchored already",
                                   hint="Each log has one anchor; see docs/signing.md.")
        head = self._log.verify()
        TokenAnchor(uri, self._pins).create(head)
        self._set_anchor_uri(uri)
        return AuditVerdict(head.count, uri.redacted())

    def check(self, anchor_uri: str | None = None) -> AuditVerdict:
        """Check the chain and, when the log has an anchor (or `anchor_uri` names one),
        that it ends exactly at the head the token holds.

        Raises:
            AuditChainBroken: a record edited, reordered, cut off, appended or deleted.
        """
        uri = parse_anchor_uri(anchor_uri) if anchor_uri else self._anchor_uri()
        head = self._log.verify()
        if uri is None:
            return AuditVerdict(head.count, None)
        anchor = TokenAnchor(uri, self._pins)
        stated: ChainHead = anchor.read()
        check_head(head, stated, f"the anchor {anchor.name}", log_missing=not self._log.exists())
        return AuditVerdict(head.count, anchor.name)

    def verify(self) -> int:
        """Check the chain (and the anchor, if any); return the record count or raise
        `AuditChainBroken`. `check` also says whether a token vouched for it."""
        return self.check().count

    def entries(self) -> list[tuple[int, SignatureRecord]]:
        """Every record with its position."""
        return [(r.seq, SignatureRecord(**r.fields)) for r in self._log.records()]

    def raw_records(self) -> list[LogRecord]:
        """Records with their chain hashes (for display and tests)."""
        return self._log.records()
