"""The stateful HSS-LMS signer (signing/hsslms.py, issue 16): signatures that a second
implementation accepts, indices that only ever move forward, refusal of a state restored
from a backup or copied elsewhere, exhaustion, and the remaining count `keys list` shows."""

from __future__ import annotations

import shutil
from pathlib import Path

import hsslms as second_implementation
import pytest

from signing import hsslms
from signing.backends import open_signer
from signing.errors import KeyExhausted, KeyFileError, KeyStateCopied, KeyStateRestored
from suit.hsslms import parse_hss_signature, verify_hss
from tests.signing.cli import suitwb
from tests.signing.hsslms_keys import small_key

EXAMPLE = Path(__file__).resolve().parents[1] / "vectors" / "manifest-spec" / "example0-unsigned.cbor"


def _indices(signature: bytes) -> list[int]:
    return [s.q for s in parse_hss_signature(signature).signatures]


def test_two_levels_sign_across_tree_renewals_and_a_second_implementation_agrees(
        tmp_path: Path) -> None:
    state, log = small_key(tmp_path / "k.hss", tmp_path / "data", levels=2)
    signer = hsslms.HssLmsSigner(tmp_path / "k.hss", log)
    public = state.public_key
    seen: list[tuple[bytes, int]] = []
    for n in range(70):  # over two bottom trees of 32
        message = b"manifest %d" % n
        signature = signer.sign(message)
        assert verify_hss(public, message, signature)
        second_implementation.HSS_Pub(public.encoded).verify(message, signature)
        bottom = parse_hss_signature(signature).public_keys[-1][8:24]  # the bottom tree's I
        seen.append((bottom, _indices(signature)[-1]))
    assert len(set(seen)) == 70  # no (tree, leaf) twice
    assert [q for _, q in seen[:32]] == list(range(32))
    assert hsslms.status(tmp_path / "k.hss", log).remaining == 32 * 32 - 70


def test_a_backup_put_back_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k.hss"
    _, log = small_key(path, tmp_path / "data")
    signer = hsslms.HssLmsSigner(path, log)
    signer.sign(b"one")
    shutil.copy2(path, tmp_path / "backup")
    signer.sign(b"two")
    shutil.copy2(tmp_path / "backup", path)  # restore the backup over the key
    with pytest.raises(KeyStateRestored, match="older than state"):
        signer.sign(b"three")
    with pytest.raises(KeyStateRestored):
        hsslms.HssLmsSigner(path, log)
    assert "older than" in hsslms.status(path, log).problem


def test_the_cli_refuses_a_restored_key_with_exit_1_and_one_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    key = tmp_path / "k.hss"
    small_key(key, data)
    shutil.copy2(key, tmp_path / "backup")
    suitwb("sign", EXAMPLE, "-o", tmp_path / "a.suit", "--key", key, data_dir=data)
    shutil.copy2(tmp_path / "backup", key)
    result = suitwb("sign", EXAMPLE, "-o", tmp_path / "b.suit", "--key", key, data_dir=data,
                    check=False)
    assert result.returncode == 1
    assert "restored from a backup" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "b.suit").exists()


def test_a_copy_on_another_path_or_machine_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "k.hss"
    _, log = small_key(path, tmp_path / "data")
    shutil.copy2(path, tmp_path / "copy.hss")
    with pytest.raises(KeyStateCopied, match="another file or on another machine"):
        hsslms.HssLmsSigner(tmp_path / "copy.hss", log)
    # The same file on another machine: another journal, which never saw the key.
    with pytest.raises(KeyStateCopied, match="no record of the key"):
        hsslms.HssLmsSigner(path, hsslms.journal(tmp_path / "elsewhere"))
    monkeypatch.setattr(hsslms, "host_id", lambda: "another-machine")
    with pytest.raises(KeyStateCopied):
        hsslms.HssLmsSigner(path, log)


def test_an_exhausted_key_refuses_and_says_so(tmp_path: Path) -> None:
    path = tmp_path / "k.hss"
    _, log = small_key(path, tmp_path / "data")
    signer = hsslms.HssLmsSigner(path, log)
    assert sorted(_indices(signer.sign(b"%d" % n))[0] for n in range(32)) == list(range(32))
    assert hsslms.status(path, log).remaining == 0
    with pytest.raises(KeyExhausted, match="all 32 signatures are used"):
        signer.sign(b"one too many")


def test_generate_never_overwrites_and_open_signer_finds_the_key(tmp_path: Path) -> None:
    path = tmp_path / "k.hss"
    small_key(path, tmp_path / "data")
    with pytest.raises(KeyFileError, match="never overwritten"):
        small_key(path, tmp_path / "data")
    assert hsslms.is_hss_lms_file(path)


def test_a_damaged_state_file_is_a_key_file_error(tmp_path: Path) -> None:
    path = tmp_path / "k.hss"
    small_key(path, tmp_path / "data")
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    with pytest.raises(KeyFileError, match="unusable HSS-LMS state"):
        hsslms.load(path)


def test_cli_generate_sign_verify_list(tmp_path: Path) -> None:
    data, key = tmp_path / "data", tmp_path / "release.hss"
    out = suitwb("keys", "generate", "--type", "hss-lms", "-o", key, "--lms",
                 "LMS_SHA256_M32_H5", "--lmots", "LMOTS_SHA256_N32_W2", data_dir=data).stdout
    assert "32 signatures" in out
    suitwb("sign", EXAMPLE, "-o", tmp_path / "s.suit", "--key", key, data_dir=data)
    verified = suitwb("verify", tmp_path / "s.suit", "--key", f"{key}.pub.cose", data_dir=data)
    assert "HSS-LMS (-46)" in verified.stdout + verified.stderr
    inspected = suitwb("inspect", tmp_path / "s.suit", data_dir=data).stdout
    assert "COSE_Sign1 HSS-LMS" in inspected
    listed = suitwb("keys", "list", data_dir=data, check=False).stdout
    assert f"{key}" in listed and "31 of 32 signatures left" in listed
    # The audit record names the state the signature was made under, as the journal does.
    state = hsslms.load(key)
    audit = suitwb("audit", "show", data_dir=data).stdout
    assert f"key {key} (HSS-LMS state 1 {state.state_id.hex()})" in audit
    found = hsslms.journal(data).last_matching("kid", hsslms.thumbprint(state.public_key).hex())
    assert found is not None and found.fields["state_id"] == state.state_id.hex()


def test_open_signer_refuses_another_algorithm_for_an_hss_key(tmp_path: Path) -> None:
    from signing.errors import WrongKeyType
    from suit.cose import CoseAlgorithm
    small_key(tmp_path / "k.hss", tmp_path / "data")
    with pytest.raises(WrongKeyType):
        open_signer(str(tmp_path / "k.hss"), CoseAlgorithm.ESP256)


def test_the_journal_finds_a_keys_latest_record(tmp_path: Path) -> None:
    state, log = small_key(tmp_path / "a.hss", tmp_path / "data")
    small_key(tmp_path / "b.hss", tmp_path / "data")
    kid = hsslms.thumbprint(state.public_key).hex()
    hsslms.HssLmsSigner(tmp_path / "a.hss", log).sign(b"m")
    found = log.last_matching("kid", kid)
    assert found is not None and found.fields["serial"] == "1" and found.seq == 3
    assert log.last_matching("kid", "00" * 32) is None
    with pytest.raises(ValueError, match="not a field"):
        log.last_matching("kid = kid OR 1", "x")


def test_a_classical_and_an_hss_lms_block_in_one_envelope(tmp_path: Path) -> None:
    """Hybrid-ready: ESP256 then HSS-LMS blocks side by side, each verifying with its key."""
    from signing.envelope import sign_envelope
    from suit.codec import decode_envelope
    from suit.keys import TrustAnchor
    from suit.verify import check_envelope
    from tests.fixtures.vectors import SPEC_KEY_PRIVATE, SPEC_KEY_PUBLIC
    state, log = small_key(tmp_path / "k.hss", tmp_path / "data")
    envelope = decode_envelope(EXAMPLE.read_bytes())
    first = sign_envelope(envelope, open_signer(str(SPEC_KEY_PRIVATE)))
    both = sign_envelope(decode_envelope(first.data), hsslms.HssLmsSigner(tmp_path / "k.hss", log))
    anchors = [TrustAnchor.load(Path(SPEC_KEY_PUBLIC).read_bytes(), "p256"),
               TrustAnchor("hss", public_key=state.public_key)]
    report = check_envelope(decode_envelope(both.data), anchors)
    assert [(b.algorithm, b.verified_by) for b in report.blocks] == [(-9, "p256"), (-46, "hss")]
