"""Signs one message with an HSS-LMS key, as a separate process the crash test kills.

Every one-time signature the process computes is appended to a ledger (tree I, leaf q,
digest of what was signed) and fsynced the moment it exists, before any crash point
after it: so the ledger holds even the signatures a killed process made but never
returned. Usage: python -m tests.signing.hsslms_crash_child KEY LEDGER MESSAGE OUT
"""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

from signing import hsslms
from signing.hsslms_state import Tree

_original_sign = Tree.sign


def _ledger_sign(self: Tree, q: int, message: bytes) -> bytes:
    signature = _original_sign(self, q, message)
    line = f"{self.identifier.hex()} {q} {hashlib.sha256(message).hexdigest()}\n"
    with open(os.environ["LEDGER"], "a") as ledger:
        ledger.write(line)
        ledger.flush()
        os.fsync(ledger.fileno())
    return signature


def main(key: str, message: str, out: str) -> None:
    Tree.sign = _ledger_sign  # type: ignore[method-assign]
    signature = hsslms.HssLmsSigner(Path(key)).sign(message.encode())
    Path(out).write_bytes(signature)


if __name__ == "__main__":
    main(*sys.argv[1:4])
