"""Acceptance for issue 15, end to end on a pty with real `suitwb` subprocesses: the `linux`
template's release, built and signed, flashes to `suitwb device serve --root DIR`; every
file appears under DIR with the digest and permissions the manifest states, and `device
status` (JSON and text) reports them. A crafted envelope whose path leaves the root is
refused over the wire with its reason, and nothing is written."""

from __future__ import annotations

import hashlib
import json
import stat
import uuid
from pathlib import Path

from tests.fixtures.vectors import SPEC_KEY_PRIVATE, SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.test_file_components import tree
from testsupport.envelopes import FileSpec, file_update
from workbench.flashing import mode_text

VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")
CLASS = uuid.uuid5(VENDOR, "linux-gateway")
BASE = "https://updates.example.com/linux/"
#: The template's files and the modes its metadata states.
FILES = {"usr/local/bin/app": ("images/app", 0o755),
         "etc/app/config.json": ("images/config.json", 0o640)}


def test_the_linux_template_release_installs_its_files_over_a_pty(tmp_path: Path) -> None:
    project, bundle, root = tmp_path / "linux", tmp_path / "release.suit", tmp_path / "root"
    suitwb("new", "--template", "linux", project, data_dir=tmp_path)
    suitwb("build", project, "-o", bundle, "--sign", SPEC_KEY_PRIVATE, data_dir=tmp_path)
    payloads = [f"--payload={BASE}{Path(image).name}={project / image}"
                for image, _mode in FILES.values()]
    with device_serve("--state", tmp_path / "state", "--root", root, "--trust-anchor",
                      SPEC_KEY_PUBLIC, "--vendor-id", VENDOR, "--class-id", CLASS,
                      "--authorized-priority", 10, data_dir=tmp_path) as port:
        flashed = suitwb("flash", bundle, "--port", port, *payloads, "--json",
                         data_dir=tmp_path)
        [result] = json.loads(flashed.stdout)
        assert result["result"] == "ok", result
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
        text = suitwb("device", "status", "--port", port, data_dir=tmp_path).stdout
    reported = {c["path"]: c for c in status["components"] if c["path"] is not None}
    assert set(reported) == set(FILES)
    for path, (image, mode) in FILES.items():
        expected = (project / image).read_bytes()
        installed = root / path
        assert installed.read_bytes() == expected
        assert stat.S_IMODE(installed.stat().st_mode) == mode
        entry = reported[path]
        assert entry["digest"] == hashlib.sha256(expected).hexdigest()
        assert (entry["mode"], entry["size"], entry["sequence_number"]) == \
            (mode, len(expected), 1)
        assert f"file {path} {mode_text(mode)}" in text
    assert status["last_result"]["result"] == "ok"


def test_a_path_outside_the_root_is_refused_over_the_wire(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    outside.mkdir()
    spec = FileSpec("x", b"owned")
    build = file_update(2, (spec,))
    build.components = ((b"fs", b"../outside/owned"),)
    bundle = tmp_path / "escape.suit"
    bundle.write_bytes(build.envelope())  # signed with the published key the device trusts
    (tmp_path / "x").write_bytes(spec.data)
    with device_serve("--state", tmp_path / "state", "--root", root, "--trust-anchor",
                      SPEC_KEY_PUBLIC, data_dir=tmp_path) as port:
        before = tree(outside), tree(root)
        flashed = suitwb("flash", bundle, "--port", port, f"--payload={spec.uri}={tmp_path / 'x'}",
                         "--json", data_dir=tmp_path, check=False)
        status = json.loads(suitwb("device", "status", "--port", port, "--json",
                                   data_dir=tmp_path).stdout)
    assert flashed.returncode == 1, flashed.stderr
    [result] = json.loads(flashed.stdout)
    assert result["result"] == "refused" and "'..'" in result["reason"], result
    assert result["report"]["result"]["reason"] == "component-unauthorised"
    assert (tree(outside), tree(root)) == before
    assert status["last_result"]["result"] == "path_outside_root"
