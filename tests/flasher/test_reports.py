"""SUIT reports over the real protocol (issue 14): the virtual device reports every update
attempt, signed with its own key; the host asks for it (REPORT), verifies it with the
pinned device key, and keeps it with the attempt."""

from __future__ import annotations

from dataclasses import replace

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from flasher import protocol
from flasher.errors import ProtocolError
from flasher.loader import server as server_module
from flasher.loader.device import DeviceConfig
from flasher.operations import Bundle, FlashOptions, flash
from flasher.protocol import MessageType
from flasher.reports import read_report
from suit import cbor
from suit.cose import ecdsa_raw_to_der, sig_structure
from suit.keys import TrustAnchor
from suit.model import ManifestKey
from suit.report import Record, ReportReason, decode_report
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update, new_key_pem

URI = "http://example.com/app.bin"
IMAGE = image_of(8 * 1024, seed=3)
DEVICE_PRIVATE, DEVICE_PUBLIC = new_key_pem()
OTHER_PRIVATE, OTHER_PUBLIC = new_key_pem()


def bundle(number: int, image: bytes = IMAGE, **kwargs: object) -> Bundle:
    return Bundle.from_bytes(app_update(number, image, uri=URI, **kwargs).envelope(), {URI: image})


def options(public: bytes | None = DEVICE_PUBLIC, *, want: bool = True) -> FlashOptions:
    key = None if public is None else TrustAnchor.from_pem(public, "device key")
    return FlashOptions(want_report=want, device_key=key)


@pytest.fixture
def keyed(device_config: DeviceConfig) -> object:
    served = ServedDevice(replace(device_config, device_key=DEVICE_PRIVATE))
    served.start()
    yield served
    served.stop()
    served.pty.close()


def test_flash_yields_a_signed_report_that_verifies_and_is_what_the_device_said(
        keyed: ServedDevice) -> None:
    outcome = flash(keyed.path, bundle(1), options=options())
    assert outcome.result == "ok", outcome.reason
    report = outcome.report
    assert report is not None and report.verified is True and report.problem is None
    assert report.result is not None and report.result["success"] is True
    # The intermediate bytes: a COSE_Sign1 (tag 18) with the report attached, ES256, and
    # a signature over ["Signature1", protected, h'', payload] by the device key.
    tag = cbor.loads(report.raw)
    assert tag.tag == 18
    protected, unprotected, payload, signature = tag.value
    assert cbor.loads(protected) == {1: -7} and unprotected == {}
    public = serialization.load_pem_public_key(DEVICE_PUBLIC)
    assert isinstance(public, ec.EllipticCurvePublicKey)
    public.verify(ecdsa_raw_to_der(signature), sig_structure("Signature1", protected, payload),
                  ec.ECDSA(hashes.SHA256()))
    decoded = decode_report(payload)
    # Its reference is the manifest flashed: the digest the envelope's wrapper states.
    wrapper = cbor.loads(cbor.loads(bundle(1).envelope).value[2])
    assert decoded.manifest_digest.value == cbor.loads(wrapper[0])[1]
    # Reporting policy 15 on vendor, class and image-match asks for records on success;
    # fetch (policy 2: record on failure only) leaves none.
    sections = [(r.section, r.offset) for r in decoded.records if isinstance(r, Record)]
    assert (int(ManifestKey.COMMON), 1) in sections and (int(ManifestKey.COMMON), 2) in sections
    assert (int(ManifestKey.INSTALL), 2) in sections  # image-match after the fetch
    assert (int(ManifestKey.INSTALL), 1) not in sections  # the fetch itself


def test_refused_update_reports_the_failing_command_and_reason(keyed: ServedDevice) -> None:
    outcome = flash(keyed.path, bundle(1, vendor=b"\x11" * 16), options=options())
    assert outcome.result == "refused"
    report = outcome.report
    assert report is not None and report.verified is True
    decoded = decode_report(cbor.loads(report.raw).value[2])
    assert not decoded.success and decoded.reason is ReportReason.CONDITION_FAILED
    failing = decoded.failing_record
    assert failing is not None
    # shared-sequence[1] is vendor-identifier (suit-common holds the shared sequence)
    assert (failing.section, failing.offset, failing.component_index) == (
        int(ManifestKey.COMMON), 1, 0)
    assert failing.properties[1] == b"\x11" * 16  # vendor-id in force when it failed


def test_rollback_report_names_the_sequence_number(keyed: ServedDevice) -> None:
    assert flash(keyed.path, bundle(5), options=options()).result == "ok"
    outcome = flash(keyed.path, bundle(4), options=options())
    assert outcome.result == "refused" and outcome.report is not None
    assert outcome.report.result is not None
    assert outcome.report.result["reason"] == "condition-failed"
    assert outcome.report.result["failing-record"]["section"] == int(ManifestKey.SEQUENCE_NUMBER)


def test_report_that_does_not_verify_with_the_pinned_key_is_marked(keyed: ServedDevice) -> None:
    outcome = flash(keyed.path, bundle(1), options=options(OTHER_PUBLIC))
    assert outcome.result == "ok" and outcome.report is not None
    assert outcome.report.verified is False and "does not verify" in (outcome.report.problem or "")
    assert outcome.report.result is not None and outcome.report.result["success"] is True


def test_host_that_does_not_ask_gets_no_report(keyed: ServedDevice) -> None:
    outcome = flash(keyed.path, bundle(1), options=options(want=False))
    assert outcome.result == "ok" and outcome.report is None


def test_loader_without_report_message_leaves_the_flash_ok(
        keyed: ServedDevice, monkeypatch: pytest.MonkeyPatch) -> None:
    # An older loader (which cannot run here) answers REPORT with ERROR: unknown type.
    handlers = dict(server_module._HANDLERS)
    del handlers[MessageType.REPORT]
    monkeypatch.setattr(server_module, "_HANDLERS", handlers)
    outcome = flash(keyed.path, bundle(1), options=options())
    assert outcome.result == "ok" and outcome.report is None


def test_device_without_key_sends_a_bare_report(served: ServedDevice) -> None:
    outcome = flash(served.path, bundle(1), options=options(None))
    assert outcome.report is not None and outcome.report.verified is None
    assert decode_report(outcome.report.raw).success
    demanded = flash(served.path, bundle(2), options=options())
    assert demanded.report is not None and demanded.report.verified is False



def test_payload_that_does_not_match_reports_the_image_match_command(keyed: ServedDevice) -> None:
    other = image_of(len(IMAGE), seed=99)
    wrong = Bundle.from_bytes(app_update(1, IMAGE, uri=URI).envelope(), {URI: other})
    outcome = flash(keyed.path, wrong, options=options())
    assert outcome.result == "refused" and outcome.report is not None
    assert outcome.report.verified is True and outcome.report.result is not None
    result = outcome.report.result
    assert result["success"] is False and result["reason"] == "condition-failed"
    failing = result["failing-record"]
    # install[2] is image-match (after override-parameters and fetch)
    assert (failing["section"], failing["offset"]) == (int(ManifestKey.INSTALL), 2)


@pytest.mark.parametrize("raw", [b"", b"\xff\x00", cbor.dumps(cbor.CBORTag(18, [b"", {}, b"", b""])),
                                 cbor.dumps({99: "not a reference"})])
def test_hostile_report_bytes_are_recorded_as_not_verified(raw: bytes) -> None:
    report = read_report(raw, TrustAnchor.from_pem(DEVICE_PUBLIC, "device key"))
    assert report.verified is False and report.raw == raw and report.problem
    unkeyed = read_report(raw, None)
    assert unkeyed.verified is False and unkeyed.result is None


@pytest.mark.parametrize("body", [b"", cbor.dumps({"report": "text"}), cbor.dumps({}),
                                  cbor.dumps({"report": b"x" * (16 * 1024 + 1)}),
                                  b"\xa1\x66report\xd8\x12\x40"])  # a tag inside the body
def test_report_reply_bodies_outside_the_schema_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode_report(body)
    assert protocol.decode_report(protocol.encode_report(None)) is None
    assert protocol.decode_report(protocol.encode_report(b"\xa0")) == b"\xa0"
