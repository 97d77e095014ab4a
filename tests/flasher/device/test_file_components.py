"""File components under a confined root (issue 15): a Linux-class release installs real
files with the digest and permissions its manifest states; unlink and the uninstall
sequence remove them; rollback, vendor and digest checks refuse as for flash; and a path
that is absolute, has `..`, or passes through a symlink is refused before anything is
written anywhere (the whole temporary tree is compared before and after).

Every envelope is a real one, signed with the published key the device trusts."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import DeviceConfig, VirtualDevice
from suit.model import Command
from suit.report import ReportReason, decode_report
from testsupport.envelopes import (
    CLASS_ID,
    VENDOR_ID,
    Build,
    FileSpec,
    file_update,
    seq,
    spec_public_pem,
)

APP = FileSpec("usr/local/bin/app", b"\x7fELF" + bytes(range(256)) * 100,
               {1: 5, 2: {0: 7}, 3: {0: 5}, 8: 0})  # 0o755, owner and group 0
CONFIG = FileSpec("etc/app/config.json", b'{"port": 8080}\n', {1: 0, 2: {0: 6}, 3: {0: 4}})
RELEASE = (APP, CONFIG)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "root"


@pytest.fixture
def device(tmp_path: Path, root: Path) -> VirtualDevice:
    config = DeviceConfig(state_dir=tmp_path / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                          trust_anchors=[spec_public_pem()], root=root)
    started = VirtualDevice(config)
    yield started
    started.close()


def send(device: VirtualDevice, build: Build, files: tuple[FileSpec, ...] = RELEASE,
         data: dict[str, bytes] | None = None) -> None:
    """Begin, send every payload the device asks for (chunks of 4 KiB), finish."""
    payloads = data or {f.uri: f.data for f in files}
    for request in device.begin_update(build.envelope()):
        for offset in range(request.received, request.size, 4096):
            device.write_payload(request.uri, offset, payloads[request.uri][offset:offset + 4096])
    device.finish_update()


def tree(top: Path) -> dict[str, tuple[str, int, str]]:
    """Every entry under `top`: kind, permission bits, and content digest or link target."""
    out: dict[str, tuple[str, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                out[str(path.relative_to(top))] = ("link", 0, os.readlink(path))
            elif stat.S_ISDIR(info.st_mode):
                out[str(path.relative_to(top))] = ("dir", stat.S_IMODE(info.st_mode), "")
            else:
                out[str(path.relative_to(top))] = (
                    "file", stat.S_IMODE(info.st_mode),
                    hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def user_files(root: Path) -> dict[str, tuple[str, int, str]]:
    """The tree under the root without the loader's own folder."""
    return {k: v for k, v in tree(root).items() if not k.startswith(".suitwb")}


def test_release_installs_every_file_with_its_digest_and_mode(device: VirtualDevice,
                                                              root: Path) -> None:
    send(device, file_update(3, RELEASE))
    for spec, mode in ((APP, 0o755), (CONFIG, 0o640)):
        path = root / spec.path
        assert path.read_bytes() == spec.data
        assert stat.S_IMODE(path.stat().st_mode) == mode
    statuses = {c.path: c for c in device.status().components if c.path is not None}
    assert set(statuses) == {APP.path, CONFIG.path}
    assert statuses[APP.path].digest == hashlib.sha256(APP.data).digest()
    assert (statuses[APP.path].mode, statuses[APP.path].size) == (0o755, len(APP.data))
    assert statuses[CONFIG.path].sequence_number == 3
    # Nothing left behind: no temporary file beside a target, no staged payload.
    assert {k for k, v in user_files(root).items() if v[0] == "file"} == {APP.path, CONFIG.path}
    assert not any((root / ".suitwb" / "staging").iterdir())


def test_a_restarted_device_keeps_reporting_its_files(device: VirtualDevice, root: Path,
                                                       tmp_path: Path) -> None:
    send(device, file_update(3, RELEASE))
    device.close()
    again = VirtualDevice(device.config)
    try:
        paths = {c.path: c.mode for c in again.status().components if c.path}
        assert paths == {APP.path: 0o755, CONFIG.path: 0o640}
    finally:
        again.close()


def test_unlink_removes_a_file_and_its_status(device: VirtualDevice, root: Path) -> None:
    send(device, file_update(3, RELEASE))
    send(device, file_update(4, (APP,), unlink=(CONFIG.path,)), (APP,))
    assert not (root / CONFIG.path).exists() and (root / APP.path).read_bytes() == APP.data
    assert [c.path for c in device.status().components if c.path] == [APP.path]


def test_the_uninstall_sequence_removes_the_release(device: VirtualDevice, root: Path) -> None:
    send(device, file_update(3, RELEASE))
    removal = file_update(5, RELEASE)
    removal.install = None
    removal.uninstall = seq((Command.SET_COMPONENT_INDEX, True), (Command.UNLINK, 2))
    send(device, removal, ())
    assert {k for k, v in user_files(root).items() if v[0] == "file"} == set()
    assert [c for c in device.status().components if c.path] == []
    assert device.status().last_result.sequence_number == 5


def test_a_lower_sequence_number_is_a_rollback(device: VirtualDevice, root: Path) -> None:
    send(device, file_update(3, RELEASE))
    older = (FileSpec(APP.path, b"old", APP.metadata), CONFIG)
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(2, older), older)
    assert refused.value.reason is RefusalReason.ROLLBACK
    assert (root / APP.path).read_bytes() == APP.data


def test_another_vendor_is_refused_before_anything_is_written(device: VirtualDevice,
                                                              root: Path) -> None:
    build = file_update(3, RELEASE)
    build.shared = seq((Command.SET_COMPONENT_INDEX, 0),
                       (Command.OVERRIDE_PARAMETERS, {1: bytes(16), 2: CLASS_ID}),
                       (Command.VENDOR_IDENTIFIER, 15))
    with pytest.raises(UpdateRefused) as refused:
        send(device, build)
    assert refused.value.reason is RefusalReason.WRONG_VENDOR
    assert user_files(root) == {}


def test_a_tampered_payload_leaves_the_old_files_and_no_temporary(device: VirtualDevice,
                                                                  root: Path) -> None:
    send(device, file_update(3, RELEASE))
    before = tree(root)
    new_app = FileSpec(APP.path, b"new application", APP.metadata)
    payloads = {new_app.uri: b"NEW application", CONFIG.uri: CONFIG.data}
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(4, (new_app, CONFIG)), data=payloads)
    assert refused.value.reason is RefusalReason.PAYLOAD_DIGEST_MISMATCH
    assert user_files(root) == {k: v for k, v in before.items() if not k.startswith(".suitwb")}


def test_directories_and_symlinks_from_metadata(device: VirtualDevice, root: Path) -> None:
    folder = FileSpec("var/lib/app", b"", {5: 2, 1: 0, 2: {0: 7}, 3: {0: 5}}, integrated=True)
    send(device, file_update(3, (folder,)), (folder,))
    assert (root / "var/lib/app").is_dir()
    assert stat.S_IMODE((root / "var/lib/app").stat().st_mode) == 0o750
    link = FileSpec("usr/bin/app", b"/usr/local/bin/app", {5: 3}, integrated=True)
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(4, (link,)), (link,))
    assert refused.value.reason is RefusalReason.COMPONENT_UNSUPPORTED


# -- confinement ----------------------------------------------------------------------------

def _escapes(root: Path, outside: Path) -> dict[str, tuple[bytes, ...]]:
    """Crafted component ids, each of which must be refused (path-outside-root)."""
    return {
        "absolute": (b"fs", str(outside / "owned").encode()),
        "absolute-segment": (b"fs", b"", b"etc", b"passwd"),
        "dot-dot": (b"fs", b"../outside/owned"),
        "dot-dot-inside": (b"fs", b"usr/../../outside/owned"),
        "dot-dot-segment": (b"fs", b"usr", b"..", b"..", b"outside", b"owned"),
        "symlinked-folder": (b"fs", b"escape/owned"),
        "symlinked-leaf": (b"fs", b"leaf"),
        "symlink-inside": (b"fs", b"inner/app"),
        "loader-folder": (b"fs", b".suitwb/staging/owned"),
    }


@pytest.mark.parametrize("case", list(_escapes(Path("/r"), Path("/o"))))
def test_paths_outside_the_root_are_refused_and_nothing_is_written(
        case: str, device: VirtualDevice, root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"keep me")
    (root / "escape").symlink_to(outside)  # a folder link leading out of the root
    (root / "leaf").symlink_to(outside / "victim")  # a file link leading out
    (root / "usr").mkdir()
    (root / "inner").symlink_to(root / "usr")  # even a link that stays inside
    component = _escapes(root, outside)[case]
    spec = FileSpec("x", b"owned!" * 100)
    build = file_update(7, (spec,))
    build.components = (component,)
    before = tree(tmp_path)
    with pytest.raises(UpdateRefused) as refused:
        send(device, build, (FileSpec("x", spec.data),))
    assert refused.value.reason is RefusalReason.PATH_OUTSIDE_ROOT, refused.value
    # Nothing was written anywhere except the device's own state (the refusal is recorded).
    after = tree(tmp_path)
    assert {k: v for k, v in after.items() if not k.startswith("state")} == \
        {k: v for k, v in before.items() if not k.startswith("state")}
    assert device.status().last_result.result is RefusalReason.PATH_OUTSIDE_ROOT
    report = decode_report(device.last_report(None))
    assert not report.success and report.reason is ReportReason.COMPONENT_UNAUTHORISED


def test_without_a_root_file_components_are_unsupported(tmp_path: Path) -> None:
    config = DeviceConfig(state_dir=tmp_path / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                          trust_anchors=[spec_public_pem()])
    device = VirtualDevice(config)
    try:
        with pytest.raises(UpdateRefused) as refused:
            send(device, file_update(3, RELEASE))
        assert refused.value.reason is RefusalReason.COMPONENT_UNSUPPORTED
    finally:
        device.close()


# -- A/B release trees (--root-layout ab) ---------------------------------------------------

def slotted(number: int, spec: FileSpec) -> Build:
    """One file whose URI depends on the slot being written (try-each over component-slot,
    as M37 Example 3 does for flash), then the rest as `file_update` writes it."""
    build = file_update(number, (spec,))
    alternatives = tuple(seq((Command.OVERRIDE_PARAMETERS, {5: slot}),
                             (Command.COMPONENT_SLOT, 15),
                             (Command.OVERRIDE_PARAMETERS, {21: f"{spec.uri}?slot={slot}"}))
                         for slot in (0, 1))
    items = list(build.install.commands)
    fetch = next(i for i, item in enumerate(items) if item.command == Command.FETCH)
    build.install = seq(*((item.command, item.argument) for item in items[:fetch]),
                        (Command.TRY_EACH, alternatives),
                        *((item.command, item.argument) for item in items[fetch:]))
    return build


def test_ab_layout_builds_each_release_in_the_other_tree_and_switches(
        tmp_path: Path, root: Path) -> None:
    config = DeviceConfig(state_dir=tmp_path / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                          trust_anchors=[spec_public_pem()], root=root, root_layout="ab")
    device = VirtualDevice(config)
    try:
        first, second = (FileSpec(APP.path, data, APP.metadata) for data in (b"one", b"two"))
        requested = [r.uri for r in device.begin_update(slotted(3, first).envelope())]
        assert requested == [f"{first.uri}?slot=0"]  # the component-slot sees slot a
        device.write_payload(requested[0], 0, first.data)
        device.finish_update()
        assert os.readlink(root / "current") == "releases/a"
        assert (root / "current" / APP.path).read_bytes() == b"one"
        requested = [r.uri for r in device.begin_update(slotted(4, second).envelope())]
        assert requested == [f"{second.uri}?slot=1"]
        device.write_payload(requested[0], 0, second.data)
        device.finish_update()
        assert os.readlink(root / "current") == "releases/b"
        assert (root / "current" / APP.path).read_bytes() == b"two"
        assert (root / "releases/a" / APP.path).read_bytes() == b"one"  # the previous tree
        [status] = [c for c in device.status().components if c.path]
        assert (status.path, status.active_slot, status.mode) == \
            (f"releases/b/{APP.path}", 1, 0o755)
        # A release tree holds exactly its manifest's files: the next one drops CONFIG.
        send(device, file_update(5, RELEASE))
        send(device, file_update(6, (APP,)), (APP,))
        assert sorted(p.name for p in (root / "current").rglob("*") if p.is_file()) == ["app"]
    finally:
        device.close()


def test_file_system_errors_are_refusals_and_unlink_of_a_full_folder_is_refused(
        device: VirtualDevice, root: Path) -> None:
    send(device, file_update(3, RELEASE))
    (root / "etc/app/extra").mkdir()
    (root / "etc/app/extra/keep").write_text("mine")
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(4, (APP,), unlink=("etc/app/extra",)), (APP,))
    assert refused.value.reason is RefusalReason.OPERATION_FAILED
    assert "not empty" in refused.value.detail
    assert (root / "etc/app/extra/keep").read_text() == "mine"
    # A file where the release needs a folder: a refusal naming it, nothing installed.
    (root / "opt").write_text("in the way")
    blocked = FileSpec("opt/app/bin/tool", b"tool")
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(5, (blocked,)), (blocked,))
    assert refused.value.reason is RefusalReason.OPERATION_FAILED
    assert (root / "opt").read_text() == "in the way"
    assert device.status().last_result.result is RefusalReason.OPERATION_FAILED


def test_a_path_too_long_for_the_status_reply_is_refused(device: VirtualDevice,
                                                         root: Path) -> None:
    long = FileSpec("a/" + "é" * 600, b"x")  # 1202 bytes of UTF-8
    with pytest.raises(UpdateRefused) as refused:
        send(device, file_update(3, (long,)), (long,))
    assert refused.value.reason is RefusalReason.COMPONENT_UNSUPPORTED
    assert user_files(root) == {}


def test_a_manifest_with_a_flash_image_and_a_file_installs_both_and_boots(
        device: VirtualDevice, root: Path) -> None:
    """The bootloader sees file components too: validate checks the file's digest."""
    from suit.model import Parameter
    from testsupport.envelopes import APP as FLASH_APP
    from testsupport.envelopes import image_params
    image = bytes(range(256)) * 40
    build = file_update(3, (CONFIG,))
    build.components = (FLASH_APP, CONFIG.component_id)
    items = [(i.command, i.argument) for i in build.install.commands]
    items[0] = (Command.SET_COMPONENT_INDEX, 1)
    build.install = seq((Command.SET_COMPONENT_INDEX, 0),
                        (Command.OVERRIDE_PARAMETERS, {Parameter.URI: "http://h/app.bin",
                                                       **image_params(image)}),
                        (Command.FETCH, 2), (Command.IMAGE_MATCH, 15), *items)
    build.validate = seq((Command.SET_COMPONENT_INDEX, 0),
                         (Command.OVERRIDE_PARAMETERS, image_params(image)),
                         (Command.IMAGE_MATCH, 15), (Command.SET_COMPONENT_INDEX, 1),
                         (Command.OVERRIDE_PARAMETERS, image_params(CONFIG.data)),
                         (Command.IMAGE_MATCH, 15))
    build.invoke = seq((Command.SET_COMPONENT_INDEX, 0), (Command.INVOKE, 2))
    send(device, build, data={"http://h/app.bin": image, CONFIG.uri: CONFIG.data})
    assert device.last_boot.booted is not None
    assert device.last_boot.booted.sequence_number == 3
    assert (root / CONFIG.path).read_bytes() == CONFIG.data
    # A file changed behind the loader's back fails validation at the next boot.
    (root / CONFIG.path).write_bytes(b"tampered")
    rebooted = device.reboot()
    assert any("validate" in line for line in rebooted.rejected), rebooted


def test_a_root_that_cannot_be_a_folder_is_a_typed_error(tmp_path: Path) -> None:
    from flasher.errors import FlasherError
    (tmp_path / "file").write_text("not a folder")
    config = DeviceConfig(state_dir=tmp_path / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                          root=tmp_path / "file" / "root")
    with pytest.raises(FlasherError, match="--root") as raised:
        VirtualDevice(config)
    assert raised.value.hint


def test_directive_copy_between_files_of_one_release(device: VirtualDevice, root: Path) -> None:
    """Fetch a file, then copy it to a second path in the same update (M37 copy)."""
    from suit.model import Parameter
    build = file_update(3, (CONFIG,))
    backup = (b"fs", b"etc/app/config.json.default")
    build.components = (CONFIG.component_id, backup)
    build.install = seq(*((i.command, i.argument) for i in build.install.commands),
                        (Command.SET_COMPONENT_INDEX, 1),
                        (Command.OVERRIDE_PARAMETERS, {Parameter.SOURCE_COMPONENT: 0}),
                        (Command.COPY, 2))
    send(device, build, (CONFIG,))
    assert (root / "etc/app/config.json.default").read_bytes() == CONFIG.data
