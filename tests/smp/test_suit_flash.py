"""`suitwb flash` on MCUboot in QEMU, governed by SUIT (issue 13, part 3): the real CLI, the
real bootloader on a real pty, releases built from the `mcuboot` template.

One QEMU for the whole module (it burns most of a core), used in file order like a device
on a bench: slot 0 empty first (refusals, then a tampered image forced past the station),
then a gang run that installs the release beside a virtual device, then the application
it booted (rollback and a device's own refusal). Each test states the state it expects.
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flasher.smp import images
from flasher.smp import operations as ops
from flasher.smp.session import SmpSession
from tests.fixtures.firmware import ONE_QEMU, require_firmware, start_qemu
from tests.flasher.cli import device_serve, suitwb
from testsupport import firmware, mcuboot
from testsupport.smpdevices import QemuDevice
from workbench.project.templates import create_project

URI = "https://updates.example.com/mcuboot/app.signed.bin"
RELEASE_VERSION = "1.0.3"  # the release process puts the sequence number (3) in the revision


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("bench")
    raw = mcuboot.raw_application(
        (require_firmware(firmware.RECOVERY_IMAGE) / firmware.RECOVERY_IMAGE).read_bytes())
    with ONE_QEMU:
        device = start_qemu(folder / "qemu")
        try:
            with SmpSession.open(device.pty) as session:
                ops.wait_ready(session, timeout=30)  # QEMU's pty swallows the first seconds
            yield Bench(folder, device, raw)
        finally:
            device.stop()


class Bench:
    """The module's QEMU, keys, a records database and release builders."""

    def __init__(self, folder: Path, device: QemuDevice, raw: bytes) -> None:
        self.folder, self.device, self.raw = folder, device, raw
        self.data = folder / "data"
        self.records = folder / "records.sqlite"
        self.key, self.public = _key_pair(folder, "release")
        self.other_key, self.other_public = _key_pair(folder, "other")
        self.project = create_project("mcuboot", folder / "project")
        # `suitwb new`'s ids: UUID5(DNS, vendor domain), UUID5(vendor id, model).
        vendor = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
        self.vendor_id, self.class_id = str(vendor), str(uuid.uuid5(vendor, "mcuboot"))

    def build(self, name: str, raw: bytes, *, sequence: int = 3, key: Path | None = None,
              mcuboot_table: bool = True) -> tuple[Path, Path]:
        """A signed release of `raw` (envelope, image file) from the template."""
        (self.project.parent / "images" / "app.bin").write_bytes(raw)
        text = self.project.read_text().replace('version = "1.0.0"\nheader-size',
                                                f'version = "{RELEASE_VERSION}"\nheader-size')
        if not mcuboot_table:  # the raw file itself is the payload: not an MCUboot image
            text = text.split("[component.mcuboot]")[0] + "[component.text]" + \
                text.split("[component.text]")[1]
        self.project.write_text(text)
        out = self.folder / f"{name}.suit"
        suitwb("build", self.project, "-o", out, "--sign", key or self.key,
               "--sequence-number", sequence, "--no-audit", data_dir=self.data)
        image = out.with_name(f"{name}.app.signed.bin")
        if not mcuboot_table:
            image.write_bytes(raw)
        return out, image

    def profile(self, name: str, **changes: object) -> Path:
        """A device profile for this board; `changes` replace its members."""
        members: dict[str, object] = {
            "name": '"MPS2 AN385 MCUboot"', "vendor-id": f'"{self.vendor_id}"',
            "class-id": f'"{self.class_id}"', "trust-anchors": f'["{self.public.name}"]',
            "slot-size": "0x80000", "rollback": '"revision"'}
        members.update({k.replace("_", "-"): v for k, v in changes.items()})
        path = self.folder / f"{name}.toml"
        path.write_text("[[device]]\n" + "".join(f"{k} = {v}\n" for k, v in members.items()))
        return path

    def flash(self, envelope: Path, image: Path, *args: object,
              profile: Path | None = None) -> tuple[int, list[dict[str, object]], str]:
        """`suitwb flash --json` to the QEMU port: exit status, outcomes, stderr."""
        done = suitwb("flash", envelope, "--port", self.device.pty, "--payload", f"{URI}={image}",
                      "--device-profile", profile or self.profile("good"), "--records",
                      self.records, "--json", *args, data_dir=self.data, check=False)
        return done.returncode, json.loads(done.stdout or "[]"), done.stderr

    def last_records(self, count: int) -> list[dict[str, object]]:
        with sqlite3.connect(self.records) as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM attempts ORDER BY id DESC LIMIT ?", (count,))
            return [dict(row) for row in rows][::-1]


def _key_pair(folder: Path, name: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    private, public = folder / f"{name}.pem", folder / f"{name}-public.pem"
    private.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    public.write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return private, public


def _image_state(bench: Bench) -> tuple[ops.ImageSlot, ...]:
    with SmpSession.open(bench.device.pty) as session:
        ops.wait_ready(session, timeout=10)
        return ops.read_image_state(session)


# --- slot 0 empty: the station refuses before any byte is uploaded -----------------------

@pytest.mark.parametrize(("case", "reason"), [
    ("wrong class", "wrong_class"), ("wrong vendor", "wrong_vendor"),
    ("untrusted signer", "unauthorised"), ("larger than the slot", "too_large"),
    ("one byte changed", "payload_digest_mismatch")])
def test_refused_before_upload_with_the_reason(bench: Bench, case: str, reason: str) -> None:
    envelope, image = bench.build("release", bench.raw)
    profile = bench.profile("good")
    if case == "wrong class":
        profile = bench.profile("class", class_id='"00000000-0000-0000-0000-000000000001"')
    elif case == "wrong vendor":
        profile = bench.profile("vendor", vendor_id='"00000000-0000-0000-0000-000000000002"')
    elif case == "untrusted signer":
        profile = bench.profile("untrusted", trust_anchors=f'["{bench.other_public.name}"]')
    elif case == "larger than the slot":
        profile = bench.profile("small", slot_size=len(image.read_bytes()) - 1)
    else:
        image = _one_byte_changed(image, bench.folder / "tampered.bin")
    status, [outcome], _err = bench.flash(envelope, image, "--protocol", "smp", profile=profile)
    assert status == 1
    assert outcome["result"] == "refused" and outcome["refusal"] == reason
    assert outcome["bytes"] == 0 and outcome["smp"]["host_checks"] == "refused"  # type: ignore[index]
    assert "refused by the station before upload" in str(outcome["reason"])
    [record] = bench.last_records(1)
    assert record["result"] == "refused" and record["protocol"] == "smp"
    assert record["host_checks"] == "refused" and record["bytes"] == 0
    # `bytes` counts what the device acknowledged; MCUboot's serial recovery cannot tell
    # (its image state is empty even after an upload), so 0 here is the host's word.


def _one_byte_changed(image: Path, target: Path) -> Path:
    data = bytearray(image.read_bytes())
    data[0x200 + 100] ^= 0x01  # in the application body, after the header
    target.write_bytes(bytes(data))
    return target


def test_tampered_image_forced_past_the_station_is_not_booted(bench: Bench) -> None:
    # A short (but real) application keeps the upload quick; MCUboot refuses it at boot
    # on its hash, stays in serial recovery, and the image-match check says so.
    envelope, image = bench.build("short", bench.raw[:16_000])
    tampered = _one_byte_changed(image, bench.folder / "short-tampered.bin")
    refused, [outcome], _err = bench.flash(envelope, tampered, "--protocol", "smp")
    assert refused == 1 and outcome["refusal"] == "payload_digest_mismatch"
    status, [outcome], err = bench.flash(envelope, tampered, "--protocol", "smp",
                                         "--skip-host-checks")
    assert "--skip-host-checks" in err and "WITHOUT" in err
    assert status == 1 and outcome["result"] == "failed"
    assert outcome["bytes"] == len(tampered.read_bytes())  # it was uploaded
    assert outcome["smp"]["host_checks"] == "skipped"  # type: ignore[index]
    assert outcome["smp"]["image_match"] is False  # type: ignore[index]
    assert "not the uploaded" in str(outcome["reason"])
    [record] = bench.last_records(1)
    assert record["host_checks"] == "skipped" and record["image_match"] == 0
    assert record["result"] == "failed"


# --- a gang of both protocols: the release installed, MCUboot boots it ------------------

@pytest.mark.slow
def test_gang_flash_virtual_device_and_mcuboot_in_one_run(bench: Bench) -> None:
    envelope, image = bench.build("release", bench.raw)
    state = bench.folder / "virtual"
    with device_serve("--state", state, "--trust-anchor", bench.public, "--vendor-id",
                      bench.vendor_id, "--class-id", bench.class_id,
                      data_dir=bench.data) as virtual:
        done = suitwb("flash", envelope, "--port", virtual, "--port", bench.device.pty,
                      "--payload", f"{URI}={image}", "--device-profile", bench.profile("good"),
                      "--records", bench.records, data_dir=bench.data, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"{virtual}: ok")
    assert lines[1].startswith(f"{bench.device.pty}: ok") and "image-match ok" in lines[1]
    # Two progress lines (plain lines when stderr is not a terminal), one per device.
    assert any(line.startswith(f"{virtual}: [") for line in done.stderr.splitlines())
    assert any(line.startswith(f"{bench.device.pty}: [") for line in done.stderr.splitlines())
    virtual_record, smp_record = bench.last_records(2)
    assert {virtual_record["port"], smp_record["port"]} == {virtual, bench.device.pty}
    by_port = {r["port"]: r for r in (virtual_record, smp_record)}
    assert by_port[virtual]["protocol"] == "suitwb" and by_port[virtual]["result"] == "ok"
    smp = by_port[bench.device.pty]
    assert smp["protocol"] == "smp" and smp["result"] == "ok" and smp["image_match"] == 1
    sent_hash = images.image_hash(image.read_bytes())
    assert sent_hash is not None and smp["image_hash"] == sent_hash.hex()
    # The image state shows the release in slot 0, and MCUboot's log says it booted it.
    slot0 = [s for s in _image_state(bench) if s.slot == 0]
    assert len(slot0) == 1 and slot0[0].active and slot0[0].version == RELEASE_VERSION
    assert slot0[0].hash == sent_hash
    log = bench.device.log_text()
    assert f"Primary slot: version={RELEASE_VERSION}+0" in log
    assert "Jumping to the first image slot" in log
    status = suitwb("device", "status", "--port", bench.device.pty, "--json",
                    data_dir=bench.data)
    report = json.loads(status.stdout)
    assert report["protocol"] == "smp" and report["mode"] == "application"
    assert report["images"][0]["hash"] == sent_hash.hex()


# --- the application runs the release: rollback, and the device's own refusal -----------

@pytest.mark.slow
def test_rollback_refused_against_the_installed_version(bench: Bench) -> None:
    assert any(s.active and s.version == RELEASE_VERSION for s in _image_state(bench))
    envelope, image = bench.build("older", bench.raw, sequence=2)
    status, [outcome], _err = bench.flash(envelope, image)  # protocol detected
    assert status == 1 and outcome["protocol"] == "smp"
    assert outcome["refusal"] == "rollback" and outcome["bytes"] == 0
    assert "sequence number 2 is lower than 3" in str(outcome["reason"])


@pytest.mark.slow
def test_random_file_as_mcuboot_image_is_refused_by_the_device(bench: Bench) -> None:
    envelope, image = bench.build("random", os.urandom(4096), mcuboot_table=False)
    status, [outcome], _err = bench.flash(envelope, image, "--protocol", "smp")
    assert status == 1 and outcome["result"] == "refused"
    assert outcome["smp"]["host_checks"] == "passed"  # type: ignore[index]
    assert "not an MCUboot image" in str(outcome["reason"])
    [record] = bench.last_records(1)
    assert record["result"] == "refused" and "not an MCUboot image" in str(record["reason"])
