"""The exception tree of SUIT Workbench, rooted here because `suit` is the lowest layer.

Every package has one root (`ManifestError` here, `SigningError` in `signing`,
`FlasherError` in `flasher`, ...), all under `WorkbenchError`. Errors carry fields,
not pre-formatted strings, and a `hint` for the person reading them. Third-party
exceptions are translated where they arise and go no further.
"""

from __future__ import annotations

from typing import ClassVar


class WorkbenchError(Exception):
    """Root of every error SUIT Workbench raises on purpose.

    Attributes:
        hint: One line telling the person what to do about it.
    """

    default_hint: ClassVar[str] = ""
    #: The `suitwb` exit status for this error: 1 for "checked and found wanting"
    #: (a bad signature, a refused update), 2 for bad input or misuse.
    exit_status: ClassVar[int] = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint if hint is not None else self.default_hint

    def __str__(self) -> str:
        return self.message


class ManifestError(WorkbenchError):
    """Root of the format core's errors: anything wrong with SUIT or COSE bytes."""


class DecodeError(ManifestError):
    """Bytes that are not a well-formed SUIT structure.

    Attributes:
        path: Where it happened, like ``manifest/common/components[2]``.
        problem: What was wrong, like ``expected bstr, found int``.
    """

    default_hint = "The file is not a valid SUIT envelope; check that it is the signed output."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path or '<envelope>'}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class NestingTooDeep(DecodeError):
    """Structures nested deeper than the decoder allows: a nesting bomb, not a manifest.

    Attributes:
        what: What nests: ``command sequences`` or ``integrated dependencies``.
        limit: The deepest nesting accepted.
    """

    def __init__(self, path: str, what: str, limit: int) -> None:
        super().__init__(path, f"{what} nest deeper than {limit} levels",
                         hint=f"Real manifests nest {what} a few levels; this input is "
                              "malformed or hostile.")
        self.what = what
        self.limit = limit


class VerificationError(ManifestError):
    """An envelope that is well-formed but not authentic or not intact."""

    default_hint = "Do not install this envelope; obtain a correctly signed one."
    exit_status = 1


class NoAuthenticationBlock(VerificationError):
    """The authentication wrapper holds a digest but no signature or MAC (M37 §8.3)."""

    def __init__(self) -> None:
        super().__init__("the envelope carries no authentication block",
                         hint="Sign the envelope before distributing it.")


class DigestMismatch(VerificationError):
    """A digest in the envelope does not match the bytes it covers.

    Attributes:
        member: What was digested, like ``manifest`` or ``install``.
        expected: The digest the envelope states.
        actual: The digest of the bytes that arrived.
    """

    def __init__(self, member: str, expected: bytes, actual: bytes) -> None:
        super().__init__(f"{member}: digest mismatch (stated {expected.hex()}, "
                         f"computed {actual.hex()})")
        self.member = member
        self.expected = expected
        self.actual = actual


class SignatureInvalid(VerificationError):
    """No authentication block verified with any of the given trust anchors.

    Attributes:
        failures: One line per block saying why it did not verify.
    """

    def __init__(self, failures: list[str]) -> None:
        detail = "; ".join(failures) if failures else "no trust anchor given"
        super().__init__(f"no authentication block verifies: {detail}",
                         hint="Check that the right public key or secret was given.")
        self.failures = failures


class SignatureMissing(VerificationError):
    """Policy ``all``: some trust anchor verifies no authentication block (a hybrid
    envelope with one of its signatures removed, say).

    Attributes:
        anchors: The names of the anchors no block verifies with.
    """

    def __init__(self, anchors: list[str]) -> None:
        super().__init__("policy all: no authentication block verifies with "
                         + ", ".join(anchors),
                         hint="Every trusted key must sign this envelope; add the missing "
                              "signature, or drop the key if it need not sign.")
        self.anchors = anchors


class UnsupportedAlgorithm(ManifestError):
    """An algorithm identifier this processor does not implement.

    Attributes:
        kind: ``digest``, ``signature``, ``mac`` or ``encryption``.
        algorithm: The COSE or SUIT algorithm identifier.
    """

    def __init__(self, kind: str, algorithm: object) -> None:
        super().__init__(f"unsupported {kind} algorithm {algorithm!r}")
        self.kind = kind
        self.algorithm = algorithm


class TrustAnchorError(ManifestError):
    """A trust anchor or key that cannot be used (bad PEM, wrong curve for the algorithm)."""

    default_hint = "Give a PEM public key or a COSE_Key matching the envelope's algorithm."


class EncodeError(ManifestError):
    """A model that cannot be encoded (a value of the wrong type for its member).

    Attributes:
        path: The member, like ``manifest/common/components[0]``.
        problem: What was wrong.
    """

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


class DependencyNotAuthentic(VerificationError):
    """An integrated dependency whose own authentication fails (TD §5.4).

    Attributes:
        key: The envelope key it is integrated under, like ``#dependent.suit``.
    """

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"integrated dependency {key}: {reason}",
                         hint="Give the dependency signer's key too (another --key).")
        self.key = key


class UncoveredMember(VerificationError):
    """An envelope member that no digest covers: bytes riding along unauthenticated.

    Attributes:
        member: The envelope key, like ``21`` or ``#payload``.
    """

    def __init__(self, member: str) -> None:
        super().__init__(f"envelope member {member} is not covered by any digest",
                         hint="Remove it, or reference it from the manifest so it is authenticated.")
        self.member = member
