"""The manifest processor over the published examples (M37 App. B, TD App. B).

Each example runs against an in-memory store that records every effect. The published
examples state digests of sample patterns, not of real images; to see an example run to
the end, it is re-signed with the published key after its pattern digests are replaced by
the digests of real images of the stated sizes (`resign`). The originals are run too, and
must fail exactly at their first image check.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from suit import cbor
from suit.errors import NoAuthenticationBlock, SignatureInvalid
from suit.keys import TrustAnchor
from suit.processor import Procedure, ProcessingFailed, Processor, ReportReason, authenticate
from tests.fixtures.vectors import MANIFEST_SPEC, SPEC_KEY_PUBLIC, TRUST_DOMAINS
from tests.flasher.device.memory_store import MemoryStore
from testsupport.envelopes import CLASS_ID, VENDOR_ID, sign1, spec_private_pem

D1 = bytes.fromhex("00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210")
D2 = bytes.fromhex("0123456789abcdeffedcba987654321000112233445566778899aabbccddeeff")
IMAGE1 = hashlib.sha256(b"image1").digest() * (34768 // 32) + b"\x01" * (34768 % 32)
IMAGE2 = hashlib.sha256(b"image2").digest() * (76834 // 32) + b"\x02" * (76834 % 32)
C0, C1, C2 = (b"\x00",), (b"\x01",), (b"\x02",)
ANCHOR = TrustAnchor.from_pem(Path(SPEC_KEY_PUBLIC).read_bytes())


def resign(name: str, replacements: dict[bytes, bytes]) -> bytes:
    """The example with its digests replaced (same lengths) and signed again."""
    envelope = cbor.loads((MANIFEST_SPEC / name).read_bytes())
    members = dict(envelope.value)
    manifest = members[3]
    assert any(old in manifest for old in replacements)
    for old, new in replacements.items():
        manifest = manifest.replace(old, new)
    digest = cbor.dumps([-16, hashlib.sha256(cbor.dumps(manifest)).digest()])
    members[2] = cbor.dumps([digest, sign1(digest, spec_private_pem())])
    members[3] = manifest
    return cbor.dumps(cbor.CBORTag(107, members))


def run(envelope: bytes, store: MemoryStore, procedure: Procedure) -> Processor:
    processor = Processor(authenticate(envelope, [ANCHOR]), store, [ANCHOR])
    processor.run(procedure)
    return processor


def spec_store(**kwargs: object) -> MemoryStore:
    payloads = {"http://example.com/file.bin": IMAGE1, "http://example.com/file1.bin": IMAGE1,
                "http://example.com/file2.bin": IMAGE2,
                "http://example.com/very/long/path/to/file/file.bin": IMAGE1}
    return MemoryStore({C0, C1, C2}, VENDOR_ID, CLASS_ID, payloads=payloads, **kwargs)


REAL = {D1: hashlib.sha256(IMAGE1).digest(), D2: hashlib.sha256(IMAGE2).digest()}


def test_example0_secure_boot_validates_and_invokes() -> None:
    store = spec_store(images={C0: IMAGE1})
    run(resign("example0.cbor", REAL), store, Procedure.INVOCATION)
    assert store.effects("digest") == [(C0, 34768)]
    assert store.effects("invoke") == [(C0, None)]


def test_example0_original_fails_at_validate_image_match() -> None:
    store = spec_store(images={C0: IMAGE1})
    with pytest.raises(ProcessingFailed) as caught:
        run((MANIFEST_SPEC / "example0.cbor").read_bytes(), store, Procedure.INVOCATION)
    failed = caught.value
    assert failed.reason == ReportReason.CONDITION_FAILED
    assert (failed.location.section, failed.location.offset,
            failed.location.component_index) == ("validate", 0, 0)
    assert store.effects("invoke") == []  # invoke never runs after a failed validate


def test_example1_fetches_into_component_0_and_checks_the_digest() -> None:
    store = spec_store()
    processor = run(resign("example1.cbor", REAL), store, Procedure.UPDATE)
    assert store.effects("fetch") == [(C0, "http://example.com/file.bin")]
    assert store.images[C0] == IMAGE1
    assert processor.result.sections == ["install"]
    original = spec_store()
    with pytest.raises(ProcessingFailed) as caught:
        run((MANIFEST_SPEC / "example1.cbor").read_bytes(), original, Procedure.UPDATE)
    assert caught.value.location.path == "install[2]"


def test_example2_runs_the_severable_install_from_the_envelope() -> None:
    store = spec_store()
    run(resign("example2.cbor", REAL), store, Procedure.UPDATE)
    assert store.effects("fetch") == [(C0, "http://example.com/very/long/path/to/file/file.bin")]


def test_example2_severed_cannot_update_but_can_boot() -> None:
    severed = (MANIFEST_SPEC / "example2-severed.cbor").read_bytes()
    store = spec_store(images={C0: IMAGE1})
    with pytest.raises(ProcessingFailed, match="severed"):
        run(severed, store, Procedure.UPDATE)
    assert store.effects("fetch") == []


@pytest.mark.parametrize(("slot", "uri", "size"), [
    (0, "http://example.com/file1.bin", 34768), (1, "http://example.com/file2.bin", 76834)])
def test_example3_try_each_picks_the_uri_and_digest_of_the_slot(slot: int, uri: str,
                                                                 size: int) -> None:
    store = spec_store(slots={C0: slot})
    run(resign("example3.cbor", REAL), store, Procedure.UPDATE)
    assert store.effects("fetch") == [(C0, uri)]
    assert store.effects("digest") == [(C0, size)]  # image-match against that slot's image


def test_example3_with_no_matching_slot_fails_in_the_shared_try_each() -> None:
    store = spec_store(slots={C0: 2})
    with pytest.raises(ProcessingFailed) as caught:
        run(resign("example3.cbor", REAL), store, Procedure.UPDATE)
    assert caught.value.location.section == "install"
    assert caught.value.location.path.startswith("shared-sequence[1]/try-each")


def test_example4_fetches_to_staging_copies_1_to_0_then_loads_0_to_2() -> None:
    # Load copies component 0 into component 2 and checks D2 there; with a plain copy the
    # loaded image is image 1, so D2 is replaced by image 1's digest for this run.
    store = spec_store()
    envelope = resign("example4.cbor", {D1: REAL[D1], D2: REAL[D1]})
    run(envelope, store, Procedure.UPDATE)
    assert store.effects("fetch") == [(C2, "http://example.com/file.bin")]  # index 1 = [h'02']
    assert store.effects("copy") == [(C2, C0)]  # install: source index 1 -> index 0
    run(envelope, store, Procedure.INVOCATION)
    assert store.effects("copy")[1] == (C0, C1)  # load: index 0 -> index 2 = [h'01']
    assert store.effects("invoke") == [(C1, None)]


def test_example5_fetches_two_images_into_two_components() -> None:
    store = spec_store()
    envelope = resign("example5.cbor", REAL)
    run(envelope, store, Procedure.UPDATE)
    assert store.effects("fetch") == [(C0, "http://example.com/file1.bin"),
                                      (C1, "http://example.com/file2.bin")]
    assert (store.images[C0], store.images[C1]) == (IMAGE1, IMAGE2)
    run(envelope, store, Procedure.INVOCATION)
    assert store.effects("invoke") == [(C0, None)]


@pytest.mark.parametrize("number", range(6))
def test_unsigned_examples_are_refused_before_anything_runs(number: int) -> None:
    name = "example2-unsigned-severed.cbor" if number == 2 else f"example{number}-unsigned.cbor"
    with pytest.raises(NoAuthenticationBlock):
        authenticate((MANIFEST_SPEC / name).read_bytes(), [ANCHOR])


def test_wrong_vendor_fails_in_the_shared_sequence_with_its_location() -> None:
    store = MemoryStore({C0}, b"\x00" * 16, CLASS_ID, payloads={})
    with pytest.raises(ProcessingFailed) as caught:
        run((MANIFEST_SPEC / "example1.cbor").read_bytes(), store, Procedure.UPDATE)
    location = caught.value.location
    assert (location.section, location.path, location.component_index) == (
        "install", "shared-sequence[1]", 0)
    assert store.effects("fetch") == []


def test_unsupported_component_is_refused_before_running() -> None:
    store = MemoryStore({C0}, VENDOR_ID, CLASS_ID)
    with pytest.raises(ProcessingFailed) as caught:
        run((MANIFEST_SPEC / "example4.cbor").read_bytes(), store, Procedure.UPDATE)
    assert caught.value.reason == ReportReason.COMPONENT_UNSUPPORTED
    assert store.log == []


# -- trust domains (dependencies) -------------------------------------------------------

def td_store() -> MemoryStore:
    dependent = (TRUST_DOMAINS / "example0_dependent.cbor").read_bytes()
    return MemoryStore({(b"00",), (b"10",)},
                       payloads={"http://example.com/dependent.suit": dependent})


@pytest.mark.parametrize("name", ["example1_process.cbor", "example2_integrated.cbor"])
def test_trust_domains_process_the_dependency_then_invoke(name: str) -> None:
    store = td_store()
    envelope = (TRUST_DOMAINS / name).read_bytes()
    processor = run(envelope, store, Procedure.UPDATE)
    assert store.effects("write") == [((b"00",), b"hello world"),
                                      ((b"10",), b" in multiple trust domains")]
    assert processor.result.dependencies == [bytes.fromhex(
        "0f02caf6d3e61920d36bf3cea7f862a13bb8fb1f09c3f4c29b121feab78ef3d8")]
    fetched = store.effects("fetch-dependency")
    assert fetched == ([("http://example.com/dependent.suit",)] if "process" in name else [])
    run(envelope, store, Procedure.INVOCATION)
    assert store.effects("invoke") == [((b"10",), b"cat 00 10")]


def test_a_dependency_signed_by_an_untrusted_key_is_not_processed() -> None:
    store = td_store()
    other = TrustAnchor.from_pem((Path(__file__).parents[2] / "vectors" / "firmware-encryption"
                                  / "keys" / "dependency-signer-public.pem").read_bytes())
    envelope = (TRUST_DOMAINS / "example1_process.cbor").read_bytes()
    # The root verifies with the spec key; the dependency only with anchors given here.
    processor = Processor(authenticate(envelope, [ANCHOR]), store, [other])
    with pytest.raises(ProcessingFailed) as caught:
        processor.run(Procedure.UPDATE)
    assert caught.value.location.command == 7  # dependency-integrity
    assert store.effects("write") == []
    with pytest.raises(SignatureInvalid):
        authenticate(envelope, [other])
