"""The station's spool: attempts kept locally while the shared records database is away.

A flash never loses its record because the database went away (issue 18): `SpooledRecords`
writes the attempt to a file of its own in the spool folder (atomically, with
`fileio.write_atomic`) and delivers every spooled attempt before the next append, or when
`sync` is called (`suitwb records sync`). Each attempt carries its uid, so one delivered
twice (the server committed but the answer was lost) is stored once.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

from fileio import FileAccessError, read_limited, write_atomic
from flasher.errors import RecordsError, RecordsUnavailable
from flasher.records import AttemptRecord, RecordsStore

logger = logging.getLogger(__name__)

SPOOL_FORMAT: Final = "suitwb-spooled-attempt/1"
MAX_SPOOL_FILE: Final = 1 << 20
#: Seconds after an unavailable store during which appends spool without trying it.
AWAY_PAUSE: Final = 5.0


@dataclass(frozen=True)
class SyncResult:
    """What a delivery of the spool did: attempts delivered and attempts still waiting."""

    delivered: int
    waiting: int


class SpooledRecords:
    """A `RecordsStore` that keeps attempts in `spool_dir` while `store` is unavailable."""

    def __init__(self, store: RecordsStore, spool_dir: Path) -> None:
        self.store = store
        self.spool_dir = spool_dir
        self.name = store.name
        self._lock = threading.Lock()  # gang threads append at once
        # Until then the store was just found unavailable: the gang's other attempts go
        # to the spool at once instead of each waiting out the store's own timeout.
        self._away_until = 0.0

    def append(self, record: AttemptRecord, uid: str | None = None) -> None:
        """Deliver what the spool holds, then `record`; spool it if the store is away."""
        uid = uid or str(uuid.uuid4())
        with self._lock:
            if time.monotonic() < self._away_until:
                self._spool(record, uid)
                logger.warning("records %s still unavailable; attempt on %s kept in the "
                               "spool %s", self.name, record.port, self.spool_dir)
                return
            try:
                self._deliver()
                self.store.append(record, uid)
            except RecordsUnavailable as exc:
                self._away_until = time.monotonic() + AWAY_PAUSE
                self._spool(record, uid)
                logger.warning("records database unavailable (%s); attempt on %s kept in "
                               "the spool %s", exc.problem, record.port, self.spool_dir)
            except RecordsError as exc:
                # Refused (a wrong password, a missing database): trying later will not fix
                # it, but the attempt is still never lost; a person must act.
                self._spool(record, uid)
                logger.error("records database refused the attempt (%s); attempt on %s kept "
                             "in the spool %s until it is fixed", exc.problem, record.port,
                             self.spool_dir)

    def all(self) -> list[AttemptRecord]:
        """The store's attempts (spooled ones arrive there with the next delivery)."""
        return self.store.all()

    def pending(self) -> list[Path]:
        """The spooled attempts' files, oldest name first."""
        if not self.spool_dir.is_dir():
            return []
        return sorted(self.spool_dir.glob("*.json"))

    def sync(self) -> SyncResult:
        """Deliver every spooled attempt now.

        Raises:
            RecordsUnavailable: the database is still away (the spool keeps them).
        """
        with self._lock:
            delivered = self._deliver()
            return SyncResult(delivered, len(self.pending()))

    def _deliver(self) -> int:
        delivered = 0
        for path in self.pending():
            try:
                record, uid = _load(path)
            except RecordsError as exc:
                # A damaged file must not block the ones behind it; it stays for a person.
                path.replace(path.with_suffix(".rejected"))
                logger.error("spooled attempt set aside as %s: %s", path.with_suffix(".rejected").name,
                             exc.problem)
                continue
            self.store.append(record, uid)  # RecordsUnavailable stops here, file kept
            path.unlink(missing_ok=True)
            delivered += 1
        if delivered:
            logger.info("%d spooled attempt(s) delivered to %s", delivered, self.name)
        return delivered

    def _spool(self, record: AttemptRecord, uid: str) -> None:
        document = asdict(record)
        if record.report is not None:
            document["report"] = base64.b64encode(record.report).decode("ascii")
        body = json.dumps({"format": SPOOL_FORMAT, "uid": uid, "record": document})
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            write_atomic(self.spool_dir / f"{record.started:017.6f}-{uid}.json", body.encode())
        except (FileAccessError, OSError) as exc:
            raise RecordsError(str(self.spool_dir), f"cannot spool the attempt: {exc}") from exc


def _load(path: Path) -> tuple[AttemptRecord, str]:
    try:
        document = json.loads(read_limited(path, MAX_SPOOL_FILE, regular_only=True))
        if document.get("format") != SPOOL_FORMAT:
            raise ValueError("format")
        fields = dict(document["record"])
        if fields.get("report") is not None:
            fields["report"] = base64.b64decode(fields["report"], validate=True)
        return AttemptRecord(**fields), str(uuid.UUID(document["uid"]))
    except (FileAccessError, ValueError, KeyError, TypeError, AttributeError,
            binascii.Error, RecursionError) as exc:
        raise RecordsError(str(path), f"not a spooled attempt ({type(exc).__name__})",
                           ) from exc
