"""Every reply a device can send becomes a result or a typed error, promptly (issue 13).

A fake SMP device on a real pty answers with generated replies: well-framed garbage,
CBOR of the wrong shape, wrong sequence numbers, error codes of every kind. The client
must return or raise a FlasherError within its timeout: never another exception, never
a hang, never unbounded memory (the decoder's bounds are checked separately).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flasher.errors import DeviceNotResponding, FlasherError, SmpError, SmpReplyInvalid
from flasher.smp import framing, operations
from flasher.smp.session import SessionOptions, SmpSession
from flasher.smp.upload import UploadOptions, upload
from tests.smp.fakes import FakeSmpDevice, reply_message

FAST = SessionOptions(timeout=0.3, ready_timeout=0.5)


class Scripted:
    """The fake device's answer: the next scripted reply body, mirrored onto the request."""

    def __init__(self) -> None:
        self.wire: bytes | None = None
        self.body: object = {}
        self.op_delta = 1

    def __call__(self, request: bytes) -> bytes:
        if self.wire is not None:
            return self.wire
        return framing.encode(reply_message(request, self.body, op_delta=self.op_delta))


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Scripted, FakeSmpDevice]]:
    script = Scripted()
    device = FakeSmpDevice(script).start()
    yield script, device
    device.stop()


cbor_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**64, 2**64) | st.binary(max_size=40)
    | st.text(max_size=20) | st.floats(allow_nan=True),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)
bodies = st.one_of(
    cbor_values,
    st.dictionaries(st.sampled_from(["rc", "err", "images", "off", "match", "r", "buf_size",
                                     "buf_count", "output", "rsn", "group"]),
                    cbor_values, max_size=4),
    st.fixed_dictionaries({"rc": st.integers(-5, 300)}),
    st.fixed_dictionaries({"err": st.fixed_dictionaries({"group": st.integers(0, 70),
                                                         "rc": st.integers(0, 40)})}),
    st.fixed_dictionaries({"images": st.lists(st.dictionaries(
        st.sampled_from(["slot", "version", "hash", "active", "image"]), cbor_values,
        max_size=5), max_size=3)}),
    st.fixed_dictionaries({"off": st.integers(-10, 10**6)}),
)


def _call_each(session: SmpSession) -> None:
    for call in (operations.read_params, operations.read_image_state,
                 lambda s: operations.echo(s, "x"), operations.identify):
        started = time.monotonic()
        try:
            call(session)
        except FlasherError:
            pass
        assert time.monotonic() - started < 5 * FAST.timeout + 1


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=bodies)
def test_generated_replies_give_results_or_typed_errors(
        scripted: tuple[Scripted, FakeSmpDevice], body: object) -> None:
    script, device = scripted
    script.wire, script.body, script.op_delta = None, body, 1
    with SmpSession.open(device.path, FAST) as session:
        _call_each(session)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(wire=st.binary(max_size=300) | st.builds(framing.encode, st.binary(max_size=200)))
def test_garbage_on_the_wire_gives_typed_errors(scripted: tuple[Scripted, FakeSmpDevice],
                                                wire: bytes) -> None:
    script, device = scripted
    script.wire = wire
    with SmpSession.open(device.path, FAST) as session, pytest.raises(FlasherError):
        operations.read_params(session)


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(offset=st.integers(-3, 3000) | st.none(), match=st.none() | st.booleans())
def test_upload_replies_with_bad_offsets_end_in_typed_errors(
        scripted: tuple[Scripted, FakeSmpDevice], offset: int | None, match: bool | None) -> None:
    script, device = scripted
    script.wire, script.op_delta = None, 1
    script.body = {k: v for k, v in {"rc": 0, "off": offset, "match": match}.items()
                   if v is not None}
    image = bytes(2000)
    try:
        upload(lambda: SmpSession.open(device.path, FAST), image,
               options=UploadOptions(buffer_size=512, reconnects=0, retries=1,
                                     first_timeout=0.3))
    except FlasherError:
        return
    # Success only when the device's offsets walked to the end.
    assert offset == len(image) and match is not False


def test_error_replies_carry_code_group_and_hint(
        scripted: tuple[Scripted, FakeSmpDevice]) -> None:
    script, device = scripted
    script.wire, script.op_delta = None, 1
    script.body = {"err": {"group": 1, "rc": 27}}
    with SmpSession.open(device.path, FAST) as session, pytest.raises(SmpError) as caught:
        operations.read_image_state(session)
    assert (caught.value.rc, caught.value.group, caught.value.group_error) == (27, 1, True)
    assert "newer version" in str(caught.value) and "higher version" in caught.value.hint


def test_a_reply_to_another_request_is_not_taken_for_the_answer(
        scripted: tuple[Scripted, FakeSmpDevice]) -> None:
    script, device = scripted
    script.wire, script.body, script.op_delta = None, {"r": "x"}, 0  # a request, not a reply
    with SmpSession.open(device.path, FAST) as session, pytest.raises(DeviceNotResponding):
        operations.echo(session, "x")


def test_a_corrupt_frame_is_reported_as_malformed(
        scripted: tuple[Scripted, FakeSmpDevice]) -> None:
    script, device = scripted
    good = framing.encode(b"\x01\x00\x00\x01\x00\x00\x00\x00\xa0")
    script.wire = good[:-6] + (b"A" if good[-6:-5] != b"A" else b"B") + good[-5:]
    with SmpSession.open(device.path, FAST) as session, pytest.raises(SmpReplyInvalid):
        operations.read_params(session)


@settings(max_examples=300, deadline=None)
@given(chunks=st.lists(st.binary(max_size=3000) | st.sampled_from(
    [b"\x06\x09", b"\x04\x14", b"\n", b"AAAA", b"//8=", b"\x06\x09AP//\n"]), max_size=40))
def test_the_decoder_stays_bounded(chunks: list[bytes]) -> None:
    decoder = framing.FrameDecoder()
    for chunk in chunks:
        for message in decoder.feed(chunk):
            assert len(message) <= framing.MAX_MESSAGE
        assert len(decoder._line) <= framing.MAX_LINE
        assert decoder._frame is None or len(decoder._frame) <= framing.MAX_MESSAGE + 4 + 96
