"""A command module for tests only: `boom` fails the way a defect does, `chatty` logs at
every level. Registered by patching `workbench.cli.main.COMMANDS` (see `with_fake_commands`)."""

from __future__ import annotations

import argparse
import logging

from workbench.cli import main as cli

logger = logging.getLogger(__name__)
FAKE_COMMANDS = (("boom", __name__, "raise an unexpected exception"),
                 ("chatty", __name__, "log at every level"))


def register(sub: argparse._SubParsersAction) -> None:
    """Add `boom` and `chatty`."""
    sub.add_parser("boom").set_defaults(func=run_boom)
    sub.add_parser("chatty").set_defaults(func=run_chatty)


def run_boom(args: argparse.Namespace) -> int:
    logger.info("about to fail")
    return {}["missing"]  # type: ignore[no-any-return]  # a KeyError, as a bug would raise


def run_chatty(args: argparse.Namespace) -> int:
    logger.debug("debug line")
    logger.info("info line")
    logger.warning("warning line\nwith a second line")
    return 0


def with_fake_commands() -> None:
    """Make `main()` know the fake commands (for in-process calls and probe processes)."""
    cli.COMMANDS = (*cli.COMMANDS, *FAKE_COMMANDS)  # type: ignore[misc]
    cli.ALL_MODULES = (*cli.ALL_MODULES, __name__)  # type: ignore[misc]
