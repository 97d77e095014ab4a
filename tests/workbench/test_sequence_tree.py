"""Block-tree edits of explicit command sequences (the visual editor's model, no Qt)."""

from __future__ import annotations

import pytest

from suit.lint import RULES
from workbench.project import sequence_tree as tree
from workbench.project.builder import BuildOptions, build_project
from workbench.project.errors import ProjectFileError
from workbench.project.templates import create_project

# install = [set-component-index 1, try-each [[slot 0, check], [slot 1, check], nil], fetch]
TRY = {"try-each": [[{"override-parameters": {"component-slot": 0}}, {"component-slot": 5}],
                    [{"override-parameters": {"component-slot": 1}}, {"component-slot": 5}],
                    "nil"]}
ENTRIES = [{"set-component-index": 1}, TRY, {"fetch": 2},
           {"run-sequence": [{"set-component-index": 0}, {"invoke": 2}]}]


def test_paths_walk_every_block_in_reading_order_and_skip_nil():
    assert list(tree.walk(ENTRIES)) == [(0,), (1,), (1, 0, 0), (1, 0, 1), (1, 1, 0), (1, 1, 1),
                                        (2,), (3,), (3, 0, 0), (3, 0, 1)]
    assert tree.block(ENTRIES, (1, 1, 0)) == {"override-parameters": {"component-slot": 1}}
    assert tree.branches(TRY) == TRY["try-each"][:2]  # "nil" is no lane


def test_insert_into_a_branch_leaves_the_input_alone():
    out = tree.insert(ENTRIES, (1, 1), 1, {"image-match": 15})
    assert out[1]["try-each"][1][1] == {"image-match": 15}
    assert len(ENTRIES[1]["try-each"][1]) == 2  # not changed in place
    assert tree.insert(ENTRIES, (), -1, {"image-match": 15})[-1] == {"image-match": 15}


@pytest.mark.parametrize("lane", [(2, 0), (1, 2), (9, 0), (1,)])
def test_a_lane_that_does_not_exist_is_refused(lane):
    with pytest.raises(ProjectFileError, match="no lane"):
        tree.insert(ENTRIES, lane, 0, {"fetch": 2})


def test_move_down_in_the_same_lane_counts_the_gap():
    out, path = tree.move(ENTRIES, (0,), (), 3)
    assert out[2] == {"set-component-index": 1} and path == (2,)


def test_move_out_of_a_branch_into_a_later_sibling_lane():
    out, path = tree.move(ENTRIES, (1, 0, 1), (3, 0), 2)
    assert out[1]["try-each"][0] == [{"override-parameters": {"component-slot": 0}}]
    assert out[3]["run-sequence"][2] == {"component-slot": 5} and path == (3, 0, 2)


def test_move_of_a_block_before_the_target_lane_shifts_the_lane_path():
    out, path = tree.move(ENTRIES, (0,), (1, 0), 0)  # the try-each moves up to row 0
    assert path == (0, 0, 0) and out[0]["try-each"][0][0] == {"set-component-index": 1}


def test_a_block_cannot_move_into_itself():
    with pytest.raises(ProjectFileError, match="inside itself"):
        tree.move(ENTRIES, (1,), (1, 0), 0)


def test_component_context_follows_set_component_index_into_nested_lanes():
    assert tree.component_context(ENTRIES, (0,)) == 1  # its own index
    assert tree.component_context(ENTRIES, (1, 1, 0)) == 1
    assert tree.component_context(ENTRIES, (3, 0, 1)) == 0
    assert tree.component_context([{"fetch": 2}], (0,)) is None


def test_a_finding_lands_on_the_command_of_the_component_it_names():
    entries = [{"set-component-index": 0}, {"fetch": 2}, {"set-component-index": 1}, {"fetch": 2}]
    assert tree.finding_block(entries, "SUIT004", "component 1 is fetched with no uri") == (3,)
    assert tree.finding_block(entries, "SUIT004", "component 0 is fetched with no uri") == (1,)
    assert tree.finding_block(entries, "SUIT001", "no vendor condition") is None
    assert "SUIT004" in RULES and "SUIT003" in RULES and "SUIT008" in RULES  # ids still exist


def test_labels_say_what_happened():
    assert tree.describe_edit("Insert", {"vendor-identifier": 15}, "install") == \
        "Insert condition-vendor-identifier into install"
    assert tree.describe_edit("Delete", {"fetch": 2}, "install", (1, 0)) == \
        "Delete directive-fetch from install block 2 branch 1"


def test_slot_image_references_build_and_unknown_slots_are_refused(tmp_path):
    """"@app[1]" names slot 1's image (the reference the editor writes a generated
    slot-selecting try-each back with); "@app[7]" names nothing."""
    from workbench.project.projectfile import load_project
    project = load_project(create_project("single-mcu", tmp_path / "p"))
    shared = [{"try-each": [[{"override-parameters": {"component-slot": 1,
                                                      "image-digest": "@app[1]",
                                                      "image-size": "@app[1]"}}], "nil"]}]
    tree.check_shape(project, shared, "sequences.shared")
    project.sequences["shared"] = shared
    envelope = build_project(project, BuildOptions()).envelope
    params = envelope.manifest.common.shared_sequence.commands[0].argument[0].commands[0].argument
    image = (project.folder / project.components[0].slots[1].image.file).read_bytes()
    assert params[14] == len(image)  # image-size (M37 §8.4.8.6)
    with pytest.raises(ProjectFileError, match="names no component image"):
        tree.check_shape(project, [{"override-parameters": {"image-digest": "@app[7]"}}], "s")
