"""The encryption benchmark (issue 16) runs as documented with a small payload: every
contender reports, the round trip is exact (the benchmark checks it and exits otherwise),
and the size comes from --size-mib or SUITWB_BENCH_ENCRYPTION_MIB."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks.encryption import size_from

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_benchmarks_encryption_with_a_small_payload() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks", "encryption", "--size-mib", "2"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == ["== encryption",
                         "payload: 2 MiB of random data, 1024 KiB chunks, best of 3"]
    ours = [line for line in lines if line.startswith("ours ")]
    assert [line.split(":")[0] for line in ours] == [
        "ours ctr encrypt", "ours gcm encrypt", "ours ctr decrypt", "ours gcm decrypt"]
    for line in ours:
        peak = float(re.search(r"peak RSS ([0-9.]+) MB", line).group(1))  # type: ignore[union-attr]
        assert 0 < peak < 150


def test_the_size_comes_from_the_option_or_the_environment(monkeypatch) -> None:
    monkeypatch.delenv("SUITWB_BENCH_ENCRYPTION_MIB", raising=False)
    assert size_from([]) == 1024
    assert size_from(["--size-mib", "8"]) == 8
    monkeypatch.setenv("SUITWB_BENCH_ENCRYPTION_MIB", "16")
    assert size_from([]) == 16 and os.environ["SUITWB_BENCH_ENCRYPTION_MIB"] == "16"
