"""What the inspector finds in an envelope, each finding tied to the element it is about
so a click takes the person there. The checks themselves are `suit.verify`'s; this module
only places their results, and adds the encoding remark `suitwb lint` makes about maps
whose keys are out of deterministic order (docs/architecture.md, byte-exactness policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from suit.codec import member_name
from suit.lint import Severity, lint_envelope
from suit.model import Envelope, EnvelopeKey, ManifestKey
from suit.spans import Path, SpanIndex, Step
from suit.verify import VerificationReport

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITY_ORDER: Final = {ERROR: 0, WARNING: 1, INFO: 2}


@dataclass(frozen=True)
class Finding:
    """One finding: how bad, what, where (a span path), and what to do."""

    severity: str
    message: str
    path: Path
    hint: str = ""


def envelope_root(spans: SpanIndex) -> Path:
    """The path of the envelope map: inside tag 107 when tagged."""
    return (Step.TAGGED,) if spans.spans and spans.spans[0].kind == "tag" else ()


def verification_findings(report: VerificationReport, spans: SpanIndex,
                          anchors_given: bool) -> list[Finding]:
    """Findings from a `check_envelope` report, placed on their elements."""
    root = envelope_root(spans)
    auth = (*root, EnvelopeKey.AUTHENTICATION_WRAPPER, Step.WRAPPED)
    found: list[Finding] = []
    if not report.digest_ok:
        found.append(Finding(ERROR, "manifest digest does not match the manifest", (*auth, 0),
                             "The manifest was altered after it was digested (M37 §8.3)."))
    if not report.blocks:
        found.append(Finding(ERROR, "no authentication block: a processor must refuse it",
                             auth[:-1], "Sign the envelope (M37 §8.3)."))
    for block in report.blocks:
        if block.verified_by:
            continue
        severity = WARNING if not anchors_given else ERROR
        hint = ("Add the signer's public key as a trust anchor." if not anchors_given
                else "The block verifies with none of the trust anchors.")
        found.append(Finding(severity, f"block {block.index} ({block.kind}) not verified: "
                             f"{block.reason}", (*auth, block.index), hint))
    found += _member_findings(report, root)
    return found


def _member_findings(report: VerificationReport, root: Path) -> list[Finding]:
    found: list[Finding] = []
    manifest = (*root, EnvelopeKey.MANIFEST, Step.WRAPPED)
    for name, member in report.severable.items():
        key = _member_key(name)
        if not member.present:
            found.append(Finding(INFO, f"{name} is severed and not carried", (*manifest, key),
                                 "Its sequence cannot run until the member is supplied."))
        elif member.digest_ok is False:
            found.append(Finding(ERROR, f"severed {name}: {member.reason or 'digest mismatch'}",
                                 (*root, key), "The carried member is not the one signed."))
    for name, member in report.integrated.items():
        if member.digest_ok is False:
            found.append(Finding(ERROR, f"integrated {name}: {member.reason or 'digest mismatch'}",
                                 (*root, name), "The integrated payload was altered."))
    return found


def _member_key(name: str) -> int:
    for key in ManifestKey:
        if member_name(key) == name:
            return int(key)
    raise ValueError(name)


def lint_findings(envelope: Envelope, spans: SpanIndex) -> list[Finding]:
    """`suit.lint` rules on the envelope, each placed on the member its ``where`` names
    (``manifest/invoke``, ``envelope/install``; anything else on the manifest)."""
    root = envelope_root(spans)
    manifest = (*root, EnvelopeKey.MANIFEST, Step.WRAPPED)
    found = []
    for item in lint_envelope(envelope):
        severity = ERROR if item.severity is Severity.ERROR else WARNING
        found.append(Finding(severity, f"{item.id} {item.message}",
                             _lint_place(item.where, root, manifest, spans), item.rule.hint))
    return found


def _lint_place(where: str, root: Path, manifest: Path, spans: SpanIndex) -> Path:
    area, _, member = where.partition("/")
    try:
        key = _member_key(member)
    except ValueError:
        return manifest
    # An absent severed member is found at its digest in the manifest.
    candidates = [(*manifest, key)] if area == "manifest" else [(*root, key), (*manifest, key)]
    return next((p for p in candidates if p in spans.by_path), manifest)


def encoding_findings(data: bytes, spans: SpanIndex) -> list[Finding]:
    """Maps whose keys are not in RFC 8949 §4.2.1 order (bytewise lexicographic)."""
    found: list[Finding] = []
    children: dict[Path, list[bytes]] = {}
    for span in spans:
        if span.key_start is not None and span.path:
            children.setdefault(span.path[:-1], []).append(data[span.key_start:span.start])
    for path, keys in children.items():
        if keys != sorted(keys):
            found.append(Finding(INFO, "map keys are not in deterministic order", path,
                                 "Accepted when reading; our encoder writes them sorted "
                                 "(RFC 8949 §4.2.1)."))
    return found
