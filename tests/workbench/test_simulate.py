"""`suitwb simulate` (issue 14, "Simulate install"): every template's release passes on a
device that matches it, and each kind of mismatch is refused at the right step with the
right reason. The CLI runs as a real subprocess on real envelopes built and signed from
the templates, with the device described in a file as a release engineer would write it.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from signing.backends import open_signer
from tests.workbench.conftest import run_suitwb
from workbench.project.builder import BuildOptions, build_project
from workbench.project.model import Project
from workbench.project.projectfile import load_project
from workbench.project.templates import NAMES, create_project

USE_BEFORE = 1_900_000_000  # 2030-03-17
NOW = 1_800_000_000  # 2027-01-15, before it


@dataclasses.dataclass
class Release:
    """A built template: the envelope, the device file's ingredients, the payloads."""

    envelope: Path
    models: list[str]
    components: list[list[str]]
    payloads: dict[str, Path]
    folder: Path
    anchor: Path


def _projects(project: Project) -> list[Project]:
    found = [project]
    for dep in project.dependencies:
        if dep.project is not None:
            found += _projects(load_project(project.folder / dep.project))
    return found


def _build(name: str, folder: Path, key: tuple[Path, Path], **changes: Any) -> Release:
    project = load_project(create_project(name, folder / name))
    if changes.get("use_before") is not None:
        project = dataclasses.replace(project, update=dataclasses.replace(
            project.update, use_before=changes["use_before"]))
    signer = open_signer(str(key[0]))
    try:
        result = build_project(project, BuildOptions(signers=[signer]))
    finally:
        signer.close()
    envelope = folder / f"{name}.suit"
    envelope.write_bytes(result.data)
    release = Release(envelope, [], [], {}, folder, key[1])
    for index, sub in enumerate(_projects(project)):
        release.models.append(str(sub.device.model))
        for c in sub.components:
            release.components.append(list(c.id))
            if c.mcuboot is not None and c.uri:
                image = folder / f"{name}-{index}-{c.name}.mcuboot"
                image.write_bytes(result.mcuboot_images[c.name].data)
                release.payloads[c.uri] = image
            elif c.image is not None and c.image.file and c.uri:
                release.payloads[c.uri] = sub.folder / c.image.file
            for slot in c.slots:
                if slot.uri and slot.image.file:
                    release.payloads[slot.uri] = sub.folder / slot.image.file
    return release


def _device_file(release: Release, *, models: list[str] | None = None, now: int | None = None,
                 sequence_number: int | None = None, boot: bool = True) -> Path:
    """The device that matches `release` (as tests/workbench/test_template_procedure.py
    builds it in memory), changed by the arguments."""
    lines = [f"trust-anchors = [{json.dumps(str(release.anchor))}]", "", "[device]",
             'vendor-domain = "example.com"',
             f"model = {json.dumps(models if models is not None else release.models)}",
             "battery-mwh = 10000", "authorized-priority = 100", f"boot = {str(boot).lower()}"]
    if now is not None:
        lines.append(f"now = {now}")
    for component in release.components:
        lines += ["", "[[component]]", f"id = {json.dumps(component)}", "slot = 0"]
        if sequence_number is not None:
            lines.append(f"sequence-number = {sequence_number}")
    path = release.folder / "device.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _simulate(release: Release, device: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    payloads = [arg for uri, file in release.payloads.items()
                for arg in ("--payload", f"{uri}={file}")]
    return run_suitwb("simulate", release.envelope, "--device", device, *payloads, *extra)


def _json(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _failing_step(document: dict[str, Any]) -> dict[str, Any]:
    step = document["outcome"]["step"]
    assert step is not None, document["outcome"]
    failing: dict[str, Any] = document["steps"][step]
    return failing


@pytest.mark.parametrize("name", NAMES)
def test_template_release_passes_on_a_matching_device(name: str, tmp_path: Path,
                                                      signing_key: tuple[Path, Path]) -> None:
    release = _build(name, tmp_path, signing_key)
    result = _simulate(release, _device_file(release), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    document = _json(result)
    assert document["schema"] == "suitwb-simulate/1"
    assert document["outcome"]["result"] == "passed"
    assert document["deferred"] == []  # every payload was given: every check was made
    assert document["report"]["success"] is True
    procedures = {s["procedure"] for s in document["steps"]}
    assert procedures == {"device", "update", "invocation"}
    assert any(s["command"] == "directive-invoke" and s["result"] == "passed"
               for s in document["steps"])
    assert all(s["result"] in ("passed", "nested", "failed") for s in document["steps"])


def test_wrong_class_fails_at_class_identifier(tmp_path: Path,
                                               signing_key: tuple[Path, Path]) -> None:
    release = _build("single-mcu", tmp_path, signing_key)
    result = _simulate(release, _device_file(release, models=["another-board"]), "--json")
    assert result.returncode == 1, result.stderr
    document = _json(result)
    outcome = document["outcome"]
    assert (outcome["result"], outcome["reason"], outcome["refusal"]) == \
        ("refused", "condition-failed", "wrong-class")
    step = _failing_step(document)
    assert step["command"] == "condition-class-identifier"
    assert step["result"] == "failed"
    assert document["report"]["reason"] == "condition-failed"
    record = document["report"]["failing-record"]
    assert (record["offset"], record["section"]) == (step["offset"], 3)  # suit-common


def test_clock_past_use_before_fails_at_use_before(tmp_path: Path,
                                                   signing_key: tuple[Path, Path]) -> None:
    # No template sets use-before, so this release adds one to the single-MCU template.
    release = _build("single-mcu", tmp_path, signing_key, use_before=USE_BEFORE)
    assert _simulate(release, _device_file(release, now=NOW)).returncode == 0
    result = _simulate(release, _device_file(release, now=USE_BEFORE + 1), "--json")
    assert result.returncode == 1, result.stderr
    document = _json(result)
    step = _failing_step(document)
    assert step["command"] == "condition-use-before"
    assert step["parameters"]["use-before"] == USE_BEFORE
    assert document["outcome"]["reason"] == "condition-failed"
    assert str(USE_BEFORE) in document["outcome"]["detail"]


def test_newer_installed_sequence_number_fails_as_rollback(
        tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    release = _build("secure-normal", tmp_path, signing_key)
    result = _simulate(release, _device_file(release, sequence_number=99), "--json")
    assert result.returncode == 1, result.stderr
    document = _json(result)
    step = _failing_step(document)
    assert (step["procedure"], step["command"]) == ("device", "sequence-number")
    assert (document["outcome"]["reason"], document["outcome"]["refusal"]) == \
        ("condition-failed", "rollback")
    assert not any(s["procedure"] == "update" for s in document["steps"])  # nothing ran
    assert document["report"]["failing-record"]["section"] == 2  # manifest-sequence-number
    # The same number installed is no rollback (M37 §8.4.2: lower is refused).
    same = _simulate(release, _device_file(release, sequence_number=1))
    assert same.returncode == 0, same.stdout


def test_text_trace_has_one_line_per_step(tmp_path: Path,
                                          signing_key: tuple[Path, Path]) -> None:
    release = _build("single-mcu", tmp_path, signing_key)
    result = _simulate(release, _device_file(release, models=["another-board"]))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    failing = [line for line in lines if "condition-class-identifier" in line]
    assert failing and " failed " in failing[-1] and "class-id=" in failing[-1]
    assert any(line.startswith("outcome: refused at step") and "wrong-class" in line
               for line in lines)
    assert any(line.startswith("report: failure, reason condition-failed") for line in lines)
    assert result.stderr == ""


@pytest.mark.parametrize(("text", "where"), [
    ("[device]\nvendor-domain = 7\n", "device.vendor-domain"),
    ("[device]\nmodle = \"x\"\n", "device.modle"),
    ("[device]\nclass-id = [\"not-a-uuid\"]\n", "device.class-id[0]"),
    ("[device]\nnow = -1\n", "device.now"),
    ("[device]\nboot = \"yes\"\n", "device.boot"),
    ("[device]\nauthorized-priority = \"high\"\n", "device.authorized-priority"),
    ("[device]\nmodel = \"m\"\n", "device.model"),  # a model needs the vendor
    ("[[component]]\nid = [\"h'zz'\"]\n", "component[0].id[0]"),
    ("[[component]]\nslot = 0\n", "component[0].id"),
    ("[[component]]\nid = [\"a\"]\ndigest = \"md5:00\"\n", "component[0].digest"),
    ("[[component]]\nid = [\"a\"]\nversion = \"1.x\"\n", "component[0].version"),
    ("[[component]]\nid = [\"a\"]\nsequence-number = 18446744073709551616\n",
     "component[0].sequence-number"),
    ("trust-anchors = [\"missing.pem\"]\n", "trust-anchors[0]"),
    ("algorithms = [\"rot13\"]\n", "algorithms[0]"),
    ("component = 3\n", "component"),
    ("x = " + "[" * 40 + "]" * 40 + "\n", "nested more than"),
    ("[device\n", "TOML syntax error"),
])
def test_malformed_device_file_is_exit_2_with_its_toml_path(
        text: str, where: str, tmp_path: Path, signing_key: tuple[Path, Path]) -> None:
    envelope = tmp_path / "any.suit"
    envelope.write_bytes(b"\xd8\x6b\xa0")  # never read: the device file is checked first
    device = tmp_path / "device.toml"
    device.write_text(text)
    result = run_suitwb("simulate", envelope, "--device", device)
    assert result.returncode == 2, result.stderr
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"suitwb: error: {device}") and where in first, result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_bad_input_besides_the_device_file_is_exit_2(tmp_path: Path,
                                                     signing_key: tuple[Path, Path]) -> None:
    release = _build("single-mcu", tmp_path, signing_key)
    device = _device_file(release)
    not_suit = tmp_path / "not.suit"
    not_suit.write_bytes(b"\x01\x02")
    for args in (["simulate", not_suit, "--device", device],
                 ["simulate", release.envelope, "--device", device, "--payload", "no-equals"],
                 ["simulate", release.envelope, "--device", device, "--payload",
                  f"https://x.example/a.bin={tmp_path / 'absent.bin'}"]):
        result = run_suitwb(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) <= 2  # error and hint, no traceback


def test_untrusted_key_is_refused_at_authenticate(tmp_path: Path,
                                                  signing_key: tuple[Path, Path]) -> None:
    release = _build("single-mcu", tmp_path, signing_key)
    other = tmp_path / "other.pem"
    other.write_text(_other_public_key())
    release.anchor = other
    result = _simulate(release, _device_file(release), "--json")
    assert result.returncode == 1, result.stderr
    document = _json(result)
    assert _failing_step(document)["command"] == "authenticate"
    assert document["outcome"]["reason"] == "unauthorised"
    assert document["report"] is None  # no authentic manifest: nothing to refer to


def test_missing_payload_defers_its_image_checks(tmp_path: Path,
                                                 signing_key: tuple[Path, Path]) -> None:
    release = _build("single-mcu", tmp_path, signing_key)
    device = _device_file(release)
    result = run_suitwb("simulate", release.envelope, "--device", device, "--json")
    assert result.returncode == 0, result.stdout
    document = _json(result)
    deferred = [s for s in document["steps"] if s["result"] == "deferred"]
    assert deferred and all(s["command"] == "condition-image-match" for s in deferred)
    assert len(document["deferred"]) == len(deferred)


def _other_public_key() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
