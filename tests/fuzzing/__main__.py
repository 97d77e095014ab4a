"""``python -m tests.fuzzing --inputs N [--seed S] [--save DIR]``: a fuzzing campaign.

Prints inputs run, untyped exceptions, hangs over 1 s and peak RSS; exits 1 if anything
untyped escaped or an input hung, saving one example input per finding under `--save`.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from tests.fuzzing.harness import Campaign, fuzz


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fuzzing")
    parser.add_argument("--inputs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--save", type=Path, default=Path("fuzz-findings"))
    args = parser.parse_args(argv)

    def progress(campaign: Campaign) -> None:
        print(campaign.summary(), file=sys.stderr, flush=True)

    campaign = fuzz(args.inputs, args.seed, progress)
    print(campaign.summary())
    for finding, data in campaign.examples.items():
        print(f"  {finding}")
        args.save.mkdir(parents=True, exist_ok=True)
        (args.save / f"{hashlib.sha256(data).hexdigest()[:16]}.cbor").write_bytes(data)
    return 1 if campaign.untyped or campaign.hangs else 0


if __name__ == "__main__":
    sys.exit(main())
