"""The loader's systemd unit template (issue 15): packaged, verified by systemd itself where
systemd-analyze exists, and its ExecStart parsed by our own CLI parser (a typo in an option
would otherwise only show on a device, as a unit that fails to start)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from workbench.cli.device_cmds import run_serve
from workbench.cli.main import build_parser
from workbench.resources import LOADER_UNIT, SYSTEMD, resource

INSTANCE = "ttyGS0"


def unit_text() -> str:
    return resource(SYSTEMD, LOADER_UNIT).read_text(encoding="utf-8")


def sections(text: str) -> dict[str, dict[str, list[str]]]:
    """The unit as systemd reads it: [Section] -> key -> every value (keys may repeat)."""
    parsed: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = parsed.setdefault(line[1:-1], {})
            continue
        key, sep, value = line.partition("=")
        assert current is not None and sep, f"line {number} is not Key=value: {line!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return parsed


def exec_start_argv() -> list[str]:
    [command] = sections(unit_text())["Service"]["ExecStart"]
    # %I: the instance name unescaped (suitwb-loader@ttyGS0 -> ttyGS0).
    return shlex.split(command.replace("%I", INSTANCE))


def test_the_unit_is_package_data() -> None:
    assert resource(SYSTEMD, LOADER_UNIT).is_file()
    assert set(sections(unit_text())) == {"Unit", "Service", "Install"}


def test_exec_start_parses_with_our_cli_as_a_serve_of_the_instance_port() -> None:
    argv = exec_start_argv()
    assert Path(argv[0]).name == "suitwb"
    args = build_parser().parse_args(argv[1:])
    assert args.func is run_serve
    assert (args.config, args.port, args.pty) == (Path("/etc/suitwb/loader.toml"),
                                                  f"/dev/{INSTANCE}", False)
    assert args.state == Path(f"/var/lib/suitwb-loader/{INSTANCE}")


def test_the_service_restarts_logs_to_the_journal_and_is_confined() -> None:
    service = {key: values[-1] for key, values in sections(unit_text())["Service"].items()}
    assert service["Restart"] == "on-failure"
    assert (service["StandardOutput"], service["StandardError"]) == ("journal", "journal")
    # StateDirectory= is relative to /var/lib and is the --state of ExecStart.
    assert "/var/lib/" + service["StateDirectory"].replace("%I", INSTANCE) == \
        exec_start_argv()[exec_start_argv().index("--state") + 1]
    for key, value in {"NoNewPrivileges": "yes", "ProtectSystem": "strict",
                       "PrivateTmp": "yes", "ProtectHome": "yes"}.items():
        assert service[key] == value, key
    assert service["ReadWritePaths"]
    assert "BindsTo" not in sections(unit_text())["Unit"]  # would stop it on an unplug
    assert sections(unit_text())["Install"]["WantedBy"] == ["multi-user.target"]


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_analyze_verifies_the_unit_without_a_warning(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at one that does.
    suitwb = tmp_path / "suitwb"
    suitwb.write_text("#!/bin/sh\n")
    suitwb.chmod(0o755)
    unit = tmp_path / LOADER_UNIT.replace("@", f"@{INSTANCE}")
    unit.write_text(unit_text().replace(exec_start_argv()[0], str(suitwb)))
    result = subprocess.run(["systemd-analyze", "verify", str(unit)], capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0 and not result.stderr.strip() and not result.stdout.strip(), \
        result.stdout + result.stderr
