"""`make firmware FROM=PATH`: digest-checked copies from a clone or a bare mirror."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest

from testsupport import firmware

FILES = {"a.hex": b"bootloader", "b.exe": b"program"}
DIGESTS = {name: hashlib.sha256(data).hexdigest() for name, data in FILES.items()}


def _work_tree(root: Path) -> Path:
    folder = root / "clone" / firmware.SOURCE_FOLDER
    folder.mkdir(parents=True)
    for name, data in FILES.items():
        (folder / name).write_bytes(data)
    return root / "clone"


def _bare_mirror(root: Path) -> Path:
    clone = _work_tree(root)
    git = ["git", "-C", str(clone), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run(git[:3] + ["init", "-q"], check=True)
    subprocess.run(git + ["add", "."], check=True)
    subprocess.run(git + ["commit", "-qm", "fixtures"], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(clone), str(root / "mirror.git")],
                   check=True)
    return root / "mirror.git"


@pytest.mark.parametrize("make_source", [_work_tree, _bare_mirror])
def test_copies_every_recorded_file(tmp_path: Path, make_source: object) -> None:
    assert callable(make_source)
    copied = firmware.install(make_source(tmp_path), tmp_path / "out", DIGESTS)
    assert sorted(copied) == sorted(FILES)
    assert {n: (tmp_path / "out" / n).read_bytes() for n in FILES} == FILES
    assert (tmp_path / "out" / "b.exe").stat().st_mode & 0o111


def test_a_wrong_digest_copies_nothing(tmp_path: Path) -> None:
    source = _work_tree(tmp_path)
    (source / firmware.SOURCE_FOLDER / "b.exe").write_bytes(b"tampered")
    with pytest.raises(ValueError, match=r"b\.exe .* does not match"):
        firmware.install(source, tmp_path / "out", DIGESTS)
    assert not (tmp_path / "out" / "b.exe").exists()


def test_missing_firmware_says_how_to_get_it(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_FIRMWARE_DIR", str(tmp_path))
    reason = firmware.problem_with(firmware.RECOVERY_HEX)
    assert reason is not None and "make firmware FROM=" in reason
    (tmp_path / firmware.RECOVERY_HEX).write_bytes(b"not the firmware")
    reason = firmware.problem_with(firmware.RECOVERY_HEX)
    assert reason is not None and "does not match its recorded SHA-256" in reason


def test_the_default_folder_is_outside_the_repository(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUITWB_FIRMWARE_DIR", raising=False)
    repository = Path(__file__).resolve().parents[2]
    assert repository not in firmware.firmware_dir().resolve().parents
    assert firmware.firmware_dir().parts[-2:] == ("suitwb", "firmware")
