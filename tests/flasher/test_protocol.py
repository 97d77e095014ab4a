"""Message encodings of the recovery protocol: round trips and hostile bodies."""

from __future__ import annotations

import random

import cbor2
import pytest

from flasher import protocol
from flasher.errors import ProtocolError, RefusalReason
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)
from tests.flasher.hostile import HOSTILE_VALUES, mutate, valid_replies

IDENTITY = DeviceIdentity(b"\x01" * 16, b"\x02" * 16, b"serial-9")
COMPONENT = ComponentStatus((b"\x00", b"app"), 7, b"\xaa" * 32, 4096, 1)


def test_hello_round_trip() -> None:
    hello = protocol.Hello(1, 2048, 8, 65536, IDENTITY)
    assert protocol.decode_hello(protocol.encode_hello(hello)) == hello
    bare = protocol.Hello(1, 4096, 16)
    assert protocol.decode_hello(protocol.encode_hello(bare)) == bare


def test_status_round_trip() -> None:
    status = DeviceStatus(IDENTITY, (COMPONENT,), {"a": "active", "b": "candidate"},
                          UpdateRecord(RefusalReason.ROLLBACK, "seq 3 <= 7", 3, b"\x05" * 32, 99))
    assert protocol.decode_status(protocol.encode_status(status)) == status


def test_plan_result_refusal_round_trip() -> None:
    plan = [PayloadRequest("#app", 65536, 4096), PayloadRequest("https://x/fw.bin", 10)]
    assert protocol.decode_plan(protocol.encode_plan(plan)) == plan
    result = UpdateResult(8, b"\x07" * 32, (COMPONENT,))
    assert protocol.decode_result(protocol.encode_result(result)) == result
    body = protocol.encode_refusal(RefusalReason.WRONG_CLASS, "class differs")
    assert protocol.decode_refusal(body) == (RefusalReason.WRONG_CLASS, "class differs")


def test_data_and_ack_layout() -> None:
    body = protocol.encode_data(3, 0x01020304, b"xyz")
    assert body == b"\x03\x01\x02\x03\x04xyz"
    assert protocol.decode_data(body) == (3, 0x01020304, b"xyz")
    assert protocol.decode_ack(protocol.encode_ack(1, 4096)) == (1, 4096)


@pytest.mark.parametrize("body", [
    b"", b"\xff", cbor2.dumps([1, 2]), cbor2.dumps({"payloads": "no"}),
    cbor2.dumps({"payloads": [{"uri": 5, "size": 1, "received": 0}]}),
    cbor2.dumps({"payloads": [7]}),
])
def test_hostile_plan_bodies_raise_protocol_error(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.decode_plan(body)
    assert info.value.code == protocol.ErrorCode.BAD_MESSAGE


def test_short_data_and_ack_raise_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        protocol.decode_data(b"\x01\x00")
    with pytest.raises(ProtocolError):
        protocol.decode_ack(b"\x01")


def test_unknown_refusal_code_reads_as_operation_failed() -> None:
    body = cbor2.dumps({"reason": 250, "detail": "vendor specific"})
    assert protocol.decode_refusal(body) == (RefusalReason.OPERATION_FAILED, "vendor specific")


# -- schemas: every field of every control body is checked at the edge (issue 11) -------

HELLO = {"version": 1, "frame": 2048, "window": 4}


@pytest.mark.parametrize("value", HOSTILE_VALUES, ids=repr)
def test_hostile_hello_field_is_a_bad_message_naming_the_field(value: object) -> None:
    for name in ("version", "frame", "window", "max_envelope"):
        body = cbor2.dumps({**HELLO, name: value})
        with pytest.raises(ProtocolError) as info:
            protocol.decode_hello(body)
        assert info.value.code == protocol.ErrorCode.BAD_MESSAGE
        assert f"HELLO.{name}" in str(info.value)


FILE_ENTRY = {"id": [b"fs", b"usr/local/bin/app"], "sequence_number": 1, "digest": None,
              "size": 0, "active_slot": None, "path": "usr/local/bin/app", "mode": 0o755}


def test_file_components_carry_path_and_mode_and_others_do_not() -> None:
    """The wire contract of issue 15: optional "path" (tstr) and "mode" (uint) keys."""
    flash = ComponentStatus((b"\x00",), 2, b"d" * 32, 10, 1)
    file = ComponentStatus((b"fs", b"etc/app.conf"), 3, b"e" * 32, 12, None,
                           path="etc/app.conf", mode=0o640)
    entries = protocol.encode_components((flash, file))
    assert "path" not in entries[0] and "mode" not in entries[0]
    assert (entries[1]["path"], entries[1]["mode"]) == ("etc/app.conf", 0o640)
    body = cbor2.loads(valid_replies()[protocol.MessageType.STATUS_REPLY])
    decoded = protocol.decode_status(cbor2.dumps({**body, "components": entries}))
    assert decoded.components == (flash, file)


@pytest.mark.parametrize(("change", "where"), [
    ({"slots": ["a", "active"]}, "STATUS_REPLY.slots"),
    ({"last_result": {"result": 0, "detail": "ok", "sequence_number": 1,
                      "manifest_digest": None, "time": "yesterday"}}, "last_result.time"),
    ({"components": [{"id": [b"\x00"], "sequence_number": -3, "digest": None, "size": 1,
                      "active_slot": None}]}, "components[0].sequence_number"),
    ({"identity": {"vendor_id": b"v", "class_id": b"C" * 16, "device_id": b""}},
     "identity.vendor_id"),
    ({"slots": {"a": "active\x1b[2J"}}, "STATUS_REPLY.slots[0]"),
    # issue 15: a file component's optional path and mode are checked like the rest
    ({"components": [{**FILE_ENTRY, "mode": 0o10000}]}, "components[0].mode"),
    ({"components": [{**FILE_ENTRY, "mode": -1}]}, "components[0].mode"),
    ({"components": [{**FILE_ENTRY, "mode": True}]}, "components[0].mode"),
    ({"components": [{**FILE_ENTRY, "path": b"usr/bin/app"}]}, "components[0].path"),
    ({"components": [{**FILE_ENTRY, "path": "x" * 1025}]}, "components[0].path"),
    ({"components": [{**FILE_ENTRY, "path": "evil\x1b[2J"}]}, "components[0].path"),
])
def test_malformed_status_reply_is_a_bad_message(change: dict, where: str) -> None:
    body = cbor2.loads(valid_replies()[protocol.MessageType.STATUS_REPLY])
    with pytest.raises(ProtocolError) as info:
        protocol.decode_status(cbor2.dumps({**body, **change}))
    assert info.value.code == protocol.ErrorCode.BAD_MESSAGE
    assert where in str(info.value)


@pytest.mark.parametrize("body", [
    b"\xa1\x61a" + b"\x81" * 100_000 + b"\x00",  # 100,000 nested arrays
    b"\x9f" * 100_000,  # as many indefinite ones, never closed
    cbor2.dumps({"version": cbor2.CBORTag(2, b"\x01")}),  # a bignum 1 is still a tag
    cbor2.dumps({"have": 1.0}), bytes.fromhex("a16468617665f97e00"),  # a float, NaN
    bytes.fromhex("a164686176650101"),  # a trailing byte
    bytes.fromhex("bf64686176650fff"),  # an indefinite-length map
], ids=["deep", "indefinite-deep", "tag", "float", "nan", "trailing", "indefinite"])
def test_bodies_cbor2_should_never_see_are_refused_before_decoding(body: bytes) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.decode_ready(body)
    assert info.value.code == protocol.ErrorCode.BAD_MESSAGE


def test_plan_received_beyond_size_and_too_many_payloads_are_refused() -> None:
    with pytest.raises(ProtocolError, match=r"payloads\[0\].received"):
        protocol.decode_plan(cbor2.dumps({"payloads": [{"uri": "u", "size": 1,
                                                        "received": 2}]}))
    many = [{"uri": "u", "size": 1, "received": 0}] * 256  # streams are u8: 255 at most
    with pytest.raises(ProtocolError, match="more than 255"):
        protocol.decode_plan(cbor2.dumps({"payloads": many}))


def test_details_are_sent_as_one_bounded_line() -> None:
    body = protocol.encode_refusal(RefusalReason.ROLLBACK, "two\nlines\x1b" + "x" * 5000)
    reason, detail = protocol.decode_refusal(body)
    assert reason == RefusalReason.ROLLBACK
    assert detail.startswith("two lines ") and len(detail) == protocol.DETAIL_MAX


def test_control_messages_without_a_body_refuse_one() -> None:
    protocol.check_empty(protocol.MessageType.STATUS, b"")
    with pytest.raises(ProtocolError, match="STATUS: expected an empty body"):
        protocol.check_empty(protocol.MessageType.STATUS, b"\xa0")


_DECODERS = {
    protocol.MessageType.HELLO_ACK: protocol.decode_hello_ack,
    protocol.MessageType.STATUS_REPLY: protocol.decode_status,
    protocol.MessageType.READY: protocol.decode_ready,
    protocol.MessageType.PLAN: protocol.decode_plan,
    protocol.MessageType.DONE: protocol.decode_result,
    protocol.MessageType.REFUSED: protocol.decode_refusal,
    protocol.MessageType.ERROR: protocol.decode_error,
    protocol.MessageType.ACK: protocol.decode_ack,
}


@pytest.mark.parametrize("kind", list(_DECODERS), ids=lambda k: k.name)
def test_reply_decoders_fuzzed_raise_only_protocol_errors(kind: protocol.MessageType) -> None:
    # 1,500 mutations of a valid body per reply type: each decodes to typed values or is a
    # ProtocolError; nothing else escapes (the host's edge, issue 11 item 8).
    rng = random.Random(int(kind))
    valid = valid_replies()[kind]
    decoded = 0
    for _ in range(1500):
        try:
            _DECODERS[kind](mutate(valid, rng))
            decoded += 1
        except ProtocolError as exc:
            assert exc.code == protocol.ErrorCode.BAD_MESSAGE
    assert decoded < 1500  # the mutations do reach the checks
