"""`--format diag` is lossless: an independent EDN parser (the `cbor-diag` package, RFC 8610
Appendix G / RFC 8949 §8) turns our output back into the very bytes it was made from, for
every envelope among the vectors and every template's release."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import cbor_diag
import pytest

from suit import cbor
from suit.codec import decode_envelope
from suit.errors import DecodeError
from suit.render import envelope_diag
from tests.fixtures.vectors import MANIFEST_SPEC
from tests.suit.legacy_envelopes import draft19_install
from workbench.project.builder import build_project
from workbench.project.projectfile import load_project
from workbench.project.templates import NAMES, create_project

VECTORS = Path(__file__).resolve().parents[1] / "vectors"


def _envelopes() -> list[Path]:
    """The vectors that are envelopes (the encryption-info ones are COSE_Encrypt alone)."""
    found = []
    for path in sorted(VECTORS.rglob("*.cbor")):
        try:
            decode_envelope(path.read_bytes())
        except DecodeError:
            continue
        found.append(path)
    return found


def _round_trip(data: bytes) -> None:
    diag = envelope_diag(decode_envelope(data))
    assert "..." not in diag  # nothing abbreviated
    assert cbor_diag.diag2cbor(diag) == data


@pytest.mark.parametrize("path", _envelopes(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_vector_diag_parses_back_to_its_bytes(path: Path) -> None:
    _round_trip(path.read_bytes())


def test_every_envelope_vector_is_covered() -> None:
    names = {p.name for p in _envelopes()}
    assert {"example2_integrated.cbor", "suit-manifest-es-ecdh-dependency.cbor",
            "example2.cbor"} <= names and len(names) >= 20


def test_integrated_dependency_is_embedded_cbor_not_abbreviated() -> None:
    data = (VECTORS / "trust-domains" / "example2_integrated.cbor").read_bytes()
    diag = envelope_diag(decode_envelope(data))
    assert '"#dependent.suit": << 107({' in diag
    assert " bytes /" not in diag.replace("/ digest-bytes /", "")


@pytest.mark.parametrize("name", NAMES)
def test_template_release_diag_parses_back(name: str, tmp_path: Path) -> None:
    result = build_project(load_project(create_project(name, tmp_path / name)))
    _round_trip(result.data)


def _legacy_text_envelope() -> bytes:
    """Example 2 with its severed text as drafts before the language map wrote it
    (`{ text-key => tstr }`, no language tag), the manifest's digest of it made right."""
    envelope = cbor.loads((MANIFEST_SPEC / "example2.cbor").read_bytes())
    members = dict(envelope.value)
    text = cbor.dumps({1: "legacy text", 2: "no language tag"})
    members[23] = text
    manifest = dict(cbor.loads(members[3]))
    manifest[23] = [-16, hashlib.sha256(cbor.dumps(text)).digest()]
    members[3] = cbor.dumps(manifest)
    members[2] = cbor.dumps([cbor.dumps([-16, hashlib.sha256(cbor.dumps(members[3])).digest()])])
    return cbor.dumps(cbor.CBORTag(107, members))


def test_legacy_text_map_and_unknown_members_round_trip(tmp_path: Path) -> None:
    legacy = _legacy_text_envelope()
    _round_trip(legacy)
    _round_trip(draft19_install(tmp_path).read_bytes())
    path = tmp_path / "legacy-text.suit"
    path.write_bytes(legacy)
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", "inspect", str(path),
                             "--format", "diag"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert cbor_diag.diag2cbor(result.stdout) == legacy
