"""Fixtures of the release-project tests: a software signing key made per session, the
CLI as a real subprocess, and a small project on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

GOLDEN = Path(__file__).resolve().parent / "golden"
SUITWB = Path(sys.executable).with_name("suitwb")


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A fresh P-256 key pair as PEM files (private, public)."""
    folder = tmp_path_factory.mktemp("keys")
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / "release.pem", folder / "release-public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private signing-audit-log folder for this test."""
    folder = tmp_path / "data"
    monkeypatch.setenv("SUITWB_DATA_DIR", str(folder))
    return folder


def run_suitwb(*args: str | Path, cwd: Path | None = None,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the installed `suitwb` as a subprocess (what CI runs)."""
    return subprocess.run([str(SUITWB), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env={**os.environ, **(env or {})}, timeout=60)
