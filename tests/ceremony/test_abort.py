"""A ceremony interrupted at any step leaves a transcript marked aborted and no
half-made key usable: keys destroyed, outputs removed; and after a crash (kill -9), the
shares already handed out do not open the token (the commit point, runner.py)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signing.ceremony.answers import AnswersFile, Confirmation, StepPrompt
from signing.ceremony.checking import verify_transcript
from signing.ceremony.errors import CeremonyAborted
from signing.ceremony.model import load_ceremony
from signing.ceremony.runner import CeremonyRunner
from tests.ceremony.conftest import EXAMPLES, rehearse, token_objects, write_ceremony

STEPS = ("open", "record-hsm", "init-token", "generate-root", "export-root", "split-pin", "close")


def _check_aborted(runner: CeremonyRunner, step: str, reason: str, softhsm) -> dict:
    transcript = runner.out / "transcript.json"
    report = verify_transcript(transcript.read_bytes())  # the chain holds
    assert report.status == "aborted" and reason in str(report.abort_reason)
    end = json.loads(transcript.read_text())["entries"][-1]
    assert end["kind"] == "end" and end["step"] == step
    left = sorted(p.relative_to(runner.out).as_posix() for p in runner.out.rglob("*")
                  if p.is_file())
    assert left == ["transcript.json"]  # shares, keys' PEMs, bundles: all removed
    identity = runner.state.identity
    if identity is not None:  # the token was initialised: its objects were destroyed
        assert token_objects(softhsm, identity.serial) == []
    return end["data"]


@pytest.mark.parametrize("step", STEPS)
def test_refusal_at_any_step_aborts_and_destroys(step: str, softhsm, tmp_path: Path) -> None:
    runner = rehearse(tmp_path, f'[rehearsal]\nconfirm_all = true\nabort_at = "{step}"\n'
                                'abort_reason = "serial does not match the inventory"\n')
    with pytest.raises(CeremonyAborted) as info:
        runner.run()
    assert info.value.step == step
    data = _check_aborted(runner, step, "serial does not match", softhsm)
    index = STEPS.index(step)
    assert data["keys_destroyed"] == (2 if index >= STEPS.index("generate-root") else 0)
    assert ("shares/carol-custodian.share.json" in data["outputs_removed"]) == (
        index >= STEPS.index("split-pin"))


class _Interrupting(AnswersFile):
    """Answers like a rehearsal, then Ctrl-C while `person` is being asked at `step`."""

    def __init__(self, path: Path, step: str) -> None:
        super().__init__(path)
        self.step = step

    def confirm(self, prompt: StepPrompt, person: str) -> Confirmation:
        if prompt.step.id == self.step:
            raise KeyboardInterrupt
        return super().confirm(prompt, person)


def test_ctrl_c_mid_ceremony_aborts_and_destroys(softhsm, tmp_path: Path) -> None:
    base = rehearse(tmp_path, "[rehearsal]\nconfirm_all = true\n")
    runner = CeremonyRunner(base.ceremony, _Interrupting(tmp_path / "answers.toml", "export-root"),
                            tmp_path / "out")
    with pytest.raises(CeremonyAborted, match="interrupted"):
        runner.run()
    data = _check_aborted(runner, "export-root", "interrupted", softhsm)
    assert data["keys_destroyed"] == 2


def test_a_missing_answer_aborts_the_rehearsal(softhsm, tmp_path: Path) -> None:
    runner = rehearse(tmp_path, "[answers.open]\n[answers.record-hsm]\n[answers.init-token]\n")
    with pytest.raises(CeremonyAborted, match="RehearsalAnswerMissing"):
        runner.run()
    _check_aborted(runner, "generate-root", "no answer for this step", softhsm)


def _wait_for(stream, text: str, timeout: float = 60) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    while text not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"{text!r} not seen in {seen[-500:]!r}")
        chunk = os.read(stream.fileno(), 4096).decode()
        if not chunk:
            raise AssertionError(f"process ended before {text!r}: {seen[-500:]!r}")
        seen += chunk
    return seen


def test_after_a_crash_the_shares_handed_out_do_not_open_the_token(tmp_path: Path) -> None:
    # Its own SoftHSM2 (a fresh token directory), since the crashed process is separate.
    (tmp_path / "tokens").mkdir()
    conf = tmp_path / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nobjectstore.backend = "
                    "file\nlog.level = ERROR\nslots.removable = false\n")
    env = {**os.environ, "SOFTHSM2_CONF": str(conf), "PYTHONUNBUFFERED": "1"}
    ceremony = write_ceremony(tmp_path, "root-key.toml", {})
    process = subprocess.Popen([sys.executable, "-m", "workbench.cli.main", "ceremony", "run",
                                str(ceremony), "--out", str(tmp_path / "out")],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    # 5 people open, 1 witness, admin twice, 1 witness, 3 custodians: through split-pin.
    process.stdin.write(b"XX\n" * 12)
    process.stdin.flush()
    _wait_for(process.stdout, "Step 7/7")
    process.send_signal(signal.SIGKILL)  # a crash: no chance to clean up
    process.wait(timeout=30)
    shares = sorted((tmp_path / "out" / "shares").glob("*.share.json"))
    assert len(shares) == 3
    transcript = json.loads((tmp_path / "out" / "transcript.json").read_text())
    assert transcript["status"] == "in-progress"  # never claims completion
    unlock = subprocess.run([sys.executable, "-m", "workbench.cli.main", "ceremony", "unlock",
                             "--share", str(shares[0]), "--share", str(shares[1])],
                            capture_output=True, text=True, env=env, timeout=60)
    assert unlock.returncode == 2
    assert "PIN or passphrase incorrect" in unlock.stderr


def test_runner_refuses_to_finish_early(softhsm, tmp_path: Path) -> None:
    runner = rehearse(tmp_path)
    with pytest.raises(Exception, match="steps left"):
        runner.finish()
    assert load_ceremony(EXAMPLES / "root-key.toml").steps[0].id == STEPS[0]


def test_a_used_output_directory_is_refused_before_anything_is_made(softhsm,
                                                                    tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "transcript.json").write_text("{}")
    runner = rehearse(tmp_path)
    with pytest.raises(Exception, match="already holds a ceremony transcript"):
        runner.run()
    assert runner.transcript.entries == [] and runner.state.token is None
    assert (tmp_path / "out" / "transcript.json").read_text() == "{}"
