"""The host never imports the device side, and the contract saying so covers every host
module (issue 12). grimp sees function-level and TYPE_CHECKING imports too."""

from __future__ import annotations

import tomllib
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def _host_modules() -> set[str]:
    return {f"flasher.{p.stem}" for p in (ROOT / "flasher").glob("*.py") if p.stem != "__init__"}


def test_no_host_module_imports_the_loader_directly_or_indirectly() -> None:
    graph = grimp.build_graph("flasher", "suit", "fileio", cache_dir=None)
    for module in sorted(_host_modules()):
        reached = graph.find_upstream_modules(module)  # what it imports, transitively
        assert not {m for m in reached if m.startswith("flasher.loader")}, module


def test_the_contract_lists_every_host_module() -> None:
    """A new host module must join the import-linter contract, or it goes unguarded."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    [host] = [c for c in contracts if c.get("forbidden_modules") == ["flasher.loader"]]
    assert set(host["source_modules"]) == _host_modules()
