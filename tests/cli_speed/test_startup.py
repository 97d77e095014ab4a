"""`suitwb` start-up (issue 12): a command imports only what it runs, and `--help` lists
every command without importing any command module. The times are in
`python -m benchmarks startup`; here the import set, which is what makes them."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import cast

import pytest

from workbench.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "vectors" / "manifest-spec" / "example2.cbor"
KEY = ROOT / "tests" / "vectors" / "manifest-spec" / "keys" / "example-es256-public.pem"
# What made start-up 10-15x `python -c pass`: none of it is needed to read an envelope.
HEAVY = ("pkcs11", "PySide6", "serial", "signing", "flasher", "workbench.ceremony",
         "workbench.project", "workbench.cli.signing_cmds", "workbench.cli.device_cmds",
         "workbench.cli.ceremony_cmds", "workbench.cli.project_cmds")
# Runs main() as `suitwb` would, then reports every module the process has loaded.
PROBE = """
import json, sys
from workbench.cli.main import main
try:
    status = main(sys.argv[1:])
except SystemExit as exc:
    status = exc.code
print("\\n#modules " + json.dumps(sorted(sys.modules)))
sys.exit(status)
"""


def loaded_modules(*args: str) -> set[str]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.rpartition("#modules ")[2]))


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(m for m in modules for heavy in HEAVY if m == heavy or m.startswith(heavy + "."))


@pytest.mark.parametrize("args", [
    ("--help",),
    ("inspect", str(EXAMPLE)),
    ("inspect", str(EXAMPLE), "--format", "json"),
    ("verify", str(EXAMPLE), "--key", str(KEY)),
], ids=["help", "inspect", "inspect-json", "verify"])
def test_format_commands_load_no_signing_device_or_gui_stack(args: tuple[str, ...]) -> None:
    assert heavy_among(loaded_modules(*args)) == []


def test_help_loads_no_command_module() -> None:
    modules = loaded_modules("--help")
    assert not {m for m in modules if m.startswith("workbench.cli.") and m != "workbench.cli.main"}
    assert not {m for m in modules if m == "suit" or m.startswith("suit.")}


def test_a_command_loads_its_own_module() -> None:
    # The probe can tell: `keys --help` does load the signing commands.
    assert "workbench.cli.signing_cmds" in loaded_modules("keys", "--help")


def _help(parser: object) -> str:
    return parser.format_help()  # type: ignore[attr-defined]


def test_lazy_help_reads_as_with_every_module_loaded() -> None:
    # The table in main.py repeats each module's help line; this keeps the two in step.
    assert _help(cli.build_parser(())) == _help(cli.build_parser(cli.ALL_MODULES))


def test_the_table_names_exactly_the_commands_each_module_registers() -> None:
    for module in cli.ALL_MODULES:
        parser = cli.build_parser((module,))
        sub = next(a for a in parser._actions if a.dest == "command")
        choices = cast("dict[str, argparse.ArgumentParser]", sub.choices)
        owned = {name for name, owner, _ in cli.COMMANDS if owner == module}  # the rest: stubs
        registered = {name for name, p in choices.items() if p.add_help and name != "gui"}
        assert registered == owned, module


@pytest.mark.parametrize("argv, expected", [
    (["inspect", "x.suit"], ("workbench.cli.format_cmds",)),
    (["--help"], ()),
    (["records", "export", "--csv"], ("workbench.cli.device_cmds",)),
    (["nonsense"], ()),
    ([], ()),
])
def test_modules_for_picks_the_owner_of_the_first_word(argv: list[str],
                                                      expected: tuple[str, ...]) -> None:
    assert cli.modules_for(argv) == expected
