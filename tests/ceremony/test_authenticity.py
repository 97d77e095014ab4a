"""`suitwb ceremony verify` reports success only for a transcript signed by the key the
verifier names (issue 11 item 10): a history rewritten and re-signed with an attacker's
key is "self-consistent only", with that key's thumbprint; an unsigned (aborted)
transcript is "of unknown authenticity". Real rehearsal on SoftHSM2, real subprocesses."""

from __future__ import annotations

import json
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.ceremony.transcript import Transcript, entry_hash, sign_transcript
from signing.cose_key import thumbprint
from signing.signer import SignerIdentity
from signing.software import SoftwareSigner
from suit.cose import SIGNATURE_ALGORITHMS, CoseAlgorithm
from suit.keys import encode_cose_key
from tests.ceremony.conftest import Rehearsal
from tests.flasher.cli import suitwb


def _attacker() -> SoftwareSigner:
    key = ec.generate_private_key(ec.SECP256R1())
    identity = SignerIdentity(SIGNATURE_ALGORITHMS[CoseAlgorithm.ESP256], b"mallory", "memory",
                              key.public_key())
    return SoftwareSigner(key, identity)


def _resign(original: bytes, attacker: SoftwareSigner) -> bytes:
    """Edit the history, record the attacker's key where the export step recorded the new
    key, recompute every hash, and sign the new head with the attacker's key."""
    document = json.loads(original)
    transcript = Transcript(document["header"], document["entries"])
    public = attacker.identity.public_key
    assert public is not None
    edited = 0
    for entry in transcript.entries:
        data = entry["data"]
        if entry["kind"] == "confirmation":
            data["initials"], edited = "XX", edited + 1
        if entry["kind"] == "artefact" and "cose_key" in data:
            data["cose_key"] = encode_cose_key(public, attacker.identity.kid).hex()
    assert edited
    prev = transcript.genesis
    for entry in transcript.entries:
        entry["prev"] = prev
        entry["hash"] = prev = entry_hash(prev, entry)
    sign_transcript(transcript, attacker)
    return transcript.to_json()


def _thumbprint_of(pem: Path) -> str:
    """The RFC 9679 thumbprint of the exported key: what the export step shows the witness."""
    return thumbprint(serialization.load_pem_public_key(pem.read_bytes())).hex()  # type: ignore[arg-type]


def test_a_resigned_forgery_is_never_reported_ok(rehearsal: Rehearsal, tmp_path: Path) -> None:
    attacker = _attacker()
    forged = tmp_path / "forged.json"
    forged.write_bytes(_resign(rehearsal.result.transcript.read_bytes(), attacker))
    alone = suitwb("ceremony", "verify", forged, data_dir=tmp_path, check=False)
    assert alone.returncode == 1 and "OK" not in alone.stdout
    assert "self-consistent only" in alone.stdout
    assert thumbprint(attacker.identity.public_key).hex() in alone.stdout  # type: ignore[arg-type]
    anchored = suitwb("ceremony", "verify", forged, "--anchor", rehearsal.out / "suit-root.cose_key",
                      data_dir=tmp_path, check=False)
    assert anchored.returncode == 1 and "another key than the trust anchor" in anchored.stderr
    assert "Traceback" not in alone.stderr + anchored.stderr


def test_the_genuine_transcript_needs_its_anchor_to_pass(rehearsal: Rehearsal,
                                                         tmp_path: Path) -> None:
    transcript = rehearsal.result.transcript
    alone = suitwb("ceremony", "verify", transcript, "--json", data_dir=tmp_path, check=False)
    report = json.loads(alone.stdout)
    assert alone.returncode == 1 and report["authenticity"] == "self-consistent"
    # The fingerprint named is the exported key's thumbprint, read aloud at the export step.
    assert report["signer_fingerprint"] == _thumbprint_of(rehearsal.out / "suit-root.pem")
    ok = suitwb("ceremony", "verify", transcript, "--anchor", rehearsal.out / "suit-root.pem",
                data_dir=tmp_path)
    assert ok.stdout.startswith(f"{transcript}: OK: 'SUIT root key 2026'")
    assert "signed by the trust anchor" in ok.stdout


def test_an_unsigned_aborted_transcript_is_of_unknown_authenticity(rehearsal: Rehearsal,
                                                                   tmp_path: Path) -> None:
    t = Transcript({"ceremony": {"name": "test"}})
    t.append("step", "open", "t", {})
    t.append("end", "open", "t", {"status": "aborted", "reason": "Bob refused"})
    path = tmp_path / "aborted.json"
    path.write_bytes(t.to_json())
    for anchor in ((), ("--anchor", rehearsal.out / "suit-root.pem")):
        result = suitwb("ceremony", "verify", path, *anchor, data_dir=tmp_path, check=False)
        assert result.returncode == 1
        assert "unknown authenticity: the ceremony is aborted: Bob refused" in result.stdout
    as_json = suitwb("ceremony", "verify", path, "--json", data_dir=tmp_path, check=False)
    assert json.loads(as_json.stdout)["authenticity"] == "unknown"
