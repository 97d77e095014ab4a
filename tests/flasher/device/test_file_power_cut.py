"""Power safety of file installs (issue 15): a real loader process is SIGKILLed at every
write step of a multi-file update; after a restart every file is wholly old or wholly new,
the release as a whole is the old one or the new one (never a mix), and the same update,
retried, completes.

The loader runs in a forked child (a real process, killed by a real SIGKILL from its own
`KillSwitch`, which is what ``SUITWB_LOADER_KILL_AT_STEP`` selects in ``suitwb device
serve``); forking instead of starting the CLI keeps the ~20 cut points within seconds.
`test_device_serve_killed_mid_update_recovers` does one cut through the real CLI and pty.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from flasher.loader.device import DeviceConfig, VirtualDevice
from flasher.loader.flash import KillSwitch, PowerSwitch
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import ROOT, suitwb
from tests.flasher.device.conftest import image_of
from tests.flasher.device.test_file_components import send, user_files
from testsupport.envelopes import CLASS_ID, VENDOR_ID, FileSpec, file_update, spec_public_pem

MODE = {1: 4, 2: {0: 6}, 3: {0: 4}}  # 0o644
OLD = (FileSpec("opt/app/bin/app", image_of(20_000, 1), MODE),
       FileSpec("opt/app/lib/libapp.so", image_of(9_000, 2), MODE),
       FileSpec("etc/app.conf", b"version = 1\n", MODE))
NEW = (FileSpec("opt/app/bin/app", image_of(26_000, 3), MODE),
       FileSpec("opt/app/lib/libapp.so", image_of(7_000, 4), MODE),
       FileSpec("etc/app.conf", b"version = 2\n", MODE))
OLD_BUILD, NEW_BUILD = file_update(1, OLD), file_update(2, NEW)


def config(base: Path) -> DeviceConfig:
    layout = (base / "layout").read_text()
    return DeviceConfig(state_dir=base / "state", vendor_id=VENDOR_ID, class_id=CLASS_ID,
                        trust_anchors=[spec_public_pem()], root=base / "root",
                        root_layout=layout)


def make_baseline(tmp_path_factory: pytest.TempPathFactory, layout: str) -> Path:
    """A device under a root that holds the old release."""
    base = tmp_path_factory.mktemp("baseline")
    (base / "layout").write_text(layout)
    device = VirtualDevice(config(base))
    send(device, OLD_BUILD, OLD)
    device.close()
    return base


@pytest.fixture(scope="module", params=["direct", "ab"])
def baseline(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The old release in each root layout."""
    return make_baseline(tmp_path_factory, request.param)


def copy_of(baseline: Path, target: Path) -> DeviceConfig:
    shutil.copytree(baseline, target, symlinks=True)  # DIR/current stays a symlink
    return config(target)


def view(cfg: DeviceConfig) -> Path:
    """Where the release is seen: the root, or DIR/current in the A/B layout."""
    assert cfg.root is not None
    return cfg.root / "current" if cfg.root_layout == "ab" else cfg.root


def release(root: Path) -> str:
    """"old" or "new" when every file of the release is wholly that one; else a failure."""
    found = {spec.path: (root / spec.path).read_bytes() for spec in OLD}
    old = {spec.path: spec.data for spec in OLD}
    new = {spec.path: spec.data for spec in NEW}
    for path, data in found.items():
        assert data in (old[path], new[path]), f"{path} is neither wholly old nor new"
    assert found in (old, new), "a mix of the old and the new release"
    return "old" if found == old else "new"


def update_steps(baseline: Path, tmp_path: Path) -> list[str]:
    """The kinds of write steps of the uninterrupted update (index = cut point)."""
    device = VirtualDevice(copy_of(baseline, tmp_path / "count"), power=PowerSwitch())
    assert device.power.steps == []  # a restart with nothing pending writes nothing
    send(device, NEW_BUILD, NEW)
    device.close()
    return [step.kind for step in device.power.steps]


def killed_at(step: int, device_config: DeviceConfig) -> None:
    """Run the update in a child process that SIGKILLs itself at write step `step`."""
    pid = os.fork()
    if pid == 0:  # the child: the loader, until its power goes
        try:
            send(VirtualDevice(device_config, power=KillSwitch(step)), NEW_BUILD, NEW)
        finally:
            os._exit(3)  # not reached: the kill comes first
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, \
        f"the loader was not killed at step {step} (status {status})"


def test_a_kill_at_every_write_step_leaves_one_release_and_the_retry_completes(
        baseline: Path, tmp_path: Path) -> None:
    kinds = update_steps(baseline, tmp_path)
    # begin; each staged chunk and its progress save; a temporary file per file; the
    # commit (candidate) and sequence-number saves; a rename per file; the files save.
    counts = Counter(kinds)
    assert counts["file-temp"] == counts["file-install"] == len(NEW)
    ab = (baseline / "layout").read_text() == "ab"
    assert (counts["file-clear"], counts["file-switch"]) == ((1, 1) if ab else (0, 0))
    assert counts["file-stage"] == counts["progress"] == 4  # 16 KiB chunks: 2 + 1 + 1
    assert {"begin", "candidate", "sequence-number", "files"} <= set(counts)
    outcomes = []
    for step in range(len(kinds)):
        cfg = copy_of(baseline, tmp_path / f"cut-{step}")
        killed_at(step, cfg)
        restarted = VirtualDevice(cfg)  # settles a committed journal
        outcomes.append(release(view(cfg)))
        send(restarted, NEW_BUILD, NEW)  # the retry (resumes a transfer in flight)
        assert release(view(cfg)) == "new"
        assert set(user_files(view(cfg))) == {
            "etc", "etc/app.conf", "opt", "opt/app", "opt/app/bin", "opt/app/bin/app",
            "opt/app/lib", "opt/app/lib/libapp.so"}  # no temporary file is left
        prefix = f"releases/{'ab'[restarted.files.active_slot()]}/" if ab else ""
        assert {c.path: c.sequence_number for c in restarted.status().components
                if c.path} == {prefix + spec.path: 2 for spec in NEW}
        restarted.close()
    commit = kinds.index("candidate")
    # Old until the commit save is durable, new from the moment it is.
    assert outcomes == ["old"] * (commit + 1) + ["new"] * (len(kinds) - commit - 1)


def test_device_serve_killed_mid_update_recovers(
        tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> None:
    """The real CLI on a real pty, killed by ``SUITWB_LOADER_KILL_AT_STEP`` between the
    renames; the restarted loader finishes the committed release, and a retry is ok."""
    baseline = make_baseline(tmp_path_factory, "direct")
    kinds = update_steps(baseline, tmp_path)
    cut = kinds.index("file-install") + 1  # one file renamed, the others not yet
    cfg = copy_of(baseline, tmp_path / "cli")
    bundle = tmp_path / "new.suit"
    bundle.write_bytes(NEW_BUILD.envelope())
    payloads = []
    for spec in NEW:
        (tmp_path / spec.path.replace("/", "_")).write_bytes(spec.data)
        payloads.append(f"--payload={spec.uri}={tmp_path / spec.path.replace('/', '_')}")
    args = ["--state", cfg.state_dir, "--root", cfg.root, "--trust-anchor", SPEC_KEY_PUBLIC]
    killed = serve(args, tmp_path, {"SUITWB_LOADER_KILL_AT_STEP": str(cut)})
    try:
        port = killed.stdout.readline().strip()
        flashed = suitwb("flash", bundle, "--port", port, *payloads, "--json",
                         data_dir=tmp_path, check=False)
        assert killed.wait(timeout=30) == -signal.SIGKILL
    finally:
        killed.kill()
        killed.wait()
    assert flashed.returncode != 0
    # Killed between the renames: on disk, until the loader runs again, one file is new.
    on_disk = [(cfg.root / s.path).read_bytes() == s.data for s in NEW]
    assert on_disk == [True, False, False]
    again = serve(args, tmp_path, {})
    try:
        port = again.stdout.readline().strip()
        assert release(view(cfg)) == "new"  # the journal settled
        flashed = suitwb("flash", bundle, "--port", port, *payloads, "--json",
                         data_dir=tmp_path)
        assert json.loads(flashed.stdout)[0]["result"] == "ok"
    finally:
        again.terminate()
        assert again.wait(timeout=10) == 0


def serve(args: list[object], tmp_path: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    log = open(tmp_path / "serve.log", "a")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(
        [sys.executable, "-m", "workbench.cli.main", "device", "serve", "--pty",
         *map(str, args)], cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True,
        env={**os.environ, "SUITWB_DATA_DIR": str(tmp_path), **env})
