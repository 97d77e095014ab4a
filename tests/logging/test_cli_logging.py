"""`suitwb -v/-vv`, `--log-file` and the last-resort guard (issues 11 and 12): a defect is
one line and exit 70, never a traceback; the details go to the log file, or stderr with -v."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.logging import fake_cmds
from workbench.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "tests" / "vectors" / "manifest-spec" / "example2.cbor"
KEY = ROOT / "tests" / "vectors" / "manifest-spec" / "keys" / "example-es256-public.pem"
INTERNAL = ("suitwb: internal error: KeyError: 'missing' "
            "(run with -v or --log-file for details)")
# `suitwb` with the fake commands registered, in a process of its own.
PROBE = """
import sys
from tests.logging.fake_cmds import with_fake_commands
from workbench.cli.main import main
with_fake_commands()
sys.exit(main(sys.argv[1:]))
"""


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "COMMANDS", (*cli.COMMANDS, *fake_cmds.FAKE_COMMANDS))


def probe(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", PROBE, *map(str, args)], cwd=ROOT, text=True,
                          capture_output=True, timeout=60, check=False)


def suitwb(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "workbench.cli.main", *map(str, args)],
                          cwd=ROOT, text=True, capture_output=True, timeout=60, check=False)


# -- the last-resort guard ------------------------------------------------------------------

def test_a_defect_is_one_line_and_exit_70(fake: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["boom"]) == cli.INTERNAL_ERROR == 70
    out, err = capsys.readouterr()
    assert (out, err) == ("", INTERNAL + "\n")


def test_the_log_file_gets_the_traceback(fake: None, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "suitwb.log"
    assert cli.main(["--log-file", str(log), "boom"]) == 70
    assert capsys.readouterr().err == INTERNAL + "\n"
    text = log.read_text()
    assert " INFO tests.logging.fake_cmds [MainThread]: about to fail" in text
    assert " ERROR workbench.cli.main [MainThread]: internal error\nTraceback" in text
    assert 'return {}["missing"]' in text and text.rstrip().endswith("KeyError: 'missing'")


def test_a_defect_in_a_real_process_with_and_without_v() -> None:
    quiet = probe("boom")
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (70, "", INTERNAL + "\n")
    loud = probe("-v", "boom")
    assert loud.returncode == 70
    lines = loud.stderr.splitlines()
    assert lines[0] == "suitwb: info: about to fail"
    assert lines[1] == "suitwb: error: internal error"
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-2] == "KeyError: 'missing'" and lines[-1] == INTERNAL


def test_refusals_keep_their_status_and_reach_the_log_file(tmp_path: Path) -> None:
    log = tmp_path / "suitwb.log"
    missing = suitwb("--log-file", log, "inspect", tmp_path / "nothing.suit")
    assert missing.returncode == 2 and missing.stderr.startswith("suitwb: error: ")
    assert "Traceback" not in missing.stderr
    assert "DEBUG workbench.cli.main [MainThread]: command ended with FileAccessError" \
        in log.read_text()


# -- -v and -vv ------------------------------------------------------------------------------

@pytest.mark.parametrize(("options", "shown"), [
    ((), ["warning"]),
    (("-v",), ["info", "warning"]),
    (("-vv",), ["debug", "info", "warning"]),
    (("--verbose", "--verbose"), ["debug", "info", "warning"]),
])
def test_v_chooses_what_stderr_shows(fake: None, capsys: pytest.CaptureFixture[str],
                                     options: tuple[str, ...], shown: list[str]) -> None:
    assert cli.main([*options, "chatty"]) == 0
    lines = capsys.readouterr().err.splitlines()
    expected = {"debug": "suitwb: debug: debug line", "info": "suitwb: info: info line",
                "warning": "suitwb: warning: warning line with a second line"}
    command = [f"suitwb: debug: suitwb {' '.join(options)} chatty"] if "debug" in shown else []
    assert lines == command + [expected[level] for level in shown]


def test_the_log_file_is_appended_with_times_and_modules(fake: None, tmp_path: Path) -> None:
    log = tmp_path / "suitwb.log"
    log.write_text("kept\n")
    assert cli.main(["--log-file", str(log), "chatty"]) == 0
    assert cli.main([f"--log-file={log}", "chatty"]) == 0
    lines = log.read_text().splitlines()
    assert lines[0] == "kept"
    debug = [line for line in lines if line.endswith("tests.logging.fake_cmds [MainThread]: "
                                                     "debug line")]
    assert len(debug) == 2
    assert debug[0][:4].isdigit() and debug[0][4] == "-"  # 2026-...: a timestamp first


def test_main_leaves_logging_as_it_found_it(fake: None, tmp_path: Path) -> None:
    before = list(logging.getLogger().handlers)
    cli.main(["-vv", "--log-file", str(tmp_path / "x.log"), "chatty"])
    assert logging.getLogger().handlers == before


# -- --log-file refusals -----------------------------------------------------------------------

@pytest.mark.parametrize("target", ["/dev/null", "/dev/tty", "folder", "missing/x.log"])
def test_a_bad_log_file_is_exit_2(tmp_path: Path, target: str) -> None:
    (tmp_path / "folder").mkdir()
    result = suitwb("--log-file", tmp_path / target if not target.startswith("/") else target,
                    "inspect", EXAMPLE)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # refused before the command ran
    [error, hint] = result.stderr.splitlines()
    assert error.startswith("suitwb: error: ") and "log file" in error
    assert hint.startswith("suitwb: hint: Give --log-file a regular file")


def test_a_fifo_is_refused_without_waiting_for_a_reader(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    assert suitwb("--log-file", fifo, "inspect", EXAMPLE).returncode == 2  # no reader: no hang
    reader_ready = threading.Event()

    def read() -> None:
        fd = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
        reader_ready.set()
        try:
            threading.Event().wait(5)
        finally:
            os.close(fd)
    threading.Thread(target=read, daemon=True).start()
    reader_ready.wait(5)
    with_reader = suitwb("--log-file", fifo, "inspect", EXAMPLE)
    assert with_reader.returncode == 2 and "not a regular file" in with_reader.stderr


# -- options before the command ------------------------------------------------------------------

def test_modules_for_skips_global_options_and_their_values() -> None:
    # The log file is named like a command: its value is not the command word.
    assert cli.modules_for(["--log-file", "keys", "inspect", "x"]) == ("workbench.cli.format_cmds",)
    assert cli.modules_for(["-vv", "--log-file=keys", "verify"]) == ("workbench.cli.format_cmds",)
    assert cli.modules_for(["-v", "--log-file", "x.log"]) == ()


def test_options_before_the_command_in_a_real_process(tmp_path: Path) -> None:
    log = tmp_path / "verify.log"
    result = suitwb("-v", "--log-file", log, "verify", EXAMPLE, "--key", KEY)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "workbench.cli.main [MainThread]: suitwb -v --log-file" in log.read_text()


def test_options_before_gui_still_open_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    # `gui` has no handler of its own in the parser: with -v before it, it must still be
    # handed to the window, not end as an internal error.
    opened: list[list[str]] = []
    monkeypatch.setattr(cli, "_run_gui", lambda rest: opened.append(list(rest)) or 0)
    assert cli.main(["-v", "--log-file", "x.log", "gui", "--demo"]) == 0
    assert cli.main(["gui"]) == 0
    assert opened == [["--demo"], []]
    with pytest.raises(SystemExit):
        cli.main(["--help", "gui"])
