"""Using a ceremony's key later: M custodians' shares rebuild the PIN, which opens the key.

The PIN is rebuilt in memory, checked against the share files' check value before the
token sees it (a wrong share costs no PIN attempt), passed to C_Login, and dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from signing.ceremony.errors import ShareError
from signing.ceremony.shares import ShareFile, read_share_file, rebuild_secret
from signing.keyref import Pkcs11Uri
from signing.pin import FixedPinProvider
from signing.token_signer import Pkcs11Signer, open_pkcs11_signer
from suit.cose import CoseAlgorithm


@dataclass(frozen=True)
class Unlocked:
    """A rebuilt PIN and what it opens. The PIN is hidden from repr.

    Attributes:
        files: The share files used.
        uri: The key's URI (without PIN).
    """

    files: tuple[ShareFile, ...]
    uri: Pkcs11Uri
    pin: str

    def __repr__(self) -> str:
        return f"Unlocked({self.uri.redacted()!r}, custodians={self.custodians})"

    @property
    def custodians(self) -> list[str]:
        """Who brought shares."""
        return sorted({f.custodian for f in self.files})

    def open_signer(self, algorithm: CoseAlgorithm | None = None) -> Pkcs11Signer:
        """Log in to the token and return a signer for the key."""
        return open_pkcs11_signer(self.uri, algorithm, FixedPinProvider(self.pin))


def unlock(share_paths: Sequence[Path], key_label: str | None = None) -> Unlocked:
    """Rebuild the user PIN from share files and name the key it opens.

    Args:
        share_paths: At least the quorum of custodians' share files.
        key_label: Which of the ceremony's keys; default the first (the signing key).

    Raises:
        ShareError, NotEnoughShares, SharesDoNotMatch: see `rebuild_secret`.
    """
    files = tuple(read_share_file(p) for p in share_paths)
    pin = rebuild_secret(files)
    token = files[0].token
    label = key_label or (token.keys[0] if token.keys else None)
    if label is None or label not in token.keys:
        raise ShareError(str(share_paths[0]), f"the ceremony made no key {key_label!r}",
                         hint=f"Its keys are: {', '.join(token.keys)}.")
    attributes = {"token": token.label, "object": label, "type": "private"}
    if token.serial:
        attributes["serial"] = token.serial
    return Unlocked(files, Pkcs11Uri(attributes, module_path=token.module), pin)
