"""GUI test fixtures: a private data dir (settings, demo workspace) per test, and the
artifacts folder screenshots are written to."""

from __future__ import annotations

from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "gui"


@pytest.fixture(autouse=True)
def data_dir(tmp_path, monkeypatch) -> Path:
    """SUITWB_DATA_DIR in a temp dir, so no test touches the person's settings."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("SUITWB_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def artifacts() -> Path:
    """artifacts/gui/, created on demand (git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
