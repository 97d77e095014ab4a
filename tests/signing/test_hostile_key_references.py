"""Hostile key references and recipient key files (issue 16): a recipient COSE_Key whose alg
is an array or a map, a key path with a NUL or naming an unknown user's home. Each is a
typed refusal (exit 2 from the CLI), never TypeError, ValueError or RuntimeError."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import cbor2
import pytest

from signing.errors import KeyFileError, KeyReferenceError
from signing.keyref import parse_key_reference
from signing.recipients import read_recipient_file
from suit.errors import WorkbenchError
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.signing.cli import suitwb


@pytest.mark.parametrize("alg", [[5], {1: 2}, True, 1.5])
def test_a_recipient_cose_key_with_an_alg_of_the_wrong_type_is_a_key_file_error(
        tmp_path: Path, alg: Any) -> None:
    # An array or a map was TypeError (unhashable) from `alg in _HMAC`: exit 70 in build.
    key = tmp_path / "kek.cose"
    key.write_bytes(cbor2.dumps({1: 4, 3: alg, -1: b"k" * 16}))
    with pytest.raises(KeyFileError, match="alg"):
        read_recipient_file(str(key))


@pytest.mark.parametrize("text", ["~nosuch-user-here/k.pem", "a\0b.pem", "~\0/k"])
def test_an_unusable_key_path_is_a_key_reference_error(text: str) -> None:
    # "~name" of no user was RuntimeError from Path.expanduser; a NUL was ValueError.
    with pytest.raises(KeyReferenceError):
        parse_key_reference(text)


def test_sign_with_a_key_in_an_unknown_users_home_is_exit_2(tmp_path: Path) -> None:
    result = suitwb("sign", MANIFEST_SPEC / "example0-unsigned.cbor", "--key",
                    "~nosuch-user-here/k.pem", "-o", tmp_path / "out.suit", data_dir=tmp_path,
                    check=False)
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("suitwb: error: ") and "Traceback" not in result.stderr


def test_random_key_references_are_parsed_or_refused_typed() -> None:
    rng = random.Random(7512)
    parts = ["pkcs11:", "token=", "object=", "id=", "type=", "module-path=", "pin-value=",
             "%", "%zz", "%e9", "%c3%a9", "%ff", ";", "?", "&", "=", "~", "/", "\0", "\n",
             "slot-id=", "x-vendor=", "é", "a"]
    for _ in range(3_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randrange(1, 10)))
        try:
            parse_key_reference(text)
        except WorkbenchError:
            pass
