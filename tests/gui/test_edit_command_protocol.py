"""issue 12: one EditCommand protocol, in workbench.project.commands; the GUI's undo stack
takes exactly what the core's commands are.

Before, gui/workspace.py declared a second protocol with a settable `label` attribute,
which no core command (a read-only property) satisfied: mypy refused every
`Workspace.push` in gui/ (15 findings).
"""

from __future__ import annotations

import inspect
from pathlib import Path

import gui.workspace
from tests.fixtures.typecheck import mypy_errors
from workbench.project import commands

COMMANDS = sorted(name for name, cls in inspect.getmembers(commands, inspect.isclass)
                  if cls.__module__ == commands.__name__ and not name.startswith("_")
                  and name not in ("EditCommand", "EditHistory"))


def test_the_gui_uses_the_core_protocol() -> None:
    assert gui.workspace.EditCommand is commands.EditCommand


def test_every_core_command_can_be_pushed_for_mypy(tmp_path: Path) -> None:
    assert len(COMMANDS) >= 9  # SetValue ... AddSlot: the list is not silently empty
    source = "\n".join([
        "from gui.workspace import Workspace",
        f"from workbench.project.commands import {', '.join(COMMANDS)}",
        "",
        f"def push(workspace: Workspace, command: {' | '.join(COMMANDS)}) -> None:",
        "    workspace.push(command)",
    ])
    assert mypy_errors(source, tmp_path) == []
