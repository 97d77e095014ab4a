"""Software keys: PEM private keys (optionally passphrase-protected) and COSE_Key secrets.

ML-DSA private keys are PKCS#8 PEM too; they sign pure ML-DSA with the empty context
(RFC 9964 §4), which is what `cryptography`'s ``sign(data)`` does.

For teams that start without an HSM. The passphrase comes through a `PinProvider` (or
SUITWB_PIN in CI) and is dropped once the key is loaded.
"""

from __future__ import annotations

import hmac

from cryptography.exceptions import UnsupportedAlgorithm as CryptoUnsupported
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, mldsa

from signing.algorithms import SECRET, choose_algorithm, key_kind
from signing.cose_key import secret_thumbprint, thumbprint
from signing.errors import KeyFileError, PinIncorrect
from signing.files import read_key_file
from signing.keyref import FileKeyRef
from signing.pin import PinProvider, PinRequest, resolve_pin
from signing.signer import SignerIdentity
from suit import cbor
from suit.cose import CoseAlgorithm, ecdsa_der_to_raw
from suit.errors import DecodeError
from suit.keys import KID, KTY, KTY_SYMMETRIC, K
from suit.mldsa import MLDSAPrivateKey

PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey | MLDSAPrivateKey
_HASHES = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


class SoftwareSigner:
    """Signs with a private key or HMAC secret held in this process's memory."""

    def __init__(self, key: PrivateKey | bytes, identity: SignerIdentity) -> None:
        self._key: PrivateKey | bytes | None = key
        self._identity = identity

    @property
    def identity(self) -> SignerIdentity:
        """See `Signer.identity`."""
        return self._identity

    def sign(self, tbs: bytes) -> bytes:
        """See `Signer.sign`."""
        key, alg = self._key, self._identity.algorithm
        if key is None:
            raise KeyFileError(self._identity.key_reference, "the signer was closed")
        if isinstance(key, bytes):
            return hmac.new(key, tbs, str(alg.hash_name)).digest()
        if not isinstance(key, ec.EllipticCurvePrivateKey):  # EdDSA, or pure ML-DSA
            return key.sign(tbs)
        der = key.sign(tbs, ec.ECDSA(_HASHES[str(alg.hash_name)]()))
        return ecdsa_der_to_raw(der, key.curve.key_size)

    def close(self) -> None:
        """Drop the reference to the key material."""
        self._key = None

    def __repr__(self) -> str:
        return f"SoftwareSigner({self._identity.key_reference!r})"


def open_software_signer(ref: FileKeyRef, algorithm: CoseAlgorithm | None = None,
                         pins: PinProvider | None = None) -> SoftwareSigner:
    """Load the key file `ref` and make a signer for `algorithm` (default: the key's).

    Raises:
        KeyFileError: missing or unsupported file. PinIncorrect: wrong passphrase.
        WrongKeyType: a key that cannot make `algorithm`.
    """
    data = read_key_file(ref.path)
    name = ref.redacted()
    if data.lstrip().startswith(b"-----BEGIN"):
        key = load_pem_private_key(data, name, pins)
        info = choose_algorithm(key_kind(key), algorithm, name)
        public = key.public_key()
        return SoftwareSigner(key, SignerIdentity(info, thumbprint(public), name, public))
    secret, kid = _load_cose_secret(data, name)
    info = choose_algorithm(SECRET, algorithm, name)
    return SoftwareSigner(secret, SignerIdentity(info, kid, name, None))


def load_pem_private_key(data: bytes, name: str, pins: PinProvider | None) -> PrivateKey:
    """Load a PEM private key, asking for a passphrase only when it is encrypted."""
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:  # cryptography: "Password was not given but private key is encrypted"
        passphrase = resolve_pin(PinRequest("key passphrase", name), pins)
        key = _load_encrypted(data, name, passphrase)
    except (ValueError, CryptoUnsupported) as exc:
        raise KeyFileError(name, "not a PEM private key this tool can use") from exc
    if not isinstance(key, (ec.EllipticCurvePrivateKey, ed25519.Ed25519PrivateKey,
                            mldsa.MLDSA44PrivateKey, mldsa.MLDSA65PrivateKey,
                            mldsa.MLDSA87PrivateKey)):
        raise KeyFileError(name, f"a {type(key).__name__} cannot sign SUIT envelopes")
    return key


def _load_encrypted(data: bytes, name: str, passphrase: str) -> PrivateKey:
    try:
        return serialization.load_pem_private_key(  # type: ignore[return-value]
            data, password=passphrase.encode("utf-8"))
    except ValueError:
        # Raised without the cause: nothing about the passphrase leaves this function.
        raise PinIncorrect(name) from None


def _load_cose_secret(data: bytes, name: str) -> tuple[bytes, bytes]:
    """A COSE_Key with kty Symmetric (RFC 9053 §7.3): the secret and its kid."""
    try:
        key = cbor.loads(data, path=name, max_size=4096)
    except DecodeError as exc:
        raise KeyFileError(name, "neither a PEM key nor a COSE_Key") from exc
    if not isinstance(key, dict) or key.get(KTY) != KTY_SYMMETRIC \
            or not isinstance(key.get(K), bytes) or not key[K]:
        raise KeyFileError(name, "a COSE_Key that is not a symmetric secret (kty 4 with k)")
    kid = key.get(KID)
    return key[K], kid if isinstance(kid, bytes) and kid else secret_thumbprint(key[K])
