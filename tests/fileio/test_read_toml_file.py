"""fileio.toml.read_toml_file: the one reader of a size-bounded UTF-8 TOML file, raising
every failure as the caller's own file error (loader config, device profile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fileio.toml import read_toml_file
from suit.errors import WorkbenchError
from workbench.device_profile import DeviceProfileError
from workbench.loader_config import LoaderConfigError


@pytest.mark.parametrize("error", [LoaderConfigError, DeviceProfileError])
def test_each_failure_is_the_callers_error(tmp_path: Path, error: type[WorkbenchError]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('a = 1\n[t]\nb = "x"\n')
    assert read_toml_file(good, 1 << 10, error) == {"a": 1, "t": {"b": "x"}}
    latin = tmp_path / "latin.toml"
    latin.write_bytes(b'a = "\xe9"\n')
    cases = {latin: "not UTF-8 text", tmp_path / "missing.toml": "",
             tmp_path: "", good: ""}
    for path, problem in cases.items():
        limit = 4 if path == good else 1 << 10  # the good file is too large for 4 bytes
        with pytest.raises(error) as caught:
            read_toml_file(path, limit, error)
        assert str(caught.value).startswith(f"{path}: {problem}")
        assert "\n" not in str(caught.value)
    syntax = tmp_path / "syntax.toml"
    syntax.write_text("a = \n")
    with pytest.raises(error, match="TOML syntax error"):
        read_toml_file(syntax, 1 << 10, error)
