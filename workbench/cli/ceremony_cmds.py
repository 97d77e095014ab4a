"""`suitwb` commands of issue 8 (see the module's register function)."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Add this module's commands to the `suitwb` parser."""
