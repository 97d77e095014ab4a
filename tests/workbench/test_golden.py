"""Acceptance: project files describing the manifest-spec examples 0-5 and the
trust-domains examples build manifests byte-identical to the published ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from suit.codec import decode_envelope
from suit.digest import compute
from suit.verify import manifest_bstr
from tests.fixtures.vectors import MANIFEST_SPEC, TRUST_DOMAINS
from tests.workbench.conftest import GOLDEN
from workbench.project.builder import build_project
from workbench.project.projectfile import load_project

# Manifest digests as INDEX.md lists them (prefix ... suffix).
CASES = [
    ("example0.toml", MANIFEST_SPEC / "example0.cbor", "6658ea56", "e5af"),
    ("example1.toml", MANIFEST_SPEC / "example1.cbor", "1f2e7acc", "daf2"),
    ("example2.toml", MANIFEST_SPEC / "example2.cbor", "6a5197ed", "9b90"),
    ("example3.toml", MANIFEST_SPEC / "example3.cbor", "f6d44a62", "2ee0"),
    ("example4.toml", MANIFEST_SPEC / "example4.cbor", "5b5f6586", "bdd6"),
    ("example5.toml", MANIFEST_SPEC / "example5.cbor", "15ce60f7", "f470"),
    ("td_example0_dependent.toml", TRUST_DOMAINS / "example0_dependent.cbor", "0f02caf6", "f3d8"),
    ("td_example1_process.toml", TRUST_DOMAINS / "example1_process.cbor", "aeba316a", "be62"),
    ("td_example2_integrated.toml", TRUST_DOMAINS / "example2_integrated.cbor", "88e11995", "67df"),
]


@pytest.mark.parametrize("project_file, vector, prefix, suffix", CASES,
                         ids=[c[0].removesuffix(".toml") for c in CASES])
def test_project_builds_the_published_manifest(project_file: str, vector: Path, prefix: str,
                                               suffix: str) -> None:
    published = decode_envelope(vector.read_bytes())
    result = build_project(load_project(GOLDEN / project_file))
    assert result.manifest == published.manifest.source
    digest = result.manifest_digest.hex()
    assert digest.startswith(prefix) and digest.endswith(suffix)
    assert digest == published.authentication.digest.value.hex()
    # The digest covers the bstr-wrapped manifest (INDEX.md note 2).
    assert compute(-16, manifest_bstr(result.envelope.manifest)) == result.manifest_digest
    # Severed members and integrated dependencies are the published bytes too.
    assert result.envelope.severed == published.severed
    assert result.envelope.integrated == published.integrated


def test_example2_text_is_severed_with_the_published_digest() -> None:
    result = build_project(load_project(GOLDEN / "example2.toml"))
    text = result.envelope.manifest.text
    assert text.value.hex().startswith("302196d4") and text.value.hex().endswith("0007")
    assert result.envelope.manifest.install.value.hex().startswith("cfa90c5c")


def test_integrated_dependency_is_the_published_envelope() -> None:
    result = build_project(load_project(GOLDEN / "td_example2_integrated.toml"))
    embedded = result.envelope.integrated["#dependent.suit"]
    assert embedded == (TRUST_DOMAINS / "example0_dependent.cbor").read_bytes()
