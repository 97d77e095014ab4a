"""Issue 11 on the device: nesting bombs, dependency chains and non-authentication COSE
structures are refused at VERIFY with a reason (CBOR parse), the device stays up, its
slots stay untouched, and it installs a good update next. On the code before the fix the
virtual device died in VERIFY (RecursionError, AttributeError) before authentication.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from flasher.errors import RefusalReason, UpdateRefused
from flasher.loader.device import VirtualDevice
from flasher.loader.layout import APP
from suit.model import Command
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of, install, slot_bytes
from tests.fuzzing import hostile
from testsupport.envelopes import app_update

Maker = Callable[..., VirtualDevice]
GOOD = image_of(20_000, 11)
HOSTILE = {
    "try-each-bomb": (hostile.sequence_bomb(250), "try-each"),
    "run-sequence-bomb": (hostile.sequence_bomb(250, Command.RUN_SEQUENCE), "run-sequence"),
    "dependency-chain": (hostile.dependency_chain(300), "envelope/#dep"),
    **{hostile.COSE_STRUCTURES[t]: (hostile.foreign_cose(t), hostile.COSE_STRUCTURES[t])
       for t in hostile.FOREIGN_COSE_TAGS},
    "COSE_Encrypt-after-a-signature": (hostile.foreign_cose(96, also=(hostile.UNVERIFIABLE,)),
                                       "block[2]: COSE_Encrypt"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_envelope_is_refused_at_verify_and_the_device_lives_on(case: str, make_device: Maker) -> None:
    device = make_device()
    install(device, app_update(5, GOOD), GOOD)
    before = slot_bytes(device, APP, 0), slot_bytes(device, APP, 1)
    data, where = HOSTILE[case]
    with pytest.raises(UpdateRefused) as caught:
        device.begin_update(data)
    assert caught.value.reason == RefusalReason.CBOR_PARSE
    assert where in str(caught.value)
    assert (slot_bytes(device, APP, 0), slot_bytes(device, APP, 1)) == before
    status = device.status()
    assert status.last_result.result == RefusalReason.CBOR_PARSE
    assert status.components[0].sequence_number == 5
    newer = image_of(20_000, 12)
    install(device, app_update(6, newer), newer)  # still alive and still updating
    assert device.status().components[0].sequence_number == 6


@pytest.mark.parametrize("case", ["try-each-bomb", "COSE_Encrypt"])
def test_hostile_envelope_over_the_real_protocol(case: str, tmp_path: Path) -> None:
    """`suitwb flash` sends what it cannot decode; the served device refuses it and answers."""
    bundle = tmp_path / "hostile.suit"
    bundle.write_bytes(HOSTILE[case][0])
    with device_serve("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                      data_dir=tmp_path) as port:
        flashed = suitwb("flash", bundle, "--port", port, "--json", data_dir=tmp_path, check=False)
        assert flashed.returncode == 1, flashed.stderr
        [result] = json.loads(flashed.stdout)
        assert result["result"] == "refused" and result["refusal"] == "cbor_parse"
        assert HOSTILE[case][1] in result["reason"] and "Traceback" not in flashed.stderr
        status = suitwb("device", "status", "--port", port, "--json", data_dir=tmp_path)
        assert json.loads(status.stdout)  # the device still answers after the refusal
