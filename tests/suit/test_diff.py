"""suit.diff on the published vectors and on envelopes changed one field at a time."""

from __future__ import annotations

from dataclasses import replace

from suit.codec import decode_envelope
from suit.diff import diff_envelopes
from suit.model import Command, CommandItem, CommandSequence
from tests.fixtures.vectors import MANIFEST_SPEC


def _load(name: str):
    return decode_envelope((MANIFEST_SPEC / f"{name}.cbor").read_bytes())


def test_an_envelope_equals_itself():
    assert diff_envelopes(_load("example3"), _load("example3")).identical


def test_sequence_number_and_install_sequence_of_example0_to_1():
    diff = diff_envelopes(_load("example0"), _load("example1"))
    manifest = {c.where: c for c in diff.section("manifest")}
    assert (manifest["sequence-number"].left, manifest["sequence-number"].right) == ("0", "1")
    commands = {c.where: c for c in diff.section("commands")}
    assert commands["install"].kind == "added" and commands["invoke"].kind == "removed"
    uri = diff.section("digests")[0]
    assert uri.right == "'http://example.com/file.bin'" and uri.kind == "added"


def test_severing_shows_as_members_no_longer_carried_and_nothing_else_signed_changes():
    diff = diff_envelopes(_load("example2"), _load("example2-severed"))
    assert not diff.section("manifest") and not diff.section("authentication")
    severed = {c.where: c for c in diff.section("severed")}
    assert severed["install"].left.startswith("severed (carried)")
    assert severed["install"].right.startswith("severed (absent)")
    assert set(severed) == {"install", "text"}


def test_component_removed_and_per_component_digests():
    diff = diff_envelopes(_load("example4"), _load("example5"))
    assert [(c.where, c.kind, c.left) for c in diff.section("components")] == [
        ("components[1]", "removed", "[h'02']")]
    digests = {c.where: c for c in diff.section("digests")}
    assert digests["component [h'02'] image-digest"].kind == "removed"


def test_one_changed_command_is_one_change_at_its_position():
    left = _load("example3")
    validate = left.manifest.validate
    changed = CommandSequence((*validate.commands[:-1], CommandItem(Command.IMAGE_MATCH, 2)))
    right = replace(left, manifest=replace(left.manifest, validate=changed))
    diff = diff_envelopes(left, right)
    commands = diff.section("commands")
    assert [(c.where, c.kind, c.left, c.right) for c in commands] == [
        (f"validate[{len(validate.commands) - 1}]", "changed", "image-match 15", "image-match 2")]


def test_reordered_components_report_moves_not_changed_digests():
    left = _load("example5")
    common = left.manifest.common
    right = replace(left, manifest=replace(left.manifest, common=replace(
        common, components=tuple(reversed(common.components)))))
    diff = diff_envelopes(left, right)
    assert {c.kind for c in diff.section("components")} <= {"added", "removed"}
    assert len(diff.section("components")) == 2
