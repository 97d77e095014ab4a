"""Acceptance (issue 14, SUIT reports), every step a real `suitwb` subprocess: a device
served with --device-key, a flash with the pinned key, the report in the factory record,
then `suitwb report inspect` and `suitwb report verify` on the stored bytes."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.device.conftest import image_of
from tests.flasher.test_end_to_end import URI, signed_bundle
from testsupport.envelopes import new_key_pem


def test_flash_report_is_recorded_and_verifies_from_the_cli(tmp_path: Path) -> None:
    private, public = new_key_pem()
    (tmp_path / "device.pem").write_bytes(private)
    (tmp_path / "device.pub").write_bytes(public)
    (tmp_path / "other.pub").write_bytes(new_key_pem()[1])
    image = image_of(4 * 1024, seed=2)
    (tmp_path / "app.bin").write_bytes(image)
    bundle = signed_bundle(tmp_path, 3, image)
    with device_serve("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                      "--device-key", tmp_path / "device.pem", data_dir=tmp_path) as port:
        flashed = suitwb("flash", bundle, "--port", port, "--payload",
                         f"{URI}={tmp_path / 'app.bin'}", "--device-key", tmp_path / "device.pub",
                         "--json", data_dir=tmp_path)
        wrong = suitwb("flash", bundle, "--port", port, "--payload",
                       f"{URI}={tmp_path / 'app.bin'}", "--device-key", tmp_path / "other.pub",
                       data_dir=tmp_path, check=False)
    [result] = json.loads(flashed.stdout)
    assert result["result"] == "ok" and result["report"]["verified"] is True
    assert result["report"]["result"]["success"] is True
    # The same image again is accepted (same sequence number), but the report does not
    # verify with another key: status 1 and the line says so.
    assert wrong.returncode == 1 and "SUIT report DOES NOT VERIFY" in wrong.stdout
    rows = list(csv.DictReader(io.StringIO(
        suitwb("records", "export", "--csv", data_dir=tmp_path).stdout)))
    assert [r["report_verified"] for r in rows] == ["True", "False"]
    assert json.loads(rows[0]["report_result"])["success"] is True
    stored = tmp_path / "report.cose"
    stored.write_bytes(bytes.fromhex(rows[0]["report"]))

    verified = suitwb("report", "verify", stored, "--key", tmp_path / "device.pub",
                      data_dir=tmp_path)
    assert "signature verified" in verified.stdout and "result success" in verified.stdout
    refused = suitwb("report", "verify", stored, "--key", tmp_path / "other.pub",
                     data_dir=tmp_path, check=False)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "does not verify" in refused.stderr
    inspected = json.loads(suitwb("report", "inspect", stored, "--format", "json",
                                  data_dir=tmp_path).stdout)
    assert inspected["schema"] == "suitwb-report/1" and inspected["signed"] is True
    assert inspected["report"]["success"] is True and inspected["algorithm"] == -7
    text = suitwb("report", "inspect", stored, data_dir=tmp_path).stdout
    assert "signed: COSE_Sign1, alg -7" in text and "result: success" in text
    diag = suitwb("report", "inspect", stored, "--format", "diag", data_dir=tmp_path).stdout
    assert diag.startswith("18([") and "<<{" in diag and "99: [" in diag


def test_report_cli_refuses_garbage_with_status_2(tmp_path: Path) -> None:
    junk = tmp_path / "junk.cose"
    junk.write_bytes(b"\xd8\x12\x84")
    result = suitwb("report", "inspect", junk, data_dir=tmp_path, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip()


def test_device_capabilities_text_and_json(tmp_path: Path) -> None:
    with device_serve("--state", tmp_path / "state", "--trust-anchor", SPEC_KEY_PUBLIC,
                      data_dir=tmp_path) as port:
        as_json = suitwb("device", "capabilities", "--port", port, "--json", data_dir=tmp_path)
        as_text = suitwb("device", "capabilities", "--port", port, data_dir=tmp_path)
    report = json.loads(as_json.stdout)
    assert ["00"] in report["components"]  # the application image, component [h'00']
    assert 3 in report["commands"] and 21 in report["commands"]  # image-match, fetch
    assert 21 in report["parameters"] and -9 in report["crypt-algo"]  # uri, ESP256
    assert "component: 00\n" in as_text.stdout
    assert "3 image-match" in as_text.stdout and "-9 esp256" in as_text.stdout


def test_report_inspect_text_shows_nonce_and_capabilities() -> None:
    from suit.model import Digest
    from suit.report import Report
    from suit.report_cose import open_report
    from tests.suit.test_report_capabilities import CAPABILITIES
    from workbench.cli.report_cmds import report_text
    report = Report("", Digest(-16, b"d" * 32), nonce=b"\x01\x02", capabilities=CAPABILITIES)
    text = report_text(open_report(report.encode()))
    assert "nonce: 0102\n" in text
    assert "capability component: 6673/657463/* (any id with this prefix)\n" in text
    assert "capability commands: 1 vendor-identifier, 2 class-identifier, 3 image-match\n" in text
    assert "capability path-3.3.1: 3\n" in text


def test_report_inspect_text_words_records_as_the_records_panel_does() -> None:
    # One wording for a report's records (workbench.report_view), CLI and GUI alike: the
    # manifest section by name, the command's offset there, the component index.
    from suit.model import Digest, ManifestKey
    from suit.report import Record, Report, ReportReason, SystemProperties
    from suit.report_cose import open_report
    from workbench.cli.report_cmds import report_text
    failing = Record((), int(ManifestKey.COMMON), 1, 0, {1: b"\x11"})
    report = Report("", Digest(-16, b"d" * 32),
                    records=(failing, SystemProperties((b"\x00",), {2: 5})), success=False,
                    reason=ReportReason.CONDITION_FAILED, failing_record=failing,
                    result_code=1)
    lines = report_text(open_report(report.encode())).splitlines()
    assert "result: condition-failed (code 1) at common[1], component 0" in lines
    assert any(line.startswith("record common[1], component 0: ") for line in lines)
    assert any(line.startswith("system properties of [00]: ") for line in lines)
