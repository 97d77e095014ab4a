"""Messages of the recovery protocol and their encodings (docs/recovery-protocol.md §3).

Control messages carry a CBOR map with text keys (small, self-describing, easy to produce
in firmware with any CBOR library); the hot path (DATA, ACK, NAK) is fixed binary so a
device can handle it without a CBOR decoder on every frame. Each control body, in both
directions, has one schema below (flasher/schema.py): decoding parses it into the typed
messages here, so the device and the host past this edge never look into a raw map.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final

import cbor2

from flasher import schema
from flasher.errors import ProtocolError, ProtocolErrorCode, RefusalReason
from flasher.messages import (
    ComponentStatus,
    DeviceIdentity,
    DeviceStatus,
    PayloadRequest,
    UpdateRecord,
    UpdateResult,
)

ErrorCode = ProtocolErrorCode  # re-exported: the host and the loader name it from here
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
    REPORT = 0x13       # host -> device: the SUIT report of the last update attempt
    REPORT_REPLY = 0x14  # device -> host: that report (COSE_Sign1 or bare), or null
    CAPABILITIES = 0x15  # host -> device: what can this device process
    CAPABILITIES_REPLY = 0x16  # device -> host: a SUIT_Capability_Report


@dataclass(frozen=True)
class Hello:
    """Both HELLO and HELLO_ACK: the sizes each side proposes, then the ones agreed."""

    version: int
    frame_size: int  # largest DATA chunk (payload bytes per frame)
    window: int  # frames the host may send before the first is acknowledged
    max_envelope: int = 0  # HELLO_ACK only: the largest envelope the device accepts
    identity: DeviceIdentity | None = None  # HELLO_ACK only


@dataclass(frozen=True)
class Begin:
    """BEGIN: the envelope the host is about to send."""

    size: int
    sha256: bytes


def dumps(value: dict[str, Any]) -> bytes:
    """Encode a control body (deterministic CBOR)."""
    return cbor2.dumps(value, canonical=True)


def loads(body: bytes, root: str = "body") -> object:
    """Decode a control body's CBOR; every failure is a ProtocolError(BAD_MESSAGE).

    The shape check runs first, so neither depth, tags, floats nor indefinite lengths
    reach cbor2; its own limits stay on as a second fence.
    """
    schema.check_shape(body, root)
    try:
        return cbor2.loads(body, max_depth=schema.MAX_DEPTH, allow_indefinite=False,
                           allow_duplicate_keys=False)
    except (cbor2.CBORError, ValueError, TypeError, EOFError, RecursionError) as exc:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"undecodable body: {exc}") from exc


def parse(kind: MessageType, body: bytes) -> dict[str, Any]:
    """The fields of a `kind` control body, checked by its schema."""
    return BODY_SCHEMAS[kind].parse(loads(body, kind.name), kind.name)


def check_empty(kind: MessageType, body: bytes) -> None:
    """Messages without a body (STATUS, VERIFY, FINISH, ABORT, REBOOT, OK,
    CAPABILITIES) carry none."""
    if body:
        raise schema.bad(kind.name, f"expected an empty body, found {len(body)} bytes")


def one_line(text: str) -> str:
    """`text` as a detail the peer's schema accepts: printable, at most DETAIL_MAX long."""
    return "".join(c if c.isprintable() else " " for c in text[:DETAIL_MAX])


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


# -- schemas: one per control body (docs/recovery-protocol.md §3) -----------------------

DETAIL_MAX: Final = 1024
#: Streams are numbered by a u8 and stream 0 is the envelope: at most 255 payloads.
MAX_PAYLOADS: Final = 255
MAX_COMPONENTS: Final = 64

_IDENTITY: Final = schema.Fields({"vendor_id": schema.Bytes(exact=16),
                                  "class_id": schema.Bytes(exact=16),
                                  "device_id": schema.Bytes(max_len=64)})
#: A file component's path under a Linux-class loader's root, and its permission bits.
PATH_MAX: Final = 1024
#: Segments of a component id the status reply carries.
MAX_COMPONENT_SEGMENTS: Final = 16
MODE_MAX: Final = 0o7777
_COMPONENT: Final = schema.Fields({
    # A segment holds a path of a file component (["fs", "usr/local/bin/app"]).
    "id": schema.ListOf(schema.Bytes(max_len=PATH_MAX), max_len=MAX_COMPONENT_SEGMENTS),
    "sequence_number": schema.UInt(schema.U64_MAX),
    "digest": schema.Nullable(schema.Bytes(max_len=64)),
    "size": schema.UInt(),
    "active_slot": schema.Nullable(schema.UInt(schema.U8_MAX))},
    optional={"path": schema.Text(PATH_MAX), "mode": schema.UInt(MODE_MAX)})
_COMPONENTS: Final = schema.ListOf(_COMPONENT, max_len=MAX_COMPONENTS)
_RECORD: Final = schema.Fields({
    "result": schema.UInt(), "detail": schema.Text(DETAIL_MAX),
    "sequence_number": schema.Nullable(schema.UInt(schema.U64_MAX)),
    "manifest_digest": schema.Nullable(schema.Bytes(max_len=64)),
    "time": schema.UInt(schema.U64_MAX)})
#: A SUIT report as REPORT_REPLY carries it; records are few (one per reported command).
MAX_REPORT: Final = 16 * 1024
#: suit-report-nonce as REPORT carries it (the host sends 16 random bytes).
MAX_NONCE: Final = 64
#: A SUIT_Capability_Report: a few lists of small integers and the device's component ids.
MAX_CAPABILITIES: Final = 4 * 1024
_SIZES: Final = {"version": schema.UInt(schema.U8_MAX), "frame": schema.UInt(),
                 "window": schema.UInt()}
_PAYLOAD: Final = schema.Fields({"uri": schema.Text(1024), "size": schema.UInt(),
                                 "received": schema.UInt()})

BODY_SCHEMAS: Final[dict[MessageType, schema.Fields]] = {
    # HELLO may carry HELLO_ACK's fields (one dataclass for both); a device ignores them.
    MessageType.HELLO: schema.Fields(_SIZES, {"max_envelope": schema.UInt(),
                                              "identity": _IDENTITY}),
    MessageType.HELLO_ACK: schema.Fields({**_SIZES, "max_envelope": schema.UInt(),
                                          "identity": _IDENTITY}),
    MessageType.STATUS_REPLY: schema.Fields({
        "identity": _IDENTITY, "components": _COMPONENTS,
        "slots": schema.MapOf(schema.Text(64), schema.Text(64), max_len=64),
        "last_result": schema.Nullable(_RECORD)}),
    MessageType.BEGIN: schema.Fields({"size": schema.UInt(),
                                      "sha256": schema.Bytes(exact=32, max_len=32)}),
    MessageType.READY: schema.Fields({"have": schema.UInt()}),
    MessageType.PLAN: schema.Fields({"payloads": schema.ListOf(_PAYLOAD, MAX_PAYLOADS)}),
    MessageType.DONE: schema.Fields({"sequence_number": schema.UInt(schema.U64_MAX),
                                     "manifest_digest": schema.Bytes(max_len=64),
                                     "components": _COMPONENTS}),
    MessageType.REFUSED: schema.Fields({"reason": schema.UInt(),
                                        "detail": schema.Text(DETAIL_MAX)}),
    MessageType.ERROR: schema.Fields({"code": schema.UInt(), "detail": schema.Text(DETAIL_MAX)}),
    # The report's own CBOR is not looked into here: it is a SUIT structure, decoded by
    # suit.report's one boundary (with its size limit) when the host reads it.
    MessageType.REPORT_REPLY: schema.Fields({"report": schema.Nullable(
        schema.Bytes(max_len=MAX_REPORT))}),
    MessageType.REPORT: schema.Fields({"nonce": schema.Bytes(max_len=MAX_NONCE)}),
    MessageType.CAPABILITIES_REPLY: schema.Fields({"capabilities": schema.Bytes(
        max_len=MAX_CAPABILITIES)}),
}


# -- control bodies --------------------------------------------------------------------

def encode_hello(hello: Hello) -> bytes:
    """HELLO / HELLO_ACK body."""
    body: dict[str, Any] = {"version": hello.version, "frame": hello.frame_size,
                            "window": hello.window}
    if hello.identity is not None:
        body.update(max_envelope=hello.max_envelope, identity=_identity(hello.identity))
    return dumps(body)


def decode_hello(data: bytes) -> Hello:
    """HELLO from its body (a HELLO_ACK's extra fields are read if present)."""
    return _hello(parse(MessageType.HELLO, data))


def decode_hello_ack(data: bytes) -> Hello:
    """HELLO_ACK from its body: identity and max_envelope are required."""
    return _hello(parse(MessageType.HELLO_ACK, data))


def _hello(f: dict[str, Any]) -> Hello:
    identity = None if f["identity"] is None else _decode_identity(f["identity"])
    return Hello(f["version"], f["frame"], f["window"], f["max_envelope"] or 0, identity)


def _identity(identity: DeviceIdentity) -> dict[str, Any]:
    return {"vendor_id": identity.vendor_id, "class_id": identity.class_id,
            "device_id": identity.device_id}


def _decode_identity(f: dict[str, Any]) -> DeviceIdentity:
    return DeviceIdentity(f["vendor_id"], f["class_id"], f["device_id"])


def encode_begin(begin: Begin) -> bytes:
    """BEGIN body."""
    return dumps({"size": begin.size, "sha256": begin.sha256})


def decode_begin(data: bytes) -> Begin:
    """BEGIN from its body."""
    f = parse(MessageType.BEGIN, data)
    return Begin(f["size"], f["sha256"])


def encode_ready(have: int) -> bytes:
    """READY body: envelope bytes the device already holds."""
    return dumps({"have": have})


def decode_ready(data: bytes) -> int:
    """`have` of a READY body."""
    have: int = parse(MessageType.READY, data)["have"]
    return have


def encode_refusal(reason: RefusalReason, detail: str) -> bytes:
    """REFUSED body."""
    return dumps({"reason": int(reason), "detail": one_line(detail)})


def decode_refusal(data: bytes) -> tuple[RefusalReason, str]:
    """(reason, detail) of a REFUSED body; an unknown reason reads as OPERATION_FAILED."""
    f = parse(MessageType.REFUSED, data)
    return RefusalReason.from_wire(f["reason"]), f["detail"]


def encode_error(code: ErrorCode, detail: str) -> bytes:
    """ERROR body."""
    return dumps({"code": int(code), "detail": one_line(detail)})


def decode_error(data: bytes) -> ProtocolError:
    """The ProtocolError an ERROR body describes."""
    f = parse(MessageType.ERROR, data)
    return ProtocolError(ErrorCode.from_wire(f["code"]), f["detail"])


def encode_plan(requests: list[PayloadRequest]) -> bytes:
    """PLAN body: the payloads the device wants, in stream order (stream = index + 1)."""
    return dumps({"payloads": [{"uri": r.uri, "size": r.size, "received": r.received}
                               for r in requests]})


def decode_plan(data: bytes) -> list[PayloadRequest]:
    """The payload requests of a PLAN body; `received` never exceeds `size`."""
    entries = parse(MessageType.PLAN, data)["payloads"]
    for index, e in enumerate(entries):
        if e["received"] > e["size"]:
            raise schema.bad(f"PLAN.payloads[{index}].received", "exceeds size")
    return [PayloadRequest(e["uri"], e["size"], e["received"]) for e in entries]


def encode_components(components: tuple[ComponentStatus, ...]) -> list[dict[str, Any]]:
    """Components as CBOR-ready maps (used by DONE and STATUS_REPLY)."""
    return [_component(c) for c in components]


def _component(c: ComponentStatus) -> dict[str, Any]:
    entry = {"id": list(c.component_id), "sequence_number": c.sequence_number,
             "digest": c.digest, "size": c.size, "active_slot": c.active_slot}
    # Optional keys, sent only for file components (an older host ignores them, §3).
    if c.path is not None:
        entry["path"] = c.path
    if c.mode is not None:
        entry["mode"] = c.mode
    return entry


def _components(entries: tuple[dict[str, Any], ...]) -> tuple[ComponentStatus, ...]:
    return tuple(ComponentStatus(e["id"], e["sequence_number"], e["digest"], e["size"],
                                 e["active_slot"], path=e["path"], mode=e["mode"])
                 for e in entries)


def encode_result(result: UpdateResult) -> bytes:
    """DONE body."""
    return dumps({"sequence_number": result.sequence_number,
                  "manifest_digest": result.manifest_digest,
                  "components": encode_components(result.components)})


def decode_result(data: bytes) -> UpdateResult:
    """The UpdateResult of a DONE body."""
    f = parse(MessageType.DONE, data)
    return UpdateResult(f["sequence_number"], f["manifest_digest"],
                        _components(f["components"]))


def encode_report_request(nonce: bytes | None) -> bytes:
    """REPORT body: ``{"nonce": bstr}``, or empty (a host that sends no nonce)."""
    return b"" if nonce is None else dumps({"nonce": nonce})


def decode_report_request(data: bytes) -> bytes | None:
    """The nonce of a REPORT body (None: an empty body, no nonce asked for)."""
    if not data:
        return None
    nonce: bytes = parse(MessageType.REPORT, data)["nonce"]
    return nonce


def encode_capabilities(capabilities: bytes) -> bytes:
    """CAPABILITIES_REPLY body: the encoded SUIT_Capability_Report."""
    return dumps({"capabilities": capabilities})


def decode_capabilities(data: bytes) -> bytes:
    """The SUIT_Capability_Report bytes of a CAPABILITIES_REPLY body (decoded further by
    suit.report_capabilities, the SUIT boundary)."""
    capabilities: bytes = parse(MessageType.CAPABILITIES_REPLY, data)["capabilities"]
    return capabilities


def encode_report(report: bytes | None) -> bytes:
    """REPORT_REPLY body: the report bytes, or null when the device has none."""
    return dumps({"report": report})


def decode_report(data: bytes) -> bytes | None:
    """The report bytes of a REPORT_REPLY body (None: the device has no report)."""
    report: bytes | None = parse(MessageType.REPORT_REPLY, data)["report"]
    return report


def encode_status(status: DeviceStatus) -> bytes:
    """STATUS_REPLY body (the status tracker's report, RFC 9019 §2.3)."""
    last = status.last_result
    return dumps({"identity": _identity(status.identity),
                  "components": encode_components(status.components),
                  "slots": dict(status.slots),
                  "last_result": None if last is None else {
                      "result": int(last.result), "detail": one_line(last.detail),
                      "sequence_number": last.sequence_number,
                      "manifest_digest": last.manifest_digest, "time": last.time}})


def decode_status(data: bytes) -> DeviceStatus:
    """The DeviceStatus of a STATUS_REPLY body."""
    f = parse(MessageType.STATUS_REPLY, data)
    last = f["last_result"]
    record = None if last is None else UpdateRecord(
        RefusalReason.from_wire(last["result"]), last["detail"], last["sequence_number"],
        last["manifest_digest"], last["time"])
    return DeviceStatus(_decode_identity(f["identity"]), _components(f["components"]),
                        f["slots"], record)
