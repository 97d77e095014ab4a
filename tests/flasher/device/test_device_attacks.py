"""Attacks on the virtual device: each is refused with its reason, and the active slot is
never written (checked on the flash file and on every flash step the device took)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.layout import APP
from suit import cbor
from suit.keys import TrustAnchor
from suit.processor import authenticate
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.flasher.device.conftest import image_of, install, slot_bytes
from testsupport.envelopes import app_update, new_key_pem, spec_public_pem

Maker = Callable[..., VirtualDevice]
GOOD = image_of(20_000, 7)


@pytest.fixture
def running(make_device: Maker) -> VirtualDevice:
    """A device running a signed image of sequence 5 in slot A."""
    device = make_device()
    install(device, app_update(5, GOOD), GOOD)
    assert device.status().components[0].active_slot == 0
    return device


def attempt(device: VirtualDevice, envelope: bytes, payload: bytes | None = None) -> UpdateRefused:
    """Try the update; return the refusal, checking the active slot stayed untouched."""
    before = slot_bytes(device, APP, 0)
    start = len(device.power.steps)
    with pytest.raises(UpdateRefused) as caught:
        requests = device.begin_update(envelope)
        for request in requests:
            device.write_payload(request.uri, 0, payload if payload is not None else GOOD)
        device.finish_update()
    assert slot_bytes(device, APP, 0) == before
    slot_a = device.layout.find(APP).slots[0]
    size = device.layout.find(APP).slot_size
    for step in device.power.steps[start:]:
        if step.kind in ("erase", "program"):
            address = int(step.detail.split("@0x")[1].split("+")[0], 16)
            assert not slot_a <= address < slot_a + size, step
    assert device.status().components[0].sequence_number == 5
    assert device.status().last_result.result == caught.value.reason
    return caught.value


def flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def test_tampered_signature(running: VirtualDevice) -> None:
    envelope = app_update(6, GOOD).envelope()
    members = dict(cbor.loads(envelope).value)
    wrapper = list(cbor.loads(members[2]))
    sign1 = list(cbor.loads(wrapper[1]).value)
    sign1[3] = flip(sign1[3], 5)
    wrapper[1] = cbor.dumps(cbor.CBORTag(18, sign1))
    members[2] = cbor.dumps(wrapper)
    refusal = attempt(running, cbor.dumps(cbor.CBORTag(107, members)))
    assert refusal.reason == RefusalReason.UNAUTHORISED


def test_tampered_manifest(running: VirtualDevice) -> None:
    envelope = app_update(6, GOOD).envelope()
    members = dict(cbor.loads(envelope).value)
    members[3] = members[3].replace(b"app.bin", b"evil.bn")
    refusal = attempt(running, cbor.dumps(cbor.CBORTag(107, members)))
    assert refusal.reason == RefusalReason.UNAUTHORISED


def test_tampered_payload(running: VirtualDevice) -> None:
    refusal = attempt(running, app_update(6, GOOD).envelope(), payload=flip(GOOD, 1000))
    assert refusal.reason == RefusalReason.PAYLOAD_DIGEST_MISMATCH
    assert "install" in refusal.detail


def test_tampered_integrated_payload(running: VirtualDevice) -> None:
    envelope = app_update(6, GOOD, integrated=True).envelope()
    members = dict(cbor.loads(envelope).value)
    members["#app"] = flip(members["#app"], 3)
    refusal = attempt(running, cbor.dumps(cbor.CBORTag(107, members)))
    assert refusal.reason == RefusalReason.PAYLOAD_DIGEST_MISMATCH


def test_wrong_vendor(running: VirtualDevice) -> None:
    refusal = attempt(running, app_update(6, GOOD, vendor=b"\x01" * 16).envelope())
    assert refusal.reason == RefusalReason.WRONG_VENDOR
    # The record says where: the shared sequence's vendor check, command 1, component 0.
    record = running.state.last_result
    assert (record.section, record.offset, record.component_index) == ("shared-sequence", 1, 0)
    assert "shared-sequence command 1, component 0" in refusal.detail


def test_wrong_class(running: VirtualDevice) -> None:
    refusal = attempt(running, app_update(6, GOOD, klass=b"\x02" * 16).envelope())
    assert refusal.reason == RefusalReason.WRONG_CLASS


def test_lower_sequence_number(running: VirtualDevice) -> None:
    refusal = attempt(running, app_update(4, GOOD).envelope())
    assert refusal.reason == RefusalReason.ROLLBACK
    assert "4" in refusal.detail and "5" in refusal.detail


def test_unsigned_envelope(running: VirtualDevice) -> None:
    refusal = attempt(running, app_update(6, GOOD, signed=False).envelope())
    assert refusal.reason == RefusalReason.UNAUTHORISED


def test_published_unsigned_example_is_refused(running: VirtualDevice) -> None:
    refusal = attempt(running, (MANIFEST_SPEC / "example1-unsigned.cbor").read_bytes())
    assert refusal.reason == RefusalReason.UNAUTHORISED


def test_envelope_signed_by_an_untrusted_key(running: VirtualDevice) -> None:
    private, _public = new_key_pem()
    refusal = attempt(running, app_update(6, GOOD, key_pem=private).envelope())
    assert refusal.reason == RefusalReason.UNAUTHORISED


def test_payload_larger_than_its_slot(running: VirtualDevice) -> None:
    huge = image_of(300 * 1024)  # the app slot is 256 KiB
    refusal = attempt(running, app_update(6, huge).envelope(), payload=huge[:4096])
    assert refusal.reason == RefusalReason.TOO_LARGE


def test_garbage_is_a_parse_error(running: VirtualDevice) -> None:
    assert attempt(running, b"\xd8\x6b\xa1\x02").reason == RefusalReason.CBOR_PARSE


def test_published_example_for_another_class_is_refused(config: DeviceConfig) -> None:
    # example1 is signed by the trusted key, but this device's class differs.
    device = VirtualDevice(replace(config, class_id=hashlib.md5(b"other").digest()))
    try:
        with pytest.raises(UpdateRefused) as caught:
            device.begin_update((MANIFEST_SPEC / "example1.cbor").read_bytes())
        assert caught.value.reason == RefusalReason.WRONG_CLASS
        assert device.status().last_result.result == RefusalReason.WRONG_CLASS
    finally:
        device.close()


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(0, 10_000), bit=st.integers(0, 7), cut=st.integers(0, 400))
def test_any_damaged_envelope_is_refused_with_a_reason(running: VirtualDevice, position: int,
                                                       bit: int, cut: int) -> None:
    envelope = app_update(6, GOOD).envelope()
    position %= len(envelope)
    damaged = envelope[:position] + bytes([envelope[position] ^ (1 << bit)]) \
        + envelope[position + 1:]
    for candidate in (damaged, envelope[:cut % len(envelope)]):
        try:
            running.begin_update(candidate)
        except UpdateRefused as refusal:
            assert refusal.reason != RefusalReason.OK
        else:
            # Accepted: the flip must have left the manifest and its signature intact
            # (e.g. a bit of an unused CBOR header form the decoder tolerates).
            accepted = authenticate(candidate, [TrustAnchor.from_pem(spec_public_pem())])
            assert accepted.report.manifest_digest.value == authenticate(
                envelope, [TrustAnchor.from_pem(spec_public_pem())]).report.manifest_digest.value
            running.abort_update()
    assert running.status().components[0].sequence_number == 5
