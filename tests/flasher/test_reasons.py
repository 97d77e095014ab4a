"""One vocabulary of refusal reasons: SUIT report reasons on the wire (issue 12).

The wire's `RefusalReason` derives from `suit.report.ReportReason`: every report reason
maps to a wire reason and back, every refusal the processor can raise travels the real
protocol (a real pseudo-terminal, the real server and host) and reaches the person with
its name, and a reason one side does not know reads as OPERATION_FAILED.
"""

from __future__ import annotations

from collections.abc import Iterator

import cbor2
import pytest

from flasher import protocol
from flasher.errors import (
    ProtocolErrorCode,
    RefusalReason,
    UpdateRefused,
    report_reason,
    wire_reason,
)
from flasher.loader.refusals import processing_refusal
from flasher.operations import Bundle, FlashOptions, flash, read_status
from flasher.session import SessionConfig
from suit.model import Command
from suit.processor import Location, ProcessingFailed
from suit.report import ReportReason
from tests.flasher.fakes import FakeDevice, served_on_pty

FAST = FlashOptions(SessionConfig(reply_timeout=0.5, stall_timeout=0.5, max_stalls=4),
                    reconnects=2, reconnect_delay=0.1)
ENVELOPE = b"the fake device refuses before it looks at this" * 2
#: Every reason a `ProcessingFailed` can carry (OK is success, never a refusal).
PROCESSOR_REASONS = [r for r in ReportReason if r is not ReportReason.OK]


@pytest.mark.parametrize("reason", list(ReportReason), ids=lambda r: r.name)
def test_every_report_reason_maps_to_the_wire_and_back(reason: ReportReason) -> None:
    wire = wire_reason(reason)
    assert (wire.name, int(wire)) == (reason.name, int(reason))  # recovery protocol §7: 0-12
    assert report_reason(wire) is reason
    assert RefusalReason.from_wire(int(wire)) is wire


@pytest.mark.parametrize("reason", list(RefusalReason), ids=lambda r: r.name)
def test_every_wire_reason_has_a_report_reason(reason: RefusalReason) -> None:
    suit_reason = report_reason(reason)
    assert isinstance(suit_reason, ReportReason)
    if int(reason) >= 64:  # the loader's own refine a SUIT reason, never OK
        assert suit_reason in (ReportReason.CONDITION_FAILED, ReportReason.OPERATION_FAILED,
                               ReportReason.COMPONENT_UNAUTHORISED)  # path-outside-root
    else:
        assert int(suit_reason) == int(reason)


def test_wire_values_stay_in_their_ranges() -> None:
    """docs/recovery-protocol.md §7: SUIT reasons below 64, the loader's own from 64."""
    own = {r for r in RefusalReason if r.name not in ReportReason.__members__}
    assert own and all(int(r) >= 64 for r in own)
    assert {int(r) for r in RefusalReason} - {int(r) for r in own} == {int(r) for r in ReportReason}


@pytest.mark.parametrize("code", [13, 63, 127, 199, 250, 2**32 - 1])
def test_unknown_wire_reason_reads_as_operation_failed(code: int) -> None:
    assert RefusalReason.from_wire(code) is RefusalReason.OPERATION_FAILED
    body = cbor2.dumps({"reason": code, "detail": "newer loader"})
    assert protocol.decode_refusal(body) == (RefusalReason.OPERATION_FAILED, "newer loader")


def test_unknown_error_code_reads_as_bad_message() -> None:
    assert protocol.decode_error(protocol.dumps({"code": 99, "detail": "x"})).code \
        is ProtocolErrorCode.BAD_MESSAGE


@pytest.mark.parametrize("reason", PROCESSOR_REASONS, ids=lambda r: r.name)
def test_every_processor_refusal_has_a_wire_reason(reason: ReportReason) -> None:
    """The loader's translation is total (it raised ValueError for INVOKE_PENDING)."""
    location = Location("install", 0, 0, int(Command.INVOKE), "install[0]")
    assert processing_refusal(ProcessingFailed(reason, "x", location)) == wire_reason(reason)


@pytest.mark.parametrize(("command", "refined"), [
    (Command.VENDOR_IDENTIFIER, RefusalReason.WRONG_VENDOR),
    (Command.CLASS_IDENTIFIER, RefusalReason.WRONG_CLASS),
    (Command.IMAGE_MATCH, RefusalReason.PAYLOAD_DIGEST_MISMATCH),
    (Command.CHECK_CONTENT, RefusalReason.CONDITION_FAILED)])
def test_failed_conditions_are_refined_and_still_report_condition_failed(
        command: Command, refined: RefusalReason) -> None:
    failed = ProcessingFailed(ReportReason.CONDITION_FAILED, "x",
                              Location("install", 0, 0, int(command), "install[0]"))
    assert processing_refusal(failed) is refined
    assert report_reason(refined) is ReportReason.CONDITION_FAILED


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[FakeDevice, str]]:
    device = FakeDevice()
    with served_on_pty(device) as path:
        yield device, path


@pytest.mark.parametrize("reason", PROCESSOR_REASONS, ids=lambda r: r.name)
def test_every_processor_refusal_travels_the_wire_with_its_name(
        served: tuple[FakeDevice, str], reason: ReportReason) -> None:
    device, path = served
    device.refuse = wire_reason(reason)
    outcome = flash(path, Bundle(ENVELOPE, {}), options=FAST)
    assert (outcome.result, outcome.refusal) == ("refused", wire_reason(reason))
    shown = str(UpdateRefused(outcome.refusal, outcome.reason or ""))  # as the GUI shows it
    assert f"refused the update: {reason.name.lower()}: refused by the fake" in shown
    last = read_status(path, options=FAST).last_result
    assert last is not None and last.result is wire_reason(reason)  # STATUS_REPLY too
