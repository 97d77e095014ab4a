"""SUIT_Capability_Report (report draft-18 §6): the CDDL's shape, both ways."""

from __future__ import annotations

from typing import Any

import pytest

from suit import cbor
from suit.errors import DecodeError
from suit.model import Digest
from suit.report import Report, ReportKey, decode_report, report_json
from suit.report_capabilities import (
    CapabilityReport,
    ComponentCapability,
    capabilities_json,
    decode_capabilities,
)

CAPABILITIES = CapabilityReport(
    (ComponentCapability((b"\x00",)), ComponentCapability((b"fs", b"etc"), wildcard=True)),
    (1, 2, 3), (1, 2, 3, 21), (-9, -19), {7: (4,), (3, 3, 1): (3,)})


def test_capability_report_encodes_as_the_cddl_says_and_round_trips() -> None:
    report = Report("", Digest(-16, b"d" * 32), capabilities=CAPABILITIES)
    value = cbor.loads(report.encode())
    # suit-report-capability-report (8): components [* bstr, ? true], then int lists;
    # a member the map lacks is keyed by its CBOR path ([3, 3, 1] => [3]).
    assert value[int(ReportKey.CAPABILITY_REPORT)] == {
        1: [[b"\x00"], [b"fs", b"etc", True]], 2: [1, 2, 3], 3: [1, 2, 3, 21],
        4: [-9, -19], 7: [4], (3, 3, 1): [3]}
    assert decode_report(report.encode()) == report
    assert report_json(report)["capabilities"] == {
        "components": [["00"], ["6673", "657463", "*"]], "commands": [1, 2, 3],
        "parameters": [1, 2, 3, 21], "crypt-algo": [-9, -19], "common": [4], "path-3.3.1": [3]}
    assert capabilities_json(CAPABILITIES)["common"] == [4]


@pytest.mark.parametrize(("value", "where"), [
    ({2: [1], 3: [1], 4: [-9]}, "capability-report"),  # components missing
    ({1: [], 2: [1], 3: [1], 4: [-9]}, "capability-report/component"),  # [+ ...]: empty
    ({1: [[b"\x00"]], 2: [], 3: [1], 4: [-9]}, "capability-report/command"),
    ({1: [["text"]], 2: [1], 3: [1], 4: [-9]}, "capability-report/component[0][0]"),
    ({1: [[b"\x00"]], 2: [1], 3: [1], 4: [-9], 5: ["x"]}, "capability-report/5[0]"),
    ({1: [[b"\x00"]], 2: [1], 3: [1], 4: [-9], ("x",): [1]}, "capability-report/key"),
    ([1, 2], "capability-report"),
])
def test_capability_reports_outside_the_cddl_are_decode_errors(value: Any, where: str) -> None:
    with pytest.raises(DecodeError) as raised:
        decode_capabilities(value)
    assert where in str(raised.value)

