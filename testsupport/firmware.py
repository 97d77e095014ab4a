"""Real Zephyr/MCUboot firmware for the SMP tests: where it lives, digest checks, copying.

The binaries are published by intercreate/smpclient under ``tests/fixtures/smp-server/``
(Apache-2.0, built by intercreate/smp-server-fixtures) and are never committed here. They are
read from ``SUITWB_FIRMWARE_DIR`` or, by default, ``<user cache>/suitwb/firmware``; every file
is checked against ``firmware.SHA256SUMS`` (the digests the lead recorded) before use.

``python -m testsupport.firmware --from PATH`` (what ``make firmware FROM=PATH`` runs) copies
the listed files from a clone's work tree or a bare git mirror of that repository.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Final

import platformdirs

logger = logging.getLogger(__name__)

SUMS_FILE: Final = Path(__file__).with_name("firmware.SHA256SUMS")
SOURCE_FOLDER: Final = "tests/fixtures/smp-server"
HOW_TO: Final = ("get it with `make firmware FROM=<clone or bare mirror of "
                 "github.com/intercreate/smpclient>` (or set SUITWB_FIRMWARE_DIR)")

RECOVERY_HEX: Final = "zephyr_4.4.0_smp_server_0eae053d_mps2_an385_serial_recovery_buf1024.hex"
RECOVERY_IMAGE: Final = ("zephyr_4.4.0_smp_server_0eae053d_mps2_an385_serial_recovery_buf1024"
                         ".signed.bin")
NATIVE_SIM_FS: Final = "zephyr_4.4.0_smp_server_0eae053d_native_sim_serial_fs.exe"


def expected_digests() -> dict[str, str]:
    """File name -> SHA-256 hex, from the recorded SHA256SUMS."""
    digests: dict[str, str] = {}
    for line in SUMS_FILE.read_text(encoding="ascii").splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            digests[name.strip()] = digest
    return digests


def firmware_dir() -> Path:
    """The folder tests read the firmware from (never inside the repository)."""
    chosen = os.environ.get("SUITWB_FIRMWARE_DIR")
    if chosen:
        return Path(chosen)
    return Path(platformdirs.user_cache_dir("suitwb")) / "firmware"


def problem_with(name: str, folder: Path | None = None) -> str | None:
    """Why `name` cannot be used (missing, wrong digest), or None when it is good."""
    path = (folder or firmware_dir()) / name
    expected = expected_digests().get(name)
    if expected is None:
        return f"{name} is not one of the recorded firmware files"
    if not path.is_file():
        return f"firmware {name} is not in {path.parent}; {HOW_TO}"
    if hashlib.sha256(path.read_bytes()).hexdigest() != expected:
        return f"{path} does not match its recorded SHA-256; {HOW_TO}"
    return None


def _read_source(source: Path, name: str) -> bytes:
    # A bare mirror has objects/ and HEAD but no work tree: read the blob with git.
    if (source / "HEAD").is_file() and (source / "objects").is_dir():
        return subprocess.run(["git", "--git-dir", str(source), "show",
                               f"HEAD:{SOURCE_FOLDER}/{name}"],
                              check=True, capture_output=True).stdout
    for candidate in (source / SOURCE_FOLDER / name, source / name):
        if candidate.is_file():
            return candidate.read_bytes()
    raise FileNotFoundError(f"{name} not found under {source}")


def install(source: Path, destination: Path,
            digests: dict[str, str] | None = None) -> list[str]:
    """Copy every recorded file from `source` to `destination`, checking digests first.

    Returns the names copied. Raises ValueError on a digest mismatch (nothing half-written).
    """
    destination.mkdir(parents=True, exist_ok=True)
    copied = []
    for name, digest in (digests or expected_digests()).items():
        data = _read_source(source, name)
        if hashlib.sha256(data).hexdigest() != digest:
            raise ValueError(f"{name} from {source} does not match its recorded SHA-256")
        target = destination / name
        partial = target.with_suffix(target.suffix + ".part")
        partial.write_bytes(data)
        partial.chmod(0o755 if name.endswith(".exe") else 0o644)
        partial.replace(target)
        copied.append(name)
    return copied


def main(argv: list[str] | None = None) -> int:
    """`make firmware FROM=PATH`: copy the recorded firmware into the firmware folder."""
    parser = argparse.ArgumentParser(prog="make firmware", description=__doc__)
    parser.add_argument("--from", dest="source", required=True, type=Path,
                        help="a clone's work tree or a bare git mirror of intercreate/smpclient")
    parser.add_argument("--to", type=Path, default=None, help="default: the firmware folder")
    args = parser.parse_args(argv)
    destination = args.to or firmware_dir()
    try:
        copied = install(args.source, destination)
    except (OSError, ValueError, subprocess.CalledProcessError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for name in copied:
        print(f"{destination / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
