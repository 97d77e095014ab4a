"""A wheel built from the project works on its own (issue 12, "Packaging": the resources
were not packaged, so an installed workbench could not create a project).

The wheel is built offline from a copy of the sources (no build/ or egg-info left in the
tree), installed with --no-deps into a fresh virtualenv, and run from a folder outside
the repository. The fresh venv sees this venv's site-packages through a path line in a
.pth file, for the dependencies only: a path line's own .pth files (the editable install's
finder) are not processed, so the workbench itself can only come from the wheel.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.firstrun.conftest import ROOT, clean_env
from tests.firstrun.shots import check_screenshot


def sources() -> list[str]:
    """pyproject.toml, README and every top-level package the wheel's package list
    includes (read from pyproject.toml, so a new package is never left out of the copy)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "packages"]["find"]["include"]
    packages = [pattern.rstrip("*") for pattern in patterns]
    return ["pyproject.toml", "README.md", *packages]


def run(*command: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, check=False,
                            text=True, timeout=timeout)
    assert result.returncode == 0, f"{command}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    return result


def build_wheel(tmp_path: Path) -> Path:
    source = tmp_path / "src"
    source.mkdir()
    for name in sources():
        copy = shutil.copytree if (ROOT / name).is_dir() else shutil.copy2
        copy(ROOT / name, source / name)
    # --no-isolation: nothing downloaded; setuptools and build are pinned in the test extras.
    run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--skip-dependency-check",
        "--outdir", tmp_path / "dist", source, cwd=tmp_path)
    (wheel,) = (tmp_path / "dist").glob("suit_workbench-*.whl")
    return wheel


def fresh_venv(tmp_path: Path, wheel: Path) -> Path:
    venv = tmp_path / "fresh"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check",
        "install", "--quiet", "--no-deps", "--no-index", wheel, cwd=tmp_path)
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                    cwd=tmp_path).stdout.strip())
    (site / "zz-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


@pytest.mark.slow
def test_wheel_creates_builds_verifies_and_renders_from_a_fresh_venv(tmp_path: Path) -> None:
    wheel = build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    assert "workbench/resources/templates/single-mcu/project.toml" in names
    assert "workbench/resources/ceremonies/root-key.toml" in names
    assert "workbench/resources/systemd/suitwb-loader@.service" in names
    venv = fresh_venv(tmp_path, wheel)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = clean_env(tmp_path / "home", QT_QPA_PLATFORM="offscreen",
                    SUITWB_DATA_DIR=str(tmp_path / "data"))
    where = run(venv / "bin" / "python", "-c",
                "import workbench, suit, gui; print(workbench.__file__, workbench.__version__)",
                cwd=work, env=env).stdout.split()
    assert Path(where[0]).is_relative_to(venv), "the workbench came from outside the wheel"
    assert where[1] == wheel.name.split("-")[1]  # one version, from the metadata

    suitwb = venv / "bin" / "suitwb"
    run("openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "key.pem", cwd=work)
    run("openssl", "ec", "-in", "key.pem", "-pubout", "-out", "key-public.pem", cwd=work)
    run(suitwb, "new", "--template", "single-mcu", "fw", cwd=work, env=env)
    assert (work / "fw" / "images" / "app-slot-a.bin").is_file()
    run(suitwb, "build", "fw", "-o", "fw.suit", "--sign", "key.pem", cwd=work, env=env)
    verified = run(suitwb, "verify", "fw.suit", "--key", "key-public.pem", cwd=work, env=env)
    assert verified.returncode == 0
    run(suitwb, "ceremony", "examples", "ceremonies", cwd=work, env=env)
    assert (work / "ceremonies" / "root-key.answers.toml").is_file()
    run(suitwb, "gui", "--screenshot", "shot.png", cwd=work, env=env)
    check_screenshot(work / "shot.png")
