"""STYLE.md §15 and issue 12, checked on the source: no `print(` below the CLI's output,
and every module that logs does it through its own module-level
``logger = logging.getLogger(__name__)``, never through the root logger."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("suit", "signing", "flasher", "fileio", "workbench", "gui")
#: print() is the CLI's output: all of workbench/cli/, and these, each a program's own output.
PRINT_ALLOWED = {
    "gui/app.py": "suit-workbench's one-line error when --screenshot cannot write its PNG",
    "gui/ceremony_pdf.py": "`python -m gui.ceremony_pdf` prints the PDF's path or its error",
}
#: Modules that set up where records go, and so hold the root logger (`getLogger()`), or
#: fetch a named logger lazily to keep start-up lean.
CONFIGURES_LOGGING = {
    "workbench/cli/logs.py": "the CLI's -v / --log-file / loader handlers",
    "workbench/cli/main.py": "imports logging only when it is needed (start-up, issue 12)",
    "gui/log_panel.py": "the window's log file and Log dock",
}
ROOT_LOGGER_CALLS = {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}


def modules() -> Iterator[tuple[str, ast.Module]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            yield name, ast.parse(path.read_text(), name)


def calls(tree: ast.AST) -> Iterator[ast.Call]:
    return (node for node in ast.walk(tree) if isinstance(node, ast.Call))


def is_attribute_call(call: ast.Call, owner: str, names: set[str]) -> bool:
    func = call.func
    return isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
        and func.value.id == owner and func.attr in names


def is_module_logger(statement: ast.stmt) -> bool:
    """``logger = logging.getLogger(__name__)`` (optionally annotated)."""
    if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
        target, value = statement.targets[0], statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        target, value = statement.target, statement.value
    else:
        return False
    return isinstance(target, ast.Name) and target.id == "logger" \
        and isinstance(value, ast.Call) and is_attribute_call(value, "logging", {"getLogger"}) \
        and len(value.args) == 1 and isinstance(value.args[0], ast.Name) \
        and value.args[0].id == "__name__"


def logging_problems(name: str, tree: ast.Module) -> list[str]:
    problems = []
    module_logger = [s for s in tree.body if is_module_logger(s)]
    for call in calls(tree):
        line = f"{name}:{call.lineno}"
        if is_attribute_call(call, "logging", ROOT_LOGGER_CALLS):
            problems.append(f"{line}: logs through the root logger")
        if is_attribute_call(call, "logging", {"getLogger"}) and name not in CONFIGURES_LOGGING \
                and not any(call is s.value for s in module_logger):  # type: ignore[attr-defined]
            problems.append(f"{line}: getLogger other than the module-level logger")
        if is_attribute_call(call, "logger", ROOT_LOGGER_CALLS) and not module_logger:
            problems.append(f"{line}: logs without logger = logging.getLogger(__name__)")
    return problems


def test_no_print_below_the_cli() -> None:
    found = [f"{name}:{call.lineno}" for name, tree in modules() for call in calls(tree)
             if isinstance(call.func, ast.Name) and call.func.id == "print"
             and not name.startswith("workbench/cli/") and name not in PRINT_ALLOWED]
    assert found == []


def test_the_allowed_prints_still_exist() -> None:
    # An allowance nobody needs any more is removed, not kept as a loophole.
    printing = {name for name, tree in modules() for call in calls(tree)
                if isinstance(call.func, ast.Name) and call.func.id == "print"}
    assert set(PRINT_ALLOWED) <= printing


def test_every_module_logs_through_its_own_logger() -> None:
    assert [p for name, tree in modules() for p in logging_problems(name, tree)] == []


@pytest.mark.parametrize(("source", "problem"), [
    ("import logging\nlogging.info('x')\n", "logs through the root logger"),
    ("import logging\ndef f():\n    logging.getLogger(__name__).info('x')\n",
     "getLogger other than the module-level logger"),
    ("import logging\nlog = logging.getLogger('mine')\n",
     "getLogger other than the module-level logger"),
    ("def f(logger):\n    logger.info('x')\n", "logs without logger ="),
])
def test_the_checker_finds(source: str, problem: str) -> None:
    [found] = logging_problems("m.py", ast.parse(source))
    assert problem in found


def test_the_checker_accepts_the_house_style() -> None:
    source = "import logging\nlogger = logging.getLogger(__name__)\ndef f():\n    logger.info('x')\n"
    assert logging_problems("m.py", ast.parse(source)) == []
