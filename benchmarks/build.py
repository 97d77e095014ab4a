"""Building a release with a 1 GiB image: wall time as a ratio to `sha256sum` of the same
file in the same run, and the build's peak memory (targets: within 1.2x, under 150 MB).

Slow-ish: writes a 1 GiB file of random data once (a few seconds), then hashes it six
times. The build runs in a child process so its peak RSS (resource.getrusage) is its own.
`python -m benchmarks.build [SIZE_MIB]`.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHUNK = 1 << 20
PROJECT = """name = "benchmark"
sequence-number = 1

[device]
vendor-domain = "example.com"
model = "benchmark"

[[component]]
name = "image"
id = ["h'00'"]
image = {{ file = "{image}" }}
uri = "https://example.com/image.bin"
invoke = true
"""


def write_image(path: Path, size_mib: int) -> None:
    """Real random data (a sparse file would not exercise the disk cache the same way)."""
    with open(path, "wb") as out:
        for _ in range(size_mib):
            out.write(os.urandom(CHUNK))


def time_sha256sum(path: Path) -> float:
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(path)], check=True, capture_output=True)
    return time.perf_counter() - start


def time_build(project: Path) -> dict[str, float]:
    """Run the build in a child; it reports its build time and its peak RSS."""
    result = subprocess.run([sys.executable, "-m", "benchmarks.build", "--child", str(project)],
                            check=True, capture_output=True, text=True)
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def child(project_file: str) -> None:
    from workbench.project.builder import build_project
    from workbench.project.projectfile import load_project

    start = time.perf_counter()
    result = build_project(load_project(Path(project_file)))
    elapsed = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(json.dumps({"seconds": elapsed, "peak_mb": peak_kib / 1024,
                      "bytes": len(result.data)}))


def main(size_mib: int = 1024) -> None:
    folder = Path(tempfile.mkdtemp(prefix="suitwb-bench-"))
    try:
        image = folder / "image.bin"
        write_image(image, size_mib)
        project = folder / "project.toml"
        project.write_text(PROJECT.format(image=image.name))
        time_sha256sum(image)  # warm the page cache for both contenders
        sums, builds = [], []
        for _ in range(3):  # interleaved, best of three each
            sums.append(time_sha256sum(image))
            builds.append(time_build(project))
        best_sum = min(sums)
        best = min(builds, key=lambda b: b["seconds"])
        peak = max(b["peak_mb"] for b in builds)
        print(f"image: {size_mib} MiB of random data")
        print(f"sha256sum: {best_sum:.2f} s; suitwb build: {best['seconds']:.2f} s "
              f"(ratio {best['seconds'] / best_sum:.2f}x, target <= 1.2x)")
        print(f"throughput: build {size_mib / best['seconds']:.0f} MiB/s, sha256sum "
              f"{size_mib / best_sum:.0f} MiB/s (Python's hashlib uses OpenSSL, which may use "
              "SHA extensions that coreutils does not)")
        print(f"build peak RSS: {peak:.1f} MB (target < 150 MB)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        child(sys.argv[2])
    else:
        main(int(sys.argv[1]) if len(sys.argv) > 1 else 1024)
