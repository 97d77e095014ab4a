"""The HSS-LMS parts of `suitwb keys` (issue 16): `keys generate --type hss-lms` and the
stateful keys `keys list` shows with their remaining signatures."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signing import hsslms
from signing.cose_key import thumbprint
from signing.errors import KeyReferenceError
from signing.files import write_atomic
from signing.hsslms_state import LMOTS_CHOICES, LMS_CHOICES
from suit.hsslms import DEFAULT_LMOTS, DEFAULT_LMS, LMOTS_BY_NAME, LMS_BY_NAME
from suit.keys import encode_cose_key
from workbench.stateful_keys import stateful_keys


def add_hss_lms_options(p: argparse.ArgumentParser) -> None:
    """`--lms`, `--lmots`, `--levels` and `--public` of `keys generate --type hss-lms`."""
    p.add_argument("--lms", default=DEFAULT_LMS.name, choices=[t.name for t in LMS_CHOICES],
                   help=f"tree height per level (default {DEFAULT_LMS.name})")
    p.add_argument("--lmots", default=DEFAULT_LMOTS.name, choices=[t.name for t in LMOTS_CHOICES],
                   help=f"Winternitz parameter (default {DEFAULT_LMOTS.name})")
    p.add_argument("--levels", type=int, default=1, metavar="L",
                   help="HSS levels (default 1: 2^h signatures; 2 gives 2^2h)")
    p.add_argument("--public", type=Path, metavar="FILE",
                   help="where the public COSE_Key goes (default: KEY.pub.cose)")


def generate_hss_lms(args: argparse.Namespace) -> int:
    """Generate the key file, write its public COSE_Key, and say how many signatures it has."""
    if args.output is None:
        raise KeyReferenceError("HSS-LMS keys are generated as files, not in a token",
                                hint="Give -o a new file path, e.g. -o release.hss")
    path = Path(args.output)
    public_path = args.public or path.with_name(path.name + ".pub.cose")
    lms = LMS_BY_NAME[args.lms]
    # Every leaf of each tree is an LM-OTS key to compute: H10 takes seconds, H15 minutes.
    print(f"generating {args.levels} tree(s) of {2 ** lms.h} one-time keys...", file=sys.stderr,
          flush=True)
    state = hsslms.generate(path, lms, LMOTS_BY_NAME[args.lmots], args.levels)
    public = state.public_key
    write_atomic(public_path, encode_cose_key(public, thumbprint(public)))
    print(f"generated HSS-LMS key {path} ({args.levels} level(s) of {args.lms}, {args.lmots}): "
          f"{state.remaining} signatures, kid {thumbprint(public).hex()}; public key {public_path}")
    return 0


def print_hss_lms_keys() -> None:
    """Every stateful key this machine's journal knows, with what it has left."""
    keys = stateful_keys()
    if keys:
        print("HSS-LMS keys (stateful, from this machine's state journal)")
    for key in keys:
        status = key.status
        if status is None:
            print(f"  {key.path}: unusable ({key.problem})")
            continue
        low = " LOW" if key.low else ""
        refused = f"  REFUSED: {status.problem}" if status.problem else ""
        print(f"  {key.path}  kid {status.kid.hex()}  {status.remaining} of {status.capacity} "
              f"signatures left{low}{refused}")
