"""SUIT reports, continued (issue 14): refusals before the manifest authenticates, the
nonce (replay protection), the capability report and reports across a power cut, all
over the real protocol to the virtual device."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from flasher import protocol
from flasher.errors import ProtocolError, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.flash import PowerCut, PowerSwitch
from flasher.loader.layout import APP
from flasher.operations import Bundle, FlashOptions, flash, read_capabilities
from flasher.protocol import MessageType
from flasher.records import FactoryRecords
from flasher.reports import read_report
from flasher.session import RecoverySession
from flasher.transport import SerialTransport
from suit import cbor
from suit.cose import CoseAlgorithm
from suit.keys import TrustAnchor
from suit.model import Command, ManifestKey, Parameter
from suit.report import ReportReason, decode_report
from suit.report_cose import open_report
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update, new_key_pem
from workbench.flashing import FlashJob, Station

URI = "http://example.com/app.bin"
IMAGE = image_of(8 * 1024, seed=5)
DEVICE_PRIVATE, DEVICE_PUBLIC = new_key_pem()
STRANGER_PRIVATE, _STRANGER_PUBLIC = new_key_pem()
DEVICE_KEY = TrustAnchor.from_pem(DEVICE_PUBLIC, "device key")


@pytest.fixture
def keyed(device_config: DeviceConfig) -> Iterator[ServedDevice]:
    served = ServedDevice(replace(device_config, device_key=DEVICE_PRIVATE))
    served.start()
    yield served
    served.stop()
    served.pty.close()


def _members(envelope: bytes) -> dict[int, object]:
    return dict(cbor.loads(envelope).value)


def _with(envelope: bytes, **members: bytes) -> bytes:
    value = {**_members(envelope), **{int(k[1:]): v for k, v in members.items()}}
    return cbor.dumps(cbor.CBORTag(107, value))


def bad_signature() -> bytes:
    envelope = app_update(1, IMAGE, uri=URI).envelope()
    wrapper = cbor.loads(_members(envelope)[2])
    block = cbor.loads(wrapper[1])
    protected, unprotected, payload, signature = block.value
    flipped = signature[:-1] + bytes([signature[-1] ^ 1])
    block = cbor.CBORTag(18, [protected, unprotected, payload, flipped])
    return _with(envelope, k2=cbor.dumps([wrapper[0], cbor.dumps(block)]))


def wrong_manifest_digest() -> bytes:
    # The authentication wrapper of sequence 1 over the manifest of sequence 9.
    signed, other = app_update(1, IMAGE, uri=URI).envelope(), app_update(9, IMAGE, uri=URI)
    return _with(signed, k3=_members(other.envelope())[3])


def untrusted_key() -> bytes:
    return app_update(1, IMAGE, uri=URI, key_pem=STRANGER_PRIVATE).envelope()


def stated_digest(envelope: bytes) -> bytes:
    wrapper = cbor.loads(_members(envelope)[2])
    return cbor.loads(wrapper[0])[1]


MALFORMED = b"\xd8\x6b\xa2\x02\x41\x00\x03"  # tag 107, a map cut short


@pytest.mark.parametrize(("name", "envelope", "reason", "digest"), [
    ("bad signature", bad_signature(), "unauthorised", stated_digest),
    ("untrusted key", untrusted_key(), "unauthorised", stated_digest),
    ("wrong manifest digest", wrong_manifest_digest(), "unauthorised", stated_digest),
    ("not CBOR", MALFORMED, "cbor-parse", lambda e: hashlib.sha256(e).digest()),
])
def test_update_refused_before_authentication_is_recorded_with_a_verified_report(
        keyed: ServedDevice, tmp_path: Path, name: str, envelope: bytes, reason: str,
        digest: object) -> None:
    records = FactoryRecords(tmp_path / "records.sqlite")
    job = FlashJob(Bundle.from_bytes(envelope, {URI: IMAGE}), [keyed.path],
                   Station("op", "st"), records,
                   FlashOptions(want_report=True, device_key=DEVICE_KEY))
    [outcome] = job.run()
    assert outcome.result == "refused", name
    [record] = records.all()
    assert record.report_verified is True and record.report is not None
    result = json.loads(record.report_result or "null")
    assert result["success"] is False and result["reason"] == reason
    # Report draft §4: suit-reference is required; before authentication it is what the
    # envelope states (auth[0]) or, when nothing decodes, the digest of the bytes sent.
    assert result["manifest-digest"]["value"] == digest(envelope).hex()  # type: ignore[operator]
    assert result["reference-uri"] == ""
    assert result["failing-record"]["section"] == int(ManifestKey.COMMON)
    assert result["records"] == []  # no command ran


def test_envelope_too_large_is_reported_by_its_digest(device_config: DeviceConfig) -> None:
    device = VirtualDevice(replace(device_config, device_key=DEVICE_PRIVATE,
                                   max_envelope_size=64))
    envelope = app_update(1, IMAGE, uri=URI).envelope()
    with pytest.raises(UpdateRefused, match="exceeds"):
        device.begin_update(envelope)
    raw = device.last_report(None)
    device.close()
    assert raw is not None
    report = open_report(raw, DEVICE_KEY).report
    assert not report.success and report.reason is ReportReason.OPERATION_FAILED
    assert report.manifest_digest.value == hashlib.sha256(envelope).digest()


def _ask(path: str, body: bytes) -> bytes | None:
    with RecoverySession(SerialTransport.open(path)) as session:
        session.hello()
        reply = session.request(MessageType.REPORT, body, expect=MessageType.REPORT_REPLY)
        return protocol.decode_report(reply.body)


def test_report_carries_the_nonce_of_each_request_and_a_replay_is_refused(
        keyed: ServedDevice) -> None:
    assert flash(keyed.path, Bundle.from_bytes(app_update(1, IMAGE, uri=URI).envelope(),
                                               {URI: IMAGE})).result == "ok"
    first, second = b"\x01" * 16, b"\x02" * 16
    raw_first = _ask(keyed.path, protocol.encode_report_request(first))
    raw_second = _ask(keyed.path, protocol.encode_report_request(second))
    assert raw_first is not None and raw_second is not None
    # The nonce is inside the signed payload, so it is the device's to vouch for.
    assert open_report(raw_first, DEVICE_KEY).report.nonce == first
    assert open_report(raw_second, DEVICE_KEY).report.nonce == second
    assert read_report(raw_second, DEVICE_KEY, second).verified is True
    # The first reply, replayed to the host that asked with the second nonce: refused,
    # although its signature is the device's.
    replayed = read_report(raw_first, DEVICE_KEY, second)
    assert replayed.verified is False and "nonce" in (replayed.problem or "")
    assert replayed.result is not None  # still recorded, for the investigation
    # A host without a nonce (empty REPORT, as before) still gets the report.
    bare = _ask(keyed.path, b"")
    assert bare is not None and open_report(bare, DEVICE_KEY).report.nonce is None


def test_flash_sends_a_fresh_nonce_and_records_it(keyed: ServedDevice) -> None:
    bundle = Bundle.from_bytes(app_update(1, IMAGE, uri=URI).envelope(), {URI: IMAGE})
    options = FlashOptions(want_report=True, device_key=DEVICE_KEY)
    one, two = flash(keyed.path, bundle, options=options), flash(keyed.path, bundle, options=options)
    assert one.report is not None and two.report is not None
    assert one.report.verified is True and two.report.verified is True
    nonces = {one.report.result["nonce"], two.report.result["nonce"]}  # type: ignore[index]
    assert len(nonces) == 2 and None not in nonces


@pytest.mark.parametrize("body", [cbor.dumps({"nonce": "text"}), cbor.dumps({}),
                                  cbor.dumps({"nonce": b"n" * 65}), b"\xff"])
def test_report_requests_outside_the_schema_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode_report_request(body)


def test_capability_report_over_the_protocol(keyed: ServedDevice) -> None:
    capabilities = read_capabilities(keyed.path)
    assert (APP in {c.prefix for c in capabilities.components})
    assert not any(c.wildcard for c in capabilities.components)
    assert {int(Command.VENDOR_IDENTIFIER), int(Command.FETCH), int(Command.IMAGE_MATCH),
            int(Command.TRY_EACH)} <= set(capabilities.commands)
    assert int(Parameter.URI) in capabilities.parameters
    assert int(Parameter.ENCRYPTION_INFO) not in capabilities.parameters  # not processed
    assert int(CoseAlgorithm.ESP256) in capabilities.algorithms


def test_report_of_the_last_attempt_survives_a_power_cut(device_config: DeviceConfig) -> None:
    config = replace(device_config, device_key=DEVICE_PRIVATE)
    device = VirtualDevice(config)
    refused = app_update(1, IMAGE, uri=URI, vendor=b"\x11" * 16).envelope()
    with pytest.raises(UpdateRefused, match="vendor"):
        device.begin_update(refused)
    device.close()
    # Power off, power on: the loader's RAM is gone; the report was saved with the result.
    device = VirtualDevice(config)
    raw = device.last_report(b"n" * 16)
    device.close()
    assert raw is not None
    report = open_report(raw, DEVICE_KEY).report
    assert not report.success and report.reason is ReportReason.CONDITION_FAILED
    assert report.nonce == b"n" * 16


def test_power_cut_during_an_update_leaves_no_stale_report(device_config: DeviceConfig) -> None:
    """After a refused attempt, cut the power at each write step of a good update: after
    the restart the device reports the refused attempt (cut before the new attempt's
    begin save), nothing (the new attempt in flight), or the new attempt's success once
    its result is saved: never a report that contradicts the last result."""
    config = replace(device_config, device_key=DEVICE_PRIVATE)
    kinds = _steps_after_refusal(replace(config, state_dir=config.state_dir / "count"))
    assert "begin" in kinds and "candidate" in kinds
    for index, kind in enumerate(kinds):
        state_dir = config.state_dir / f"cut{index}"
        _refuse_once(replace(config, state_dir=state_dir)).close()
        device = VirtualDevice(replace(config, state_dir=state_dir),
                               power=PowerSwitch(cut_at=index))
        with pytest.raises(PowerCut):
            _install(device, GOOD)
        device.close()
        after = VirtualDevice(replace(config, state_dir=state_dir))
        raw, state = after.last_report(None), after.state
        after.close()
        assert state.last_result is not None, kind
        if raw is None:
            assert state.update is not None, kind  # the attempt is in flight: no report yet
            continue
        report = decode_report(cbor.loads(raw).value[2])
        assert report.success == (state.last_result.detail == "installed"), kind


GOOD = app_update(1, IMAGE, uri=URI).envelope()


def _refuse_once(config: DeviceConfig) -> VirtualDevice:
    device = VirtualDevice(config)
    with pytest.raises(UpdateRefused, match="vendor"):
        device.begin_update(app_update(1, IMAGE, uri=URI, vendor=b"\x11" * 16).envelope())
    return device


def _steps_after_refusal(config: DeviceConfig) -> list[str]:
    device = _refuse_once(config)
    device.close()
    device = VirtualDevice(config)
    _install(device, GOOD)
    device.close()
    return [step.kind for step in device.power.steps]


def _install(device: VirtualDevice, envelope: bytes) -> None:
    device.begin_update(envelope)
    device.write_payload(URI, 0, IMAGE)
    device.finish_update()


def test_refusal_before_authentication_does_not_repeat_the_last_attempts_records(
        keyed: ServedDevice) -> None:
    options = FlashOptions(want_report=True, device_key=DEVICE_KEY)
    wrong_vendor = app_update(1, IMAGE, uri=URI, vendor=b"\x11" * 16).envelope()
    first = flash(keyed.path, Bundle.from_bytes(wrong_vendor, {URI: IMAGE}), options=options)
    assert first.report is not None and first.report.result is not None
    assert first.report.result["records"]  # policy 15 on vendor-identifier: a record
    second = flash(keyed.path, Bundle.from_bytes(untrusted_key(), {URI: IMAGE}), options=options)
    assert second.report is not None and second.report.result is not None
    assert second.report.result["reason"] == "unauthorised"
    assert second.report.result["records"] == []


def test_a_damaged_stored_report_is_not_sent_and_the_loader_keeps_serving(
        device_config: DeviceConfig) -> None:
    device = VirtualDevice(replace(device_config, device_key=DEVICE_PRIVATE))
    device.state = replace(device.state, last_report=b"\xa1\x63bad")  # not a SUIT_Report
    assert device.last_report(b"n" * 16) is None
    device.close()


def test_flash_refuses_a_report_replayed_by_the_device(keyed: ServedDevice) -> None:
    options = FlashOptions(want_report=True, device_key=DEVICE_KEY)
    bundle = Bundle.from_bytes(app_update(1, IMAGE, uri=URI).envelope(), {URI: IMAGE})
    first = flash(keyed.path, bundle, options=options)
    assert first.report is not None and first.report.verified is True
    recorded = first.report.raw
    # A device (or anything on the line) that answers REPORT with the recorded reply:
    # signed by the device key, but for another request.
    assert keyed.device is not None
    keyed.device.last_report = lambda nonce: recorded  # type: ignore[method-assign]
    replayed = flash(keyed.path, bundle, options=options)
    assert replayed.report is not None and replayed.report.raw == recorded
    assert replayed.report.verified is False
    assert "nonce" in (replayed.report.problem or "")


def test_refusal_for_what_the_device_lacks_carries_its_capabilities(
        keyed: ServedDevice) -> None:
    options = FlashOptions(want_report=True, device_key=DEVICE_KEY)
    elsewhere = app_update(1, IMAGE, uri=URI, components=((b"\x07\x07",),)).envelope()
    outcome = flash(keyed.path, Bundle.from_bytes(elsewhere, {URI: IMAGE}), options=options)
    assert outcome.result == "refused" and outcome.report is not None
    assert outcome.report.verified is True
    report = open_report(outcome.report.raw, DEVICE_KEY).report
    # Report draft §4: a capability report is worth sending when the manifest used a
    # capability the processor does not implement.
    assert report.reason is ReportReason.COMPONENT_UNSUPPORTED
    assert report.capabilities is not None
    assert APP in {c.prefix for c in report.capabilities.components}
    # A plain condition failure does not carry them.
    vendor = app_update(1, IMAGE, uri=URI, vendor=b"\x11" * 16).envelope()
    refused = flash(keyed.path, Bundle.from_bytes(vendor, {URI: IMAGE}), options=options)
    assert refused.report is not None
    assert open_report(refused.report.raw, DEVICE_KEY).report.capabilities is None
