"""Hostile TOML values in the loader's configuration file and in a project's newer members
(profile, encrypt, recipients, metadata): every one is a typed error naming the member, on
one line, exit 2 from the CLI; never an internal error (exit 70)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suit.errors import WorkbenchError
from tests.flasher.cli import suitwb
from workbench.loader_config import LoaderConfigError, load_loader_config
from workbench.project.encryption import project_profile
from workbench.project.errors import ProjectError
from workbench.project.projectfile import loads_project
from workbench.project.validate import validate_project

#: Every TOML value type, nested a little: what a hand-edited file can hold.
_SCALARS = (st.text(max_size=40) | st.integers(min_value=-(2**63), max_value=2**63 - 1)
            | st.floats() | st.booleans() | st.sampled_from(["²M", "٣K", "4M", "0o777", ""]))
TOML_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                           max_leaves=8)

_LOADER_MEMBERS = ("port", "baud", "state", "root", "root-layout", "profile", "flash-size",
                   "battery-mwh", "verbose", "authorized-priority")
_DEVICE_MEMBERS = ("vendor-id", "vendor-domain", "class-id", "model", "device-id",
                   "trust-anchors", "device-key", "require", "decryption-keys")
_HYPOTHESIS = settings(max_examples=150, deadline=None,
                       suppress_health_check=[HealthCheck.function_scoped_fixture])


def _one_line(error: WorkbenchError) -> None:
    assert "\n" not in str(error) and len(str(error)) < 600, str(error)


@_HYPOTHESIS
@given(table=st.sampled_from(["device", "loader"]), data=st.data(), value=TOML_VALUES)
def test_any_value_of_any_loader_member_is_read_or_refused_typed(
        tmp_path: Path, table: str, data: st.DataObject, value: Any) -> None:
    member = data.draw(st.sampled_from(_DEVICE_MEMBERS if table == "device" else _LOADER_MEMBERS))
    path = tmp_path / "loader.toml"
    path.write_text(tomlkit.dumps({table: {member: value}}))
    try:
        load_loader_config(path)
    except LoaderConfigError as exc:
        assert member in exc.where
        _one_line(exc)


@pytest.mark.parametrize(("text", "member"), [
    # str.isdigit() is true for "²" and "٣", which int() refuses: was a ValueError (exit 70).
    ('[loader]\nflash-size = "²M"\n', "loader.flash-size"),
    ('[loader]\nflash-size = "٣K"\n', "loader.flash-size"),
    # More digits than int() converts (4300): was a ValueError.
    ('[loader]\nflash-size = "' + "9" * 5000 + 'M"\n', "loader.flash-size"),
    # A key path longer than the system allows: Path.is_file() raised OSError (ENAMETOOLONG).
    ('[device]\ntrust-anchors = ["' + "k" * 5000 + '"]\n', "device.trust-anchors[0]"),
    ('[device]\ndevice-key = "' + "k/" * 3000 + 'k"\n', "device.device-key"),
    ('[device]\ndecryption-keys = ["' + "k" * 5000 + '"]\n', "device.decryption-keys[0]"),
])
def test_hostile_loader_configuration_is_exit_2_one_line(tmp_path: Path, data_dir: Path,
                                                        text: str, member: str) -> None:
    path = tmp_path / "loader.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LoaderConfigError) as caught:
        load_loader_config(path)
    assert caught.value.where.endswith(member)
    result = suitwb("device", "serve", "--config", path, "--pty", data_dir=data_dir, check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("suitwb: error: ") and member in result.stderr
    assert "Traceback" not in result.stderr


_PROJECT = {"sequence-number": 1, "device": {"vendor-domain": "example.com", "model": "w"},
            "component": [{"name": "app", "id": ["h'00'"]}]}


def _load_and_check(table: dict[str, Any]) -> None:
    project = loads_project(tomlkit.dumps(table))
    validate_project(project)
    project_profile(project)


@_HYPOTHESIS
@given(member=st.sampled_from(["metadata", "encrypt", "recipients"]), value=TOML_VALUES)
def test_any_value_of_a_component_member_is_loaded_or_refused_typed(member: str, value: Any) -> None:
    table = {**_PROJECT, "component": [{"name": "app", "id": ["h'00'"], member: value}]}
    try:
        _load_and_check(table)
    except ProjectError as exc:
        _one_line(exc)


@_HYPOTHESIS
@given(value=st.dictionaries(st.sampled_from(["file-type", "mode", "owner", "group"]),
                             TOML_VALUES, max_size=4))
def test_any_metadata_table_is_loaded_or_refused_typed(value: dict[str, Any]) -> None:
    table = {**_PROJECT, "component": [{"name": "app", "id": ["h'00'"], "metadata": value}]}
    try:
        _load_and_check(table)
    except ProjectError as exc:
        assert "metadata" in str(exc)
        _one_line(exc)


@_HYPOTHESIS
@given(value=TOML_VALUES)
def test_any_profile_value_is_loaded_or_refused_typed(value: Any) -> None:
    try:
        _load_and_check({**_PROJECT, "profile": value})
    except ProjectError as exc:
        _one_line(exc)


@pytest.mark.parametrize("file_type", ["[]", "{a = 1}", "[[1]]"])
def test_metadata_file_type_of_the_wrong_type_is_exit_2(tmp_path: Path, data_dir: Path,
                                                        file_type: str) -> None:
    # Was TypeError: unhashable type: 'list' from `file_type not in FILE_TYPES` (exit 70).
    project = tmp_path / "project.toml"
    project.write_text('sequence-number = 1\n[device]\nvendor-domain = "example.com"\n'
                       'model = "w"\n[[component]]\nname = "app"\nid = ["h\'00\'"]\n'
                       f'metadata = {{file-type = {file_type}}}\n')
    result = suitwb("build", project, "-o", tmp_path / "out.suit", data_dir=data_dir, check=False)
    assert result.returncode == 2, result.stderr
    assert "component[0].metadata.file-type" in result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


@pytest.mark.parametrize(("name", "text", "shown"), [
    ("project.toml", 'sequence-number = 1\n"\\n\\u001b[2Jforged" = 1\n', "\\n\\x1b[2Jforged: unknown member"),
    ("project.toml", 'sequence-number = 1\n[device]\n"a\\rb" = 1\n', "device.a\\rb: unknown member"),
    ("loader.toml", '[loader]\n"\\n\\u001b[2Jforged" = 1\n', "loader.\\n\\x1b[2Jforged: unknown key"),
])
def test_a_key_with_control_characters_is_shown_escaped_on_one_line(
        tmp_path: Path, data_dir: Path, name: str, text: str, shown: str) -> None:
    # Was printed raw: the newline forged a second line, ESC [2J cleared the terminal.
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    args = ("build", path, "-o", tmp_path / "o.suit") if name == "project.toml" \
        else ("device", "serve", "--config", path, "--pty")
    result = suitwb(*args, data_dir=data_dir, check=False)
    assert result.returncode == 2, result.stderr
    first, *rest = result.stderr.splitlines()
    assert first.endswith(shown) and "\x1b" not in result.stderr
    assert all(line.startswith("suitwb: hint: ") for line in rest)
