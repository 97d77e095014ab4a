"""The builder: determinism, streaming digests, integrated payloads, sequence numbers,
explicit sequences, signing with several keys, atomic output, typed errors."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from signing.audit import SigningAuditLog
from signing.backends import open_signer
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.model import Command, Parameter
from suit.verify import verify_envelope
from tests.workbench.conftest import GOLDEN, run_suitwb
from workbench.project.builder import BuildOptions, build_project, write_envelope
from workbench.project.errors import BuildError, ImageError, ProjectFileError
from workbench.project.images import digest_file
from workbench.project.model import Component, Device, Image, Project
from workbench.project.projectfile import dumps_project, load_project, loads_project


def _firmware(folder: Path, size: int = 3 * 1024 * 1024 + 17) -> Path:
    path = folder / "app.bin"
    path.write_bytes(bytes(range(256)) * (size // 256) + b"x" * (size % 256))
    return path


def _project(folder: Path, **component: object) -> Project:
    _firmware(folder)
    settings = {"image": Image(file="app.bin"), "uri": "https://example.com/app.bin",
                "invoke": True, **component}
    return Project(sequence_number=7, device=Device("example.com", "widget"),
                   components=[Component("app", ["h'00'"], **settings)],
                   path=folder / "project.toml")


def test_streamed_digest_matches_hashlib(tmp_path: Path) -> None:
    path = _firmware(tmp_path)
    info = digest_file(path)
    data = path.read_bytes()
    assert info.size == len(data) == 3 * 1024 * 1024 + 17
    assert info.digest.value == hashlib.sha256(data).digest()


def test_image_digest_and_size_go_into_the_shared_sequence(tmp_path: Path) -> None:
    result = build_project(_project(tmp_path))
    shared = result.envelope.manifest.common.shared_sequence.commands
    params = shared[0].argument
    data = (tmp_path / "app.bin").read_bytes()
    assert params[Parameter.IMAGE_DIGEST].value == hashlib.sha256(data).digest()
    assert params[Parameter.IMAGE_SIZE] == len(data)
    assert [c.command for c in shared[1:]] == [Command.VENDOR_IDENTIFIER, Command.CLASS_IDENTIFIER]


def test_same_project_same_bytes_across_processes(tmp_path: Path) -> None:
    """Deterministic: two separate processes, other hash seeds and cwd, same bytes."""
    project = _project(tmp_path)
    (tmp_path / "project.toml").write_text(dumps_project(project))
    outputs = []
    for seed in ("1", "2"):
        out = tmp_path / f"out{seed}.suit"
        result = run_suitwb("build", tmp_path / "project.toml", "-o", out,
                            cwd=tmp_path.parent, env={"PYTHONHASHSEED": seed})
        assert result.returncode == 0, result.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] == build_project(load_project(tmp_path / "project.toml")).data


def test_integrated_payload_is_carried_under_its_uri(tmp_path: Path) -> None:
    result = build_project(_project(tmp_path, uri=None, integrated=True))
    assert result.envelope.integrated["#app"] == (tmp_path / "app.bin").read_bytes()
    install = result.envelope.manifest.install.commands
    assert install[0].argument == {Parameter.URI: "#app"}


def test_utc_sequence_number_comes_from_source_date_epoch(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.sequence_number = "utc"
    options = BuildOptions(environ={"SOURCE_DATE_EPOCH": "1760000000"}, clock=lambda: 5.0)
    result = build_project(project, options)
    assert result.envelope.manifest.sequence_number == 1760000000
    assert result.sequence_source == "SOURCE_DATE_EPOCH"
    fallback = build_project(project, BuildOptions(environ={}, clock=lambda: 1234.9))
    assert (fallback.envelope.manifest.sequence_number, fallback.sequence_source) == (1234, "clock")
    assert build_project(project, BuildOptions(sequence_number=9)).sequence_source == "option"


def test_signed_by_two_keys_verifies_with_either_and_is_audited(
        tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ed25519
    second = tmp_path / "ed.pem"
    second.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    signers = [open_signer(str(signing_key[0])), open_signer(str(second))]
    result = build_project(_project(tmp_path), BuildOptions(signers=signers))
    for signer in signers:
        signer.close()
    log = SigningAuditLog(tmp_path / "audit.sqlite3")
    out = tmp_path / "release.suit"
    write_envelope(result, out, log)
    envelope = decode_envelope(out.read_bytes())
    assert len(envelope.authentication.blocks) == 2
    anchor = TrustAnchor.from_pem(signing_key[1].read_bytes(), "release")
    assert verify_envelope(envelope, [anchor]).authentic
    records = [r for _, r in log.entries()]
    assert [r.sequence_number for r in records] == ["7", "7"]
    assert records[0].manifest_digest == result.manifest_digest.hex()
    # Signing changes nothing in the manifest.
    assert result.manifest == build_project(_project(tmp_path)).manifest


def test_explicit_sequence_replaces_the_generated_one(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.sequences["invoke"] = [
        {"override-parameters": {"invoke-args": "h'0102'"}}, {"invoke": ["record-on-failure"]}]
    invoke = build_project(project).envelope.manifest.invoke.commands
    assert invoke[0].argument == {Parameter.INVOKE_ARGS: b"\x01\x02"}
    assert (invoke[1].command, invoke[1].argument) == (Command.INVOKE, 2)


def test_explicit_references_and_try_each(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.sequences["validate"] = [{"try-each": [
        [{"override-parameters": {"image-digest": "@app", "image-size": "@app"}},
         {"image-match": 15}], "nil"]}]
    validate = build_project(project).envelope.manifest.validate.commands
    first, last = validate[0].argument
    assert last is None
    digest = hashlib.sha256((tmp_path / "app.bin").read_bytes()).digest()
    assert first.commands[0].argument[Parameter.IMAGE_DIGEST].value == digest


def test_failed_build_leaves_the_previous_output(tmp_path: Path) -> None:
    project_file = tmp_path / "project.toml"
    project_file.write_text((GOLDEN / "example0.toml").read_text())
    out = tmp_path / "out.suit"
    assert run_suitwb("build", project_file, "-o", out).returncode == 0
    before = out.read_bytes()
    project_file.write_text(project_file.read_text().replace('size = 34768', 'size = "big"'))
    failed = run_suitwb("build", project_file, "-o", out)
    assert failed.returncode == 2
    assert "component[0].image.size" in failed.stderr and "suitwb: hint:" in failed.stderr
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


def test_project_file_round_trips(tmp_path: Path) -> None:
    for name in ("example2.toml", "example4.toml", "td_example1_process.toml"):
        original = load_project(GOLDEN / name)
        again = loads_project(dumps_project(original))
        again.path = original.path
        assert build_project(again).data == build_project(original).data


@pytest.mark.parametrize("text, where", [
    ('nmae = "x"', "nmae"),
    ('[[component]]\nname = "a"\nid = ["h\'0\'"]\ncontent = "x"', "component[0].id[0]"),
    ('[[component]]\nname = "a"', "component[0]"),
    ('[device]\nvendor-domain = "arm.com"\nvendor-id = "00000000-0000-0000-0000-000000000000"\n'
     '[[component]]\nname = "a"\nid = ["x"]\ncontent = "x"', "device.vendor-id"),
])
def test_bad_project_files_name_the_member(text: str, where: str) -> None:
    with pytest.raises(ProjectFileError) as caught:
        build_project(loads_project(text))
    assert caught.value.where.startswith(where) and caught.value.hint


def test_missing_image_and_bad_reference_are_typed(tmp_path: Path) -> None:
    project = _project(tmp_path)
    os.remove(tmp_path / "app.bin")
    with pytest.raises(ImageError, match=r"app\.bin"):
        build_project(project)
    _firmware(tmp_path)
    project.components[0].staging = "nowhere"
    with pytest.raises(BuildError, match="nowhere"):
        build_project(project)
