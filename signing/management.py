"""Key management use cases over any key reference: inventory, generation, public export.

Public keys are exported as PEM (SubjectPublicKeyInfo) or as a COSE_Key carrying the kid
our signatures use, so a verifier can match blocks to keys. Private and secret keys are
refused before any bytes are read from them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, x25519
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from signing import hsslms
from signing.algorithms import (
    DEFAULT_ALGORITHM,
    ED25519,
    HSS_LMS,
    ML_DSA_KINDS,
    P256,
    P384,
    SECRET,
    key_kind,
)
from signing.cose_key import secret_thumbprint, thumbprint
from signing.errors import (
    ExportRefused,
    KeyFileError,
    KeyNotFound,
    KeyReferenceError,
    PinIncorrect,
    PinLocked,
    PinUnavailable,
    WrongKeyType,
)
from signing.external import load_public_key
from signing.files import check_output, read_key_file, write_atomic
from signing.hsslms import is_hss_lms_file
from signing.keyref import FileKeyRef, KeyRef, Pkcs11Uri
from signing.pin import PinProvider
from signing.recipients import KEK_KINDS
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
from suit import cbor, mldsa
from suit.cose import CoseAlgorithm, algorithm_name
from suit.errors import ManifestError
from suit.hsslms import HssLmsPublicKey
from suit.keys import ALG, KID, KTY, KTY_SYMMETRIC, K, encode_cose_key

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
    if kind in ML_DSA_KINDS:  # PKCS#11 3.2's CKM_ML_DSA is in no token this tool drives yet
        raise KeyReferenceError(f"{kind} keys cannot be generated in a PKCS#11 token here",
                                hint=f"Make a software key: keys generate -o FILE --type {kind.lower()}.")
    if uri.object_type not in (None, "private", "secret-key"):
        raise KeyReferenceError("type= of a key to generate must be private or secret-key")
    with token_session(uri, pins, rw=True) as session:
        return generate_key(session, uri, kind)


#: Key kinds a software key file can be generated for (secrets come from a token or a KMS).
FILE_KINDS: Final = (P256, P384, ED25519, *ML_DSA_KINDS)


def parse_kind(text: str) -> str:
    """``ml-dsa-65``, ``p-256``, ``ed25519`` (any case) -> the key kind.

    Raises:
        KeyReferenceError: not a kind a key file can be generated for.
    """
    found = {kind.upper(): kind for kind in FILE_KINDS}.get(text.strip().upper().replace("_", "-"))
    if found is None:
        raise KeyReferenceError(f"unknown key type {text!r}",
                                hint="Use one of " + ", ".join(k.lower() for k in FILE_KINDS) + ".")
    return found


def _check_new_key_file(path: Path) -> None:
    """Refuse to write a key over anything at `path` (even a dangling link: it would
    be followed) and check the folder can take the new file.

    Raises:
        KeyFileError: `path` exists (a key is never overwritten).
        OutputError: the folder is missing or not writable.
    """
    if path.exists() or path.is_symlink():
        raise KeyFileError(str(path), "exists; a key file is never overwritten",
                           hint="Choose a new file name, or remove the old key first.")
    check_output(path)


def generate_file_key(path: Path, kind: str) -> tuple[PublicKey, bytes]:
    """Generate a software key of `kind` into a new PKCS#8 PEM file readable by its owner
    only (0600), and return its public key and kid (RFC 9679 thumbprint).

    The file is written unencrypted: protect it with `openssl pkcs8 -topk8 -v2 aes256`
    if it must rest encrypted (the signer then asks for the passphrase).

    Raises:
        KeyFileError: `path` exists (a key is never overwritten).
        OutputError: the folder is missing or not writable.
    """
    _check_new_key_file(path)
    if kind == SECRET:  # a MAC secret has no public half: generate_secret_file writes it
        raise KeyFileError(str(path), "an HMAC secret is not a PEM key pair",
                           hint="Use `suitwb keys generate -o FILE --alg HMAC-256-256`, "
                                "which writes a COSE_Key secret file.")
    key = _new_private_key(kind)
    pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    write_atomic(path, pem, mode=0o600)
    public = key.public_key()
    return public, thumbprint(public)


def generate_secret_file(path: Path) -> bytes:
    """Generate a 256-bit HMAC 256/256 secret into a new COSE_Key file (kty Symmetric,
    RFC 9053 §7.3; mode 0600) and return its kid (RFC 9679 thumbprint), which the file
    carries too, so a MAC made with it names the secret a verifier holds.

    Raises:
        KeyFileError: `path` exists (a key is never overwritten).
        OutputError: the folder is missing or not writable.
    """
    _check_new_key_file(path)
    secret = os.urandom(32)  # RFC 9053 §3.1: the key is as long as the HMAC 256 output
    kid = secret_thumbprint(secret)
    write_atomic(path, cbor.dumps({KTY: KTY_SYMMETRIC, KID: kid, K: secret}), mode=0o600)
    return kid


@dataclass(frozen=True)
class KeyFileInfo:
    """What a key file holds, for lists (the GUI's key manager and signer steps).

    Attributes:
        path: The file.
        kind: ``P-256``, ``Ed25519``, ``ML-DSA-65``...
        algorithm: The COSE algorithm the key signs with by default (``ML-DSA-65``).
        kid: The kid its signatures carry (RFC 9679 thumbprint).
    """

    path: Path
    kind: str
    algorithm: str
    kid: bytes


def describe_key_file(path: Path) -> KeyFileInfo:
    """Kind, default algorithm and kid of a private or public key file (never asks for a
    passphrase: an encrypted private key is refused here like a secret).

    Raises:
        KeyFileError: missing, unreadable, encrypted, or not a key.
        WrongKeyType: a secret, or a key SUIT does not use.
    """
    recipient = _recipient_key_file(path)
    if recipient is not None:
        return recipient
    public = load_public_key(path)
    kind = key_kind(public)
    return KeyFileInfo(path, kind, algorithm_name(DEFAULT_ALGORITHM[kind]), thumbprint(public))


ECDH_ES_A128KW: Final = CoseAlgorithm.ECDH_ES_A128KW


def _recipient_key_file(path: Path) -> KeyFileInfo | None:
    """A recipient key of encrypted payloads (FE §5), as `keys generate --alg X25519|A128KW|
    A256KW` writes them: an X25519 device key (PEM, either half) or a key-encryption key
    (COSE_Key with an AES-KW alg). None for anything else (a P-256 device key is also a
    signing key, and is described as one)."""
    try:
        data = read_key_file(path)
    except KeyFileError:
        return None  # the general loader reports the file's problem
    if b"-----BEGIN" in data:
        key: object = None
        try:
            key = serialization.load_pem_private_key(data, None) if b"PRIVATE KEY" in data \
                else serialization.load_pem_public_key(data)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            return None
        if isinstance(key, x25519.X25519PrivateKey | x25519.X25519PublicKey):
            return KeyFileInfo(path, "X25519 recipient", algorithm_name(ECDH_ES_A128KW), b"")
        return None
    try:
        cose_key = cbor.loads(data, path=str(path))
    except ManifestError:
        return None
    if isinstance(cose_key, dict) and cose_key.get(KTY) == KTY_SYMMETRIC \
            and cose_key.get(ALG) in KEK_KINDS.values():
        kid = cose_key.get(KID)
        alg = algorithm_name(cose_key[ALG])
        return KeyFileInfo(path, f"{alg} key-encryption key", alg,
                           kid if isinstance(kid, bytes) else b"")
    return None


def key_file_algorithm(path: Path) -> str:
    """The algorithm a signing key file signs with by default (``ESP256``, ``HSS-LMS``,
    ``HMAC-256-256``...), for the private files `describe_key_file` does not read: an
    HSS-LMS state file, or a COSE_Key secret (whose secret is never shown).

    Raises:
        KeyFileError: missing, unreadable, encrypted, or not a key.
        WrongKeyType: a key SUIT does not use.
    """
    if is_hss_lms_file(path):
        return algorithm_name(DEFAULT_ALGORITHM[HSS_LMS])
    try:
        return describe_key_file(path).algorithm
    except WrongKeyType as exc:
        if exc.key_type != SECRET:
            raise
        return algorithm_name(DEFAULT_ALGORITHM[SECRET])


def _new_private_key(kind: str) -> ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey \
        | mldsa.MLDSAPrivateKey:
    if kind in mldsa.BY_NAME:
        return mldsa.generate(kind)
    if kind == ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    return ec.generate_private_key(ec.SECP256R1() if kind == P256 else ec.SECP384R1())


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
