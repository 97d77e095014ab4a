"""A recorded SUIT report in words, for the records views (the GUI's records panel).

The factory record keeps the report as JSON (suit.report.report_json) beside whether it
verified; these functions turn that into a table cell and a few detail lines. A record
names a command by its manifest section and index there (``install[2]``: the report holds
no command numbers, the manifest does), its component by index, and the failing one the
SUIT reason.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, Final

from suit.codec import member_name

if TYPE_CHECKING:  # annotations only: `suitwb report inspect` loads no flasher module
    from flasher.records import AttemptRecord

logger = logging.getLogger(__name__)

_PROOF: Final = {True: "verified", False: "NOT VERIFIED", None: "unverified"}


def _result(record: AttemptRecord) -> dict[str, Any] | None:
    if not record.report_result:
        return None
    try:
        value = json.loads(record.report_result)
    except ValueError:  # a record edited by hand: shown as undecodable, never a crash
        logger.warning("factory record's report_result is not JSON")
        return None
    return value if isinstance(value, dict) else None


def report_cell(record: AttemptRecord) -> str:
    """``verified: success``, ``NOT VERIFIED: unauthorised``...; "" without a report."""
    if record.report is None:
        return ""
    result = _result(record)
    if result is None:
        return f"{_PROOF[record.report_verified]}: undecodable"
    outcome = "success" if result.get("success") else str(result.get("reason"))
    return f"{_PROOF[record.report_verified]}: {outcome}"


def record_where(record: dict[str, Any]) -> str:
    """Where a report record points: ``install[2], component 0`` (the manifest section by
    its name, the command's offset there, the component index)."""
    return (f"{member_name(int(record['section']))}[{record['offset']}], "
            f"component {record['component-index']}")


def record_entry(entry: dict[str, Any]) -> str:
    """One of a report's records (report_json): ``record install[2], component 0: {...}``
    or ``system properties of [00]: {...}`` (the one wording, GUI and CLI)."""
    if "record" in entry:
        record = entry["record"]
        return f"record {record_where(record)}: {json.dumps(record['properties'], sort_keys=True)}"
    props = entry["system-properties"]
    return (f"system properties of [{', '.join(props['component-id'])}]: "
            f"{json.dumps(props['properties'], sort_keys=True)}")


def report_details(record: AttemptRecord) -> list[str]:
    """Lines for the selected attempt: proof, manifest, result (with the failing
    command, its component and the reason), then every record the device kept."""
    if record.report is None:
        return ["No SUIT report for this attempt."]
    result = _result(record)
    if result is None:
        return [f"SUIT report {_PROOF[record.report_verified]}; it does not decode."]
    digest = result["manifest-digest"]
    lines = [f"SUIT report {_PROOF[record.report_verified]}",
             f"manifest {result['reference-uri'] or '(no uri)'}, digest {digest['value']}"]
    if result["success"]:
        lines.append("result: success")
    else:
        lines.append(f"result: {result['reason']} at {record_where(result['failing-record'])}")
    lines += [record_entry(entry) for entry in result["records"]] or ["no records"]
    if result.get("nonce"):
        lines.append(f"nonce {result['nonce']}")
    return lines
