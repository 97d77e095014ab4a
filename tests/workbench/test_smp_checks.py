"""The station's SUIT checks for an MCUboot target (issue 13), in process: a release built
from the `mcuboot` template by the real CLI, checked against device profiles."""

from __future__ import annotations

import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from flasher.errors import RefusalReason
from flasher.smp.operations import ImageSlot
from suit.keys import TrustAnchor
from tests.workbench.conftest import run_suitwb
from workbench.device_profile import DeviceKind
from workbench.smp_checks import HostCheckRefused, MissingPayload, check_release

URI = "https://updates.example.com/mcuboot/app.signed.bin"
VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory,
            signing_key: tuple[Path, Path]) -> tuple[bytes, bytes]:
    folder = tmp_path_factory.mktemp("release")
    env = {"SUITWB_DATA_DIR": str(folder / "data")}
    assert run_suitwb("new", "--template", "mcuboot", folder / "p", env=env).returncode == 0
    project = folder / "p" / "project.toml"
    project.write_text(project.read_text().replace('version = "1.0.0"\nheader-size',
                                                   'version = "1.0.3"\nheader-size'))
    built = run_suitwb("build", folder / "p", "-o", folder / "r.suit", "--sign", signing_key[0],
                       "--sequence-number", "3", "--no-audit", env=env)
    assert built.returncode == 0, built.stderr
    return (folder / "r.suit").read_bytes(), (folder / "r.app.signed.bin").read_bytes()


@pytest.fixture
def kind(signing_key: tuple[Path, Path]) -> DeviceKind:
    anchor = TrustAnchor.from_pem(signing_key[1].read_bytes(), "release")
    return DeviceKind("board", {}, VENDOR, uuid.uuid5(VENDOR, "mcuboot"), (anchor,), 0x80000,
                      "revision")


def _slot(version: str) -> ImageSlot:
    return ImageSlot(0, 0, version, b"\x00" * 32, True, True, False, True, True)


def test_a_release_for_this_device_passes_and_the_image_is_the_payload(
        release: tuple[bytes, bytes], kind: DeviceKind) -> None:
    envelope, image = release
    checked = check_release(envelope, {URI: image}, kind, (_slot("1.0.2"),))
    assert checked.image == image and checked.sequence_number == 3
    assert check_release(envelope, {URI: image}, kind, (_slot("1.0.3"),)).image == image


@pytest.mark.parametrize(("change", "installed", "reason"), [
    ({"vendor_id": uuid.UUID(int=1)}, "", RefusalReason.WRONG_VENDOR),
    ({"class_id": uuid.UUID(int=2)}, "", RefusalReason.WRONG_CLASS),
    ({"trust_anchors": ()}, "", RefusalReason.UNAUTHORISED),
    ({"slot_size": 4096}, "", RefusalReason.TOO_LARGE),
    ({}, "1.0.4", RefusalReason.ROLLBACK),
    ({"rollback": "build"}, "1.0.0.4", RefusalReason.ROLLBACK),
])
def test_refusals_name_their_reason(release: tuple[bytes, bytes], kind: DeviceKind,
                                    change: dict[str, object], installed: str,
                                    reason: RefusalReason) -> None:
    envelope, image = release
    slots = (_slot(installed),) if installed else ()
    with pytest.raises(HostCheckRefused) as caught:
        check_release(envelope, {URI: image}, replace(kind, **change), slots)  # type: ignore[arg-type]
    assert caught.value.reason is reason and caught.value.exit_status == 1


@pytest.mark.parametrize("payload", ["one byte changed", "one byte more", "one byte less"])
def test_a_payload_that_is_not_the_signed_image_is_refused(
        release: tuple[bytes, bytes], kind: DeviceKind, payload: str) -> None:
    envelope, image = release
    data = {"one byte changed": image[:600] + bytes([image[600] ^ 1]) + image[601:],
            "one byte more": image + b"\x00", "one byte less": image[:-1]}[payload]
    with pytest.raises(HostCheckRefused) as caught:
        check_release(envelope, {URI: data}, kind, ())
    assert caught.value.reason is RefusalReason.PAYLOAD_DIGEST_MISMATCH


def test_a_missing_payload_says_which_option_gives_it(release: tuple[bytes, bytes],
                                                      kind: DeviceKind) -> None:
    with pytest.raises(MissingPayload) as caught:
        check_release(release[0], {}, kind, ())
    assert URI in str(caught.value) and f"--payload {URI}=FILE" in caught.value.hint


def test_not_an_envelope_is_refused_as_unparseable(kind: DeviceKind) -> None:
    with pytest.raises(HostCheckRefused) as caught:
        check_release(b"\xd8\x6b\xa0", {}, kind, ())
    assert caught.value.reason is RefusalReason.CBOR_PARSE
