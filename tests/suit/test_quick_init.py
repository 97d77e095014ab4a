"""`suit.frozen.quick_init` makes the same frozen nodes as the dataclass ``__init__`` it
replaces (issue 12 "Speed"): same fields, same defaults, fresh default factories, still
frozen, and the same arguments accepted or refused."""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import MISSING
from typing import Any

import pytest

from suit import cose, model, verify
from suit.codec import decode_envelope
from suit.frozen import GENERATED_INITS, quick_init
from tests.fixtures.vectors import MANIFEST_SPEC

CLASSES = sorted(GENERATED_INITS, key=lambda cls: f"{cls.__module__}.{cls.__qualname__}")


def _made_by(init: Any, cls: type, *args: Any, **kwargs: Any) -> Any:
    node = object.__new__(cls)
    init(node, *args, **kwargs)
    return node


def _required(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)
            if f.init and f.default is MISSING and f.default_factory is MISSING]


def test_the_nodes_decode_and_verify_make_are_quick() -> None:
    for cls in (model.Digest, model.CommandItem, model.CommandSequence, model.Common,
                model.AuthenticationBlock, model.AuthenticationWrapper, cose.CoseSign1,
                verify.BlockResult, verify.MemberResult, verify.VerificationReport):
        assert cls in GENERATED_INITS, cls


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_same_parameters_as_the_generated_init(cls: type) -> None:
    quick = inspect.signature(cls.__init__).parameters
    generated = inspect.signature(GENERATED_INITS[cls]).parameters
    assert [(p.name, p.kind) for p in quick.values()][1:] == \
        [(p.name, p.kind) for p in generated.values()][1:]
    for field in dataclasses.fields(cls):
        if field.init and field.default is not MISSING:
            assert quick[field.name].default is field.default


@pytest.mark.parametrize("cls", CLASSES, ids=lambda cls: cls.__qualname__)
def test_same_node_with_defaults_and_with_every_field_given(cls: type) -> None:
    required = {name: object() for name in _required(cls)}
    quick = cls(**required)
    generated = _made_by(GENERATED_INITS[cls], cls, **required)
    assert vars(quick) == vars(generated)  # same fields set; init=False ones left out alike
    every = {f.name: object() for f in dataclasses.fields(cls) if f.init}
    assert vars(cls(*every.values())) == vars(_made_by(GENERATED_INITS[cls], cls, **every))
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(quick, dataclasses.fields(cls)[0].name, 1)


def test_default_factories_are_called_per_node() -> None:
    first, second = model.Common(), model.Common()
    assert first.dependencies == {} and first.dependencies is not second.dependencies
    assert first.extensions is not second.extensions


def test_wrong_arguments_are_refused_alike() -> None:
    for args, kwargs in (((), {}), ((1, 2, 3, 4), {}), ((1, b""), {"algorithm": 2}),
                         ((1, b""), {"source": b""}), ((1, b""), {"unknown": 0})):
        with pytest.raises(TypeError):
            model.Digest(*args, **kwargs)
        with pytest.raises(TypeError):
            _made_by(GENERATED_INITS[model.Digest], model.Digest, *args, **kwargs)


def test_replace_goes_through_the_quick_init_and_drops_the_source() -> None:
    envelope = decode_envelope((MANIFEST_SPEC / "example2.cbor").read_bytes())
    digest = envelope.authentication.digest
    changed = dataclasses.replace(digest, value=b"\x00" * 32)
    assert changed.source is None and changed.algorithm == digest.algorithm
    assert changed == model.Digest(digest.algorithm, b"\x00" * 32)


def test_a_class_it_cannot_keep_alike_is_refused() -> None:
    @dataclasses.dataclass
    class Mutable:
        value: int

    @dataclasses.dataclass(frozen=True)
    class Checked:
        value: int

        def __post_init__(self) -> None:
            pass

    @dataclasses.dataclass(frozen=True, kw_only=True)
    class KeywordOnly:
        value: int

    for cls in (Mutable, Checked, KeywordOnly, int):
        with pytest.raises(TypeError, match="not a plain frozen dataclass"):
            quick_init(cls)
