"""Message encodings of the recovery protocol: round trips and hostile bodies."""

from __future__ import annotations

import cbor2
import pytest

from flasher import protocol
from flasher.errors import ProtocolError, RefusalReason
from flasher.loader.contract import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)

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
