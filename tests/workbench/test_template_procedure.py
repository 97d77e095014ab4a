"""Every template's release runs the complete procedure on our own processor: the Update
procedure (dependency-resolution, payload-fetch, candidate-verification, install; TD §7),
then, as at the next boot, the Invocation procedure (validate, load, invoke; M37 §8.4.6)
with a fresh processor over the same component store.

The store is the in-memory one the processor tests use (tests/flasher/device), filled the
way a device would be: payloads served at the URIs the project names, the device's vendor
and class ids, its A/B slot and its update-management facts.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Self

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing.backends import open_signer
from suit.keys import TrustAnchor
from suit.model import Command, CommandSequence
from suit.processor import DeviceFacts, Procedure, Processor, authenticate
from tests.flasher.device.memory_store import ComponentId, MemoryStore
from workbench.project.builder import BuildOptions, BuildResult, build_project
from workbench.project.model import Project
from workbench.project.projectfile import load_project
from workbench.project.templates import NAMES, create_project

VENDOR = uuid.uuid5(uuid.NAMESPACE_DNS, "example.com")


class ClassIds(bytes):
    """The class ids of a device with more than one CPU (RFC 9019 §5.5), each its own
    class: the store answers with this, equal to any of them. Our processor runs a
    dependency with the dependent's store (TD §5.6.4), so one store answers for all."""

    classes: frozenset[bytes]

    def __new__(cls, classes: set[bytes]) -> Self:
        made = super().__new__(cls, min(classes))
        made.classes = frozenset(classes)
        return made

    def __eq__(self, other: object) -> bool:
        return other in self.classes

    def __ne__(self, other: object) -> bool:
        return other not in self.classes

    __hash__ = bytes.__hash__


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrustAnchor]:
    private = ec.generate_private_key(ec.SECP256R1())
    path = tmp_path_factory.mktemp("key") / "release.pem"
    path.write_bytes(private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    public = private.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    return path, TrustAnchor.from_pem(public)


def _projects(project: Project) -> list[Project]:
    """The project and every dependency project under it."""
    found = [project]
    for dep in project.dependencies:
        if dep.project is not None:
            found += _projects(load_project(project.folder / dep.project))
    return found


def _device(result: BuildResult, projects: list[Project]) -> MemoryStore:
    """A device that serves every payload the projects name and matches their ids."""
    payloads: dict[str, bytes] = {}
    components: set[ComponentId] = set()
    for project in projects:
        for c in project.components:
            components.add(tuple(_id(part) for part in c.id))
            if c.mcuboot is not None and c.uri:
                payloads[c.uri] = result.mcuboot_images[c.name].data
            elif c.image is not None and c.image.file and c.uri:
                payloads[c.uri] = (project.folder / c.image.file).read_bytes()
            for slot in c.slots:
                if slot.uri and slot.image.file:
                    payloads[slot.uri] = (project.folder / slot.image.file).read_bytes()
    classes = {uuid.uuid5(VENDOR, str(p.device.model)).bytes for p in projects}
    # The device runs from slot A, so the update goes to slot B (M37 Appendix B example 3).
    slots = {c: 0 for c in components}
    return MemoryStore(components, VENDOR.bytes, ClassIds(classes), payloads=payloads,
                       slots=slots, device_facts=DeviceFacts(battery_mwh=10_000,
                                                             authorized_priority=100))


def _id(part: str) -> bytes:
    return bytes.fromhex(part[2:-1]) if part.startswith("h'") else part.encode()


def _release(name: str, folder: Path, key: tuple[Path, TrustAnchor]) -> tuple[BuildResult,
                                                                                list[Project]]:
    project = load_project(create_project(name, folder / name))
    signer = open_signer(str(key[0]))
    try:
        return build_project(project, BuildOptions(signers=[signer])), _projects(project)
    finally:
        signer.close()


@pytest.mark.parametrize("name", NAMES)
def test_template_release_updates_then_boots(name: str, tmp_path: Path,
                                             key: tuple[Path, TrustAnchor]) -> None:
    result, projects = _release(name, tmp_path, key)
    anchors = [key[1]]
    authenticated = authenticate(result.data, anchors)
    store = _device(result, projects)
    update = Processor(authenticated, store, anchors).run(Procedure.UPDATE)
    assert update.deferred == []
    assert "install" in update.sections
    written = dict(store.images)
    # At boot the processor starts again from the stored envelope (RFC 9019 §4.1).
    boot = Processor(authenticate(result.data, anchors), store, anchors).run(Procedure.INVOCATION)
    assert "invoke" in boot.sections
    invoked = store.effects("invoke")
    expected = [c for p in projects for c in p.components if c.invoke]
    assert len(invoked) == len(expected) >= 1
    assert store.images == written  # booting changes nothing the update wrote


def test_dual_cpu_bus_boot_checks_each_dependency_before_processing_it(
        tmp_path: Path, key: tuple[Path, TrustAnchor]) -> None:
    """TD §5.6.4: process-dependency only after the dependency was checked in the same run
    of the procedure; at boot the check must be in validate and invoke themselves."""
    result, _ = _release("dual-cpu-bus", tmp_path, key)
    manifest = result.envelope.manifest
    for sequence in (manifest.validate, manifest.invoke):
        assert isinstance(sequence, CommandSequence)
        commands = [item.command for item in sequence.commands]
        processed = [i for i, c in enumerate(commands) if c == Command.PROCESS_DEPENDENCY]
        assert len(processed) == 2
        for i in processed:
            assert Command.DEPENDENCY_INTEGRITY in commands[:i]

