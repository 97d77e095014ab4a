"""Start-up time of `suitwb --help`, `suitwb inspect` and `suitwb verify` (issue 12).

Reference, same run: `python -c pass` with the same interpreter and environment. The
commands are run in interleaved rounds and each figure is the median over the rounds, so
that a shared, noisy machine slows all of them alike. Target: each at most 4x the reference.

Run: `python -m benchmarks startup [--rounds N]` (about 5 s at the default 15 rounds).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "tests" / "vectors" / "manifest-spec"
ENVELOPE = VECTORS / "example2.cbor"
KEY = VECTORS / "keys" / "example-es256-public.pem"
# The `suitwb` a person runs: the console script pip installed beside this interpreter, so
# that its imports are timed and not runpy's; `python -m workbench.cli.main` without one.
SCRIPT = Path(sys.executable).with_name("suitwb")
SUITWB = [sys.executable, str(SCRIPT)] if SCRIPT.is_file() else [
    sys.executable, "-m", "workbench.cli.main"]
TARGET = 4.0

COMMANDS: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "suitwb --help": [*SUITWB, "--help"],
    "suitwb inspect": [*SUITWB, "inspect", str(ENVELOPE)],
    "suitwb verify": [*SUITWB, "verify", str(ENVELOPE), "--key", str(KEY)],
}


def environment(cache: Path) -> dict[str, str]:
    """This tree first on the path, and bytecode cached in `cache` as an installed program's
    would be (a developer's PYTHONDONTWRITEBYTECODE would time the compiler instead)."""
    env = {name: value for name, value in os.environ.items()
           if name != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def timed_run(argv: list[str], env: dict[str, str]) -> float:
    """Seconds from spawning `argv` to its exit; raises if it failed."""
    start = time.perf_counter()
    result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{argv} exited {result.returncode}: {result.stderr.decode()}")
    return elapsed


def medians(rounds: int) -> dict[str, float]:
    """The median seconds of each command over `rounds` interleaved rounds."""
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    with tempfile.TemporaryDirectory(prefix="suitwb-bench-") as cache:
        env = environment(Path(cache))
        for argv in COMMANDS.values():  # warm the file cache and write the bytecode
            timed_run(argv, env)
        for _ in range(rounds):
            for name, argv in COMMANDS.items():
                samples[name].append(timed_run(argv, env))
    return {name: statistics.median(times) for name, times in samples.items()}


def main(argv: list[str] | None = None) -> dict[str, float]:
    args = sys.argv[1:] if argv is None else argv
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 15
    figures = medians(rounds)
    reference = figures["python -c pass"]
    ratios = {name: seconds / reference for name, seconds in figures.items()}
    for name, seconds in figures.items():
        verdict = "" if name == "python -c pass" else \
            f"  {ratios[name]:4.1f}x  {'ok' if ratios[name] <= TARGET else 'OVER'} (<= {TARGET:.0f}x)"
        print(f"{name:<16} {seconds * 1e3:7.1f} ms{verdict}", flush=True)
    return ratios


if __name__ == "__main__":
    main()
