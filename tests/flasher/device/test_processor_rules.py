"""Processing rules of the interpreter (SUIT-FACTS §10), on small signed manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from suit.keys import TrustAnchor
from suit.model import Command, EmbeddedCbor, Parameter, VersionMatch
from suit.processor import (
    DeviceFacts,
    Procedure,
    ProcessingFailed,
    Processor,
    ReportReason,
    authenticate,
)
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.device.memory_store import MemoryStore
from testsupport.envelopes import CLASS_ID, VENDOR_ID, Build, seq

ANCHOR = TrustAnchor.from_pem(Path(SPEC_KEY_PUBLIC).read_bytes())
A, B = (b"a",), (b"b",)
OVERRIDE, SET = Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS


def process(install: object, store: MemoryStore, *, components: tuple = (A,),
            shared: object = None) -> Processor:
    build = Build(1, components=components, shared=shared, install=install)
    processor = Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR])
    processor.run(Procedure.UPDATE)
    return processor


def memory(**kwargs: object) -> MemoryStore:
    return MemoryStore({A, B}, VENDOR_ID, CLASS_ID, **kwargs)


def test_try_each_moves_on_after_a_condition_fails_and_stops_at_the_first_success() -> None:
    store = memory()
    first = seq((OVERRIDE, {Parameter.CONTENT: b"first"}), (Command.ABORT, 0),
                (Command.WRITE, 0))
    second = seq((OVERRIDE, {Parameter.CONTENT: b"second"}), (Command.WRITE, 0))
    third = seq((OVERRIDE, {Parameter.CONTENT: b"third"}), (Command.WRITE, 0))
    process(seq((Command.TRY_EACH, (first, second, third))), store)
    assert store.effects("write") == [(A, b"second")]


def test_try_each_with_all_failing_fails_unless_it_ends_with_nil() -> None:
    failing = seq((Command.ABORT, 0))
    with pytest.raises(ProcessingFailed) as caught:
        process(seq((Command.TRY_EACH, (failing, failing))), memory())
    assert caught.value.reason == ReportReason.CONDITION_FAILED
    process(seq((Command.TRY_EACH, (failing, None)), (OVERRIDE, {Parameter.CONTENT: b"x"}),
                (Command.WRITE, 0)), store := memory())
    assert store.effects("write") == [(A, b"x")]


def test_a_directive_failure_inside_try_each_aborts_everything() -> None:
    no_uri = seq((Command.FETCH, 0))  # fetch without a uri: a directive failure
    fine = seq((OVERRIDE, {Parameter.CONTENT: b"x"}), (Command.WRITE, 0))
    with pytest.raises(ProcessingFailed) as caught:
        process(seq((Command.TRY_EACH, (no_uri, fine))), store := memory())
    assert caught.value.reason == ReportReason.OPERATION_FAILED
    assert store.effects("write") == []


def test_run_sequence_fails_on_a_condition_unless_soft_failure_is_set() -> None:
    with pytest.raises(ProcessingFailed):
        process(seq((Command.RUN_SEQUENCE, seq((Command.ABORT, 0)))), memory())
    soft = seq((OVERRIDE, {Parameter.SOFT_FAILURE: True}), (Command.ABORT, 0),
               (OVERRIDE, {Parameter.CONTENT: b"skipped"}), (Command.WRITE, 0))
    after = (OVERRIDE, {Parameter.CONTENT: b"after"})
    process(seq((Command.RUN_SEQUENCE, soft), after, (Command.WRITE, 0)), store := memory())
    assert store.effects("write") == [(A, b"after")]


def test_set_parameters_fills_only_unset_ones() -> None:
    process(seq((OVERRIDE, {Parameter.CONTENT: b"kept"}), (SET, {Parameter.CONTENT: b"no"}),
                (Command.WRITE, 0)), store := memory())
    assert store.effects("write") == [(A, b"kept")]


def test_set_component_index_true_runs_each_command_per_component() -> None:
    install = seq((Command.SET_COMPONENT_INDEX, True), (OVERRIDE, {Parameter.CONTENT: b"z"}),
                  (Command.WRITE, 0))
    process(install, store := memory(), components=(A, B))
    assert store.effects("write") == [(A, b"z"), (B, b"z")]


def test_override_multiple_sets_per_component_parameters() -> None:
    install = seq((Command.OVERRIDE_MULTIPLE, {0: {Parameter.CONTENT: b"for a"},
                                               1: {Parameter.CONTENT: b"for b"}}),
                  (Command.SET_COMPONENT_INDEX, (0, 1)), (Command.WRITE, 0))
    process(install, store := memory(), components=(A, B))
    assert store.effects("write") == [(A, b"for a"), (B, b"for b")]


def test_several_components_need_set_component_index() -> None:
    install = seq((OVERRIDE, {Parameter.CONTENT: b"z"}), (Command.WRITE, 0))
    with pytest.raises(ProcessingFailed, match="set-component-index"):
        process(install, memory(), components=(A, B))


def test_check_content_compares_the_component() -> None:
    ok = seq((OVERRIDE, {Parameter.CONTENT: b"abc"}), (Command.CHECK_CONTENT, 15))
    process(ok, memory(images={A: b"abcdef"}))
    with pytest.raises(ProcessingFailed) as caught:
        process(ok, memory(images={A: b"abX"}))
    assert caught.value.location.command == Command.CHECK_CONTENT


def test_unknown_and_custom_commands_are_refused_before_anything_runs() -> None:
    for command in (99, -257):
        store = memory()
        install = seq((OVERRIDE, {Parameter.CONTENT: b"x"}), (Command.WRITE, 0), (command, 0))
        with pytest.raises(ProcessingFailed) as caught:
            process(install, store)
        assert caught.value.reason == ReportReason.COMMAND_UNSUPPORTED
        assert store.effects("write") == []


def test_a_directive_with_effects_in_the_shared_sequence_is_refused() -> None:
    shared = seq((OVERRIDE, {Parameter.CONTENT: b"x"}), (Command.WRITE, 0))
    with pytest.raises(ProcessingFailed, match="shared"):
        process(seq((Command.ABORT, 0)), memory(), shared=shared)


def test_encryption_info_is_an_unsupported_parameter() -> None:
    install = seq((OVERRIDE, {Parameter.ENCRYPTION_INFO: b"\xa0"}))
    with pytest.raises(ProcessingFailed) as caught:
        process(install, memory())
    assert caught.value.reason == ReportReason.PARAMETER_UNSUPPORTED


def test_update_management_conditions_use_the_devices_facts() -> None:
    facts = DeviceFacts(now=1_000, battery_mwh=500, authorized_priority=5,
                        versions={A: (1, 2, 3)})
    passing = seq((OVERRIDE, {Parameter.USE_BEFORE: 2_000, Parameter.MINIMUM_BATTERY: 400,
                              Parameter.UPDATE_PRIORITY: 1,
                              Parameter.VERSION: VersionMatch(2, (1, 2))}),
                  (Command.USE_BEFORE, 0), (Command.MINIMUM_BATTERY, 0),
                  (Command.UPDATE_AUTHORIZED, 0), (Command.VERSION, 0))
    process(passing, memory(device_facts=facts))
    for key, value, command in [(Parameter.USE_BEFORE, 999, Command.USE_BEFORE),
                                (Parameter.MINIMUM_BATTERY, 600, Command.MINIMUM_BATTERY),
                                (Parameter.VERSION, VersionMatch(1, (1, 3)), Command.VERSION)]:
        with pytest.raises(ProcessingFailed) as caught:
            process(seq((OVERRIDE, {key: value}), (command, 0)), memory(device_facts=facts))
        assert caught.value.location.command == command


def test_a_condition_on_an_unknown_fact_fails() -> None:
    with pytest.raises(ProcessingFailed):
        process(seq((OVERRIDE, {Parameter.MINIMUM_BATTERY: 1}), (Command.MINIMUM_BATTERY, 0)),
                memory())


def test_try_each_over_several_components_runs_once_per_component() -> None:
    first = seq((OVERRIDE, {Parameter.CONTENT: b"aa"}), (Command.CHECK_CONTENT, 0),
                (OVERRIDE, {Parameter.CONTENT: b"matched aa"}), (Command.WRITE, 0))
    second = seq((OVERRIDE, {Parameter.CONTENT: b"bb"}), (Command.CHECK_CONTENT, 0),
                 (OVERRIDE, {Parameter.CONTENT: b"matched bb"}), (Command.WRITE, 0))
    install = seq((Command.SET_COMPONENT_INDEX, True), (Command.TRY_EACH, (first, second)))
    process(install, store := memory(images={A: b"aa", B: b"bb"}), components=(A, B))
    assert store.effects("write") == [(A, b"matched aa"), (B, b"matched bb")]


class RecordingDecrypter:
    """A `Decrypter` that records what the processor asks of it."""

    def __init__(self) -> None:
        self.calls: list[tuple[object, ...]] = []

    def write_decrypted(self, component_id: tuple[bytes, ...], content: bytes,
                        encryption_info: bytes) -> None:
        self.calls.append(("write", component_id, content, encryption_info))

    def copy_decrypted(self, destination: tuple[bytes, ...], source: tuple[bytes, ...],
                       size: int | None, encryption_info: bytes) -> None:
        self.calls.append(("copy", destination, source, size, encryption_info))


def test_with_a_decrypter_encryption_info_turns_write_and_copy_into_decryption() -> None:
    """FE §6: the parameter in force for a component makes its write and copy decrypt;
    a component without it writes and copies plainly."""
    info = b"\xd8\x60\x84\x40\xa0\xf6\x80"  # the bytes are the decrypter's to judge
    install = seq((Command.SET_COMPONENT_INDEX, 1),
                  (OVERRIDE, {Parameter.CONTENT: b"plain"}), (Command.WRITE, 0),
                  (Command.SET_COMPONENT_INDEX, 0),
                  (OVERRIDE, {Parameter.CONTENT: b"sealed", Parameter.ENCRYPTION_INFO:
                              EmbeddedCbor(info), Parameter.SOURCE_COMPONENT: 1,
                              Parameter.IMAGE_SIZE: 5}),
                  (Command.WRITE, 0), (Command.COPY, 0))
    store, decrypter = memory(), RecordingDecrypter()
    build = Build(1, components=(A, B), install=install)
    processor = Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR],
                          decrypter=decrypter)
    processor.run(Procedure.UPDATE)
    assert decrypter.calls == [("write", A, b"sealed", info), ("copy", A, B, 5, info)]
    assert store.images[B] == b"plain"  # no encryption info for B: a plain write
