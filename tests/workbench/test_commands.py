"""Edit commands: each does, undoes to exactly the state before, redoes, tells listeners,
and leaves a project that builds."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.workbench.conftest import GOLDEN
from workbench.project.builder import build_project
from workbench.project.commands import (
    AddComponent,
    AddDependency,
    AddSlot,
    EditHistory,
    MoveComponent,
    RemoveComponent,
    RemoveDependency,
    RenameComponent,
    SetMapEntry,
    SetSeverable,
    SetValue,
)
from workbench.project.errors import ProjectFileError
from workbench.project.model import Component, Dependency, Image, Project, Slot
from workbench.project.projectfile import load_project, project_to_dict

D2 = "sha256:0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff"


def _snapshot(project: Project) -> dict[str, Any]:
    return copy.deepcopy(project_to_dict(project))


COMMANDS = [
    SetValue(("sequence_number",), 42),
    SetValue(("device", "model"), "other"),
    SetValue(("component", "app", "uri"), "https://example.com/new.bin"),
    SetValue(("component", "app", "image", "size"), 1),
    SetMapEntry(("component", "app", "text"), "version", "2.0.0"),
    SetMapEntry(("component", "app", "text"), "description", None),
    SetMapEntry(("report",), "invoke", 15),
    SetMapEntry(("sequences",), "invoke", [{"invoke": 2}]),
    SetSeverable("install", False),
    SetSeverable("payload-fetch", True),
    AddComponent(Component("extra", ["h'09'"], image=Image(digest=D2, size=5),
                           uri="https://example.com/extra.bin"), 0),
    RemoveComponent("app"),
    MoveComponent("app", 1),
    RenameComponent("app", "application"),
    AddSlot("app", Slot(Image(digest=D2, size=9), "https://example.com/b.bin")),
    AddDependency(Dependency("dep.suit", ["dep.suit"], digest=D2, size=10,
                             uri="https://example.com/dep.suit")),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c.label)
def test_do_undo_redo(command: Any) -> None:
    project = load_project(GOLDEN / "example2.toml")
    project.components.append(Component("second", ["h'01'"], image=Image(digest=D2, size=3)))
    events: list[str] = []
    project.listeners.append(lambda event, subject: events.append(event))
    before = _snapshot(project)
    history = EditHistory(project)
    history.push(command)
    after = _snapshot(project)
    assert after != before
    assert events, "listeners are told"
    assert history.undo() == command.label
    assert _snapshot(project) == before
    assert history.redo() == command.label
    assert _snapshot(project) == after


def test_edits_change_the_built_manifest_and_undo_restores_it() -> None:
    project = load_project(GOLDEN / "example5.toml")
    original = build_project(project).manifest
    history = EditHistory(project)
    history.push(SetValue(("sequence_number",), 6))
    history.push(RenameComponent("second", "radio"))
    history.push(SetValue(("component", "radio", "uri"), "http://example.com/radio.bin"))
    assert build_project(project).manifest != original
    while history.undo():
        pass
    assert build_project(project).manifest == original


def test_rename_updates_references() -> None:
    project = load_project(GOLDEN / "example4.toml")
    RenameComponent("staging", "download").do(project)
    assert project.component("external").staging == "download"
    assert build_project(project).manifest == build_project(
        load_project(GOLDEN / "example4.toml")).manifest


def test_bad_edits_are_refused_without_change() -> None:
    project = load_project(GOLDEN / "example5.toml")
    before = _snapshot(project)
    for command in (SetValue(("component", "ghost", "uri"), "x"),
                    SetValue(("device", "colour"), "red"),
                    AddComponent(Component("first", ["h'05'"])),
                    RenameComponent("first", "second"),
                    RemoveDependency("nothing")):
        with pytest.raises(ProjectFileError):
            command.do(project)
    assert _snapshot(project) == before
    history = EditHistory(project)
    assert history.undo() is None and history.redo() is None
