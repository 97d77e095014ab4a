"""`suitwb lint` for projects and envelopes: the format rules of `suit.lint` on the built
(unsigned) envelope, plus rules that need the project's files.

Project rules share the ids of the format rules they mirror (a detached payload without a
URI is SUIT004 whether found in a project or an envelope); PRJ ids are project-only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from signing.audit import SigningAuditLog
from suit.codec import DEFAULT_MAX_SIZE
from suit.errors import WorkbenchError
from suit.lint import RULES, Finding, Rule, Severity, lint_envelope
from workbench import files
from workbench.project import values
from workbench.project.builder import BuildOptions, build_project
from workbench.project.errors import ProjectError
from workbench.project.model import Project
from workbench.project.paths import outside_files
from workbench.project.resolve import DependencyInfo, resolve
from workbench.stateful_keys import LOW_RULE, low_key_findings

PROJECT_RULES: Final = {
    "PRJ001": Rule("PRJ001", "build-fails", Severity.ERROR,
                   "the project cannot be built", "Fix the member the message names."),
    "PRJ002": Rule("PRJ002", "outside-project", Severity.WARNING,
                   "a file the project names lies outside its folder (allow-outside-project)",
                   "Move the file into the project folder and drop allow-outside-project; "
                   "its bytes are digested into, or carried in, the signed envelope."),
}
PROJECT_RULES["PRJ003"] = LOW_RULE
ALL_RULES: Final = {**RULES, **PROJECT_RULES}
#: Envelopes larger than this are not linted (integrated payloads of big devices).
MAX_ENVELOPE: Final = 256 * 1024 * 1024


@dataclass(frozen=True)
class LintReport:
    """Findings, and whether any is an error."""

    findings: tuple[Finding, ...]

    @property
    def errors(self) -> int:
        return sum(f.severity is Severity.ERROR for f in self.findings)


def previous_from_envelope(path: Path) -> int:
    """The sequence number of a previous release's envelope."""
    # Only the manifest is looked at, as the decoder's default limit has always allowed.
    return files.read_envelope(path, limit=DEFAULT_MAX_SIZE).manifest.sequence_number


def previous_from_audit_log(path: Path | None = None) -> int | None:
    """The highest sequence number the signing audit log records, or None if empty.

    The log holds every release this workstation signed, of every product, so this is
    the strictest bound; give --previous with the product's last envelope to compare with
    that release only.
    """
    numbers = [int(r.sequence_number) for _, r in SigningAuditLog(path).entries()
               if r.sequence_number.isdigit()]
    return max(numbers, default=None)


def lint_project(project: Project, previous_sequence: int | None = None) -> LintReport:
    """Lint a project: build it unsigned in memory, lint that, plus the project rules."""
    findings = list(_project_rules(project))
    try:
        result = build_project(project, BuildOptions())
    except WorkbenchError as exc:
        findings.append(Finding(PROJECT_RULES["PRJ001"], str(exc), "project"))
        return LintReport(tuple(findings))
    findings += lint_envelope(result.envelope, previous_sequence=previous_sequence)
    return LintReport(tuple(findings))


def lint_envelope_file(path: Path, previous_sequence: int | None = None) -> LintReport:
    """Lint an envelope file with the format rules."""
    envelope = files.read_envelope(path, limit=MAX_ENVELOPE)
    return LintReport(tuple(lint_envelope(envelope, previous_sequence=previous_sequence)))


def _project_rules(project: Project) -> Iterator[Finding]:
    for c in project.components:
        shipped = c.image is not None and c.image.file is not None
        if shipped and not c.integrated and c.uri is None and c.staging is None \
                and c.load_from is None:
            yield Finding(RULES["SUIT004"], f"component {c.name} has an image file but no "
                          "uri and is not integrated: devices cannot fetch it",
                          f"component {c.name}")
        for k, slot in enumerate(c.slots):
            if slot.image.file is not None and slot.uri is None and not c.integrated:
                yield Finding(RULES["SUIT004"], f"component {c.name} slot {k} has an image "
                              "file but no uri", f"component {c.name}")
    yield from _dependency_digests(project)
    yield from _outside(project)
    yield from low_key_findings()  # issue 16: a stateful key running out is a release risk


def _outside(project: Project) -> Iterator[Finding]:
    """PRJ002: every path reaching out of the folder (without the opt-in the build refuses
    it, PRJ001); the opt-in is visible in the file, this makes each use visible too."""
    if not project.allow_outside_project:
        return
    for where, name in outside_files(project):
        yield Finding(PROJECT_RULES["PRJ002"], f"{name} is outside the project folder "
                      f"{project.folder}", where)


def _dependency_digests(project: Project) -> Iterator[Finding]:
    """SUIT007: a stated dependency digest that is not the dependency file's."""
    for dep in project.dependencies:
        if dep.digest is None or (dep.envelope is None and dep.project is None):
            continue
        try:
            info = _actual(project, dep.name)
        except (ProjectError, WorkbenchError):
            continue  # the build reports it (PRJ001)
        stated = values.parse_digest(dep.digest, f"dependency {dep.name}.digest")
        if stated.value != info.digest.value:
            yield Finding(RULES["SUIT007"], f"dependency {dep.name}: stated digest "
                          f"{stated.value.hex()[:16]}… but its manifest digest is "
                          f"{info.digest.value.hex()[:16]}…", f"dependency {dep.name}")


def _actual(project: Project, name: str) -> DependencyInfo:
    def build(path: Path) -> bytes:
        from workbench.project.projectfile import load_project
        return build_project(load_project(path)).data

    return resolve(project, build).dependencies[name]
