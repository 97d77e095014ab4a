"""The signing audit log: records, and tampering detected by `suitwb audit verify`."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from signing.audit import AUDIT_FILE, FIELDS, SigningAuditLog, default_data_dir, new_record
from signing.errors import AuditChainBroken
from signing.hashlog import record_hash
from tests.signing.cli import suitwb


def _fill(data_dir: Path, count: int = 4) -> SigningAuditLog:
    log = SigningAuditLog(data_dir / AUDIT_FILE)
    for i in range(count):
        log.append(new_record(key_reference=f"pkcs11:token=release;object=k{i}", kid=bytes([i]) * 4,
                              algorithm="ESP256", manifest_digest=bytes([i]) * 32,
                              sequence_number=i, output_path=f"/out/{i}.suit",
                              output=b"envelope %d" % i, operator="alice"))
    return log


def _db(data_dir: Path) -> sqlite3.Connection:
    return sqlite3.connect(data_dir / AUDIT_FILE, isolation_level=None)


def test_records_hold_what_the_issue_lists(tmp_path: Path) -> None:
    log = _fill(tmp_path, 2)
    assert log.verify() == 2
    seq, record = log.entries()[1]
    assert seq == 2 and record.operator == "alice" and record.kid == "01010101"
    assert record.sequence_number == "1" and record.algorithm == "ESP256"
    assert record.time_utc.endswith("+00:00") and record.host
    assert set(FIELDS) >= {"time_utc", "operator", "host", "key_reference", "kid", "algorithm",
                           "manifest_digest", "sequence_number", "output_digest"}
    raw = log.raw_records()
    assert raw[1].prev_hash == raw[0].hash
    assert raw[1].hash == record_hash(2, raw[1].fields, raw[0].hash)


def test_data_dir_from_environment(tmp_path: Path) -> None:
    assert default_data_dir({"SUITWB_DATA_DIR": str(tmp_path)}) == tmp_path
    assert default_data_dir({}).name == "suit-workbench"


def _swap(db: sqlite3.Connection) -> None:
    rows = {r[0]: r[1:] for r in db.execute("SELECT * FROM records WHERE seq IN (2, 3)")}
    columns = [c[1] for c in db.execute("PRAGMA table_info(records)")][1:]
    for seq, other in ((2, 3), (3, 2)):
        db.execute(f"UPDATE records SET {', '.join(c + '=?' for c in columns)} WHERE seq=?",
                   (*rows[other], seq))


TAMPERING = {
    "edit": (lambda db: db.execute("UPDATE records SET operator='mallory' WHERE seq=2"),
             2, "edited"),
    "delete": (lambda db: db.execute("DELETE FROM records WHERE seq=2"), 2, "missing"),
    "swap": (_swap, 2, "does not follow"),
    "truncate": (lambda db: db.execute("DELETE FROM records WHERE seq>=3"), 3, "truncated"),
}


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_is_detected_by_the_cli(how: str, tmp_path: Path) -> None:
    _fill(tmp_path)
    assert "4 record(s), hash chain intact" in suitwb("audit", "verify", data_dir=tmp_path).stdout
    tamper, first_bad, words = TAMPERING[how]
    with _db(tmp_path) as db:
        tamper(db)
    result = suitwb("audit", "verify", data_dir=tmp_path, check=False)
    assert result.returncode == 1
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(f"suitwb: error: audit record {first_bad}:") and words in error
    assert hint.startswith("suitwb: hint: ")


def test_a_rewritten_chain_is_caught_by_the_head(tmp_path: Path) -> None:
    log = _fill(tmp_path)
    with _db(tmp_path) as db:  # edit record 4 and recompute its hash: the chain holds
        fields = log.raw_records()[3].fields | {"operator": "mallory"}
        new_hash = record_hash(4, fields, log.raw_records()[2].hash)
        db.execute("UPDATE records SET operator='mallory', hash=? WHERE seq=4", (new_hash,))
    with pytest.raises(AuditChainBroken) as info:
        log.verify()
    assert info.value.record == 4 and "rewritten" in info.value.problem


def test_a_truncated_file_is_an_error(tmp_path: Path) -> None:
    _fill(tmp_path)
    path = tmp_path / AUDIT_FILE
    path.write_bytes(path.read_bytes()[:1000])
    result = suitwb("audit", "verify", data_dir=tmp_path, check=False)
    assert result.returncode != 0 and "suitwb: error: " in result.stderr
    assert "Traceback" not in result.stderr


def test_show_lists_every_record(tmp_path: Path) -> None:
    _fill(tmp_path, 3)
    out = suitwb("audit", "show", data_dir=tmp_path).stdout
    assert "3 record(s)" in out and out.count("alice@") == 3
