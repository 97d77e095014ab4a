"""`suitwb new`, `suitwb build` and `suitwb lint` (issue 4): thin wrappers over
`workbench.project` (docs/project-format.md)."""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from pathlib import Path

from fileio import check_output
from signing.audit import SigningAuditLog
from signing.backends import open_signer
from suit.lint import Severity
from workbench.cli.signing_cmds import TerminalPinProvider
from workbench.project.builder import (
    BuildOptions,
    BuildResult,
    build_project,
    encrypted_path,
    write_envelope,
)
from workbench.project.encryption import EncryptionOptions, project_profile
from workbench.project.errors import ProjectFileError
from workbench.project.lint import (
    ALL_RULES,
    LintReport,
    lint_envelope_file,
    lint_project,
    previous_from_audit_log,
    previous_from_envelope,
)
from workbench.project.mcuboot import McubootSigning, image_path, key_files
from workbench.project.paths import input_files
from workbench.project.projectfile import load_project
from workbench.project.templates import create_project, list_templates


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `suitwb` parser."""
    p = sub.add_parser("new", help="start a release project from a template",
                       description="Create a release project (project.toml and placeholder "
                       "images) for one of the device classes of RFC 9019 §5.")
    p.add_argument("directory", nargs="?", type=Path, metavar="DIR", help="the new project folder")
    p.add_argument("--template", metavar="NAME", help="the template (see --list)")
    p.add_argument("--list", action="store_true", help="list the templates")
    p.add_argument("--vendor-domain", metavar="DOMAIN",
                   help="vendor id = UUID5(DNS, DOMAIN) (default: the template's)")
    p.add_argument("--model", metavar="NAME", help="class id = UUID5(vendor id, NAME)")
    p.set_defaults(func=_new)

    p = sub.add_parser("build", help="build a release project into a SUIT envelope",
                       description="Build the envelope a project describes. The manifest is "
                       "deterministic: the same project and images give the same bytes.")
    p.add_argument("project", type=Path, metavar="PROJECT", help="project.toml (or its folder)")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.suit")
    p.add_argument("--sign", action="append", default=[], metavar="REF",
                   help="sign with this key file or pkcs11: URI (repeatable)")
    p.add_argument("--sequence-number", type=int, metavar="N",
                   help="override the project's sequence number")
    p.add_argument("--mcuboot-key", metavar="REF",
                   help="sign every MCUboot image with this key file or pkcs11: URI "
                   "(over the project's [component.mcuboot] key)")
    p.add_argument("--no-audit", action="store_true",
                   help="do not record the signatures in the signing audit log")
    p.set_defaults(func=_build)

    p = sub.add_parser("lint", help="check a project or an envelope",
                       description="Report rule findings (id, severity, fix hint). Exit "
                       "status 1 when any finding is an error.")
    p.add_argument("target", type=Path, metavar="PROJECT|ENVELOPE")
    previous = p.add_mutually_exclusive_group()
    previous.add_argument("--previous", type=Path, metavar="ENVELOPE",
                          help="the last release: the sequence number must be above its")
    previous.add_argument("--audit-log", nargs="?", const="", metavar="DB",
                          help="compare with the highest sequence number the signing "
                          "audit log records (default log when no DB given)")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--rules", action="store_true", help="list the rules and exit")
    p.set_defaults(func=_lint)


def _project_file(path: Path) -> Path:
    return path / "project.toml" if path.is_dir() else path


def _new(args: argparse.Namespace) -> int:
    if args.list:
        for info in list_templates():
            print(f"{info.name:<16} {info.description}")
        return 0
    if not args.template or args.directory is None:
        print("suitwb new: give --template NAME DIR, or --list", file=sys.stderr)
        return 2
    project_file = create_project(args.template, args.directory,
                                  vendor_domain=args.vendor_domain, model=args.model)
    device = load_project(project_file).device
    print(f"created {project_file} from template {args.template}")
    print(f"  vendor id {device.vendor_id} ({device.vendor_domain})")
    print(f"  class id  {device.class_id} ({device.model})")
    return 0


def _build(args: argparse.Namespace) -> int:
    project = load_project(_project_file(args.project))
    # The output may not replace the project, its images or a key file; refused before
    # anything is signed, so no signature is recorded for an output that cannot exist.
    if args.mcuboot_key and not any(c.mcuboot is not None for c in project.components):
        raise ProjectFileError("--mcuboot-key", "the project has no [component.mcuboot]",
                               hint="Add a [component.mcuboot] table, or leave the option out.")
    keys = [*args.sign, *([args.mcuboot_key] if args.mcuboot_key else [])]
    inputs = [*input_files(project), *key_files(project),
              *(Path(ref) for ref in keys if not ref.startswith("pkcs11:"))]
    check_output(args.output, inputs)
    for component in project.components:
        if component.mcuboot is not None:
            check_output(image_path(args.output, component.name), inputs)
    for component in project.components:
        if component.encrypt:
            check_output(encrypted_path(args.output, component.name), inputs)
    pins = TerminalPinProvider()  # the keys' and the audit anchor's PINs, asked alike
    chosen = project_profile(project)  # MTI §3: the profile picks the signing algorithm
    with ExitStack() as stack:
        signers = []
        for ref in args.sign:
            signer = open_signer(ref, chosen.auth if chosen else None, pins)
            stack.callback(signer.close)
            signers.append(signer)
        result = build_project(project, BuildOptions(
            signers=signers, sequence_number=args.sequence_number,
            mcuboot=McubootSigning(args.mcuboot_key, pins), encryption=EncryptionOptions(pins)))
    signed = result.signatures or result.signed_mcuboot_images
    audit = None if args.no_audit or not signed else SigningAuditLog(pins=pins)
    write_envelope(result, args.output, audit, inputs)
    manifest = result.envelope.manifest
    print(f"built {args.output}: {len(result.data)} bytes, sequence number "
          f"{manifest.sequence_number} (from {result.sequence_source}), manifest digest "
          f"sha256:{result.manifest_digest.hex()}, "
          f"{len(result.envelope.authentication.blocks)} signature(s)")
    _print_mcuboot(result, args.output)
    if chosen is not None:
        print(f"profile {chosen.name}")
    for name in result.encrypted_payloads:
        path = encrypted_path(args.output, name)
        print(f"encrypted payload {path}: {path.stat().st_size} bytes (serve it at component "
              f"{name}'s uri)")
    if result.sequence_source == "clock":
        print("note: the sequence number came from the clock; set SOURCE_DATE_EPOCH for "
              "reproducible builds", file=sys.stderr)
    return 0


def _print_mcuboot(result: BuildResult, output: Path) -> None:
    for name, image in result.mcuboot_images.items():
        signed = f"signed {image.signature_type} by {image.identity.key_reference}" \
            if image.identity is not None else "hash only (no key)"
        print(f"MCUboot image {image_path(output, name)}: {len(image.data)} bytes, "
              f"sha256:{image.image_hash.hex()}, {signed}")


def _lint(args: argparse.Namespace) -> int:
    if args.rules:
        for rule in ALL_RULES.values():
            print(f"{rule.id} {rule.severity.value:<7} {rule.name}: {rule.summary}")
        return 0
    previous = None
    if args.previous is not None:
        previous = previous_from_envelope(args.previous)
    elif args.audit_log is not None:
        previous = previous_from_audit_log(Path(args.audit_log) if args.audit_log else None)
    target = args.target
    if target.is_dir() or target.suffix == ".toml":
        report = lint_project(load_project(_project_file(target)), previous)
    else:
        report = lint_envelope_file(target, previous)
    _print_report(report, args.json)
    return 1 if report.errors else 0


def _print_report(report: LintReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps([{"id": f.id, "name": f.rule.name, "severity": f.severity.value,
                           "where": f.where, "message": f.message, "hint": f.rule.hint}
                          for f in report.findings], indent=2))
        return
    for f in report.findings:
        print(f"{f.severity.value}: {f.id} {f.rule.name}: {f.where}: {f.message}")
        print(f"  hint: {f.rule.hint}")
    warnings = sum(f.severity is Severity.WARNING for f in report.findings)
    print(f"{report.errors} error(s), {warnings} warning(s)")
