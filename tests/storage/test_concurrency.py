"""8 stations at once on one PostgreSQL database (issue 18): every attempt stored exactly
once, and the audit log one linear chain that `suitwb audit verify` accepts against its
token anchor."""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from flasher.records_pg import PgRecords
from signing.audit import SigningAuditLog
from tests.fixtures.softhsm import SoftHsm
from tests.signing.cli import ROOT, suitwb

STATIONS, ATTEMPTS, SIGNATURES = 8, 60, 6


def test_eight_stations_record_and_sign_at_once(postgres_dsn: str, softhsm: SoftHsm,
                                                tmp_path: Path) -> None:
    anchor = softhsm.uri("release", object=f"audit-concurrency-{tmp_path.name}")
    suitwb("audit", "init", "--anchor", anchor, "--audit", postgres_dsn, data_dir=tmp_path)
    began = time.monotonic()
    stations = [subprocess.Popen([sys.executable, "-m", "tests.storage.station", postgres_dsn,
                                  f"st-{n}", str(ATTEMPTS), str(SIGNATURES)], cwd=ROOT,
                                 stderr=subprocess.PIPE, text=True) for n in range(STATIONS)]
    for station in stations:
        _, err = station.communicate(timeout=120)
        assert station.returncode == 0, err
    elapsed = time.monotonic() - began
    rows = PgRecords(postgres_dsn).all()
    assert len(rows) == STATIONS * ATTEMPTS
    per_station = Counter(r.station for r in rows)
    assert per_station == {f"st-{n}": ATTEMPTS for n in range(STATIONS)}
    assert len({(r.station, r.port) for r in rows}) == len(rows)  # none twice
    log = SigningAuditLog(postgres_dsn)
    raw = log.raw_records()
    assert [r.seq for r in raw] == list(range(1, STATIONS * SIGNATURES + 1))
    assert Counter(r.fields["operator"] for r in raw) == {f"st-{n}": SIGNATURES
                                                          for n in range(STATIONS)}
    assert len({r.fields["output_path"] for r in raw}) == len(raw)
    verified = suitwb("audit", "verify", "--audit", postgres_dsn, data_dir=tmp_path)
    assert f"intact and anchored: {len(raw)} record(s)" in verified.stdout
    assert elapsed < 60, f"8 stations took {elapsed:.1f} s"
