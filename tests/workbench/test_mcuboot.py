"""MCUboot components of a release project (issue 13): the manifest describes the MCUboot
image, `suitwb build` writes it and signs it with a project or `--mcuboot-key` key (files and
SoftHSM2 tokens), records the signature, and the `mcuboot` template re-creates the board's
shipped image byte for byte from its raw payload."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from signing.mcuboot import parse_layout
from suit.codec import decode_envelope
from suit.model import Parameter
from tests.signing.test_mcuboot import imgtool_verify
from tests.workbench.conftest import run_suitwb
from workbench.project.builder import BuildOptions, build_project
from workbench.project.errors import BuildError, ProjectFileError
from workbench.project.mcuboot import image_path
from workbench.project.model import Component, Device, Image, Mcuboot, Project
from workbench.project.projectfile import dumps_project, load_project, loads_project
from workbench.project.templates import create_project

FIRMWARE_ENV = "SUITWB_FIRMWARE_DIR"
#: The board's shipped images (/work/shared/firmware/README.md; SHA256SUMS there).
SHIPPED = ("zephyr_4.4.0_smp_server_0eae053d_mps2_an385_serial_recovery_buf1024.signed.bin",
           "zephyr_4.4.0_smp_server_0eae053d_mps2_an385_serial_recovery_buf400.signed.bin")
RAW = bytes(range(251)) * 40


def _project(folder: Path, **mcuboot: object) -> Project:
    (folder / "app.bin").write_bytes(RAW)
    return Project(sequence_number=3, device=Device("example.com", "widget"),
                   components=[Component("app", ["h'00'"], image=Image(file="app.bin"),
                                         uri="https://example.com/app.signed.bin", invoke=True,
                                         mcuboot=Mcuboot(**mcuboot))],  # type: ignore[arg-type]
                   path=folder / "project.toml")


def _ed25519_pem(folder: Path) -> tuple[Path, Path]:
    key = ed25519.Ed25519PrivateKey.generate()
    private, public = folder / "ed.pem", folder / "ed-pub.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def test_manifest_states_the_mcuboot_image_not_the_raw_binary(tmp_path: Path) -> None:
    result = build_project(_project(tmp_path, header_size=0x200, version="1.0.0"))
    image = result.mcuboot_images["app"]
    assert parse_layout(image.data).body == slice(0x200, 0x200 + len(RAW))
    params = result.envelope.manifest.common.shared_sequence.commands[0].argument
    assert params[Parameter.IMAGE_DIGEST].value == hashlib.sha256(image.data).digest()
    assert params[Parameter.IMAGE_SIZE] == len(image.data) != len(RAW)


def test_integrated_payload_is_the_mcuboot_image(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.components[0].uri, project.components[0].integrated = None, True
    result = build_project(project)
    assert result.envelope.integrated["#app"] == result.mcuboot_images["app"].data


def test_mcuboot_table_round_trips_through_the_project_file(tmp_path: Path) -> None:
    project = _project(tmp_path, version="1.2.3", load_address=0x20240000, ram_load=True,
                       security_counter="auto", key="keys/release.pem")
    again = loads_project(dumps_project(project))
    assert again.components[0].mcuboot == project.components[0].mcuboot


@pytest.mark.parametrize(("table", "where"), [
    ('align = 3', "component[0].mcuboot.align"),
    ('version = "one"', "component[0].mcuboot.version"),
    ('ram-load = true', "component[0].mcuboot.ram-load"),
    ('header-size = 70000', "component[0].mcuboot.header-size"),
    ('colour = "red"', "component[0].mcuboot.colour"),
    ('key = ""', "component[0].mcuboot.key"),
])
def test_bad_mcuboot_members_name_their_place(table: str, where: str, tmp_path: Path) -> None:
    text = ('[[component]]\nname = "app"\nid = ["h\'00\'"]\nimage = { file = "app.bin" }\n'
            f'[component.mcuboot]\n{table}\n')
    (tmp_path / "app.bin").write_bytes(RAW)
    (tmp_path / "project.toml").write_text(text)
    with pytest.raises(ProjectFileError) as caught:
        build_project(load_project(tmp_path / "project.toml"))
    assert caught.value.where.startswith(where)
    out = run_suitwb("build", tmp_path, "-o", tmp_path / "r.suit")
    assert out.returncode == 2 and where in out.stderr and "Traceback" not in out.stderr


def test_mcuboot_needs_one_raw_image_file(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.components[0].image = Image(digest="sha256:" + "00" * 32, size=10)
    with pytest.raises(ProjectFileError, match="mcuboot"):
        build_project(project)


def test_lint_and_previews_never_open_the_key(tmp_path: Path) -> None:
    """Without McubootSigning the image is hash-only: a missing key is not even opened."""
    project = _project(tmp_path, key=str(tmp_path / "absent.pem"))
    result = build_project(project, BuildOptions())
    assert result.mcuboot_images["app"].identity is None
    (tmp_path / "project.toml").write_text(dumps_project(project))
    linted = run_suitwb("lint", tmp_path)
    assert linted.returncode == 0 and "0 error(s)" in linted.stdout, linted.stdout


def test_project_key_signs_and_is_audited(tmp_path: Path, signing_key: tuple[Path, Path],
                                          data_dir: Path) -> None:
    private, public = signing_key
    project = _project(tmp_path, key=os.path.relpath(private, tmp_path), version="2.0.0")
    (tmp_path / "project.toml").write_text(dumps_project(project))
    out = tmp_path / "out" / "release.suit"
    out.parent.mkdir()
    built = run_suitwb("build", tmp_path, "-o", out)
    assert built.returncode == 0, built.stderr
    image = image_path(out, "app")
    assert image == out.parent / "release.app.signed.bin"
    assert "signed ECDSA256_SHA256" in built.stdout
    verified = imgtool_verify(image.read_bytes(), public, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # The manifest (unsigned here) states exactly the written image.
    params = decode_envelope(out.read_bytes()).manifest.common.shared_sequence.commands[0].argument
    assert params[Parameter.IMAGE_DIGEST].value == hashlib.sha256(image.read_bytes()).digest()
    audit = run_suitwb("audit", "show")
    assert "MCUboot ECDSA256_SHA256" in audit.stdout and str(image) in audit.stdout, audit.stdout


def test_mcuboot_key_option_overrides_the_project_key(tmp_path: Path, data_dir: Path) -> None:
    private, public = _ed25519_pem(tmp_path)
    project = _project(tmp_path, key="no-such-key.pem")
    (tmp_path / "project.toml").write_text(dumps_project(project))
    out = tmp_path / "r.suit"
    built = run_suitwb("build", tmp_path, "-o", out, "--mcuboot-key", private)
    assert built.returncode == 0, built.stderr
    assert imgtool_verify(image_path(out, "app").read_bytes(), public, tmp_path).returncode == 0


def test_missing_project_key_is_a_typed_error_and_writes_nothing(tmp_path: Path,
                                                                 data_dir: Path) -> None:
    (tmp_path / "project.toml").write_text(dumps_project(_project(tmp_path, key="absent.pem")))
    out = tmp_path / "r.suit"
    built = run_suitwb("build", tmp_path, "-o", out)
    assert built.returncode != 0 and "absent.pem" in built.stderr
    assert "Traceback" not in built.stderr
    assert not out.exists() and not image_path(out, "app").exists()


def test_image_output_may_not_replace_an_input(tmp_path: Path) -> None:
    project = _project(tmp_path)
    project.components[0].image = Image(file="r.app.signed.bin")
    (tmp_path / "r.app.signed.bin").write_bytes(RAW)
    (tmp_path / "project.toml").write_text(dumps_project(project))
    built = run_suitwb("build", tmp_path, "-o", tmp_path / "r.suit")
    assert built.returncode != 0 and "Traceback" not in built.stderr
    assert (tmp_path / "r.app.signed.bin").read_bytes() == RAW


@pytest.mark.parametrize("alg", ["ESP256", "Ed25519"])
def test_token_key_signs_the_image_and_is_audited(alg: str, tmp_path: Path, softhsm: object,
                                                  data_dir: Path) -> None:
    """`--mcuboot-key pkcs11:...`: the key never leaves SoftHSM2 (MCUboot issue #599)."""
    uri = softhsm.uri("release", object=f"mcuboot-{alg}")  # type: ignore[attr-defined]
    generated = run_suitwb("keys", "generate", "--key", uri, "--alg", alg)
    assert generated.returncode == 0, generated.stderr
    public = tmp_path / "pub.pem"
    assert run_suitwb("keys", "export", "--key", uri, "-o", public).returncode == 0
    assert run_suitwb("new", "--template", "mcuboot", tmp_path / "p").returncode == 0
    out = tmp_path / "r.suit"
    built = run_suitwb("build", tmp_path / "p", "-o", out, "--mcuboot-key", uri)
    assert built.returncode == 0, built.stderr
    verified = imgtool_verify(image_path(out, "app").read_bytes(), public, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    audit = run_suitwb("audit", "show")
    assert f"mcuboot-{alg}" in audit.stdout and "MCUboot" in audit.stdout, audit.stdout


# --- the board's shipped image, re-created from its raw payload ----------------------------

def _firmware_dir() -> Path:
    configured = os.environ.get(FIRMWARE_ENV)
    return Path(configured) if configured else Path.home() / ".cache" / "suitwb" / "firmware"


def _shipped(name: str) -> bytes:
    path = _firmware_dir() / name
    if not path.is_file():
        pytest.skip(f"{path} is absent: run `make firmware` to fetch the test firmware, or set "
                    f"{FIRMWARE_ENV} to a folder holding {name}")
    return path.read_bytes()


def _raw_payload(signed: Path) -> tuple[bytes, str]:
    """The raw payload and version, found by imgtool's own parser (imgtool dumpinfo)."""
    from imgtool.dumpinfo import _read_imginfo  # type: ignore[import-untyped]

    header = _read_imginfo(str(signed))["header"]
    start = header["hdr_size"]
    version = header["version"]
    return signed.read_bytes()[start:start + header["img_size"]], version


def _template_with(folder: Path, shipped: bytes) -> Path:
    project_file = create_project("mcuboot", folder / "p")
    (folder / "shipped.signed.bin").write_bytes(shipped)
    raw, version = _raw_payload(folder / "shipped.signed.bin")
    (folder / "p" / "images" / "app.bin").write_bytes(raw)
    text = project_file.read_text().replace('version = "1.0.0"\nheader-size',
                                            f'version = "{version}"\nheader-size')
    project_file.write_text(text)
    return project_file


@pytest.mark.parametrize("name", SHIPPED)
def test_template_recreates_the_shipped_image_byte_for_byte(name: str, tmp_path: Path) -> None:
    shipped = _shipped(name)
    project = _template_with(tmp_path, shipped)
    out = tmp_path / "r.suit"
    built = run_suitwb("build", project, "-o", out)
    assert built.returncode == 0, built.stderr
    assert image_path(out, "app").read_bytes() == shipped


@pytest.mark.parametrize("kind", ["P-256", "Ed25519"])
def test_shipped_payload_signed_with_a_key_verifies(kind: str, tmp_path: Path,
                                                    signing_key: tuple[Path, Path],
                                                    data_dir: Path) -> None:
    shipped = _shipped(SHIPPED[0])
    project = _template_with(tmp_path, shipped)
    private, public = signing_key if kind == "P-256" else _ed25519_pem(tmp_path)
    out = tmp_path / "r.suit"
    built = run_suitwb("build", project, "-o", out, "--mcuboot-key", private)
    assert built.returncode == 0, built.stderr
    image = image_path(out, "app").read_bytes()
    assert image[:0x200] == shipped[:0x200]  # the same header: the board's shape
    verified = imgtool_verify(image, public, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr



def test_mcuboot_key_without_mcuboot_components_is_misuse(tmp_path: Path,
                                                          signing_key: tuple[Path, Path]) -> None:
    (tmp_path / "app.bin").write_bytes(RAW)
    project = _project(tmp_path)
    project.components[0].mcuboot = None
    (tmp_path / "project.toml").write_text(dumps_project(project))
    built = run_suitwb("build", tmp_path, "-o", tmp_path / "r.suit", "--mcuboot-key",
                       signing_key[0])
    assert built.returncode == 2 and "--mcuboot-key" in built.stderr
    assert not (tmp_path / "r.suit").exists()


def test_dependency_project_with_mcuboot_is_refused(tmp_path: Path) -> None:
    """Its image would be built, perhaps signed, but never written or recorded."""
    (tmp_path / "dep").mkdir()
    (tmp_path / "dep" / "project.toml").write_text(dumps_project(_project(tmp_path / "dep")))
    (tmp_path / "top.bin").write_bytes(RAW)
    text = ('[[component]]\nname = "top"\nid = ["h\'01\'"]\nimage = { file = "top.bin" }\n'
            'uri = "https://example.com/top.bin"\n'
            '[[dependency]]\nname = "dep"\nprefix = ["h\'00\'"]\nproject = "dep/project.toml"\n'
            'integrated = true\n')
    (tmp_path / "project.toml").write_text(text)
    with pytest.raises(BuildError, match="MCUboot"):
        build_project(load_project(tmp_path / "project.toml"))
