"""`python -m benchmarks` (`make bench`): run every benchmark and print its figures.

Each benchmark is a module with a `main()` that prints its own lines; one that is slow says
so in its docstring. `python -m benchmarks NAME ... [OPTION ...]` runs only the named ones;
the words after the names (`--quick`, a size) go to each of them as its command line, as
`python -m benchmarks.NAME OPTION ...` would give them.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def available() -> list[str]:
    """The benchmark modules, by name."""
    return sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                  if not m.name.startswith("_"))


def split(words: list[str], names: list[str]) -> tuple[list[str], list[str]]:
    """(benchmarks named first, the words after them)."""
    count = next((i for i, word in enumerate(words) if word not in names), len(words))
    return words[:count], words[count:]


def main(words: list[str]) -> int:
    names = available()
    chosen, options = split(words, names)
    if not chosen and options and not options[0].startswith("-"):
        print(f"unknown benchmark {options[0]!r}; available: {', '.join(names)}", file=sys.stderr)
        return 2
    for name in chosen or names:
        print(f"== {name}", flush=True)
        sys.argv = [f"benchmarks.{name}", *options]
        importlib.import_module(f"benchmarks.{name}").main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
