"""Gang flashing: one bundle to many ports, each with its own progress and outcome; one
device failing never stops the others; every attempt lands in the factory records."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import replace
from pathlib import Path

from flasher.gang import GangFlash
from flasher.loader.device import DeviceConfig
from flasher.operations import Bundle, FlashOptions, Progress
from flasher.records import FactoryRecords
from flasher.session import SessionConfig
from tests.fixtures.vectors import SPEC_KEY_PUBLIC
from tests.flasher.cli import device_serve, suitwb
from tests.flasher.conftest import ServedDevice
from tests.flasher.device.conftest import image_of
from testsupport.envelopes import app_update
from workbench.flashing import FlashJob, Station

URI = "http://example.com/app.bin"
IMAGE = image_of(32 * 1024, seed=20)
OPTIONS = FlashOptions(SessionConfig(reply_timeout=0.3, retries=3), reconnects=1,
                       reconnect_delay=0.05, write_timeout=1.0)


def test_gang_of_four_with_one_wrong_device_and_one_missing_port(
        device_config: DeviceConfig, tmp_path: Path) -> None:
    devices = [ServedDevice(replace(device_config, state_dir=tmp_path / f"d{i}")) for i in range(3)]
    devices[1] = ServedDevice(replace(device_config, state_dir=tmp_path / "d1",
                                      class_id=b"\x09" * 16))  # another class: refuses
    for served in devices:
        served.start()
    missing = str(tmp_path / "no-such-port")
    ports = [d.path for d in devices] + [missing]
    bundle = Bundle.from_bytes(app_update(3, IMAGE, uri=URI).envelope(), {URI: IMAGE})
    seen: dict[str, list[Progress]] = {port: [] for port in ports}
    records = FactoryRecords(tmp_path / "records.sqlite")
    job = FlashJob(bundle, ports, Station("op", "st-1"), records, OPTIONS)
    try:
        outcomes = job.run(lambda p: seen[p.port].append(p))
    finally:
        for served in devices:
            served.stop()
            served.pty.close()
    assert [o.port for o in outcomes] == ports
    assert [o.result for o in outcomes] == ["ok", "refused", "ok", "failed"]
    assert outcomes[1].refusal.name == "WRONG_CLASS"
    assert "no-such-port" in outcomes[3].reason
    for port in (ports[0], ports[2]):  # each device had its own progress, up to its total
        assert seen[port][-1].bytes_done == seen[port][-1].bytes_total == \
            len(bundle.envelope) + len(IMAGE)
    rows = records.all()
    assert sorted((r.port, r.result) for r in rows) == sorted(
        (o.port, o.result) for o in outcomes)
    assert {r.bundle_digest for r in rows} == {hashlib.sha256(bundle.envelope).hexdigest()}
    assert {r.operator for r in rows} == {"op"}


def test_gang_cancel_stops_every_port(device_config: DeviceConfig, tmp_path: Path) -> None:
    devices = [ServedDevice(replace(device_config, state_dir=tmp_path / f"c{i}")) for i in range(2)]
    for served in devices:
        served.start()
    big = image_of(200 * 1024, seed=21)
    gang = GangFlash([d.path for d in devices],
                     Bundle.from_bytes(app_update(3, big, uri=URI).envelope(), {URI: big}), OPTIONS)
    try:
        outcomes = gang.run(lambda p: gang.cancel.set() if p.bytes_done > 10000 else None)
    finally:
        for served in devices:
            served.stop()
            served.pty.close()
    assert [o.result for o in outcomes] == ["cancelled", "cancelled"]


def test_cli_gang_json_and_records_export(tmp_path: Path) -> None:
    (tmp_path / "app.bin").write_bytes(IMAGE)
    unsigned = tmp_path / "unsigned.suit"
    unsigned.write_bytes(app_update(2, IMAGE, uri=URI, signed=False).envelope())
    bundle = tmp_path / "app.suit"
    suitwb("sign", unsigned, "-o", bundle, "--key", SPEC_KEY_PUBLIC.with_name(
        "example-es256-private.pem"), "--alg", "ES256", data_dir=tmp_path)
    with device_serve("--state", tmp_path / "a", "--trust-anchor", SPEC_KEY_PUBLIC,
                      data_dir=tmp_path) as port_a, \
            device_serve("--state", tmp_path / "b", data_dir=tmp_path) as port_b:
        # Device b trusts no key: it refuses, device a still installs.
        done = suitwb("flash", bundle, "--port", port_a, "--port", port_b, "--json",
                      "--payload", f"{URI}={tmp_path / 'app.bin'}", data_dir=tmp_path,
                      check=False)
    assert done.returncode == 1
    results = {r["port"]: r for r in json.loads(done.stdout)}
    assert set(results) == {port_a, port_b}
    assert results[port_a]["result"] == "ok" and results[port_a]["bytes"] > len(IMAGE)
    assert results[port_b]["result"] == "refused" and results[port_b]["refusal"] == "unauthorised"
    for result in results.values():
        assert set(result) >= {"port", "result", "bytes", "seconds", "reason"}
    out = tmp_path / "records.csv"
    suitwb("records", "export", "--csv", "-o", out, data_dir=tmp_path)
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert sorted(r["result"] for r in rows) == ["ok", "refused"]
    assert all(r["station"] and r["operator"] for r in rows)
