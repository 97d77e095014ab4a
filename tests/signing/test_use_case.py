"""The application-layer use case: sign file -> file + audit record, and its order of
effects (nothing written when anything before the write fails)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from signing.audit import SigningAuditLog
from signing.backends import open_signer
from signing.errors import AuditError, EnvelopeFileError, OutputError
from signing.files import write_atomic
from suit.errors import DigestMismatch
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb
from workbench.signing import sign_file

EXAMPLE = MANIFEST_SPEC / "example1-unsigned.cbor"


def test_sign_file_records_what_it_wrote(software_keys, tmp_path: Path) -> None:
    log = SigningAuditLog(tmp_path / "audit.sqlite3")
    signer = open_signer(str(software_keys.path("Ed25519")))
    outcome = sign_file(EXAMPLE, tmp_path / "out.suit", signer, log, operator="release-bot")
    (seq, record), = log.entries()
    assert seq == outcome.audit_seq == 1 and outcome.blocks == 1
    assert record.operator == "release-bot" and record.algorithm == "ED25519"
    assert record.output_digest == hashlib.sha256((tmp_path / "out.suit").read_bytes()).hexdigest()
    assert record.kid == signer.identity.kid.hex() and record.sequence_number == "1"
    assert record.key_reference == str(software_keys.path("Ed25519"))


def test_cli_operator_and_bad_inputs(software_keys, tmp_path: Path) -> None:
    key = software_keys.path("P-256")
    suitwb("sign", EXAMPLE, "-o", tmp_path / "o.suit", "--key", key, "--operator", "carol",
           data_dir=tmp_path)
    assert "carol@" in suitwb("audit", "show", data_dir=tmp_path).stdout
    (tmp_path / "junk.suit").write_bytes(b"\xa1\x02")
    for source, words in ((tmp_path / "missing.suit", "cannot read"), (tmp_path / "junk.suit", "")):
        result = suitwb("sign", source, "-o", tmp_path / "x.suit", "--key", key, data_dir=tmp_path,
                        check=False)
        assert result.returncode == 2 and words in result.stderr and "Traceback" not in result.stderr
    bad_alg = suitwb("sign", EXAMPLE, "-o", tmp_path / "x.suit", "--key", key, "--alg", "RS256",
                     data_dir=tmp_path, check=False)
    assert bad_alg.returncode == 2 and "unknown algorithm" in bad_alg.stderr
    assert not (tmp_path / "x.suit").exists()


def test_nothing_is_written_when_the_audit_log_fails(software_keys, tmp_path: Path) -> None:
    (tmp_path / "not-a-dir").write_text("a file where the log's directory should be")
    log = SigningAuditLog(tmp_path / "not-a-dir" / "audit.sqlite3")
    with pytest.raises(AuditError):
        sign_file(EXAMPLE, tmp_path / "out.suit", open_signer(str(software_keys.path("P-256"))), log)
    assert not (tmp_path / "out.suit").exists()


def test_a_tampered_manifest_is_not_signed(software_keys, tmp_path: Path) -> None:
    data = bytearray(EXAMPLE.read_bytes())
    data[-1] ^= 0x01  # the last byte belongs to the manifest: its digest no longer matches
    (tmp_path / "t.suit").write_bytes(bytes(data))
    with pytest.raises(DigestMismatch):
        sign_file(tmp_path / "t.suit", tmp_path / "out.suit",
                  open_signer(str(software_keys.path("P-256"))), SigningAuditLog(tmp_path / "a.db"))
    assert not (tmp_path / "out.suit").exists()
    with pytest.raises(EnvelopeFileError):
        sign_file(tmp_path / "absent", tmp_path / "out.suit",
                  open_signer(str(software_keys.path("P-256"))), SigningAuditLog(tmp_path / "a.db"))


def test_atomic_write_leaves_old_file_or_new_one(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    write_atomic(target, b"old")
    write_atomic(target, b"new")
    assert target.read_bytes() == b"new" and os.listdir(tmp_path) == ["out.bin"]
    with pytest.raises(OutputError):
        write_atomic(tmp_path / "no-such-dir" / "f", b"x")
