"""Acceptance: a 2-of-3 rehearsal from an answers file, on a real SoftHSM2 token, creates
the key, exports the trust anchor, writes a transcript that verifies; any 2 shares unlock
and sign; 1 share fails; a tampered transcript fails verification."""

from __future__ import annotations

import hashlib
import itertools
import json
import stat
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, ObjectClass

from signing.ceremony.bundle import load_bundle, split_pem_bundle
from signing.ceremony.checking import verify_transcript
from signing.ceremony.errors import NotEnoughShares, SharesDoNotMatch, TranscriptError
from signing.ceremony.shares import read_share_file, rebuild_secret
from signing.ceremony.unlock import unlock
from signing.envelope import sign_envelope
from signing.token import load_module
from suit.codec import decode_envelope
from suit.keys import TrustAnchor
from suit.verify import verify_envelope
from tests.ceremony.conftest import Rehearsal, token_objects

SHARES = ("carol-custodian", "dave-custodian", "erin-custodian")


def _share_paths(rehearsal: Rehearsal, names: tuple[str, ...]) -> list[Path]:
    return [rehearsal.out / "shares" / f"{n}.share.json" for n in names]


def _entries(rehearsal: Rehearsal, kind: str) -> list[dict]:
    return [e for e in rehearsal.runner.transcript.entries if e["kind"] == kind]


def test_outputs_are_written_and_shares_are_owner_only(rehearsal: Rehearsal) -> None:
    names = set(rehearsal.result.outputs)
    assert {"suit-root.pem", "suit-root.cose_key", "trust-anchors.pem",
            "trust-anchors.cbor"} <= names
    assert {f"shares/{n}.share.json" for n in SHARES} <= names
    for name in SHARES:
        mode = stat.S_IMODE((rehearsal.out / "shares" / f"{name}.share.json").stat().st_mode)
        assert mode == 0o600


def test_the_key_was_generated_in_the_token_sensitive_and_never_extractable(
        rehearsal: Rehearsal, softhsm) -> None:
    [key] = _entries(rehearsal, "key")
    assert key["data"]["label"] == "suit-root" and key["data"]["algorithm"] == "ESP256"
    assert key["data"]["sensitive"] and key["data"]["never_extractable"]
    assert key["data"]["local"] and key["data"]["token_object"]
    assert not key["data"]["extractable"]
    serial = _entries(rehearsal, "hsm")[-1]["data"]["serial"]
    assert len(token_objects(softhsm, serial)) == 2  # the pair, as token objects on disk


def test_the_hsm_identity_is_recorded(rehearsal: Rehearsal) -> None:
    records = _entries(rehearsal, "hsm")
    assert [r["step"] for r in records] == ["record-hsm", "init-token"]
    after = records[-1]["data"]
    assert after["manufacturer"] == "SoftHSM project" and after["model"] == "SoftHSM v2"
    assert len(after["serial"]) == 16 and after["firmware"] and after["hardware"]
    assert after["label"] == rehearsal.label and after["so_pin"] == "random, destroyed"
    assert "SoftHSM" in after["library"]


def test_the_exported_trust_anchor_is_the_key_in_the_token(rehearsal: Rehearsal,
                                                           softhsm) -> None:
    pem = (rehearsal.out / "suit-root.pem").read_bytes()
    cose_key = (rehearsal.out / "suit-root.cose_key").read_bytes()
    from_pem = TrustAnchor.from_pem(pem, "pem")
    from_cose = TrustAnchor.from_cose_key(cose_key, "cose")
    assert from_pem.public_key.public_numbers() == from_cose.public_key.public_numbers()
    [key] = _entries(rehearsal, "key")
    assert from_cose.kid == bytes.fromhex(key["data"]["id"])  # kid = CKA_ID
    # The public object in the token (readable without login) holds the same point.
    token = next(load_module(softhsm.module).get_tokens(token_label=rehearsal.label))
    with token.open() as session:
        public = next(session.get_objects({Attribute.CLASS: ObjectClass.PUBLIC_KEY,
                                           Attribute.LABEL: "suit-root"}))
        point = bytes(public[Attribute.EC_POINT])
    numbers = from_pem.public_key.public_numbers()
    assert point.endswith(numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big"))
    bundle = (rehearsal.out / "trust-anchors.pem").read_bytes()
    assert split_pem_bundle(bundle) == [pem]
    for anchors in (load_bundle(bundle), load_bundle((rehearsal.out / "trust-anchors.cbor").read_bytes())):
        assert [a.public_key.public_numbers() for a in anchors] == [numbers]


def test_the_transcript_verifies_and_every_artefact_digest_matches(rehearsal: Rehearsal) -> None:
    data = rehearsal.result.transcript.read_bytes()
    anchor = TrustAnchor.from_pem((rehearsal.out / "suit-root.pem").read_bytes(), "root")
    report = verify_transcript(data, anchor)
    assert report.status == "completed" and report.head == rehearsal.result.head
    document = json.loads(data)
    assert document["header"]["ceremony"]["sha256"] == hashlib.sha256(
        document["header"]["ceremony"]["text"].encode()).hexdigest()
    artefacts = [e["data"] for e in document["entries"] if e["kind"] == "artefact"]
    assert len(artefacts) == 7
    for artefact in artefacts:
        on_disk = (rehearsal.out / artefact["file"]).read_bytes()
        assert hashlib.sha256(on_disk).hexdigest() == artefact["sha256"]
    people = [e["data"]["person"] for e in document["entries"] if e["kind"] == "confirmation"]
    assert people.count("Walter Witness") == 4  # open, record-hsm, export-root, close
    assert all(e["data"]["accepted"] for e in document["entries"] if e["kind"] == "confirmation")


@pytest.mark.parametrize("pair", list(itertools.combinations(SHARES, 2)))
def test_any_two_shares_unlock_the_key_and_sign(rehearsal: Rehearsal, pair: tuple[str, str],
                                                 vectors_dir: Path) -> None:
    unlocked = unlock(_share_paths(rehearsal, pair))
    envelope = decode_envelope((vectors_dir / "manifest-spec" / "example0-unsigned.cbor").read_bytes())
    signer = unlocked.open_signer()
    try:
        signed = sign_envelope(envelope, signer)
    finally:
        signer.close()
    anchor = TrustAnchor.from_pem((rehearsal.out / "suit-root.pem").read_bytes(), "root")
    assert verify_envelope(signed.data, [anchor]).ok


@pytest.mark.parametrize("one", SHARES)
def test_one_share_fails(rehearsal: Rehearsal, one: str) -> None:
    with pytest.raises(NotEnoughShares) as info:
        unlock(_share_paths(rehearsal, (one,)))
    assert (info.value.given, info.value.threshold) == (1, 2)


def test_an_altered_share_is_refused_before_the_token_sees_a_pin(rehearsal: Rehearsal,
                                                                  tmp_path: Path) -> None:
    document = json.loads(_share_paths(rehearsal, ("carol-custodian",))[0].read_text())
    value = bytearray.fromhex(document["shares"]["user-pin"])
    value[0] ^= 1
    document["shares"]["user-pin"] = value.hex()
    altered = tmp_path / "carol.share.json"
    altered.write_text(json.dumps(document))
    with pytest.raises(SharesDoNotMatch):
        unlock([altered, _share_paths(rehearsal, ("dave-custodian",))[0]])


def test_the_private_key_cannot_be_read_even_when_unlocked(rehearsal: Rehearsal,
                                                           softhsm) -> None:
    pin = rebuild_secret([read_share_file(p) for p in _share_paths(rehearsal, SHARES[:2])])
    token = next(load_module(softhsm.module).get_tokens(token_label=rehearsal.label))
    with token.open(user_pin=pin) as session:
        private = next(session.get_objects({Attribute.CLASS: ObjectClass.PRIVATE_KEY}))
        with pytest.raises(pkcs11.exceptions.AttributeSensitive):
            private[Attribute.VALUE]


def test_the_pin_is_written_nowhere(rehearsal: Rehearsal, softhsm) -> None:
    pin = rebuild_secret([read_share_file(p) for p in _share_paths(rehearsal, SHARES[1:])])
    files = [p for p in [*rehearsal.directory.rglob("*"), *softhsm.directory.rglob("*")]
             if p.is_file()]
    assert len(files) > 10
    for path in files:
        content = path.read_bytes()
        assert pin.encode() not in content and bytes.fromhex(pin) not in content, path


def test_a_tampered_transcript_fails_verification(rehearsal: Rehearsal) -> None:
    data = rehearsal.result.transcript.read_bytes()
    tampered = data.replace(b'"initials": "WW"', b'"initials": "XX"', 1)
    assert tampered != data
    with pytest.raises(TranscriptError, match="altered"):
        verify_transcript(tampered)
