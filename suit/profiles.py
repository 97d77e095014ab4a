"""The COSE SUIT Algorithm Profiles (draft-ietf-suit-mti-23 §3, IANA registry "COSE SUIT
Algorithm Profiles", created 2025-07-24).

A profile fixes the four algorithms an author uses together: the manifest digest, the
authentication (signature or MAC), the key distribution of the content-encryption key, and
the content encryption. All six registered profiles are MANDATORY for manifest authors.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from suit.cose import CoseAlgorithm
from suit.errors import ManifestError

SHA256: Final = -16  # M37 §10 SUIT_Digest algorithm id (COSE SHA-256)


class UnknownProfile(ManifestError):
    """A profile name that is not in the registry.

    Attributes:
        name: The name given.
    """

    def __init__(self, name: str) -> None:
        super().__init__(f"unknown algorithm profile {name!r}",
                         hint="Use one of " + ", ".join(PROFILES) + ".")
        self.name = name


@dataclass(frozen=True)
class Profile:
    """One registered profile: its descriptor array ``[digest, auth, kex, enc]``.

    Attributes:
        name: The registered name (``suit-sha256-esp256-ecdh-a128gcm``).
        digest: The SUIT_Digest algorithm (-16, SHA-256, for every MTI profile).
        auth: The COSE signature or MAC algorithm of the authentication block.
        key_exchange: How the content key reaches a recipient (A128KW, A256KW, ECDH-ES+A128KW).
        encryption: The content-encryption algorithm (AES-CTR, AES-GCM, ChaCha20/Poly1305).
        section: Where the draft defines it.
    """

    name: str
    digest: int
    auth: CoseAlgorithm
    key_exchange: CoseAlgorithm
    encryption: CoseAlgorithm
    section: str

    @property
    def descriptor(self) -> tuple[int, int, int, int]:
        """The registry's descriptor array."""
        return (self.digest, int(self.auth), int(self.key_exchange), int(self.encryption))

    @property
    def ecdh_curve(self) -> str | None:
        """The curve of a recipient's device key: X25519 with an Ed25519 profile (MTI §3.3,
        §3.5), P-256 with an ESP256 one; None when the key exchange is AES-KW."""
        if self.key_exchange != CoseAlgorithm.ECDH_ES_A128KW:
            return None
        return "X25519" if self.auth == CoseAlgorithm.ED25519 else "P-256"


_A = CoseAlgorithm
#: The registry, in its order (MTI §3.1–§3.6).
PROFILES: Final[dict[str, Profile]] = {p.name: p for p in (
    Profile("suit-sha256-hmac-a128kw-a128ctr", SHA256, _A.HMAC_256_256, _A.A128KW, _A.A128CTR,
            "MTI §3.1"),
    Profile("suit-sha256-esp256-ecdh-a128ctr", SHA256, _A.ESP256, _A.ECDH_ES_A128KW, _A.A128CTR,
            "MTI §3.2"),
    Profile("suit-sha256-ed25519-ecdh-a128ctr", SHA256, _A.ED25519, _A.ECDH_ES_A128KW, _A.A128CTR,
            "MTI §3.3"),
    Profile("suit-sha256-esp256-ecdh-a128gcm", SHA256, _A.ESP256, _A.ECDH_ES_A128KW, _A.A128GCM,
            "MTI §3.4"),
    Profile("suit-sha256-ed25519-ecdh-chacha-poly", SHA256, _A.ED25519, _A.ECDH_ES_A128KW,
            _A.CHACHA20_POLY1305, "MTI §3.5"),
    Profile("suit-sha256-hsslms-a256kw-a256ctr", SHA256, _A.HSS_LMS, _A.A256KW, _A.A256CTR,
            "MTI §3.6"),
)}

#: RFC 9864 deprecates the polymorphic ids; the fully specified one to use instead.
FULLY_SPECIFIED: Final = {CoseAlgorithm.ES256: CoseAlgorithm.ESP256,
                          CoseAlgorithm.EDDSA: CoseAlgorithm.ED25519}


def profile(name: str) -> Profile:
    """The registered profile called `name`.

    Raises:
        UnknownProfile: not a registered name.
    """
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(name) from None


@dataclass(frozen=True)
class AlgorithmsUsed:
    """The algorithms a manifest (or project) uses, each kind as a set (empty: none).

    Attributes:
        digests: SUIT_Digest algorithms (manifest digest, image digests).
        auth: Signature and MAC algorithms of the authentication blocks.
        key_exchange: Recipient algorithms of every encryption info.
        encryption: Content-encryption algorithms of every encryption info.
    """

    digests: frozenset[int] = frozenset()
    auth: frozenset[int] = frozenset()
    key_exchange: frozenset[int] = frozenset()
    encryption: frozenset[int] = frozenset()


def matching_profiles(used: AlgorithmsUsed) -> list[Profile]:
    """The profiles every used algorithm fits (an unused kind fits any profile).

    MTI §3: a profile is chosen as a whole, so a manifest whose algorithms are not all
    those of one profile mixes profiles (or uses none), which a recipient implementing
    only the MTI profiles may not process.
    """
    return [p for p in PROFILES.values() if _fits(used, p)]


def _fits(used: AlgorithmsUsed, p: Profile) -> bool:
    return (_subset(used.digests, (p.digest,)) and _subset(used.auth, (p.auth,))
            and _subset(used.key_exchange, (p.key_exchange,))
            and _subset(used.encryption, (p.encryption,)))


def _subset(used: frozenset[int], allowed: Iterable[int]) -> bool:
    return used <= {int(a) for a in allowed}
