"""The signing audit log: records, and tampering detected by `suitwb audit verify`, with
and without the chain head anchored in a real SoftHSM2 token (issue 11 item 9)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from signing.audit import (
    AUDIT_FILE,
    FIELDS,
    SigningAuditLog,
    default_data_dir,
    new_record,
)
from signing.audit_anchor import parse_anchor_uri, write_config
from signing.errors import TokenNotFound
from signing.hashlog import ChainHead, record_hash
from tests.fixtures.softhsm import SoftHsm
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


def _forge_append(data_dir: Path, *, rewrite_head: bool) -> None:
    """Append a record with a correct chain hash, as someone holding only the files can."""
    log = SigningAuditLog(data_dir / AUDIT_FILE)
    last = log.raw_records()[-1]
    fields = dict(last.fields, operator="mallory", output_digest="ee" * 32)
    seq = last.seq + 1
    digest = record_hash(seq, fields, last.hash)
    with _db(data_dir) as db:
        db.execute(f"INSERT INTO records (seq, {', '.join(FIELDS)}, prev_hash, hash) VALUES "
                   f"({', '.join('?' * (len(FIELDS) + 3))})",
                   (seq, *fields.values(), last.hash, digest))
    if rewrite_head:
        _head_file(data_dir).write_text(json.dumps({"count": seq, "hash": digest}))


def _rewrite_last(data_dir: Path) -> None:
    """Edit the last record, recompute its hash and the head file: the files agree."""
    log = SigningAuditLog(data_dir / AUDIT_FILE)
    records = log.raw_records()
    fields = records[-1].fields | {"operator": "mallory"}
    digest = record_hash(records[-1].seq, fields, records[-2].hash)
    with _db(data_dir) as db:
        db.execute("UPDATE records SET operator='mallory', hash=? WHERE seq=?",
                   (digest, records[-1].seq))
    _head_file(data_dir).write_text(json.dumps({"count": records[-1].seq, "hash": digest}))


def _truncate_with_head(data_dir: Path) -> None:
    records = SigningAuditLog(data_dir / AUDIT_FILE).raw_records()
    with _db(data_dir) as db:
        db.execute("DELETE FROM records WHERE seq>=3")
    _head_file(data_dir).write_text(json.dumps({"count": 2, "hash": records[1].hash}))


def _delete_log(data_dir: Path) -> None:
    (data_dir / AUDIT_FILE).unlink()
    _head_file(data_dir).unlink()


def _head_file(data_dir: Path) -> Path:
    return data_dir / (AUDIT_FILE + ".head")


def _sql(statement: str) -> Callable[[Path], None]:
    def run(data_dir: Path) -> None:
        with _db(data_dir) as db:
            _swap(db) if statement == "swap" else db.execute(statement)
    return run


# how -> (tampering, first bad record, words in the error)
TAMPERING: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "edit": (_sql("UPDATE records SET operator='mallory' WHERE seq=2"), 2, "edited"),
    "delete": (_sql("DELETE FROM records WHERE seq=2"), 2, "missing"),
    "swap": (_sql("swap"), 2, "does not follow"),
    "truncate": (_sql("DELETE FROM records WHERE seq>=3"), 3, "truncated"),
    "append": (lambda d: _forge_append(d, rewrite_head=False), 5, "appended"),
}
# What only the anchor in the token can catch: the files agree with each other.
ANCHOR_ONLY: dict[str, tuple[Callable[[Path], None], int, str]] = {
    "append-and-head": (lambda d: _forge_append(d, rewrite_head=True), 5, "appended"),
    "rewrite-and-head": (_rewrite_last, 4, "rewritten"),
    "truncate-and-head": (_truncate_with_head, 3, "truncated"),
    "delete-log-and-head": (_delete_log, 1, "deleted"),
}


def _verify_fails(data_dir: Path, first_bad: int, words: str, *args: str) -> None:
    result = suitwb("audit", "verify", *args, data_dir=data_dir, check=False)
    assert result.returncode == 1, result.stdout
    error, hint = result.stderr.strip().splitlines()
    assert error.startswith(f"suitwb: error: audit record {first_bad}:") and words in error
    assert hint.startswith("suitwb: hint: ") and "Traceback" not in result.stderr


@pytest.fixture
def anchored(softhsm: SoftHsm, tmp_path: Path) -> tuple[Path, str]:
    """A data dir whose log is anchored in the ``release`` token, holding 4 records."""
    uri = softhsm.uri("release", object=f"audit-{tmp_path.name}")
    init = suitwb("audit", "init", "--anchor", uri, data_dir=tmp_path)
    assert "anchored in pkcs11:token=release" in init.stdout and "at 0 record(s)" in init.stdout
    _fill(tmp_path)
    return tmp_path, uri


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_is_detected_without_an_anchor(how: str, tmp_path: Path) -> None:
    _fill(tmp_path)
    before = suitwb("audit", "verify", data_dir=tmp_path, check=False)
    assert "self-consistent only, not anchored (4 record(s))" in before.stdout
    tamper, first_bad, words = TAMPERING[how]
    tamper(tmp_path)
    _verify_fails(tmp_path, first_bad, words)


@pytest.mark.parametrize("how", [*TAMPERING, *ANCHOR_ONLY])
def test_tampering_is_detected_against_the_token(how: str, anchored: tuple[Path, str]) -> None:
    data_dir, _uri = anchored
    ok = suitwb("audit", "verify", data_dir=data_dir)
    assert "intact and anchored: 4 record(s), the head matches the token" in ok.stdout
    tamper, first_bad, words = {**TAMPERING, **ANCHOR_ONLY}[how]
    tamper(data_dir)
    _verify_fails(data_dir, first_bad, words)


def test_an_unanchored_log_never_verifies_as_success(tmp_path: Path) -> None:
    result = suitwb("audit", "verify", data_dir=tmp_path, check=False)
    assert result.returncode == 1 and "self-consistent only, not anchored (no log file)" \
        in result.stdout
    _fill(tmp_path)
    _delete_log(tmp_path)  # without an anchor, a deleted log cannot pass as intact
    again = suitwb("audit", "verify", data_dir=tmp_path, check=False)
    assert again.returncode == 1 and "not anchored (no log file)" in again.stdout


def test_a_missing_log_is_reported_where_the_head_says_one_existed(tmp_path: Path) -> None:
    _fill(tmp_path)
    (tmp_path / AUDIT_FILE).unlink()
    _verify_fails(tmp_path, 1, "the log file is gone but the head file")


def test_removing_the_anchor_file_too_is_caught_by_naming_the_anchor(
        anchored: tuple[Path, str]) -> None:
    data_dir, uri = anchored
    _delete_log(data_dir)
    (data_dir / (AUDIT_FILE + ".anchor")).unlink()
    alone = suitwb("audit", "verify", data_dir=data_dir, check=False)
    assert alone.returncode == 1 and "not anchored" in alone.stdout
    _verify_fails(data_dir, 1, "says 4 record(s) were written (deleted)", "--anchor", uri)


def test_appends_move_the_head_in_the_token(anchored: tuple[Path, str]) -> None:
    data_dir, uri = anchored
    log = SigningAuditLog(data_dir / AUDIT_FILE)
    anchor = log.anchor()
    assert anchor is not None and anchor.name == parse_anchor_uri(uri).redacted()
    assert anchor.read() == ChainHead(4, log.raw_records()[-1].hash)
    verdict = log.check()
    assert verdict.anchored and verdict.count == 4 and log.verify() == 4


def test_no_record_when_the_anchor_cannot_be_moved(softhsm: SoftHsm, tmp_path: Path) -> None:
    log = _fill(tmp_path, 2)
    write_config(log.path, parse_anchor_uri(softhsm.uri("no-such-token", object="head")))
    with pytest.raises(TokenNotFound):
        _fill(tmp_path, 1)
    assert len(log.raw_records()) == 2 and log._log.verify().count == 2


def test_anchor_misuse_is_refused(anchored: tuple[Path, str], softhsm: SoftHsm) -> None:
    data_dir, uri = anchored
    again = suitwb("audit", "init", "--anchor", uri, data_dir=data_dir, check=False)
    assert again.returncode == 2 and "anchored already" in again.stderr
    other = data_dir / "other"
    taken = suitwb("audit", "init", "--anchor", uri, data_dir=other, check=False)
    assert taken.returncode == 2 and "already holds an object with this label" in taken.stderr
    with_pin = softhsm.uri("release", pin=False, object="x") + f"&pin-value={softhsm.user_pin}"
    refused = suitwb("audit", "init", "--anchor", with_pin, data_dir=other, check=False)
    assert refused.returncode == 2 and "not pin-value" in refused.stderr
    assert softhsm.user_pin not in refused.stderr
    for bad in ("/tmp/key.pem", softhsm.uri("release"), softhsm.uri("release", object="x",
                                                                     type="private")):
        result = suitwb("audit", "init", "--anchor", bad, data_dir=other, check=False)
        assert result.returncode == 2 and "suitwb: error: " in result.stderr


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
