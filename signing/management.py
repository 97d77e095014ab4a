"""Key management use cases over any key reference: inventory, generation, public export.

Public keys are exported as PEM (SubjectPublicKeyInfo) or as a COSE_Key carrying the kid
our signatures use, so a verifier can match blocks to keys. Private and secret keys are
refused before any bytes are read from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signing.algorithms import SECRET, key_kind
from signing.cose_key import thumbprint
from signing.errors import ExportRefused, KeyNotFound, KeyReferenceError, WrongKeyType
from signing.external import load_public_key
from signing.keyref import FileKeyRef, KeyRef, Pkcs11Uri
from signing.pin import PinProvider
from signing.signer import PublicKey
from signing.token import close_quietly, find_token, load_module, open_session, token_session
from signing.token_keys import (
    KeyInfo,
    TokenInfo,
    export_public_key,
    generate_key,
    list_keys,
    list_tokens,
)
from suit.keys import encode_cose_key

FORMATS: Final = ("pem", "cose")


@dataclass(frozen=True)
class TokenInventory:
    """A token and the keys visible on it (private ones only after login)."""

    token: TokenInfo
    keys: tuple[KeyInfo, ...]
    logged_in: bool


def inventory(module: str, pins: PinProvider | None, *, token: str | None = None,
              login: bool = False) -> list[TokenInventory]:
    """Tokens of `module` (optionally only the one labelled `token`) with their keys."""
    lib = load_module(module)
    result = []
    for info in list_tokens(module):
        if token is not None and info.label != token:
            continue
        uri = Pkcs11Uri({"token": info.label, "serial": info.serial}, module_path=module)
        session = open_session(find_token(lib, uri), uri, pins, login=login)
        try:
            result.append(TokenInventory(info, tuple(list_keys(session)), login))
        finally:
            close_quietly(session)
    return result


def generate(uri: Pkcs11Uri, kind: str, pins: PinProvider | None) -> KeyInfo:
    """Generate a `kind` key (P-256, P-384, Ed25519, secret) on the token `uri` names."""
    if uri.object_type not in (None, "private", "secret-key"):
        raise KeyReferenceError("type= of a key to generate must be private or secret-key")
    with token_session(uri, pins, rw=True) as session:
        return generate_key(session, uri, kind)


def public_key_for(ref: KeyRef, pins: PinProvider | None) -> tuple[PublicKey, bytes]:
    """The public key `ref` names and the kid our signatures with it carry.

    Raises:
        ExportRefused: `ref` names a private (``type=private``) or secret key.
    """
    if isinstance(ref, FileKeyRef):
        try:
            public = load_public_key(ref.path)
        except WrongKeyType as exc:
            if exc.key_type == SECRET:
                raise ExportRefused(f"refusing to export a secret key: {ref.path}") from exc
            raise
        return public, thumbprint(public)
    if ref.object_type in ("private", "secret-key"):
        raise ExportRefused(f"refusing to export a {ref.object_type} key: {ref.redacted()}")
    # Public keys are usually public objects (CKA_PRIVATE false): try without the PIN first.
    try:
        with token_session(ref, pins, login=False) as session:
            return export_public_key(session, ref)
    except KeyNotFound:
        with token_session(ref, pins) as session:
            return export_public_key(session, ref)


def export_public(ref: KeyRef, fmt: str, pins: PinProvider | None) -> bytes:
    """The public key `ref` names, as PEM or COSE_Key bytes (with kid)."""
    if fmt not in FORMATS:
        raise KeyReferenceError(f"unknown format {fmt!r}", hint="Use pem or cose.")
    public, kid = public_key_for(ref, pins)
    key_kind(public)  # refuses curves SUIT does not use
    if fmt == "cose":
        return encode_cose_key(public, kid)
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
