"""`suitwb keys generate` for recipients of encrypted payloads (FE §5): a device's ECDH key
pair (X25519 or P-256) as PEM files, or an AES key-encryption key as a COSE_Key file or
inside a PKCS#11 token."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from signing.errors import KeyReferenceError, OutputError
from signing.files import check_output, write_atomic
from signing.keyref import Pkcs11Uri, parse_key_reference
from signing.pin import PinProvider
from signing.recipients import DEVICE_KEY_KINDS, KEK_KINDS, generate_token_kek, new_device_key, new_kek_file

logger = logging.getLogger(__name__)


def is_recipient_algorithm(name: str) -> bool:
    """Whether `--alg` names a recipient key (X25519, ECDH-P256, A128KW...), not a signing one."""
    return name.strip().upper() in DEVICE_KEY_KINDS or name.strip().upper() in KEK_KINDS


@dataclass(frozen=True)
class GeneratedRecipient:
    """What was made: a line for the person, and the files written."""

    description: str
    files: tuple[Path, ...] = ()


def public_path(private: Path) -> Path:
    """``device.pem`` -> ``device.pub.pem``: the half to give to `recipients`."""
    return private.with_name(f"{private.stem}.pub{private.suffix or '.pem'}")


def generate_recipient(ref: str, algorithm: str, kid: str | None,
                       pins: PinProvider | None) -> GeneratedRecipient:
    """Generate a recipient key at `ref` (a file path, or a pkcs11: URI for a KEK).

    Raises:
        OutputError: a file that exists or cannot be written (keys are never replaced).
        KeyReferenceError / SigningError: a token-side failure.
    """
    name = algorithm.strip().upper()
    parsed = parse_key_reference(ref)
    if isinstance(parsed, Pkcs11Uri):
        if name not in KEK_KINDS:
            raise KeyReferenceError(f"{algorithm} device keys are made as files",
                                    hint="Give --key device.pem; a token holds KEKs (A128KW, A256KW).")
        key_id = generate_token_kek(parsed, KEK_KINDS[name], pins)
        return GeneratedRecipient(f"generated {name} key-encryption key on token "
                                  f"{parsed.token!r}, kid {key_id.hex()}")
    path = Path(ref)
    if name in KEK_KINDS:
        key_id = kid.encode() if kid else os.urandom(8).hex().encode()
        _refuse_existing(path)
        write_atomic(path, new_kek_file(KEK_KINDS[name], key_id), mode=0o600)
        return GeneratedRecipient(f"wrote {name} key-encryption key {path} (kid "
                                  f"{key_id.decode(errors='replace')}); keep it secret", (path,))
    private, public = new_device_key(DEVICE_KEY_KINDS[name])
    pub = public_path(path)
    for target in (path, pub):
        _refuse_existing(target)
    write_atomic(path, private, mode=0o600)
    write_atomic(pub, public)
    return GeneratedRecipient(f"wrote {DEVICE_KEY_KINDS[name]} device key {path} (for the device) "
                              f"and {pub} (the recipient in the project)", (path, pub))


def _refuse_existing(path: Path) -> None:
    check_output(path)
    if path.exists():
        raise OutputError(str(path), "exists; a key file is never replaced",
                          hint="Choose another file name, or remove the old key deliberately.")
