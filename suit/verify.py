"""Verification of SUIT envelopes (M37 §6.2, §8.3, §8.4.12; TD §5.2.2).

`check_envelope` examines everything and reports (the inspector shows badges from it);
`verify_envelope` does the same and raises the first reason the envelope must be refused.
An envelope is authentic and intact when the manifest digest matches, at least one
authentication block verifies with a trust anchor, every severed member present matches its
digest, and every integrated payload or dependency matches the digest the manifest gives.

That is the default policy (`VerificationPolicy.ANY`). `VerificationPolicy.ALL` (`suitwb
verify --require all`, a device's configured policy) also demands that every trust anchor
verifies some block: a hybrid envelope signed by a classical and a post-quantum key stays
authentic only while both signatures are there (issue 16).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from functools import cache
from typing import Any, Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from suit import digest as digests
from suit.cbor import bstr_head
from suit.codec import (
    decode_dependency,
    decode_envelope,
    encode_manifest,
    member_name,
)
from suit.cose import (
    CoseMac,
    CoseMac0,
    CoseSign,
    CoseSign1,
    algorithm_name,
    ecdsa_raw_to_der,
    mac_structure,
    sig_structure,
    signature_algorithm,
)
from suit.errors import (
    DecodeError,
    DependencyNotAuthentic,
    DigestMismatch,
    ManifestError,
    NestingTooDeep,
    NoAuthenticationBlock,
    SignatureInvalid,
    SignatureMissing,
    UncoveredMember,
    UnsupportedAlgorithm,
)
from suit.frozen import quick_init
from suit.keys import TrustAnchor
from suit.model import (
    SEVERABLE_ATTRIBUTES,
    AuthenticationBlock,
    Digest,
    Envelope,
    Manifest,
)

# RFC 9053 §2.1: r||s, each as long as the curve's order (the anchor's curve is the
# algorithm's, checked before).
_RAW_ECDSA_SIZES: Final = {"P-256": 64, "P-384": 96}
_HASHES: Final = {"sha256": hashes.SHA256, "sha384": hashes.SHA384}


class VerificationPolicy(Enum):
    """Which trust anchors must verify for an envelope to be authentic.

    ``any``: at least one block verifies with one anchor (M37 §8.3, the default).
    ``all``: besides, every anchor given verifies at least one block.
    """

    ANY = "any"
    ALL = "all"


@quick_init
@dataclass(frozen=True)
class BlockResult:
    """The outcome for one authentication block.

    Attributes:
        index: Position in the authentication wrapper (1-based, as auth[0] is the digest).
        kind: ``COSE_Sign1``, ``COSE_Sign``, ``COSE_Mac0`` or ``COSE_Mac``.
        algorithm: The COSE algorithm id (of the first signer for COSE_Sign).
        kid: The kid header, if any.
        verified_by: The name of the trust anchor that verified it, or None.
        reason: Why it did not verify, or "".
        anchor_index: The position of that anchor among those given, or None (names
            need not be unique; policy ``all`` counts anchors by position).
    """

    index: int
    kind: str
    algorithm: object
    kid: bytes | None
    verified_by: str | None
    reason: str = ""
    anchor_index: int | None = None


@quick_init
@dataclass(frozen=True)
class MemberResult:
    """A severed member or an integrated payload: present, and whether its digest matches."""

    present: bool
    digest_ok: bool | None  # None when absent or when no digest covers it
    stated: bytes = b""
    computed: bytes = b""
    reason: str = ""


@quick_init
@dataclass(frozen=True)
class VerificationReport:
    """Everything `check_envelope` found."""

    manifest_digest: Digest
    computed_digest: bytes | None
    blocks: tuple[BlockResult, ...]
    severable: dict[str, MemberResult] = field(default_factory=dict)
    integrated: dict[str, MemberResult] = field(default_factory=dict)

    @property
    def digest_ok(self) -> bool:
        return self.computed_digest is not None and hmac.compare_digest(
            self.computed_digest, self.manifest_digest.value)

    @property
    def authentic(self) -> bool:
        return any(b.verified_by for b in self.blocks)

    @property
    def uncovered(self) -> tuple[str, ...]:
        """Envelope members no digest covers: unknown members, integrated payloads the
        manifest gives no digest for. Policy: everything an envelope carries must be
        authenticated, so these make it fail verification (they are still decoded and shown)."""
        if not self.integrated:
            return self.extensions  # the usual case, without a generator
        return tuple(name for name, m in self.integrated.items() if m.digest_ok is None) + self.extensions

    extensions: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Authentic and intact: the envelope may be processed."""
        members = [*self.severable.values(), *self.integrated.values()]
        return (self.digest_ok and self.authentic and not self.uncovered
                and all(m.digest_ok is not False for m in members))


def manifest_digest_ok(envelope: Envelope) -> tuple[Digest, bytes | None]:
    """The stated manifest digest and the one computed over the bstr-wrapped manifest.

    M37 §8.3: the digest covers the whole bstr encoding under envelope key 3, header
    included (the vectors settle this; INDEX.md note 2).
    """
    stated = envelope.authentication.digest
    try:
        computed = digests.compute(stated.algorithm, manifest_bstr(envelope.manifest))
    except UnsupportedAlgorithm:
        computed = None
    return stated, computed


def manifest_bstr(manifest: Manifest) -> bytes:
    """The manifest as it stands in the envelope: a bstr header, then the manifest bytes."""
    body = encode_manifest(manifest)
    return bstr_head(len(body)) + body


def check_envelope(envelope: Envelope, anchors: Sequence[TrustAnchor]) -> VerificationReport:
    """Examine an envelope fully and report; raises only for what cannot be examined."""
    stated, computed = manifest_digest_ok(envelope)
    payload = envelope.authentication.digest.source or b""
    blocks = tuple([_check_block(i, block, payload, anchors)
                    for i, block in enumerate(envelope.authentication.blocks, start=1)])
    return VerificationReport(stated, computed, blocks, _check_severed(envelope),
                              _check_integrated(envelope, anchors),
                              tuple(map(str, envelope.extensions)))


def verify_envelope(envelope: Envelope | bytes, anchors: Sequence[TrustAnchor],
                    policy: VerificationPolicy = VerificationPolicy.ANY) -> VerificationReport:
    """Verify an envelope; return the report, or raise why it must be refused.

    Raises:
        DecodeError: malformed bytes.
        NoAuthenticationBlock: no signature or MAC at all (M37 §8.3).
        DigestMismatch: manifest, severed member or integrated payload altered.
        SignatureInvalid: no block verifies with any anchor.
        SignatureMissing: policy ``all`` and some anchor verifies no block.
        UnsupportedAlgorithm: the manifest digest algorithm is unknown.
    """
    if isinstance(envelope, (bytes, bytearray)):
        envelope = decode_envelope(bytes(envelope))
    if not envelope.authentication.blocks:
        raise NoAuthenticationBlock()
    report = check_envelope(envelope, anchors)
    if report.computed_digest is None:
        raise UnsupportedAlgorithm("digest", report.manifest_digest.algorithm)
    if not report.digest_ok:
        raise DigestMismatch("manifest", report.manifest_digest.value, report.computed_digest)
    if not report.authentic:
        raise SignatureInvalid([f"block {b.index} ({b.kind}): {b.reason}" for b in report.blocks])
    if policy is VerificationPolicy.ALL:
        missing = unsatisfied_anchors(envelope, report, anchors)
        if missing:
            raise SignatureMissing([anchor.name for anchor in missing])
    for group in (report.severable, report.integrated):
        for name, member in group.items():
            if member.digest_ok is False:
                if member.stated and member.stated == member.computed:
                    raise DependencyNotAuthentic(name, member.reason)
                raise DigestMismatch(name, member.stated, member.computed)
    if report.uncovered:
        raise UncoveredMember(report.uncovered[0])
    return report


# --- authentication blocks ---------------------------------------------------------------

_KINDS: Final = {CoseSign1: "COSE_Sign1", CoseSign: "COSE_Sign", CoseMac0: "COSE_Mac0",
                 CoseMac: "COSE_Mac"}


def _check_block(index: int, block: AuthenticationBlock, payload: bytes,
                 anchors: Sequence[TrustAnchor]) -> BlockResult:
    message = block.message
    kind = _KINDS.get(type(message)) or type(message).__name__.replace("Cose", "COSE_")
    if isinstance(message, CoseSign):
        algorithm, kid = message.signatures[0].algorithm, message.signatures[0].kid
    else:
        algorithm, kid = message.algorithm, message.kid
    if message.payload is not None and message.payload != payload:
        return BlockResult(index, kind, algorithm, kid, None, "payload is not the manifest digest")
    reasons: list[str] = []
    for position, anchor in enumerate(anchors):
        try:
            if _verify_message(message, payload, anchor):
                return BlockResult(index, kind, algorithm, kid, anchor.name,
                                   anchor_index=position)
            reasons.append(f"{anchor.name}: does not verify")
        except ManifestError as exc:
            reasons.append(f"{anchor.name}: {exc}")
    return BlockResult(index, kind, algorithm, kid, None,
                       "; ".join(reasons) or "no trust anchor given")


def unsatisfied_anchors(envelope: Envelope, report: VerificationReport,
                        anchors: Sequence[TrustAnchor]) -> list[TrustAnchor]:
    """The anchors that verify no block of `envelope` (policy ``all``).

    An anchor that verified some block in `report` (by position: names may repeat) is
    satisfied; any other is tried against every block, since a block verified by one
    anchor (or a COSE_Sign with several signers) may verify with another too.
    """
    used = {b.anchor_index for b in report.blocks if b.anchor_index is not None}
    payload = envelope.authentication.digest.source or b""
    return [anchor for position, anchor in enumerate(anchors)
            if position not in used and not _verifies_any(envelope, payload, anchor)]


def _verifies_any(envelope: Envelope, payload: bytes, anchor: TrustAnchor) -> bool:
    for block in envelope.authentication.blocks:
        message = block.message
        if message.payload is not None and message.payload != payload:
            continue
        try:
            if _verify_message(message, payload, anchor):
                return True
        except ManifestError:
            continue
    return False


def _verify_message(message: object, payload: bytes, anchor: TrustAnchor) -> bool:
    if isinstance(message, CoseSign1):
        tbs = sig_structure("Signature1", message.protected, payload)
        return verify_signature(message.algorithm, anchor, tbs, message.signature)
    if isinstance(message, CoseSign):
        return any(verify_signature(s.algorithm, anchor,
                                    sig_structure("Signature", message.protected, payload,
                                                  sign_protected=s.protected), s.signature)
                   for s in message.signatures)
    if isinstance(message, CoseMac0):
        tbm = mac_structure("MAC0", message.protected, payload)
        return verify_mac(message.algorithm, anchor, tbm, message.tag)
    raise UnsupportedAlgorithm("authentication block", type(message).__name__)


def verify_signature(alg: object, anchor: TrustAnchor, tbs: bytes, signature: bytes) -> bool:
    """Verify a COSE signature (raw r||s for ECDSA, FIPS 204 encoding for ML-DSA) over
    `tbs` with a trust anchor.

    Returns False for a wrong signature or a key that cannot make this algorithm's
    signatures (a P-384 key for ESP256, a secret for a signature).
    """
    info = signature_algorithm(alg)
    # The anchor's curve is the algorithm's (checked below): an EdDSA algorithm means an
    # Ed25519 key, an ECDSA one an EC key, known without an ABC instance check or a cast.
    key: Any = anchor.public_key
    if info.family == "hmac" or key is None or anchor.curve != info.curve:
        return False
    if info.family == "hss-lms":  # RFC 8778 §2: the signature is the HSS signature itself
        from suit.hsslms import verify_hss  # only here: other verifications start without it
        return verify_hss(key, tbs, signature)
    try:
        if info.family == "mldsa":
            from suit import mldsa  # only here: other verifications start without it
            return mldsa.verify(key, signature, tbs)  # RFC 9964 §4: pure, empty context
        if info.family == "eddsa":
            key.verify(signature, tbs)
        else:
            if len(signature) != _RAW_ECDSA_SIZES.get(info.curve or ""):
                return False
            key.verify(ecdsa_raw_to_der(signature), tbs, _ecdsa(info.hash_name or "sha256"))
    except (InvalidSignature, ValueError):
        return False
    return True


class _ECDSAVerification(ec.ECDSA):
    """ECDSA parameters for verifying. `ec.ECDSA()` imports OpenSSL's whole backend, ciphers
    included (about 12 ms, a seventh of `suitwb verify`'s start-up), only to check that
    deterministic signing is available; verification never signs, so this skips the check
    and answers the two properties `ec.ECDSA` has."""

    def __init__(self, algorithm: hashes.HashAlgorithm) -> None:  # no super(): see above
        self._hash = algorithm

    @property
    def algorithm(self) -> hashes.HashAlgorithm:
        return self._hash

    @property
    def deterministic_signing(self) -> bool:
        return False


@cache
def _ecdsa(hash_name: str) -> ec.ECDSA:
    """One ECDSA parameter object per hash, made on first use (it holds no state)."""
    return _ECDSAVerification(_HASHES[hash_name]())


def verify_mac(alg: object, anchor: TrustAnchor, tbm: bytes, tag: bytes) -> bool:
    """Verify a COSE MAC tag (HMAC 256/256) in constant time."""
    info = signature_algorithm(alg)
    if info.family != "hmac" or anchor.secret is None or info.hash_name is None:
        return False
    return hmac.compare_digest(hmac.new(anchor.secret, tbm, info.hash_name).digest(), tag)


# --- severed members and integrated payloads ----------------------------------------------

def _check_severed(envelope: Envelope) -> dict[str, MemberResult]:
    """M37 §8.4.12: a severed member present in the envelope must match its digest."""
    results: dict[str, MemberResult] = {}
    manifest, severed = envelope.manifest, envelope.severed
    for key, attr, name in _SEVERABLE_MEMBERS:
        stated = getattr(manifest, attr)
        raw = severed.get(key)
        if isinstance(stated, Digest):
            results[name] = _ABSENT if raw is None else _member(stated, bstr_head(len(raw)) + raw)
        elif raw is not None:  # carried in the envelope but not severed in the manifest
            results[name] = _NOT_SEVERED
    return results


#: (envelope key, manifest attribute, report name) of every severable member, in the
#: report's order, worked out once rather than per verification.
_SEVERABLE_MEMBERS: Final = tuple((int(key), attr, member_name(key))
                                  for key, attr in SEVERABLE_ATTRIBUTES.items())
# The two results that carry nothing of the envelope, shared (they are frozen).
_ABSENT: Final = MemberResult(False, None)
_NOT_SEVERED: Final = MemberResult(True, False, reason="not severed in the manifest")


def _member(stated: Digest, data: bytes) -> MemberResult:
    try:
        computed = digests.compute(stated.algorithm, data)
    except UnsupportedAlgorithm:
        return MemberResult(True, False, stated.value, reason="unsupported digest algorithm")
    return MemberResult(True, hmac.compare_digest(computed, stated.value), stated.value, computed)


def _check_integrated(envelope: Envelope, anchors: Sequence[TrustAnchor]) -> dict[str, MemberResult]:
    """Integrated payloads and dependencies against the digests the manifest gives them.

    TD §5.2.2: a dependency's digest is its manifest digest, not a digest of its envelope,
    and an integrated dependency must itself be authentic.
    """
    if not envelope.integrated:
        return {}  # nothing to check, and walking the sequences for fetches costs
    from suit.payloads import integrated_digests  # only here: verify starts without it
    stated = integrated_digests(envelope)
    results: dict[str, MemberResult] = {}
    for key, data in envelope.integrated.items():
        digest = stated.get(key)
        if digest is None:
            results[key] = MemberResult(True, None, reason="no digest in the manifest")
            continue
        result = _member(digest, data)
        if not result.digest_ok:
            result = _dependency_member(envelope, key, digest, anchors) or result
        results[key] = result
    return results


def _dependency_member(envelope: Envelope, key: str, digest: Digest,
                       anchors: Sequence[TrustAnchor]) -> MemberResult | None:
    """The integrated member as a dependency envelope, or None if it is not one.

    Raises:
        NestingTooDeep: dependencies integrate dependencies beyond the decoder's bound.
    """
    try:
        dependency = decode_dependency(envelope, key)
    except NestingTooDeep:
        raise  # a nesting bomb is malformed input, not a mere digest mismatch
    except DecodeError:
        return None
    result = _member(digest, manifest_bstr(dependency.manifest))
    if result.digest_ok:
        report = check_envelope(dependency, anchors)
        if not (report.ok and dependency.authentication.blocks):
            return MemberResult(True, False, result.stated, result.computed,
                                reason="integrated dependency is not authentic")
    return result


def describe_algorithm(alg: object) -> str:
    """A COSE algorithm id for people: ``ESP256 (-9)``."""
    return f"{algorithm_name(alg)} ({alg})"
