"""Keys for the signing tests, and the one backend fixture the signing suite runs against:
software keys, SoftHSM2 keys over PKCS#11, and external two-phase signing where the
external system is a real `openssl` process."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.algorithms import ED25519, P256, P384, SECRET, kind_for_algorithm
from signing.backends import open_signer
from signing.envelope import BlockPolicy, SignedEnvelope, sign_envelope
from signing.external import export_to_be_signed, external_identity, import_signature
from signing.keyref import parse_key_reference
from signing.management import generate, public_key_for
from signing.signer import PublicKey
from suit.cose import CoseAlgorithm
from suit.model import Envelope
from tests.fixtures.softhsm import SoftHsm

ALGORITHMS = (CoseAlgorithm.ESP256, CoseAlgorithm.ES256, CoseAlgorithm.ESP384,
              CoseAlgorithm.ES384, CoseAlgorithm.ED25519, CoseAlgorithm.EDDSA,
              CoseAlgorithm.HMAC_256_256)
HMAC_SECRET = bytes(range(32))
TOKEN_LABELS = {P256: "p256", P384: "p384", ED25519: "ed25519", SECRET: "hmac"}


@dataclass(frozen=True)
class SoftwareKeys:
    """PEM private keys per kind (and a COSE_Key secret) written to a temp dir."""

    directory: Path

    def path(self, kind: str) -> Path:
        return self.directory / (f"{kind}.cose" if kind == SECRET else f"{kind}.pem")

    def public_key(self, kind: str) -> PublicKey:
        key = serialization.load_pem_private_key(self.path(kind).read_bytes(), None)
        return key.public_key()  # type: ignore[return-value, union-attr]


def _pem(key: object) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM,  # type: ignore[attr-defined]
                             serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


@pytest.fixture(scope="session")
def software_keys(tmp_path_factory: pytest.TempPathFactory) -> SoftwareKeys:
    directory = tmp_path_factory.mktemp("software-keys")
    keys = SoftwareKeys(directory)
    keys.path(P256).write_bytes(_pem(ec.generate_private_key(ec.SECP256R1())))
    keys.path(P384).write_bytes(_pem(ec.generate_private_key(ec.SECP384R1())))
    keys.path(ED25519).write_bytes(_pem(ed25519.Ed25519PrivateKey.generate()))
    keys.path(SECRET).write_bytes(cbor2.dumps({1: 4, -1: HMAC_SECRET, 2: b"hmac-kid"}))
    return keys


@pytest.fixture(scope="session")
def token_keys(softhsm: SoftHsm) -> dict[str, str]:
    """One key per kind generated in the ``release`` token; kind -> URI."""
    uris = {}
    for kind, label in TOKEN_LABELS.items():
        uri = softhsm.uri("release", object=label)
        generate(parse_key_reference(uri), kind, None)  # type: ignore[arg-type]
        uris[kind] = uri
    return uris


@dataclass
class Backend:
    """How one backend signs an envelope with one algorithm, and how to check the result."""

    name: str
    algorithm: CoseAlgorithm
    kind: str
    public_key: PublicKey | None
    secret: bytes | None
    sign: Callable[[Envelope, BlockPolicy], SignedEnvelope]
    expected_kid: bytes | None = None


def _signer_backend(name: str, ref: str, alg: CoseAlgorithm, kind: str,
                    public: PublicKey | None, secret: bytes | None) -> Backend:
    def sign(envelope: Envelope, policy: BlockPolicy) -> SignedEnvelope:
        signer = open_signer(ref, alg)
        try:
            return sign_envelope(envelope, signer, policy)
        finally:
            signer.close()
    return Backend(name, alg, kind, public, secret, sign)


def openssl_sign(key: Path, kind: str, alg: CoseAlgorithm, tbs: Path, out: Path) -> None:
    """The external signing system: OpenSSL, producing DER ECDSA or raw Ed25519."""
    if kind == ED25519:
        cmd = ["openssl", "pkeyutl", "-sign", "-inkey", str(key), "-rawin", "-in", str(tbs)]
    else:
        digest = "-sha384" if alg in (CoseAlgorithm.ES384, CoseAlgorithm.ESP384) else "-sha256"
        cmd = ["openssl", "dgst", digest, "-sign", str(key), str(tbs)]
    out.write_bytes(subprocess.run(cmd, check=True, capture_output=True, timeout=30).stdout)


def _external_backend(keys: SoftwareKeys, alg: CoseAlgorithm, kind: str, work: Path) -> Backend:
    public = keys.public_key(kind)

    def sign(envelope: Envelope, policy: BlockPolicy) -> SignedEnvelope:
        identity = external_identity(public, "external-test", alg)
        (work / "tbs.bin").write_bytes(export_to_be_signed(envelope, identity).data)
        openssl_sign(keys.path(kind), kind, alg, work / "tbs.bin", work / "sig.bin")
        return import_signature(envelope, identity, (work / "sig.bin").read_bytes(), policy)
    return Backend("external", alg, kind, public, None, sign)


BACKEND_PARAMS = [pytest.param((b, a), id=f"{b}-{a.name}") for b in ("software", "pkcs11", "external")
                  for a in ALGORITHMS if not (b == "external" and a == CoseAlgorithm.HMAC_256_256)]


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request: pytest.FixtureRequest, software_keys: SoftwareKeys,
            tmp_path: Path) -> Iterator[Backend]:
    """Every backend x every algorithm it supports (external: signatures only)."""
    name, alg = request.param
    kind = kind_for_algorithm(alg)
    if name == "software":
        public = None if kind == SECRET else software_keys.public_key(kind)
        yield _signer_backend(name, str(software_keys.path(kind)), alg, kind, public,
                              HMAC_SECRET if kind == SECRET else None)
    elif name == "pkcs11":
        uri = request.getfixturevalue("token_keys")[kind]
        public = None if kind == SECRET else public_key_for(
            parse_key_reference(uri), None)[0]
        yield _signer_backend(name, uri, alg, kind, public, None)
    else:
        yield _external_backend(software_keys, alg, kind, tmp_path)
