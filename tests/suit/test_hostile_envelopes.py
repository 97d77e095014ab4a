"""Issue 11 items 2 and 3: nesting bombs, dependency chains and foreign COSE structures
end in a typed `DecodeError` naming where, at every library entry point and in `suitwb`.

Every test here failed on the code before the fix: the bombs with RecursionError (or a
ValueError from cbor2), the COSE_Encrypt with AttributeError in verify.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from suit.codec import MAX_DEPENDENCY_DEPTH, decode_envelope
from suit.commands import MAX_SEQUENCE_NESTING
from suit.errors import DecodeError, NestingTooDeep, SignatureInvalid
from suit.model import Command
from suit.processor import authenticate
from suit.render import summary_text
from suit.spans import locate
from suit.verify import verify_envelope
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.fuzzing import hostile

ENTRY_POINTS: dict[str, Callable[[bytes], object]] = {
    "decode": decode_envelope,
    "verify": lambda data: verify_envelope(data, []),
    "authenticate": lambda data: authenticate(data, [], max_size=64 * 1024),
}
COMMANDS = {"try-each": Command.TRY_EACH, "run-sequence": Command.RUN_SEQUENCE}


@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("depth", [MAX_SEQUENCE_NESTING + 1, 250, 5000])
def test_sequence_nesting_bomb_is_a_decode_error_with_the_path(entry: str, command: str, depth: int) -> None:
    data = hostile.sequence_bomb(depth, COMMANDS[command])
    started = time.perf_counter()
    with pytest.raises(NestingTooDeep) as caught:
        ENTRY_POINTS[entry](data)
    assert time.perf_counter() - started < 1.0  # one level past the bound is all it decodes
    error = caught.value
    level = f"[0]/{command}" + ("[0]" if command == "try-each" else "")
    assert error.path == "manifest/invoke" + level * (MAX_SEQUENCE_NESTING + 1)
    assert f"nest deeper than {MAX_SEQUENCE_NESTING} levels" in error.problem
    assert error.exit_status == 2 and error.hint


def test_nesting_at_the_bound_still_decodes() -> None:
    envelope = decode_envelope(hostile.sequence_bomb(MAX_SEQUENCE_NESTING))
    sequence = envelope.manifest.invoke
    for _ in range(MAX_SEQUENCE_NESTING):
        assert sequence is not None
        sequence = sequence.commands[0].argument[0]
    assert sequence is not None and sequence.commands[0].command == Command.ABORT


@pytest.mark.parametrize("entry", ["verify", "authenticate"])
@pytest.mark.parametrize("length", [MAX_DEPENDENCY_DEPTH + 1, 300])  # 300: < 64 KiB
def test_dependency_chain_is_a_decode_error_with_the_path(entry: str, length: int) -> None:
    with pytest.raises(NestingTooDeep) as caught:
        ENTRY_POINTS[entry](hostile.dependency_chain(length))
    assert caught.value.path == "envelope/#dep"
    assert f"integrated dependencies nest deeper than {MAX_DEPENDENCY_DEPTH}" in caught.value.problem


def test_dependency_chain_at_the_bound_is_followed_to_the_end() -> None:
    # Every level is examined (the blocks verify with no key), so the refusal is the signature's.
    with pytest.raises(SignatureInvalid):
        verify_envelope(hostile.dependency_chain(MAX_DEPENDENCY_DEPTH), [])


@pytest.mark.parametrize("tag", hostile.FOREIGN_COSE_TAGS, ids=lambda t: hostile.COSE_STRUCTURES[t])
@pytest.mark.parametrize("entry", sorted(ENTRY_POINTS))
def test_non_authentication_cose_structure_is_refused_with_the_path(entry: str, tag: int) -> None:
    with pytest.raises(DecodeError) as caught:
        ENTRY_POINTS[entry](hostile.foreign_cose(tag))
    assert caught.value.path == "authentication-wrapper/block[1]"
    assert f"{hostile.COSE_STRUCTURES[tag]} (tag {tag}) is not an authentication structure" \
        in caught.value.problem


def test_foreign_structure_after_a_signature_is_refused_too() -> None:
    data = hostile.foreign_cose(96, also=(hostile.UNVERIFIABLE,))
    with pytest.raises(DecodeError, match=r"block\[2\]: COSE_Encrypt \(tag 96\)"):
        decode_envelope(data)


@pytest.mark.parametrize("tag", [17, 18, 97, 98], ids=lambda t: hostile.COSE_STRUCTURES[t])
def test_each_authentication_structure_is_accepted_and_examined(tag: int) -> None:
    envelope = decode_envelope(hostile.foreign_cose(tag))
    assert type(envelope.authentication.blocks[0].message).__name__ == \
        hostile.COSE_STRUCTURES[tag].replace("COSE_", "Cose")
    assert "COSE_" in summary_text(envelope)
    with pytest.raises(SignatureInvalid):
        verify_envelope(envelope, [])


@pytest.mark.parametrize("data", hostile.huge_lengths() + hostile.raw_nesting(100_000),
                         ids=lambda d: d[:12].hex())
def test_huge_declared_lengths_and_raw_nesting_fail_fast(data: bytes) -> None:
    for entry in (decode_envelope, locate):
        started = time.perf_counter()
        with pytest.raises(DecodeError):
            entry(data)
        assert time.perf_counter() - started < 0.5


# --- suitwb, as a person runs it ---------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
CASES = {"try-each-bomb": hostile.sequence_bomb(250),
         "run-sequence-bomb": hostile.sequence_bomb(250, Command.RUN_SEQUENCE),
         "dependency-chain": hostile.dependency_chain(400),
         **{hostile.COSE_STRUCTURES[t]: hostile.foreign_cose(t) for t in hostile.FOREIGN_COSE_TAGS}}
WHERE = {"try-each-bomb": "manifest/invoke[0]/try-each[0]", "run-sequence-bomb":
         "manifest/invoke[0]/run-sequence[0]", "dependency-chain": "envelope/#dep",
         "COSE_Encrypt0": "authentication-wrapper/block[1]",
         "COSE_Encrypt": "authentication-wrapper/block[1]"}


# Only verification follows integrated dependencies; inspect and lint show the chain's top.
CLI_CASES = [(command, case) for case in sorted(CASES) for command in ("verify", "inspect", "lint")
             if command == "verify" or case != "dependency-chain"]


@pytest.mark.parametrize("command,case", CLI_CASES)
def test_suitwb_exits_2_with_one_line_and_no_traceback(command: str, case: str, tmp_path: Path) -> None:
    target = tmp_path / f"{case}.suit"
    target.write_bytes(CASES[case])
    options = {"inspect": ["--format", "json"], "verify": ["--key", str(SPEC_KEY_PUBLIC)]}
    args = [command, str(target), *options.get(command, [])]
    result = subprocess.run([sys.executable, "-m", "workbench.cli.main", *args], cwd=ROOT, check=False,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert WHERE[case] in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # the reason, and a hint line
