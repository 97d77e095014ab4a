"""Key management use cases over any key reference: inventory, generation, public export.

Public keys are exported as PEM (SubjectPublicKeyInfo) or as a COSE_Key carrying the kid
our signatures use, so a verifier can match blocks to keys. Private and secret keys are
refused before any bytes are read from them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signing import hsslms
from signing.algorithms import SECRET, key_kind
from signing.cose_key import thumbprint
from signing.errors import (
    ExportRefused,
    KeyNotFound,
    KeyReferenceError,
    PinIncorrect,
    PinLocked,
    PinUnavailable,
    WrongKeyType,
)
from signing.external import load_public_key
from signing.hsslms import is_hss_lms_file
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
from suit.hsslms import HssLmsPublicKey
from suit.keys import encode_cose_key

FORMATS: Final = ("pem", "cose")


@dataclass(frozen=True)
class TokenInventory:
    """A token and the keys visible on it (private ones only after login).

    Attributes:
        login_problem: Why logging in failed (wrong PIN...), in which case only the
            public keys are listed; None when not asked to log in or when it worked.
    """

    token: TokenInfo
    keys: tuple[KeyInfo, ...]
    logged_in: bool
    login_problem: str | None = None


def inventory(module: str, pins: PinProvider | None, *, token: str | None = None,
              login: bool = False) -> list[TokenInventory]:
    """Tokens of `module` (optionally only the one labelled `token`) with their keys.

    Each token has a PIN of its own, so a failed login on one is reported with that
    token and does not stop the listing.
    """
    lib = load_module(module)
    result = []
    for info in list_tokens(module):
        if token is None or info.label == token:
            uri = Pkcs11Uri({"token": info.label, "serial": info.serial}, module_path=module)
            result.append(_token_inventory(find_token(lib, uri), uri, info, pins, login))
    return result


def _token_inventory(token: object, uri: Pkcs11Uri, info: TokenInfo, pins: PinProvider | None,
                     login: bool) -> TokenInventory:
    problem = None
    try:
        session = open_session(token, uri, pins, login=login)
    except (PinIncorrect, PinLocked, PinUnavailable) as exc:
        problem, login = str(exc), False
        session = open_session(token, uri, pins, login=False)
    try:
        return TokenInventory(info, tuple(list_keys(session)), login, problem)
    finally:
        close_quietly(session)


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
        if is_hss_lms_file(ref.path):  # a stateful private key: its public half is exported
            public_hss = hsslms.load(ref.path).public_key
            return public_hss, thumbprint(public_hss)
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
    if isinstance(public, HssLmsPublicKey):
        raise KeyReferenceError("HSS-LMS public keys are exported as COSE_Key only",
                                hint="Add --format cose.")
    return public.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
