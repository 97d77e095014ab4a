"""External two-phase signing, for organisations that sign in a separate system.

Phase 1 exports the exact to-be-signed bytes (the COSE Sig_structure, RFC 9052 §4.4) for
a given public key and algorithm. Phase 2 imports the signature made elsewhere, as raw
r||s or DER for ECDSA, as the 64 raw bytes for EdDSA and as the FIPS 204 encoding for
ML-DSA, checks it against the public key, and only then attaches the block.

The algorithm travels with the exported bytes (`ToBeSigned.algorithm`, `signing_request`):
the external system must make exactly that signature. For ML-DSA that is pure ML-DSA over
the bytes as they are, with the empty context string (RFC 9964 §4), never HashML-DSA. HMAC cannot be checked without the secret, so external
signing is for signature algorithms only.
"""

from __future__ import annotations

from pathlib import Path

from signing.algorithms import SECRET, choose_algorithm, ecdsa_signature_size, key_kind
from signing.cose_key import thumbprint
from signing.envelope import (
    BlockPolicy,
    SignedEnvelope,
    ToBeSigned,
    attach_block,
    build_block,
    to_be_signed,
)
from signing.errors import ExternalSignatureInvalid, KeyFileError, WrongKeyType
from signing.files import read_key_file
from signing.signer import PublicKey, SignerIdentity
from suit import mldsa
from suit.codec import encode_envelope
from suit.cose import CoseAlgorithm, SignatureAlgorithm, algorithm_name, ecdsa_der_to_raw
from suit.errors import TrustAnchorError
from suit.keys import TrustAnchor
from suit.model import Envelope
from suit.verify import verify_signature


def external_identity(public_key: PublicKey, key_name: str,
                      algorithm: CoseAlgorithm | None = None, kid: bytes | None = None) -> SignerIdentity:
    """The identity of a signer whose private key lives elsewhere.

    Args:
        public_key: The public half of the external key.
        key_name: How the key is named (its file), for messages and the audit log.
        algorithm: The algorithm; default is the key's fully specified one.
        kid: The kid; default is the RFC 9679 thumbprint of `public_key`.
    """
    info = choose_algorithm(key_kind(public_key), algorithm, key_name)
    return SignerIdentity(info, kid if kid is not None else thumbprint(public_key), key_name,
                          public_key)


def load_public_key(path: Path) -> PublicKey:
    """A public key from a PEM (public, or private whose public half is taken) or COSE_Key
    file. HMAC secrets are refused: an external MAC cannot be checked here."""
    try:
        anchor = TrustAnchor.load(read_key_file(path), str(path))
    except TrustAnchorError as exc:
        raise KeyFileError(str(path), exc.message) from exc
    if anchor.public_key is None:
        raise WrongKeyType(str(path), SECRET, "external signing (needs a public key)")
    return anchor.public_key


def export_to_be_signed(envelope: Envelope, identity: SignerIdentity) -> ToBeSigned:
    """Phase 1: the bytes the external system must sign (`ToBeSigned.data`)."""
    return to_be_signed(envelope, identity.algorithm, identity.kid)


def import_signature(envelope: Envelope, identity: SignerIdentity, signature: bytes,
                     policy: BlockPolicy = BlockPolicy.REFUSE) -> SignedEnvelope:
    """Phase 2: check `signature` over the to-be-signed bytes and attach it.

    Raises:
        ExternalSignatureInvalid: the signature is malformed or does not verify; nothing
            is attached.
    """
    tbs = to_be_signed(envelope, identity.algorithm, identity.kid)
    raw = normalise_signature(signature, identity)
    anchor = TrustAnchor(identity.key_reference, public_key=identity.public_key)
    if not verify_signature(identity.algorithm.algorithm, anchor, tbs.data, raw):
        raise ExternalSignatureInvalid(
            f"the imported signature does not verify with {identity.key_reference} "
            f"({algorithm_name(identity.algorithm.algorithm)})")
    block = build_block(tbs, raw)
    signed = attach_block(envelope, block, identity.kid, policy)
    return SignedEnvelope(encode_envelope(signed), block, tbs, identity)


#: What an external signer must do for each family, said with the exported bytes.
_HOW: dict[str, str] = {
    "ecdsa": "ECDSA with {hash} over the bytes (raw r||s or DER)",
    "eddsa": "pure Ed25519 over the bytes (64 bytes)",
    "mldsa": "pure {name} over the bytes with the empty context, not HashML-DSA ({size} bytes)",
}


def signing_request(algorithm: SignatureAlgorithm) -> str:
    """One line telling the external signer what signature to make with `algorithm`."""
    name = algorithm_name(algorithm.algorithm)
    params = mldsa.BY_ALGORITHM.get(int(algorithm.algorithm))
    how = _HOW.get(algorithm.family, "{name}").format(
        hash=(algorithm.hash_name or "").upper(), name=name,
        size=params.signature_size if params else 0)
    return f"{name} ({int(algorithm.algorithm)}): {how}"


def normalise_signature(signature: bytes, identity: SignerIdentity) -> bytes:
    """Raw r||s for ECDSA (accepting DER from tools like OpenSSL); EdDSA unchanged; an
    ML-DSA signature checked for its parameter set's exact length."""
    key = identity.public_key
    params = mldsa.BY_ALGORITHM.get(int(identity.algorithm.algorithm))
    if params is not None and len(signature) != params.signature_size:
        raise ExternalSignatureInvalid(
            f"the imported signature is {len(signature)} bytes: {params.name} signatures "
            f"are {params.signature_size}")
    if identity.algorithm.family != "ecdsa" or key is None or isinstance(key, bytes):
        return signature
    size_bits = key.curve.key_size  # type: ignore[union-attr]
    if len(signature) == ecdsa_signature_size(size_bits):
        return signature
    try:
        return ecdsa_der_to_raw(signature, size_bits)
    except ValueError as exc:
        raise ExternalSignatureInvalid(
            f"the imported signature is {len(signature)} bytes: neither r||s of "
            f"{ecdsa_signature_size(size_bits)} bytes nor DER") from exc
