"""Run by test_token_removed_mid_operation in its own process: generate a key, sign once,
delete the token's store (the token is pulled out), sign again, and print the outcome."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from signing.backends import open_signer
from signing.errors import SigningError
from signing.keyref import parse_key_reference
from signing.management import generate


def main(uri: str, tokens: Path) -> None:
    generate(parse_key_reference(uri), "P-256", None)  # type: ignore[arg-type]
    signer = open_signer(uri)
    print(f"signed {len(signer.sign(b'first'))} bytes")
    for directory in tokens.iterdir():
        shutil.rmtree(directory)
    try:
        signer.sign(b"second")
        print("signed again: the removal went unnoticed")
    except SigningError as exc:
        print(f"{type(exc).__name__}: {exc} | {exc.hint}")
    finally:
        signer.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
