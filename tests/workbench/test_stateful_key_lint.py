"""`suitwb lint` warns (PRJ003) about HSS-LMS keys on this machine that are nearly used up
or refused (issue 16)."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing import hsslms
from tests.signing.hsslms_keys import small_key
from workbench.project.lint import ALL_RULES
from workbench.stateful_keys import low_key_findings


def test_a_low_key_is_a_prj003_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path / "data"))
    key = tmp_path / "k.hss"
    small_key(key, tmp_path / "data")
    assert list(low_key_findings()) == []
    signer = hsslms.HssLmsSigner(key)
    for n in range(28):
        signer.sign(b"%d" % n)
    assert list(low_key_findings()) == []  # 4 of 32 left: not under 10 % (3.2)
    signer.sign(b"one more")
    (finding,) = low_key_findings()
    assert finding.id == "PRJ003" and ALL_RULES["PRJ003"] is finding.rule
    assert finding.message == f"HSS-LMS key {key} has 3 of 32 signatures left"


def test_a_missing_key_file_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path / "data"))
    key = tmp_path / "k.hss"
    small_key(key, tmp_path / "data")
    key.unlink()
    (finding,) = low_key_findings()
    assert "cannot sign" in finding.message and "no such file" in finding.message
