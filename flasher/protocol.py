"""Messages of the recovery protocol and their encodings (docs/recovery-protocol.md §3).

Control messages carry a CBOR map with text keys (small, self-describing, easy to produce
in firmware with any CBOR library); the hot path (DATA, ACK, NAK) is fixed binary so a
device can handle it without a CBOR decoder on every frame.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import cbor2

from flasher.errors import ProtocolError, RefusalReason
from flasher.errors import ProtocolErrorCode as ErrorCode
from flasher.loader.contract import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)

PROTOCOL_VERSION: Final = 1
#: Stream 0 carries the envelope; stream k >= 1 the payload of the plan's entry k - 1.
ENVELOPE_STREAM: Final = 0
_DATA_HEAD: Final = struct.Struct(">BI")  # stream, offset
_ACK: Final = struct.Struct(">BI")  # stream, next offset expected


class MessageType(IntEnum):
    """The message type byte of a frame."""

    HELLO = 0x01        # host -> device: version, frame size, window
    HELLO_ACK = 0x02    # device -> host: negotiated sizes, identity, envelope limit
    STATUS = 0x03       # host -> device
    STATUS_REPLY = 0x04
    BEGIN = 0x05        # host -> device: envelope size and SHA-256
    READY = 0x06        # device -> host: envelope bytes it already holds
    VERIFY = 0x07       # host -> device: the envelope is complete, check it
    PLAN = 0x08         # device -> host: payloads to fetch, with bytes already stored
    FINISH = 0x09       # host -> device: every payload sent; install
    DONE = 0x0A         # device -> host: the update's result
    ABORT = 0x0B
    REBOOT = 0x0C
    OK = 0x0D
    REFUSED = 0x0E      # device -> host: reason and detail (UpdateRefused)
    ERROR = 0x0F        # device -> host: protocol error code and detail
    DATA = 0x10         # host -> device: stream, offset, bytes
    ACK = 0x11          # device -> host: stream, next offset (cumulative)
    NAK = 0x12          # device -> host: stream, offset expected (a gap was seen)


@dataclass(frozen=True)
class Hello:
    """Both HELLO and HELLO_ACK: the sizes each side proposes, then the ones agreed."""

    version: int
    frame_size: int  # largest DATA chunk (payload bytes per frame)
    window: int  # frames the host may send before the first is acknowledged
    max_envelope: int = 0  # HELLO_ACK only: the largest envelope the device accepts
    identity: DeviceIdentity | None = None  # HELLO_ACK only


def dumps(value: dict[str, Any]) -> bytes:
    """Encode a control body (deterministic CBOR)."""
    return cbor2.dumps(value, canonical=True)


def loads(body: bytes) -> dict[str, Any]:
    """Decode a control body; every failure is a ProtocolError."""
    try:
        value = cbor2.loads(body)
    except (cbor2.CBORError, ValueError, TypeError, EOFError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable body: {exc}") from exc
    if not isinstance(value, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "body is not a map")
    return value


def field(body: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """`body[key]`, checked to be of `kind`, or a ProtocolError naming the key."""
    value = body.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"field {key!r} missing or of wrong type")
    return value


# -- hot path --------------------------------------------------------------------------

def encode_data(stream: int, offset: int, chunk: bytes) -> bytes:
    """DATA body: stream (u8), offset (u32, big-endian), then the bytes."""
    return _DATA_HEAD.pack(stream, offset) + chunk


def decode_data(body: bytes) -> tuple[int, int, bytes]:
    """(stream, offset, bytes) of a DATA body."""
    if len(body) < _DATA_HEAD.size:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "DATA shorter than its header")
    stream, offset = _DATA_HEAD.unpack_from(body)
    return stream, offset, body[_DATA_HEAD.size:]


def encode_ack(stream: int, offset: int) -> bytes:
    """ACK and NAK body: stream (u8) and offset (u32)."""
    return _ACK.pack(stream, offset)


def decode_ack(body: bytes) -> tuple[int, int]:
    """(stream, offset) of an ACK or NAK body."""
    if len(body) != _ACK.size:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "ACK of wrong length")
    stream, offset = _ACK.unpack(body)
    return stream, offset


DATA_HEADER_SIZE: Final = _DATA_HEAD.size


# -- control bodies --------------------------------------------------------------------

def encode_hello(hello: Hello) -> bytes:
    """HELLO / HELLO_ACK body."""
    body: dict[str, Any] = {"version": hello.version, "frame": hello.frame_size,
                            "window": hello.window}
    if hello.identity is not None:
        body.update(max_envelope=hello.max_envelope, identity=_identity(hello.identity))
    return dumps(body)


def decode_hello(data: bytes) -> Hello:
    """HELLO / HELLO_ACK from its body."""
    body = loads(data)
    identity = body.get("identity")
    return Hello(field(body, "version", int), field(body, "frame", int),
                 field(body, "window", int), int(body.get("max_envelope", 0)),
                 _decode_identity(identity) if isinstance(identity, dict) else None)


def _identity(identity: DeviceIdentity) -> dict[str, Any]:
    return {"vendor_id": identity.vendor_id, "class_id": identity.class_id,
            "device_id": identity.device_id}


def _decode_identity(body: dict[str, Any]) -> DeviceIdentity:
    return DeviceIdentity(field(body, "vendor_id", bytes), field(body, "class_id", bytes),
                          field(body, "device_id", bytes))


def encode_refusal(reason: RefusalReason, detail: str) -> bytes:
    """REFUSED body."""
    return dumps({"reason": int(reason), "detail": detail})


def decode_refusal(data: bytes) -> tuple[RefusalReason, str]:
    """(reason, detail) of a REFUSED body; an unknown reason reads as OPERATION_FAILED."""
    body = loads(data)
    code = field(body, "reason", int)
    reason = RefusalReason(code) if code in RefusalReason._value2member_map_ else \
        RefusalReason.OPERATION_FAILED
    return reason, str(body.get("detail", ""))


def encode_error(code: ErrorCode, detail: str) -> bytes:
    """ERROR body."""
    return dumps({"code": int(code), "detail": detail})


def decode_error(data: bytes) -> ProtocolError:
    """The ProtocolError an ERROR body describes."""
    body = loads(data)
    code = field(body, "code", int)
    known = ErrorCode(code) if code in ErrorCode._value2member_map_ else ErrorCode.BAD_MESSAGE
    return ProtocolError(known, str(body.get("detail", "")))


def encode_plan(requests: list[PayloadRequest]) -> bytes:
    """PLAN body: the payloads the device wants, in stream order (stream = index + 1)."""
    return dumps({"payloads": [{"uri": r.uri, "size": r.size, "received": r.received}
                               for r in requests]})


def decode_plan(data: bytes) -> list[PayloadRequest]:
    """The payload requests of a PLAN body."""
    entries = field(loads(data), "payloads", list)
    if not all(isinstance(e, dict) for e in entries):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "PLAN entry is not a map")
    return [PayloadRequest(field(e, "uri", str), field(e, "size", int),
                           field(e, "received", int)) for e in entries]


def encode_components(components: tuple[ComponentStatus, ...]) -> list[dict[str, Any]]:
    """Components as CBOR-ready maps (used by DONE and STATUS_REPLY)."""
    return [{"id": list(c.component_id), "sequence_number": c.sequence_number,
             "digest": c.digest, "size": c.size, "active_slot": c.active_slot}
            for c in components]


def decode_components(entries: list[Any]) -> tuple[ComponentStatus, ...]:
    """Components from their CBOR maps."""
    out = []
    for e in entries:
        if not isinstance(e, dict):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "component entry is not a map")
        digest, slot = e.get("digest"), e.get("active_slot")
        out.append(ComponentStatus(tuple(field(e, "id", list)), field(e, "sequence_number", int),
                                   digest if isinstance(digest, bytes) else None,
                                   field(e, "size", int), slot if isinstance(slot, int) else None))
    return tuple(out)


def encode_result(result: UpdateResult) -> bytes:
    """DONE body."""
    return dumps({"sequence_number": result.sequence_number,
                  "manifest_digest": result.manifest_digest,
                  "components": encode_components(result.components)})


def decode_result(data: bytes) -> UpdateResult:
    """The UpdateResult of a DONE body."""
    body = loads(data)
    return UpdateResult(field(body, "sequence_number", int), field(body, "manifest_digest", bytes),
                        decode_components(field(body, "components", list)))


def encode_status(status: DeviceStatus) -> bytes:
    """STATUS_REPLY body (the status tracker's report, RFC 9019 §2.3)."""
    last = status.last_result
    return dumps({"identity": _identity(status.identity),
                  "components": encode_components(status.components),
                  "slots": dict(status.slots),
                  "last_result": None if last is None else {
                      "result": int(last.result), "detail": last.detail,
                      "sequence_number": last.sequence_number,
                      "manifest_digest": last.manifest_digest, "time": last.time}})


def decode_status(data: bytes) -> DeviceStatus:
    """The DeviceStatus of a STATUS_REPLY body."""
    body = loads(data)
    last = body.get("last_result")
    record = None
    if isinstance(last, dict):
        code = field(last, "result", int)
        record = UpdateRecord(
            RefusalReason(code) if code in RefusalReason._value2member_map_
            else RefusalReason.OPERATION_FAILED,
            str(last.get("detail", "")), last.get("sequence_number"),
            last.get("manifest_digest"), int(last.get("time", 0)))
    slots = body.get("slots") or {}
    return DeviceStatus(_decode_identity(field(body, "identity", dict)),
                        decode_components(field(body, "components", list)),
                        {str(k): str(v) for k, v in slots.items()}, record)
