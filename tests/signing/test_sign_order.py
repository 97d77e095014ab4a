"""`suitwb sign` as one use case with the GUI: the output checked before signing, the result
verified before it is written, an audit record only for an output actually written; and
the key-reference defects of issue 11 (bad percent-encoding, a misleading "no such key")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pkcs11 import Attribute, KeyType, ObjectClass

from signing.errors import KeyReferenceError
from signing.keyref import parse_key_reference
from signing.token import find_key, token_session
from tests.fixtures.softhsm import SoftHsm, make_softhsm
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb

EXAMPLE = MANIFEST_SPEC / "example1-unsigned.cbor"


def _records(data_dir: Path) -> str:
    return suitwb("audit", "show", data_dir=data_dir).stdout.splitlines()[0]


def test_a_missing_output_directory_is_refused_before_signing(software_keys, softhsm: SoftHsm,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "x.suit"
    result = suitwb("sign", EXAMPLE, "-o", out, "--key", software_keys.path("P-256"),
                    data_dir=tmp_path, check=False)
    assert result.returncode == 2 and not out.exists()
    assert _records(tmp_path).endswith(": 0 record(s)")  # no record of an unwritten output
    assert "no-such-dir does not exist" in result.stderr and "Traceback" not in result.stderr
    # Checked before the key is opened: no PIN is asked for, none spent.
    token_key = softhsm.uri("release", pin=False, object="no-pin-needed")
    early = suitwb("sign", EXAMPLE, "-o", out, "--key", token_key, data_dir=tmp_path,
                   check=False)
    assert early.returncode == 2 and "does not exist" in early.stderr and "PIN" not in early.stderr
    directory = suitwb("sign", EXAMPLE, "-o", tmp_path, "--key", software_keys.path("P-256"),
                       data_dir=tmp_path, check=False)
    assert directory.returncode == 2 and "is a directory" in directory.stderr


def test_written_output_is_recorded_and_no_staged_file_is_left(software_keys,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "out" / "signed.suit"
    out.parent.mkdir()
    result = suitwb("sign", EXAMPLE, "-o", out, "--key", software_keys.path("Ed25519"),
                    data_dir=tmp_path)
    assert "verified, audit record 1" in result.stdout
    assert os.listdir(out.parent) == ["signed.suit"]
    assert _records(tmp_path).endswith(": 1 record(s)")


@pytest.mark.parametrize("target", ["input", "fifo", "link-to-dev-null"])
def test_sign_refuses_its_input_and_non_regular_outputs_before_signing(
        target: str, software_keys, tmp_path: Path) -> None:
    source = tmp_path / "in.suit"
    source.write_bytes(EXAMPLE.read_bytes())
    out = {"input": source, "fifo": tmp_path / "fifo", "link-to-dev-null": tmp_path / "null"}[target]
    if target == "fifo":
        os.mkfifo(out)
    elif target == "link-to-dev-null":
        out.symlink_to("/dev/null")
    result = suitwb("sign", source, "-o", out, "--key", software_keys.path("P-256"),
                    data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "refusing" in result.stderr
    assert source.read_bytes() == EXAMPLE.read_bytes()
    assert _records(tmp_path).endswith(": 0 record(s)")


def _mismatched_pair(softhsm: SoftHsm, label: str) -> str:
    """A token key whose CKA_ID-paired public key is another key's: every signature it
    makes fails verification against the public key the signer reports."""
    uri = softhsm.uri("operator", object=label)
    suitwb("keys", "generate", "--key", uri, "--alg", "ESP256", data_dir=softhsm.directory)
    suitwb("keys", "generate", "--key", softhsm.uri("operator", object=label + "-other"),
           "--alg", "ESP256", data_dir=softhsm.directory)
    with token_session(parse_key_reference(uri), None, rw=True) as session:  # type: ignore[arg-type]
        own = find_key(session, parse_key_reference(uri), "public")  # type: ignore[arg-type]
        other = find_key(session, parse_key_reference(softhsm.uri(  # type: ignore[arg-type]
            "operator", object=label + "-other")), "public")
        key_id, point, params = own[Attribute.ID], other[Attribute.EC_POINT], own[Attribute.EC_PARAMS]
        own.destroy()
        session.create_object({Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC,
                               Attribute.TOKEN: True, Attribute.ID: key_id, Attribute.LABEL: label,
                               Attribute.EC_PARAMS: params, Attribute.EC_POINT: point})
    return uri


def test_cli_sign_verifies_before_it_writes(softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = _mismatched_pair(softhsm, "mismatched")
    out = tmp_path / "x.suit"
    result = suitwb("sign", EXAMPLE, "-o", out, "--key", uri, data_dir=tmp_path, check=False)
    assert result.returncode == 1, result.stdout
    assert "no authentication block verifies" in result.stderr and "does not verify" in result.stderr
    assert "Traceback" not in result.stderr and not out.exists()
    assert not any(".staged" in p.name for p in tmp_path.iterdir())
    assert _records(tmp_path).endswith(": 0 record(s)")


def test_bad_percent_encoding_is_refused_and_costs_no_login(software_keys,
                                                            tmp_path: Path) -> None:
    with pytest.raises(KeyReferenceError, match="'pin-value' has a '%' not followed"):
        parse_key_reference("pkcs11:token=t;object=k?pin-value=Pin%zz")
    with pytest.raises(KeyReferenceError, match="'object' has a '%'"):
        parse_key_reference("pkcs11:token=t;object=k%4")
    assert parse_key_reference("pkcs11:token=t;object=k?pin-value=a%25b").pin_value == "a%b"  # type: ignore[union-attr]
    # A SoftHSM2 of its own, so the tokens' failed-login flags start clear.
    hsm = make_softhsm(tmp_path / "hsm")
    env = {"SOFTHSM2_CONF": str(hsm.conf)}
    base = f"pkcs11:token=%s;object=k?module-path={hsm.module}&pin-value=%s"
    bad = suitwb("sign", EXAMPLE, "-o", tmp_path / "x.suit", "--key",
                 base % ("release", hsm.user_pin + "%zz"), data_dir=tmp_path, env=env, check=False)
    assert bad.returncode == 2 and "not followed by two hex digits" in bad.stderr
    assert hsm.user_pin not in bad.stderr and "Traceback" not in bad.stderr
    wrong = suitwb("sign", EXAMPLE, "-o", tmp_path / "x.suit", "--key",
                   base % ("operator", "wrong"), data_dir=tmp_path, env=env, check=False)
    assert wrong.returncode == 2 and "PIN or passphrase incorrect" in wrong.stderr
    # SoftHSM2 sets CKF_USER_PIN_COUNT_LOW after a failed C_Login: the wrong PIN was tried
    # on "operator"; the malformed one never reached "release".
    assert _pin_count_low(hsm) == {"release": False, "operator": True}


def _pin_count_low(hsm: SoftHsm) -> dict[str, bool]:
    probe = ("import json, sys, pkcs11; lib = pkcs11.lib(sys.argv[1]); print(json.dumps("
             "{t.label.strip(): bool(t.flags & pkcs11.TokenFlag.USER_PIN_COUNT_LOW) "
             "for t in lib.get_tokens() if t.label.strip()}))")
    result = subprocess.run([sys.executable, "-c", probe, hsm.module], capture_output=True,
                            text=True, check=True, timeout=60,
                            env={**os.environ, "SOFTHSM2_CONF": str(hsm.conf)})
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_no_such_key_names_the_reference_as_given(softhsm: SoftHsm, tmp_path: Path) -> None:
    uri = softhsm.uri("release", object="absent-key")
    result = suitwb("sign", EXAMPLE, "-o", tmp_path / "x.suit", "--key", uri, data_dir=tmp_path,
                    check=False)
    assert "no such key" in result.stderr and "type=" not in result.stderr
    assert "pkcs11:token=release;object=absent-key" in result.stderr
    typed = suitwb("sign", EXAMPLE, "-o", tmp_path / "x.suit", "--key",
                   softhsm.uri("release", object="absent-key", type="private"),
                   data_dir=tmp_path, check=False)
    assert "no such key: pkcs11:token=release;object=absent-key;type=private" in typed.stderr
