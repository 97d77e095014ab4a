"""Ceremony use cases shared by `suitwb ceremony` and the GUI wizard.

The runner, shares and transcript live in `signing.ceremony`; this layer wires files to
them: which output directory, the answers file for rehearsals, signing an envelope with
an unlocked key (recorded in the signing audit log like any other signature), and
checking a transcript against a trust-anchor file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Final

from fileio import read_limited, write_atomic
from signing.audit import SigningAuditLog
from signing.ceremony.answers import AnswersFile, Participants
from signing.ceremony.checking import (
    TranscriptReport,
    check_artefacts,
    check_chain,
    load_transcript,
    verify_transcript,
)
from signing.ceremony.errors import CeremonyError
from signing.ceremony.model import Ceremony, load_ceremony
from signing.ceremony.runner import CeremonyResult, CeremonyRunner
from signing.ceremony.transcript import Transcript
from signing.ceremony.unlock import Unlocked, unlock
from signing.files import MAX_KEY_FILE
from signing.pin import PinProvider
from suit.keys import TrustAnchor
from workbench.errors import FileAccessError
from workbench.resources import CEREMONIES, resource
from workbench.signing import SignOutcome, sign_file

#: Largest transcript read; one records a few hundred entries of a few hundred bytes.
MAX_TRANSCRIPT: Final = 16 * 1024 * 1024


def prepare_ceremony(ceremony_file: Path, participants: Participants | None = None, *,
                     answers: Path | None = None, output: Path | None = None) -> CeremonyRunner:
    """Load a ceremony file and make its runner.

    Args:
        ceremony_file: The TOML ceremony file.
        participants: Who confirms (the terminal, the wizard); ignored with `answers`.
        answers: An answers file: rehearse without anybody at the keyboard.
        output: Where outputs go, instead of the file's ``outputs.directory``.
    """
    ceremony: Ceremony = load_ceremony(ceremony_file)
    who: Participants | None = AnswersFile(answers) if answers is not None else participants
    if who is None:
        raise CeremonyError("a ceremony needs participants or an answers file")
    return CeremonyRunner(ceremony, who, output)


def run_ceremony(ceremony_file: Path, participants: Participants | None = None, *,
                 answers: Path | None = None, output: Path | None = None) -> CeremonyResult:
    """Run a whole ceremony (see `prepare_ceremony` for the arguments).

    Raises:
        CeremonyFileError: the ceremony or answers file is not usable.
        CeremonyAborted: it stopped; the transcript says where and why.
    """
    return prepare_ceremony(ceremony_file, participants, answers=answers, output=output).run()


def check_transcript(transcript: Path, anchor: Path | None = None) -> TranscriptReport:
    """Verify a transcript file, optionally against a trust anchor (PEM or COSE_Key)."""
    data = _read(transcript)
    trust = TrustAnchor.load(_read(anchor, MAX_KEY_FILE), str(anchor)) if anchor is not None else None
    return verify_transcript(data, trust)


def check_outputs(transcript: Path, directory: Path) -> dict[str, str]:
    """Output name -> ``ok`` / ``missing`` / ``differs`` against the recorded digests (call
    after `check_transcript`, which establishes that the digests can be trusted)."""
    return check_artefacts(load_transcript(_read(transcript)), directory)


def unlock_shares(shares: Sequence[Path], key_label: str | None = None) -> Unlocked:
    """Rebuild the PIN from custodians' share files (see `signing.ceremony.unlock`)."""
    return unlock(shares, key_label)


def sign_with_shares(shares: Sequence[Path], source: Path, output: Path,
                     key_label: str | None = None, audit: SigningAuditLog | None = None, *,
                     pins: PinProvider | None = None) -> SignOutcome:
    """Unlock the ceremony key with `shares` and sign the envelope `source` into `output`.

    `pins` is asked for the audit log's anchor token PIN (the key's PIN is the rebuilt one).
    """
    unlocked = unlock(shares, key_label)
    signer = unlocked.open_signer()
    try:
        return sign_file(source, output, signer, audit or SigningAuditLog(pins=pins))
    finally:
        signer.close()


def _read(path: Path, limit: int = MAX_TRANSCRIPT) -> bytes:
    return read_limited(path, limit, regular_only=True)


def read_transcript(path: Path) -> Transcript:
    """A transcript file, parsed and its chain checked (for printing and the wizard)."""
    transcript = load_transcript(_read(path))
    check_chain(transcript)
    return transcript


def copy_examples(destination: Path) -> list[Path]:
    """Copy the packaged example ceremonies and their answers files into `destination`.

    A ceremony's outputs go next to its file (``outputs.directory`` is relative to it), so
    the examples are run from a copy the person owns, never from the installed package.

    Returns:
        The files written.

    Raises:
        CeremonyError: a file of that name is already there (nothing is overwritten).
        FileAccessError: `destination` cannot be written.
    """
    examples = sorted((f for f in resource(CEREMONIES).iterdir() if f.name.endswith(".toml")),
                      key=lambda f: f.name)
    clashes = [f.name for f in examples if (destination / f.name).exists()]
    if clashes:
        raise CeremonyError(f"{destination}: {', '.join(clashes)} already there",
                            hint="Give a new or empty folder.")
    written = []
    try:
        destination.mkdir(parents=True, exist_ok=True)
        for example in examples:
            write_atomic(destination / example.name, example.read_bytes())
            written.append(destination / example.name)
    except OSError as exc:
        raise FileAccessError(str(destination), exc.strerror or str(exc)) from exc
    return written
