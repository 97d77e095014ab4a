"""`suitwb simulate`: run the SUIT processor over a described device and print the trace
(issue 14; docs/simulate.md has the device file and the JSON schema)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from workbench.errors import FileAccessError
from workbench.project.values import format_bytes, format_digest
from workbench.simulate import Simulation, Step, simulate_files
from workbench.simulate_json import SCHEMA, parameter_name, parameter_value, simulation_json, spec_name


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
    result = simulate_files(args.envelope, args.device,
                            [_payload(text) for text in args.payload]).simulation
    if args.json:
        document = {"schema": SCHEMA, "envelope": str(args.envelope),
                    "device": str(args.device), **simulation_json(result)}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        sys.stdout.write(simulation_text(result))
    return 0 if result.outcome.passed else 1


def _payload(text: str) -> tuple[str, Path]:
    # The last "=": a URI may have a query (a=b), a file name rarely has one.
    uri, separator, path = text.rpartition("=")
    if not separator or not uri or not path:
        raise FileAccessError(f"--payload {text}", "expected URI=FILE",
                              hint="Write it like --payload https://x.example/app.bin=app.bin.")
    return uri, Path(path)


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
        lines = [f"outcome: refused{at}: {spec_name(outcome.reason.name)} "
                 f"({spec_name(outcome.refusal.name)}): {outcome.detail}"]
    report = result.report
    if report is None:
        return [*lines, "report: none (the manifest did not authenticate)"]
    record = report.failing_record
    lines.append(f"report: {'success' if report.success else 'failure'}, reason "
                 f"{spec_name(report.reason.name)}" + ("" if record is None else
                 f", record section {record.section} offset {record.offset} component "
                 f"{record.component_index}"))
    lines.append(f"report cbor: {report.encode().hex()}")
    return lines
