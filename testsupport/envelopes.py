"""Build and sign real SUIT envelopes for device tests (ES256 with the published key).

The manifest is built from the format core's model and encoded by its codec; the
signature is a real COSE_Sign1 over the encoded SUIT_Digest (M37 §8.3), made with
`cryptography`. Nothing here is mocked: the device verifies these like any envelope.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from suit import cbor
from suit.codec import encode_manifest
from suit.cose import ecdsa_der_to_raw, encode_protected, sig_structure
from suit.model import (
    Command,
    CommandItem,
    CommandSequence,
    Common,
    Digest,
    Manifest,
    Parameter,
)
from testsupport.vectors import SPEC_KEY_PRIVATE, SPEC_KEY_PUBLIC

VENDOR_ID = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")
CLASS_ID = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")
APP = (b"\x00",)
STAGING = (b"\x02",)
TRUST_ANCHOR_COMPONENT_ID = (b"suitwb", b"trust-anchors")
SHA256 = -16


def spec_public_pem() -> bytes:
    return Path(SPEC_KEY_PUBLIC).read_bytes()


def spec_private_pem() -> bytes:
    return Path(SPEC_KEY_PRIVATE).read_bytes()


def new_key_pem() -> tuple[bytes, bytes]:
    """A fresh P-256 key pair as (private PEM, public PEM)."""
    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


def seq(*items: tuple[int, Any]) -> CommandSequence:
    """A command sequence from (command, argument) pairs."""
    return CommandSequence(tuple(CommandItem(int(c), a) for c, a in items))


def image_params(image: bytes) -> dict[int, Any]:
    """image-digest and image-size of `image`."""
    return {Parameter.IMAGE_DIGEST: Digest(SHA256, hashlib.sha256(image).digest()),
            Parameter.IMAGE_SIZE: len(image)}


@dataclass
class Build:
    """What goes into an envelope; `envelope()` encodes and signs it."""

    sequence_number: int
    components: tuple[tuple[bytes, ...], ...] = (APP,)
    shared: CommandSequence | None = None
    install: CommandSequence | None = None
    validate: CommandSequence | None = None
    invoke: CommandSequence | None = None
    uninstall: CommandSequence | None = None
    integrated: dict[str, bytes] = field(default_factory=dict)
    key_pem: bytes | None = None  # None: the published spec key
    signed: bool = True

    def manifest_bytes(self) -> bytes:
        manifest = Manifest(sequence_number=self.sequence_number,
                            common=Common(components=self.components,
                                          shared_sequence=self.shared),
                            install=self.install, validate=self.validate, invoke=self.invoke,
                            uninstall=self.uninstall)
        return encode_manifest(manifest)

    def envelope(self) -> bytes:
        manifest = self.manifest_bytes()
        digest = cbor.dumps([SHA256, hashlib.sha256(cbor.dumps(manifest)).digest()])
        blocks = [sign1(digest, self.key_pem or spec_private_pem())] if self.signed else []
        members: dict[Any, Any] = {2: cbor.dumps([digest, *blocks]), 3: manifest}
        members.update(self.integrated)
        return cbor.dumps(cbor.CBORTag(107, members))


def sign1(payload: bytes, private_pem: bytes) -> bytes:
    """A COSE_Sign1_Tagged (ES256) over the detached `payload`."""
    key = serialization.load_pem_private_key(private_pem, password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    protected = encode_protected({1: -7})
    der = key.sign(sig_structure("Signature1", protected, payload), ec.ECDSA(hashes.SHA256()))
    signature = ecdsa_der_to_raw(der, key.curve.key_size)
    return cbor.dumps(cbor.CBORTag(18, [protected, {}, None, signature]))


def identity_shared(image: bytes, vendor: bytes = VENDOR_ID, klass: bytes = CLASS_ID,
                    ) -> CommandSequence:
    """The usual shared sequence: set vendor, class, digest and size; check vendor, class."""
    return seq((Command.OVERRIDE_PARAMETERS, {Parameter.VENDOR_ID: vendor,
                                              Parameter.CLASS_ID: klass, **image_params(image)}),
               (Command.VENDOR_IDENTIFIER, 15), (Command.CLASS_IDENTIFIER, 15))


def app_update(number: int, image: bytes, *, uri: str = "http://example.com/app.bin",
               integrated: bool = False, **kwargs: Any) -> Build:
    """A one-image update of component [h'00'], like M37 Example 1 plus validate/invoke."""
    if integrated:
        uri = "#app"
    install = seq((Command.OVERRIDE_PARAMETERS, {Parameter.URI: uri}),
                  (Command.FETCH, 2), (Command.IMAGE_MATCH, 15))
    build = Build(number, shared=identity_shared(image, kwargs.pop("vendor", VENDOR_ID),
                                                 kwargs.pop("klass", CLASS_ID)),
                  install=install, validate=seq((Command.IMAGE_MATCH, 15)),
                  invoke=seq((Command.OVERRIDE_PARAMETERS, {Parameter.INVOKE_ARGS: b"go"}),
                             (Command.INVOKE, 2)),
                  **kwargs)
    if integrated:
        build.integrated = {"#app": image}
    return build


def staged_update(number: int, image: bytes) -> Build:
    """Like M37 Example 4: fetch into the staging area, then copy into the app slot."""
    fetch = seq((Command.SET_COMPONENT_INDEX, 1),
                (Command.OVERRIDE_PARAMETERS, {Parameter.URI: "http://host/staged.bin",
                                               **image_params(image)}),
                (Command.FETCH, 2), (Command.IMAGE_MATCH, 15),
                (Command.SET_COMPONENT_INDEX, 0),
                (Command.OVERRIDE_PARAMETERS, {Parameter.SOURCE_COMPONENT: 1}),
                (Command.COPY, 2), (Command.IMAGE_MATCH, 15))
    shared = identity_shared(image)
    shared = seq((Command.SET_COMPONENT_INDEX, 0),
                 *((item.command, item.argument) for item in shared.commands))
    return Build(number, components=(APP, STAGING), shared=shared, install=fetch,
                 validate=seq((Command.SET_COMPONENT_INDEX, 0), (Command.IMAGE_MATCH, 15)))


def many_components(count: int) -> Build:
    """`count` components, each fetched from its own URI with its own digest and size: the
    shape of a large release, for the scaling tests and benchmark (issue 12)."""
    install: list[tuple[int, Any]] = []
    for i in range(count):
        install += [(Command.SET_COMPONENT_INDEX, i),
                    (Command.OVERRIDE_PARAMETERS, {
                        Parameter.URI: f"https://updates.example.com/c{i}.bin",
                        **image_params(i.to_bytes(4, "big"))}),
                    (Command.FETCH, 2)]
    return Build(1, components=tuple((b"c", i.to_bytes(4, "big")) for i in range(count)),
                 shared=identity_shared(b""), install=seq(*install))


@dataclass(frozen=True)
class FileSpec:
    """One file component of a Linux-class release: `path` under the loader's root (a
    component id ``['fs', path]``), its bytes, and its UM §4 component metadata."""

    path: str
    data: bytes
    metadata: dict[int, Any] | None = None
    integrated: bool = False

    @property
    def component_id(self) -> tuple[bytes, ...]:
        return (b"fs", self.path.encode())

    @property
    def uri(self) -> str:
        return f"#{self.path}" if self.integrated else f"https://updates.example.com/{self.path}"


def file_update(number: int, files: tuple[FileSpec, ...], *,
                unlink: tuple[str, ...] = (), **kwargs: Any) -> Build:
    """A release of file components: each fetched (or integrated), digest-checked, with its
    metadata; then each path in `unlink` removed (directive-unlink)."""
    from suit.model import EmbeddedCbor
    components = tuple(f.component_id for f in files) + tuple(
        (b"fs", path.encode()) for path in unlink)
    install: list[tuple[int, Any]] = []
    for i, spec in enumerate(files):
        params = {Parameter.URI: spec.uri, **image_params(spec.data)}
        if spec.metadata is not None:
            params[Parameter.COMPONENT_METADATA] = EmbeddedCbor(cbor.dumps(spec.metadata))
        install += [(Command.SET_COMPONENT_INDEX, i), (Command.OVERRIDE_PARAMETERS, params),
                    (Command.FETCH, 2), (Command.IMAGE_MATCH, 15)]
    for j in range(len(unlink)):
        install += [(Command.SET_COMPONENT_INDEX, len(files) + j), (Command.UNLINK, 2)]
    shared = seq((Command.SET_COMPONENT_INDEX, 0),
                 (Command.OVERRIDE_PARAMETERS, {Parameter.VENDOR_ID: VENDOR_ID,
                                                Parameter.CLASS_ID: CLASS_ID}),
                 (Command.VENDOR_IDENTIFIER, 15), (Command.CLASS_IDENTIFIER, 15))
    build = Build(number, components=components, shared=shared, install=seq(*install),
                  **kwargs)
    build.integrated = {f.uri: f.data for f in files if f.integrated}
    return build
