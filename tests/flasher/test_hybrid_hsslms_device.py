"""Hybrid ESP256 + HSS-LMS (issue 16): one release signed by a classical and a hash-based
key, two COSE_Sign1 blocks. `verify --require all` accepts it and refuses it with either
signature removed; the virtual device configured with both trust anchors (a PEM key and the
HSS-LMS COSE_Key) and `--require all` installs it over the real protocol and refuses the
stripped envelopes. Real `suitwb` subprocesses throughout."""

from __future__ import annotations

import hashlib
import json
import uuid
from functools import partial
from pathlib import Path

from tests.fixtures.projects import generate_hss_lms, generate_key, write_project
from tests.flasher.cli import device_serve, suitwb
from tests.signing.mldsa_support import without_block

IMAGE = bytes(range(256)) * 40
VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
CLASS = uuid.uuid5(VENDOR, "widget")


def _release(folder: Path) -> tuple[Path, Path, Path]:
    """The hybrid envelope and the two public keys (PEM, COSE_Key)."""
    run = partial(suitwb, data_dir=folder)
    generate_key(run, folder / "ec.pem", "--alg", "ESP256")
    suitwb("keys", "export", "--key", folder / "ec.pem", "-o", folder / "ec.pub.pem",
           data_dir=folder)
    pq = generate_hss_lms(run, folder / "pq.hss")
    write_project(folder, IMAGE, 'integrated = true\n[component.image]\nfile = "app.bin"',
                  staging=None, sequence_number=4, name="hybrid")
    envelope = folder / "hybrid.suit"
    built = suitwb("build", folder / "project.toml", "-o", envelope, "--sign", folder / "ec.pem",
                   "--sign", folder / "pq.hss", data_dir=folder)
    assert "2 signature(s)" in built.stdout, built.stdout
    shown = suitwb("inspect", envelope, data_dir=folder).stdout
    assert [line.split()[:3] for line in shown.splitlines() if line.startswith("auth")] == [
        ["authentication", "COSE_Sign1", "ESP256"], ["authentication", "COSE_Sign1", "HSS-LMS"]]
    return envelope, folder / "ec.pub.pem", pq


def _verify(envelope: Path, ec: Path, pq: Path, folder: Path) -> tuple[int, str]:
    done = suitwb("verify", envelope, "--key", ec, "--key", pq, "--require", "all",
                  data_dir=folder, check=False)
    assert "Traceback" not in done.stderr
    return done.returncode, done.stderr


def test_hybrid_esp256_hsslms_under_require_all_cli_and_device(tmp_path: Path) -> None:
    envelope, ec, pq = _release(tmp_path)
    code, err = _verify(envelope, ec, pq, tmp_path)
    assert code == 0 and "ESP256 (-9) by" in err and "HSS-LMS (-46) by" in err, err
    stripped = {}
    for index, missing in ((1, ec), (2, pq)):
        path = tmp_path / f"without-{missing.name}.suit"
        path.write_bytes(without_block(envelope.read_bytes(), index))
        code, err = _verify(path, ec, pq, tmp_path)
        assert code == 1 and f"no authentication block verifies with {missing}" in err, err
        stripped[missing.name] = path

    with device_serve("--state", tmp_path / "state", "--trust-anchor", ec, "--trust-anchor", pq,
                      "--require", "all", "--vendor-id", VENDOR, "--class-id", CLASS,
                      data_dir=tmp_path) as port:
        for path in stripped.values():
            done = suitwb("flash", path, "--port", port, "--json", data_dir=tmp_path, check=False)
            [outcome] = json.loads(done.stdout)
            assert (done.returncode, outcome["refusal"]) == (1, "unauthorised"), outcome
        done = suitwb("flash", envelope, "--port", port, "--json", data_dir=tmp_path, check=False)
        [outcome] = json.loads(done.stdout)
        assert (done.returncode, outcome["result"]) == (0, "ok"), (outcome, done.stderr)
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    app = status["components"][0]
    assert (app["sequence_number"], app["digest"]) == (4, hashlib.sha256(IMAGE).hexdigest())
