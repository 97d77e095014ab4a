"""Stateful (HSS-LMS) keys as the CLI, the GUI key manager and `lint` show them: every key
this machine's state journal knows, with its remaining signatures (issue 16)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from signing import hsslms
from signing.errors import SigningError
from suit.lint import Finding, Rule, Severity

logger = logging.getLogger(__name__)

#: A key is low when less than this fraction of its signatures is left.
LOW_FRACTION: Final = 0.1
LOW_RULE: Final = Rule("PRJ003", "hss-lms-key-low", Severity.WARNING,
                       "an HSS-LMS signing key on this machine is nearly used up (or refused)",
                       "Generate its successor now and ship its public key in a release "
                       "signed while the old key still works (docs/signing.md).")


@dataclass(frozen=True)
class StatefulKey:
    """One stateful key: its status, or why it could not be read."""

    path: str
    status: hsslms.KeyStatus | None
    problem: str = ""

    @property
    def low(self) -> bool:
        s = self.status
        return s is not None and s.remaining < s.capacity * LOW_FRACTION

    @property
    def usable(self) -> bool:
        return self.status is not None and not self.status.problem and self.status.remaining > 0


def stateful_keys() -> list[StatefulKey]:
    """Every key the journal names, read now (a missing or broken file says so)."""
    keys = []
    for name in hsslms.known_keys():
        try:
            keys.append(StatefulKey(name, hsslms.status(Path(name))))
        except SigningError as exc:
            logger.info("stateful key %s: %s", name, exc)
            keys.append(StatefulKey(name, None, str(exc)))
    return keys


def low_key_findings() -> Iterator[Finding]:
    """PRJ003 for each known key that is low, refused or unreadable (`suitwb lint`)."""
    for key in stateful_keys():
        s = key.status
        if s is None or s.problem:
            yield Finding(LOW_RULE, f"HSS-LMS key {key.path} cannot sign: "
                          f"{key.problem or (s.problem if s else '')}", f"key {key.path}")
        elif key.low:
            yield Finding(LOW_RULE, f"HSS-LMS key {key.path} has {s.remaining} of "
                          f"{s.capacity} signatures left", f"key {key.path}")
