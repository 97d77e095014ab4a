"""The processor's trace hook (issue 14, `suitwb simulate`): every command, in order, with
its location, component, parameters in force and result; and a class-identifier that a
device with one class per CPU answers with all of them (RFC 9019 §5.5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from suit.keys import TrustAnchor
from suit.model import Command, Parameter
from suit.processor import (
    Procedure,
    ProcessingFailed,
    Processor,
    ReportReason,
    TraceStep,
    authenticate,
)
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.device.memory_store import MemoryStore
from testsupport.envelopes import CLASS_ID, VENDOR_ID, Build, seq

ANCHOR = TrustAnchor.from_pem(Path(SPEC_KEY_PUBLIC).read_bytes())
A = (b"a",)
OVERRIDE = Command.OVERRIDE_PARAMETERS


def _run(install: object, store: MemoryStore) -> tuple[list[TraceStep], ProcessingFailed | None]:
    steps: list[TraceStep] = []
    processor = Processor(authenticate(Build(1, components=(A,), install=install).envelope(),
                                       [ANCHOR]), store, [ANCHOR], trace=steps.append)
    try:
        processor.run(Procedure.UPDATE)
    except ProcessingFailed as failed:
        return steps, failed
    return steps, None


def test_trace_lists_every_command_in_order_with_its_parameters_and_result() -> None:
    failing = seq((OVERRIDE, {Parameter.CONTENT: b"first"}), (Command.ABORT, 0))
    writing = seq((OVERRIDE, {Parameter.CONTENT: b"second"}), (Command.WRITE, 0))
    steps, failed = _run(seq((Command.TRY_EACH, (failing, writing))),
                         MemoryStore({A}, VENDOR_ID, CLASS_ID))
    assert failed is None
    seen = [(s.location.path, Command(s.location.command), s.result) for s in steps]
    assert seen == [
        ("install[0]", Command.TRY_EACH, "nested"),
        ("install[0]/try-each[0][0]", OVERRIDE, "passed"),
        ("install[0]/try-each[0][1]", Command.ABORT, "failed"),  # soft: the next one runs
        ("install[0]/try-each[1][0]", OVERRIDE, "passed"),
        ("install[0]/try-each[1][1]", Command.WRITE, "passed")]
    write = steps[-1]
    assert write.component == A and write.location.component_index == 0
    assert write.parameters == {Parameter.CONTENT: b"second"}
    assert steps[2].detail == "abort (M37 §8.4.9.7)"
    # A copy: the parameters are those in force then, not a view of the storage.
    assert steps[1].parameters == {Parameter.CONTENT: b"first"}


def test_trace_ends_with_the_failing_command_and_its_reason() -> None:
    store = MemoryStore({A}, VENDOR_ID, b"another class")
    shared_class = seq((OVERRIDE, {Parameter.CLASS_ID: CLASS_ID}), (Command.CLASS_IDENTIFIER, 0))
    steps: list[TraceStep] = []
    build = Build(1, components=(A,), shared=shared_class, install=seq((Command.ABORT, 0)))
    processor = Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR],
                          trace=steps.append)
    with pytest.raises(ProcessingFailed) as caught:
        processor.run(Procedure.UPDATE)
    assert caught.value.reason == ReportReason.CONDITION_FAILED
    last = steps[-1]
    assert (Command(last.location.command), last.result) == (Command.CLASS_IDENTIFIER, "failed")
    assert last.location == caught.value.location
    assert last.parameters[Parameter.CLASS_ID] == CLASS_ID


def test_no_tracer_runs_the_same_and_traces_nothing() -> None:
    store, traced = MemoryStore({A}, VENDOR_ID, CLASS_ID), MemoryStore({A}, VENDOR_ID, CLASS_ID)
    install = seq((OVERRIDE, {Parameter.CONTENT: b"x"}), (Command.WRITE, 0))
    build = Build(1, components=(A,), install=install)
    Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR]).run(Procedure.UPDATE)
    steps, _ = _run(install, traced)
    assert store.log == traced.log and len(steps) == 2


@pytest.mark.parametrize(("classes", "passes"), [
    (frozenset({b"other", CLASS_ID}), True), (frozenset({b"other"}), False)])
def test_a_device_with_one_class_per_cpu_matches_any_of_them(classes: frozenset[bytes],
                                                             passes: bool) -> None:
    shared = seq((OVERRIDE, {Parameter.CLASS_ID: CLASS_ID}), (Command.CLASS_IDENTIFIER, 0))
    build = Build(1, components=(A,), shared=shared, install=seq((Command.INVOKE, 0)))
    store = MemoryStore({A}, VENDOR_ID)
    store.klass = classes  # type: ignore[assignment]  # MemoryStore types one class
    processor = Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR])
    if passes:
        processor.run(Procedure.UPDATE)
    else:
        with pytest.raises(ProcessingFailed, match="class-id"):
            processor.run(Procedure.UPDATE)
