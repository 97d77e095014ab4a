"""Frozen dataclasses that are quick to make (issue 12: decode + verify speed).

A frozen dataclass's generated ``__init__`` sets every field through
``object.__setattr__``, its own ``__setattr__`` refusing, one call per field: about
0.15 us a field, and one decode + verify of a manifest makes some twenty nodes and
results. `quick_init` gives the class an ``__init__`` with the same signature that
writes the fields straight into the instance dictionary, which is all
``object.__setattr__`` does for a plain field, at half the cost. Everything else the
dataclass made stays: frozen (assigning a field still raises), eq, hash, repr,
`dataclasses.fields` and `dataclasses.replace` (which calls the new ``__init__``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields, is_dataclass
from typing import Any, Final, TypeVar

_Class = TypeVar("_Class", bound=type)

#: The ``__init__`` each class had from `dataclasses`, kept for the test that proves the
#: two make the same nodes.
GENERATED_INITS: Final[dict[type, Callable[..., None]]] = {}


def quick_init(cls: _Class) -> _Class:
    """Replace the generated ``__init__`` of frozen dataclass `cls` by a quicker one.

    Only for plain dataclasses: no ``__post_init__``, no ``__slots__``, no keyword-only
    or InitVar fields (refused with TypeError, so a later change cannot go unnoticed).
    """
    params = getattr(cls, "__dataclass_params__", None)
    if (not is_dataclass(cls) or params is None or not params.frozen or not params.init
            or hasattr(cls, "__post_init__") or "__slots__" in vars(cls)
            or any(f.kw_only for f in fields(cls))
            or len(fields(cls)) != len(getattr(cls, "__dataclass_fields__", {}))):
        raise TypeError(f"quick_init: {cls.__name__} is not a plain frozen dataclass")
    GENERATED_INITS[cls] = vars(cls)["__init__"]
    setattr(cls, "__init__", _make_init(cls))  # noqa: B010 - mypy refuses a method assignment
    return cls


def _make_init(cls: type) -> Callable[..., None]:
    """An ``__init__`` taking the init fields of `cls` as the generated one does."""
    namespace: dict[str, Any] = {"_MISSING": MISSING}
    params: list[str] = []
    body: list[str] = []
    for index, item in enumerate(f for f in fields(cls) if f.init):
        name = item.name  # a Python identifier: dataclasses made a parameter of it
        if item.default is not MISSING:
            namespace[f"_default_{index}"] = item.default
            params.append(f"{name}=_default_{index}")
            body.append(f"__state[{name!r}] = {name}")
        elif item.default_factory is not MISSING:
            namespace[f"_factory_{index}"] = item.default_factory
            params.append(f"{name}=_MISSING")
            body.append(f"__state[{name!r}] = _factory_{index}() if {name} is _MISSING else {name}")
        else:
            params.append(name)
            body.append(f"__state[{name!r}] = {name}")
    # Fields with init=False keep their class-level default, as in the generated __init__.
    source = (f"def __init__(__node, {', '.join(params)}):\n"
              "    __state = __node.__dict__\n"
              + "".join(f"    {line}\n" for line in body or ["pass"]))
    # The source is made of our own classes' field names only, as dataclasses does.
    exec(source, namespace)  # noqa: S102
    init: Callable[..., None] = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    return init
