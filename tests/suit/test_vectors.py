"""Every fact INDEX.md states for each published vector, asserted (tests/vectors/INDEX.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from suit.codec import decode_envelope, encode_envelope, severed_member_content
from suit.errors import NoAuthenticationBlock
from suit.keys import TrustAnchor
from suit.model import Command, Digest, Parameter, TextMap
from suit.payloads import fetch_targets
from suit.verify import check_envelope, manifest_bstr, verify_envelope
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION, HMAC_KEY, MANIFEST_SPEC, TRUST_DOMAINS, VECTORS

VID = bytes.fromhex("fa6b4a53d5ad5fdfbe9de663e4d41ffe")  # UUID5(DNS, "arm.com")
CID = bytes.fromhex("1492af1425695e48bf429b2d51f2ab45")  # UUID5(VID, "suit")
# INDEX.md's D1/D2: digest patterns standing for images (not digests of real data).
D1 = bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210")
D2 = bytes.fromhex("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff")
PT = b"This is a real firmware image."


def _anchor(path: Path, name: str) -> TrustAnchor:
    return TrustAnchor.from_pem(path.read_bytes(), name)


K_SPEC = _anchor(MANIFEST_SPEC / "keys" / "example-es256-public.pem", "K-spec")
K_DEP = _anchor(FIRMWARE_ENCRYPTION / "keys" / "dependency-signer-public.pem", "K-dep")
H_A32 = TrustAnchor.from_secret(HMAC_KEY, "H-a32")


@dataclass(frozen=True)
class Vector:
    path: str
    size: int
    digest: tuple[str, str]  # INDEX.md gives the manifest digest's first and last hex digits
    sequence_number: int
    anchor: TrustAnchor | None  # None: no authentication block, must be rejected
    alg: int | None = None
    components: tuple[tuple[bytes, ...], ...] = ()
    uris: tuple[tuple[int, str], ...] = ()  # (component index, uri) of each fetch
    extra: dict[str, object] = field(default_factory=dict)


VECTOR_LIST = [
    Vector("manifest-spec/example0.cbor", 237, ("6658ea56", "e5af"), 0, K_SPEC, -7, ((b"\x00",),)),
    Vector("manifest-spec/example0-unsigned.cbor", 161, ("6658ea56", "e5af"), 0, None),
    Vector("manifest-spec/example1.cbor", 272, ("1f2e7acc", "daf2"), 1, K_SPEC, -7, ((b"\x00",),),
           ((0, "http://example.com/file.bin"),)),
    Vector("manifest-spec/example1-unsigned.cbor", 196, ("1f2e7acc", "daf2"), 1, None),
    Vector("manifest-spec/example2.cbor", 923, ("6a5197ed", "9b90"), 2, K_SPEC, -7, ((b"\x00",),),
           ((0, "http://example.com/very/long/path/to/file/file.bin"),)),
    Vector("manifest-spec/example2-severed.cbor", 333, ("6a5197ed", "9b90"), 2, K_SPEC, -7, ((b"\x00",),)),
    Vector("manifest-spec/example2-unsigned-severed.cbor", 257, ("6a5197ed", "9b90"), 2, None),
    Vector("manifest-spec/example3.cbor", 396, ("f6d44a62", "2ee0"), 3, K_SPEC, -7, ((b"\x00",),),
           ((0, "http://example.com/file1.bin"), (0, "http://example.com/file2.bin"))),
    Vector("manifest-spec/example3-unsigned.cbor", 320, ("f6d44a62", "2ee0"), 3, None),
    Vector("manifest-spec/example4.cbor", 403, ("5b5f6586", "bdd6"), 4, K_SPEC, -7,
           ((b"\x00",), (b"\x02",), (b"\x01",)), ((1, "http://example.com/file.bin"),)),
    Vector("manifest-spec/example4-unsigned.cbor", 327, ("5b5f6586", "bdd6"), 4, None),
    Vector("manifest-spec/example5.cbor", 382, ("15ce60f7", "f470"), 5, K_SPEC, -7,
           ((b"\x00",), (b"\x01",)),
           ((0, "http://example.com/file1.bin"), (1, "http://example.com/file2.bin"))),
    Vector("manifest-spec/example5-unsigned.cbor", 306, ("15ce60f7", "f470"), 5, None),
    Vector("trust-domains/example0_dependent.cbor", 190, ("0f02caf6", "f3d8"), 0, K_SPEC, -9,
           ((b"00",),)),
    Vector("trust-domains/example1_process.cbor", 373, ("aeba316a", "be62"), 0, K_SPEC, -9,
           ((b"10",),), ((1, "http://example.com/dependent.suit"),)),
    Vector("trust-domains/example2_integrated.cbor", 519, ("88e11995", "67df"), 0, K_SPEC, -9,
           ((b"10",),), ((1, "#dependent.suit"),)),
    Vector("firmware-encryption/suit-manifest-aes-kw-content.cbor", 244, ("037a5c32", "4e2c"), 1,
           H_A32, 5, ((b"plaintext-firmware",),)),
    Vector("firmware-encryption/suit-manifest-aes-kw.cbor", 270, ("3c92aece", "7c9c"), 1, H_A32, 5,
           ((b"plaintext-firmware",), (b"encrypted-firmware",)),
           ((1, "coaps://example.com/encrypted-firmware"),)),
    Vector("firmware-encryption/suit-manifest-aes-kw-slot.cbor", 235, ("6d74bd31", "1de3"), 1, H_A32, 5,
           ((b"\x00",), (b"\x01",))),
    Vector("firmware-encryption/suit-manifest-es-ecdh-content.cbor", 356, ("1db69ef1", "f593"), 1,
           K_SPEC, -9),
    Vector("firmware-encryption/suit-manifest-es-ecdh-dependency.cbor", 759, (None, None), 1, K_DEP, -9),
]
IDS = [v.path for v in VECTOR_LIST]


def _load(vector: Vector) -> bytes:
    return (VECTORS / vector.path).read_bytes()


def test_every_envelope_vector_is_listed() -> None:
    on_disk = {str(p.relative_to(VECTORS)) for p in VECTORS.glob("*/*.cbor")
               if "encryption-info" not in p.name}
    assert on_disk == set(IDS)


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=IDS)
def test_decodes_and_reencodes_byte_identical(vector: Vector) -> None:
    data = _load(vector)
    assert len(data) == vector.size
    envelope = decode_envelope(data)
    assert envelope.tagged
    assert envelope.manifest.sequence_number == vector.sequence_number
    assert encode_envelope(envelope) == data


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=IDS)
def test_manifest_digest_is_over_the_bstr_wrapped_manifest(vector: Vector) -> None:
    envelope = decode_envelope(_load(vector))
    stated = envelope.authentication.digest
    assert stated.algorithm == -16
    computed = hashlib.sha256(manifest_bstr(envelope.manifest)).digest()
    assert computed == stated.value
    head, tail = vector.digest
    if head is not None:
        assert stated.value.hex().startswith(head) and stated.value.hex().endswith(tail)


@pytest.mark.parametrize("vector", VECTOR_LIST, ids=IDS)
def test_authenticity_as_index_states(vector: Vector) -> None:
    data = _load(vector)
    if vector.anchor is None:
        with pytest.raises(NoAuthenticationBlock):
            verify_envelope(data, [K_SPEC, K_DEP, H_A32])
        return
    # The FE dependency example's integrated dependency is signed by K-spec (INDEX.md).
    inner = [K_SPEC] if "dependency" in vector.path else []
    report = verify_envelope(data, [vector.anchor, *inner])
    assert [b.verified_by for b in report.blocks] == [vector.anchor.name]
    assert report.blocks[0].algorithm == vector.alg
    others = [a for a in (K_SPEC, K_DEP, H_A32) if a is not vector.anchor]
    assert not check_envelope(decode_envelope(data), others).authentic


@pytest.mark.parametrize("vector", [v for v in VECTOR_LIST if v.components], ids=lambda v: v.path)
def test_component_ids(vector: Vector) -> None:
    assert decode_envelope(_load(vector)).manifest.common.components == vector.components


@pytest.mark.parametrize("vector", [v for v in VECTOR_LIST if v.uris], ids=lambda v: v.path)
def test_fetch_uris_and_their_components(vector: Vector) -> None:
    targets = fetch_targets(decode_envelope(_load(vector)))
    assert tuple((t.component_index, t.uri) for t in targets) == vector.uris


def _shared_parameters(path: str) -> dict[int, object]:
    envelope = decode_envelope((VECTORS / path).read_bytes())
    first = envelope.manifest.common.shared_sequence.commands[0]
    assert first.command == Command.OVERRIDE_PARAMETERS
    return first.argument


@pytest.mark.parametrize("n", [0, 1, 2])
def test_examples_vendor_class_and_image(n: int) -> None:
    params = _shared_parameters(f"manifest-spec/example{n}.cbor")
    assert params[Parameter.VENDOR_ID] == VID and params[Parameter.CLASS_ID] == CID
    assert params[Parameter.IMAGE_DIGEST] == Digest(-16, D1)
    assert params[Parameter.IMAGE_SIZE] == 34768


def test_example0_sequences() -> None:
    m = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes()).manifest
    shared = [(c.command, c.argument) for c in m.common.shared_sequence.commands[1:]]
    assert shared == [(Command.VENDOR_IDENTIFIER, 15), (Command.CLASS_IDENTIFIER, 15)]
    assert [(c.command, c.argument) for c in m.validate.commands] == [(Command.IMAGE_MATCH, 15)]
    assert [(c.command, c.argument) for c in m.invoke.commands] == [(Command.INVOKE, 2)]


def test_example2_severed_members_and_text() -> None:
    envelope = decode_envelope((MANIFEST_SPEC / "example2.cbor").read_bytes())
    m = envelope.manifest
    assert isinstance(m.install, Digest) and m.install.value.hex().startswith("cfa90c5c")
    assert m.install.value.hex().endswith("c498")
    assert isinstance(m.text, Digest) and m.text.value.hex().startswith("302196d4")
    assert m.text.value.hex().endswith("0007")
    assert m.reference_uri == "https://git.io/JJYoj"
    report = check_envelope(envelope, [K_SPEC])
    assert {k: (r.present, r.digest_ok) for k, r in report.severable.items()} == {
        "install": (True, True), "text": (True, True)}
    text = severed_member_content(envelope, 23)
    assert isinstance(text, TextMap)
    component_text = text.languages["en-US"].components[(b"\x00",)]
    assert component_text[3] == "arm.com"  # an array as a map key survives decoding


def test_example2_severed_has_same_signature_and_digest() -> None:
    full = decode_envelope((MANIFEST_SPEC / "example2.cbor").read_bytes())
    severed = decode_envelope((MANIFEST_SPEC / "example2-severed.cbor").read_bytes())
    assert severed.authentication.source == full.authentication.source
    assert severed.severed == {}
    report = verify_envelope(severed, [K_SPEC])
    assert {k: r.present for k, r in report.severable.items()} == {"install": False, "text": False}


def test_example3_slots_choose_digest_and_uri() -> None:
    m = decode_envelope((MANIFEST_SPEC / "example3.cbor").read_bytes()).manifest
    try_each = m.common.shared_sequence.commands[1]
    assert try_each.command == Command.TRY_EACH
    slots = []
    for alternative in try_each.argument:
        slot = alternative.commands[0].argument[Parameter.COMPONENT_SLOT]
        assert alternative.commands[1].command == Command.COMPONENT_SLOT
        assert alternative.commands[1].argument == 5
        slots.append((slot, alternative.commands[2].argument[Parameter.IMAGE_DIGEST].value,
                      alternative.commands[2].argument[Parameter.IMAGE_SIZE]))
    assert slots == [(0, D1, 34768), (1, D2, 76834)]
    envelope = decode_envelope((MANIFEST_SPEC / "example3.cbor").read_bytes())
    fetched = {t.uri: (t.digest.value, t.size) for t in fetch_targets(envelope)}
    assert fetched == {"http://example.com/file1.bin": (D1, 34768),
                       "http://example.com/file2.bin": (D2, 76834)}


def test_example4_copies_and_invokes() -> None:
    envelope = decode_envelope((MANIFEST_SPEC / "example4.cbor").read_bytes())
    m = envelope.manifest
    install = [(c.command, c.argument) for c in m.install.commands]
    assert (Command.SET_COMPONENT_INDEX, 0) in install
    assert (Command.OVERRIDE_PARAMETERS, {Parameter.SOURCE_COMPONENT: 1}) in install
    assert install[-1] == (Command.COPY, 2) or (Command.COPY, 2) in install
    load = [(c.command, c.argument) for c in m.load.commands]
    assert load[0] == (Command.SET_COMPONENT_INDEX, 2)
    params = load[1][1]
    assert params[Parameter.IMAGE_DIGEST].value == D2 and params[Parameter.SOURCE_COMPONENT] == 0
    assert [(c.command, c.argument) for c in m.invoke.commands][0] == (Command.SET_COMPONENT_INDEX, 2)


def test_trust_domains_dependency_is_bound_by_its_manifest_digest() -> None:
    dependent = (TRUST_DOMAINS / "example0_dependent.cbor").read_bytes()
    root = decode_envelope((TRUST_DOMAINS / "example1_process.cbor").read_bytes())
    dep_digest = decode_envelope(dependent).authentication.digest.value
    resolution = root.manifest.dependency_resolution.commands
    params = resolution[1].argument
    assert params[Parameter.IMAGE_DIGEST].value == dep_digest
    assert dep_digest.hex().startswith("0f02caf6")
    assert params[Parameter.IMAGE_SIZE] == 190 == len(dependent)
    assert hashlib.sha256(dependent).hexdigest().startswith("7f686aeb")  # not the envelope's hash
    assert root.manifest.common.dependencies[1].prefix == (b"dependent.suit",)
    assert root.manifest.manifest_component_id == (b"depending.suit",)
    invoke_args = root.manifest.invoke.commands[1].argument[Parameter.INVOKE_ARGS]
    assert invoke_args == b"cat 00 10"


def test_trust_domains_dependent_writes_content() -> None:
    m = decode_envelope((TRUST_DOMAINS / "example0_dependent.cbor").read_bytes()).manifest
    assert m.manifest_component_id == (b"dependent.suit",)
    install = [(c.command, c.argument) for c in m.install.commands]
    assert (Command.OVERRIDE_PARAMETERS, {Parameter.CONTENT: b"hello world"}) in install
    assert (Command.WRITE, 15) in install
    assert m.invoke.commands[0].argument[Parameter.INVOKE_ARGS] == b"cat 00"


def test_trust_domains_integrated_dependency_is_example0() -> None:
    envelope = decode_envelope((TRUST_DOMAINS / "example2_integrated.cbor").read_bytes())
    assert envelope.integrated["#dependent.suit"] == (TRUST_DOMAINS / "example0_dependent.cbor").read_bytes()
    report = verify_envelope(envelope, [K_SPEC])
    assert report.integrated["#dependent.suit"].digest_ok is True


def test_fe_dependency_envelope_binds_inner_manifest() -> None:
    envelope = decode_envelope((FIRMWARE_ENCRYPTION / "suit-manifest-es-ecdh-dependency.cbor").read_bytes())
    inner = decode_envelope(envelope.integrated["#dependency-manifest"])
    assert len(envelope.integrated["#dependency-manifest"]) == 247
    assert inner.authentication.digest.value.hex().startswith("4b15c90f")
    assert inner.authentication.digest.value.hex().endswith("df16")
    verify_envelope(inner, [K_SPEC])
    assert verify_envelope(envelope, [K_DEP, K_SPEC]).integrated["#dependency-manifest"].digest_ok
    # Without the inner signer's key the integrated dependency is not authentic.
    assert check_envelope(envelope, [K_DEP]).integrated["#dependency-manifest"].digest_ok is False
    shared = inner.manifest.common.shared_sequence.commands
    params = next(c.argument for c in shared if c.command == Command.OVERRIDE_PARAMETERS)
    assert params[Parameter.IMAGE_DIGEST] == Digest(-16, hashlib.sha256(PT).digest())
    assert params[Parameter.IMAGE_SIZE] == 30


def test_aes_kw_slot_image_size() -> None:
    m = decode_envelope((FIRMWARE_ENCRYPTION / "suit-manifest-aes-kw-slot.cbor").read_bytes()).manifest
    sizes = [c.argument.get(Parameter.IMAGE_SIZE) for seq in (m.common.shared_sequence, m.install)
             if seq is not None for c in seq.commands if c.command == Command.OVERRIDE_PARAMETERS]
    assert 46 in sizes
