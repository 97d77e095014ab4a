"""`suitwb ceremony` (issue 8): run, verify, unlock and print key ceremonies, and copy
the examples.

Thin wrappers over `workbench.ceremony`. `run` asks the participants at the terminal
(`TerminalParticipants`) unless an answers file is given. The PDF is made by the GUI
layer's Qt PDF writer, started as its own program (`python -m gui.ceremony_pdf`), since
the CLI may not import the layer above it.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from signing.ceremony.answers import Confirmation, StepPrompt
from signing.ceremony.checking import ANCHORED, SELF_CONSISTENT, TranscriptReport
from signing.ceremony.errors import CeremonyError
from workbench import ceremony as use_cases
from workbench.cli.signing_cmds import TerminalPinProvider


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add this module's commands to the `suitwb` parser."""
    group = sub.add_parser("ceremony", help="key ceremonies: run, verify, unlock, print")
    actions = group.add_subparsers(dest="ceremony_command", required=True, metavar="ACTION")
    p = actions.add_parser("run", help="run a ceremony file (interactively, or rehearse "
                                       "from an answers file)")
    p.add_argument("file", type=Path, metavar="FILE", help="the ceremony file (TOML)")
    p.add_argument("--answers", type=Path, metavar="FILE", help="rehearse from this answers file")
    p.add_argument("--out", type=Path, metavar="DIR", help="output directory (default: the "
                                                           "file's outputs.directory)")
    p.add_argument("--pdf", type=Path, metavar="FILE", help="also print the transcript to PDF")
    p.set_defaults(func=_run)
    p = actions.add_parser("verify", help="check a transcript's hash chain and signature")
    p.add_argument("transcript", type=Path, metavar="TRANSCRIPT")
    p.add_argument("--anchor", type=Path, metavar="FILE",
                   help="the trust anchor (PEM or COSE_Key) the signing key must be")
    p.add_argument("--outputs", type=Path, metavar="DIR",
                   help="also check the files in DIR against the digests recorded")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.set_defaults(func=_verify)
    _register_unlock(actions)
    p = actions.add_parser("pdf", help="print a transcript (script, entries, signature lines)")
    p.add_argument("transcript", type=Path, metavar="TRANSCRIPT")
    p.add_argument("-o", "--output", type=Path, required=True, metavar="OUT.pdf")
    p.set_defaults(func=_pdf)
    p = actions.add_parser("examples", help="copy the example ceremonies and answers files "
                                            "into DIR, to rehearse them there")
    p.add_argument("directory", type=Path, metavar="DIR")
    p.set_defaults(func=_examples)


def _register_unlock(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = actions.add_parser("unlock", help="rebuild the key's PIN from M custodians' shares",
                           description="Without --sign or a command, only checks that the "
                                       "shares rebuild the PIN and the token accepts it.")
    p.add_argument("--share", type=Path, action="append", required=True, metavar="FILE",
                   help="a custodian's share file (repeat for each custodian present)")
    p.add_argument("--key", metavar="LABEL", help="which of the ceremony's keys (default: first)")
    p.add_argument("--sign", type=Path, metavar="IN", help="sign this envelope with the key")
    p.add_argument("-o", "--output", type=Path, metavar="OUT", help="the signed envelope")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND",
                   help="run COMMAND with the PIN in SUITWB_PIN (never on disk)")
    p.set_defaults(func=_unlock)


class TerminalParticipants:
    """Participants answering at this terminal, one after another."""

    def __init__(self) -> None:
        self._facts_shown_for: str | None = None

    def announce(self, prompt: StepPrompt) -> None:
        """Print the step to be performed."""
        step = prompt.step
        print(f"\n== Step {prompt.number}/{prompt.total}: {step.id} ({step.action}), "
              f"confirmed by {step.role}")
        print(step.text.strip())

    def confirm(self, prompt: StepPrompt, person: str) -> Confirmation:
        """Ask `person` for their initials (or ``refuse REASON``)."""
        if self._facts_shown_for != prompt.step.id:  # once per step, before the first answer
            self._facts_shown_for = prompt.step.id
            for name, value in prompt.facts.items():
                print(f"   {name}: {value}")
        answer = ""
        while not answer:  # an empty line asks again; only "refuse" refuses
            try:
                answer = input(f"   {person}: type your initials to confirm, "
                               "or 'refuse REASON': ").strip()
            except EOFError:
                return Confirmation(person, False, "", "no answer (end of input)")
        if answer.lower().startswith("refuse"):
            return Confirmation(person, False, "", answer[6:].strip() or "refused")
        return Confirmation(person, True, answer)

    def old_shares(self, prompt: StepPrompt) -> list[Path]:
        """Ask for the old key's share files."""
        text = input("   old key's share files (separated by commas): ")
        return [Path(p.strip()) for p in text.split(",") if p.strip()]


def _run(args: argparse.Namespace) -> int:
    participants = None if args.answers else TerminalParticipants()
    result = use_cases.run_ceremony(args.file, participants, answers=args.answers,
                                    output=args.out)
    print(f"ceremony completed; transcript {result.transcript} (head {result.head[:16]}...)")
    for name in sorted(result.outputs):
        print(f"  {result.outputs[name]}")
    if args.pdf is not None:
        make_pdf(result.transcript, args.pdf)
        print(f"  {args.pdf}")
    return 0


def _verify(args: argparse.Namespace) -> int:
    report = use_cases.check_transcript(args.transcript, args.anchor)
    outputs = use_cases.check_outputs(args.transcript, args.outputs) if args.outputs else {}
    if args.json:
        print(json.dumps({"ceremony": report.ceremony, "status": report.status,
                          "authenticity": report.authenticity,
                          "entries": report.entries, "head": report.head,
                          "signer_kid": report.signer_kid,
                          "signer_fingerprint": report.signer_fingerprint,
                          "abort_reason": report.abort_reason, "outputs": outputs}))
    else:
        print(f"{args.transcript}: {_verdict(report)}")
        for name, verdict in sorted(outputs.items()):
            print(f"  {verdict:8} {name}")
    bad_outputs = any(v != "ok" for v in outputs.values())
    # Success only for a completed ceremony signed by the key the caller trusts.
    return 0 if report.authenticity == ANCHORED and not bad_outputs else 1


def _verdict(report: TranscriptReport) -> str:
    if report.authenticity == ANCHORED:
        return (f"OK: {report.ceremony!r}, {report.entries} entries, chain intact, signed by "
                f"the trust anchor (kid {report.signer_kid}, thumbprint "
                f"{report.signer_fingerprint})")
    if report.authenticity == SELF_CONSISTENT:
        return (f"self-consistent only: {report.ceremony!r}, {report.entries} entries, chain "
                f"intact and signed by a key the transcript itself carries, thumbprint "
                f"{report.signer_fingerprint} (kid {report.signer_kid}). Anyone who rewrites "
                "the history can re-sign it with a key of their own: compare the thumbprint "
                "with the one read aloud at the ceremony, or give the key with --anchor")
    reason = f": {report.abort_reason}" if report.abort_reason else ""
    return (f"unknown authenticity: the ceremony is {report.status}{reason}; the transcript "
            "is not signed, so its chain is only self-consistent")


def _unlock(args: argparse.Namespace) -> int:
    command = [c for c in args.command if c != "--"] if args.command else []
    if args.sign is not None:
        if args.output is None:
            raise CeremonyError("--sign needs -o OUT", hint="Name the signed envelope with -o.")
        outcome = use_cases.sign_with_shares(args.share, args.sign, args.output, args.key,
                                             pins=TerminalPinProvider())
        print(f"{args.output}: signed with kid {outcome.signed.identity.kid.hex()}, "
              f"audit record {outcome.audit_seq}")
        return 0
    unlocked = use_cases.unlock_shares(args.share, args.key)
    signer = unlocked.open_signer()  # logs in: proves the token accepts the rebuilt PIN
    signer.close()
    print(f"unlocked {unlocked.uri.redacted()} with shares of {', '.join(unlocked.custodians)}")
    if command:
        env = {**os.environ, "SUITWB_PIN": unlocked.pin}
        return subprocess.run(command, env=env, check=False).returncode
    return 0


def make_pdf(transcript: Path, output: Path) -> None:
    """Print `transcript` to `output` with the GUI layer's PDF writer (a subprocess)."""
    result = subprocess.run([sys.executable, "-m", "gui.ceremony_pdf", str(transcript),
                             "-o", str(output)], capture_output=True, text=True, check=False,
                            timeout=120)
    if result.returncode != 0:
        raise CeremonyError(f"PDF printing failed: {result.stderr.strip()[-300:]}",
                            hint="Check that PySide6 is installed (make setup).")


def _pdf(args: argparse.Namespace) -> int:
    make_pdf(args.transcript, args.output)
    print(f"{args.output}")
    return 0


def _examples(args: argparse.Namespace) -> int:
    for written in use_cases.copy_examples(args.directory):
        print(written)
    return 0
