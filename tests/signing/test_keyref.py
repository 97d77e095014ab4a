"""Key references (RFC 7512 URIs and paths) and where PINs come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from signing.errors import KeyReferenceError, PinUnavailable
from signing.keyref import FileKeyRef, Pkcs11Uri, parse_key_reference
from signing.pin import FixedPinProvider, NoPinProvider, PinRequest, read_pin_source, resolve_pin

ISSUE_URI = ("pkcs11:token=release;object=fw-key;type=private"
             "?module-path=/usr/lib/softhsm/libsofthsm2.so")


def test_the_issue_example_parses() -> None:
    ref = parse_key_reference(ISSUE_URI)
    assert isinstance(ref, Pkcs11Uri)
    assert (ref.token, ref.object_label, ref.object_type) == ("release", "fw-key", "private")
    assert ref.module_path == "/usr/lib/softhsm/libsofthsm2.so"
    assert ref.redacted() == ISSUE_URI  # round trip


def test_percent_encoding_and_binary_id() -> None:
    ref = parse_key_reference("pkcs11:token=My%20Token;id=%01%a2%FF;object=a%3Bb")
    assert isinstance(ref, Pkcs11Uri)
    assert ref.token == "My Token" and ref.key_id == b"\x01\xa2\xff"
    assert ref.object_label == "a;b"
    assert parse_key_reference(ref.redacted()) == ref


def test_pin_value_is_dropped_from_every_rendering() -> None:
    ref = parse_key_reference(ISSUE_URI + "&pin-value=s3cret-123")
    assert isinstance(ref, Pkcs11Uri) and ref.pin_value == "s3cret-123"
    for text in (ref.redacted(), str(ref), repr(ref)):
        assert "s3cret-123" not in text


def test_paths_are_file_references(tmp_path: Path) -> None:
    assert parse_key_reference(str(tmp_path / "k.pem")) == FileKeyRef(tmp_path / "k.pem")


@pytest.mark.parametrize(("text", "problem"), [
    ("pkcs11:token=a;token=b", "given twice"),
    ("pkcs11:colour=red", "unknown path attribute"),
    ("pkcs11:token=a;type=banana", "type must be"),
    ("pkcs11:token=a?pin-value=x&pin-source=/f", "not both"),
    ("pkcs11:token=a?flavour=x", "unknown query attribute"),
    ("", "empty"),
])
def test_malformed_references(text: str, problem: str) -> None:
    with pytest.raises(KeyReferenceError, match=problem):
        parse_key_reference(text)


def test_malformed_query_never_echoes_its_value() -> None:
    with pytest.raises(KeyReferenceError) as info:
        parse_key_reference("pkcs11:token=a?pin-value=hunter2&oops")
    assert "hunter2" not in str(info.value)


def test_pin_precedence(tmp_path: Path) -> None:
    request = PinRequest("token PIN", "release")
    pin_file = tmp_path / "pin"
    pin_file.write_text("from-file\nsecond line ignored\n")
    env = {"SUITWB_PIN": "from-env"}
    provider = FixedPinProvider("from-dialog")
    assert resolve_pin(request, provider, pin_value="from-uri", environ=env) == "from-uri"
    assert resolve_pin(request, provider, pin_source=f"file:{pin_file}", environ=env) == "from-file"
    assert resolve_pin(request, provider, environ=env) == "from-env"
    assert resolve_pin(request, provider, environ={}) == "from-dialog"
    with pytest.raises(PinUnavailable):
        resolve_pin(request, NoPinProvider(), environ={})
    assert "from-dialog" not in repr(provider)


def test_pin_source_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").write_text("")
    with pytest.raises(PinUnavailable, match="empty"):
        read_pin_source(str(tmp_path / "empty"))
    with pytest.raises(PinUnavailable, match="cannot read"):
        read_pin_source(f"file:{tmp_path / 'missing'}")
