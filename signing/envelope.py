"""Adding authentication blocks to an envelope, one signer at a time.

M37 §8.3: auth[0] is the SUIT_Digest of the manifest, the COSE payload of every block,
carried detached (nil). Each signer adds a COSE_Sign1 (tag 18) or, for HMAC, a COSE_Mac0
(tag 17) whose protected header is {1: alg, 4: kid}. Several blocks may stand side by side
(RFC 9019 §7: author and device operator). The manifest bytes are never touched: only the
authentication wrapper is rebuilt.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import Enum

from signing.errors import BlockExists
from signing.signer import Signer, SignerIdentity
from suit import cbor
from suit.codec import encode_envelope
from suit.commands import encode_wrapped_digest
from suit.cose import (
    CoseHeader,
    CoseMac0,
    CoseSign,
    CoseSign1,
    SignatureAlgorithm,
    decode_authentication_block,
    encode_protected,
    mac_structure,
    sig_structure,
)
from suit.errors import DigestMismatch
from suit.model import AuthenticationBlock, Envelope
from suit.verify import manifest_digest_ok


class BlockPolicy(Enum):
    """What to do when the envelope already has a block for the signer's kid."""

    APPEND = "append"
    REPLACE = "replace"
    REFUSE = "refuse"


@dataclass(frozen=True)
class ToBeSigned:
    """The exact bytes a signer signs, and what is needed to build the block around them.

    Attributes:
        protected: The protected header bytes ({1: alg, 4: kid}).
        payload: The encoded SUIT_Digest (auth[0]), the detached COSE payload.
        data: The Sig_structure (RFC 9052 §4.4) or MAC_structure (§6.3).
        algorithm: The algorithm the header names.
    """

    protected: bytes
    payload: bytes
    data: bytes
    algorithm: SignatureAlgorithm


def to_be_signed(envelope: Envelope, algorithm: SignatureAlgorithm, kid: bytes) -> ToBeSigned:
    """The Sig_structure / MAC_structure a new block for (`algorithm`, `kid`) covers.

    Raises:
        DigestMismatch: auth[0] does not match the manifest, so no signature could verify.
    """
    stated, computed = manifest_digest_ok(envelope)
    if computed is not None and computed != stated.value:
        raise DigestMismatch("manifest", stated.value, computed)
    # The digest's bytes as received (its source), or its encoding if built in memory.
    payload = encode_wrapped_digest(envelope.authentication.digest)
    protected = encode_protected({CoseHeader.ALG: int(algorithm.algorithm), CoseHeader.KID: kid})
    if algorithm.family == "hmac":
        data = mac_structure("MAC0", protected, payload)
    else:
        data = sig_structure("Signature1", protected, payload)
    return ToBeSigned(protected, payload, data, algorithm)


def build_block(tbs: ToBeSigned, signature: bytes) -> bytes:
    """The tagged COSE_Sign1 or COSE_Mac0 carrying `signature`, payload detached."""
    if tbs.algorithm.family == "hmac":
        return CoseMac0(tbs.protected, {}, None, signature).encode()
    return CoseSign1(tbs.protected, {}, None, signature).encode()


def block_kids(block: AuthenticationBlock) -> list[bytes]:
    """The kids an existing block names (every signer's, for a COSE_Sign)."""
    message = block.message
    if isinstance(message, CoseSign):
        return [s.kid for s in message.signatures if s.kid is not None]
    kid = message.kid  # every COSE message has headers; kid may be absent or not bytes
    return [kid] if isinstance(kid, bytes) else []


def attach_block(envelope: Envelope, block: bytes, kid: bytes, policy: BlockPolicy) -> Envelope:
    """A copy of `envelope` with `block` added under `policy`; the manifest is untouched.

    Raises:
        BlockExists: a block for `kid` exists and the policy is refuse (or it sits inside
            a multi-signer COSE_Sign, which replace cannot split).
    """
    blocks = list(envelope.authentication.blocks)
    same = [b for b in blocks if kid in block_kids(b)]
    if same and policy is BlockPolicy.REFUSE:
        raise BlockExists(kid)
    if same and policy is BlockPolicy.REPLACE:
        if any(isinstance(b.message, CoseSign) for b in same):
            raise BlockExists(kid)
        blocks = [b for b in blocks if b not in same]
    # M37 §8.3: only COSE_Sign1, COSE_Sign, COSE_Mac0 or COSE_Mac may sit in the wrapper.
    message = decode_authentication_block(cbor.loads(block, path="new block"), "new block")
    blocks.append(AuthenticationBlock(message, block))
    wrapper = dataclasses.replace(envelope.authentication, blocks=tuple(blocks))
    return dataclasses.replace(envelope, authentication=wrapper)


@dataclass(frozen=True)
class SignedEnvelope:
    """The result of adding one signer's block.

    Attributes:
        data: The new envelope's bytes.
        block: The new block's bytes.
        tbs: What was signed.
        identity: Who signed.
    """

    data: bytes
    block: bytes
    tbs: ToBeSigned
    identity: SignerIdentity


def sign_envelope(envelope: Envelope, signer: Signer,
                  policy: BlockPolicy = BlockPolicy.REFUSE) -> SignedEnvelope:
    """Add `signer`'s block to `envelope`, checking the policy before anything is signed."""
    identity = signer.identity
    if policy is BlockPolicy.REFUSE and any(identity.kid in block_kids(b)
                                            for b in envelope.authentication.blocks):
        raise BlockExists(identity.kid)
    tbs = to_be_signed(envelope, identity.algorithm, identity.kid)
    block = build_block(tbs, signer.sign(tbs.data))
    signed = attach_block(envelope, block, identity.kid, policy)
    # Asked again after signing: a stateful signer names the state it signed under, which
    # the audit log then records (signing.hsslms); kid and algorithm never change.
    return SignedEnvelope(encode_envelope(signed), block, tbs, signer.identity)
