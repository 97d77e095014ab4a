"""Ceremony fixtures: example ceremony files bound to the session's SoftHSM2
(tests/fixtures/softhsm.py) with a token label of their own, and one completed 2-of-3
rehearsal shared by the tests that only read its results (a ceremony takes ~1 s)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

import pytest

from signing.ceremony.answers import AnswersFile
from signing.ceremony.model import load_ceremony
from signing.ceremony.runner import CeremonyResult, CeremonyRunner
from tests.fixtures.softhsm import SoftHsm

EXAMPLES = Path(__file__).parents[2] / "workbench" / "resources" / "ceremonies"
_labels = itertools.count(1)


def unique_label(stem: str) -> str:
    """A token label no other test of the session uses."""
    return f"{stem}-{next(_labels)}"


def write_ceremony(directory: Path, example: str, replacements: dict[str, str]) -> Path:
    """Copy an example ceremony file into `directory`, with text replaced."""
    text = (EXAMPLES / example).read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path = directory / example
    path.write_text(text)
    return path


def write_answers(directory: Path, name: str, text: str) -> Path:
    """An answers file in `directory`."""
    path = directory / name
    path.write_text(text)
    return path


def token_objects(hsm: SoftHsm, serial: str) -> list[Path]:
    """The key objects SoftHSM2 stores for the token with `serial` (its directory name
    ends with the serial; each object is one ``*.object`` file beside ``token.object``)."""
    for directory in (hsm.directory / "tokens").iterdir():
        if directory.name.replace("-", "").endswith(serial):
            return sorted(p for p in directory.glob("*.object") if p.name != "token.object")
    raise LookupError(serial)


@dataclass(frozen=True)
class Rehearsal:
    """A completed rehearsal of the root-key example."""

    directory: Path
    out: Path
    result: CeremonyResult
    runner: CeremonyRunner
    label: str


def rehearse(directory: Path, answers_text: str = "[rehearsal]\nconfirm_all = true\n",
             example: str = "root-key.toml", label: str | None = None,
             replacements: dict[str, str] | None = None) -> CeremonyRunner:
    """A runner for an example, bound to a fresh token label, answering from `answers_text`."""
    label = label or unique_label("root")
    path = write_ceremony(directory, example, {'token_label = "suit-root-2026"':
                                               f'token_label = "{label}"',
                                               **(replacements or {})})
    answers = write_answers(directory, "answers.toml", answers_text)
    return CeremonyRunner(load_ceremony(path), AnswersFile(answers), directory / "out")


@pytest.fixture(scope="module")
def rehearsal(softhsm: SoftHsm, tmp_path_factory: pytest.TempPathFactory) -> Rehearsal:
    """One completed 2-of-3 rehearsal of workbench/resources/ceremonies/root-key.toml."""
    directory = tmp_path_factory.mktemp("rehearsal")
    answers = (EXAMPLES / "root-key.answers.toml").read_text()
    runner = rehearse(directory, answers)
    result = runner.run()
    return Rehearsal(directory, directory / "out", result, runner,
                     runner.ceremony.hsm.token_label)

