"""`python -m gui` / `suit-workbench`: start the workstation window."""

from __future__ import annotations

import sys

from gui.app import main

sys.exit(main(sys.argv[1:]))
