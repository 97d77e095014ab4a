"""The transcript's hash chain and signature, with an in-memory key (no token needed:
the chain and COSE checks are the same whoever holds the key)."""

from __future__ import annotations

import copy
import hashlib
import json

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from signing.ceremony.checking import load_transcript, verify_transcript
from signing.ceremony.errors import TranscriptError
from signing.ceremony.transcript import (
    CONTENT_TYPE,
    Transcript,
    canonical,
    entry_hash,
    sign_transcript,
)
from signing.signer import SignerIdentity
from signing.software import SoftwareSigner
from suit.cose import (
    SIGNATURE_ALGORITHMS,
    CoseAlgorithm,
    CoseHeader,
    decode_cose,
    ecdsa_raw_to_der,
    sig_structure,
)
from suit.keys import TrustAnchor, encode_cose_key


def _signer(kid: bytes = b"k1") -> SoftwareSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    identity = SignerIdentity(SIGNATURE_ALGORITHMS[CoseAlgorithm.ESP256], kid, "memory",
                              key.public_key())
    return SoftwareSigner(key, identity)


def _transcript(signer: SoftwareSigner) -> Transcript:
    t = Transcript({"ceremony": {"name": "test"}, "instance": "abc"})
    t.append("step", "open", "2026-01-01T00:00:00.000Z", {"number": 1, "text": "Open."})
    t.append("confirmation", "open", "2026-01-01T00:00:01.000Z",
             {"person": "Alice", "accepted": True, "initials": "A"})
    public = signer.identity.public_key
    t.append("artefact", "export", "2026-01-01T00:00:02.000Z",
             {"file": "k.cose_key", "cose_key": encode_cose_key(public, b"k1").hex()})
    t.append("end", "finish", "2026-01-01T00:00:03.000Z", {"status": "completed"})
    sign_transcript(t, signer)
    return t


def test_each_hash_is_sha256_of_prev_and_canonical_entry() -> None:
    t = _transcript(_signer())
    assert t.entries[0]["prev"] == hashlib.sha256(canonical(t.header)).hexdigest()
    for before, entry in zip(t.entries, t.entries[1:], strict=False):
        body = {k: v for k, v in entry.items() if k != "hash"}
        assert entry["prev"] == before["hash"]
        assert entry["hash"] == hashlib.sha256(bytes.fromhex(before["hash"])
                                               + canonical(body)).hexdigest()
        assert entry_hash(entry["prev"], entry) == entry["hash"]


def test_signature_is_a_cose_sign1_over_the_head() -> None:
    signer = _signer()
    t = _transcript(signer)
    message = decode_cose(bytes.fromhex(t.signature["cose_sign1"]))
    assert message.protected_header[CoseHeader.CONTENT_TYPE] == CONTENT_TYPE
    assert message.kid == b"k1" and message.algorithm == CoseAlgorithm.ESP256
    tbs = sig_structure("Signature1", message.protected, bytes.fromhex(t.head))
    # Checked with `cryptography` directly, not through the code under test.
    signer.identity.public_key.verify(ecdsa_raw_to_der(message.signature), tbs,
                                      ec.ECDSA(hashes.SHA256()))


def test_a_signed_transcript_verifies_and_names_its_key() -> None:
    signer = _signer()
    report = verify_transcript(_transcript(signer).to_json(),
                               TrustAnchor("anchor", public_key=signer.identity.public_key))
    assert report.status == "completed" and report.entries == 4 and report.signer_kid == "6b31"


def _tampered(edit) -> bytes:
    document = json.loads(_transcript(_signer()).to_json())
    edit(document)
    return json.dumps(document).encode()


@pytest.mark.parametrize(("edit", "message"), [
    (lambda d: d["entries"][1]["data"].update(initials="X"), "entry 1 .* altered"),
    (lambda d: d["entries"][0].update(time="2027-01-01T00:00:00.000Z"), "entry 0"),
    (lambda d: d["header"]["ceremony"].update(name="other"), "entry 0: does not chain"),
    (lambda d: d["entries"].pop(1), "sequence number|does not chain"),
    (lambda d: d["entries"].reverse(), "status or head|sequence"),
    (lambda d: d.update(status="aborted"), "stated status"),
    (lambda d: d["signature"].update(cose_key=encode_cose_key(
        ec.generate_private_key(ec.SECP256R1()).public_key()).hex()), "not one the ceremony"),
    (lambda d: d.update(signature=None), "not signed"),
    (lambda d: d.update(format="other/1"), "not a suitwb"),
])
def test_any_tampering_fails_verification(edit, message: str) -> None:
    with pytest.raises(TranscriptError, match=message):
        verify_transcript(_tampered(edit))


def test_a_consistently_rehashed_forgery_still_fails_on_the_signature() -> None:
    # An attacker who edits an entry and recomputes every hash after it cannot re-sign.
    t = _transcript(_signer())
    forged = copy.deepcopy(t)
    forged.entries[1]["data"]["initials"] = "X"
    prev = forged.genesis
    for entry in forged.entries:
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(prev, entry)
    forged.signature = dict(t.signature, head=forged.head)
    with pytest.raises(TranscriptError, match="does not verify"):
        verify_transcript(forged.to_json())


def test_another_trust_anchor_is_refused() -> None:
    other = TrustAnchor("other", public_key=ec.generate_private_key(ec.SECP256R1()).public_key())
    with pytest.raises(TranscriptError, match="another key than the trust anchor"):
        verify_transcript(_transcript(_signer()).to_json(), other)


def test_an_aborted_transcript_is_reported_with_its_reason() -> None:
    t = Transcript({"ceremony": {"name": "test"}})
    t.append("step", "open", "t", {})
    t.append("end", "open", "t", {"status": "aborted", "reason": "Bob refused: wrong serial"})
    report = verify_transcript(t.to_json())
    assert (report.status, report.abort_reason) == ("aborted", "Bob refused: wrong serial")
    with pytest.raises(TranscriptError, match="already aborted"):
        t.append("step", "more", "t", {})


def test_not_json_is_a_typed_error() -> None:
    with pytest.raises(TranscriptError, match="not JSON"):
        load_transcript(b"\xff\x00")
