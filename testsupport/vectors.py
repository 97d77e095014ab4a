"""Paths to the published SUIT vectors copied under tests/vectors (see PROVENANCE.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

VECTORS: Final = Path(__file__).resolve().parents[1] / "tests" / "vectors"
MANIFEST_SPEC: Final = VECTORS / "manifest-spec"
TRUST_DOMAINS: Final = VECTORS / "trust-domains"
FIRMWARE_ENCRYPTION: Final = VECTORS / "firmware-encryption"
SPEC_KEY_PUBLIC: Final = MANIFEST_SPEC / "keys" / "example-es256-public.pem"
SPEC_KEY_PRIVATE: Final = MANIFEST_SPEC / "keys" / "example-es256-private.pem"
HMAC_KEY: Final = b"a" * 32  # INDEX.md key H-a32
