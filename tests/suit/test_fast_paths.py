"""The format core's fast paths (issue 12 "Speed") keep every property of the slow ones.

Each shortcut is checked where it could differ: the checks done without building paths on
the inputs they must refuse,
the member order of errors, the PEM keys read without `serialization`, and the
structural facts that make verification cheap (work done once, or not at all).
The figures themselves come from `python -m benchmarks format_core`, not from here.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from suit import cbor, cose, model, payloads, verify
from suit.codec import decode_envelope, encode_envelope
from suit.errors import DecodeError, TrustAnchorError
from suit.keys import TrustAnchor
from tests.fixtures.vectors import MANIFEST_SPEC

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE0 = (MANIFEST_SPEC / "example0.cbor").read_bytes()
EXAMPLE2 = (MANIFEST_SPEC / "example2.cbor").read_bytes()
KEY = MANIFEST_SPEC / "keys" / "example-es256-public.pem"


# --- checks without paths, on the values they must refuse ----------------------------------

def _example0_with(mutate) -> bytes:
    """example0 with its manifest map changed by `mutate`, encoded in the map's own order."""
    envelope = dict(cbor.loads(EXAMPLE0).value)
    manifest = dict(cbor.loads(envelope[3]))
    mutate(manifest)
    envelope[3] = cbor2.dumps(manifest)  # not canonical: the member order is the test's
    return cbor.dumps(cbor.CBORTag(107, envelope))


@pytest.mark.parametrize("sequence,path,problem", [
    ([1, True], "manifest/validate[0]/vendor-identifier/reporting-policy", "expected int, found bool"),
    ([1, -1], "manifest/validate[0]/vendor-identifier/reporting-policy", "expected uint"),
    ([True, 15], "manifest/validate[0]", "expected int, found bool"),
    ([19, {14: True}], "manifest/validate[0]/set-parameters/image-size", "expected int, found bool"),
    ([19, {14: -5}], "manifest/validate[0]/set-parameters/image-size", "expected uint"),
    ([19, {2: "text"}], "manifest/validate[0]/set-parameters/class-id", "expected bstr"),
    ([19, {True: b""}], "manifest/validate[0]/set-parameters/<key>", "expected int, found bool"),
    ([19, {3: cbor.dumps([True, b""])}],
     "manifest/validate[0]/set-parameters/image-digest/algorithm-id", "expected int, found bool"),
    ([19, {3: cbor.dumps([-16, "x"])}],
     "manifest/validate[0]/set-parameters/image-digest/digest-bytes", "expected bstr"),
])
def test_fast_checks_refuse_with_the_same_path(sequence: list[object], path: str, problem: str) -> None:
    data = _example0_with(lambda m: m.__setitem__(7, cbor.dumps(sequence)))
    with pytest.raises(DecodeError) as caught:
        decode_envelope(data)
    assert (caught.value.path, problem in caught.value.problem) == (path, True), caught.value


def test_of_two_malformed_members_the_first_in_spec_order_is_reported_whatever_the_map_order() -> None:
    def install_first(manifest: dict[object, object]) -> None:
        manifest[20] = 5  # neither a digest nor a bstr
        manifest[4] = 7   # reference-uri must be text
    with pytest.raises(DecodeError) as caught:
        decode_envelope(_example0_with(install_first))
    assert caught.value.path == "manifest/reference-uri"


def test_a_nil_optional_member_is_dropped_as_before() -> None:
    envelope = decode_envelope(_example0_with(lambda m: m.__setitem__(4, None)))
    assert envelope.manifest.reference_uri is None and 4 not in envelope.manifest.extensions


# --- PEM keys without the serialization module -------------------------------------------

@pytest.mark.parametrize("private", [
    ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP384R1()),
    ec.generate_private_key(ec.SECP521R1()), ed25519.Ed25519PrivateKey.generate()],
    ids=["P-256", "P-384", "P-521", "Ed25519"])
def test_pem_public_keys_load_as_serialization_loads_them(private: object) -> None:
    pem = private.public_key().public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert TrustAnchor.from_pem(pem).public_key == serialization.load_pem_public_key(pem)


def test_pem_keys_the_fast_path_does_not_know_take_the_general_path() -> None:
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    compressed = public.public_bytes(serialization.Encoding.X962,
                                     serialization.PublicFormat.CompressedPoint)
    der = bytes.fromhex("3039301306072a8648ce3d020106082a8648ce3d030107032200") + compressed
    pem = serialization.load_der_public_key(der).public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    assert TrustAnchor.from_pem(pem).public_key == public  # uncompressed again: fast path
    compressed_pem = b"-----BEGIN PUBLIC KEY-----\n" + __import__("base64").encodebytes(der) + \
        b"-----END PUBLIC KEY-----\n"
    assert TrustAnchor.from_pem(compressed_pem).public_key == public


def test_a_pem_point_off_the_curve_is_a_typed_error() -> None:
    prefix = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
    der = prefix + b"\x04" + b"\x01" * 64
    pem = b"-----BEGIN PUBLIC KEY-----\n" + __import__("base64").encodebytes(der) + \
        b"-----END PUBLIC KEY-----\n"
    with pytest.raises(TrustAnchorError, match="not a usable PEM key"):
        TrustAnchor.from_pem(pem, "off-curve.pem")


# --- structural facts: once, or not at all ----------------------------------------------

def test_the_protected_header_is_decoded_by_the_decoder_only(monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = decode_envelope(EXAMPLE2)

    def refuse(data: bytes, path: str) -> dict[object, object]:
        raise AssertionError("protected header decoded again")
    monkeypatch.setattr(cose, "decode_protected", refuse)
    assert verify.verify_envelope(envelope, [TrustAnchor.from_pem(KEY.read_bytes())]).ok


def test_no_integrated_member_no_walk_over_the_sequences(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(envelope: object) -> list[object]:
        raise AssertionError("walked the sequences for integrated payloads")
    monkeypatch.setattr(payloads, "fetch_targets", refuse)
    assert verify.verify_envelope(EXAMPLE2, [TrustAnchor.from_pem(KEY.read_bytes())]).ok


def test_the_anchor_works_out_its_curve_once() -> None:
    anchor = TrustAnchor.from_pem(KEY.read_bytes())
    verify.verify_envelope(EXAMPLE2, [anchor])
    assert anchor.__dict__["curve"] == "P-256"  # kept by the first verification
    assert verify._ecdsa("sha256") is verify._ecdsa("sha256")
    assert isinstance(verify._ecdsa("sha256"), ec.ECDSA)


def test_suitwb_verify_starts_without_serialization_or_the_openssl_backend() -> None:
    """What `suitwb verify` of a PEM key imports from cryptography (issue 12 start-up)."""
    program = ("import runpy, sys\n"
               f"sys.argv = ['suitwb', 'verify', {str(MANIFEST_SPEC / 'example2.cbor')!r}, "
               f"'--key', {str(KEY)!r}]\n"
               "try:\n    runpy.run_module('workbench.cli.main', run_name='__main__')\n"
               "except SystemExit as exc:\n    assert not exc.code, exc.code\n"
               "print(sorted(m for m in sys.modules if m.startswith('cryptography.hazmat.')"
               " and ('serialization.' in m or 'backends' in m or 'ciphers' in m)))\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", program], cwd=ROOT, env=env,
                            capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


# --- the decoder each thread reuses ---------------------------------------------------------

@pytest.mark.parametrize("previous", [
    b"\x82\x01\x02\x03",        # trailing byte left in the decoder's read buffer
    b"\x59\x10\x00" + bytes(4096) + b"\x01",  # read past a buffer's worth, then trailing
    b"\x82\x01",                # truncated
    b"\xa2\x01\x01\x01\x02",    # duplicate key, refused mid-map
    b"\x81" * 40 + b"\x01",     # too deep, refused at the bound
    b"\x9f\x01\xff",            # indefinite, refused
])
def test_an_item_decodes_alike_whatever_the_thread_decoded_before(previous: bytes) -> None:
    """The reused decoder keeps nothing of the previous item: not its bytes, not its
    depth, not its position (each case fails the old code's results differently)."""
    with pytest.raises(DecodeError):
        cbor.loads(previous)
    assert cbor.loads(b"\x83\x01\x02\x03") == [1, 2, 3]
    with pytest.raises(DecodeError, match="1 trailing bytes"):
        cbor.loads(b"\x01\x02")
    assert cbor.loads(b"\x81" * 31 + b"\x01") is not None  # the full depth is available
    assert cbor.loads(b"\xc1\x05") == cbor.CBORTag(1, 5)   # tags still kept raw


def test_threads_decoding_at_once_each_get_their_own_items() -> None:
    """GUI workers and the main thread decode at the same time: no decoder is shared."""
    # Tags call back into Python mid-item, where a thread switch can happen.
    items = {n: cbor.dumps([n, bytes(n % 50), {"k": cbor.CBORTag(1, n)}]) for n in range(64)}
    failures: list[str] = []

    def work(first: int) -> None:
        try:
            for _ in range(200):
                for n in range(first, 64, 4):
                    if cbor.loads(items[n]) != [n, bytes(n % 50), {"k": cbor.CBORTag(1, n)}]:
                        failures.append(f"item {n}")
        except Exception as exc:  # noqa: BLE001 - any failure of a thread fails the test
            failures.append(repr(exc))
    threads = [threading.Thread(target=work, args=(first,)) for first in range(4)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads often, between any two steps of a decode
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(interval)
    assert not failures
    assert cbor._decoder() is cbor._decoder()  # one per thread, made once


def test_a_large_input_is_not_kept_alive_by_the_decoder() -> None:
    large = b"\x5a\x00\x02\x00\x00" + bytes(128 * 1024)
    assert len(cbor.loads(large)) == 128 * 1024
    decoder, stream = cbor._reader()
    assert decoder.fp is stream and stream.getvalue() == b""


# --- nodes made without the dataclass __init__ ----------------------------------------------

@pytest.mark.parametrize("name", sorted(p.name for p in MANIFEST_SPEC.glob("*.cbor")))
def test_decoded_manifests_and_envelopes_are_the_nodes_init_makes(name: str) -> None:
    """`decoded_node` skips `__init__`: every field is still there, equal to what
    `__init__` makes of the same values, and the source is attached."""
    data = (MANIFEST_SPEC / name).read_bytes()
    envelope = decode_envelope(data)
    for node in (envelope, envelope.manifest):
        values = {f.name: getattr(node, f.name) for f in dataclasses.fields(node) if f.init}
        rebuilt = type(node)(**values)
        assert node == rebuilt
        # No field missing, none added; the source is attached as `attach_source` does.
        assert set(vars(node)) == set(vars(rebuilt)) | {"source"}
        assert node.source is not None and rebuilt.source is None
    assert envelope.source == data
    assert envelope.manifest.source is not None
    assert encode_envelope(envelope) == data  # byte-exact, from the attached source


def test_decoded_node_fills_the_plain_defaults_and_is_still_frozen() -> None:
    common = model.Common(components=((b"\x00",),))
    manifest = model.decoded_node(model.Manifest, {
        "sequence_number": 7, "common": common, "extensions": {}}, b"\xa0")
    assert manifest == model.Manifest(sequence_number=7, common=common)
    assert manifest.install is None and manifest.manifest_version == 1
    assert manifest.source == b"\xa0"
    with pytest.raises(dataclasses.FrozenInstanceError):
        manifest.sequence_number = 8  # type: ignore[misc]


# --- DER signatures and bstr heads made without the general encoders ------------------------

@pytest.mark.parametrize("raw", [
    bytes(64),                                   # r = s = 0
    b"\x80" + bytes(31) + b"\x7f" + bytes(31),   # high bit set: a zero byte in front
    bytes(31) + b"\x01" + bytes(30) + b"\x00\x80",  # leading zeros dropped
    b"\xff" * 96,                                # P-384 size
    b"\xff" * 132,                               # P-521 size: the long form of the length
    b"\x00\x01",                                 # the smallest
], ids=["zero", "high-bit", "leading-zeros", "p384", "p521-long-length", "tiny"])
def test_raw_ecdsa_signatures_become_the_der_cryptography_makes(raw: bytes) -> None:
    from cryptography.hazmat.primitives.asymmetric.utils import (
        decode_dss_signature,
        encode_dss_signature,
    )
    half = len(raw) // 2
    r, s = int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
    der = cose.ecdsa_raw_to_der(raw)
    assert der == encode_dss_signature(r, s)
    assert decode_dss_signature(der) == (r, s)


@pytest.mark.parametrize("raw", [b"", b"\x01", b"\x01\x02\x03"])
def test_raw_ecdsa_signatures_of_odd_or_no_length_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError, match="even, non-zero length"):
        cose.ecdsa_raw_to_der(raw)


def test_bstr_heads_are_the_ones_cbor2_writes() -> None:
    for length in (*range(300), 65535, 65536, 1 << 20):
        data = bytes(length)
        assert cbor.bstr_head(length) + data == cbor2.dumps(data), length


@pytest.mark.parametrize("protected_size", [0, 3, 23, 24, 255, 256, 70000])
@pytest.mark.parametrize("payload_size", [0, 23, 24, 44, 255, 256])
def test_signature1_structures_are_the_general_encoding(protected_size: int,
                                                        payload_size: int) -> None:
    protected, payload = b"\xa1" * protected_size, b"\x58" * payload_size
    assert cose.sig_structure("Signature1", protected, payload) == cbor2.dumps(
        ["Signature1", protected, b"", payload])
    # The other cases take the general encoding.
    assert cose.sig_structure("Signature1", protected, payload, external_aad=b"x") == \
        cbor2.dumps(["Signature1", protected, b"x", payload])
    assert cose.sig_structure("Signature", protected, payload, sign_protected=b"") == \
        cbor2.dumps(["Signature", protected, b"", b"", payload])
