"""Attacks over the wire against the real virtual device: each is refused, the refusal
reaches the host with its reason, and the active slot is never written."""

from __future__ import annotations

import hashlib
import os

import pytest

from flasher.errors import RefusalReason
from flasher.loader.layout import APP
from flasher.operations import Bundle, FlashOptions, flash
from flasher.session import SessionConfig
from suit import cbor
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of, slot_bytes
from testsupport.envelopes import app_update, new_key_pem

URI = "http://example.com/app.bin"
GOOD = image_of(24 * 1024, seed=3)
OPTIONS = FlashOptions(SessionConfig(reply_timeout=0.5, stall_timeout=0.5))


@pytest.fixture
def running(served: ServedDevice) -> ServedDevice:
    """A device that runs sequence 5 from slot A, installed over the wire."""
    outcome = flash(served.path, Bundle.from_bytes(app_update(5, GOOD, uri=URI).envelope(),
                                                   {URI: GOOD}), options=OPTIONS)
    assert outcome.result == "ok", outcome.reason
    assert served.device.status().components[0].active_slot == 0
    return served


def attempt(served: ServedDevice, envelope: bytes, payload: bytes = GOOD) -> RefusalReason:
    """Flash over the wire; check the refusal is reported and slot A is unchanged."""
    before = slot_bytes(served.device, APP, 0)
    outcome = flash(served.path, Bundle.from_bytes(envelope, {URI: payload}), options=OPTIONS)
    assert outcome.result == "refused", outcome
    assert outcome.refusal is not None and outcome.reason
    assert slot_bytes(served.device, APP, 0) == before
    status = served.device.status()
    assert status.components[0].sequence_number == 5
    assert status.components[0].active_slot == 0
    assert status.last_result.result == outcome.refusal
    return outcome.refusal


def _members(envelope: bytes) -> dict:
    return dict(cbor.loads(envelope).value)


def test_tampered_signature(running: ServedDevice) -> None:
    members = _members(app_update(6, GOOD, uri=URI).envelope())
    wrapper = list(cbor.loads(members[2]))
    sign1 = list(cbor.loads(wrapper[1]).value)
    sign1[3] = sign1[3][:5] + bytes([sign1[3][5] ^ 1]) + sign1[3][6:]
    wrapper[1] = cbor.dumps(cbor.CBORTag(18, sign1))
    members[2] = cbor.dumps(wrapper)
    assert attempt(running, cbor.dumps(cbor.CBORTag(107, members))) == RefusalReason.UNAUTHORISED


def test_tampered_payload(running: ServedDevice) -> None:
    tampered = GOOD[:100] + bytes([GOOD[100] ^ 0x80]) + GOOD[101:]
    reason = attempt(running, app_update(6, GOOD, uri=URI).envelope(), payload=tampered)
    assert reason == RefusalReason.PAYLOAD_DIGEST_MISMATCH


@pytest.mark.parametrize(("change", "reason"), [
    ({"vendor": b"\x01" * 16}, RefusalReason.WRONG_VENDOR),
    ({"klass": b"\x02" * 16}, RefusalReason.WRONG_CLASS),
])
def test_wrong_vendor_or_class(running: ServedDevice, change: dict, reason: RefusalReason) -> None:
    envelope = app_update(6, GOOD, uri=URI, **change).envelope()
    assert attempt(running, envelope) == reason


def test_lower_sequence_number(running: ServedDevice) -> None:
    assert attempt(running, app_update(4, GOOD, uri=URI).envelope()) == RefusalReason.ROLLBACK


def test_unsigned_and_untrusted_envelopes(running: ServedDevice) -> None:
    unsigned = app_update(6, GOOD, uri=URI, signed=False).envelope()
    assert attempt(running, unsigned) == RefusalReason.UNAUTHORISED
    private, _public = new_key_pem()
    untrusted = app_update(6, GOOD, uri=URI, key_pem=private).envelope()
    assert attempt(running, untrusted) == RefusalReason.UNAUTHORISED


def test_payload_larger_than_its_slot(running: ServedDevice) -> None:
    huge = image_of(300 * 1024, seed=4)  # the app slot holds 256 KiB
    assert attempt(running, app_update(6, huge, uri=URI).envelope(), payload=huge) \
        == RefusalReason.TOO_LARGE


def test_garbage_envelope_and_garbage_frames(running: ServedDevice) -> None:
    assert attempt(running, os.urandom(300)) in (RefusalReason.CBOR_PARSE,
                                                 RefusalReason.UNAUTHORISED)
    fd = os.open(running.path, os.O_RDWR | os.O_NOCTTY)
    try:  # noise straight onto the line, then a good update still goes through
        os.write(fd, os.urandom(20000) + b"\x00")
    finally:
        os.close(fd)
    newer = image_of(8 * 1024, seed=5)
    outcome = flash(running.path, Bundle.from_bytes(app_update(7, newer, uri=URI).envelope(),
                                                    {URI: newer}), options=OPTIONS)
    assert outcome.result == "ok", outcome.reason
    assert running.device.status().components[0].sequence_number == 7


def test_well_framed_garbage_messages_never_stop_the_loader(running: ServedDevice) -> None:
    # Frames with a valid CRC but random types and bodies: the loader answers or ignores
    # each, and never dies; the active slot stays as it was.
    import random

    from flasher.framing import encode_frame

    rng = random.Random(11)
    before = slot_bytes(running.device, APP, 0)
    fd = os.open(running.path, os.O_RDWR | os.O_NOCTTY)
    try:
        for _ in range(1500):
            body = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
            os.write(fd, encode_frame(rng.randrange(0x00, 0x20), rng.randrange(0x10000), body))
    finally:
        os.close(fd)
    assert slot_bytes(running.device, APP, 0) == before
    newer = image_of(8 * 1024, seed=6)
    outcome = flash(running.path, Bundle.from_bytes(app_update(8, newer, uri=URI).envelope(),
                                                    {URI: newer}), options=OPTIONS)
    assert outcome.result == "ok", outcome.reason
    assert running.device.status().components[0].sequence_number == 8


def test_integrated_payload_travels_inside_the_envelope(running: ServedDevice) -> None:
    image = image_of(12 * 1024, seed=7)
    envelope = app_update(6, image, integrated=True).envelope()
    outcome = flash(running.path, Bundle.from_bytes(envelope), options=OPTIONS)
    assert outcome.result == "ok", outcome.reason
    status = running.device.status().components[0]
    assert status.sequence_number == 6
    assert status.digest == hashlib.sha256(image).digest()
