"""The benchmarks run as documented (issue 12): options reach them through `python -m
benchmarks NAME OPTION`, --quick labels what it sends, the GUI benchmark leaves no folder
behind, and no benchmark imports the test suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from benchmarks import flash_throughput
from benchmarks import gui as gui_benchmark
from benchmarks.__main__ import available, split

ROOT = Path(__file__).resolve().parents[2]


def test_no_benchmark_imports_the_test_suite() -> None:
    probe = ("import importlib, json, sys\n"
             f"for name in {available()!r}:\n"
             "    importlib.import_module('benchmarks.' + name)\n"
             "print(json.dumps(sorted(sys.modules)))\n")
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    modules = json.loads(result.stdout)
    assert [m for m in modules if m == "tests" or m.startswith("tests.")] == []
    assert "testsupport.envelopes" in modules  # the shared helpers come from their package


def test_options_after_the_names_go_to_the_benchmark() -> None:
    names = available()
    assert split(["flash_throughput", "--quick"], names) == (["flash_throughput"], ["--quick"])
    assert split(["build", "64"], names) == (["build"], ["64"])
    assert split(["--quick"], names) == ([], ["--quick"])


def test_python_m_benchmarks_with_an_option_runs_it() -> None:
    # The shape of `python -m benchmarks flash_throughput --quick`, with the fast benchmark.
    result = subprocess.run([sys.executable, "-m", "benchmarks", "startup", "--rounds", "1"],
                            cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "== startup"
    assert {"suitwb --help", "suitwb inspect", "suitwb verify"} <= {
        line[:16].strip() for line in result.stdout.splitlines()}


def test_an_unknown_benchmark_is_refused_with_status_2() -> None:
    result = subprocess.run([sys.executable, "-m", "benchmarks", "nonsense"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 2
    assert "unknown benchmark 'nonsense'" in result.stderr


def test_quick_mode_sends_an_eighth_and_says_so() -> None:
    full, quick = flash_throughput.sizes(False), flash_throughput.sizes(True)
    assert (quick.protocol, quick.device, quick.slow, quick.simulated) == (
        full.protocol // 8, full.device // 8, full.slow // 8, full.simulated // 8)
    assert flash_throughput.kib(quick.slow) == "4 KiB"  # it used to say 32 KiB and send 4


def test_the_gui_benchmark_removes_its_folder_even_when_it_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The measurement itself (a 500-component window, ~20 s) is replaced by one that writes
    # into the folder and fails: what is tested is the folder's and the setting's lifetime.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setenv("SUITWB_DATA_DIR", "/the/person/s/own")
    seen: list[Path] = []

    def measure(folder: Path) -> None:
        (folder / "large").mkdir()
        (folder / "large" / "project.toml").write_text("")
        seen.append(Path(os.environ["SUITWB_DATA_DIR"]))
        raise RuntimeError("the window failed")

    monkeypatch.setattr(gui_benchmark, "measure", measure)
    with pytest.raises(RuntimeError):
        gui_benchmark.main()
    assert seen and seen[0].parent.parent == tmp_path  # it worked in a scratch folder
    assert list(tmp_path.iterdir()) == []
    assert os.environ["SUITWB_DATA_DIR"] == "/the/person/s/own"
