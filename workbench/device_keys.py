"""The virtual device's decryption keys from `suitwb device serve --decryption-key` (issue 16).

Each reference is a file (a PEM private key, P-256 or X25519, for ECDH-ES; or an AES
key-encryption key, raw or hex) or a PKCS#11 URI naming an AES secret key in a token, which
then unwraps content keys inside the token (signing.token_unwrap). The workbench joins the
two layers here: the loader (flasher) and the token code (signing) do not import each other.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from flasher.loader.decryption import load_decryption_key
from signing.keyref import parse_pkcs11_uri
from signing.token_unwrap import TokenKeyUnwrapper
from suit.encryption import RecipientKey
from workbench.files import read_bytes

logger = logging.getLogger(__name__)

_MAX_KEY_FILE: Final = 1 << 16


def decryption_keys(references: Sequence[str]) -> tuple[RecipientKey, ...]:
    """The device keys `references` name, in order.

    Raises:
        DecryptionKeyError: a file that holds no usable key.
        KeyReferenceError: a malformed PKCS#11 URI.
        FileAccessError: a file that cannot be read.
    """
    keys = tuple(_key(reference) for reference in references)
    logger.info("virtual device: %d decryption key(s)", len(keys))
    return keys


def _key(reference: str) -> RecipientKey:
    if reference.startswith("pkcs11:"):
        # The token is opened when a content key is unwrapped; a missing token or key is
        # refused then, as a device whose key store failed would.
        return RecipientKey(unwrapper=TokenKeyUnwrapper(parse_pkcs11_uri(reference)))
    path = Path(reference)
    return load_decryption_key(read_bytes(path, limit=_MAX_KEY_FILE, regular_only=True),
                               path.name)
