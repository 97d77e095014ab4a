"""Lint: for every rule, a project (or an envelope built from one) that triggers it and
one that does not."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cbor2
import pytest

from signing import hsslms
from signing.audit import SigningAuditLog
from signing.backends import open_signer
from suit.codec import decode_envelope, encode_envelope, manifest_value
from suit.digest import digest_of
from suit.lint import lint_envelope
from suit.model import AuthenticationWrapper, Envelope, LanguageText, TextMap
from suit.verify import manifest_bstr
from tests.fixtures.vectors import FIRMWARE_ENCRYPTION, MANIFEST_SPEC, TRUST_DOMAINS
from tests.signing.hsslms_keys import small_key
from tests.suit.legacy_envelopes import draft19_install, renumbered
from tests.workbench.conftest import GOLDEN, run_suitwb
from workbench.project.builder import BuildOptions, build_project, write_envelope
from workbench.project.lint import ALL_RULES, lint_envelope_file, lint_project
from workbench.project.model import Component, Device, Image, Project
from workbench.project.projectfile import load_project

D1 = "sha256:00112233445566778899aabbccddeeff0123456789abcdeffedcba9876543210"


def _project(**changes: object) -> Project:
    """A clean project: device ids, one fetched and validated image that is invoked."""
    component = Component("app", ["h'00'"], image=Image(digest=D1, size=100),
                          uri="https://example.com/app.bin", invoke=True)
    project = Project(sequence_number=3, device=Device("example.com", "widget"),
                      components=[component])
    for key, value in changes.items():
        setattr(project, key, value)
    return project


def _ids(project: Project, previous: int | None = None) -> list[str]:
    return [f.id for f in lint_project(project, previous).findings]


def _envelope_ids(envelope: Envelope, previous: int | None = None) -> list[str]:
    return [f.id for f in lint_envelope(decode_envelope(encode_envelope(envelope)),
                                        previous_sequence=previous)]


def _format_ids(envelope: Envelope) -> list[str]:
    """Findings other than the algorithm rules: the manifest-spec examples are signed with
    ES256 (-7), which SUIT013/SUIT014 rightly report (their own tests below)."""
    return [f.id for f in lint_envelope(envelope) if f.id not in ("SUIT013", "SUIT014")]


def _rebuilt(envelope: Envelope, manifest: object) -> Envelope:
    """`envelope` with another manifest and the digest that goes with it."""
    return dataclasses.replace(envelope, manifest=manifest, authentication=AuthenticationWrapper(
        digest_of(manifest_bstr(manifest))))


def test_clean_project_has_no_findings() -> None:
    assert _ids(_project()) == []


def test_every_rule_has_id_severity_and_hint() -> None:
    for rule_id, rule in ALL_RULES.items():
        assert rule.id == rule_id and rule.hint and rule.summary


def test_suit001_no_vendor_or_class_condition() -> None:
    assert _ids(_project(device=Device())) == ["SUIT001"]
    assert _ids(_project(device=Device(vendor_domain="example.com"))) == ["SUIT001"]
    assert "SUIT001" not in _ids(_project())


def test_suit002_sequence_not_above_previous(tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    assert _ids(_project(), previous=3) == ["SUIT002"]
    assert _ids(_project(), previous=2) == []
    # Against a previous envelope, and against the signing audit log, through the CLI.
    project_file = tmp_path / "p.toml"
    project_file.write_text((GOLDEN / "example1.toml").read_text())
    previous = MANIFEST_SPEC / "example5.cbor"  # sequence number 5 > 1
    assert run_suitwb("lint", project_file, "--previous", previous).returncode == 1
    assert run_suitwb("lint", project_file, "--previous", MANIFEST_SPEC / "example0.cbor").returncode == 0
    log = tmp_path / "audit.sqlite3"
    signer = open_signer(str(signing_key[0]))
    result = build_project(_project(), BuildOptions(signers=[signer], sequence_number=9))
    signer.close()
    write_envelope(result, tmp_path / "release.suit", SigningAuditLog(log))
    linted = run_suitwb("lint", project_file, "--audit-log", log)
    assert linted.returncode == 1 and "previous release's 9" in linted.stdout


def test_suit003_invoke_without_image_check() -> None:
    unchecked = _project()
    unchecked.components[0].validate = False
    assert _ids(unchecked) == ["SUIT003"]
    # Checked at load instead of validate: no finding.
    ram = Component("ram", ["h'01'"], image=Image(digest=D1, size=100), load_from="app",
                    invoke=True)
    loaded = _project()
    loaded.components[0].invoke = False
    loaded.components.append(ram)
    assert "SUIT003" not in _ids(loaded)


def test_suit004_detached_payload_without_uri(tmp_path: Path) -> None:
    (tmp_path / "app.bin").write_bytes(b"firmware")
    project = _project(path=tmp_path / "project.toml")
    project.components[0].image = Image(file="app.bin")
    project.components[0].uri = None
    assert _ids(project) == ["SUIT004"]
    project.components[0].uri = "https://example.com/app.bin"
    assert _ids(project) == []
    # In an envelope: a fetch with no uri in effect.
    explicit = _project(sequences={"install": [{"fetch": 2}, {"image-match": 15}]})
    assert _ids(explicit) == ["SUIT004"]


def test_suit005_severed_member_not_referenced() -> None:
    built = build_project(_project()).envelope
    stray = dataclasses.replace(built, severed={20: built.severed.get(20, b"\x80")})
    assert _envelope_ids(stray) == ["SUIT005"]
    assert _envelope_ids(built) == []


def test_suit006_severed_member_absent() -> None:
    built = build_project(_project(severable=["install"])).envelope
    assert _envelope_ids(built) == []
    assert _envelope_ids(dataclasses.replace(built, severed={})) == ["SUIT006"]
    severed = decode_envelope((MANIFEST_SPEC / "example2-severed.cbor").read_bytes())
    assert _format_ids(severed) == ["SUIT006", "SUIT006"]


def test_suit007_dependency_digest_mismatch(tmp_path: Path) -> None:
    dependent = load_project(GOLDEN / "td_example2_integrated.toml")
    assert "SUIT007" not in _ids(dependent)
    # The project states a digest that is not the dependency file's manifest digest.
    dependent.dependencies[0].digest = "sha256:" + "11" * 32
    assert "SUIT007" in _ids(dependent)
    # An envelope carrying another dependency than the one it binds.
    published = decode_envelope((TRUST_DOMAINS / "example2_integrated.cbor").read_bytes())
    other = (MANIFEST_SPEC / "example0.cbor").read_bytes()
    swapped = dataclasses.replace(published, integrated={"#dependent.suit": other})
    assert "SUIT007" in _envelope_ids(swapped)
    assert "SUIT007" not in [f.id for f in lint_envelope(published)]


def test_suit008_written_but_never_validated() -> None:
    project = _project(sequences={"install": [
        {"override-parameters": {"uri": "https://example.com/app.bin"}}, {"fetch": 2}]})
    project.components[0].validate = False
    project.components[0].invoke = False
    assert _ids(project) == ["SUIT008"]
    project.sequences["install"].append({"image-match": 15})
    assert _ids(project) == []


def test_suit009_text_for_a_component_that_does_not_exist() -> None:
    built = build_project(_project()).envelope
    text = TextMap({"en-US": LanguageText({}, {(b"\x07",): {5: "ghost"}})})
    ghost = _rebuilt(built, dataclasses.replace(built.manifest, text=text))
    assert _envelope_ids(ghost) == ["SUIT009"]
    described = _project()
    described.components[0].text = {"description": "the application"}
    assert _ids(described) == []


def test_suit010_non_deterministic_manifest() -> None:
    published = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes())
    assert _format_ids(published) == []
    members = manifest_value(published.manifest)
    reordered = dict(sorted(members.items(), reverse=True))  # keys out of RFC 8949 order
    raw = cbor2.dumps(reordered)
    envelope = cbor2.dumps(cbor2.CBORTag(107, {2: cbor2.dumps([cbor2.dumps([-16, b"\0" * 32])]),
                                               3: raw}))
    assert [f.id for f in lint_envelope(decode_envelope(envelope))] == ["SUIT010"]


def test_prj001_project_that_cannot_build(tmp_path: Path) -> None:
    project = _project(path=tmp_path / "project.toml")
    project.components[0].image = Image(file="missing.bin")
    findings = lint_project(project).findings
    assert [f.id for f in findings] == ["PRJ001"] and "missing.bin" in findings[0].message


def test_lint_cli_exit_status_and_json(tmp_path: Path) -> None:
    unsigned = tmp_path / "dep.suit"
    unsigned.write_bytes((TRUST_DOMAINS / "example0_dependent.cbor").read_bytes())
    result = run_suitwb("lint", unsigned, "--json")
    assert result.returncode == 1
    assert '"id": "SUIT001"' in result.stdout and '"hint":' in result.stdout
    assert lint_envelope_file(MANIFEST_SPEC / "example3.cbor").errors == 0
    listed = run_suitwb("lint", unsigned, "--rules")
    assert all(rule_id in listed.stdout for rule_id in ALL_RULES)


def test_prj002_file_outside_the_project_folder(tmp_path: Path) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\x01" * 64)
    project = _project(path=folder / "project.toml")
    project.components[0].image = Image(file="../outside.bin")
    # Without the opt-in the build refuses it (PRJ001, naming the member)...
    findings = lint_project(project).findings
    assert [f.id for f in findings] == ["PRJ001"]
    assert "component[0].image.file" in findings[0].message
    # ...with it, the build goes ahead and every such path is reported.
    project.allow_outside_project = True
    findings = lint_project(project).findings
    assert [f.id for f in findings] == ["PRJ002"]
    assert findings[0].where == "component[0].image.file" and "outside.bin" in findings[0].message
    # A file inside the folder is no finding, opt-in or not.
    (folder / "inside.bin").write_bytes(b"\x01" * 64)
    project.components[0].image = Image(file="inside.bin")
    assert _ids(project) == []


def test_prj003_hss_lms_key_nearly_used_up_or_unusable(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 16: every HSS-LMS key this machine's state journal knows is checked."""
    monkeypatch.setenv("SUITWB_DATA_DIR", str(tmp_path / "data"))
    key = tmp_path / "k.hss"
    small_key(key, tmp_path / "data")
    signer = hsslms.HssLmsSigner(key)
    for n in range(28):
        signer.sign(b"%d" % n)
    assert _ids(_project()) == []  # 4 of 32 left: not under 10 % (3.2)
    signer.sign(b"one more")
    findings = lint_project(_project()).findings
    assert [(f.id, f.message) for f in findings] == [
        ("PRJ003", f"HSS-LMS key {key} has 3 of 32 signatures left")]
    key.unlink()
    (finding,) = lint_project(_project()).findings
    assert "cannot sign" in finding.message and "no such file" in finding.message


@pytest.mark.parametrize("rule_id", sorted(ALL_RULES))
def test_every_format_rule_is_tested_here(rule_id: str) -> None:
    source = Path(__file__).read_text()
    assert f"def test_{rule_id.lower()}_" in source


def test_suit011_unknown_member_is_a_finding_not_dropped() -> None:
    findings = lint_envelope(decode_envelope(renumbered("example1.cbor", {}, extra={99: 1})))
    assert [(f.id, f.where) for f in findings] == [("SUIT011", "manifest/99")]
    assert _format_ids(decode_envelope((MANIFEST_SPEC / "example1.cbor").read_bytes())) == []


def test_suit012_legacy_numbering_draft19_install(tmp_path: Path) -> None:
    """An envelope written for draft-19 (install = 17) shows no install to a draft-37
    reader: lint names the old number and what it meant."""
    findings = lint_envelope(decode_envelope(draft19_install(tmp_path).read_bytes()))
    assert [(f.id, f.where) for f in findings] == [("SUIT012", "manifest/17")]
    assert "install in drafts -17 to -27" in findings[0].message
    # Drafts -04 to -16: validate 10, run 12; a severed install under envelope key 9.
    old = renumbered("example0.cbor", {7: 10, 9: 12})
    assert [f.where for f in lint_envelope(decode_envelope(old))
            if f.id == "SUIT012"] == ["manifest/10", "manifest/12"]
    severed = renumbered("example2.cbor", {}, envelope_moves={20: 9})
    ids = [(f.id, f.where) for f in lint_envelope(decode_envelope(severed))]
    assert ("SUIT012", "envelope/9") in ids
    result = run_suitwb("lint", draft19_install(tmp_path))
    assert result.returncode == 1 and "SUIT012" in result.stdout


def test_suit013_algorithms_outside_profile() -> None:
    # FE's AES-KW examples: HMAC-256 + A128KW + A128GCM, which no MTI profile combines.
    fe = decode_envelope((FIRMWARE_ENCRYPTION / "suit-manifest-aes-kw.cbor").read_bytes())
    findings = [f for f in lint_envelope(fe) if f.id == "SUIT013"]
    assert [f.message for f in findings] == [
        "no MTI profile has all of sha256, HMAC-256-256 (5), A128KW (-3), A128GCM (1)"]
    # ESP256 + ECDH-ES+A128KW + A128GCM is suit-sha256-esp256-ecdh-a128gcm: no finding.
    ecdh = decode_envelope((FIRMWARE_ENCRYPTION / "suit-manifest-es-ecdh-content.cbor").read_bytes())
    assert [f.id for f in lint_envelope(ecdh) if f.id in ("SUIT013", "SUIT014")] == []


def test_suit014_deprecated_algorithm() -> None:
    published = decode_envelope((MANIFEST_SPEC / "example0.cbor").read_bytes())
    found = [(f.id, f.message) for f in lint_envelope(published) if f.id in ("SUIT013", "SUIT014")]
    assert found == [("SUIT014", "ES256 (-7) is deprecated: use ESP256 (-9)"),
                     ("SUIT013", "no MTI profile has all of sha256, ES256 (-7)")]
    # A clean project built unsigned uses only SHA-256: it fits every profile.
    assert _envelope_ids(build_project(_project()).envelope) == []


def test_suit013_project_outside_any_profile() -> None:
    """A project is linted through the envelope it builds: SHA-384 is in no MTI profile."""
    project = _project()
    project.components[0].image = Image(digest="sha384:" + "ab" * 48, size=100)
    assert "SUIT013" in _ids(project)
    assert "SUIT013" not in _ids(_project(profile="suit-sha256-esp256-ecdh-a128gcm"))
