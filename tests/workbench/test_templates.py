"""Acceptance: every template builds, signs, verifies and lints clean, through the real
`suitwb` command line."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from suit.codec import decode_envelope
from tests.signing.test_mcuboot import imgtool_verify
from tests.workbench.conftest import run_suitwb
from workbench.project.errors import TemplateError
from workbench.project.mcuboot import image_path
from workbench.project.projectfile import load_project
from workbench.project.templates import NAMES, create_project, list_templates


def test_list_names_every_template() -> None:
    result = run_suitwb("new", "--list")
    assert result.returncode == 0, result.stderr
    listed = [line.split()[0] for line in result.stdout.splitlines()]
    assert listed == list(NAMES)
    assert {t.name for t in list_templates()} == set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_template_builds_signs_verifies_and_lints_clean(
        name: str, tmp_path: Path, signing_key: tuple[Path, Path], data_dir: Path) -> None:
    private, public = signing_key
    project = tmp_path / name
    created = run_suitwb("new", "--template", name, project)
    assert created.returncode == 0, created.stderr
    out = tmp_path / f"{name}.suit"
    built = run_suitwb("build", project, "-o", out, "--sign", private)
    assert built.returncode == 0, built.stderr
    envelope = decode_envelope(out.read_bytes())
    assert len(envelope.authentication.blocks) == 1
    assert envelope.authentication.blocks[0].message.algorithm == -9  # ESP256 by default
    verified = run_suitwb("verify", out, "--key", public)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    for target in (out, project):
        linted = run_suitwb("lint", target)
        assert linted.returncode == 0, linted.stdout
        assert "0 error(s), 0 warning(s)" in linted.stdout


def test_mcuboot_template_signs_its_image_and_the_envelope(
        tmp_path: Path, signing_key: tuple[Path, Path], data_dir: Path) -> None:
    """The `mcuboot` template: the envelope signed with --sign, the MCUboot image with
    --mcuboot-key; `suitwb verify` and `imgtool verify` accept them, lint is clean."""
    private, public = signing_key
    project = tmp_path / "mcuboot"
    assert run_suitwb("new", "--template", "mcuboot", project).returncode == 0
    out = tmp_path / "release.suit"
    built = run_suitwb("build", project, "-o", out, "--sign", private, "--mcuboot-key", private)
    assert built.returncode == 0, built.stderr
    assert run_suitwb("verify", out, "--key", public).returncode == 0
    image = image_path(out, "app").read_bytes()
    verified = imgtool_verify(image, public, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Image version: 1.0.0+0" in verified.stdout
    linted = run_suitwb("lint", out)
    assert linted.returncode == 0 and "0 error(s), 0 warning(s)" in linted.stdout
    audit = run_suitwb("audit", "show")
    assert audit.stdout.count(str(private)) == 2, audit.stdout  # envelope and image


@pytest.mark.parametrize("name", NAMES)
def test_new_project_records_its_device_ids(name: str, tmp_path: Path) -> None:
    project_file = create_project(name, tmp_path / "p", vendor_domain="acme.example",
                                  model="widget")
    device = load_project(project_file).device
    vendor = uuid.uuid5(uuid.NAMESPACE_DNS, "acme.example")
    assert device.vendor_id == str(vendor)
    assert device.class_id == str(uuid.uuid5(vendor, "widget"))
    # Comments of the template survive.
    assert project_file.read_text().startswith("#")


def test_new_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(TemplateError, match="not empty"):
        create_project("linux", tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_unknown_template_is_a_typed_error(tmp_path: Path) -> None:
    result = run_suitwb("new", "--template", "toaster", tmp_path / "x")
    assert result.returncode == 2
    assert "no such template" in result.stderr and "suitwb new --list" in result.stderr


def test_build_signs_with_a_key_in_a_real_token(tmp_path: Path, softhsm: object,
                                                data_dir: Path) -> None:
    """`--sign pkcs11:...` through the signing layer, on the session's SoftHSM2 token."""
    uri = softhsm.uri("release", object="workbench-build", id="%57%42")  # type: ignore[attr-defined]
    generated = run_suitwb("keys", "generate", "--key", uri, "--alg", "ESP256")
    assert generated.returncode == 0, generated.stderr
    public = tmp_path / "token-public.pem"
    exported = run_suitwb("keys", "export", "--key", uri, "-o", public)
    assert exported.returncode == 0, exported.stderr
    assert run_suitwb("new", "--template", "secure-normal", tmp_path / "p").returncode == 0
    out = tmp_path / "release.suit"
    built = run_suitwb("build", tmp_path / "p", "-o", out, "--sign", uri)
    assert built.returncode == 0, built.stderr
    assert decode_envelope(out.read_bytes()).authentication.blocks[0].message.kid == b"WB"
    assert run_suitwb("verify", out, "--key", public).returncode == 0
    audit = run_suitwb("audit", "show")
    assert "workbench-build" in audit.stdout and " seq-number 1 " in audit.stdout
