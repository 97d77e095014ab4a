"""Saving a project keeps the person's TOML comments and layout (issue 17): a commented
template, edited through the core commands and saved, differs from the original only in
the edited members; a component added lands after the others' comments intact."""

from __future__ import annotations

import difflib
from pathlib import Path

from workbench.project.commands import SetValue
from workbench.project.model import Component
from workbench.project.projectfile import dumps_project, load_project, save_project
from workbench.project.templates import create_project


def _changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.unified_diff(before.splitlines(), after.splitlines(),
                                                  lineterm="", n=0)
            if line[:1] in "+-" and not line.startswith(("+++", "---"))]


def test_a_commented_template_is_saved_unchanged_apart_from_the_edit(tmp_path: Path) -> None:
    path = create_project("single-mcu", tmp_path / "p")
    original = path.read_text(encoding="utf-8")
    assert original.count("#") >= 4  # the template is commented: the test means something
    project = load_project(path)
    SetValue(("sequence_number",), 7).do(project)
    project.components[0].text["version"] = "1.0.1"  # nested: [component.text]
    project.update.minimum_battery = 600
    save_project(project)
    saved = path.read_text(encoding="utf-8")
    assert sorted(_changed_lines(original, saved)) == sorted([
        "-sequence-number = 1", "+sequence-number = 7", "-minimum-battery = 500",
        "+minimum-battery = 600", '-version = "1.0.0"', '+version = "1.0.1"'])
    assert load_project(path).sequence_number == 7


def test_saving_without_edits_writes_the_file_byte_for_byte(tmp_path: Path) -> None:
    for template in ("single-mcu", "dual-cpu-bus", "linux"):
        path = create_project(template, tmp_path / template)
        original = path.read_text(encoding="utf-8")
        save_project(load_project(path))
        assert path.read_text(encoding="utf-8") == original, template


def test_an_added_component_keeps_the_comments_of_the_others(tmp_path: Path) -> None:
    path = create_project("single-mcu", tmp_path / "p")
    original = path.read_text(encoding="utf-8")
    project = load_project(path)
    project.components.append(Component(name="cfg", id=["h'01'"], content="h'00'"))
    save_project(project, tmp_path / "p" / "copy.toml")  # Save As starts from the open file
    saved = (tmp_path / "p" / "copy.toml").read_text(encoding="utf-8")
    assert saved.startswith(original.rstrip("\n"))
    assert [c.name for c in load_project(tmp_path / "p" / "copy.toml").components] == ["app", "cfg"]


def test_a_new_project_without_a_file_is_written_afresh() -> None:
    project = load_project(Path(__file__).parents[2] / "workbench" / "resources" / "templates"
                           / "single-mcu" / "project.toml")
    text = dumps_project(project)
    assert "#" not in text and 'name = "single-mcu"' in text
