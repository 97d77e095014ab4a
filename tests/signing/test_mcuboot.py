"""MCUboot images signed with our signers (issue 13): every image we sign verifies with
`imgtool verify` given the public key, for P-256 and Ed25519, key files and SoftHSM2 keys;
the signed bytes are the ones imgtool 2.5.0 signs; bad options and keys are typed errors."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from imgtool import image as imgtool_image  # type: ignore[import-untyped]
from imgtool import keys as imgtool_keys  # type: ignore[import-untyped]
from imgtool.version import decode_version  # type: ignore[import-untyped]

from signing.algorithms import ED25519, P256, P384, SECRET
from signing.backends import open_signer
from signing.keyref import parse_key_reference
from signing.management import public_key_for
from signing.mcuboot import (
    McubootError,
    McubootImage,
    McubootOptions,
    hashed_region,
    make_image,
    parse_layout,
)
from signing.signer import PublicKey, Signer, SignerIdentity
from tests.signing.conftest import SoftwareKeys

IMGTOOL = Path(sys.executable).with_name("imgtool")
#: The MPS2 AN385 board's image shape (/work/shared/firmware/README.md).
BOARD = McubootOptions(version="1.2.3+4", header_size=0x200, load_address=0x20240000,
                       ram_load=True, slot_size=0x80000, align=4, erased_value=0)
PAYLOAD = bytes(range(256)) * 37 + b"tail"
TLV = struct.Struct("<BxH")  # MCUboot TLV: type, pad, length
TLV_SHA256, TLV_KEYHASH, TLV_ECDSA, TLV_ED25519 = 0x10, 0x01, 0x22, 0x24


def _tlvs(data: bytes) -> dict[int, bytes]:
    layout = parse_layout(data)
    offset = layout.hashed_end
    total = struct.unpack_from("<HH", data, offset)[1]
    end, offset, found = offset + total, offset + 4, {}
    while offset < end:
        kind, length = TLV.unpack_from(data, offset)
        found[kind] = data[offset + 4:offset + 4 + length]
        offset += 4 + length
    assert offset == end == len(data)
    return found


def _public_pem(key: PublicKey, path: Path) -> Path:
    path.write_bytes(key.public_bytes(serialization.Encoding.PEM,
                                      serialization.PublicFormat.SubjectPublicKeyInfo))
    return path


def imgtool_verify(image: bytes, public_pem: Path | None, folder: Path) -> subprocess.CompletedProcess[str]:
    """MCUboot's own verifier, through its command line."""
    path = folder / "image.signed.bin"
    path.write_bytes(image)
    key = ["-k", str(public_pem)] if public_pem is not None else []
    return subprocess.run([str(IMGTOOL), "verify", *key, str(path)], check=False,
                          capture_output=True, text=True, timeout=60)


def _sign_with(ref: str) -> tuple[McubootImage, PublicKey]:
    signer = open_signer(ref)
    try:
        image = make_image(PAYLOAD, BOARD, signer)
    finally:
        signer.close()
    public = signer.identity.public_key
    assert public is not None
    return image, public


def _assert_signed_bytes(image: McubootImage, public: PublicKey, kind: str) -> None:
    """The intermediate bytes: the hash TLV covers the region, KEYHASH names the key and
    the signature covers what imgtool 2.5.0 signs (region for ECDSA, digest for Ed25519)."""
    region = hashed_region(image.data)
    tlvs = _tlvs(image.data)
    assert tlvs[TLV_SHA256] == image.image_hash == hashlib.sha256(region).digest()
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    assert tlvs[TLV_KEYHASH] == hashlib.sha256(der).digest()
    if kind == P256:
        assert isinstance(public, ec.EllipticCurvePublicKey)
        public.verify(tlvs[TLV_ECDSA], region, ec.ECDSA(hashes.SHA256()))
        assert image.signature_type == "ECDSA256_SHA256"
    else:
        public.verify(tlvs[TLV_ED25519], image.image_hash)  # type: ignore[call-arg]
        assert image.signature_type == "ED25519"
    assert image.data[parse_layout(image.data).body] == PAYLOAD


@pytest.mark.parametrize("kind", [P256, ED25519])
@pytest.mark.parametrize("backend", ["key-file", "softhsm"])
def test_imgtool_verify_accepts_every_image_we_sign(
        backend: str, kind: str, software_keys: SoftwareKeys, tmp_path: Path,
        request: pytest.FixtureRequest) -> None:
    ref = str(software_keys.path(kind)) if backend == "key-file" \
        else request.getfixturevalue("token_keys")[kind]
    image, public = _sign_with(ref)
    _assert_signed_bytes(image, public, kind)
    pem = _public_pem(public, tmp_path / "pub.pem")
    verified = imgtool_verify(image.data, pem, tmp_path)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "Image was correctly validated" in verified.stdout
    assert "Image version: 1.2.3+4" in verified.stdout
    # And imgtool is a real check: one flipped body byte, or another key, is refused.
    tampered = bytearray(image.data)
    tampered[0x200 + 5] ^= 1
    assert imgtool_verify(bytes(tampered), pem, tmp_path).returncode != 0
    other = tmp_path / "other.pem"
    other_key = software_keys.public_key(P256 if kind == ED25519 else ED25519)
    assert imgtool_verify(image.data, _public_pem(other_key, other), tmp_path).returncode != 0


def test_token_image_header_is_the_boards_shape(token_keys: dict[str, str]) -> None:
    image, _ = _sign_with(token_keys[P256])
    layout = parse_layout(image.data)
    assert (layout.header_size, layout.load_address, layout.image_size) == \
        (0x200, 0x20240000, len(PAYLOAD))
    assert layout.flags == 0x20  # RAM_LOAD (MCUboot image.h IMAGE_F_RAM_LOAD)
    assert layout.version == (1, 2, 3, 4)
    assert image.data[32:0x200] == bytes(0x200 - 32)  # header padded with the erased value


def _imgtool_signed(key_file: Path) -> bytes:
    """What `imgtool sign -k KEY` makes with the same options, through its own classes."""
    image = imgtool_image.Image(version=decode_version(BOARD.version), header_size=0x200,
                                pad_header=True, align=4, slot_size=0x80000,
                                load_addr=0x20240000, erased_val="0")
    image.payload = bytes(0x200) + PAYLOAD
    image.image_size = len(PAYLOAD)
    image.create(imgtool_keys.load(str(key_file)), "hash", None)
    return bytes(image.payload)


def test_ed25519_file_key_gives_imgtools_own_bytes(software_keys: SoftwareKeys) -> None:
    """Ed25519 is deterministic: our signer through fixed_sig equals imgtool's own signing."""
    image, _ = _sign_with(str(software_keys.path(ED25519)))
    assert image.data == _imgtool_signed(software_keys.path(ED25519))


def test_p256_file_key_differs_from_imgtool_only_in_the_signature(
        software_keys: SoftwareKeys) -> None:
    """ECDSA signatures are randomised: everything up to the signature TLV is equal."""
    image, _ = _sign_with(str(software_keys.path(P256)))
    theirs = _imgtool_signed(software_keys.path(P256))
    ours_tlvs, their_tlvs = _tlvs(image.data), _tlvs(theirs)
    assert image.data[:parse_layout(image.data).hashed_end] == \
        theirs[:parse_layout(theirs).hashed_end]
    assert {k: v for k, v in ours_tlvs.items() if k != TLV_ECDSA} == \
        {k: v for k, v in their_tlvs.items() if k != TLV_ECDSA}


def test_no_key_gives_a_hash_only_image(tmp_path: Path) -> None:
    image = make_image(PAYLOAD, BOARD)
    assert set(_tlvs(image.data)) == {TLV_SHA256}
    assert image.identity is None and image.signature is None
    assert imgtool_verify(image.data, None, tmp_path).returncode == 0


def test_security_counter_is_a_protected_tlv_inside_the_signed_region(
        software_keys: SoftwareKeys, tmp_path: Path) -> None:
    options = McubootOptions(version="2.0.0", security_counter=7)
    signer = open_signer(str(software_keys.path(P256)))
    image = make_image(PAYLOAD, options, signer)
    layout = parse_layout(image.data)
    assert layout.protected_size == 4 + 4 + 4  # TLV info, SEC_CNT header, uint32
    protected = image.data[layout.body.stop:layout.hashed_end]
    assert protected[-4:] == struct.pack("<I", 7)
    pem = _public_pem(software_keys.public_key(P256), tmp_path / "pub.pem")
    assert imgtool_verify(image.data, pem, tmp_path).returncode == 0


@pytest.mark.parametrize("kind", [P384, SECRET])
def test_keys_mcuboot_cannot_use_are_refused(kind: str, software_keys: SoftwareKeys) -> None:
    signer = open_signer(str(software_keys.path(kind)))
    with pytest.raises(McubootError, match="P-256") as caught:
        make_image(PAYLOAD, BOARD, signer)
    assert caught.value.option == "key"


class _WrongSigner:
    """A signer whose signatures do not match its public key (a mispaired token key)."""

    def __init__(self, real: Signer) -> None:
        self._real = real

    @property
    def identity(self) -> SignerIdentity:
        return self._real.identity

    def sign(self, tbs: bytes) -> bytes:
        return self._real.sign(tbs + b"!")

    def close(self) -> None:
        self._real.close()


@pytest.mark.parametrize("kind", [P256, ED25519])
def test_a_signature_that_does_not_verify_is_refused(kind: str,
                                                     software_keys: SoftwareKeys) -> None:
    signer = _WrongSigner(open_signer(str(software_keys.path(kind))))
    with pytest.raises(McubootError, match="does not verify"):
        make_image(PAYLOAD, BOARD, signer)


@pytest.mark.parametrize(("options", "option"), [
    (McubootOptions(version="1.2.x"), "version"),
    (McubootOptions(version="256.0.0"), "version"),
    (McubootOptions(header_size=16), "header-size"),
    (McubootOptions(ram_load=True), "ram-load"),
    (McubootOptions(load_address=1 << 32), "load-address"),
    (McubootOptions(align=3), "align"),
    (McubootOptions(erased_value=7), "erased-value"),
    (McubootOptions(security_counter="soon"), "security-counter"),
    (McubootOptions(security_counter=-1), "security-counter"),
    (McubootOptions(slot_size=4096), "image"),  # image + trailer over the slot
])
def test_bad_options_name_the_option(options: McubootOptions, option: str) -> None:
    with pytest.raises(McubootError) as caught:
        make_image(PAYLOAD, options)
    assert caught.value.option == option
    assert "\n" not in str(caught.value)


def test_rom_fixed_address_without_ram_load() -> None:
    image = make_image(PAYLOAD, McubootOptions(load_address=0x10000))
    layout = parse_layout(image.data)
    assert layout.load_address == 0x10000 and layout.flags == 0x100  # IMAGE_F_ROM_FIXED


@pytest.mark.parametrize("data", [b"", b"\x3d\xb8\xf3\x96" + bytes(28), bytes(64),
                                  struct.pack("<IIHHIIBBHII", 0x96F3B83D, 0, 32, 0, 1 << 20, 0,
                                              0, 0, 0, 0, 0)])
def test_parse_layout_refuses_what_is_not_an_image(data: bytes) -> None:
    with pytest.raises(McubootError):
        parse_layout(data)


def test_public_key_of_a_token_key_is_the_one_in_the_image(token_keys: dict[str, str]) -> None:
    image, _ = _sign_with(token_keys[ED25519])
    token_public = public_key_for(parse_key_reference(token_keys[ED25519]), None)[0]
    der = token_public.public_bytes(serialization.Encoding.DER,
                                    serialization.PublicFormat.SubjectPublicKeyInfo)
    assert _tlvs(image.data)[TLV_KEYHASH] == hashlib.sha256(der).digest()
