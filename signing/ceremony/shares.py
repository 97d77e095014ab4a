"""Custodians' share files: one JSON file per custodian, and rebuilding a PIN from them.

A share file holds the custodian's Shamir share of the token's user PIN (and of the SO
PIN when the ceremony splits it), the ceremony instance it belongs to, the token and key
it unlocks, and a check value: SHA-256 over a context string, the instance id and the PIN.
The check lets `unlock` refuse a wrong or altered share *before* the token sees the
rebuilt PIN, so no PIN attempt is spent; with a 128-bit random PIN it reveals nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import fileio
from signing.ceremony.errors import NotEnoughShares, ShareError, SharesDoNotMatch
from signing.ceremony.shamir import Share, combine

FORMAT: Final = "suitwb-pin-share/1"
USER_PIN: Final = "user-pin"
SO_PIN: Final = "so-pin"
#: Largest share file read; real ones are a few hundred bytes.
MAX_SHARE_FILE: Final = 64 * 1024


def pin_check(instance: str, secret_name: str, pin: str) -> str:
    """The check value stored with the shares, hex."""
    data = f"suitwb ceremony pin check\0{instance}\0{secret_name}\0{pin}".encode()
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class TokenRef:
    """The token a share file unlocks and the keys in it."""

    module: str
    label: str
    serial: str
    keys: tuple[str, ...]


@dataclass(frozen=True)
class ShareFile:
    """One custodian's share file, parsed.

    Attributes:
        instance: The ceremony instance id (one per run).
        ceremony: The ceremony's name.
        custodian: Whose share it is.
        token: What it unlocks.
        shares: Secret name (``user-pin``, ``so-pin``) to the custodian's share.
        checks: Secret name to its check value.
    """

    instance: str
    ceremony: str
    custodian: str
    token: TokenRef
    shares: dict[str, Share]
    checks: dict[str, str]

    def __repr__(self) -> str:
        return f"ShareFile({self.custodian!r}, {self.ceremony!r}, <shares hidden>)"

    def to_json(self) -> bytes:
        """The file's bytes."""
        first = next(iter(self.shares.values()))
        document = {"format": FORMAT, "instance": self.instance, "ceremony": self.ceremony,
                    "custodian": self.custodian, "index": first.index,
                    "threshold": first.threshold, "token": self.token.__dict__ | {
                        "keys": list(self.token.keys)},
                    "shares": {k: v.value.hex() for k, v in self.shares.items()},
                    "checks": self.checks}
        return json.dumps(document, indent=2, ensure_ascii=False).encode() + b"\n"


def parse_share_file(data: bytes, name: str) -> ShareFile:
    """Parse a share file.

    Raises:
        ShareError: not a share file, or damaged.
    """
    try:
        doc = json.loads(data.decode("utf-8"))
        if doc.get("format") != FORMAT:
            raise ShareError(name, f"not a {FORMAT} file")
        index, threshold = int(doc["index"]), int(doc["threshold"])
        token = doc["token"]
        return ShareFile(
            str(doc["instance"]), str(doc["ceremony"]), str(doc["custodian"]),
            TokenRef(str(token["module"]), str(token["label"]), str(token["serial"]),
                     tuple(str(k) for k in token["keys"])),
            {str(k): Share(index, bytes.fromhex(v), threshold) for k, v in doc["shares"].items()},
            {str(k): str(v) for k, v in doc["checks"].items()})
    except ShareError:
        raise
    except (UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ShareError(name, f"damaged share file ({type(exc).__name__})") from None


def read_share_file(path: Path) -> ShareFile:
    """Read and parse a share file (see `parse_share_file`)."""
    try:
        data = fileio.read_limited(path, MAX_SHARE_FILE, regular_only=True)
    except fileio.FileAccessError as exc:
        raise ShareError(str(path), exc.problem) from exc
    return parse_share_file(data, str(path))


def rebuild_secret(files: Sequence[ShareFile], secret_name: str = USER_PIN) -> str:
    """Rebuild a PIN from custodians' share files and check it.

    Raises:
        ShareError: the files come from different ceremonies or lack this secret.
        NotEnoughShares: fewer distinct custodians than the quorum.
        SharesDoNotMatch: the rebuilt value fails its check (a wrong or altered share).
    """
    if not files:
        raise NotEnoughShares(0, 1)
    first = files[0]
    for f in files:
        if f.instance != first.instance:
            raise ShareError(f.custodian, "share from another ceremony than "
                                          f"{first.custodian}'s")
        if secret_name not in f.shares:
            raise ShareError(f.custodian, f"holds no share of the {secret_name}")
    pin_bytes = combine([f.shares[secret_name] for f in files])
    try:
        pin = pin_bytes.decode("ascii")
    except UnicodeDecodeError:
        raise SharesDoNotMatch("the shares do not rebuild this ceremony's PIN") from None
    expected = first.checks.get(secret_name, "")
    if not hmac.compare_digest(pin_check(first.instance, secret_name, pin), expected):
        raise SharesDoNotMatch("the shares do not rebuild this ceremony's PIN")
    return pin


def describe(files: Sequence[ShareFile]) -> dict[str, Any]:
    """Who brought shares (for messages and audit)."""
    return {"custodians": sorted({f.custodian for f in files}),
            "ceremony": files[0].ceremony if files else None}
