"""How participants answer the runner: the `Participants` seam, and rehearsal from an
answers file.

The runner never prompts (STYLE.md §6). For each step it asks `Participants` for one
confirmation per person the step's role names; the CLI asks at the terminal, the GUI
wizard with a page, a rehearsal reads the answers file. A refusal aborts the ceremony.

Answers file (TOML), paths relative to the file::

    [rehearsal]
    confirm_all = true            # steps without a table are confirmed by everyone
    abort_at = "generate-root"    # optional: refuse this step (to practise an abort)

    [answers.generate-root]
    note = "HSM serial read aloud and matched"
    initials = { "Alice Admin" = "AA" }
    old_shares = ["old/carol.share.json", "old/dave.share.json"]   # sign-rotation only
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from signing.ceremony.errors import CeremonyFileError, RehearsalAnswerMissing
from signing.ceremony.model import Step, parse_toml, read_text


@dataclass(frozen=True)
class StepPrompt:
    """What a participant is asked to confirm.

    Attributes:
        step: The step.
        number: Its position, from 1.
        total: How many steps the script has.
        facts: What the step produced and must be checked aloud (HSM serial, key
            fingerprint, share file names), shown with the step when confirming after it.
    """

    step: Step
    number: int
    total: int
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Confirmation:
    """One person's answer to a step.

    Attributes:
        person: Who answered.
        accepted: True to confirm, False to refuse (which aborts the ceremony).
        initials: Their initials, as on the paper script.
        note: Anything they want recorded (the reason, when refusing).
    """

    person: str
    accepted: bool
    initials: str
    note: str = ""


class Participants(Protocol):
    """The people at the ceremony, as the runner sees them."""

    def announce(self, prompt: StepPrompt) -> None:
        """Show the step about to be performed (its text is read aloud)."""
        ...

    def confirm(self, prompt: StepPrompt, person: str) -> Confirmation:
        """Ask `person` to confirm the step; a refusal aborts the ceremony."""
        ...

    def old_shares(self, prompt: StepPrompt) -> list[Path]:
        """The share files that unlock the old key (rotation ceremonies only)."""
        ...


def initials_of(name: str) -> str:
    """``Alice Admin`` -> ``AA``."""
    return "".join(word[0].upper() for word in name.split() if word) or "?"


class AnswersFile:
    """Participants answering from an answers file (rehearsal mode, tests).

    Args:
        path: The answers file.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        data = parse_toml(read_text(path), path)
        self._rehearsal = _table(data, "rehearsal", path)
        self._answers = _table(data, "answers", path)
        self.abort_at: str | None = self._rehearsal.get("abort_at")
        self._confirm_all = bool(self._rehearsal.get("confirm_all", False))

    def _answer(self, step: Step) -> dict[str, Any]:
        answer = self._answers.get(step.id)
        if answer is None and not self._confirm_all:
            raise RehearsalAnswerMissing(step.id)
        if answer is not None and not isinstance(answer, dict):
            raise CeremonyFileError(str(self.path), f"answers.{step.id}", "expected a table")
        return answer or {}

    def announce(self, prompt: StepPrompt) -> None:
        """See `Participants.announce`; a rehearsal has nobody to show it to."""

    def confirm(self, prompt: StepPrompt, person: str) -> Confirmation:
        """See `Participants.confirm`."""
        answer = self._answer(prompt.step)
        initials = answer.get("initials", {}).get(person, initials_of(person))
        if prompt.step.id == self.abort_at:
            reason = str(self._rehearsal.get("abort_reason", "refused in rehearsal"))
            return Confirmation(person, False, initials, reason)
        return Confirmation(person, True, str(initials), str(answer.get("note", "")))

    def old_shares(self, prompt: StepPrompt) -> list[Path]:
        """See `Participants.old_shares`."""
        files = self._answer(prompt.step).get("old_shares")
        if not isinstance(files, list) or not files:
            raise RehearsalAnswerMissing(prompt.step.id, "old_shares lists no share files")
        return [self.path.parent / str(f) for f in files]


def _table(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise CeremonyFileError(str(path), name, "expected a table")
    return value
