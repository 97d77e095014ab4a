"""The key-rotation envelope: the old key authorises the new trust anchor.

The envelope names one component, the device's trust-anchor store
``["suitwb", "trust-anchors"]`` (the virtual device's convention, flasher/loader/layout.py;
signing may not import flasher, so the value is repeated here and a test checks the two
agree). Its install sequence writes the new key's PEM there with directive-write and the
content parameter (M37 §8.4.10.6, UM §4), after the vendor and class conditions
(M37 §8.4.9.1-2). The device accepts it because the old key signed it; from then on the
store holds the new key in place of the old one.
"""

from __future__ import annotations

from typing import Final

from signing.envelope import BlockPolicy, sign_envelope
from signing.signer import Signer
from suit import digest as digests
from suit.codec import decode_envelope
from suit.model import (
    AuthenticationWrapper,
    Command,
    CommandItem,
    CommandSequence,
    Common,
    ComponentId,
    DigestAlgorithm,
    Envelope,
    Manifest,
    Parameter,
)
from suit.verify import manifest_bstr

TRUST_ANCHOR_COMPONENT: Final[ComponentId] = (b"suitwb", b"trust-anchors")
#: Reporting policy for the conditions and directives: a record on failure (M37 §8.4.7).
_REPORT: Final = 2


def rotation_manifest(new_anchor_pem: bytes, sequence_number: int, vendor_id: bytes,
                      class_id: bytes) -> Manifest:
    """The manifest that installs `new_anchor_pem` in the trust-anchor store."""
    shared = CommandSequence((
        CommandItem(Command.SET_COMPONENT_INDEX, 0),
        CommandItem(Command.OVERRIDE_PARAMETERS, {Parameter.VENDOR_ID: vendor_id,
                                                  Parameter.CLASS_ID: class_id}),
        CommandItem(Command.VENDOR_IDENTIFIER, _REPORT),
        CommandItem(Command.CLASS_IDENTIFIER, _REPORT),
    ))
    install = CommandSequence((
        CommandItem(Command.SET_COMPONENT_INDEX, 0),
        CommandItem(Command.OVERRIDE_PARAMETERS, {Parameter.CONTENT: new_anchor_pem}),
        CommandItem(Command.WRITE, _REPORT),
    ))
    return Manifest(sequence_number=sequence_number,
                    common=Common(components=(TRUST_ANCHOR_COMPONENT,), shared_sequence=shared),
                    install=install)


def unsigned_envelope(manifest: Manifest) -> Envelope:
    """An envelope around `manifest` with its SHA-256 digest and no signature yet."""
    digest = digests.digest_of(manifest_bstr(manifest), DigestAlgorithm.SHA256)
    return Envelope(authentication=AuthenticationWrapper(digest), manifest=manifest)


def rotation_envelope(new_anchor_pem: bytes, sequence_number: int, vendor_id: bytes,
                      class_id: bytes, old_key: Signer) -> bytes:
    """The signed rotation envelope's bytes (decoded again as a check of its encoding)."""
    manifest = rotation_manifest(new_anchor_pem, sequence_number, vendor_id, class_id)
    signed = sign_envelope(unsigned_envelope(manifest), old_key, BlockPolicy.REFUSE)
    decode_envelope(signed.data)
    return signed.data
