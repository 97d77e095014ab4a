"""Any signed manifest, however odd, ends in success or a typed error (STYLE.md §2-3).

Hypothesis builds random command sequences from every command (and unknown ones) with
arguments of every shape; each is signed for real and run through both procedures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from suit.errors import WorkbenchError
from suit.keys import TrustAnchor
from suit.model import Command, Digest, Parameter
from suit.processor import Procedure, Processor, authenticate
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.device.memory_store import MemoryStore
from testsupport.envelopes import CLASS_ID, VENDOR_ID, Build, seq

ANCHOR = TrustAnchor.from_pem(Path(SPEC_KEY_PUBLIC).read_bytes())
A, B = (b"a",), (b"b",)

parameter_values = st.fixed_dictionaries({}, optional={
    Parameter.VENDOR_ID: st.sampled_from([VENDOR_ID, b"\x00" * 16]),
    Parameter.CLASS_ID: st.just(CLASS_ID),
    Parameter.IMAGE_DIGEST: st.builds(Digest, st.sampled_from([-16, -44, 7]),
                                      st.binary(min_size=32, max_size=32)),
    Parameter.IMAGE_SIZE: st.integers(0, 100),
    Parameter.COMPONENT_SLOT: st.integers(0, 2),
    Parameter.CONTENT: st.binary(max_size=8),
    Parameter.URI: st.sampled_from(["#x", "http://h/a", "#missing"]),
    Parameter.SOURCE_COMPONENT: st.integers(0, 3),
    Parameter.INVOKE_ARGS: st.binary(max_size=4),
    Parameter.SOFT_FAILURE: st.booleans(),
    Parameter.USE_BEFORE: st.integers(0, 2**40),
})

simple = st.tuples(st.sampled_from([c for c in Command if c not in (
    Command.TRY_EACH, Command.RUN_SEQUENCE, Command.OVERRIDE_PARAMETERS,
    Command.SET_PARAMETERS, Command.SET_COMPONENT_INDEX, Command.OVERRIDE_MULTIPLE,
    Command.COPY_PARAMS)] + [99, -300]), st.integers(0, 15))
indexed = st.tuples(st.just(Command.SET_COMPONENT_INDEX),
                    st.one_of(st.integers(0, 3), st.just(True),
                              st.lists(st.integers(0, 2), min_size=1, max_size=3).map(tuple)))
params = st.tuples(st.sampled_from([Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS]),
                   parameter_values)
leaf = st.one_of(simple, indexed, params)


def sequences(depth: int) -> st.SearchStrategy[Any]:
    items = leaf if depth == 0 else st.one_of(
        leaf,
        st.tuples(st.just(Command.TRY_EACH),
                  st.lists(sequences(depth - 1), min_size=1, max_size=3).map(tuple)),
        st.tuples(st.just(Command.RUN_SEQUENCE), sequences(depth - 1)))
    return st.lists(items, max_size=6).map(lambda pairs: seq(*pairs))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(install=sequences(2), validate=sequences(1), two=st.booleans())
def test_random_signed_manifests_end_in_success_or_a_typed_error(install: Any, validate: Any,
                                                                   two: bool) -> None:
    components = (A, B) if two else (A,)
    build = Build(1, components=components, install=install, validate=validate)
    store = MemoryStore({A, B}, VENDOR_ID, CLASS_ID, slots={A: 1})
    try:
        processor = Processor(authenticate(build.envelope(), [ANCHOR]), store, [ANCHOR])
        processor.run(Procedure.UPDATE)
        processor.run(Procedure.INVOCATION)
    except WorkbenchError:
        pass  # a typed refusal; anything else fails the test
