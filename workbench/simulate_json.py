"""The stable JSON form of a simulation (docs/simulate.md, schema `suitwb-simulate/1`) and
the parameter values for people, shared by `suitwb simulate --json` and the GUI's Simulate
panel, so both show the same values."""

from __future__ import annotations

import uuid
from typing import Any, Final

from suit.model import Digest, EmbeddedCbor, Parameter, VersionComparison, VersionMatch
from suit.report import Record
from workbench.project.values import format_bytes, format_digest
from workbench.simulate import Simulation, Step

#: The JSON output's schema name; a change that is not an addition bumps the number.
SCHEMA: Final = "suitwb-simulate/1"
_COMPARISONS: Final[dict[int, str]] = {VersionComparison.GREATER: ">", VersionComparison.GREATER_EQUAL: ">=",
                       VersionComparison.EQUAL: "==", VersionComparison.LESSER_EQUAL: "<=",
                       VersionComparison.LESSER: "<"}
_UUID_PARAMETERS: Final = {Parameter.VENDOR_ID, Parameter.CLASS_ID, Parameter.DEVICE_ID}


def parameter_value(key: int, value: Any) -> Any:
    """A parameter's value as JSON: UUIDs, ``sha256:<hex>``, ``>= 1.2.0``, ``h'..'``."""
    if key in _UUID_PARAMETERS and isinstance(value, bytes) and len(value) == 16:
        return str(uuid.UUID(bytes=value))
    if isinstance(value, Digest):
        return format_digest(value)
    if isinstance(value, VersionMatch):
        comparison = _COMPARISONS.get(value.comparison, str(value.comparison))
        return f"{comparison} {'.'.join(map(str, value.version))}"
    if isinstance(value, EmbeddedCbor):
        return f"h'{value.data.hex()}'"
    if isinstance(value, bytes):
        return f"h'{value.hex()}'"
    if isinstance(value, bool | int | str):
        return value
    return repr(value)


def parameter_name(key: int) -> str:
    try:
        return Parameter(key).spec_name.removeprefix("parameter-")
    except ValueError:
        return str(key)


def step_json(index: int, step: Step) -> dict[str, Any]:
    trace = step.trace
    location = trace.location if trace else None
    return {
        "index": index, "procedure": step.procedure, "command": step.command,
        "section": location.section if location else None,
        "path": location.path if location else None,
        "offset": location.offset if location else None,
        "depth": trace.depth if trace else 0,
        "component-index": location.component_index if location else None,
        "component": [format_bytes(p) for p in trace.component] if trace and trace.component
        else None,
        "parameters": {parameter_name(k): parameter_value(k, v)
                       for k, v in sorted(trace.parameters.items())} if trace else {},
        "result": step.result, "detail": step.detail}


def simulation_json(result: Simulation) -> dict[str, Any]:
    """The stable JSON form (docs/simulate.md), without the file names."""
    outcome = result.outcome
    where = outcome.location
    return {
        "manifest-digest": format_digest(result.manifest_digest) if result.manifest_digest
        else None,
        "sequence-number": result.sequence_number,
        "steps": [step_json(i, s) for i, s in enumerate(result.steps)],
        "outcome": {"result": "passed" if outcome.passed else "refused",
                    "reason": spec_name(outcome.reason.name), "reason-code": int(outcome.reason),
                    "refusal": spec_name(outcome.refusal.name), "step": outcome.step,
                    "section": where.section if where else None,
                    "path": where.path if where else None, "detail": outcome.detail},
        "deferred": [{"section": d.section, "path": d.path, "component-index": d.component_index}
                     for d in result.deferred],
        "effects": list(result.effects),
        "report": _report_json(result)}


def _report_json(result: Simulation) -> dict[str, Any] | None:
    report = result.report
    if report is None:
        return None
    return {"reference-uri": report.reference_uri,
            "manifest-digest": format_digest(report.manifest_digest),
            "success": report.success, "reason": spec_name(report.reason.name),
            "failing-record": _record_json(report.failing_record),
            "cbor": report.encode().hex()}


def _record_json(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"manifest-id": list(record.manifest_id), "section": record.section,
            "offset": record.offset, "component-index": record.component_index,
            "properties": {parameter_name(k): parameter_value(k, v)
                           for k, v in sorted(record.properties.items())}}


def spec_name(enum_name: str) -> str:
    """An enum member's name as the spec writes it: ``CONDITION_FAILED`` -> ``condition-failed``."""
    return enum_name.lower().replace("_", "-")
