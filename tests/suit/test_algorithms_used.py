"""Which profile an envelope fits, and hostile encryption infos: `inspect` and `lint`
report them without raising (an untyped exception there would be a crash of `inspect`)."""

from __future__ import annotations

import dataclasses

import cbor2
import pytest

from suit.algorithms_used import encryption_infos, envelope_profiles
from suit.codec import decode_envelope, encode_envelope
from suit.digest import digest_of
from suit.lint import lint_envelope
from suit.model import (
    AuthenticationWrapper,
    Command,
    CommandItem,
    CommandSequence,
    EmbeddedCbor,
    Envelope,
    Manifest,
    Parameter,
)
from suit.render import inspect_summary, summary_text
from suit.verify import manifest_bstr
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION as FE


def _with_info(info: bytes) -> Envelope:
    base = decode_envelope((FE / "suit-manifest-es-ecdh-content.cbor").read_bytes())
    install = CommandSequence((CommandItem(Command.OVERRIDE_PARAMETERS, {Parameter.ENCRYPTION_INFO: EmbeddedCbor(info)}),
                               CommandItem(Command.WRITE, 15)))
    manifest: Manifest = dataclasses.replace(base.manifest, install=install)
    envelope = Envelope(AuthenticationWrapper(digest_of(manifest_bstr(manifest))), manifest)
    return decode_envelope(encode_envelope(envelope))


def test_published_ecdh_example_fits_its_profile() -> None:
    envelope = decode_envelope((FE / "suit-manifest-es-ecdh-content.cbor").read_bytes())
    assert [p.name for p in envelope_profiles(envelope)] == ["suit-sha256-esp256-ecdh-a128gcm"]
    [info] = encryption_infos(envelope)
    assert (info.algorithm, info.detached, info.where) == (1, True, "install, component 0")
    assert [(r.algorithm, r.kid, r.ephemeral_curve) for r in info.recipients] == [(-29, b"kid-2", "P-256")]


@pytest.mark.parametrize("info,problem", [
    (cbor2.dumps(5), "encryption-info"),
    (cbor2.dumps(cbor2.CBORTag(18, [b"", {}, None, b""])), "not a COSE_Encrypt"),
    (cbor2.dumps([1, 2]), "encryption-info"),
])
def test_hostile_encryption_info_is_reported_not_raised(info: bytes, problem: str) -> None:
    envelope = _with_info(info)
    [summary] = encryption_infos(envelope)
    assert summary.problem is not None and problem in summary.problem
    assert inspect_summary(envelope)["encryption"][0]["problem"] == summary.problem
    assert "encrypted" in summary_text(envelope)
    assert [f.id for f in lint_envelope(envelope) if f.id == "SUIT013"] == []  # nothing known is mixed


def test_ephemeral_key_of_another_kind_is_named_other() -> None:
    recipient = [cbor2.dumps({1: -29}), {-1: {1: 1, -1: 6, -2: b"x" * 32}}, b"w" * 24]
    info = cbor2.dumps(cbor2.CBORTag(96, [cbor2.dumps({1: 1}), {5: b"i" * 12}, None, [recipient]]))
    [summary] = encryption_infos(_with_info(info))
    assert summary.recipients[0].ephemeral_curve == "other"
