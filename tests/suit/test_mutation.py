"""Single-byte mutations of the published envelopes, through `suitwb verify`.

Every changed envelope must be refused (exit 1: verification failed, or 2: malformed) with
a one-line reason, and nothing may crash. All positions of example0 and example2, with two
different flips each; a sample of positions for every other vector.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from tests.fixtures.vectors import HMAC_KEY, MANIFEST_SPEC, TRUST_DOMAINS, VECTORS
from workbench.cli.main import main

SPEC_PUBLIC = MANIFEST_SPEC / "keys" / "example-es256-public.pem"
DEP_PUBLIC = VECTORS / "firmware-encryption" / "keys" / "dependency-signer-public.pem"
KEY_ARGS = ["--key", str(SPEC_PUBLIC), "--key", str(DEP_PUBLIC), "--secret-hex", HMAC_KEY.hex()]
SIGNED = sorted(p for p in VECTORS.glob("*/*.cbor")
                if "unsigned" not in p.name and "encryption-info" not in p.name)


def _verify(path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    status = main(["verify", str(path), *KEY_ARGS])
    err = capsys.readouterr().err.strip().splitlines()
    return status, err[-1] if err else ""


def _refused_everywhere(original: bytes, positions: list[int], flips: tuple[int, ...],
                        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[int, int]:
    target = tmp_path / "mutant.suit"
    statuses: dict[int, int] = {}
    for position in positions:
        for flip in flips:
            mutant = bytearray(original)
            mutant[position] ^= flip
            target.write_bytes(bytes(mutant))
            status, reason = _verify(target, capsys)
            assert status in (1, 2), f"byte {position} ^ {flip:#x} was accepted: {reason}"
            assert reason.startswith("suitwb verify: ") and len(reason) > 20
            statuses[status] = statuses.get(status, 0) + 1
    return statuses


@pytest.mark.parametrize("name", ["example0.cbor", "example2.cbor"])
def test_every_byte_flip_is_refused(name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = (MANIFEST_SPEC / name).read_bytes()
    assert _verify(MANIFEST_SPEC / name, capsys)[0] == 0
    statuses = _refused_everywhere(original, list(range(len(original))), (0xFF, 0x01), tmp_path, capsys)
    # Both kinds of refusal occur: structure broken (2) and authentication broken (1).
    assert statuses.get(1, 0) > 0 and statuses.get(2, 0) > 0
    assert sum(statuses.values()) == 2 * len(original)


@pytest.mark.parametrize("path", SIGNED, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_sampled_byte_flips_are_refused(path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = path.read_bytes()
    assert _verify(path, capsys)[0] == 0
    rng = random.Random(path.name)  # reproducible sample per vector
    positions = sorted(rng.sample(range(len(original)), min(48, len(original))))
    _refused_everywhere(original, positions, (rng.randrange(1, 256),), tmp_path, capsys)


def test_severed_member_altered_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from suit.codec import decode_envelope, encode_envelope
    envelope = decode_envelope((MANIFEST_SPEC / "example2.cbor").read_bytes())
    install = bytearray(envelope.severed[20])
    install[-1] ^= 0x01
    altered = dataclasses.replace(envelope, severed={**envelope.severed, 20: bytes(install)})
    target = tmp_path / "severed.suit"
    target.write_bytes(encode_envelope(altered))
    status, reason = _verify(target, capsys)
    assert status == 1 and "install: digest mismatch" in reason


def test_integrated_dependency_altered_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import dataclasses

    from suit.codec import decode_envelope, encode_envelope
    envelope = decode_envelope((TRUST_DOMAINS / "example2_integrated.cbor").read_bytes())
    dependency = bytearray(envelope.integrated["#dependent.suit"])
    dependency[-3] ^= 0x20  # inside the dependency's manifest
    altered = dataclasses.replace(envelope, integrated={"#dependent.suit": bytes(dependency)})
    target = tmp_path / "integrated.suit"
    target.write_bytes(encode_envelope(altered))
    status, reason = _verify(target, capsys)
    assert status == 1 and "#dependent.suit" in reason
