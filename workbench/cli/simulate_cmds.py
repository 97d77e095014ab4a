"""`suitwb simulate`: run the SUIT processor over a described device and print the trace
(issue 14; docs/simulate.md has the device file and the JSON schema)."""

from __future__ import annotations

import argparse
import json
import sys
import uuid
from pathlib import Path
from typing import Any, Final

from fileio import read_limited
from suit.model import Digest, EmbeddedCbor, Parameter, VersionComparison, VersionMatch
from suit.report import Record
from workbench.errors import FileAccessError
from workbench.files import MAX_ENVELOPE, read_bytes
from workbench.project.values import format_bytes, format_digest
from workbench.simulate import Simulation, Step, simulate
from workbench.simulate_device import load_device

#: Largest payload file read for --payload.
MAX_PAYLOAD: Final = 64 * 1024 * 1024
#: The JSON output's schema name; a change that is not an addition bumps the number.
SCHEMA: Final = "suitwb-simulate/1"
_COMPARISONS: Final[dict[int, str]] = {VersionComparison.GREATER: ">", VersionComparison.GREATER_EQUAL: ">=",
                       VersionComparison.EQUAL: "==", VersionComparison.LESSER_EQUAL: "<=",
                       VersionComparison.LESSER: "<"}
_UUID_PARAMETERS: Final = {Parameter.VENDOR_ID, Parameter.CLASS_ID, Parameter.DEVICE_ID}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `simulate`."""
    p = sub.add_parser(
        "simulate", help="run the SUIT processor over a described device and print the trace",
        description="Run the update (and the boot, if the device file asks) of ENVELOPE on "
                    "the device DEVICE.toml describes, and print every command with its "
                    "component, the parameters in force and its result. Exit 0: the device "
                    "would accept it; 1: it would refuse (the outcome says where and why); "
                    "2: malformed input or misuse.")
    p.add_argument("envelope", type=Path, metavar="ENVELOPE", help="the signed envelope")
    p.add_argument("--device", type=Path, required=True, metavar="DEVICE.toml",
                   help="the device: identity, components, clock, battery, trust anchors")
    p.add_argument("--payload", action="append", default=[], metavar="URI=FILE",
                   help="serve FILE at URI when the manifest fetches it (repeatable)")
    p.add_argument("--json", action="store_true", help="print the trace as JSON on stdout")
    p.set_defaults(func=run_simulate)


def run_simulate(args: argparse.Namespace) -> int:
    device = load_device(args.device)
    payloads = dict(_payload(text) for text in args.payload)
    envelope = read_bytes(args.envelope, limit=MAX_ENVELOPE)
    result = simulate(envelope, device, payloads)
    if args.json:
        document = {"schema": SCHEMA, "envelope": str(args.envelope),
                    "device": str(args.device), **simulation_json(result)}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(simulation_text(result))
    return 0 if result.outcome.passed else 1


def _payload(text: str) -> tuple[str, bytes]:
    # The last "=": a URI may have a query (a=b), a file name rarely has one.
    uri, separator, path = text.rpartition("=")
    if not separator or not uri or not path:
        raise FileAccessError(f"--payload {text}", "expected URI=FILE",
                              hint="Write it like --payload https://x.example/app.bin=app.bin.")
    return uri, read_limited(path, MAX_PAYLOAD, regular_only=True)


# --- values for people and for JSON ------------------------------------------------------

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
                    "reason": _name(outcome.reason.name), "reason-code": int(outcome.reason),
                    "refusal": _name(outcome.refusal.name), "step": outcome.step,
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
            "success": report.success, "reason": _name(report.reason.name),
            "failing-record": _record_json(report.failing_record),
            "cbor": report.encode().hex()}


def _record_json(record: Record | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"manifest-id": list(record.manifest_id), "section": record.section,
            "offset": record.offset, "component-index": record.component_index,
            "properties": {parameter_name(k): parameter_value(k, v)
                           for k, v in sorted(record.properties.items())}}


def _name(enum_name: str) -> str:
    return enum_name.lower().replace("_", "-")


# --- text ----------------------------------------------------------------------------------

def simulation_text(result: Simulation) -> str:
    """One line per step: index, where, component, command, result, parameters in force."""
    digest = format_digest(result.manifest_digest) if result.manifest_digest else "unknown"
    lines = [f"manifest {digest}, sequence number {result.sequence_number}", ""]
    for i, step in enumerate(result.steps):
        lines.append(_step_line(i, step))
        if step.detail:
            lines.append(f"{'':>5}  {step.result}: {step.detail}")
    lines += ["", *_outcome_lines(result)]
    return "\n".join(lines) + "\n"


def _step_line(index: int, step: Step) -> str:
    trace = step.trace
    where = f"{step.procedure}" if trace is None else \
        f"{step.procedure} {'  ' * trace.depth}{trace.location.path}"
    component = "-" if trace is None or trace.component is None else \
        "[" + ", ".join(format_bytes(p) for p in trace.component) + "]"
    if trace is not None and trace.component is None and trace.location.component_index is not None:
        component = f"#{trace.location.component_index}"
    parameters = "" if trace is None else " ".join(
        f"{parameter_name(k)}={parameter_value(k, v)}" for k, v in sorted(trace.parameters.items()))
    return f"{index:>5}  {where:<44} {component:<14} {step.command:<38} {step.result:<8} " \
           f"{parameters}".rstrip()


def _outcome_lines(result: Simulation) -> list[str]:
    outcome = result.outcome
    if outcome.passed:
        lines = ["outcome: passed"]
        if result.deferred:
            lines.append(f"  {len(result.deferred)} image checks deferred: no payload given "
                         "(--payload URI=FILE checks them)")
    else:
        at = "" if outcome.step is None else f" at step {outcome.step}"
        lines = [f"outcome: refused{at}: {_name(outcome.reason.name)} "
                 f"({_name(outcome.refusal.name)}): {outcome.detail}"]
    report = result.report
    if report is None:
        return [*lines, "report: none (the manifest did not authenticate)"]
    record = report.failing_record
    lines.append(f"report: {'success' if report.success else 'failure'}, reason "
                 f"{_name(report.reason.name)}" + ("" if record is None else
                 f", record section {record.section} offset {record.offset} component "
                 f"{record.component_index}"))
    lines.append(f"report cbor: {report.encode().hex()}")
    return lines
