"""The signing audit log's suite run against both backends (issue 18): SQLite with its head
file, and PostgreSQL with its head row. Tampering is caught by the chain alone, and what
only an anchor can catch (a forger who also rewrites the head) is caught by the SoftHSM2
token in both."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from signing.audit import AUDIT_FILE, FIELDS, SigningAuditLog, new_record
from signing.errors import AuditChainBroken
from signing.hashlog import record_hash
from tests.fixtures.postgres import PASSWORD
from tests.fixtures.softhsm import SoftHsm
from tests.signing.cli import suitwb


@dataclass
class Backend:
    """One audit log under test and the raw access a forger of its storage has."""

    kind: str
    target: str  # the file or the DSN, as --audit takes it
    data_dir: Path

    @property
    def table(self) -> str:
        return "records" if self.kind == "sqlite" else "audit_records"

    def sql(self, statement: str, params: tuple[object, ...] = ()) -> None:
        statement = statement.replace("{t}", self.table)
        if self.kind == "sqlite":
            import sqlite3
            with sqlite3.connect(self.target, isolation_level=None) as db:
                db.execute(statement.replace("%s", "?"), params)
        else:
            with psycopg.connect(self.target, autocommit=True) as conn:
                conn.execute(statement, params)  # type: ignore[arg-type]

    def set_head(self, count: int, digest: str) -> None:
        if self.kind == "sqlite":
            Path(self.target + ".head").write_text(json.dumps({"count": count, "hash": digest}))
        else:
            self.sql("UPDATE audit_head SET count=%s, hash=%s", (count, digest))

    def drop_all(self) -> None:
        if self.kind == "sqlite":
            Path(self.target).unlink()
            Path(self.target + ".head").unlink()
        else:
            self.sql("DELETE FROM audit_records")
            self.sql("DELETE FROM audit_head")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", str(tmp_path / AUDIT_FILE), tmp_path)
    else:
        yield Backend("postgres", request.getfixturevalue("postgres_dsn"), tmp_path)


def fill(backend: Backend, count: int = 4, *, operator: str = "alice") -> SigningAuditLog:
    log = SigningAuditLog(backend.target if backend.kind == "postgres" else Path(backend.target))
    for i in range(count):
        log.append(new_record(key_reference=f"pkcs11:token=release;object=k{i}", kid=bytes([i]) * 4,
                              algorithm="ESP256", manifest_digest=bytes([i]) * 32,
                              sequence_number=i, output_path=f"/out/{i}.suit",
                              output=b"envelope %d" % i, operator=operator))
    return log


def forge_append(backend: Backend, *, rewrite_head: bool) -> None:
    last = fill(backend, 0).raw_records()[-1]
    fields = dict(last.fields, operator="mallory")
    digest = record_hash(last.seq + 1, fields, last.hash)
    backend.sql(f"INSERT INTO {{t}} (seq, {', '.join(FIELDS)}, prev_hash, hash) VALUES "
                f"({', '.join(['%s'] * (len(FIELDS) + 3))})",
                (last.seq + 1, *fields.values(), last.hash, digest))
    if rewrite_head:
        backend.set_head(last.seq + 1, digest)


def truncate_with_head(backend: Backend) -> None:
    records = fill(backend, 0).raw_records()
    backend.sql("DELETE FROM {t} WHERE seq>=3")
    backend.set_head(2, records[1].hash)


TAMPERING: dict[str, tuple[Callable[[Backend], None], int, str]] = {
    "edit": (lambda b: b.sql("UPDATE {t} SET operator='mallory' WHERE seq=2"), 2, "edited"),
    "delete": (lambda b: b.sql("DELETE FROM {t} WHERE seq=2"), 2, "missing"),
    "truncate": (lambda b: b.sql("DELETE FROM {t} WHERE seq>=3"), 3, "truncated"),
    "append": (lambda b: forge_append(b, rewrite_head=False), 5, "appended"),
}
ANCHOR_ONLY: dict[str, tuple[Callable[[Backend], None], int, str]] = {
    "append-and-head": (lambda b: forge_append(b, rewrite_head=True), 5, "appended"),
    "truncate-and-head": (truncate_with_head, 3, "truncated"),
    "delete-all": (Backend.drop_all, 1, "deleted"),
}


def verify(backend: Backend, *args: str) -> tuple[int, str, str]:
    result = suitwb("audit", "verify", "--audit", backend.target, *args,
                    data_dir=backend.data_dir, check=False)
    return result.returncode, result.stdout, result.stderr


def test_records_chain_in_both(backend: Backend) -> None:
    log = fill(backend, 3)
    assert log.verify() == 3
    raw = log.raw_records()
    assert [r.seq for r in raw] == [1, 2, 3] and raw[2].prev_hash == raw[1].hash
    assert raw[2].hash == record_hash(3, raw[2].fields, raw[1].hash)
    assert log.entries()[0][1].operator == "alice"
    status, out, _ = verify(backend)
    assert status == 1 and "self-consistent only, not anchored (3 record(s))" in out


@pytest.mark.parametrize("how", TAMPERING)
def test_tampering_is_detected_without_an_anchor(backend: Backend, how: str) -> None:
    fill(backend)
    tamper, first_bad, words = TAMPERING[how]
    tamper(backend)
    status, _, err = verify(backend)
    assert status == 1 and err.startswith(f"suitwb: error: audit record {first_bad}:")
    assert words in err and "Traceback" not in err


@pytest.mark.parametrize("how", [*TAMPERING, *ANCHOR_ONLY])
def test_tampering_is_detected_against_the_token(backend: Backend, softhsm: SoftHsm,
                                                 how: str) -> None:
    uri = softhsm.uri("release", object=f"audit-{backend.kind}-{backend.data_dir.name}")
    suitwb("audit", "init", "--anchor", uri, "--audit", backend.target, data_dir=backend.data_dir)
    fill(backend)
    status, out, _ = verify(backend)
    assert status == 0 and "intact and anchored: 4 record(s)" in out
    tamper, first_bad, words = {**TAMPERING, **ANCHOR_ONLY}[how]
    tamper(backend)
    status, _, err = verify(backend)
    assert status == 1 and f"audit record {first_bad}:" in err and words in err


def test_postgres_head_row_gone_is_broken(postgres_dsn: str, tmp_path: Path) -> None:
    backend = Backend("postgres", postgres_dsn, tmp_path)
    log = fill(backend, 2)
    backend.sql("DELETE FROM audit_head")
    with pytest.raises(AuditChainBroken, match="head row is missing"):
        log.verify()


def test_password_in_the_dsn_never_reaches_output(postgres_dsn: str, tmp_path: Path) -> None:
    with_password = postgres_dsn.replace("suitwb@", f"suitwb:{PASSWORD}@")
    backend = Backend("postgres", with_password, tmp_path)
    fill(backend, 1)
    status, out, err = verify(backend)
    assert status == 1 and PASSWORD not in out + err and "suitwb:***@" in out
    wrong = with_password.replace(PASSWORD, "Wrong-Pw-8k")
    result = suitwb("-v", "audit", "show", "--audit", wrong, data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "Wrong-Pw-8k" not in result.stdout + result.stderr
    assert "suitwb: error: " in result.stderr and "Traceback" not in result.stderr
    written = [f for f in tmp_path.rglob("*") if f.is_file()]  # logs, settings, anything
    assert not [f for f in written if PASSWORD.encode() in f.read_bytes()
                            or b"Wrong-Pw-8k" in f.read_bytes()]
