"""Issue 11 item 4 for every remaining input: keys, PIN sources, ceremony, answers and
transcript files, envelopes from FIFOs. Each is refused through the real `suitwb` with
exit 2, one line on stderr and no traceback, in bounded time and under a memory cap."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fileio.read import FIFO_WAIT
from tests.fixtures.softhsm import SoftHsm

ROOT = Path(__file__).resolve().parents[2]
UNSIGNED = ROOT / "tests/vectors/manifest-spec/example0-unsigned.cbor"
EXAMPLES = ROOT / "workbench/resources/ceremonies"
#: Address space for the child: reading /dev/zero unbounded would hit it and fail loudly.
MEMORY_CAP = 1 << 30


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _refused(*args: object, data_dir: Path, needle: str, seconds: float = 20,
             status: int = 2) -> str:
    """Run suitwb; assert exit `status`, one stderr line naming `needle` (plus a hint), no
    traceback, within `seconds`. Returns stderr."""
    env = {k: v for k, v in os.environ.items() if k != "SUITWB_PIN"}
    env["SUITWB_DATA_DIR"] = str(data_dir)
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", *map(str, args)],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                            stdin=subprocess.DEVNULL, preexec_fn=_cap_memory)
    elapsed = time.monotonic() - started
    assert result.returncode == status, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("suitwb: hint:")]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.stderr and elapsed < seconds, (elapsed, result.stderr)
    return result.stderr


def _fifo(tmp_path: Path, name: str = "pipe") -> Path:
    os.mkfifo(tmp_path / name)  # nobody ever writes to it
    return tmp_path / name


def test_sign_with_dev_zero_as_key_is_refused(tmp_path: Path) -> None:
    _refused("sign", UNSIGNED, "-o", tmp_path / "out.suit", "--key", "/dev/zero",
             data_dir=tmp_path, needle="/dev/zero: is not a regular file")
    assert not (tmp_path / "out.suit").exists()


def test_verify_with_a_fifo_as_key_is_refused_at_once(tmp_path: Path) -> None:
    # Keys are read only when regular: the FIFO is never opened, so nothing waits.
    _refused("verify", UNSIGNED, "--key", _fifo(tmp_path), data_dir=tmp_path,
             needle="is not a regular file", seconds=FIFO_WAIT)


def test_external_public_key_that_is_a_device_is_refused(tmp_path: Path) -> None:
    _refused("sign", UNSIGNED, "--export-tbs", tmp_path / "tbs.bin", "--key", "/dev/zero",
             data_dir=tmp_path, needle="not a regular file")


def test_inspect_of_a_fifo_nobody_writes_to_ends(tmp_path: Path) -> None:
    _refused("inspect", _fifo(tmp_path), data_dir=tmp_path, needle="FIFO nobody wrote to",
             seconds=FIFO_WAIT + 10)


def test_pin_source_dev_zero_is_refused(softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = softhsm.uri("release", pin=False, object="no-such-key") + "&pin-source=file:/dev/zero"
    _refused("sign", UNSIGNED, "-o", tmp_path / "out.suit", "--key", uri, data_dir=tmp_path,
             needle="larger than the limit of 4096 bytes")


@pytest.mark.parametrize("path", ["/dev/zero", "FIFO"])
def test_ceremony_run_on_a_device_or_fifo_is_refused(tmp_path: Path, path: str) -> None:
    target = _fifo(tmp_path) if path == "FIFO" else Path(path)
    _refused("ceremony", "run", target, "--answers", EXAMPLES / "root-key.answers.toml",
             data_dir=tmp_path, needle="not a regular file", seconds=FIFO_WAIT)


def test_ceremony_and_answers_nested_5000_deep_are_typed_errors(tmp_path: Path) -> None:
    deep = tmp_path / "deep.toml"
    deep.write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    ceremony = tmp_path / "root-key.toml"
    ceremony.write_bytes((EXAMPLES / "root-key.toml").read_bytes())
    for args in ((deep, "--answers", EXAMPLES / "root-key.answers.toml"),
                 (ceremony, "--answers", deep)):
        _refused("ceremony", "run", *args, "--out", tmp_path / "out", data_dir=tmp_path,
                 needle=f"{deep}: tables or arrays nested more than 32 deep")


def test_ceremony_verify_of_endless_or_deeply_nested_transcripts(tmp_path: Path) -> None:
    _refused("ceremony", "verify", "/dev/zero", data_dir=tmp_path, needle="not a regular file")
    deep = tmp_path / "transcript.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    # Exit 1 like any other unparseable transcript: checked, and not trusted.
    _refused("ceremony", "verify", deep, data_dir=tmp_path, needle="nested too deep", status=1)
