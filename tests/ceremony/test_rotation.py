"""Acceptance: the rotation ceremony, then flashing the virtual device, shows the device
switching trust anchors. Every step is a real `suitwb` subprocess on the session's
SoftHSM2 and a virtual device served on a pty (the full recovery protocol)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from flasher.loader.layout import TRUST_ANCHOR_COMPONENT
from signing.ceremony.rotation import TRUST_ANCHOR_COMPONENT as CEREMONY_COMPONENT
from suit.codec import decode_envelope
from suit.errors import SignatureInvalid
from suit.keys import TrustAnchor
from suit.model import Command, Parameter
from suit.verify import verify_envelope
from tests.ceremony.conftest import EXAMPLES, write_ceremony
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update

URI = "http://example.com/app.bin"


@dataclass(frozen=True)
class Rotated:
    """Two ceremonies run, and one app update signed by each key."""

    tmp: Path
    old: Path  # the root-key ceremony's outputs
    new: Path  # the rotation ceremony's outputs
    image: Path
    by_new: Path
    by_old: Path


def _ceremony(tmp: Path, example: str, answers: str, out: str, labels: dict[str, str]) -> Path:
    ceremony = write_ceremony(tmp, example, labels)
    answers_file = tmp / f"{example}.answers.toml"
    answers_file.write_text(answers)
    suitwb("ceremony", "run", ceremony, "--answers", answers_file, "--out", tmp / out,
           data_dir=tmp)
    return tmp / out


@pytest.fixture(scope="module")
def rotated(softhsm, tmp_path_factory: pytest.TempPathFactory) -> Rotated:
    tmp = tmp_path_factory.mktemp("rotation")
    old_label, new_label = "rot-old-2026", "rot-new-2027"
    old = _ceremony(tmp, "root-key.toml", (EXAMPLES / "root-key.answers.toml").read_text(),
                    "old", {'token_label = "suit-root-2026"': f'token_label = "{old_label}"'})
    answers = ('[rehearsal]\nconfirm_all = true\n[answers.sign-rotation]\n'
               'old_shares = ["old/shares/carol-custodian.share.json", '
               '"old/shares/erin-custodian.share.json"]\n')
    new = _ceremony(tmp, "rotate-key.toml", answers, "new", {
        'token_label = "suit-root-2027"': f'token_label = "{new_label}"',
        'old_token_label = "suit-root-2026"': f'old_token_label = "{old_label}"'})
    image = image_of(8 * 1024, seed=8)
    (tmp / "app.bin").write_bytes(image)
    unsigned = tmp / "app-unsigned.suit"
    signed = {}
    for name, out, number in (("new", new, 101), ("old", old, 102)):
        unsigned.write_bytes(app_update(number, image, uri=URI, signed=False).envelope())
        shares = sorted((out / "shares").glob("*.share.json"))[:2]
        signed[name] = tmp / f"app-by-{name}.suit"
        suitwb("ceremony", "unlock", "--share", shares[0], "--share", shares[1],
               "--sign", unsigned, "-o", signed[name], data_dir=tmp)
    return Rotated(tmp, old, new, tmp / "app.bin", signed["new"], signed["old"])


def _flash(rotated: Rotated, bundle: Path, port: str) -> dict:
    result = suitwb("flash", bundle, "--port", port, "--payload", f"{URI}={rotated.image}",
                    "--json", data_dir=rotated.tmp, check=False)
    [outcome] = json.loads(result.stdout)
    return outcome


def test_the_rotation_envelope_installs_the_new_key_and_verifies_with_the_old(
        rotated: Rotated) -> None:
    assert CEREMONY_COMPONENT == TRUST_ANCHOR_COMPONENT  # the device's convention
    envelope = decode_envelope((rotated.new / "rotation.suit").read_bytes())
    old = TrustAnchor.from_pem((rotated.old / "suit-root.pem").read_bytes(), "old")
    new_pem = (rotated.new / "suit-root-2.pem").read_bytes()
    new = TrustAnchor.from_pem(new_pem, "new")
    assert verify_envelope(envelope, [old]).ok
    with pytest.raises(SignatureInvalid):
        verify_envelope(envelope, [new])
    assert envelope.manifest.common.components == (TRUST_ANCHOR_COMPONENT,)
    assert envelope.manifest.sequence_number == 100
    commands = envelope.manifest.install.commands
    assert [c.command for c in commands] == [Command.SET_COMPONENT_INDEX,
                                             Command.OVERRIDE_PARAMETERS, Command.WRITE]
    assert commands[1].argument[Parameter.CONTENT] == new_pem


def test_both_transcripts_verify_and_record_the_old_key_unlock(rotated: Rotated) -> None:
    for out, key in ((rotated.old, "suit-root"), (rotated.new, "suit-root-2")):
        result = suitwb("ceremony", "verify", out / "transcript.json", "--anchor",
                        out / f"{key}.pem", "--json", data_dir=rotated.tmp)
        assert json.loads(result.stdout)["status"] == "completed"
    entries = json.loads((rotated.new / "transcript.json").read_text())["entries"]
    [unlocked] = [e["data"] for e in entries if e["kind"] == "old-key-unlocked"]
    assert unlocked["custodians"] == ["Carol Custodian", "Erin Custodian"]


def test_flashing_the_device_switches_its_trust_anchor(rotated: Rotated) -> None:
    state = rotated.tmp / "device-state"
    # The device is provisioned with the old ceremony's trust-anchor bundle.
    with device_serve("--state", state, "--trust-anchor", rotated.old / "trust-anchors.pem",
                      data_dir=rotated.tmp) as port:
        before = _flash(rotated, rotated.by_new, port)
        # Not trusted yet: refused as unauthorised before any payload byte.
        assert (before["result"], before["refusal"]) == ("refused", "unauthorised"), before
        assert _flash(rotated, rotated.new / "rotation.suit", port)["result"] == "ok"
        after = _flash(rotated, rotated.by_new, port)
        assert after["result"] == "ok", after
        assert after["sequence_number"] == 101
        # From then on the old key is refused, although its update is newer (102).
        refused = _flash(rotated, rotated.by_old, port)
        assert (refused["result"], refused["refusal"]) == ("refused", "unauthorised"), refused
    # Restarted with the same provisioning, the device keeps the rotated store.
    with device_serve("--state", state, "--trust-anchor", rotated.old / "trust-anchors.pem",
                      data_dir=rotated.tmp) as port:
        again = _flash(rotated, rotated.by_old, port)
        assert (again["result"], again["refusal"]) == ("refused", "unauthorised"), again
