"""The token backend logs a refused login (issue 12) with the token's name and the
token's answer, and never the PIN (STYLE.md §15, docs/signing.md)."""

from __future__ import annotations

import logging

import pytest

from signing.backends import open_signer
from signing.errors import PinIncorrect
from tests.fixtures.softhsm import SoftHsm

WRONG = "wrong-pin-4711"


def test_a_refused_login_is_logged_without_the_pin(softhsm: SoftHsm, token_keys: dict[str, str],
                                                   caplog: pytest.LogCaptureFixture) -> None:
    uri = softhsm.uri("release", pin=False, object="p256") + f"&pin-value={WRONG}"
    with caplog.at_level(logging.DEBUG), pytest.raises(PinIncorrect):
        open_signer(uri)
    [record] = [r for r in caplog.records if r.name == "signing.token"]
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "login to token 'release' refused: PinIncorrect"
    assert WRONG not in caplog.text
    assert all(WRONG not in repr(r.args) for r in caplog.records)
