"""fileio: bounded reads and the one atomic writer, against real FIFOs, devices, links."""

from __future__ import annotations

import os
import stat
import threading
import time
from pathlib import Path

import pytest

import fileio
from fileio import (
    FileAccessError,
    check_output,
    open_regular,
    read_limited,
    write_atomic,
)
from signing.errors import OutputError
from suit.errors import WorkbenchError


def _fifo(tmp_path: Path, name: str = "pipe") -> Path:
    path = tmp_path / name
    os.mkfifo(path)
    return path


def test_read_limited_reads_at_most_limit_plus_one_from_an_endless_device() -> None:
    # /dev/zero reports size 0 and never ends: the old fstat check let it read forever.
    with pytest.raises(FileAccessError, match="larger than the limit of 4096 bytes"):
        read_limited("/dev/zero", 4096)


def test_read_limited_bounds_a_fifo_whose_writer_never_stops(tmp_path: Path) -> None:
    pipe = _fifo(tmp_path)
    stop = threading.Event()

    def writer() -> None:
        with open(pipe, "wb") as out:
            try:
                while not stop.is_set():
                    out.write(b"x" * 65536)
            except BrokenPipeError:
                pass

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with pytest.raises(FileAccessError, match="larger than the limit"):
        read_limited(pipe, 100_000)
    stop.set()
    thread.join(5)


def test_read_limited_accepts_exactly_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"a" * 10)
    assert read_limited(path, 10) == b"a" * 10
    with pytest.raises(FileAccessError, match="limit of 9 bytes"):
        read_limited(path, 9)


def test_regular_only_refuses_a_fifo_without_opening_it(tmp_path: Path) -> None:
    # No writer: a blocking open() of this FIFO would never return.
    pipe = _fifo(tmp_path)
    started = time.monotonic()
    for attempt in (lambda: read_limited(pipe, 10, regular_only=True),
                    lambda: open_regular(pipe)):
        with pytest.raises(FileAccessError, match="not a regular file") as caught:
            attempt()
        assert caught.value.hint and caught.value.exit_status == 2
    assert time.monotonic() - started < 5


@pytest.mark.parametrize("path", ["/dev/null", "/dev/zero"])
def test_regular_only_refuses_devices(path: str) -> None:
    with pytest.raises(FileAccessError, match="not a regular file"):
        read_limited(path, 10, regular_only=True)


def test_folders_and_missing_files_are_typed(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="is a folder"):
        read_limited(tmp_path, 10)
    with pytest.raises(FileAccessError, match="cannot read"):
        read_limited(tmp_path / "absent", 10)
    with pytest.raises(FileAccessError):
        read_limited("bad\0name", 10)


def test_write_atomic_replaces_a_regular_file_and_keeps_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    write_atomic(target, b"old")
    write_atomic(target, [b"n", b"e", b"w"], mode=0o600)
    assert target.read_bytes() == b"new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["out.bin"]  # no temporary left over


def test_write_atomic_refuses_a_fifo_and_leaves_it(tmp_path: Path) -> None:
    pipe = _fifo(tmp_path)
    with pytest.raises(FileAccessError, match="not a regular file"):
        write_atomic(pipe, b"x")
    assert stat.S_ISFIFO(os.lstat(pipe).st_mode)
    assert [p.name for p in tmp_path.iterdir()] == ["pipe"]


def test_write_atomic_refuses_symlinks_even_to_regular_files(tmp_path: Path) -> None:
    to_null, to_file = tmp_path / "null", tmp_path / "link"
    os.symlink("/dev/null", to_null)
    (tmp_path / "real").write_bytes(b"keep")
    os.symlink(tmp_path / "real", to_file)
    for link in (to_null, to_file):
        with pytest.raises(FileAccessError, match="symbolic link"):
            write_atomic(link, b"x")
        assert link.is_symlink()
    assert (tmp_path / "real").read_bytes() == b"keep"


def test_write_atomic_refuses_a_folder_and_a_protected_input(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    with pytest.raises(FileAccessError, match="not a regular file"):
        write_atomic(tmp_path / "sub", b"x")
    source = tmp_path / "input.toml"
    source.write_bytes(b"precious")
    os.link(source, tmp_path / "hardlink")
    for target in (source, tmp_path / "hardlink", tmp_path / "." / "input.toml"):
        with pytest.raises(FileAccessError, match="input"):
            write_atomic(target, b"x", protect=[source])
    assert source.read_bytes() == b"precious"
    write_atomic(tmp_path / "other", b"x", protect=[source])  # anything else is fine


def test_write_atomic_missing_folder_is_typed(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="cannot create a file") as caught:
        write_atomic(tmp_path / "no-such-dir" / "f", b"x")
    assert isinstance(caught.value, WorkbenchError) and caught.value.hint


def test_write_atomic_fsyncs_the_file_and_its_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Observing fsync needs a wrapper: a real power cut cannot be made here.
    synced: list[str] = []
    real = os.fsync

    def recording(fd: int) -> None:
        mode = os.fstat(fd).st_mode
        synced.append("dir" if stat.S_ISDIR(mode) else "file")
        real(fd)

    monkeypatch.setattr(os, "fsync", recording)
    write_atomic(tmp_path / "f", b"x")
    assert synced == ["file", "dir"]


def test_old_error_classes_are_the_fileio_class(tmp_path: Path) -> None:
    from signing.files import write_atomic as signing_write
    from workbench.errors import FileAccessError as WorkbenchFileAccessError

    assert WorkbenchFileAccessError is fileio.FileAccessError
    with pytest.raises(OutputError) as caught:
        signing_write(tmp_path / "none" / "f", b"x")
    assert isinstance(caught.value, FileAccessError) and caught.value.path.endswith("f")
    check_output(tmp_path / "absent")  # an absent target is always fine


def test_before_publish_runs_before_the_rename_and_can_stop_it(tmp_path: Path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    seen: list[bytes] = []

    def look() -> None:
        seen.append(target.read_bytes())  # still the old file while the hook runs
        raise RuntimeError("recording failed")

    with pytest.raises(RuntimeError):
        fileio.write_atomic(target, b"new", before_publish=look)
    assert seen == [b"old"] and target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]  # the temporary file is gone
    fileio.write_atomic(target, b"new", before_publish=lambda: seen.append(b"ok"))
    assert target.read_bytes() == b"new" and seen[-1] == b"ok"
