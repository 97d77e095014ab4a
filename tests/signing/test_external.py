"""External two-phase signing through `suitwb sign --export-tbs` / `--import-signature`,
with OpenSSL as the separate signing system."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from signing.envelope import BlockPolicy
from signing.errors import ExternalSignatureInvalid
from signing.external import export_to_be_signed, external_identity, import_signature
from suit.codec import decode_envelope
from suit.cose import CoseAlgorithm
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb
from tests.signing.conftest import SoftwareKeys, openssl_sign
from tests.signing.independent import decode_block, envelope_parts, expected_tbs

EXAMPLE = MANIFEST_SPEC / "example2.cbor"  # severable members, and already signed once


def _public_pem(keys: SoftwareKeys, kind: str, path: Path) -> Path:
    path.write_bytes(keys.public_key(kind).public_bytes(Encoding.PEM,
                                                        PublicFormat.SubjectPublicKeyInfo))
    return path


@pytest.mark.parametrize(("kind", "alg"), [("P-256", "ESP256"), ("P-384", "ES384"),
                                           ("Ed25519", "Ed25519")])
def test_two_phase_signing_through_the_cli(kind: str, alg: str, software_keys: SoftwareKeys,
                                           tmp_path: Path) -> None:
    pub = _public_pem(software_keys, kind, tmp_path / "pub.pem")
    suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "tbs.bin", "--key", pub, "--alg", alg,
           data_dir=tmp_path)
    openssl_sign(software_keys.path(kind), kind, CoseAlgorithm[alg.upper()],
                 tmp_path / "tbs.bin", tmp_path / "sig.bin")
    suitwb("sign", EXAMPLE, "-o", tmp_path / "out.suit", "--import-signature",
           tmp_path / "sig.bin", "--key", pub, "--alg", alg, data_dir=tmp_path)
    _manifest, digest, blocks = envelope_parts((tmp_path / "out.suit").read_bytes())
    tag, _header, protected, _payload, _sig = decode_block(blocks[-1])
    assert (tmp_path / "tbs.bin").read_bytes() == expected_tbs(tag, protected, digest)
    assert suitwb("verify", tmp_path / "out.suit", "--key", pub, data_dir=tmp_path).returncode == 0
    audit = suitwb("audit", "show", data_dir=tmp_path).stdout
    assert f"external:{pub}" in audit


def test_der_and_raw_signatures_are_both_accepted(software_keys: SoftwareKeys, tmp_path: Path) -> None:
    envelope = decode_envelope(EXAMPLE.read_bytes())
    identity = external_identity(software_keys.public_key("P-256"), "ext")
    (tmp_path / "tbs").write_bytes(export_to_be_signed(envelope, identity).data)
    openssl_sign(software_keys.path("P-256"), "P-256", CoseAlgorithm.ESP256, tmp_path / "tbs",
                 tmp_path / "der")
    der = (tmp_path / "der").read_bytes()
    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    from_der = import_signature(envelope, identity, der, BlockPolicy.APPEND)
    from_raw = import_signature(envelope, identity, raw, BlockPolicy.APPEND)
    assert decode_block(from_der.block)[4] == decode_block(from_raw.block)[4] == raw


def test_a_wrong_signature_is_refused_and_nothing_written(software_keys: SoftwareKeys,
                                                          tmp_path: Path) -> None:
    pub = _public_pem(software_keys, "P-256", tmp_path / "pub.pem")
    suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "tbs.bin", "--key", pub, data_dir=tmp_path)
    (tmp_path / "other.bin").write_bytes(b"not what was exported")
    openssl_sign(software_keys.path("P-256"), "P-256", CoseAlgorithm.ESP256,
                 tmp_path / "other.bin", tmp_path / "sig.bin")
    result = suitwb("sign", EXAMPLE, "-o", tmp_path / "out.suit", "--import-signature",
                    tmp_path / "sig.bin", "--key", pub, data_dir=tmp_path, check=False)
    assert result.returncode == 1 and "does not verify" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint
    assert not (tmp_path / "out.suit").exists()
    assert "0 record(s)" in suitwb("audit", "show", data_dir=tmp_path).stdout


def test_garbage_signature_and_secret_keys(software_keys: SoftwareKeys, tmp_path: Path) -> None:
    identity = external_identity(software_keys.public_key("P-256"), "ext")
    with pytest.raises(ExternalSignatureInvalid, match="neither"):
        import_signature(decode_envelope(EXAMPLE.read_bytes()), identity, b"\x01" * 10)
    result = suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "t", "--key",
                    software_keys.path("secret"), data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "external signing" in result.stderr
    missing = suitwb("sign", EXAMPLE, "--export-tbs", tmp_path / "t", data_dir=tmp_path, check=False)
    assert missing.returncode == 2 and "--key is required" in missing.stderr
