"""The ceremony runner: walks the script step by step, has each step confirmed by the
people its role names, and records everything in the transcript.

Commit point. The token is initialised with a random SO PIN (destroyed at once) and a
random *temporary* user PIN that only this process ever holds. The shares the custodians
receive are of a different random PIN, which the token accepts only after the last step,
when the runner changes the user PIN to it (C_SetPIN). So a ceremony that stops at any
step, even by a crash, leaves no key anyone can use: the temporary PIN is gone and the
shares do not open the token. On an orderly abort the runner also destroys the keys made
so far and deletes the outputs (shares, rotation envelope), and the transcript is closed
as ``aborted``. Finishing: the ``end`` entry is appended, the head signed by the new key,
the PIN changed, and only then is the completed transcript written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from signing.ceremony import hsm
from signing.ceremony.actions import ACTION_FUNCTIONS
from signing.ceremony.answers import Confirmation, Participants, StepPrompt
from signing.ceremony.context import CeremonyState
from signing.ceremony.errors import CeremonyAborted, CeremonyError
from signing.ceremony.model import Ceremony
from signing.ceremony.transcript import ABORTED, COMPLETED, Transcript, sign_transcript
from signing.errors import SigningError
from signing.files import write_atomic
from signing.keyref import Pkcs11Uri
from signing.pin import FixedPinProvider
from signing.token import close_quietly
from signing.token_signer import open_pkcs11_signer

Clock = Callable[[], datetime]
TRANSCRIPT_NAME = "transcript.json"


def utc_now() -> datetime:
    """The default clock."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class CeremonyResult:
    """How a completed ceremony ended and what it produced."""

    transcript: Path
    outputs: dict[str, Path]
    head: str


class CeremonyRunner:
    """Runs one ceremony (see the module docstring for the commit point).

    Args:
        ceremony: The parsed ceremony file.
        participants: Who confirms (a terminal, the GUI wizard, an answers file).
        output_directory: Where outputs go; default the ceremony file's ``outputs.directory``.
        clock: The time source for timestamps.
    """

    def __init__(self, ceremony: Ceremony, participants: Participants,
                 output_directory: Path | None = None, clock: Clock = utc_now) -> None:
        self.ceremony = ceremony
        self.participants = participants
        self.out = output_directory or ceremony.output_directory
        self.clock = clock
        self.state = CeremonyState()
        self.transcript = Transcript(self._header())
        self.next_step = 0

    def _header(self) -> dict[str, Any]:
        c = self.ceremony
        return {"ceremony": {"name": c.name, "description": c.description,
                             "file": c.path.name, "sha256": c.source_sha256, "text": c.source},
                "instance": uuid.uuid4().hex, "started": self.now(),
                "roles": {"administrator": c.roles.administrator,
                          "custodians": list(c.roles.custodians),
                          "witnesses": list(c.roles.witnesses)},
                "quorum": {"threshold": c.threshold, "shares": len(c.roles.custodians)},
                "hsm": {"module": c.hsm.module, "token_label": c.hsm.token_label},
                "keys": [{"label": k.label, "algorithm": k.algorithm.name} for k in c.keys]}

    @property
    def instance(self) -> str:
        """This run's instance id (it ties share files to the transcript)."""
        return str(self.transcript.header["instance"])

    def now(self) -> str:
        """The clock's time as ISO 8601 UTC."""
        return self.clock().astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")

    def record(self, kind: str, step: str, data: dict[str, Any]) -> None:
        """Append a transcript entry, timestamped now."""
        self.transcript.append(kind, step, self.now(), data)

    def save(self) -> Path:
        """Write the transcript as it stands (atomically)."""
        self.out.mkdir(parents=True, exist_ok=True)
        path = self.out / TRANSCRIPT_NAME
        write_atomic(path, self.transcript.to_json())
        return path

    @property
    def done(self) -> bool:
        """Whether every step has run."""
        return self.next_step >= len(self.ceremony.steps)

    def run(self) -> CeremonyResult:
        """Run every remaining step, then finish.

        Raises:
            CeremonyAborted: a participant refused or a step failed; the transcript is
                closed as aborted and the keys destroyed.
        """
        while not self.done:
            self.run_next()
        return self.finish()

    def prompt(self, facts: dict[str, Any] | None = None) -> StepPrompt:
        """The prompt for the next step."""
        step = self.ceremony.steps[self.next_step]
        return StepPrompt(step, self.next_step + 1, len(self.ceremony.steps), facts or {})

    def run_next(self) -> StepPrompt:
        """Run the next step: show it, act, have its role confirm; return the prompt with
        the step's facts. Any failure or refusal aborts the ceremony."""
        return self.confirm_performed(self.perform_next())

    def perform_next(self) -> StepPrompt:
        """First half of `run_next`: show the next step and do its action; return the
        prompt with the facts to check (the GUI wizard shows them before confirming)."""
        step = self.ceremony.steps[self.next_step]
        if not self.transcript.entries:
            self._refuse_used_output()
        with self.aborting_on_failure(step.id):
            self.record("step", step.id, {"number": self.next_step + 1, "action": step.action,
                                          "role": step.role, "text": step.text})
            self.participants.announce(self.prompt())
            facts = ACTION_FUNCTIONS[step.action](self, step)
        return self.prompt(facts)

    def _refuse_used_output(self) -> None:
        # Never overwrite another ceremony's record or shares (a rehearsal run into the
        # real ceremony's directory would destroy the evidence).
        if (self.out / TRANSCRIPT_NAME).exists():
            raise CeremonyError(f"{self.out} already holds a ceremony transcript",
                                hint="Give each ceremony its own output directory (--out).")

    def confirm_performed(self, prompt: StepPrompt) -> StepPrompt:
        """Second half of `run_next`: every person the role names confirms (or refuses,
        which aborts); the transcript is saved and the runner moves to the next step."""
        with self.aborting_on_failure(prompt.step.id):
            self._confirm(prompt)
        self.save()
        self.next_step += 1
        return prompt

    def _confirm(self, prompt: StepPrompt) -> None:
        for person in self.ceremony.roles.members(prompt.step.role):
            answer = self.participants.confirm(prompt, person)
            if answer.person != person:
                raise CeremonyAborted(prompt.step.id, f"{answer.person} answered for {person}")
            self._record_answer(prompt, answer)

    def _record_answer(self, prompt: StepPrompt, answer: Confirmation) -> None:
        self.record("confirmation", prompt.step.id, {
            "person": answer.person, "role": self.ceremony.roles.role_of(answer.person),
            "accepted": answer.accepted, "initials": answer.initials, "note": answer.note})
        if not answer.accepted:
            raise CeremonyAborted(prompt.step.id, f"{answer.person} refused: "
                                                  f"{answer.note or 'no reason given'}")

    def refuse_performed(self, prompt: StepPrompt, answer: Confirmation) -> None:
        """One person refuses the performed step, whatever the others said: recorded, and
        the ceremony aborts (raises `CeremonyAborted`). For the GUI, where anyone may
        press Refuse at any time."""
        with self.aborting_on_failure(prompt.step.id):
            self._record_answer(prompt, answer)
            raise CeremonyAborted(prompt.step.id, f"{answer.person} refused")

    def aborting_on_failure(self, step_id: str) -> _AbortGuard:
        """A context manager that aborts the ceremony, at `step_id`, on any exception inside."""
        return _AbortGuard(self, step_id)

    def abort(self, step_id: str, reason: str) -> Path:
        """Destroy what was made, close the transcript as aborted, write it."""
        destroyed, problems = self._destroy_keys()
        removed = self._remove_outputs()
        data: dict[str, Any] = {"status": ABORTED, "step": step_id, "reason": reason,
                                "keys_destroyed": destroyed, "outputs_removed": removed}
        if problems:
            data["destroy_problems"] = problems
        self._close_session()
        self.state.temporary_pin = self.state.final_pin = None
        self.record("end", step_id, data)
        return self.save()

    def _destroy_keys(self) -> tuple[int, list[str]]:
        if self.state.session is None or not self.state.key_ids:
            return 0, []
        try:
            return hsm.destroy_keys(self.state.session, list(self.state.key_ids.values())), []
        except SigningError as exc:
            # The commit point still protects the keys: the temporary PIN dies with us.
            return 0, [str(exc)]

    def _remove_outputs(self) -> list[str]:
        removed = []
        for name, path in sorted(self.state.outputs.items()):
            try:
                path.unlink()
                removed.append(name)
            except FileNotFoundError:
                pass
        self.state.outputs.clear()
        return removed

    def _close_session(self) -> None:
        if self.state.session is not None:
            close_quietly(self.state.session)
            self.state.session = None

    def signing_uri(self, label: str) -> Pkcs11Uri:
        """The URI of a key of this ceremony in the new token (serial-qualified)."""
        attrs = {"token": self.ceremony.hsm.token_label, "object": label, "type": "private"}
        if self.state.identity is not None and self.state.identity.serial:
            attrs["serial"] = self.state.identity.serial
        return Pkcs11Uri(attrs, module_path=self.ceremony.hsm.module)

    def finish(self) -> CeremonyResult:
        """Close, sign and commit a ceremony whose steps have all run."""
        if not self.done:
            raise CeremonyError("the ceremony has steps left to run")
        final_pin, temporary = self.state.final_pin, self.state.temporary_pin
        if final_pin is None or temporary is None or self.state.session is None:
            raise CeremonyError("the ceremony made no token and split no PIN")
        key = self.ceremony.signing_key.label
        with self.aborting_on_failure("finish"):
            self.record("commit", "finish", {"signing_key": key,
                                             "outputs": sorted(self.state.outputs)})
            self.record("end", "finish", {"status": COMPLETED})
            try:
                self._sign_and_commit(key, temporary, final_pin)
            except BaseException:
                self.transcript.entries.pop()  # reopen, so the abort can close it
                self.transcript.signature = None
                raise
        self._close_session()
        self.state.temporary_pin = self.state.final_pin = None
        path = self.save()
        return CeremonyResult(path, dict(self.state.outputs), self.transcript.head)

    def _sign_and_commit(self, key: str, temporary: str, final_pin: str) -> None:
        signer = open_pkcs11_signer(self.signing_uri(key), self.ceremony.key(key).algorithm,
                                    FixedPinProvider(temporary))
        try:
            sign_transcript(self.transcript, signer)
        finally:
            signer.close()
        hsm.change_user_pin(self.state.session, temporary, final_pin)


class _AbortGuard:
    """Aborts the ceremony when the block raises (a refusal, a token error, Ctrl-C)."""

    def __init__(self, runner: CeremonyRunner, step_id: str) -> None:
        self.runner = runner
        self.step_id = step_id

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> Literal[False]:
        # Never swallows: an abort propagates as it is, anything else as CeremonyAborted.
        if exc is None:
            return False
        reason = exc.reason if isinstance(exc, CeremonyAborted) else (
            "interrupted" if isinstance(exc, KeyboardInterrupt) else f"{type(exc).__name__}: {exc}")
        self.runner.abort(self.step_id, reason)
        if isinstance(exc, CeremonyAborted):
            return False
        raise CeremonyAborted(self.step_id, reason) from exc


