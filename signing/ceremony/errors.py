"""The ceremony package's errors, all under `CeremonyError` (a `SigningError`).

None of them ever holds a PIN or a share: messages name files, steps and people.
"""

from __future__ import annotations

from signing.errors import SigningError


class CeremonyError(SigningError):
    """Root of everything the ceremony package raises on purpose."""


class CeremonyFileError(CeremonyError):
    """A ceremony or answers file that cannot be used.

    Attributes:
        path: The file.
        where: The table or key inside it, like ``steps[3].role``.
        problem: What was wrong.
    """

    default_hint = "See docs/ceremonies.md for the ceremony file format and its examples."

    def __init__(self, path: str, where: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {where + ': ' if where else ''}{problem}", hint=hint)
        self.path = path
        self.where = where
        self.problem = problem


class CeremonyAborted(CeremonyError):
    """The ceremony stopped before its end: refused by a participant, or failed.

    Attributes:
        step: The id of the step at which it stopped.
        reason: Why.
    """

    default_hint = ("The transcript is marked aborted and the keys made so far were destroyed; "
                    "run the ceremony again from the start.")
    exit_status = 1

    def __init__(self, step: str, reason: str) -> None:
        super().__init__(f"ceremony aborted at step {step}: {reason}")
        self.step = step
        self.reason = reason


class RehearsalAnswerMissing(CeremonyError):
    """The answers file has no answer for a step a rehearsal reached.

    Attributes:
        step: The step id.
    """

    default_hint = "Add an [answers.STEP] table for this step to the answers file."

    def __init__(self, step: str, problem: str = "no answer for this step") -> None:
        super().__init__(f"answers file: step {step}: {problem}")
        self.step = step


class ShareError(CeremonyError):
    """A custodian's share file that cannot be used (unreadable, damaged, foreign).

    Attributes:
        path: The file.
        problem: What was wrong.
    """

    default_hint = "Give the share files the custodians received at the ceremony."

    def __init__(self, path: str, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"{path}: {problem}", hint=hint)
        self.path = path
        self.problem = problem


class NotEnoughShares(CeremonyError):
    """Fewer distinct shares than the quorum: the secret cannot be rebuilt.

    Attributes:
        given: How many distinct shares were given.
        threshold: How many are needed (M).
    """

    default_hint = "Bring together at least the quorum of custodians named in the ceremony."
    exit_status = 1

    def __init__(self, given: int, threshold: int) -> None:
        super().__init__(f"{given} share(s) given, {threshold} needed")
        self.given = given
        self.threshold = threshold


class SharesDoNotMatch(CeremonyError):
    """The shares rebuild a value that is not the ceremony's PIN (a wrong or altered share).

    The check is made before the token sees the PIN, so no PIN attempt is spent.
    """

    default_hint = "Check that every share file comes from the same ceremony and is unaltered."
    exit_status = 1


class TranscriptError(CeremonyError):
    """A transcript that does not verify: broken chain, bad signature, not completed.

    Attributes:
        problem: What does not hold.
    """

    default_hint = "Treat the transcript as untrustworthy; compare it with the printed copy."
    exit_status = 1

    def __init__(self, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"transcript: {problem}", hint=hint)
        self.problem = problem


class TokenInitError(CeremonyError):
    """The HSM token could not be initialised for the ceremony.

    Attributes:
        problem: What went wrong.
    """

    default_hint = ("The ceremony needs an uninitialised token (SoftHSM2 always offers one; "
                    "an HSM's token must be reset by its security officer first).")

    def __init__(self, problem: str, *, hint: str | None = None) -> None:
        super().__init__(f"token initialisation: {problem}", hint=hint)
        self.problem = problem
