"""`encryption-info = "@NAME"` in an explicit sequence (docs/project-format.md): the build
puts in the encryption info it generated for component NAME (a fresh content key each
build); naming a component that is not encrypted is refused with where and why."""

from __future__ import annotations

from pathlib import Path

import pytest

from suit.errors import WorkbenchError
from tests.fixtures.projects import DEVICE
from workbench.project.builder import BuildOptions, build_project
from workbench.project.projectfile import loads_project

PROJECT = "sequence-number = 1\n" + DEVICE + """[[component]]
name = "app"
id = ["h'00'"]
content = "h'00112233'"
[sequences]
install = [{ set-component-index = 0 }, { override-parameters = { encryption-info = "@app" } }]
"""


def test_naming_a_component_that_is_not_encrypted_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkbenchError) as caught:
        build_project(loads_project(PROJECT), BuildOptions())
    assert "'@app' names no encrypted component" in str(caught.value)
    assert caught.value.hint and "encrypt = true" in caught.value.hint
    assert "encryption-info" in str(caught.value)  # where: the parameter
