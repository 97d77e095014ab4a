"""MCUboot images signed with any `Signer`: key files and PKCS#11 tokens alike.

imgtool (pinned, 2.5.0) lays out the image: header, body, protected TLVs, the SHA-256
TLV, KEYHASH and the signature TLV. Its own signing needs the private key in a file
(MCUboot issue #599), so the signature is made here with our `Signer` and handed to
imgtool's external-signature path (``fixed_sig`` + ``pub_key`` of `Image.create`):

- ECDSA P-256: imgtool 2.5.0 signs the hashed region (header, body and protected TLVs)
  with ECDSA-SHA256 and stores DER; our signers hash-then-sign the same bytes and return
  r||s, which is turned into DER here.
- Ed25519: imgtool 2.5.0 (not "pure") signs the region's SHA-256 digest with Ed25519;
  our signers sign the given bytes with PureEdDSA, so they are given that digest.

Every signature is checked with the signer's public key before the image is returned.
"""

from __future__ import annotations

import hashlib
import logging
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import click
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from imgtool import image as imgtool_image  # type: ignore[import-untyped]
from imgtool import keys as imgtool_keys
from imgtool.version import decode_version  # type: ignore[import-untyped]

from signing.errors import SigningError
from signing.signer import Signer, SignerIdentity
from suit.cose import ecdsa_raw_to_der

logger = logging.getLogger(__name__)

#: MCUboot's image header (bootutil/image.h struct image_header): magic, load address,
#: header size, protected TLV size, image size, flags, version (BBHI), pad.
HEADER: Final = struct.Struct("<IIHHIIBBHII")
IMAGE_MAGIC: Final = 0x96F3B83D
TLV_INFO: Final = struct.Struct("<HH")
TLV_INFO_MAGIC: Final = 0x6907
TLV_PROT_INFO_MAGIC: Final = 0x6908
MIN_HEADER_SIZE: Final = HEADER.size
ALIGNMENTS: Final = (1, 2, 4, 8, 16, 32)
ERASED_VALUES: Final = (0x00, 0xFF)
_VERSION: Final = re.compile(r"^(\d+)(?:\.(\d+)(?:\.(\d+)(?:\+(\d+))?)?)?$")
_VERSION_LIMITS: Final = (0xFF, 0xFF, 0xFFFF, 0xFFFFFFFF)  # major.minor.revision+build (BBHI)
_U32: Final = 0xFFFFFFFF


class McubootError(SigningError):
    """An MCUboot image that cannot be made as asked.

    Attributes:
        option: The option or step at fault (``version``, ``slot-size``, ``key``...).
        problem: What was wrong.
    """

    default_hint = "See docs/project-format.md, \"MCUboot images\"."

    def __init__(self, option: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"MCUboot {option}: {problem}", hint=hint)
        self.option = option
        self.problem = problem


@dataclass(frozen=True)
class McubootOptions:
    """The header options of `imgtool sign`, with its defaults.

    Attributes:
        version: ``major.minor.revision+build``.
        header_size: Bytes before the body (the header is padded to it).
        load_address: Where the image runs: with `ram_load`, the RAM address MCUboot
            copies it to (RAM_LOAD flag); without, a ROM-fixed address (ROM_FIXED flag).
        ram_load: Set the RAM_LOAD flag (needs a non-zero `load_address`).
        slot_size: The slot's size: the image plus trailer must fit (0: not checked).
        align: The flash write alignment, which sizes the trailer.
        erased_value: What erased flash reads as (pads the header).
        security_counter: The protected SEC_CNT TLV: a number, ``"auto"`` (from the
            version), or None for none.
    """

    version: str = "0.0.0"
    header_size: int = MIN_HEADER_SIZE
    load_address: int | None = None
    ram_load: bool = False
    slot_size: int = 0
    align: int = 1
    erased_value: int = 0xFF
    security_counter: int | str | None = None


@dataclass(frozen=True)
class McubootImage:
    """A finished MCUboot image.

    Attributes:
        data: The image bytes (what goes into the slot and what the SUIT manifest states).
        image_hash: The SHA-256 TLV: the digest of the hashed region.
        signature: The signature TLV's value, None for a hash-only image.
        identity: Who signed, None for a hash-only image.
        signature_type: imgtool's name for it (``ECDSA256_SHA256``, ``ED25519``).
    """

    data: bytes
    image_hash: bytes
    signature: bytes | None = None
    identity: SignerIdentity | None = None
    signature_type: str | None = None


def check_options(options: McubootOptions) -> None:
    """Refuse options imgtool or MCUboot would refuse, or a header field cannot hold.

    Raises:
        McubootError: naming the option.
    """
    parse_version(options.version)
    _range("header-size", options.header_size, MIN_HEADER_SIZE, 0xFFFF)
    _range("slot-size", options.slot_size, 0, _U32)
    if options.load_address is not None:
        _range("load-address", options.load_address, 0, _U32)
    if options.ram_load and not options.load_address:
        raise McubootError("ram-load", "needs a non-zero load-address",
                           hint="Give load-address = the RAM address the image runs at.")
    if options.align not in ALIGNMENTS:
        raise McubootError("align", f"{options.align} is not one of {ALIGNMENTS}")
    if options.erased_value not in ERASED_VALUES:
        raise McubootError("erased-value", f"{options.erased_value} is not 0 or 0xff")
    counter = options.security_counter
    if isinstance(counter, str) and counter != "auto":
        raise McubootError("security-counter", f"expected a number or \"auto\", found {counter!r}")
    if isinstance(counter, int):
        _range("security-counter", counter, 0, _U32)


def _range(option: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise McubootError(option, f"{value} is outside {low}..{high:#x}")


def parse_version(text: str) -> tuple[int, int, int, int]:
    """``1.2.3+4`` -> (1, 2, 3, 4), each within its header field (BBHI).

    Raises:
        McubootError: not that form, or a part too large.
    """
    match = _VERSION.match(text)
    if match is None:
        raise McubootError("version", f"{text!r} is not major.minor.revision+build",
                           hint="Write it as 1.2.3 or 1.2.3+4.")
    parts = tuple(int(p or 0) for p in match.groups())
    for part, limit in zip(parts, _VERSION_LIMITS, strict=True):
        if part > limit:
            raise McubootError("version", f"{text!r}: {part} is larger than {limit}")
    return parts[0], parts[1], parts[2], parts[3]


def make_image(payload: bytes, options: McubootOptions, signer: Signer | None = None) -> McubootImage:
    """Turn a raw binary into an MCUboot image, signed by `signer` when given.

    Without a signer the image carries the SHA-256 TLV only (``imgtool sign`` without
    ``--key``), which a bootloader built with signature type NONE accepts.

    Raises:
        McubootError: invalid options, an image too large for the slot, a key MCUboot
            cannot use, or a signature that does not verify.
        SigningError: the signer failed (wrong PIN, token removed...).
    """
    check_options(options)
    if signer is None:
        built = _create(payload, options)
        return McubootImage(bytes(built.payload), bytes(built.image_hash))
    identity = signer.identity
    public = _imgtool_public_key(identity)
    region = hashed_region(_create(payload, options).payload)
    digest = hashlib.sha256(region).digest()
    signature = _sign(signer, public, region, digest)
    built = _create(payload, options, pub_key=public, fixed_sig={"value": signature})
    if bytes(built.image_hash) != digest:  # imgtool laid out another region than it signs
        raise McubootError("signature", "the signed region changed between the two passes")
    return McubootImage(bytes(built.payload), digest, signature, identity, public.sig_type())


def _create(payload: bytes, options: McubootOptions, **signature: Any) -> Any:
    image = _new_image(payload, options)
    try:
        image.create(None, "hash", None, **signature)
    except click.ClickException as exc:  # check_trailer: image + trailer over slot-size
        raise McubootError("image", exc.format_message(),
                           hint="Give a larger slot-size or a smaller image.") from exc
    except (struct.error, ValueError) as exc:
        raise McubootError("image", f"imgtool refused it: {exc}") from exc
    return image


def _new_image(payload: bytes, options: McubootOptions) -> Any:
    image = imgtool_image.Image(
        version=decode_version(options.version), header_size=options.header_size,
        pad_header=True, align=options.align, slot_size=options.slot_size,
        load_addr=options.load_address if options.ram_load else 0,
        rom_fixed=None if options.ram_load else options.load_address or None,
        erased_val=str(options.erased_value), security_counter=options.security_counter)
    # As imgtool 2.5.0's Image.load does for a file with --pad-header, from bytes already
    # read (bounded) by the caller: the header is padded with the erased value.
    image.infile_data = payload
    image.payload = bytes([image.erased_val] * options.header_size) + payload
    image.image_size = len(payload)
    return image


def _imgtool_public_key(identity: SignerIdentity) -> Any:
    """imgtool's key class for the signer's public key: it names the TLVs and KEYHASH."""
    key, alg = identity.public_key, identity.algorithm
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1) \
            and alg.family == "ecdsa" and alg.hash_name == "sha256":
        return imgtool_keys.ECDSA256P1Public(key)
    if isinstance(key, ed25519.Ed25519PublicKey) and alg.family == "eddsa":
        return imgtool_keys.Ed25519Public(key)
    what = "no public key" if key is None else f"a {type(key).__name__}"
    raise McubootError("key", f"{identity.key_reference} has {what}; MCUboot images are "
                       "signed here with P-256 (ECDSA-SHA256) or Ed25519 keys",
                       hint="Use a P-256 or Ed25519 key file or token key (with its public "
                       "key object on the token).")


def _sign(signer: Signer, public: Any, region: bytes, digest: bytes) -> bytes:
    identity = signer.identity
    if isinstance(public, imgtool_keys.ECDSA256P1Public):
        signature = ecdsa_raw_to_der(signer.sign(region))
        _check(lambda: public.key.verify(signature, region, ec.ECDSA(hashes.SHA256())), identity)
    else:
        signature = signer.sign(digest)
        _check(lambda: public.key.verify(signature, digest), identity)
    logger.info("signed MCUboot image %s with %s", digest.hex(), identity.key_reference)
    return signature


def _check(verify: Callable[[], None], identity: SignerIdentity) -> None:
    try:
        verify()
    except (InvalidSignature, ValueError) as exc:
        raise McubootError("signature", f"{identity.key_reference} made a signature its "
                           "public key does not verify",
                           hint="Check that the token's public key object belongs to the "
                           "private key (same CKA_ID).") from exc


@dataclass(frozen=True)
class ImageLayout:
    """Where the parts of an MCUboot image lie (MCUboot's design.md, "Image format").

    Attributes:
        header_size, image_size, protected_size: The header's fields.
        flags: The header's flags (RAM_LOAD is 0x20).
        load_address: The header's load address.
        version: (major, minor, revision, build).
    """

    header_size: int
    image_size: int
    protected_size: int
    flags: int
    load_address: int
    version: tuple[int, int, int, int]

    @property
    def body(self) -> slice:
        """The raw binary's place in the image."""
        return slice(self.header_size, self.header_size + self.image_size)

    @property
    def hashed_end(self) -> int:
        """The end of the hashed region: header, body and protected TLVs."""
        return self.header_size + self.image_size + self.protected_size


def parse_layout(data: bytes | bytearray) -> ImageLayout:
    """Read an MCUboot image's header and check its TLV area starts where it says.

    Raises:
        McubootError: not an MCUboot image, or sizes that run past its end.
    """
    if len(data) < HEADER.size:
        raise McubootError("image", f"{len(data)} bytes is shorter than a header")
    magic, load, header_size, prot, size, flags, major, minor, rev, build, _ = \
        HEADER.unpack_from(data)
    if magic != IMAGE_MAGIC:
        raise McubootError("image", f"bad magic {magic:#010x}")
    layout = ImageLayout(header_size, size, prot, flags, load, (major, minor, rev, build))
    end = layout.hashed_end
    if end + TLV_INFO.size > len(data):
        raise McubootError("image", "the header's sizes run past the end of the image")
    if TLV_INFO.unpack_from(data, end)[0] != TLV_INFO_MAGIC:
        raise McubootError("image", "no TLV area where the header says")
    return layout


def hashed_region(data: bytes | bytearray) -> bytes:
    """The bytes the SHA-256 TLV and the signature cover (header, body, protected TLVs)."""
    return bytes(data[:parse_layout(data).hashed_end])
