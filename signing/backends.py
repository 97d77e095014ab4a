"""One entry point from a key reference to a `Signer`, whichever backend holds the key."""

from __future__ import annotations

from signing.hsslms import is_hss_lms_file, open_hss_lms_signer
from signing.keyref import FileKeyRef, KeyRef, parse_key_reference
from signing.pin import PinProvider
from signing.signer import Signer
from signing.software import open_software_signer
from signing.token_signer import open_pkcs11_signer
from suit.cose import CoseAlgorithm


def open_signer(ref: KeyRef | str, algorithm: CoseAlgorithm | None = None,
                pins: PinProvider | None = None) -> Signer:
    """Open the signer for a key file or PKCS#11 URI. Close it when done.

    Args:
        ref: A parsed reference, or its text (``--key``).
        algorithm: The COSE algorithm; None for the key's default (ESP256 for P-256...).
        pins: Asked for a token PIN or key passphrase when no other source has one.
    """
    if isinstance(ref, str):
        ref = parse_key_reference(ref)
    if isinstance(ref, FileKeyRef):
        if is_hss_lms_file(ref.path):  # a stateful key: its own signer (signing.hsslms)
            return open_hss_lms_signer(ref.path, algorithm)
        return open_software_signer(ref, algorithm, pins)
    return open_pkcs11_signer(ref, algorithm, pins)
