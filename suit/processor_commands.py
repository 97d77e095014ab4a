"""The processor's command interpreter: conditions and directives (M37 §8.4.9-8.4.10,
TD §5.6, UM §5). `suit.processor` holds the public API; this module does the work and
imports nothing above it (suit/processor_model.py).

Control flow (M37 §6.4, §8.4.8.15; SUIT-FACTS §10 rules 10-11): a failed condition ends
the sequence it is in. Inside try-each, where soft-failure starts true, the next
alternative runs; inside run-sequence, where it starts false, the failure propagates
unless soft-failure was set. A failed directive always ends processing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any, Final, NoReturn

from suit.errors import WorkbenchError
from suit.model import Command, CommandItem, CommandSequence, Parameter
from suit.processor_conditions import PER_COMPONENT
from suit.processor_model import Location, ManifestRun, ProcessingFailed, TraceStep
from suit.report import ReportReason

#: Parameters a directive or condition of this processor can use. Encryption info needs a
#: device that decrypts (a `Decrypter`); without one a manifest using it is refused (rule 10).
SUPPORTED_PARAMETERS: Final = frozenset(Parameter) - {Parameter.ENCRYPTION_INFO}


class _ConditionFailed(Exception):
    """A condition failed (control flow inside the interpreter only)."""

    def __init__(self, location: Location, detail: str) -> None:
        super().__init__(detail)
        self.location = location
        self.detail = detail


# --- the static check before running (rules 6, 10, 20) ---------------------------------

def check_supported(processor: ManifestRun) -> None:
    """Refuse a manifest with an unknown command or parameter, or a component the store
    does not have, before anything runs."""
    for index, component in enumerate(processor.components):
        if not processor.store.supports(component):
            raise ProcessingFailed(ReportReason.COMPONENT_UNSUPPORTED,
                                   f"component {index} {_show(component)} is not on this device")
    shared = processor.manifest.common.shared_sequence
    supported = SUPPORTED_PARAMETERS if processor.decrypter is None \
        else SUPPORTED_PARAMETERS | {Parameter.ENCRYPTION_INFO}
    for name, sequence in _all_sequences(processor, shared):
        for item in _walk(sequence):
            _check_item(item, name, supported, shared_sequence=name == "shared-sequence")


def _all_sequences(processor: ManifestRun,
                   shared: CommandSequence | None) -> Iterator[tuple[str, CommandSequence]]:
    if shared is not None:
        yield "shared-sequence", shared
    for section in ("dependency-resolution", "payload-fetch", "candidate-verification",
                    "install", "validate", "load", "invoke"):
        try:
            sequence = processor.section(section)
        except ProcessingFailed:
            continue  # severed and absent: that procedure cannot run, checked when it does
        if sequence is not None:
            yield section, sequence


def _walk(sequence: CommandSequence) -> Iterator[CommandItem]:
    for item in sequence.commands:
        yield item
        if item.command == Command.TRY_EACH:
            for alternative in item.argument:
                if alternative is not None:
                    yield from _walk(alternative)
        elif item.command == Command.RUN_SEQUENCE:
            yield from _walk(item.argument)


def _check_item(item: CommandItem, section: str, supported: frozenset[Parameter], *,
                shared_sequence: bool) -> None:
    try:
        command = Command(item.command)
    except ValueError:
        raise ProcessingFailed(ReportReason.COMMAND_UNSUPPORTED,
                               f"{section}: command {item.command} is not supported") from None
    if command in (Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS):
        _check_parameters(item.argument, section, supported)
    elif command == Command.OVERRIDE_MULTIPLE:
        for params in item.argument.values():
            _check_parameters(params, section, supported)
    elif command == Command.COPY_PARAMS:
        for ids in item.argument.values():
            _check_parameters(dict.fromkeys(ids), section, supported)
    if shared_sequence and command not in _SHARED_ALLOWED:
        raise ProcessingFailed(ReportReason.COMMAND_UNSUPPORTED,
                               f"shared-sequence: {command.spec_name} has effects; the shared "
                               "sequence may only set parameters and test (M37 §8.4.5)")


_SHARED_ALLOWED: Final = frozenset(c for c in Command if c.is_condition) | {
    Command.SET_COMPONENT_INDEX, Command.OVERRIDE_PARAMETERS, Command.SET_PARAMETERS,
    Command.TRY_EACH, Command.RUN_SEQUENCE, Command.OVERRIDE_MULTIPLE, Command.COPY_PARAMS}


def _check_parameters(params: dict[int, Any], section: str,
                      supported: frozenset[Parameter]) -> None:
    for key in params:
        if key not in supported:
            raise ProcessingFailed(ReportReason.PARAMETER_UNSUPPORTED,
                                   f"{section}: parameter {key} is not supported")


def _show(component: tuple[bytes, ...]) -> str:
    return "[" + ", ".join(f"h'{part.hex()}'" for part in component) + "]"


# --- the interpreter --------------------------------------------------------------------

class Interpreter:
    """Runs the sequences of one section with its parameter storage (rule 9)."""

    def __init__(self, processor: ManifestRun, section: str) -> None:
        self.p = processor
        self.section = section
        self.params: dict[int, dict[int, Any]] = {}
        self.selected: tuple[int, ...] = (0,) if processor.index_count == 1 else ()
        self.soft_failure = False
        self.top_offset = 0

    def run_top(self, sequence: CommandSequence, name: str) -> None:
        """Run a top-level sequence; a condition failure here fails the procedure."""
        try:
            for offset, item in enumerate(sequence.commands):
                self.top_offset = offset  # reported for failures nested below this command
                self._run_item(item, f"{name}[{offset}]")
        except _ConditionFailed as failed:
            raise ProcessingFailed(ReportReason.CONDITION_FAILED, failed.detail,
                                   failed.location) from None

    def run(self, sequence: CommandSequence, path: str) -> None:
        """Run a nested sequence; `path` names it in locations (``install[0]/try-each[1]``)."""
        for offset, item in enumerate(sequence.commands):
            self._run_item(item, f"{path}[{offset}]")

    def _run_item(self, item: CommandItem, path: str) -> None:
        command = Command(item.command)
        handler = _GLOBAL.get(command)
        if handler is not None:
            self._run_global(handler, command, item.argument, path)
            return
        if not self.selected:
            self._refuse_unselected(command, path)
        for index in self.selected:
            location = self._location(command, path, index)
            if self.p.trace is None:
                self._run_one(command, index, item.argument, location)
            else:
                self._traced(partial(self._run_one, command, index, item.argument, location),
                             location, index, item.argument)

    def _run_one(self, command: Command, index: int, argument: Any, location: Location) -> None:
        try:
            PER_COMPONENT[command](self, index, argument, location)
        except WorkbenchError as exc:
            if isinstance(exc, ProcessingFailed):
                raise
            # A store failure (the device's error) gets the location of its command.
            raise ProcessingFailed(_reason_of(exc), str(exc), location) from exc

    def _run_global(self, handler: Callable[[Interpreter, Any, Location], None],
                    command: Command, argument: Any, path: str) -> None:
        location = self._location(command, path, None)
        if self.p.trace is None:
            handler(self, argument, location)
        elif command in (Command.TRY_EACH, Command.RUN_SEQUENCE):
            self._step(location, None, "nested")  # before the commands it runs
            handler(self, argument, location)
        else:
            self._traced(partial(handler, self, argument, location), location, None, argument)

    def _refuse_unselected(self, command: Command, path: str) -> NoReturn:
        location = self._location(command, path, None)
        detail = (f"{command.spec_name} with no component selected: with several components "
                  "a sequence must start with set-component-index (M37 §6.2)")
        if self.p.trace is not None:
            self._step(location, None, "failed", detail)
        raise ProcessingFailed(ReportReason.OPERATION_FAILED, detail, location)

    # -- tracing (only when the processor was given a tracer) -------------------------------

    def _traced(self, run: Callable[[], None], location: Location, index: int | None,
                argument: Any) -> None:
        deferred = len(self.p.result.deferred)
        try:
            run()
        except (_ConditionFailed, ProcessingFailed) as failed:
            self._step(location, index, "failed", failed.detail, argument)
            raise
        self._step(location, index,
                   "deferred" if len(self.p.result.deferred) > deferred else "passed",
                   argument=argument)

    def _step(self, location: Location, index: int | None, result: str,
              detail: str = "", argument: Any = None) -> None:
        assert self.p.trace is not None  # noqa: S101 - only called when tracing
        if index is None and len(self.selected) == 1:
            index = self.selected[0]  # a global command: what it left for the one selected
        components = self.p.components
        component = components[index] if index is not None and index < len(components) \
            and index not in self.p.dependency_indices else None
        parameters = dict(self.params.get(index, {})) if index is not None else {}
        self.p.trace(TraceStep(location, self.p.depth, component, parameters, result, detail,
                               argument))

    def _location(self, command: int, path: str, index: int | None) -> Location:
        return Location(self.section, self.top_offset, index, command, path)

    # -- helpers used by the handlers -----------------------------------------------------

    def param(self, index: int, key: Parameter) -> Any:
        """The parameter in effect for component `index`, or None if unset."""
        return self.params.get(index, {}).get(int(key))

    def require(self, index: int, key: Parameter, location: Location) -> Any:
        """A parameter a directive needs; its absence fails the directive."""
        value = self.param(index, key)
        if value is None:
            raise ProcessingFailed(ReportReason.OPERATION_FAILED,
                                   f"{Command(location.command).spec_name} needs "
                                   f"{key.spec_name}, which is not set", location)
        return value

    def component(self, index: int, location: Location) -> tuple[bytes, ...]:
        """The component id at `index`; dependencies and bad indices fail the directive."""
        if index in self.p.dependency_indices or index >= len(self.p.components):
            raise ProcessingFailed(ReportReason.COMPONENT_UNSUPPORTED,
                                   f"index {index} is not a component of this manifest",
                                   location)
        return self.p.components[index]

    def fail(self, location: Location, detail: str) -> NoReturn:
        """A condition failed."""
        raise _ConditionFailed(location, detail)


def _reason_of(exc: WorkbenchError) -> ReportReason:
    reason = getattr(exc, "report_reason", None)
    return reason if isinstance(reason, ReportReason) else ReportReason.OPERATION_FAILED


# --- index selection and parameters (M37 §8.4.10.1, §8.4.10.3; TD §5.6.2; UM §5) ------

def _set_component_index(it: Interpreter, argument: Any, location: Location) -> None:
    if argument is True:
        indices: tuple[int, ...] = tuple(range(len(it.p.components)))
    elif isinstance(argument, tuple):
        indices = argument
    else:
        indices = (argument,)
    for index in indices:
        if index >= it.p.index_count:
            raise ProcessingFailed(ReportReason.COMPONENT_UNSUPPORTED,
                                   f"component index {index} is out of range", location)
    it.selected = indices


def _override_parameters(it: Interpreter, argument: Any, location: Location) -> None:
    for index in it.selected:
        _store_params(it, index, argument, override=True)


def _set_parameters(it: Interpreter, argument: Any, location: Location) -> None:
    for index in it.selected:  # TD §5.6.2: fills only what is unset
        _store_params(it, index, argument, override=False)


def _store_params(it: Interpreter, index: int, params: dict[int, Any], *, override: bool) -> None:
    for key, value in params.items():
        if key == Parameter.SOFT_FAILURE:
            it.soft_failure = bool(value)  # processor-wide (M37 §8.4.8.15)
            continue
        slot = it.params.setdefault(index, {})
        if override or key not in slot:
            slot[key] = value


def _override_multiple(it: Interpreter, argument: Any, location: Location) -> None:
    for index, params in argument.items():
        _set_component_index(it, index, location)
        _store_params(it, index, params, override=True)


def _copy_params(it: Interpreter, argument: Any, location: Location) -> None:
    for source, ids in argument.items():
        for index in it.selected:
            for key in ids:
                value = it.param(source, Parameter(key))
                if value is not None:
                    it.params.setdefault(index, {})[key] = value


# --- try-each and run-sequence (M37 §8.4.10.2, §8.4.10.5) ------------------------------

def _try_each(it: Interpreter, argument: Any, location: Location) -> None:
    saved = it.selected
    for index in saved or (None,):
        _try_each_once(it, argument, location, index)
    if len(saved) > 1:
        it.selected = saved  # each component had its own run; the selection stands


def _try_each_once(it: Interpreter, alternatives: Any, location: Location,
                   index: int | None) -> None:
    saved = it.selected
    last_failure: _ConditionFailed | None = None
    for number, alternative in enumerate(alternatives):
        if alternative is None:
            return  # the final empty alternative: success without doing anything
        it.selected = saved if index is None else (index,)
        it.soft_failure = True
        try:
            it.run(alternative, f"{location.path}/try-each[{number}]")
        except _ConditionFailed as failed:
            if not it.soft_failure:
                raise
            last_failure = failed
            continue
        finally:
            it.soft_failure = False
        return
    assert last_failure is not None  # noqa: S101 - alternatives has at least one item
    raise _ConditionFailed(last_failure.location,
                           f"no alternative of try-each succeeded; last: {last_failure.detail}")


def _run_sequence(it: Interpreter, argument: Any, location: Location) -> None:
    saved = it.selected
    for index in saved or (None,):
        it.selected = saved if index is None else (index,)
        it.soft_failure = False
        try:
            it.run(argument, f"{location.path}/run-sequence")
        except _ConditionFailed:
            if not it.soft_failure:
                raise
        finally:
            it.soft_failure = False
    it.selected = saved


_GLOBAL: Final[dict[Command, Callable[[Interpreter, Any, Location], None]]] = {
    Command.SET_COMPONENT_INDEX: _set_component_index,
    Command.OVERRIDE_PARAMETERS: _override_parameters,
    Command.SET_PARAMETERS: _set_parameters,
    Command.OVERRIDE_MULTIPLE: _override_multiple,
    Command.COPY_PARAMS: _copy_params,
    Command.TRY_EACH: _try_each,
    Command.RUN_SEQUENCE: _run_sequence,
}

#: Every command this processor runs (the capability report's command list).
SUPPORTED_COMMANDS: Final = frozenset(_GLOBAL) | frozenset(PER_COMPONENT)

__all__ = ["SUPPORTED_COMMANDS", "SUPPORTED_PARAMETERS", "Interpreter", "check_supported"]
