"""Issue 11 items 4-7 and nested TOML, through the real `suitwb` subprocess: bounded
reads, outputs that replace only regular files that are not inputs, project files
confined to their folder, and build refusing what verify refuses."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from tests.workbench.conftest import run_suitwb

PROJECT = """name = "safety"
sequence-number = {sequence}
{extra}
[device]
vendor-domain = "example.com"
model = "widget"

[[component]]
name = "app"
id = [{id}]
uri = "https://example.com/app.bin"
integrated = {integrated}
image = {{ file = "{image}" }}
"""


def _project(folder: Path, *, image: str = "app.bin", sequence: str = "1",
             id: str = "\"h'00'\"", integrated: str = "false", extra: str = "") -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "app.bin").write_bytes(b"\x5a" * 1000)
    path = folder / "project.toml"
    path.write_text(PROJECT.format(image=image, sequence=sequence, id=id,
                                   integrated=integrated, extra=extra))
    return path


def _refused(result: object, *needles: str) -> None:
    """Exit 2, one line on stderr naming what is wrong, no traceback."""
    assert result.returncode == 2, (result.stdout, result.stderr)  # type: ignore[attr-defined]
    err = result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in err
    for needle in needles:
        assert needle in err, err


# --- item 4: reads are bounded whatever the file is --------------------------------------

def test_inspect_dev_zero_is_refused_not_read_forever() -> None:
    _refused(run_suitwb("inspect", "/dev/zero"), "larger than the limit")


def test_build_with_a_fifo_image_is_refused_not_hung(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.bin")  # nobody ever writes to it
    project = _project(tmp_path, image="pipe.bin")
    _refused(run_suitwb("build", project, "-o", tmp_path / "out.suit"), "not a regular file")
    assert not (tmp_path / "out.suit").exists()


def test_build_with_a_device_as_integrated_image_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, image="/dev/zero", integrated="true",
                       extra="allow-outside-project = true")
    _refused(run_suitwb("build", project, "-o", tmp_path / "out.suit"), "not a regular file")


# --- item 5: outputs replace only regular files that are not the command's inputs ---------

def test_build_output_fifo_and_symlink_to_dev_null_are_refused(tmp_path: Path) -> None:
    project = _project(tmp_path / "p")
    os.mkfifo(tmp_path / "fifo.suit")
    os.symlink("/dev/null", tmp_path / "null.suit")
    for output in ("fifo.suit", "null.suit"):
        _refused(run_suitwb("build", project, "-o", tmp_path / output), output)
    assert stat.S_ISFIFO(os.lstat(tmp_path / "fifo.suit").st_mode)
    assert os.readlink(tmp_path / "null.suit") == "/dev/null"


@pytest.mark.parametrize("output", ["project.toml", "app.bin", "key.pem"])
def test_build_output_may_not_replace_its_own_inputs(tmp_path: Path, output: str,
                                                     signing_key: tuple[Path, Path],
                                                     data_dir: Path) -> None:
    project = _project(tmp_path)
    key = tmp_path / "key.pem"
    key.write_bytes(signing_key[0].read_bytes())
    before = {name: (tmp_path / name).read_bytes() for name in ("project.toml", "app.bin", "key.pem")}
    result = run_suitwb("build", project, "-o", tmp_path / output, "--sign", key)
    _refused(result, "input")
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert not data_dir.exists() or not any(data_dir.rglob("*.sqlite*"))  # nothing signed


# --- item 6: project files name only files inside their folder ----------------------------

@pytest.mark.parametrize("image", ["../secret.bin", "ABSOLUTE", "link.bin"])
def test_image_outside_the_project_folder_needs_the_opt_in(tmp_path: Path, image: str) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"private key material")
    folder = tmp_path / "project"
    folder.mkdir()
    os.symlink(secret, folder / "link.bin")
    image = str(secret) if image == "ABSOLUTE" else image
    project = _project(folder, image=image, integrated="true")
    out = tmp_path / "out.suit"
    _refused(run_suitwb("build", project, "-o", out), "component[0].image.file",
             "outside the project folder")
    assert not out.exists()
    # The opt-in is explicit in the file, and lint shows it.
    _project(folder, image=image, integrated="true", extra="allow-outside-project = true")
    assert run_suitwb("build", project, "-o", out).returncode == 0
    assert b"private key material" in out.read_bytes()
    lint = run_suitwb("lint", project)
    assert "PRJ002" in lint.stdout and "component[0].image.file" in lint.stdout


# --- item 7: build refuses what verify refuses, naming the TOML path ----------------------

@pytest.mark.parametrize("changes, where", [
    ({"sequence": "18446744073709551616"}, "sequence-number"),
    ({"sequence": "-1"}, "sequence-number"),
    ({"id": "\"h'zz'\""}, "component[0].id[0]: not a valid h'..' hex string"),
    ({"id": "\"x\", \"h'0'\""}, "component[0].id[1]"),
    ({"extra": "[update]\nuse-before = 18446744073709551616"}, "update.use-before"),
    ({"extra": "[update]\npriority = -18446744073709551617"}, "update.priority"),
])
def test_build_refuses_out_of_range_and_malformed_values(tmp_path: Path, changes: dict[str, str],
                                                         where: str) -> None:
    # TOML tables must come after the top-level keys; `extra` sits before [device].
    project = _project(tmp_path, **changes)
    out = tmp_path / "out.suit"
    _refused(run_suitwb("build", project, "-o", out), where)
    assert not out.exists()


def test_sequence_number_option_is_range_checked(tmp_path: Path) -> None:
    project = _project(tmp_path)
    _refused(run_suitwb("build", project, "-o", tmp_path / "o.suit",
                        "--sequence-number", str(1 << 64)), "--sequence-number")
    ok = run_suitwb("build", project, "-o", tmp_path / "o.suit",
                    "--sequence-number", str((1 << 64) - 1))
    assert ok.returncode == 0, ok.stderr


# --- issue 11 (part): nested TOML ----------------------------------------------------------

@pytest.mark.parametrize("depth", [5000, 100])
def test_deeply_nested_toml_is_a_typed_error(tmp_path: Path, depth: int) -> None:
    project = tmp_path / "project.toml"
    project.write_text("x = " + "[" * depth + "]" * depth + "\n")
    for command in (("build", project, "-o", tmp_path / "o.suit"), ("lint", project)):
        _refused(run_suitwb(*command), str(project), "nested")


def test_project_file_that_is_a_fifo_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "project.toml")
    _refused(run_suitwb("build", tmp_path, "-o", tmp_path / "o.suit"), "not a regular file")
