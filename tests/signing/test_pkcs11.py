"""PKCS#11 key management and failures, against the session's real SoftHSM2 tokens."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import cbor2
import pytest
from cryptography.hazmat.primitives import serialization
from pkcs11 import Attribute, Mechanism
from pkcs11 import exceptions as p11

from signing.backends import open_signer
from signing.errors import (
    ExportRefused,
    KeyExists,
    KeyNotFound,
    MechanismUnsupported,
    ModuleNotFound,
    PinIncorrect,
    PinUnavailable,
    TokenNotFound,
    TokenRemoved,
    WrongKeyType,
)
from signing.keyref import Pkcs11Uri, parse_key_reference
from signing.management import export_public, generate, inventory, public_key_for
from signing.pin import FixedPinProvider
from signing.token import find_key, find_modules, token_session, translate, translated
from suit.cose import CoseAlgorithm
from tests.fixtures.softhsm import SoftHsm, make_softhsm
from tests.signing.cli import ROOT


def _ref(text: str) -> Pkcs11Uri:
    ref = parse_key_reference(text)
    assert isinstance(ref, Pkcs11Uri)
    return ref


def test_softhsm_module_is_found(softhsm: SoftHsm) -> None:
    assert softhsm.module in find_modules()


def test_inventory_lists_tokens_and_keys(softhsm: SoftHsm, token_keys: dict[str, str]) -> None:
    tokens = {e.token.label: e for e in inventory(softhsm.module, None)}
    assert {"release", "operator"} <= set(tokens)  # other tests may add tokens of their own
    release = inventory(softhsm.module, FixedPinProvider(softhsm.user_pin), token="release",
                        login=True)[0]
    assert release.logged_in and release.login_problem is None
    assert release.token.manufacturer == "SoftHSM project" and release.token.serial
    assert release.token.model.startswith("SoftHSM")
    kinds = {(k.label, k.object_type): k.kind for k in release.keys}
    assert kinds[("p256", "private")] == "P-256" and kinds[("p256", "public")] == "P-256"
    assert kinds[("ed25519", "private")] == "Ed25519" and kinds[("hmac", "secret-key")] == "secret"
    public_only = inventory(softhsm.module, None, token="release")[0]
    assert {k.object_type for k in public_only.keys} == {"public"}  # private keys need login
    wrong = inventory(softhsm.module, FixedPinProvider("wrong-pin"), token="release", login=True)[0]
    assert not wrong.logged_in and "PIN or passphrase incorrect" in str(wrong.login_problem)
    assert {k.object_type for k in wrong.keys} == {"public"}


@pytest.mark.parametrize("kind", ["P-256", "P-384", "Ed25519", "secret"])
def test_generated_keys_are_sensitive_and_not_extractable(kind: str, softhsm: SoftHsm,
                                                          token_keys: dict[str, str]) -> None:
    ref = _ref(token_keys[kind])
    with token_session(ref, None) as session:
        key = find_key(session, ref, "secret-key" if kind == "secret" else "private")
        assert key[Attribute.SENSITIVE] is True and key[Attribute.EXTRACTABLE] is False
        with pytest.raises(p11.AttributeSensitive):
            key[Attribute.VALUE]


def test_generate_refuses_an_existing_label(softhsm: SoftHsm, token_keys: dict[str, str]) -> None:
    with pytest.raises(KeyExists):
        generate(_ref(token_keys["P-256"]), "P-256", None)


def test_export_pem_and_cose_key_match_the_signing_key(softhsm: SoftHsm,
                                                       token_keys: dict[str, str]) -> None:
    ref = _ref(token_keys["P-384"])
    pem = serialization.load_pem_public_key(export_public(ref, "pem", None))
    cose = cbor2.loads(export_public(ref, "cose", None))
    public, kid = public_key_for(ref, None)
    numbers = public.public_numbers()  # type: ignore[union-attr]
    assert pem.public_numbers() == numbers  # type: ignore[union-attr]
    assert cose[1] == 2 and cose[-1] == 2 and cose[2] == kid
    assert cose[-2] == numbers.x.to_bytes(48, "big") and cose[-3] == numbers.y.to_bytes(48, "big")
    signer = open_signer(ref)
    try:
        assert signer.identity.kid == kid
        assert signer.identity.algorithm.algorithm == CoseAlgorithm.ESP384  # the kind's default
    finally:
        signer.close()


@pytest.mark.parametrize("suffix", [";type=private", ";type=secret-key"])
def test_export_of_private_or_secret_keys_is_refused(suffix: str, softhsm: SoftHsm) -> None:
    # Refused before any login: no PIN is given, and none is asked for.
    uri = softhsm.uri("release", pin=False, object="p256").replace("?", suffix + "?", 1)
    with pytest.raises(ExportRefused):
        export_public(_ref(uri), "pem", None)


def test_export_of_a_secret_without_public_half_finds_no_public_key(softhsm: SoftHsm,
                                                                    token_keys: dict[str, str]) -> None:
    with pytest.raises(KeyNotFound):
        export_public(_ref(token_keys["secret"]), "pem", None)


def test_wrong_pin(softhsm: SoftHsm, token_keys: dict[str, str]) -> None:
    uri = softhsm.uri("release", pin=False, object="p256") + "&pin-value=not-the-pin"
    with pytest.raises(PinIncorrect) as info:
        open_signer(uri)
    assert "not-the-pin" not in str(info.value) and "not-the-pin" not in info.value.hint
    assert "not-the-pin" not in repr(_ref(uri))


def test_no_pin_source_and_no_provider(softhsm: SoftHsm, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUITWB_PIN", raising=False)
    with pytest.raises(PinUnavailable):
        open_signer(softhsm.uri("release", pin=False, object="p256"))


def test_pin_from_environment(softhsm: SoftHsm, token_keys: dict[str, str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUITWB_PIN", softhsm.user_pin)
    signer = open_signer(softhsm.uri("release", pin=False, object="ed25519"))
    try:
        assert len(signer.sign(b"tbs")) == 64
    finally:
        signer.close()


def test_module_not_found(softhsm: SoftHsm) -> None:
    with pytest.raises(ModuleNotFound) as info:
        open_signer("pkcs11:token=release;object=p256?module-path=/nonexistent/libnope.so")
    assert "/nonexistent/libnope.so" in str(info.value) and info.value.hint
    with pytest.raises(ModuleNotFound, match="cannot be loaded"):  # a file, but no module
        open_signer(f"pkcs11:token=release;object=p256?module-path={softhsm.conf}")


def test_no_such_token(softhsm: SoftHsm) -> None:
    with pytest.raises(TokenNotFound, match="token=nope"):
        open_signer(softhsm.uri("nope", object="p256"))


def test_no_such_key(softhsm: SoftHsm) -> None:
    with pytest.raises(KeyNotFound, match="object=absent"):
        open_signer(softhsm.uri("release", object="absent"))


@pytest.mark.parametrize(("kind", "alg"), [("P-256", CoseAlgorithm.ESP384),
                                           ("P-384", CoseAlgorithm.ES256),
                                           ("Ed25519", CoseAlgorithm.ESP256),
                                           ("secret", CoseAlgorithm.EDDSA),
                                           ("P-256", CoseAlgorithm.HMAC_256_256)])
def test_key_of_the_wrong_type(kind: str, alg: CoseAlgorithm, token_keys: dict[str, str]) -> None:
    with pytest.raises(WrongKeyType) as info:
        open_signer(token_keys[kind], alg)
    assert info.value.key_type == kind and info.value.hint


def test_mechanism_unsupported_is_translated(softhsm: SoftHsm, token_keys: dict[str, str]) -> None:
    # SoftHSM2 has no combined ECDSA-with-SHA mechanism: the very reason we hash first.
    ref = _ref(token_keys["P-256"])
    with token_session(ref, None) as session:
        key = find_key(session, ref, "private")
        with pytest.raises(MechanismUnsupported), translated("sign", "p256"):
            key.sign(b"data", mechanism=Mechanism.ECDSA_SHA256)


def test_token_removed_mid_operation(tmp_path: Path) -> None:
    # A token that vanishes breaks SoftHSM2's token list for the rest of the process, so
    # this runs in a process of its own, on a SoftHSM2 installation of its own.
    hsm = make_softhsm(tmp_path / "hsm", ("removable",))
    result = subprocess.run(
        [sys.executable, "-m", "tests.signing.removal_probe", hsm.uri("removable", object="k"),
         str(tmp_path / "hsm" / "tokens")],
        cwd=ROOT, env={**os.environ, "SOFTHSM2_CONF": str(hsm.conf)}, capture_output=True,
        text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    first, second = result.stdout.splitlines()
    assert first == "signed 64 bytes"
    assert second.startswith("TokenRemoved: ") and "Reconnect the token" in second


@pytest.mark.parametrize("exc", [p11.DeviceRemoved(), p11.TokenNotPresent(),
                                 p11.SessionHandleInvalid(), p11.SessionClosed()])
def test_lost_token_errors_map_to_token_removed(exc: Exception) -> None:
    assert isinstance(translate(exc, "sign", "token"), TokenRemoved)


def test_two_signers_on_one_token_share_the_login(softhsm: SoftHsm, token_keys: dict[str, str],
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    # PKCS#11 logs every session of the process out when the logged-in one closes; the
    # login ledger keeps the token logged in until the last signer is closed.
    monkeypatch.delenv("SUITWB_PIN", raising=False)
    first = open_signer(token_keys["P-256"])
    second = open_signer(softhsm.uri("release", pin=False, object="ed25519"))  # no PIN needed
    try:
        assert len(first.sign(b"a")) == 64 and len(second.sign(b"b")) == 64
        first.close()
        assert len(second.sign(b"c")) == 64
    finally:
        first.close()
        second.close()
    with pytest.raises(PinUnavailable):  # logged out now: a PIN is needed again
        open_signer(softhsm.uri("release", pin=False, object="ed25519"))
