"""Resources (templates, example ceremonies) are package data read with
importlib.resources: they work from any Traversable, a zip included, and the CLI copies
the example ceremonies out to run them anywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from tests.firstrun.conftest import clean_env
from workbench.project.projectfile import load_project
from workbench.project.templates import NAMES, create_project, list_templates
from workbench.resources import CEREMONIES, TEMPLATES, copy_tree, resource


def zipped_templates(tmp_path: Path) -> zipfile.Path:
    archive = tmp_path / "templates.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for name in NAMES:
            for file in sorted(Path(str(resource(TEMPLATES, name))).rglob("*")):
                if file.is_file():
                    relative = file.relative_to(Path(str(resource(TEMPLATES))))
                    zipped.write(file, f"templates/{relative}")
    return zipfile.Path(archive, "templates/")


def test_templates_are_listed_from_the_package() -> None:
    assert [t.name for t in list_templates()] == list(NAMES)
    assert resource(TEMPLATES, "single-mcu", "project.toml").is_file()


def test_a_project_is_created_from_templates_in_a_zip(tmp_path: Path) -> None:
    folder = zipped_templates(tmp_path)
    assert [t.name for t in list_templates(folder)] == list(NAMES)
    project_file = create_project("dual-cpu-bus", tmp_path / "p", folder=folder)
    assert load_project(project_file).device.vendor_id
    assert (tmp_path / "p" / "secondary" / "images" / "secondary.bin").stat().st_size == 1536


def test_copy_tree_copies_every_file(tmp_path: Path) -> None:
    written = copy_tree(resource(TEMPLATES, "linux"), tmp_path / "linux")
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "linux/images/app", "linux/images/config.json", "linux/project.toml"]


def suitwb(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench.cli.main", *args], cwd=cwd,
                          env=clean_env(cwd, PYTHONPATH=str(Path(__file__).parents[2])),
                          check=False, capture_output=True, text=True, timeout=60)


def test_ceremony_examples_are_copied_out_and_never_overwritten(tmp_path: Path) -> None:
    first = suitwb("ceremony", "examples", "mine", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    names = sorted(f.name for f in resource(CEREMONIES).iterdir() if f.name.endswith(".toml"))
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == names
    assert "root-key.toml" in names and "root-key.answers.toml" in names
    (tmp_path / "mine" / "root-key.toml").write_text("# edited")
    again = suitwb("ceremony", "examples", "mine", cwd=tmp_path)
    assert again.returncode == 2
    assert again.stderr.startswith("suitwb: error:") and "already there" in again.stderr
    assert "Traceback" not in again.stderr
    assert (tmp_path / "mine" / "root-key.toml").read_text() == "# edited"
