"""Hostile file components (issue 15): metadata with owners past a POSIX id, paths the status
reply cannot carry, more components than it lists. Each is a refusal with its reason before
anything is written, the device keeps its status readable by a host, and a good release
installs after them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cbor2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flasher import protocol
from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.file_meta import MAX_POSIX_ID, parse_metadata
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.test_file_components import APP, send, user_files
from testsupport.envelopes import CLASS_ID, VENDOR_ID, FileSpec, file_update, spec_public_pem


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def device(tmp_path: Path, root: Path) -> Iterator[VirtualDevice]:
    config = DeviceConfig(state_dir=tmp_path / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                          trust_anchors=[spec_public_pem()], root=root)
    started = VirtualDevice(config)
    yield started
    started.close()


class SegmentedFile(FileSpec):
    """A file whose component id has one segment per path element."""

    @property
    def component_id(self) -> tuple[bytes, ...]:
        return (b"fs", *(s.encode() for s in self.path.split("/")))


def _status_reads_back(device: VirtualDevice) -> None:
    """What a host would read: the device's STATUS_REPLY through both real codecs."""
    protocol.decode_status(protocol.encode_status(device.status()))


def _refused(device: VirtualDevice, files: tuple[FileSpec, ...]) -> UpdateRefused:
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(3, files), files)
    return refused.value


@pytest.mark.parametrize("metadata", [
    # Was OverflowError from os.fchown (uid_t is 32 bits) in the middle of the install.
    {8: 2**40}, {8: 2**64 - 1}, {8: 2**32}, {2: {2**40: 7}}, {3: {2**40: 7}},
    {3: {2**32 - 1: 7}},  # (gid_t) -1: chown would silently leave the group unchanged
], ids=["creator-2^40", "creator-2^64-1", "creator-2^32", "user-2^40", "group-2^40",
        "group-minus-1"])
def test_an_owner_or_group_past_a_posix_id_is_refused(device: VirtualDevice, root: Path,
                                                      metadata: dict[int, Any]) -> None:
    refused = _refused(device, (FileSpec("usr/app", b"app", metadata),))
    assert refused.reason is RefusalReason.PARAMETER_UNSUPPORTED
    assert "not a POSIX id" in refused.detail
    assert user_files(root) == {}
    send(device, file_update(4, (APP,)), (APP,))  # and the device goes on installing
    assert (root / APP.path).read_bytes() == APP.data


@pytest.mark.parametrize("spec", [
    FileSpec("etc/a\nb", b"x"),  # a newline: the reply's path is one printable line
    FileSpec("etc/\x1b[2Jx", b"x"),
    SegmentedFile("/".join("abcdefghijklmnopq"), b"x"),  # 17 segments: the reply holds 16
], ids=["newline", "escape", "17-segments"])
def test_a_file_the_status_reply_cannot_carry_is_refused(device: VirtualDevice, root: Path,
                                                        spec: FileSpec) -> None:
    # Was installed: from then on every STATUS_REPLY failed the host's schema (bad_message),
    # so `device status` and flashing could no longer read the device.
    refused = _refused(device, (spec,))
    assert refused.reason is RefusalReason.COMPONENT_UNSUPPORTED
    assert user_files(root) == {}
    _status_reads_back(device)


def test_more_files_than_the_status_reply_lists_are_refused(device: VirtualDevice,
                                                            root: Path) -> None:
    many = tuple(FileSpec(f"f/{i}", b"x") for i in range(protocol.MAX_COMPONENTS))
    refused = _refused(device, many)
    assert refused.reason is RefusalReason.COMPONENT_UNSUPPORTED
    assert f"at most {protocol.MAX_COMPONENTS}" in refused.detail
    assert user_files(root) == {}
    _status_reads_back(device)
    fits = many[:protocol.MAX_COMPONENTS - len(device.layout.partitions)]
    send(device, file_update(4, fits), fits)
    _status_reads_back(device)
    refused = _refused(device, (FileSpec("one/more", b"x"),))  # files kept count too
    assert refused.reason is RefusalReason.COMPONENT_UNSUPPORTED


def test_over_the_wire_the_status_stays_readable_after_a_hostile_path(tmp_path: Path) -> None:
    spec = FileSpec("etc/a\nb", b"owned")
    bundle = tmp_path / "newline.suit"
    bundle.write_bytes(file_update(2, (spec,)).envelope())  # signed with the trusted key
    (tmp_path / "x").write_bytes(spec.data)
    with device_serve("--state", tmp_path / "state", "--root", tmp_path / "root",
                      "--trust-anchor", SPEC_KEY_PUBLIC, data_dir=tmp_path) as port:
        flashed = suitwb("flash", bundle, "--port", port, f"--payload={spec.uri}={tmp_path / 'x'}",
                         "--json", data_dir=tmp_path, check=False)
        status = suitwb("device", "status", "--port", port, "--json", data_dir=tmp_path,
                        check=False)
    assert flashed.returncode == 1, flashed.stderr
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["last_result"]["result"] == "component_unsupported"


_CBOR = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**64), max_value=2**64 - 1)
    | st.binary(max_size=8) | st.text(max_size=8) | st.floats(),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.integers(-2, 10) | st.text(max_size=3), inner, max_size=4),
    max_leaves=10)


@settings(max_examples=150, deadline=None)
@given(members=st.dictionaries(st.sampled_from([1, 2, 3, 5, 8, 4, -1]), _CBOR, max_size=5))
def test_any_metadata_map_is_a_usable_file_meta_or_a_refusal(members: dict[int, Any]) -> None:
    try:
        meta = parse_metadata(cbor2.dumps(members))
    except UpdateRefused as refused:
        assert refused.reason is RefusalReason.PARAMETER_UNSUPPORTED
        return
    # What reaches fchown and fchmod is in range: no OverflowError mid-install.
    assert meta.file_type in (1, 2, 3)
    assert meta.mode is None or 0 <= meta.mode <= 0o777
    for posix_id in (meta.owner, meta.group):
        assert posix_id is None or 0 <= posix_id <= MAX_POSIX_ID
