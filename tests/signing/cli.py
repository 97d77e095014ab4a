"""Running the real `suitwb` in a subprocess, with a temp data dir for the audit log."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def suitwb(*args: object, data_dir: Path, env: dict[str, str] | None = None,
           check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m workbench.cli.main ARGS``; SOFTHSM2_CONF comes from the session."""
    full_env = {k: v for k, v in os.environ.items() if k != "SUITWB_PIN"}
    full_env.update({"SUITWB_DATA_DIR": str(data_dir), **(env or {})})
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", *map(str, args)],
                            cwd=ROOT, env=full_env, capture_output=True, text=True,
                            timeout=120, input=stdin)
    if check and result.returncode != 0:
        raise AssertionError(f"suitwb {args} exited {result.returncode}:\n{result.stderr}")
    return result
