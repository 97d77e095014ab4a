"""One station process of the concurrency test: ATTEMPTS factory records and SIGNATURES
audit records, interleaved, into the shared database (run as ``python -m``)."""

from __future__ import annotations

import sys
import time

from flasher.records import AttemptRecord
from flasher.records_pg import PgRecords
from signing.audit import SigningAuditLog, new_record


def main(dsn: str, station: str, attempts: int, signatures: int) -> None:
    records, audit = PgRecords(dsn), SigningAuditLog(dsn)
    every = max(1, attempts // max(1, signatures))
    signed = 0
    for i in range(attempts):
        records.append(AttemptRecord(time.time(), 0.1, f"port-{i}", f"{i:08x}", "app.suit",
                                     "ab" * 32, 7, "ok", None, 1024, 1, "op", station))
        if i % every == 0 and signed < signatures:
            audit.append(new_record(key_reference="pkcs11:token=release;object=k", kid=b"k",
                                    algorithm="ESP256", manifest_digest=bytes(32),
                                    sequence_number=i, output_path=f"/out/{station}-{i}",
                                    output=b"x", operator=station))
            signed += 1


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
